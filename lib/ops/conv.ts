/**
 * Convolution and the fully connected layer.
 *
 * @module
 */

import type { Conv2dAttrs, LinearAttrs, Shape } from "./core.ts";
import { formatShape, numel, ShapeError } from "./core.ts";
import type { OpDef } from "./def.ts";
import {
  add,
  constant,
  elements,
  formatPoly,
  mul,
  samePoly,
  scale,
  SymbolicError,
} from "./poly.ts";
import { need4d, nonNegative, param, positive, windowShape } from "./_util.ts";
import { broadcastShape, broadcastStrides, forEachIndex } from "./_tensor.ts";

/**
 * `y[n, oc, oy, ox] = bias[oc] + sum over ic, ky, kx of
 * x[n, g * inPerGroup + ic, oy * sh - top + ky * dh, ox * sw - left + kx * dw] *
 * w[oc, ic, ky, kx]`, with `g = floor(oc / outPerGroup)` and out-of-range
 * input positions reading zero (zero padding).
 *
 * The loops run tap by tap (one weight, all output pixels) into a float64
 * plane: the same sum in the same order as a loop per output pixel, but the
 * inner loop walks memory in order, which makes whole networks run in seconds.
 */
export const conv2d: OpDef<"conv2d"> = {
  summary:
    "2-D convolution (standard, grouped, depthwise, pointwise), weight [Cout, Cin/g, kh, kw]",
  arity: 1,
  access: "general",
  check(node, a: Conv2dAttrs) {
    positive(node, "inChannels", a.inChannels);
    positive(node, "outChannels", a.outChannels);
    a.kernel.forEach((v) => positive(node, "kernel size", v));
    a.stride.forEach((v) => positive(node, "stride", v));
    a.dilation.forEach((v) => positive(node, "dilation", v));
    a.padding.forEach((v) => nonNegative(node, "padding", v));
    positive(node, "groups", a.groups);
    if (a.inChannels % a.groups !== 0 || a.outChannels % a.groups !== 0) {
      throw new RangeError(
        `Invalid "${node}": groups ${a.groups} must divide inChannels ${a.inChannels} and outChannels ${a.outChannels}`,
      );
    }
  },
  shape(node, a, [x]) {
    need4d(node, x);
    if (x[1] !== a.inChannels) {
      throw new ShapeError(node, `input has ${x[1]} channels, expected ${a.inChannels}`);
    }
    return windowShape(
      node,
      "kernel",
      x,
      a.outChannels,
      a.kernel,
      a.stride,
      a.padding,
      a.dilation,
      false,
    );
  },
  params(a) {
    return [
      {
        name: "weight",
        shape: [a.outChannels, a.inChannels / a.groups, a.kernel[0], a.kernel[1]],
        role: "weight",
      },
      ...(a.bias ? [{ name: "bias" as const, shape: [a.outChannels], role: "bias" as const }] : []),
    ];
  },
  cost({ attrs: a, shape }) {
    const out = numel(shape);
    return {
      madds: out * (a.inChannels / a.groups) * a.kernel[0] * a.kernel[1],
      flops: { bias: a.bias ? out : 0 },
    };
  },
  symbolic({ node, ins: [x], width, ch, window }) {
    const a = node.attrs;
    const depthwise = a.groups > 1 && a.groups === a.inChannels;
    if (width && a.groups > 1 && !depthwise) {
      throw new SymbolicError(
        `Cannot express "${node.name}" in width mode: grouped conv with ${a.groups} groups is not depthwise`,
      );
    }
    const cOut = depthwise && a.outChannels === a.inChannels ? x.c : ch(a.outChannels);
    const perOut = depthwise
      ? constant(a.inChannels / a.groups)
      : width
      ? x.c
      : constant(a.inChannels / a.groups);
    const k = a.kernel[0] * a.kernel[1];
    const out = { n: x.n, c: cOut, ...window(a.kernel, a.stride, a.padding, a.dilation, false) };
    const w = scale(mul(cOut, perOut), k);
    return {
      out,
      params: a.bias ? add(w, cOut) : w,
      madds: mul(elements(out), scale(perOut, k)),
    };
  },
  reference({ node, inputs: [x], inputShapes: [xs], shape, weights }) {
    const a = node.attrs;
    const [batch, inC, inH, inW] = xs;
    const [, outC, outH, outW] = shape;
    const [kh, kw] = a.kernel;
    const [sh, sw] = a.stride;
    const [dh, dw] = a.dilation;
    const [top, left] = a.padding;
    const inPerGroup = inC / a.groups;
    const outPerGroup = outC / a.groups;
    const w = param(weights, node, "weight");
    const bias = a.bias ? param(weights, node, "bias") : undefined;
    const y = new Float32Array(numel(shape));
    const acc = new Float64Array(outH * outW);
    for (let n = 0; n < batch; n++) {
      for (let oc = 0; oc < outC; oc++) {
        const g = Math.floor(oc / outPerGroup);
        acc.fill(bias ? bias[oc] : 0);
        for (let ic = 0; ic < inPerGroup; ic++) {
          const xPlane = (n * inC + g * inPerGroup + ic) * inH * inW;
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const wv = w[((oc * inPerGroup + ic) * kh + ky) * kw + kx];
              for (let oy = 0; oy < outH; oy++) {
                const iy = oy * sh - top + ky * dh;
                if (iy < 0 || iy >= inH) continue;
                for (let ox = 0; ox < outW; ox++) {
                  const ix = ox * sw - left + kx * dw;
                  if (ix < 0 || ix >= inW) continue;
                  acc[oy * outW + ox] += x[xPlane + iy * inW + ix] * wv;
                }
              }
            }
          }
        }
        y.set(acc, (n * outC + oc) * outH * outW);
      }
    }
    return y;
  },
  widthFields: (a) => [a.inChannels, a.outChannels, a.groups],
};

