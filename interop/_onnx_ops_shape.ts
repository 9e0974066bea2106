/**
 * ONNX converters of layout ops: Concat, Split, Slice, Reshape, Squeeze,
 * Unsqueeze, Flatten, Transpose, Pad and Gather, on any axis.
 *
 * @module
 */

import type { OpAttrs } from "../lib/ir/ops.ts";
import type { ConstTensor } from "./onnx_proto.ts";
import { axesOf, foldConstant, reshapeTarget, sliceRange } from "./_onnx_fold.ts";
import { isConst } from "./_onnx_draft.ts";
import {
  constant,
  constNode,
  type ConvertContext,
  type Converter,
  dyn,
  irShape,
  normAxis,
  type OnnxNode,
  optConst,
} from "./_onnx_convert_base.ts";

/**
 * Concat on any axis. A computed tensor between two uniform blocks the file
 * does not store as data (ConstantOfShape's fill, TF's channel zero padding)
 * is a constant `pad` along that axis: exact, and it counts no parameters.
 * Any other constant operand becomes a `const` node.
 */
export const concat: Converter = (ctx, n) => {
  if (concatAsPad(ctx, n)) return;
  const xs = n.inputs.map((v, i) =>
    isConst(v) ? { ref: constNode(ctx, n, i), shape: [...v.const.dims] } : dyn(n, i, "input")
  );
  const axis = normAxis(n.attrs.int("axis", 0), xs[0].shape.length);
  const shape = irShape(n, "concat", { axis }, xs.map((x) => x.shape));
  ctx.emit(n, n.outputs[0], "concat", { axis }, xs.map((x) => x.ref), shape);
};

/** The fill value of a uniform constant that no initializer holds, else undefined. */
function fillValue(v: OnnxNode["inputs"][number]): number | undefined {
  if (!isConst(v) || v.initializer !== undefined || v.const.data.length === 0) return undefined;
  const first = v.const.data[0];
  return v.const.data.every((x) => x === first) ? first : undefined;
}

function concatAsPad(ctx: ConvertContext, n: OnnxNode): boolean {
  const inner = n.inputs.findIndex((v) => !isConst(v));
  if (inner < 0 || n.inputs.some((v, i) => i !== inner && fillValue(v) === undefined)) return false;
  const values = new Set(n.inputs.filter((_, i) => i !== inner).map(fillValue));
  if (values.size !== 1) return false;
  const x = dyn(n, inner, "input");
  const r = x.shape.length;
  const axis = normAxis(n.attrs.int("axis", 0), r);
  const size = (v: OnnxNode["inputs"][number]) => isConst(v) ? v.const.dims[axis] : 0;
  const pads = new Array<number>(2 * r).fill(0);
  pads[axis] = n.inputs.slice(0, inner).reduce((a, v) => a + size(v), 0);
  pads[axis + r] = n.inputs.slice(inner + 1).reduce((a, v) => a + size(v), 0);
  // Every block must match the tensor on the other axes, as Concat requires.
  const blocks = n.inputs.filter((_, i) => i !== inner);
  if (
    blocks.some((v) => !isConst(v) || v.const.dims.some((d, i) => i !== axis && d !== x.shape[i]))
  ) {
    return false;
  }
  const shape = x.shape.map((d, i) => d + pads[i] + pads[i + r]);
  ctx.emit(
    n,
    n.outputs[0],
    "pad",
    { pads, mode: "constant", value: [...values][0]! },
    [x.ref],
    shape,
  );
  return true;
}

/** Split into parts of `sizes` (even parts when undefined): one `split` node per output. */
export function splitInto(ctx: ConvertContext, n: OnnxNode, sizes: number[] | undefined): void {
  const x = dyn(n, 0);
  const axis = normAxis(n.attrs.int("axis", 0), x.shape.length);
  const dim = x.shape[axis];
  if (!sizes) {
    const parts = n.outputs.length;
    const each = Math.ceil(dim / parts);
    sizes = Array.from({ length: parts }, (_, i) => Math.min(each, dim - i * each));
  }
  let offset = 0;
  sizes.forEach((size, i) => {
    const ref = n.outputs[i];
    if (ref) {
      const a: OpAttrs["split"] = { axis, offset, size };
      const d = ctx.emit(n, ref, "split", a, [x.ref], irShape(n, "split", a, [x.shape]));
      if (i > 0) d.onnxName = n.name ? `${n.name}_${i}` : "";
    }
    offset += size;
  });
}

