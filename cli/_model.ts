/**
 * What every command that takes a model shares: separating knob flags
 * (`--width 0.5`, any knob a model declares) from the command's own options,
 * typing knob values by their {@link KnobSpec}, and resolving the model
 * through the zoo. Lookup and knob errors become {@link UsageError}s (exit 2).
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./_common.ts";
import type { Graph } from "../lib/ir/graph.ts";
import {
  closestNames,
  describeKnob,
  KnobError,
  type Knobs,
  type KnobSpec,
  type KnobValue,
  levenshtein,
  type ModelDef,
  UnknownModelError,
} from "../lib/models/registry.ts";
import { zoo } from "../lib/models/zoo.ts";
import type { Weights } from "../lib/runtime/weights.ts";

/** Knob values as typed on the command line, by flag name (without `--`). */
export type RawKnobs = Record<string, string>;

/** A model ready to analyze: its graph, canonical name and complete knob values. */
export interface LoadedModel {
  graph: Graph;
  /** Canonical zoo name (an alias resolves to its model). */
  model: string;
  knobs: Knobs;
  /** Weights read with the model (ONNX files); zoo models have none. */
  weights?: Weights;
  /** `seed N` when a file's own weights are random ones (a lightnets export). */
  randomWeights?: string;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The result of {@link parseModelArgs}: the command's values, positionals and knob flags. */
export interface ModelArgs<O extends Options> {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>["values"];
  positionals: string[];
  knobs: RawKnobs;
  /** The command's own option names (for "did you mean" on an unknown flag). */
  optionNames: string[];
}

/**
 * Parses a command line where the command's own `options` go to `parseArgs`
 * and every other `--name value` (or `--name=value`) is a knob. A knob flag
 * without a value (`--relu` at the end or before another flag) means `true`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseModelArgs } from "./_model.ts";
 * const r = parseModelArgs(["mobilenetv1", "--width", "0.5", "--json", "--resolution=160"], {
 *   json: { type: "boolean" },
 * });
 * assert.deepEqual(r.positionals, ["mobilenetv1"]);
 * assert.deepEqual(r.knobs, { width: "0.5", resolution: "160" });
 * assert.equal(r.values.json, true);
 * ```
 */
export function parseModelArgs<O extends Options>(args: string[], options: O): ModelArgs<O> {
  const own: string[] = [];
  const knobs: RawKnobs = {};
  // Every option is single-valued: a second one is an error, as for knobs
  // (parseArgs alone would keep the last silently).
  const seen = new Set<string>();
  const once = (name: string) => {
    if (options[name]?.multiple) return; // an option meant to repeat (`--input a=x --input b=y`)
    if (seen.has(name)) throw new UsageError(`Option --${name} is given twice; give it once`);
    seen.add(name);
  };
  const shorts = new Map(
    Object.entries(options).flatMap(([name, o]) => (o.short ? [[`-${o.short}`, name]] : [])),
  );
  const takesValue = (name: string) => options[name]?.type === "string";
  const isFlag = (a: string | undefined) => a !== undefined && /^--?[A-Za-z]/.test(a);
  const isLongFlag = (a: string) => /^--[A-Za-z]/.test(a);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      own.push(...args.slice(i));
      break;
    }
    if (!arg.startsWith("--")) {
      const short = shorts.get(arg.slice(0, 2));
      if (short !== undefined) once(short);
      own.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (name in options) {
      once(name);
      // `--depth -1` reaches the option's own check (parseArgs alone would call
      // it ambiguous); `--out --json` leaves --out without a value.
      if (eq < 0 && takesValue(name) && i + 1 < args.length && !isLongFlag(args[i + 1])) {
        own.push(`--${name}=${args[++i]}`);
      } else own.push(arg);
      continue;
    }
    if (name === "") throw new UsageError(`Invalid flag "${arg}"`);
    if (name in knobs) throw new UsageError(`Knob --${name} is given twice`);
    if (eq >= 0) knobs[name] = arg.slice(eq + 1);
    else if (i + 1 < args.length && !isFlag(args[i + 1])) knobs[name] = args[++i];
    else knobs[name] = BARE;
  }
  const parsed = parseArgs({ args: own, options, allowPositionals: true, strict: true });
  return {
    values: parsed.values as ModelArgs<O>["values"],
    positionals: parsed.positionals,
    knobs,
    optionNames: Object.keys(options),
  };
}

