/**
 * Unary element-wise ops (activations and math functions) and softmax. Each
 * costs a fixed number of FLOPs per element, stated beside its definition.
 *
 * @module
 */

import { formatShape, numel, type OpAttrs, type OpKind, ShapeError } from "./core.ts";
import type { OpDef } from "./def.ts";
import { constant } from "./poly.ts";
import { elementwise, param, positive } from "./_util.ts";
import { around, axisOf, checkRank, resolveAxis } from "./_tensor.ts";

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
    access: "pointwise",
    check,
    shape(node, _attrs, [x]) {
      checkRank(node, "input", x);
      return x;
    },
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

/** `e^x`: 1 FLOP per element (an elementary function counts 1, as exp does in sigmoid). */
export const exp = unary<"exp">("e^x", 1, () => Math.exp);
/** Natural logarithm: 1 per element. */
export const log = unary<"log">("ln(x)", 1, () => Math.log);
/** Hyperbolic tangent: 1 per element. */
export const tanh = unary<"tanh">("tanh(x)", 1, () => Math.tanh);
/** Square root: 1 per element. */
export const sqrt = unary<"sqrt">("sqrt(x)", 1, () => Math.sqrt);
/** `1 / x`: 1 per element. */
export const reciprocal = unary<"reciprocal">("1 / x", 1, () => (v) => 1 / v);
/** `-x`: 1 per element. */
export const neg = unary<"neg">("-x", 1, () => (v) => -v);
/** `|x|`: 1 per element. */
export const abs = unary<"abs">("|x|", 1, () => Math.abs);
/** The Gauss error function: 1 per element. */
export const erf = unary<"erf">("erf(x)", 1, () => erfOf);
/** `ln(1 + e^x)` (ONNX Softplus), computed without overflow: exp, add, log = 3 per element. */
export const softplus = unary<"softplus">(
  "ln(1 + e^x)",
  3,
  () => (v) => v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)),
);
/** `x > 0 ? x : alpha * (e^x - 1)`: compare, exp, subtract, multiply = 4 per element. */
export const elu = unary<"elu">(
  "x > 0 ? x : alpha * (e^x - 1)",
  4,
  (a) => (v) => v > 0 ? v : a.alpha * Math.expm1(v),
  (node, a) => finite(node, "elu alpha", a.alpha),
);
/** `x >= 0 ? x : alpha * x`: compare, multiply = 2 per element. */
export const leakyRelu = unary<"leaky_relu">(
  "x >= 0 ? x : alpha * x",
  2,
  (a) => (v) => v >= 0 ? v : a.alpha * v,
  (node, a) => finite(node, "leaky_relu alpha", a.alpha),
);
/** `x * sigmoid(x)` (SiLU, swish): sigmoid's 4 and a multiply = 5 per element. */
export const silu = unary<"silu">("x * sigmoid(x)", 5, () => (v) => v / (1 + Math.exp(-v)));

function finite(node: string, what: string, v: number): void {
  if (!Number.isFinite(v)) {
    throw new RangeError(`Invalid "${node}": ${what} must be finite, got ${v}`);
  }
}

/**
 * erf(x) to double precision where float32 can tell: the Maclaurin series
 * `2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))` for |x| < 4 (its terms stay
 * below e^16, so float64 keeps about 9 digits), and +-1 beyond, where
 * 1 - erf(4) = 1.5e-8 is below half a float32 step at 1.
 */
export function erfOf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 4) return 1;
  if (x <= -4) return -1;
  let term = x; // (-1)^n x^(2n+1) / n!
  let total = x;
  for (let n = 1; n < 200; n++) {
    term *= -x * x / n;
    const next = term / (2 * n + 1);
    total += next;
    if (Math.abs(next) < 1e-17 * Math.abs(total)) break;
  }
  return total * 2 / Math.sqrt(Math.PI);
}

/**
 * Softmax over `axis`, shifted by the maximum so `exp` cannot overflow;
 * 3 FLOPs per element (exp, sum, divide).
 */
export const softmax: OpDef<"softmax"> = {
  summary: "softmax over axis",
  arity: 1,
  access: "normalize",
  check() {},
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    resolveAxis(node, "softmax axis", a.axis, x.length);
    return x;
  },
  params: () => [],
  cost: ({ shape }) => ({ madds: 0, flops: { elementwise: 3 * numel(shape) } }),
  symbolic: ({ ins: [x] }) => ({ out: x, params: constant(0), madds: constant(0) }),
  reference({ node, inputs: [x], inputShapes: [xs] }) {
    const [outer, size, inner] = around(xs, axisOf(node.attrs.axis, xs.length));
    const y = new Float32Array(x.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (c: number) => (o * size + c) * inner + i;
        let max = -Infinity;
        for (let c = 0; c < size; c++) max = Math.max(max, x[at(c)]);
        let sum = 0;
        for (let c = 0; c < size; c++) sum += Math.exp(x[at(c)] - max);
        for (let c = 0; c < size; c++) y[at(c)] = Math.exp(x[at(c)] - max) / sum;
      }
    }
    return y;
  },
};

/**
 * PReLU: `x >= 0 ? x : slope[c] * x` with the slopes a `[channels]` parameter
 * on axis 1 (`channels` 1: one shared slope); compare and multiply = 2 FLOPs
 * per element.
 */
export const prelu: OpDef<"prelu"> = {
  summary: "x >= 0 ? x : slope[c] * x, slopes a parameter",
  arity: 1,
  access: "pointwise",
  check: (node, a) => positive(node, "prelu channels", a.channels),
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    if (a.channels !== 1 && (x.length < 2 || x[1] !== a.channels)) {
      throw new ShapeError(
        node,
        `input ${formatShape(x)} has ${
          x[1] ?? "no"
        } channels on axis 1, expected ${a.channels} (or prelu channels 1)`,
      );
    }
    return x;
  },
  params: (a) => [{ name: "weight", shape: [a.channels], role: "weight" }],
  cost: ({ shape }) => ({ madds: 0, flops: { activation: 2 * numel(shape) } }),
  symbolic: ({ node, ins: [x] }) => ({
    out: x,
    params: node.attrs.channels === 1 ? constant(1) : x.c,
    madds: constant(0),
  }),
  reference({ node, inputs: [x], inputShapes: [xs], weights }) {
    const slope = param(weights, node, "weight");
    const channels = node.attrs.channels;
    const inner = channels === 1 ? 1 : numel(xs.slice(2));
    const y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
      y[i] = x[i] >= 0 ? x[i] : slope[c] * x[i];
    }
    return y;
  },
  widthFields: (a) => [a.channels],
};
