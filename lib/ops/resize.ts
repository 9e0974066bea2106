/**
 * Resize (ONNX Resize, `Upsample`): nearest or linear, with the coordinate
 * transformations exporters write. The scale of an axis is output size /
 * input size; an axis whose size does not change is copied as is.
 *
 * @module
 */

import type { CoordinateTransformation, NearestMode, ResizeAttrs, Shape } from "./core.ts";
import { formatShape, numel, ShapeError } from "./core.ts";
import type { OpDef } from "./def.ts";
import { constant, SymbolicError, type SymTensor } from "./poly.ts";
import { positive } from "./_util.ts";
import { checkRank, strides } from "./_tensor.ts";

/**
 * The input coordinate of output index `o` along an axis resized from `inSize`
 * to `outSize` (ONNX Resize's coordinate_transformation_mode), computed in
 * float32 step by step as onnxruntime does: a coordinate that lands on a
 * rounding boundary in exact arithmetic (1.5 / 0.6 = 2.5) then rounds the
 * same way as in the runtime people deploy with.
 */
export function sourceCoordinate(
  o: number,
  inSize: number,
  outSize: number,
  mode: CoordinateTransformation,
  fileScale?: number,
): number {
  const f = Math.fround;
  const scale = f(fileScale ?? outSize / inSize);
  const centre = f(f(o + 0.5) / scale);
  switch (mode) {
    case "half_pixel":
      return f(centre - 0.5);
    case "pytorch_half_pixel":
      return outSize > 1 ? f(centre - 0.5) : 0;
    case "align_corners":
      return outSize === 1 ? 0 : f(f(o * (inSize - 1)) / (outSize - 1));
    case "asymmetric":
      return f(o / scale);
    case "tf_half_pixel_for_nn":
      return centre;
  }
}

/**
 * The nearest input index of coordinate `x` (ONNX nearest_mode), clamped to
 * the axis. A coordinate within float32 error of a half counts as a half
 * (2 / (2/7) computes as 3.4999998, 6.5 / (13/11) as 5.5000005), which
 * `round_prefer_floor` rounds down and `round_prefer_ceil` up, as
 * onnxruntime's results do.
 */
export function nearestIndex(x: number, size: number, mode: NearestMode): number {
  let i: number;
  const half = Math.floor(x) + 0.5;
  const tie = Math.abs(x - half) <= 4e-7 * Math.max(1, Math.abs(x));
  if (mode === "floor") i = Math.floor(x);
  else if (mode === "ceil") i = Math.ceil(x);
  else if (tie) i = mode === "round_prefer_ceil" ? Math.ceil(half) : Math.floor(half);
  else i = Math.round(x);
  return Math.min(Math.max(i, 0), size - 1);
}

/** One axis of a resize: for each output index, the input indices it reads and their weights. */
interface AxisTaps {
  index: number[][];
  weight: number[][];
}

/** Whether an axis is copied as is: same size, and no file scale other than 1. */
export function unchangedAxis(
  a: ResizeAttrs,
  axis: number,
  inSize: number,
  outSize: number,
): boolean {
  return inSize === outSize && (a.scales?.[axis] ?? 1) === 1;
}

/** `floor(size * scale)` in float32, as onnxruntime sizes the output from `scales`. */
export function scaledSize(size: number, scale: number): number {
  return Math.floor(Math.fround(Math.fround(scale) * size));
}

function axisTaps(a: ResizeAttrs, axis: number, inSize: number, outSize: number): AxisTaps {
  const index: number[][] = [], weight: number[][] = [];
  for (let o = 0; o < outSize; o++) {
    if (unchangedAxis(a, axis, inSize, outSize)) {
      index.push([o]);
      weight.push([1]);
      continue;
    }
    const x = sourceCoordinate(o, inSize, outSize, a.coordinateTransformation, a.scales?.[axis]);
    if (a.mode === "nearest") {
      index.push([nearestIndex(x, inSize, a.nearestMode)]);
      weight.push([1]);
      continue;
    }
    // Linear: the coordinate clamped to the axis, between its floor and the next index.
    const c = Math.min(Math.max(x, 0), inSize - 1);
    const lo = Math.floor(c), hi = Math.min(lo + 1, inSize - 1), t = c - lo;
    index.push([lo, hi]);
    weight.push([1 - t, t]);
  }
  return { index, weight };
}

