/**
 * Unary element-wise ops (activations and math functions) and softmax. Each
 * costs a fixed number of FLOPs per element, stated beside its definition.
 *
 * @module
 */

import { numel, type OpAttrs, type OpKind } from "./core.ts";
import type { OpDef } from "./def.ts";
import { constant } from "./poly.ts";
import { elementwise } from "./_util.ts";

/**
 * The record of a unary element-wise op: shape preserved, no parameters,
 * `flopsPerElement` activation FLOPs per element, `fn(attrs)` the scalar function.
 */
export function unary<K extends OpKind>(
  summary: string,
  flopsPerElement: number,
  fn: (attrs: OpAttrs[K]) => (v: number) => number,
  check: (node: string, attrs: OpAttrs[K]) => void = () => {},
): OpDef<K> {
  return {
    summary,
    arity: 1,
    check,
    shape: (_node, _attrs, [x]) => x,
    params: () => [],
    cost: ({ shape }) => ({ madds: 0, flops: { activation: flopsPerElement * numel(shape) } }),
    symbolic: ({ ins: [x] }) => ({ out: x, params: constant(0), madds: constant(0) }),
    reference: ({ node, inputs: [x] }) => elementwise(x, fn(node.attrs)),
  };
}

const relu6Of = (v: number) => Math.min(Math.max(v, 0), 6);

/** `max(x, 0)`: 1 comparison per element. */
export const relu = unary<"relu">("max(x, 0)", 1, () => (v) => Math.max(v, 0));
/** `min(max(x, 0), 6)`: 2 comparisons per element. */
export const relu6 = unary<"relu6">("min(max(x, 0), 6)", 2, () => relu6Of);
/** `min(max(x, min), max)`: 2 comparisons per element. */
export const clip = unary<"clip">(
  "min(max(x, min), max)",
  2,
  (a) => (v) => Math.min(Math.max(v, a.min), a.max),
  (node, a) => {
    if (!(a.min <= a.max)) {
      throw new RangeError(`Invalid "${node}": clip min ${a.min} must be <= max ${a.max}`);
    }
  },
);
/** `x * relu6(x + 3) / 6`: add, 2 comparisons, multiply, divide = 5 per element. */
export const hardswish = unary<"hardswish">(
  "x * relu6(x + 3) / 6",
  5,
  () => (v) => v * relu6Of(v + 3) / 6,
);
/** `clip(alpha * x + beta, 0, 1)`: multiply, add, 2 comparisons = 4 per element. */
export const hardsigmoid = unary<"hardsigmoid">(
  "clip(alpha * x + beta, 0, 1)",
  4,
  (a) => (v) => Math.min(Math.max(a.alpha * v + a.beta, 0), 1),
);
/** `1 / (1 + exp(-x))`: negate, exp, add, divide = 4 per element. */
export const sigmoid = unary<"sigmoid">(
  "1 / (1 + exp(-x))",
  4,
  () => (v) => 1 / (1 + Math.exp(-v)),
);

/**
 * Softmax over axis 1 (features of `[N, F]`, channels of `[N, C, H, W]`),
 * shifted by the maximum so `exp` cannot overflow; 3 FLOPs per element
 * (exp, sum, divide).
 */
export const softmax: OpDef<"softmax"> = {
  summary: "softmax over axis 1",
  arity: 1,
  check() {},
  shape: (_node, _a, [x]) => x,
  params: () => [],
  cost: ({ shape }) => ({ madds: 0, flops: { elementwise: 3 * numel(shape) } }),
  symbolic: ({ ins: [x] }) => ({ out: x, params: constant(0), madds: constant(0) }),
  reference({ inputs: [x], inputShapes: [xs] }) {
    const [batch, channels] = xs;
    const inner = numel(xs) / (batch * channels);
    const y = new Float32Array(x.length);
    for (let n = 0; n < batch; n++) {
      for (let i = 0; i < inner; i++) {
        const at = (c: number) => (n * channels + c) * inner + i;
        let max = -Infinity;
        for (let c = 0; c < channels; c++) max = Math.max(max, x[at(c)]);
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += Math.exp(x[at(c)] - max);
        for (let c = 0; c < channels; c++) y[at(c)] = Math.exp(x[at(c)] - max) / sum;
      }
    }
    return y;
  },
};
