/**
 * Normalization ops.
 *
 * @module
 */

import { formatShape, numel, ShapeError } from "./core.ts";
import type { OpDef } from "./def.ts";
import { constant, dimPoly, mul, type Poly, scale } from "./poly.ts";
import { param, positive } from "./_util.ts";
import { axisOf, checkRank, resolveAxis } from "./_tensor.ts";

/** `y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]` on channel axis 1. */
export const batchNorm: OpDef<"batch_norm"> = {
  summary: "inference BatchNorm over axis 1 (running statistics)",
  arity: 1,
  access: "pointwise",
  check(node, a) {
    positive(node, "channels", a.channels);
    if (!(a.eps > 0)) throw new RangeError(`Invalid "${node}": eps must be > 0, got ${a.eps}`);
  },
  shape(node, a, [x]) {
    if (x.length < 2 || x[1] !== a.channels) {
      throw new ShapeError(node, `input has ${x[1]} channels, expected ${a.channels}`);
    }
    return x;
  },
  params: ({ channels: c }) => [
    { name: "weight", shape: [c], role: "bn" },
    { name: "bias", shape: [c], role: "bn" },
    { name: "running_mean", shape: [c], role: "buffer" },
    { name: "running_var", shape: [c], role: "buffer" },
  ],
  // Folded to a scale and a shift: 2 FLOPs per element.
  cost: ({ shape }) => ({ madds: 0, flops: { bn: 2 * numel(shape) } }),
  // gamma and beta are parameters; running mean and var are buffers, read by MAC.
  symbolic: ({ ins: [x] }) => ({
    out: x,
    params: scale(x.c, 2),
    madds: constant(0),
    buffers: scale(x.c, 2),
  }),
  reference({ node, inputs: [x], inputShapes: [xs], weights }) {
    const gamma = param(weights, node, "weight");
    const beta = param(weights, node, "bias");
    const mean = param(weights, node, "running_mean");
    const variance = param(weights, node, "running_var");
    const [batch, channels] = xs;
    const inner = numel(xs) / (batch * channels); // H * W, or 1 for [N, C]
    const y = new Float32Array(x.length);
    for (let n = 0; n < batch; n++) {
      for (let c = 0; c < channels; c++) {
        const s = gamma[c] / Math.sqrt(variance[c] + node.attrs.eps);
        const base = (n * channels + c) * inner;
        for (let i = 0; i < inner; i++) {
          y[base + i] = (x[base + i] - mean[c]) * s + beta[c];
        }
      }
    }
    return y;
  },
  widthFields: (a) => [a.channels],
};

/**
 * `y = x * weight[c] + bias[c]` on axis 1 (`channels` 1: a scalar scale and
 * shift): the per-channel or scalar `x * a + b` a file stores, counted as the
 * constants it stores (`channels` weights and `channels` biases), 2 FLOPs per
 * element (multiply, add).
 */
export const affine: OpDef<"affine"> = {
  summary: "x * weight[c] + bias[c] on axis 1 (channels 1: scalars)",
  arity: 1,
  access: "pointwise",
  check: (node, a) => positive(node, "affine channels", a.channels),
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    if (a.channels !== 1 && (x.length < 2 || x[1] !== a.channels)) {
      throw new ShapeError(
        node,
        `input ${formatShape(x)} has ${
          x[1] ?? "no"
        } channels on axis 1, expected ${a.channels} (or affine channels 1)`,
      );
    }
    return x;
  },
  params: (a) => [
    { name: "weight", shape: [a.channels], role: "weight" },
    { name: "bias", shape: [a.channels], role: "bias" },
  ],
  cost: ({ shape }) => ({ madds: 0, flops: { elementwise: 2 * numel(shape) } }),
  symbolic: ({ node, ins: [x] }) => ({
    out: x,
    params: node.attrs.channels === 1 ? constant(2) : scale(x.c, 2),
    madds: constant(0),
  }),
  reference({ node, inputs: [x], inputShapes: [xs], weights }) {
    const w = param(weights, node, "weight");
    const b = param(weights, node, "bias");
    const channels = node.attrs.channels;
    const inner = channels === 1 ? 1 : numel(xs.slice(2));
    const y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
      y[i] = x[i] * w[c] + b[c];
    }
    return y;
  },
  widthFields: (a) => [a.channels],
};

const product = (ps: Poly[]): Poly => ps.reduce((a, b) => mul(a, b), constant(1));

function checkEps(node: string, eps: number): void {
  if (!(eps > 0)) throw new RangeError(`Invalid "${node}": eps must be > 0, got ${eps}`);
}

/**
 * `(x - mean) / sqrt(var + eps) * weight + bias` over each `[inner]` slice of
 * a `[outer, inner]` view, statistics in float64 (population variance, as
 * ONNX and PyTorch).
 */