/** Axes that are resampled (not copied as is). */
const resizedAxes = (a: ResizeAttrs, x: Shape, out: Shape) =>
  x.flatMap((d, i) => (unchangedAxis(a, i, d, out[i]) ? [] : [i]));

/**
 * Resize to `outShape`: nearest copies, linear interpolates separably on
 * every resized axis. FLOPs (`elementwise`): nearest 0; linear 3 per 1-D
 * interpolation (subtract, multiply, add), 2^k - 1 of them per output element
 * for k resized axes (bilinear: 9).
 */
export const resize: OpDef<"resize"> = {
  summary: "nearest or linear resize to outShape",
  arity: 1,
  access: "general",
  check(node, a) {
    if (a.mode !== "nearest" && a.mode !== "linear") {
      throw new RangeError(`Invalid "${node}": resize mode "${a.mode}" is not nearest or linear`);
    }
    const transforms = [
      "half_pixel",
      "asymmetric",
      "align_corners",
      "pytorch_half_pixel",
      "tf_half_pixel_for_nn",
    ];
    if (!transforms.includes(a.coordinateTransformation)) {
      throw new RangeError(
        `Invalid "${node}": coordinate transformation "${a.coordinateTransformation}" is not one of ${
          transforms.join(", ")
        }`,
      );
    }
    const modes = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];
    if (!modes.includes(a.nearestMode)) {
      throw new RangeError(
        `Invalid "${node}": nearest mode "${a.nearestMode}" is not one of ${modes.join(", ")}`,
      );
    }
    a.outShape.forEach((d) => positive(node, "resize output size", d));
    if (a.scales?.some((v) => !(v > 0) || !Number.isFinite(v))) {
      throw new RangeError(
        `Invalid "${node}": resize scales [${a.scales.join(", ")}] must be positive and finite`,
      );
    }
  },
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    if (a.outShape.length !== x.length) {
      throw new ShapeError(
        node,
        `outShape ${
          formatShape(a.outShape)
        } has ${a.outShape.length} axes, expected ${x.length} as the input ${formatShape(x)}`,
      );
    }
    if (a.scales) {
      const want = x.map((d, i) => scaledSize(d, a.scales![i] ?? NaN));
      if (a.scales.length !== x.length || want.some((d, i) => d !== a.outShape[i])) {
        throw new ShapeError(
          node,
          `outShape ${formatShape(a.outShape)} is not floor(input x scales) = ${
            formatShape(want)
          } for input ${formatShape(x)} and scales [${a.scales.join(", ")}]`,
        );
      }
    }
    return [...a.outShape];
  },
  params: () => [],
  cost({ attrs: a, inputShapes: [x], shape }) {
    const k = resizedAxes(a, x, shape).length;
    return {
      madds: 0,
      flops: { elementwise: a.mode === "linear" ? 3 * (2 ** k - 1) * numel(shape) : 0 },
    };
  },
  symbolic({ node }) {
    const s = node.attrs.outShape;
    let out: SymTensor;
    if (s.length === 4) {
      out = { n: s[0], c: constant(s[1]), h: { value: s[2] }, w: { value: s[3] } };
    } else if (s.length === 2) out = { n: s[0], c: constant(s[1]) };
    else throw new SymbolicError(`Cannot express "${node.name}": a rank-${s.length} resize`);
    return { out, params: constant(0), madds: constant(0) };
  },
  reference({ node, inputs: [x], inputShapes: [xs], shape }) {
    const a = node.attrs;
    const taps = xs.map((d, i) => axisTaps(a, i, d, shape[i]));
    const xStrides = strides(xs);
    const r = xs.length;
    const y = new Float32Array(numel(shape));
    const idx = new Array<number>(r).fill(0);
    for (let o = 0; o < y.length; o++) {
      // Sum over every combination of taps (1 per nearest or unchanged axis, 2 per linear axis).
      let acc = 0;
      const visit = (d: number, offset: number, w: number): void => {
        if (d === r) {
          acc += w * x[offset];
          return;
        }
        const t = taps[d];
        const list = t.index[idx[d]];
        for (let j = 0; j < list.length; j++) {
          visit(d + 1, offset + list[j] * xStrides[d], w * t.weight[idx[d]][j]);
        }
      };
      visit(0, 0, 1);
      y[o] = acc;
      for (let d = r - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
    return y;
  },
};
