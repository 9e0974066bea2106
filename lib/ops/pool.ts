/**
 * Pooling.
 *
 * @module
 */

import { formatShape, numel, type Pool2dAttrs, ShapeError } from "./core.ts";
import type { KernelArgs, OpDef } from "./def.ts";
import { constant, SymbolicError } from "./poly.ts";
import { checkRank, forEachIndex, resolveAxis, strides } from "./_tensor.ts";
import { need4d, nonNegative, positive, windowShape } from "./_util.ts";

function checkPool(node: string, a: Pool2dAttrs): void {
  a.kernel.forEach((v) => positive(node, "kernel size", v));
  a.stride.forEach((v) => positive(node, "stride", v));
  a.padding.forEach((v) => nonNegative(node, "padding", v));
  // A window lying wholly in padding has no input element (max = -Infinity, avg = 0/0).
  const [kh, kw] = a.kernel;
  if (a.padding[0] >= kh || a.padding[2] >= kh || a.padding[1] >= kw || a.padding[3] >= kw) {
    throw new RangeError(
      `Invalid "${node}": pooling padding [${
        a.padding.join(", ")
      }] must be smaller than the kernel ${kh}x${kw} on every side`,
    );
  }
}

/**
 * Max or average pooling, as PyTorch's CPU kernels do it. A window starts at
 * `o * stride - padBegin` and is clipped to the padded input
 * (`<= size + padEnd`, which only bites in ceil mode); max takes the largest
 * input element inside it (padding never wins), average divides the sum of
 * the input elements inside it by the clipped window size when
 * `countIncludePad`, else by the number of input elements it covers.
 */
function pool2d(
  { node, inputs: [x], inputShapes: [xs], shape }: KernelArgs<"max_pool" | "avg_pool">,
): Float32Array {
  const a = node.attrs;
  const isMax = node.kind === "max_pool";
  const [batch, channels, inH, inW] = xs;
  const [, , outH, outW] = shape;
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [top, left, bottom, right] = a.padding;
  const y = new Float32Array(numel(shape));
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const plane = (n * channels + c) * inH * inW;
      for (let oy = 0; oy < outH; oy++) {
        const y0 = oy * sh - top;
        const y1 = Math.min(y0 + kh, inH + bottom);
        for (let ox = 0; ox < outW; ox++) {
          const x0 = ox * sw - left;
          const x1 = Math.min(x0 + kw, inW + right);
          const windowSize = (y1 - y0) * (x1 - x0);
          let acc = isMax ? -Infinity : 0;
          let covered = 0;
          for (let iy = Math.max(y0, 0); iy < Math.min(y1, inH); iy++) {
            for (let ix = Math.max(x0, 0); ix < Math.min(x1, inW); ix++) {
              const v = x[plane + iy * inW + ix];
              acc = isMax ? Math.max(acc, v) : acc + v;
              covered++;
            }
          }
          const out = isMax ? acc : acc / (a.countIncludePad ? windowSize : covered);
          y[((n * channels + c) * outH + oy) * outW + ox] = out;
        }
      }
    }
  }
  return y;
}

function poolDef<K extends "max_pool" | "avg_pool">(
  summary: string,
  flopsPerOutput: (a: Pool2dAttrs) => number,
): OpDef<K> {
  return {
    summary,
    arity: 1,
    access: "general",
    check: checkPool,
    shape(node, a, [x]) {
      need4d(node, x);
      return windowShape(
        node,
        "pooling",
        x,
        x[1],
        a.kernel,
        a.stride,
        a.padding,
        [1, 1],
        a.ceilMode,
      );
    },
    params: () => [],
    cost: ({ attrs, shape }) => ({
      madds: 0,
      flops: { pooling: numel(shape) * flopsPerOutput(attrs) },
    }),
    symbolic: ({ node, ins: [x], window }) => {
      const a = node.attrs;
      return {
        out: { n: x.n, c: x.c, ...window(a.kernel, a.stride, a.padding, [1, 1], a.ceilMode) },
        params: constant(0),
        madds: constant(0),
      };
    },
    reference: pool2d,
  };
}

/** Max pooling: kh*kw - 1 comparisons per output. */
export const maxPool = poolDef<"max_pool">(
  "max over each window",
  (a) => a.kernel[0] * a.kernel[1] - 1,
);
/** Average pooling: kh*kw additions and divisions per output (the PyTorch count). */
export const avgPool = poolDef<"avg_pool">(
  "mean over each window (countIncludePad as PyTorch)",
  (a) => a.kernel[0] * a.kernel[1],
);

/** Mean over H and W of each `(n, c)` plane: 1 FLOP per input element. */
export const globalAvgPool: OpDef<"global_avg_pool"> = {
  summary: "mean over H and W: [N, C, H, W] to [N, C, 1, 1]",
  arity: 1,
  access: "general",
  check() {},
  shape(node, _a, [x]) {
    need4d(node, x);
    return [x[0], x[1], 1, 1];
  },
  params: () => [],
  cost: ({ inputShapes: [x] }) => ({ madds: 0, flops: { pooling: numel(x) } }),
  symbolic: ({ ins: [x] }) => ({
    out: { n: x.n, c: x.c, h: { value: 1 }, w: { value: 1 } },
    params: constant(0),
    madds: constant(0),
  }),
  reference({ inputs: [x], inputShapes: [xs] }) {
    const [batch, channels, h, w] = xs;
    const y = new Float32Array(batch * channels);
    for (let p = 0; p < batch * channels; p++) {
      let sum = 0;
      for (let i = 0; i < h * w; i++) sum += x[p * h * w + i];
      y[p] = sum / (h * w);
    }
    return y;
  },
};