/** Split before opset 13: sizes are an attribute. */
export const splitV1: Converter = (ctx, n) => splitInto(ctx, n, n.attrs.ints("split"));

/** Split since opset 13: sizes are an optional input. */
export const splitV13: Converter = (ctx, n) => {
  const s = optConst(n, 1, "split");
  splitInto(ctx, n, s ? Array.from(s.data) : undefined);
};

/**
 * Slice: one node per sliced axis. A contiguous range is a `split` (one part,
 * as ShuffleNet's channel halves are written); a strided or reversed range a
 * `slice`.
 */
export function sliceWith(
  ctx: ConvertContext,
  n: OnnxNode,
  starts: number[],
  ends: number[],
  axes: number[],
  steps: number[],
): void {
  let x = dyn(n, 0);
  const parts: { kind: "split" | "slice"; attrs: OpAttrs["split"] | OpAttrs["slice"] }[] = [];
  let shape = [...x.shape];
  for (let j = 0; j < axes.length; j++) {
    const axis = normAxis(axes[j], shape.length);
    const idx = sliceRange(starts[j], ends[j], steps[j], shape[axis]);
    if (idx.length === shape[axis] && idx.every((v, i) => v === i)) continue;
    if (idx.length === 0) throw new RangeError(`slices nothing of axis ${axis}`);
    const contiguous = idx.every((v, i) => v === idx[0] + i);
    if (contiguous) {
      parts.push({ kind: "split", attrs: { axis, offset: idx[0], size: idx.length } });
    } else {
      const step = idx.length > 1 ? idx[1] - idx[0] : steps[j];
      // Exclusive end just past the last index: same count, always in range.
      const end = idx[idx.length - 1] + Math.sign(step);
      parts.push({ kind: "slice", attrs: { axis, start: idx[0], end, step } });
    }
    shape = shape.map((d, i) => (i === axis ? idx.length : d));
  }
  if (parts.length === 0) return ctx.alias(n.outputs[0], x);
  parts.forEach((p, k) => {
    const last = k === parts.length - 1;
    const ref = last ? n.outputs[0] : `${n.outputs[0]}#${k}`;
    const out = irShape(n, p.kind, p.attrs as never, [x.shape]);
    ctx.emit(n, ref, p.kind, p.attrs as never, [x.ref], out);
    x = { ref, shape: out };
  });
}

/** Slice before opset 10: starts, ends, axes are attributes. */
export const sliceV1: Converter = (ctx, n) => {
  const starts = n.attrs.ints("starts") ?? [];
  const ends = n.attrs.ints("ends") ?? [];
  const axes = n.attrs.ints("axes") ?? starts.map((_, i) => i);
  sliceWith(ctx, n, starts, ends, axes, starts.map(() => 1));
};

/** Slice since opset 10: starts, ends, axes, steps are inputs. */
export const sliceV10: Converter = (ctx, n) => {
  const starts = Array.from(constant(n, 1, "starts").data);
  const ends = Array.from(constant(n, 2, "ends").data);
  const axes = n.inputs[3] ? Array.from(constant(n, 3, "axes").data) : starts.map((_, i) => i);
  const steps = n.inputs[4] ? Array.from(constant(n, 4, "steps").data) : starts.map(() => 1);
  sliceWith(ctx, n, starts, ends, axes, steps);
};

/** Reshape to a constant target (0 and -1 resolved). */
export const reshape: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const target = Array.from(constant(n, 1, "shape").data);
  const shape = reshapeTarget(x.shape, target, n.attrs.int("allowzero", 0) === 1, "Reshape");
  ctx.emit(n, n.outputs[0], "reshape", { shape }, [x.ref], shape);
};

