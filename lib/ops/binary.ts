/**
 * Binary element-wise ops with numpy broadcasting: `add`, `sub`, `mul`,
 * `div`, `pow`, `max`, `min`. Each costs 1 FLOP per output element and reads
 * each input element once (MAC).
 *
 * @module
 */

import { numel, type OpKind, type Shape } from "./core.ts";
import type { OpDef, SymbolicArgs, SymbolicWork } from "./def.ts";
import { constant, type Dim, type Poly, sameDim, samePoly, SymbolicError } from "./poly.ts";
import { broadcastShape, broadcastStrides, checkRank, forEachIndex } from "./_tensor.ts";

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** `f(a, b)` over the broadcast shape `shape`. */
export function broadcastApply(
  a: Float32Array,
  as: Shape,
  b: Float32Array,
  bs: Shape,
  shape: Shape,
  f: (x: number, y: number) => number,
): Float32Array {
  const y = new Float32Array(numel(shape));
  if (sameShape(as, bs)) {
    for (let i = 0; i < y.length; i++) y[i] = f(a[i], b[i]);
    return y;
  }
  const sa = broadcastStrides(as, shape), sb = broadcastStrides(bs, shape);
  forEachIndex(shape, [sa, sb], (o, [i, j]) => {
    y[o] = f(a[i], b[j]);
  });
  return y;
}

const isOne = (p: Poly) => p.size === 1 && p.get("") === 1;
const dimIsOne = (d: Dim | undefined) => d !== undefined && "value" in d && d.value === 1;

/**
 * Symbolic broadcasting of two `[N, C, H, W]` or `[N, F]` tensors: each size
 * must be the same expression or the constant 1 on one side.
 */
function symbolicBroadcast(
  { node, ins: [a, b] }: SymbolicArgs,
): SymbolicWork {
  const fail = () => {
    throw new SymbolicError(
      `Cannot express "${node.name}": ${node.kind} of tensors whose sizes are different expressions`,
    );
  };
  if ((a.h === undefined) !== (b.h === undefined)) fail();
  const n = a.n === b.n || b.n === 1 ? a.n : a.n === 1 ? b.n : fail();
  const c = samePoly(a.c, b.c) || isOne(b.c) ? a.c : isOne(a.c) ? b.c : fail();
  const dim = (x: Dim | undefined, y: Dim | undefined) =>
    sameDim(x, y) || dimIsOne(y) ? x : dimIsOne(x) ? y : fail();
  const out = a.h === undefined ? { n, c } : { n, c, h: dim(a.h, b.h), w: dim(a.w, b.w) };
  return { out, params: constant(0), madds: constant(0) };
}

/** The record of a broadcasting binary op computing `f(a, b)`. */
export function binary<K extends OpKind>(
  kind: K,
  summary: string,
  f: (a: number, b: number) => number,
): OpDef<K> {
  return {
    summary,
    arity: 2,
    access: "pointwise",
    check() {},
    shape(node, _a, [a, b]) {
      checkRank(node, "first input", a);
      checkRank(node, "second input", b);
      return broadcastShape(node, kind, a, b);
    },
    params: () => [],
    cost: ({ shape }) => ({ madds: 0, flops: { elementwise: numel(shape) } }),
    symbolic: symbolicBroadcast,
    reference: ({ inputs: [a, b], inputShapes: [as, bs], shape }) =>
      broadcastApply(a, as, b, bs, shape, f),
  };
}

/** `a + b` (residual shortcuts). */
export const add = binary("add", "a + b", (a, b) => a + b);
/** `a - b`. */
export const sub = binary("sub", "a - b", (a, b) => a - b);
/** `a * b` (squeeze-excite's `[N, C, 1, 1]` scale broadcast over H and W). */
export const mul = binary("mul", "a * b", (a, b) => a * b);
/** `a / b`. */
export const div = binary("div", "a / b", (a, b) => a / b);
/** `a ** b` (`Math.pow`, as ONNX Pow on floats). */
export const pow = binary("pow", "a ** b", (a, b) => Math.pow(a, b));
/** `max(a, b)` (NaN propagates). */
export const max = binary("max", "max(a, b)", (a, b) => Math.max(a, b));
/** `min(a, b)` (NaN propagates). */
export const min = binary("min", "min(a, b)", (a, b) => Math.min(a, b));