function normalizeSlices(
  x: Float32Array,
  outer: number,
  inner: number,
  eps: number,
  scaleOf: (slice: number, i: number) => number,
  shiftOf: (slice: number, i: number) => number,
): Float32Array {
  const y = new Float32Array(x.length);
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    let mean = 0;
    for (let i = 0; i < inner; i++) mean += x[base + i];
    mean /= inner;
    let variance = 0;
    for (let i = 0; i < inner; i++) variance += (x[base + i] - mean) ** 2;
    variance /= inner;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < inner; i++) {
      y[base + i] = (x[base + i] - mean) * inv * scaleOf(o, i) + shiftOf(o, i);
    }
  }
  return y;
}

/**
 * LayerNorm over the axes from `axis` on (ONNX LayerNormalization), weight and
 * bias over those axes flattened to `[channels]`. FLOPs (`bn`): 8 per element
 * (mean 1; variance 3: subtract, square, add; normalize 2; scale and shift 2).
 */
export const layerNorm: OpDef<"layer_norm"> = {
  summary: "LayerNorm over the trailing axes from axis",
  arity: 1,
  access: "normalize",
  check(node, a) {
    positive(node, "layer_norm channels", a.channels);
    checkEps(node, a.eps);
  },
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    const axis = resolveAxis(node, "layer_norm axis", a.axis, x.length);
    const size = numel(x.slice(axis));
    if (size !== a.channels) {
      throw new ShapeError(
        node,
        `normalized axes ${formatShape(x.slice(axis))} of ${
          formatShape(x)
        } hold ${size} elements, expected channels ${a.channels}`,
      );
    }
    return x;
  },
  params: (a) => [
    { name: "weight", shape: [a.channels], role: "bn" },
    { name: "bias", shape: [a.channels], role: "bn" },
  ],
  cost: ({ shape }) => ({ madds: 0, flops: { bn: 8 * numel(shape) } }),
  // Weight and bias span the normalized axes: 2 x their sizes' product, a
  // polynomial in H and W when they include H or W (the graph is then tied to
  // its resolution: rebuilt at another, `channels` follows that product).
  symbolic({ node, ins: [x] }) {
    const axis = axisOf(node.attrs.axis, x.h === undefined ? 2 : 4);
    const sizes = [constant(x.n), x.c, dimPoly(x.h, "H"), dimPoly(x.w, "W")];
    return { out: x, params: scale(product(sizes.slice(axis)), 2), madds: constant(0) };
  },
  reference({ node, inputs: [x], inputShapes: [xs], weights }) {
    const inner = node.attrs.channels;
    const w = param(weights, node, "weight");
    const b = param(weights, node, "bias");
    const outer = numel(xs) / inner;
    return normalizeSlices(x, outer, inner, node.attrs.eps, (_, i) => w[i], (_, i) => b[i]);
  },
};

/**
 * InstanceNorm: each `(n, c)` plane normalized over its spatial axes, then
 * `* weight[c] + bias[c]`. FLOPs (`bn`): 8 per element, as LayerNorm.
 */
export const instanceNorm: OpDef<"instance_norm"> = {
  summary: "InstanceNorm over the spatial axes of each (n, c)",
  arity: 1,
  access: "normalize",
  check(node, a) {
    positive(node, "instance_norm channels", a.channels);
    checkEps(node, a.eps);
  },
  shape(node, a, [x]) {
    if (x.length < 3 || x.length > 5) {
      throw new ShapeError(
        node,
        `input has shape [${x.join(", ")}], expected [N, C, ...] with 1 to 3 spatial axes`,
      );
    }
    if (x[1] !== a.channels) {
      throw new ShapeError(node, `input has ${x[1]} channels, expected ${a.channels}`);
    }
    return x;
  },
  params: ({ channels: c }) => [
    { name: "weight", shape: [c], role: "bn" },
    { name: "bias", shape: [c], role: "bn" },
  ],
  cost: ({ shape }) => ({ madds: 0, flops: { bn: 8 * numel(shape) } }),
  symbolic: ({ ins: [x] }) => ({ out: x, params: scale(x.c, 2), madds: constant(0) }),
  reference({ node, inputs: [x], inputShapes: [xs], weights }) {
    const w = param(weights, node, "weight");
    const b = param(weights, node, "bias");
    const c = node.attrs.channels;
    const inner = numel(xs.slice(2));
    return normalizeSlices(
      x,
      x.length / inner,
      inner,
      node.attrs.eps,
      (o) => w[o % c],
      (o) => b[o % c],
    );
  },
  widthFields: (a) => [a.channels],
};