/** Max over every axis after the first two; kh*kw - 1 comparisons per output (input - output elements). */
export const globalMaxPool: OpDef<"global_max_pool"> = {
  summary: "max over the spatial axes: [N, C, ...] to [N, C, 1, ...]",
  arity: 1,
  access: "general",
  check() {},
  shape(node, _a, [x]) {
    if (x.length < 3 || x.length > 5) {
      throw new ShapeError(
        node,
        `input has shape [${x.join(", ")}], expected [N, C, ...] with 1 to 3 spatial axes`,
      );
    }
    return x.map((d, i) => (i < 2 ? d : 1));
  },
  params: () => [],
  cost: ({ inputShapes: [x], shape }) => ({
    madds: 0,
    flops: { pooling: numel(x) - numel(shape) },
  }),
  symbolic: ({ node, ins: [x] }) => {
    if (x.h === undefined) {
      throw new SymbolicError(`Cannot express "${node.name}": input is not a feature map`);
    }
    return {
      out: { n: x.n, c: x.c, h: { value: 1 }, w: { value: 1 } },
      params: constant(0),
      madds: constant(0),
    };
  },
  reference({ inputs: [x], inputShapes: [xs] }) {
    const planes = xs[0] * xs[1];
    const size = numel(xs.slice(2));
    const y = new Float32Array(planes);
    for (let p = 0; p < planes; p++) {
      let m = -Infinity;
      for (let i = 0; i < size; i++) m = Math.max(m, x[p * size + i]);
      y[p] = m;
    }
    return y;
  },
};

/** The axes of a reduce resolved to `0..rank-1`, sorted, or a ShapeError. */
function reducedAxes(node: string, axes: readonly number[], rank: number): Set<number> {
  const out = new Set(axes.map((a) => resolveAxis(node, "reduce axis", a, rank)));
  if (out.size !== axes.length) {
    throw new ShapeError(node, `reduce axes [${axes.join(", ")}] repeat an axis`);
  }
  return out;
}

/**
 * Mean, sum or max over `axes`. FLOPs (pooling): sum and max take
 * input - output elements (additions or comparisons), mean adds one divide
 * per output, so input elements in all (as global average pooling).
 */
export const reduce: OpDef<"reduce"> = {
  summary: "mean, sum or max over axes",
  arity: 1,
  access: "general",
  check(node, a) {
    if (!["mean", "sum", "max"].includes(a.op)) {
      throw new RangeError(`Invalid "${node}": reduce op "${a.op}" is not one of mean, sum, max`);
    }
    if (a.axes.length === 0 || a.axes.some((x) => !Number.isInteger(x))) {
      throw new RangeError(
        `Invalid "${node}": reduce axes must be a non-empty list of integers, got [${
          a.axes.join(", ")
        }]`,
      );
    }
  },
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    const axes = reducedAxes(node, a.axes, x.length);
    const out = a.keepDims
      ? x.map((d, i) => (axes.has(i) ? 1 : d))
      : x.filter((_, i) => !axes.has(i));
    if (out.length === 0) {
      throw new ShapeError(
        node,
        `reducing every axis of ${formatShape(x)} without keepDims leaves a 0-D tensor`,
      );
    }
    return out;
  },
  params: () => [],
  cost: ({ attrs, inputShapes: [x], shape }) => ({
    madds: 0,
    flops: { pooling: attrs.op === "mean" ? numel(x) : numel(x) - numel(shape) },
  }),
  // Reduced axes become 1 (keepDims) or go: any axes of an [N, C, H, W] or
  // [N, F] tensor with keepDims, and H and W together without (to [N, C]).
  symbolic({ node, ins: [x] }) {
    const a = node.attrs;
    const rank = x.h === undefined ? 2 : 4;
    const axes = new Set(a.axes.map((v) => (v < 0 ? v + rank : v)));
    const one = { value: 1 };
    if (a.keepDims) {
      const out = {
        n: axes.has(0) ? 1 : x.n,
        c: axes.has(1) ? constant(1) : x.c,
        ...(rank === 4 ? { h: axes.has(2) ? one : x.h, w: axes.has(3) ? one : x.w } : {}),
      };
      return { out, params: constant(0), madds: constant(0) };
    }
    if (rank === 4 && axes.size === 2 && axes.has(2) && axes.has(3)) {
      return { out: { n: x.n, c: x.c }, params: constant(0), madds: constant(0) };
    }
    throw new SymbolicError(
      `Cannot express "${node.name}": a reduce over axes [${
        [...axes].join(", ")
      }] without keepDims leaves a tensor that is neither [N, C, H, W] nor [N, F]`,
    );
  },
  reference({ node, inputs: [x], inputShapes: [xs], shape }) {
    const a = node.attrs;
    const axes = reducedAxes(node.name, a.axes, xs.length);
    // Each input element adds into the output element with the reduced axes zeroed.
    const keepStrides = strides(xs.map((d, i) => (axes.has(i) ? 1 : d)));
    const read = keepStrides.map((s, i) => (axes.has(i) ? 0 : s));
    const acc = new Float64Array(numel(shape)).fill(a.op === "max" ? -Infinity : 0);
    forEachIndex(xs, [read], (i, [o]) => {
      acc[o] = a.op === "max" ? Math.max(acc[o], x[i]) : acc[o] + x[i];
    });
    const count = numel(xs) / acc.length;
    return Float32Array.from(acc, (v) => (a.op === "mean" ? v / count : v));
  },
};