/** `y[n, o] = bias[o] + sum_i x[n, i] * w[o, i]` (PyTorch layout `[out, in]`). */
export const linear: OpDef<"linear"> = {
  summary: "fully connected layer on [N, F], weight [out, in]",
  arity: 1,
  access: "general",
  check(node, a: LinearAttrs) {
    positive(node, "inFeatures", a.inFeatures);
    positive(node, "outFeatures", a.outFeatures);
  },
  shape(node, a, [x]) {
    if (x.length !== 2) {
      throw new ShapeError(
        node,
        `input has shape [${x.join(", ")}], expected [N, ${a.inFeatures}] (flatten first)`,
      );
    }
    if (x[1] !== a.inFeatures) {
      throw new ShapeError(node, `input has ${x[1]} features, expected ${a.inFeatures}`);
    }
    return [x[0], a.outFeatures];
  },
  params(a) {
    return [
      { name: "weight", shape: [a.outFeatures, a.inFeatures], role: "weight" },
      ...(a.bias ? [{ name: "bias" as const, shape: [a.outFeatures], role: "bias" as const }] : []),
    ];
  },
  cost({ attrs: a, shape }) {
    return {
      madds: shape[0] * a.inFeatures * a.outFeatures,
      flops: { bias: a.bias ? numel(shape) : 0 },
    };
  },
  symbolic({ node, ins: [x], ch, classifier }) {
    const a = node.attrs;
    if ([...x.c.keys()].some((k) => k.includes("H:") || k.includes("W:"))) {
      throw new SymbolicError(
        `Cannot express "${node.name}": the classifier reads ${
          formatPoly(x.c)
        } features, which depend on H and W (the model only runs at one resolution)`,
      );
    }
    const fOut = classifier ? constant(a.outFeatures) : ch(a.outFeatures);
    return {
      out: { n: x.n, c: fOut },
      params: a.bias ? add(mul(x.c, fOut), fOut) : mul(x.c, fOut),
      madds: scale(mul(x.c, fOut), x.n),
    };
  },
  reference({ node, inputs: [x], shape, weights }) {
    const { inFeatures, outFeatures } = node.attrs;
    const w = param(weights, node, "weight");
    const bias = node.attrs.bias ? param(weights, node, "bias") : undefined;
    const batch = shape[0];
    const y = new Float32Array(batch * outFeatures);
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < outFeatures; o++) {
        let acc = bias ? bias[o] : 0;
        for (let i = 0; i < inFeatures; i++) acc += x[n * inFeatures + i] * w[o * inFeatures + i];
        y[n * outFeatures + o] = acc;
      }
    }
    return y;
  },
  widthFields: (a) => [a.inFeatures, a.outFeatures],
};

/** Output size of a transposed convolution along one axis (ONNX ConvTranspose, PyTorch). */
export function transposedOutSize(
  size: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  outputPadding: number,
): number {
  return (size - 1) * stride - padBegin - padEnd + dilation * (kernel - 1) + outputPadding + 1;
}

/**
 * Transposed convolution: every input element scatters into the output,
 * `y[n, g*outPG + oc, iy*sh - top + ky*dh, ix*sw - left + kx*dw] +=
 * x[n, g*inPG + ic, iy, ix] * w[g*inPG + ic, oc, ky, kx]`, positions outside
 * the output dropped (the padding crops), plus `bias[oc]`.
 */
