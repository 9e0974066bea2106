/**
 * The model zoo: the names a user types, their knobs, torchvision aliases, and
 * the checks that turn a name plus knob values into a {@link Graph}.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";

/** A knob value as given on the command line or in the API. */
export type KnobValue = number | string | boolean;
/** Knob values by knob name. */
export type Knobs = Record<string, KnobValue>;

/** One published knob of a model (width multiplier, resolution, groups, ...). */
export interface KnobSpec {
  name: string;
  description: string;
  type: "number" | "string" | "boolean";
  default: KnobValue;
  /** Values the paper or torchvision publishes (shown by `list`, used by `compare`). */
  published?: readonly KnobValue[];
  /** When set, only these values are accepted. */
  choices?: readonly KnobValue[];
  /** Bounds for free numbers (inclusive). */
  min?: number;
  max?: number;
  integer?: boolean;
}

/** A model family member of the zoo. */
export interface ModelDef {
  name: string;
  family: string;
  summary: string;
  /** Where the architecture comes from (paper and table, torchvision file). */
  source: string;
  knobs: KnobSpec[];
  /** Other names for presets of this model, e.g. `shufflenet_v2_x1_0: { width: 1 }`. */
  aliases?: Record<string, Knobs>;
  /** Builds the graph from complete, checked knob values. */
  build(knobs: Knobs): Graph;
}

/** A model name that is not in the zoo; the message suggests close names. */
export class UnknownModelError extends RangeError {
  constructor(name: string, readonly suggestions: string[]) {
    super(
      `Unknown model "${name}"` +
        (suggestions.length
          ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(", ")}?`
          : "") +
        ` (run \`list\` to see every model)`,
    );
    this.name = "UnknownModelError";
  }
}

/** A knob the model does not have, or a value it cannot take. */
export class KnobError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "KnobError";
  }
}

/** Edit distance (insertions, deletions, substitutions) between `a` and `b`. */
export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/**
 * Up to `max` of `names` closest to `key` by edit distance (a shared prefix
 * counts as closer), for "did you mean" suggestions; none when all are far.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closestNames } from "./registry.ts";
 * assert.deepEqual(closestNames("analyse", ["list", "analyze", "compare"]), ["analyze"]);
 * assert.deepEqual(closestNames("zzzzzz", ["list", "analyze"]), []);
 * ```
 */
export function closestNames(key: string, names: readonly string[], max = 3): string[] {
  return names
    .map((n) => ({
      n,
      d: levenshtein(key, n) - (n.startsWith(key) || key.startsWith(n) ? 2 : 0),
    }))
    .filter((r) => r.d <= Math.max(3, key.length / 2))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, max)
    .map((r) => r.n);
}

/** A registry of models; the zoo is one instance (lib/models/zoo.ts). */
export class Registry {
  readonly #models = new Map<string, ModelDef>();
  readonly #aliases = new Map<string, { model: ModelDef; preset: Knobs }>();

  constructor(models: ModelDef[]) {
    for (const m of models) {
      if (this.#models.has(m.name) || this.#aliases.has(m.name)) {
        throw new Error(`Model "${m.name}" is registered twice`);
      }
      this.#models.set(m.name, m);
      for (const [alias, preset] of Object.entries(m.aliases ?? {})) {
        if (this.#models.has(alias) || this.#aliases.has(alias)) {
          throw new Error(`Alias "${alias}" is registered twice`);
        }
        this.#aliases.set(alias, { model: m, preset });
      }
    }
  }

  /** Every model, in registration order. */
  list(): ModelDef[] {
    return [...this.#models.values()];
  }

  /** Every name and alias a user can type. */
  names(): string[] {
    return [...this.#models.keys(), ...this.#aliases.keys()];
  }

  /** The model and alias preset for a name (case-insensitive, `-` taken as `_`). */
  resolve(name: string): { model: ModelDef; preset: Knobs } {
    const key = name.toLowerCase().replaceAll("-", "_");
    const model = this.#models.get(key);
    if (model) return { model, preset: {} };
    const alias = this.#aliases.get(key);
    if (alias) return alias;
    throw new UnknownModelError(name, closestNames(key, this.names()));
  }

  /**
   * Resolves `name`, checks `knobs` against the model's knob specs, fills
   * defaults, and returns the complete knob values. Throws
   * {@link UnknownModelError} or {@link KnobError}.
   */
  knobsFor(name: string, knobs: Knobs = {}): { model: ModelDef; knobs: Knobs } {
    const { model, preset } = this.resolve(name);
    const specs = new Map(model.knobs.map((k) => [k.name, k]));
    for (const [key, value] of Object.entries(knobs)) {
      if (key in preset && preset[key] !== value) {
        throw new KnobError(
          `"${name}" fixes ${key} = ${preset[key]}; use "${model.name}" to set --${key}`,
        );
      }
      const spec = specs.get(key);
      if (!spec) {
        const has = model.knobs.map((k) => `--${k.name}`).join(", ") || "none";
        throw new KnobError(`Model "${model.name}" has no knob --${key}; its knobs: ${has}`);
      }
      checkKnob(model.name, spec, value);
    }
    const full: Knobs = {};
    for (const spec of model.knobs) {
      full[spec.name] = knobs[spec.name] ?? preset[spec.name] ?? spec.default;
    }
    return { model, knobs: full };
  }

  /** Builds the graph of `name` with `knobs` (checked, defaults filled). */
  build(name: string, knobs: Knobs = {}): Graph {
    const r = this.knobsFor(name, knobs);
    return r.model.build(r.knobs);
  }
}

/** Checks one knob value against its spec; throws a {@link KnobError} saying what it accepts. */
export function checkKnob(model: string, spec: KnobSpec, value: KnobValue): void {
  const accepts = describeKnob(spec);
  const bad = (why: string) =>
    new KnobError(
      `Invalid --${spec.name} ${JSON.stringify(value)} for "${model}": ${why}; accepts ${accepts}`,
    );
  const actual: string = typeof value;
  if (actual !== spec.type) throw bad(`expected a ${spec.type}`);
  if (spec.choices && !spec.choices.includes(value)) throw bad("not one of the choices");
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw bad("not a finite number");
    if (spec.integer && !Number.isInteger(value)) throw bad("not an integer");
    if (spec.min !== undefined && value < spec.min) throw bad(`below ${spec.min}`);
    if (spec.max !== undefined && value > spec.max) throw bad(`above ${spec.max}`);
  }
}

/** What a knob accepts, in words (`one of 0.5, 1, 1.5, 2`, `a number in [0.1, 4]`). */
export function describeKnob(spec: KnobSpec): string {
  if (spec.choices) return `one of ${spec.choices.join(", ")}`;
  if (spec.type === "number") {
    const kind = spec.integer ? "an integer" : "a number";
    if (spec.min !== undefined && spec.max !== undefined) {
      return `${kind} in [${spec.min}, ${spec.max}]`;
    }
    if (spec.min !== undefined) return `${kind} >= ${spec.min}`;
    return kind;
  }
  return `a ${spec.type}`;
}