/**
 * {@link parseModelArgs} for a command that takes exactly one model: prints
 * `help` and returns `undefined` on `--help`; a missing or extra model name is
 * a {@link UsageError} that points to `list` and the command's help.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOneModel } from "./_model.ts";
 * const options = { help: { type: "boolean" } } as const;
 * const r = parseOneModel("analyze", "help text", ["shufflenetv2", "--width", "0.5"], options);
 * assert.equal(r?.model, "shufflenetv2");
 * assert.deepEqual(r?.knobs, { width: "0.5" });
 * assert.throws(() => parseOneModel("analyze", "", [], options), /Missing model name/);
 * assert.throws(() => parseOneModel("analyze", "", ["a", "b"], options), /Expected one model, got 2/);
 * ```
 */
export function parseOneModel<O extends Options>(
  command: string,
  help: string,
  args: string[],
  options: O,
): (ModelArgs<O> & { model: string }) | undefined {
  const parsed = parseModelArgs(args, options);
  if ((parsed.values as { help?: boolean }).help) {
    console.log(help);
    return undefined;
  }
  const { positionals } = parsed;
  if (positionals.length === 0) {
    throw new UsageError(
      `Missing model name; run \`deno run cli.ts list\` to see the zoo, or \`${command} --help\``,
    );
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `Expected one model, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  return { ...parsed, model: positionals[0] };
}

/**
 * The value of a knob flag given without one (`--relu`): true for booleans.
 * A NUL byte cannot come from a command line, so `--relu true` stays text.
 */
const BARE = "\u0000bare";
const TRUE = new Set(["on", "true", "yes", "1"]);
const FALSE = new Set(["off", "false", "no", "0"]);
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i;

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Finds the spec of flag `name` (`--input-size` also finds a knob named `inputSize`). */
function findSpec(model: ModelDef, name: string): KnobSpec | undefined {
  return model.knobs.find((k) => k.name === name || k.name === camel(name));
}

/**
 * Types raw knob strings by the model's {@link KnobSpec}s: numbers, booleans
 * (`on`/`off`/`true`/`false`/`yes`/`no`/`1`/`0`) and strings. Range and
 * choice checks are the registry's ({@link zoo}`.knobsFor`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { typeKnobs } from "./_model.ts";
 * const model = {
 *   name: "m", family: "f", summary: "", source: "", build: () => { throw new Error(); },
 *   knobs: [
 *     { name: "width", description: "", type: "number" as const, default: 1 },
 *     { name: "relu", description: "", type: "boolean" as const, default: true },
 *   ],
 * };
 * assert.deepEqual(typeKnobs(model, { width: "0.5", relu: "off" }), { width: 0.5, relu: false });
 * assert.throws(() => typeKnobs(model, { width: "wide" }), /Invalid --width "wide" for "m": expected a number/);
 * ```
 */
export function typeKnobs(model: ModelDef, raw: RawKnobs, optionNames: string[] = []): Knobs {
  const knobs: Knobs = {};
  for (const [flag, text] of Object.entries(raw)) {
    const spec = findSpec(model, flag);
    if (!spec) {
      throw new KnobError(
        unknownFlag(flag, model.name, model.knobs.map((k) => k.name), optionNames),
      );
    }
    knobs[spec.name] = typeValue(model.name, spec, text);
  }
  return knobs;
}

/**
 * The error for a flag that is neither an option of the command nor a knob of
 * the model: it is called an option (the user meant one of the two), with the
 * closest option or knob name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unknownFlag } from "./_model.ts";
 * assert.equal(
 *   unknownFlag("outt", "squeezenet1_1", ["resolution", "classes"], ["out", "seed"]),
 *   'Unknown option --outt (did you mean --out?): not an option of this command nor a knob of "squeezenet1_1" (knobs: --resolution, --classes; --help lists the options)',
 * );
 * ```
 */
export function unknownFlag(
  flag: string,
  model: string,
  knobNames: string[],
  optionNames: string[],
): string {
  // Only a close name is a suggestion: `--width` on an ONNX file is not a typo of --depth.
  const near = closestNames(flag, [...optionNames, ...knobNames], 1)
    .filter((n) => levenshtein(flag, n) <= Math.max(2, Math.floor(flag.length / 3)));
  const knobs = knobNames.map((k) => `--${k}`).join(", ") || "none";
  return `Unknown option --${flag}${near.length ? ` (did you mean --${near[0]}?)` : ""}: ` +
    `not an option of this command nor a knob of "${model}" (knobs: ${knobs}; --help lists the options)`;
}

// A string knob whose choices are on/off takes the boolean spellings too.
function onOff(spec: KnobSpec): boolean {
  return spec.type === "string" && !!spec.choices?.includes("on") && spec.choices.includes("off");
}

function typeValue(model: string, spec: KnobSpec, text: string): KnobValue {
  const bad = (expected: string) =>
    new KnobError(
      `Invalid --${spec.name} "${text}" for "${model}": expected ${expected}; accepts ${
        describeKnob(spec)
      }`,
    );
  if (text === BARE && onOff(spec)) return "on";
  if (text === BARE && spec.type !== "boolean") {
    throw new KnobError(
      `Missing value for --${spec.name} of "${model}": expected ${describeKnob(spec)}`,
    );
  }
  switch (spec.type) {
    case "number": {
      const t = text.trim();
      if (!NUMBER.test(t)) throw bad("a number");
      if (!Number.isFinite(Number(t))) throw bad("a finite number (this one overflows)");
      return Number(t);
    }
    case "boolean": {
      if (text === BARE) return true;
      const t = text.trim().toLowerCase();
      if (TRUE.has(t)) return true;
      if (FALSE.has(t)) return false;
      throw bad("on, off, true or false");
    }
    case "string": {
      const t = text.trim().toLowerCase();
      if (onOff(spec) && TRUE.has(t)) return "on";
      if (onOff(spec) && FALSE.has(t)) return "off";
      return text;
    }
  }
}

/**
 * Resolves a model name (or torchvision alias) and raw knob flags into a built
 * graph. Unknown names and bad knobs throw a {@link UsageError} whose message
 * suggests close names or says what the knob accepts.
 */
export function loadModel(
  nameOrPath: string,
  raw: RawKnobs = {},
  optionNames: string[] = [],
): Promise<LoadedModel> {
  // ONNX files carry their own weights; the importer loads only when one is named.
  if (/\.onnx$/i.test(nameOrPath)) {
    return import("./_onnx.ts").then((m) => m.loadOnnxModel(nameOrPath, raw, optionNames));
  }
  // TensorFlow.js model.json (graph or layers model) and the shards beside it.
  if (/\.json$/i.test(nameOrPath)) {
    return import("./_tfjs.ts").then((m) => m.loadTfjsModel(nameOrPath, raw));
  }
  try {
    const { model } = zoo.resolve(nameOrPath);
    const resolved = zoo.knobsFor(nameOrPath, typeKnobs(model, raw, optionNames));
    const graph = resolved.model.build(resolved.knobs);
    return Promise.resolve({ graph, model: resolved.model.name, knobs: resolved.knobs });
  } catch (e) {
    if (e instanceof UnknownModelError || e instanceof KnobError) {
      return Promise.reject(new UsageError(e.message));
    }
    return Promise.reject(e);
  }
}
