/**
 * What every kernel emitter shares: the emitter interface, literals, and
 * branch-free activation code. Activations never use `a > 0 ? a : 0` or
 * `Math.max`: on this machine class those compile to mispredicted branches,
 * while `(a + Math.abs(a)) * 0.5` is a straight line of float ops (it made
 * depthwise + ReLU6 layers 3-4x faster in the prototype).
 *
 * @module
 */

import type { CodeBlockWriter } from "ts-morph";
import type { Act, Epilogue, KernelSpec } from "./spec.ts";

/** One parameter of a generated kernel. */
export interface Param {
  name: string;
  type: "Float32Array" | "Int32Array" | "number";
}

/** A channel offset table a kernel takes: `xt` for its input, `yt` for its output. */
export type TableParam = "xt" | "yt";

/** How to emit one kernel family: its parameters, its body, and its weight packing. */
export interface Emitter<S extends KernelSpec> {
  /** One-line description of the family for the kernel's doc comment. */
  describe(s: S): string;
  /** Whether the kernel takes packed weights `(w, wo)`. */
  weighted: boolean;
  /** Whether the kernel reads a second tensor `(r, ro)` (residual, addend or scale). */
  second(s: S): boolean;
  /** Writes the body with every size baked in as a literal. */
  body(s: S, w: CodeBlockWriter): void;
  /**
   * The channel offset tables the kernel takes as `Int32Array` parameters
   * (each call passes its step's table, see `OffsetTables` in spec.ts).
   */
  tables?(s: S): TableParam[];
}

/** Kernel parameters in the fixed order every call site follows (tables last). */
export function kernelParams(
  weighted: boolean,
  second: boolean,
  tables: readonly TableParam[] = [],
): Param[] {
  const p: Param[] = [
    { name: "x", type: "Float32Array" },
    { name: "xo", type: "number" },
    { name: "y", type: "Float32Array" },
    { name: "yo", type: "number" },
  ];
  if (weighted) p.push({ name: "w", type: "Float32Array" }, { name: "wo", type: "number" });
  if (second) p.push({ name: "r", type: "Float32Array" }, { name: "ro", type: "number" });
  for (const t of tables) p.push({ name: t, type: "Int32Array" });
  return p;
}

/** A number as a TypeScript literal (negative ones parenthesized). */
export function lit(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`Cannot emit the non-finite number "${n}"`);
  return n < 0 || Object.is(n, -0) ? `(${n})` : String(n);
}

/** `base + k` without emitting `+ 0`. */
export function plus(base: string, k: number): string {
  return k === 0 ? base : k > 0 ? `${base} + ${k}` : `${base} - ${-k}`;
}

/** `max(v, lo)` written branch-free; `v` is a variable or a parenthesized expression. */
function floorAt(v: string, lo: number): string {
  if (lo === 0) return `(${v} + Math.abs(${v})) * 0.5`;
  const d = `(${v} - ${lit(lo)})`;
  return `${lit(lo)} + (${d} + Math.abs(${d})) * 0.5`;
}

/** `min(v, hi)` written branch-free; `v` is a variable or a parenthesized expression. */
function ceilAt(v: string, hi: number): string {
  const d = `(${lit(hi)} - ${v})`;
  return `${lit(hi)} - (${d} + Math.abs(${d})) * 0.5`;
}

/**
 * Statements that apply `act` to the variable `v` in place, branch-free.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { actStatements } from "./_emit.ts";
 * assert.deepEqual(actStatements({ kind: "relu" }, "a"), ["a = (a + Math.abs(a)) * 0.5;"]);
 * ```
 */
export function actStatements(act: Act, v: string): string[] {
  switch (act.kind) {
    case "none":
      return [];
    case "relu":
      return [`${v} = ${floorAt(v, 0)};`];
    case "relu6":
      return [`${v} = ${floorAt(v, 0)};`, `${v} = ${ceilAt(v, 6)};`];
    case "clip": {
      const out: string[] = [];
      if (act.min !== -Infinity) out.push(`${v} = ${floorAt(v, act.min)};`);
      if (act.max !== Infinity) out.push(`${v} = ${ceilAt(v, act.max)};`);
      return out;
    }
    case "hardswish": {
      // v * relu6(v + 3) / 6; the clamp repeats its argument, V8 shares the subexpressions.
      const r6 = ceilAt(`(${floorAt(`(${v} + 3)`, 0)})`, 6);
      return [`${v} = ${v} * (${r6}) / 6;`];
    }
    case "hardsigmoid":
      return [
        `${v} = ${lit(act.alpha)} * ${v} + ${lit(act.beta)};`,
        `${v} = ${floorAt(v, 0)};`,
        `${v} = ${ceilAt(v, 1)};`,
      ];
    case "sigmoid":
      return [`${v} = 1 / (1 + Math.exp(-${v}));`];
  }
}

/**
 * Writes the epilogue of one accumulator `v` and its store:
 * `y[yIndex] = act2(act(v) + r[rIndex])`.
 */
export function writeStore(
  w: CodeBlockWriter,
  epi: Epilogue,
  v: string,
  yIndex: string,
  rIndex: string,
): void {
  const lines = [...actStatements(epi.act, v)];
  if (epi.residual) lines.push(`${v} += r[${rIndex}];`);
  if (epi.residual) lines.push(...actStatements(epi.act2, v));
  lines.push(`y[${yIndex}] = ${v};`);
  for (const l of lines) w.writeLine(l);
}

/** Writes `head { body }`. */
export function block(w: CodeBlockWriter, head: string, body: () => void): void {
  if (head !== "") w.write(`${head} `);
  w.inlineBlock(body).newLine();
}