export const convTranspose2d: OpDef<"conv_transpose2d"> = {
  summary: "transposed 2-D convolution, weight [Cin, Cout/g, kh, kw]",
  arity: 1,
  access: "general",
  check(node, a) {
    positive(node, "inChannels", a.inChannels);
    positive(node, "outChannels", a.outChannels);
    a.kernel.forEach((v) => positive(node, "kernel size", v));
    a.stride.forEach((v) => positive(node, "stride", v));
    a.dilation.forEach((v) => positive(node, "dilation", v));
    a.padding.forEach((v) => nonNegative(node, "padding", v));
    a.outputPadding.forEach((v, i) => {
      nonNegative(node, "outputPadding", v);
      if (v >= a.stride[i] && v >= a.dilation[i]) {
        throw new RangeError(
          `Invalid "${node}": outputPadding ${v} must be smaller than the stride ${
            a.stride[i]
          } or the dilation ${a.dilation[i]}`,
        );
      }
    });
    positive(node, "groups", a.groups);
    if (a.inChannels % a.groups !== 0 || a.outChannels % a.groups !== 0) {
      throw new RangeError(
        `Invalid "${node}": groups ${a.groups} must divide inChannels ${a.inChannels} and outChannels ${a.outChannels}`,
      );
    }
  },
  shape(node, a, [x]) {
    need4d(node, x);
    if (x[1] !== a.inChannels) {
      throw new ShapeError(node, `input has ${x[1]} channels, expected ${a.inChannels}`);
    }
    const size = (i: 0 | 1) =>
      transposedOutSize(
        x[2 + i],
        a.kernel[i],
        a.stride[i],
        a.padding[i],
        a.padding[2 + i],
        a.dilation[i],
        a.outputPadding[i],
      );
    const [oh, ow] = [size(0), size(1)];
    if (oh < 1 || ow < 1) {
      throw new ShapeError(
        node,
        `padding [${a.padding.join(", ")}] crops the ${x[2]}x${
          x[3]
        } input's output to ${oh}x${ow}, expected at least 1x1`,
      );
    }
    return [x[0], a.outChannels, oh, ow];
  },
  params(a) {
    return [
      {
        name: "weight",
        shape: [a.inChannels, a.outChannels / a.groups, a.kernel[0], a.kernel[1]],
        role: "weight",
      },
      ...(a.bias ? [{ name: "bias" as const, shape: [a.outChannels], role: "bias" as const }] : []),
    ];
  },
  // Each input element meets Cout/groups x kh x kw weights.
  cost: ({ attrs: a, inputShapes: [x], shape }) => ({
    madds: numel(x) * (a.outChannels / a.groups) * a.kernel[0] * a.kernel[1],
    flops: { bias: a.bias ? numel(shape) : 0 },
  }),
  // Each input element meets Cout/groups x kh x kw weights: MAdds are the input's
  // elements times that, a polynomial in H and W like the input's size.
  symbolic({ node, ins: [x], width, transposed }) {
    const a = node.attrs;
    if (width) {
      throw new SymbolicError(
        `Cannot express "${node.name}" in width mode: the width rule covers convs, not transposed convs`,
      );
    }
    const k = a.kernel[0] * a.kernel[1];
    const perIn = (a.outChannels / a.groups) * k;
    const weights = constant(a.inChannels * perIn);
    const out = {
      n: x.n,
      c: constant(a.outChannels),
      ...transposed(a.kernel, a.stride, a.padding, a.dilation, a.outputPadding),
    };
    return {
      out,
      params: a.bias ? add(weights, constant(a.outChannels)) : weights,
      madds: scale(elements(x), perIn),
    };
  },
  reference({ node, inputs: [x], inputShapes: [xs], shape, weights }) {
    const a = node.attrs;
    const [batch, inC, inH, inW] = xs;
    const [, outC, outH, outW] = shape;
    const [kh, kw] = a.kernel;
    const [sh, sw] = a.stride;
    const [dh, dw] = a.dilation;
    const [top, left] = a.padding;
    const inPG = inC / a.groups;
    const outPG = outC / a.groups;
    const w = param(weights, node, "weight");
    const bias = a.bias ? param(weights, node, "bias") : undefined;
    const acc = new Float64Array(numel(shape));
    for (let n = 0; n < batch; n++) {
      for (let ci = 0; ci < inC; ci++) {
        const g = Math.floor(ci / inPG);
        for (let oc = 0; oc < outPG; oc++) {
          const co = g * outPG + oc;
          const yPlane = (n * outC + co) * outH * outW;
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const wv = w[((ci * outPG + oc) * kh + ky) * kw + kx];
              for (let iy = 0; iy < inH; iy++) {
                const oy = iy * sh - top + ky * dh;
                if (oy < 0 || oy >= outH) continue;
                for (let ix = 0; ix < inW; ix++) {
                  const ox = ix * sw - left + kx * dw;
                  if (ox < 0 || ox >= outW) continue;
                  acc[yPlane + oy * outW + ox] += x[((n * inC + ci) * inH + iy) * inW + ix] * wv;
                }
              }
            }
          }
        }
      }
      if (bias) {
        for (let co = 0; co < outC; co++) {
          const base = (n * outC + co) * outH * outW;
          for (let i = 0; i < outH * outW; i++) acc[base + i] += bias[co];
        }
      }
    }
    return Float32Array.from(acc);
  },
  widthFields: (a) => [a.inChannels, a.outChannels, a.groups],
};

