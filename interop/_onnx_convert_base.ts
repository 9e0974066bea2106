/**
 * What every ONNX converter shares: the node as a converter sees it
 * ({@link OnnxNode}), what it may do ({@link ConvertContext}), and small
 * helpers to read inputs (computed or constant), shapes and attributes.
 *
 * @module
 */

import { inferNodeShape, type OpAttrs, type OpKind } from "../lib/ir/ops.ts";
import type { ConstTensor } from "./onnx_proto.ts";
import {
  type Computed,
  type Draft,
  type DraftAttrs,
  type DraftKind,
  isConst,
  type OnnxAttrs,
  type Value,
} from "./_onnx_draft.ts";

/** Number of elements of a shape. */
export const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** One ONNX node as a converter sees it. */
export interface OnnxNode {
  name: string;
  opType: string;
  /** `node "<name>" (<opType>)`, for messages. */
  label: string;
  inputs: (Value | undefined)[];
  /** The ONNX tensor names of `inputs` ("" for an omitted optional input). */
  inputNames: string[];
  outputs: string[];
  attrs: OnnxAttrs;
  opset: number;
}

/** What a converter may do. */
export interface ConvertContext {
  emit<K extends DraftKind>(
    node: OnnxNode,
    ref: string,
    kind: K,
    attrs: DraftAttrs[K],
    inputs: string[],
    shape: number[],
    params?: Map<string, Float32Array>,
    pathHint?: string,
  ): Draft<K>;
  /** `out` is another name for a computed tensor. */
  alias(out: string, v: Computed): void;
  /** Reports a construct the IR cannot express (collected, thrown together). */
  issue(message: string): void;
  /** Whether any node or graph output reads the tensor. */
  isRead(name: string): boolean;
  /** The shape of a tensor a converter emitted (undefined when it reported an issue). */
  producedShape(ref: string): number[] | undefined;
  /** The const node already made for the stored tensor `name`, if any. */
  constRef(name: string): string | undefined;
  setConstRef(name: string, ref: string): void;
}

/** Converts one node. */
export type Converter = (ctx: ConvertContext, n: OnnxNode) => void;

/** A converter, or one per opset where the semantics changed: `[since, impl]` pairs, ascending. */
export type VersionedConverter = Converter | readonly (readonly [number, Converter])[];

/** The shortest float64 that rounds to the same float32 (1e-5, 1/6, 0.2 come back exactly). */
export function niceFloat(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.fround(v);
  for (let q = 1; q <= 12; q++) {
    const p = Math.round(v * q);
    if (Math.fround(p / q) === f) return p / q;
  }
  for (let k = 1; k <= 9; k++) {
    const d = parseFloat(v.toPrecision(k));
    if (Math.fround(d) === f) return d;
  }
  return v;
}

/** A possibly negative axis counted from 0. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Float32 copy of constant data. */
export function f32(values: ArrayLike<number>): Float32Array<ArrayBuffer> {
  return Float32Array.from(values as ArrayLike<number>);
}

/** Input `i` as a computed tensor, or a RangeError. */
export function dyn(n: OnnxNode, i: number, what = "input"): Computed {
  const v = n.inputs[i];
  if (!v || isConst(v)) {
    throw new RangeError(`expected ${what} ${i} to be a computed tensor, found a constant`);
  }
  return v;
}

/** Input `i` as a constant, or a RangeError. */
export function constant(n: OnnxNode, i: number, what: string): ConstTensor {
  const v = n.inputs[i];
  if (!isConst(v)) {
    throw new RangeError(
      `expected ${what} (input ${i}) to be a constant (initializer or Constant node)`,
    );
  }
  return v.const;
}

/** Optional constant input `i` (undefined when omitted). */
export function optConst(n: OnnxNode, i: number, what: string): ConstTensor | undefined {
  return n.inputs[i] === undefined ? undefined : constant(n, i, what);
}

/** Module path from a parameter initializer named `<path>.weight`. */
export function hint(n: OnnxNode, i: number): string | undefined {
  const v = n.inputs[i];
  const name = isConst(v) ? v.initializer : undefined;
  return name && name.endsWith(".weight") && !name.startsWith("onnx::")
    ? name.slice(0, -7)
    : undefined;
}

/** The IR shape rule applied at import time (errors name the node). */
export function irShape<K extends OpKind>(
  n: OnnxNode,
  kind: K,
  attrs: OpAttrs[K],
  inputs: number[][],
): number[] {
  return [...inferNodeShape(n.name || n.outputs[0], kind, attrs, inputs)];
}

/** Reports optional outputs (from index `from` on) that something reads but lightnets does not compute. */
export function unusedOutputs(ctx: ConvertContext, n: OnnxNode, from: number, what: string): void {
  if (n.outputs.slice(from).some((o) => o && ctx.isRead(o))) {
    ctx.issue(`${n.label} uses its ${what} output, which lightnets does not compute`);
  }
}

/** Conv/pool padding from `pads` or `auto_pad` (SAME_UPPER puts the odd pixel at the end). */
export function convPads(
  attrs: OnnxAttrs,
  x: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[],
): [number, number, number, number] {
  const auto = attrs.string("auto_pad", "NOTSET");
  if (auto === "SAME_UPPER" || auto === "SAME_LOWER") {
    const total = [0, 1].map((i) => {
      const out = Math.ceil(x[2 + i] / stride[i]);
      return Math.max((out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - x[2 + i], 0);
    });
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]);
    return auto === "SAME_UPPER"
      ? [small[0], small[1], big[0], big[1]]
      : [big[0], big[1], small[0], small[1]];
  }
  if (auto === "VALID") return [0, 0, 0, 0];
  const p = attrs.ints("pads") ?? [0, 0, 0, 0];
  return [p[0], p[1], p[2], p[3]];
}

/** Per-channel (axis 1) or scalar view of a constant broadcast against `shape`, or undefined. */
export function channelVector(c: ConstTensor, shape: readonly number[]): number[] | undefined {
  if (c.dims.length > shape.length) return undefined;
  const dims = [...new Array(shape.length - c.dims.length).fill(1), ...c.dims];
  if (dims.every((d) => d === 1)) return [c.data[0]];
  const varying = dims.flatMap((d, i) => (d !== 1 ? [i] : []));
  if (varying.length === 1 && varying[0] === 1 && dims[1] === shape[1]) return Array.from(c.data);
  return undefined;
}

/** A stored tensor as a `const` node (an operand the IR cannot fold into the op reading it). */
export function constNode(ctx: ConvertContext, n: OnnxNode, i: number): string {
  const c = constant(n, i, "constant operand");
  // One const node per stored tensor, however many ops read it (params count it once).
  const shared = ctx.constRef(n.inputNames[i]);
  if (shared) return shared;
  const ref = `${n.outputs[0]}#const${i}`;
  // A scalar is stored as [1]: it broadcasts alike, and IR tensors have 1 to 5 axes.
  const dims = c.dims.length === 0 ? [1] : [...c.dims];
  const d = ctx.emit(n, ref, "const", { shape: dims }, [], dims, new Map([["value", f32(c.data)]]));
  d.onnxName = n.name ? `${n.name}_const${i}` : "";
  ctx.setConstRef(n.inputNames[i], ref);
  return ref;
}

/** Shape of a value, constant or computed. */
export const shapeOfValue = (v: Value) => (isConst(v) ? v.const.dims : v.shape);
