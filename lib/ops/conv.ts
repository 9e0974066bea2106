/**
 * Convolution and the fully connected layer.
 *
 * @module
 */

import type { Conv2dAttrs, LinearAttrs } from "./core.ts";
import { numel, ShapeError } from "./core.ts";
import type { OpDef } from "./def.ts";
import { add, constant, elements, formatPoly, mul, scale, SymbolicError } from "./poly.ts";
import { need4d, nonNegative, param, positive, windowShape } from "./_util.ts";

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