/** The shape of numpy matmul, with its batch axes, M, K and N. */
function matmulShape(
  node: string,
  a: Shape,
  b: Shape,
): { shape: Shape; batch: Shape; m: number; k: number; n: number } {
  if (a.length < 1 || b.length < 1 || a.length > 5 || b.length > 5) {
    throw new ShapeError(
      node,
      `matmul of ${formatShape(a)} and ${formatShape(b)}, expected tensors of rank 1 to 5`,
    );
  }
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const [m, k] = a2.slice(-2), [k2, n] = b2.slice(-2);
  if (k !== k2) {
    throw new ShapeError(
      node,
      `matmul of ${formatShape(a)} and ${
        formatShape(b)
      }: the first has ${k} columns, the second ${k2} rows, expected equal`,
    );
  }
  const batch = broadcastShape(node, "matmul batch axes", a2.slice(0, -2), b2.slice(0, -2));
  const shape = [...batch, ...(a.length === 1 ? [] : [m]), ...(b.length === 1 ? [] : [n])];
  return { shape, batch, m, k, n };
}

/**
 * numpy matmul of two computed tensors: `y[..., i, j] = sum_k a[..., i, k] *
 * b[..., k, j]`, batch axes broadcast, a 1-D operand read as a row (first) or
 * a column (second) and its axis dropped. MAdds = batch x M x K x N.
 */
export const matmul: OpDef<"matmul"> = {
  summary: "numpy matmul of two computed tensors",
  arity: 2,
  access: "general",
  check() {},
  shape(node, _a, [a, b]) {
    const { shape } = matmulShape(node, a, b);
    if (shape.length === 0) {
      throw new ShapeError(node, `matmul of two vectors gives a 0-D tensor, expected rank >= 1`);
    }
    return shape;
  },
  params: () => [],
  cost({ inputShapes: [a, b] }) {
    const { batch, m, k, n } = matmulShape("", a, b);
    return { madds: numel(batch) * m * k * n, flops: {} };
  },
  // [N, K] x [K, M] (symbolic tensors are [N, C, H, W] maps or [N, F]
  // features): MAdds N x K x M, whatever K and M are polynomials of.
  symbolic({ node, ins: [a, b] }) {
    if (a.h !== undefined || b.h !== undefined) {
      throw new SymbolicError(
        `Cannot express "${node.name}": matmul of a feature map (only [N, K] x [K, M] is expressible)`,
      );
    }
    if (!samePoly(a.c, constant(b.n))) {
      throw new SymbolicError(
        `Cannot express "${node.name}": matmul of [${a.n}, ${formatPoly(a.c)}] and [${b.n}, ${
          formatPoly(b.c)
        }], expected K = ${b.n} columns in the first`,
      );
    }
    return { out: { n: a.n, c: b.c }, params: constant(0), madds: scale(b.c, a.n * b.n) };
  },
  reference({ inputs: [a, b], inputShapes: [as, bs] }) {
    const { batch, m, k, n } = matmulShape("", as, bs);
    const a2 = as.length === 1 ? [1, as[0]] : as;
    const b2 = bs.length === 1 ? [bs[0], 1] : bs;
    // Offsets of each operand's matrix for every batch index (0 strides on broadcast axes).
    const aStr = broadcastStrides(a2.slice(0, -2), batch).map((s) => s * m * k);
    const bStr = broadcastStrides(b2.slice(0, -2), batch).map((s) => s * k * n);
    const y = new Float32Array(numel(batch) * m * n);
    forEachIndex(batch, [aStr, bStr], (t, [ao, bo]) => {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let q = 0; q < k; q++) acc += a[ao + i * k + q] * b[bo + q * n + j];
          y[(t * m + i) * n + j] = acc;
        }
      }
    });
    return y;
  },
};