/** Squeeze/Unsqueeze as a reshape (axes from the attribute before opset 13, else the input). */
export function squeezeLike(op: "Squeeze" | "Unsqueeze"): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    const axes = axesOf(n.attrs.raw, optConst(n, 1, "axes"));
    const fake: ConstTensor = {
      dims: x.shape,
      type: "float",
      data: new Float32Array(x.shape.reduce((a, b) => a * b, 1)),
    };
    const axesT = axes
      ? { dims: [axes.length], type: "int" as const, data: Float64Array.from(axes) }
      : undefined;
    const noAxes = new Map(n.attrs.raw);
    noAxes.delete("axes");
    const shape = foldConstant(op, noAxes, [fake, axesT])[0].dims;
    ctx.emit(n, n.outputs[0], "reshape", { shape }, [x.ref], shape);
  };
}

/** Flatten at any axis. */
export const flatten: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const axis = normAxis(n.attrs.int("axis", 1), x.shape.length);
  const a = { axis };
  ctx.emit(n, n.outputs[0], "flatten", a, [x.ref], irShape(n, "flatten", a, [x.shape]));
};

/** Transpose by `perm` (reversed axes when omitted). */
export const transpose: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const perm = n.attrs.ints("perm") ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  ctx.emit(n, n.outputs[0], "transpose", { perm }, [x.ref], perm.map((p) => x.shape[p]));
};

/** Pad in constant, reflect or edge mode (ONNX order: begins, then ends). */
export function padWith(
  ctx: ConvertContext,
  n: OnnxNode,
  mode: string,
  pads: number[],
  value: number,
): void {
  const x = dyn(n, 0);
  if (mode !== "constant" && mode !== "reflect" && mode !== "edge") {
    throw new RangeError(`mode "${mode}" is not one of constant, reflect, edge`);
  }
  const r = x.shape.length;
  if (pads.length !== 2 * r) {
    throw new RangeError(`pads [${pads.join(", ")}] has ${pads.length} values, expected ${2 * r}`);
  }
  const shape = x.shape.map((d, i) => d + pads[i] + pads[i + r]);
  ctx.emit(n, n.outputs[0], "pad", { pads, mode, value }, [x.ref], shape);
}

/** Pad before opset 11: pads and value are attributes. */
export const padV1: Converter = (ctx, n) =>
  padWith(
    ctx,
    n,
    n.attrs.string("mode", "constant"),
    n.attrs.ints("pads") ?? n.attrs.ints("paddings") ?? [],
    n.attrs.float("value", 0),
  );

/** Pad since opset 11: pads and the constant value are inputs. */
export const padV11: Converter = (ctx, n) => {
  const value = optConst(n, 2, "constant_value");
  let pads = Array.from(constant(n, 1, "pads").data);
  const axes = optConst(n, 3, "axes");
  if (axes) {
    // Opset 18: pads list only the given axes; the others get none.
    const r = dyn(n, 0).shape.length;
    const full = new Array(2 * r).fill(0);
    Array.from(axes.data).forEach((a, j) => {
      const axis = a < 0 ? a + r : a;
      full[axis] = pads[j];
      full[axis + r] = pads[j + axes.data.length];
    });
    pads = full;
  }
  padWith(ctx, n, n.attrs.string("mode", "constant"), pads, value ? value.data[0] : 0);
};

/** Gather with constant indices from a computed tensor. */
export const gather: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const idx = constant(n, 1, "indices");
  if (idx.dims.length > 1) {
    ctx.issue(
      `${n.label} gathers with ${idx.dims.length}-D indices; lightnets supports 0-D or 1-D`,
    );
    return;
  }
  const axis = normAxis(n.attrs.int("axis", 0), x.shape.length);
  const dim = x.shape[axis];
  const indices = Array.from(idx.data, (v) => (v < 0 ? v + dim : v));
  const scalarIndex = idx.dims.length === 0;
  const shape = scalarIndex
    ? x.shape.filter((_, i) => i !== axis)
    : x.shape.map((d, i) => (i === axis ? indices.length : d));
  ctx.emit(n, n.outputs[0], "gather", { axis, indices, scalarIndex }, [x.ref], shape);
};
