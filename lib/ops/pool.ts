/**
 * Pooling.
 *
 * @module
 */

import { numel, type Pool2dAttrs } from "./core.ts";
import type { KernelArgs, OpDef } from "./def.ts";
import { constant } from "./poly.ts";
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
