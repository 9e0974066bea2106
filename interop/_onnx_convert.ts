/**
 * ONNX op type -> converter: one small function per op (TVM's
 * `_get_convert_map` is the model), with one implementation per opset where
 * the op's semantics changed (`[since, impl]` pairs). A converter reads its
 * typed attributes and inputs and emits draft nodes; what the IR cannot
 * express is reported through `ctx.issue` so one error lists every problem.
 *
 * @module
 */

import { inferNodeShape, type OpAttrs, type OpKind } from "../lib/ir/ops.ts";
import { type ConstTensor, dtypeName } from "./onnx_proto.ts";
import {
  axesOf,
  broadcastShape,
  broadcastTo,
  foldConstant,
  reshapeTarget,
  sliceRange,
} from "./_onnx_fold.ts";
import {
  type Computed,
  type Draft,
  type DraftAttrs,
  type DraftKind,
  isConst,
  OnnxAttrs,
  type Value,
} from "./_onnx_draft.ts";

const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** One ONNX node as a converter sees it. */
export interface OnnxNode {
  name: string;
  opType: string;
  /** `node "<name>" (<opType>)`, for messages. */
  label: string;
  inputs: (Value | undefined)[];
  /** The ONNX tensor names of `inputs` ("" for an omitted optional input). */
  inputNames: string[];
  outputs: string[];
  attrs: OnnxAttrs;
  opset: number;
}

/** What a converter may do. */
export interface ConvertContext {
  emit<K extends DraftKind>(
    node: OnnxNode,
    ref: string,
    kind: K,
    attrs: DraftAttrs[K],
    inputs: string[],
    shape: number[],
    params?: Map<string, Float32Array>,
    pathHint?: string,
  ): Draft<K>;
  /** `out` is another name for a computed tensor. */
  alias(out: string, v: Computed): void;
  /** Reports a construct the IR cannot express (collected, thrown together). */
  issue(message: string): void;
  /** Whether any node or graph output reads the tensor. */
  isRead(name: string): boolean;
  /** The shape of a tensor a converter emitted (undefined when it reported an issue). */
  producedShape(ref: string): number[] | undefined;
  /** The const node already made for the stored tensor `name`, if any. */
  constRef(name: string): string | undefined;
  setConstRef(name: string, ref: string): void;
}

/** Converts one node. */
export type Converter = (ctx: ConvertContext, n: OnnxNode) => void;
/** A converter, or one per opset where the semantics changed: `[since, impl]` pairs, ascending. */
export type VersionedConverter = Converter | readonly (readonly [number, Converter])[];

/** The shortest float64 that rounds to the same float32 (1e-5, 1/6, 0.2 come back exactly). */
export function niceFloat(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.fround(v);
  for (let q = 1; q <= 12; q++) {
    const p = Math.round(v * q);
    if (Math.fround(p / q) === f) return p / q;
  }
  for (let k = 1; k <= 9; k++) {
    const d = parseFloat(v.toPrecision(k));
    if (Math.fround(d) === f) return d;
  }
  return v;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Float32 copy of constant data. */
export function f32(values: ArrayLike<number>): Float32Array<ArrayBuffer> {
  return Float32Array.from(values as ArrayLike<number>);
}

/** Input `i` as a computed tensor, or a RangeError. */
export function dyn(n: OnnxNode, i: number, what = "input"): Computed {
  const v = n.inputs[i];
  if (!v || isConst(v)) {
    throw new RangeError(`expected ${what} ${i} to be a computed tensor, found a constant`);
  }
  return v;
}

/** Input `i` as a constant, or a RangeError. */
export function constant(n: OnnxNode, i: number, what: string): ConstTensor {
  const v = n.inputs[i];
  if (!isConst(v)) {
    throw new RangeError(
      `expected ${what} (input ${i}) to be a constant (initializer or Constant node)`,
    );
  }
  return v.const;
}

/** Optional constant input `i` (undefined when omitted). */
export function optConst(n: OnnxNode, i: number, what: string): ConstTensor | undefined {
  return n.inputs[i] === undefined ? undefined : constant(n, i, what);
}

/** Module path from a parameter initializer named `<path>.weight`. */
function hint(n: OnnxNode, i: number): string | undefined {
  const v = n.inputs[i];
  const name = isConst(v) ? v.initializer : undefined;
  return name && name.endsWith(".weight") && !name.startsWith("onnx::")
    ? name.slice(0, -7)
    : undefined;
}

/** The IR shape rule applied at import time (errors name the node). */
export function irShape<K extends OpKind>(
  n: OnnxNode,
  kind: K,
  attrs: OpAttrs[K],
  inputs: number[][],
): number[] {
  return [...inferNodeShape(n.name || n.outputs[0], kind, attrs, inputs)];
}

function unusedOutputs(ctx: ConvertContext, n: OnnxNode, from: number, what: string): void {
  if (n.outputs.slice(from).some((o) => o && ctx.isRead(o))) {
    ctx.issue(`${n.label} uses its ${what} output, which lightnets does not compute`);
  }
}

/** Conv/pool padding from `pads` or `auto_pad` (SAME_UPPER puts the odd pixel at the end). */
function convPads(
  attrs: OnnxAttrs,
  x: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[],
): [number, number, number, number] {
  const auto = attrs.string("auto_pad", "NOTSET");
  if (auto === "SAME_UPPER" || auto === "SAME_LOWER") {
    const total = [0, 1].map((i) => {
      const out = Math.ceil(x[2 + i] / stride[i]);
      return Math.max((out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - x[2 + i], 0);
    });
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]);
    return auto === "SAME_UPPER"
      ? [small[0], small[1], big[0], big[1]]
      : [big[0], big[1], small[0], small[1]];
  }
  if (auto === "VALID") return [0, 0, 0, 0];
  const p = attrs.ints("pads") ?? [0, 0, 0, 0];
  return [p[0], p[1], p[2], p[3]];
}

/** Per-channel (axis 1) or scalar view of a constant broadcast against `shape`, or undefined. */
function channelVector(c: ConstTensor, shape: readonly number[]): number[] | undefined {
  if (c.dims.length > shape.length) return undefined;
  const dims = [...new Array(shape.length - c.dims.length).fill(1), ...c.dims];
  if (dims.every((d) => d === 1)) return [c.data[0]];
  const varying = dims.flatMap((d, i) => (d !== 1 ? [i] : []));
  if (varying.length === 1 && varying[0] === 1 && dims[1] === shape[1]) return Array.from(c.data);
  return undefined;
}

const conv: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const w = constant(n, 1, "weight");
  const b = optConst(n, 2, "bias");
  if (x.shape.length !== 4 || w.dims.length !== 4) {
    throw new RangeError(
      `only 2-D convolution on [N, C, H, W] is supported (weight has shape [${w.dims.join(", ")}])`,
    );
  }
  const kernel: [number, number] = [w.dims[2], w.dims[3]];
  const stride = (n.attrs.ints("strides") ?? [1, 1]) as [number, number];
  const dilation = (n.attrs.ints("dilations") ?? [1, 1]) as [number, number];
  const groups = n.attrs.int("group", 1);
  if (w.dims[1] * groups !== x.shape[1]) {
    throw new RangeError(
      `weight [${w.dims.join(", ")}] with group ${groups} expects ${
        w.dims[1] * groups
      } input channels, input has ${x.shape[1]}`,
    );
  }
  const a: OpAttrs["conv2d"] = {
    inChannels: x.shape[1],
    outChannels: w.dims[0],
    kernel,
    stride,
    padding: convPads(n.attrs, x.shape, kernel, stride, dilation),
    dilation,
    groups,
    bias: b !== undefined,
  };
  const params = new Map([["weight", f32(w.data)]]);
  if (b) params.set("bias", f32(b.data));
  const shape = irShape(n, "conv2d", a, [x.shape]);
  ctx.emit(n, n.outputs[0], "conv2d", a, [x.ref], shape, params, hint(n, 1));
};

const batchNorm: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  unusedOutputs(ctx, n, 1, "running statistics");
  const names = ["weight", "bias", "running_mean", "running_var"];
  const params = new Map(names.map((p, i) => [p, f32(constant(n, i + 1, p).data)]));
  const a: OpAttrs["batch_norm"] = {
    channels: x.shape[1],
    eps: niceFloat(n.attrs.float("epsilon", 1e-5)),
  };
  for (const [p, v] of params) {
    if (v.length !== a.channels) {
      throw new RangeError(`${p} has ${v.length} values, expected ${a.channels} channels`);
    }
  }
  const shape = irShape(n, "batch_norm", a, [x.shape]);
  ctx.emit(n, n.outputs[0], "batch_norm", a, [x.ref], shape, params, hint(n, 1));
};

const relu: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  ctx.emit(n, n.outputs[0], "clip", { min: 0, max: Infinity }, [x.ref], x.shape);
};

function clipWith(ctx: ConvertContext, n: OnnxNode, min: number, max: number): void {
  const x = dyn(n, 0);
  const a = { min: niceFloat(min), max: niceFloat(max) };
  ctx.emit(n, n.outputs[0], "clip", a, [x.ref], x.shape);
}

/** Clip before opset 11: bounds are attributes. */
const clipV1: Converter = (ctx, n) =>
  clipWith(ctx, n, n.attrs.float("min", -Infinity), n.attrs.float("max", Infinity));

/** Clip since opset 11: bounds are optional inputs. */
const clipV11: Converter = (ctx, n) => {
  const lo = optConst(n, 1, "min");
  const hi = optConst(n, 2, "max");
  clipWith(ctx, n, lo ? lo.data[0] : -Infinity, hi ? hi.data[0] : Infinity);
};

function unary(kind: "sigmoid" | "hardswish"): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    ctx.emit(n, n.outputs[0], kind, {}, [x.ref], x.shape);
  };
}

const hardSigmoid: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const a: OpAttrs["hardsigmoid"] = {
    alpha: niceFloat(n.attrs.float("alpha", 0.2)),
    beta: niceFloat(n.attrs.float("beta", 0.5)),
  };
  ctx.emit(n, n.outputs[0], "hardsigmoid", a, [x.ref], x.shape);
};

/**
 * Add/Sub/Mul/Div/Pow/Max/Min. A scalar or per-channel constant operand of
 * Add/Sub/Mul/Div (and Div by it) is a scale_shift, merged with its
 * neighbours and lowered to `affine`; a scalar bound of Max/Min is a clip;
 * Add of equal shapes is the residual `add`; anything else is a broadcasting
 * binary op whose stored operands become `const` nodes.
 */
function arithmetic(op: BinaryOp): Converter {
  return (ctx, n) => {
    const [a, b] = n.inputs;
    if (!a || !b || n.inputs.length !== 2) {
      throw new RangeError(`${op} with ${n.inputs.length} inputs; lightnets supports two`);
    }
    const out = n.outputs[0];
    if (!isConst(a) && !isConst(b)) {
      const same = a.shape.join() === b.shape.join();
      if (op === "Add" && same) return void ctx.emit(n, out, "add", {}, [a.ref, b.ref], a.shape);
      const isScale = (s: number[], x: number[]) =>
        s.length === 4 && x.length === 4 && s[0] === x[0] && s[1] === x[1] && s[2] === 1 &&
        s[3] === 1;
      if (op === "Mul" && !same && (isScale(b.shape, a.shape) || isScale(a.shape, b.shape))) {
        const [x, sc] = isScale(b.shape, a.shape) ? [a, b] : [b, a];
        return void ctx.emit(n, out, "mul", {}, [x.ref, sc.ref], x.shape);
      }
      return broadcastBinary(ctx, n, op);
    }
    if (isConst(a) && isConst(b)) throw new RangeError("unexpected constant operands");
    const constFirst = isConst(a);
    const x = (constFirst ? b : a) as Computed;
    const c = (constFirst ? a : b) as { const: ConstTensor };
    const v = channelVector(c.const, x.shape);
    if (v && broadcastShape(x.shape, c.const.dims, op).join() === x.shape.join()) {
      if (op === "Max" || op === "Min") {
        if (v.length === 1) {
          const [lo, hi] = op === "Max" ? [v[0], Infinity] : [-Infinity, v[0]];
          return clipWith(ctx, { ...n, inputs: [x] }, lo, hi);
        }
      } else if (op !== "Pow" && !(op === "Div" && constFirst)) {
        let ss: { scale: number[]; shift: number[] };
        if (op === "Add") ss = { scale: [1], shift: v };
        else if (op === "Mul") ss = { scale: v, shift: [0] };
        else if (op === "Sub") {
          ss = constFirst ? { scale: [-1], shift: v } : { scale: [1], shift: v.map((t) => -t) };
        } else ss = { scale: v.map((t) => 1 / t), shift: [0] };
        return void ctx.emit(n, out, "scale_shift", ss, [x.ref], x.shape);
      }
    }
    broadcastBinary(ctx, n, op);
  };
}

const concat: Converter = (ctx, n) => {
  const xs = n.inputs.map((v, i) =>
    isConst(v) ? { ref: constNode(ctx, n, i), shape: [...v.const.dims] } : dyn(n, i, "input")
  );
  const axis = normAxis(n.attrs.int("axis", 0), xs[0].shape.length);
  const shape = irShape(n, "concat", { axis }, xs.map((x) => x.shape));
  ctx.emit(n, n.outputs[0], "concat", { axis }, xs.map((x) => x.ref), shape);
};

/** Split into parts of `sizes` (even parts when undefined): one `split` node per output. */
function splitInto(ctx: ConvertContext, n: OnnxNode, sizes: number[] | undefined): void {
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
const splitV1: Converter = (ctx, n) => splitInto(ctx, n, n.attrs.ints("split"));
/** Split since opset 13: sizes are an optional input. */
const splitV13: Converter = (ctx, n) => {
  const s = optConst(n, 1, "split");
  splitInto(ctx, n, s ? Array.from(s.data) : undefined);
};

/**
 * Slice: one node per sliced axis. A contiguous range is a `split` (one part,
 * as ShuffleNet's channel halves are written); a strided or reversed range a
 * `slice`.
 */
function sliceWith(
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
const sliceV1: Converter = (ctx, n) => {
  const starts = n.attrs.ints("starts") ?? [];
  const ends = n.attrs.ints("ends") ?? [];
  const axes = n.attrs.ints("axes") ?? starts.map((_, i) => i);
  sliceWith(ctx, n, starts, ends, axes, starts.map(() => 1));
};

/** Slice since opset 10: starts, ends, axes, steps are inputs. */
const sliceV10: Converter = (ctx, n) => {
  const starts = Array.from(constant(n, 1, "starts").data);
  const ends = Array.from(constant(n, 2, "ends").data);
  const axes = n.inputs[3] ? Array.from(constant(n, 3, "axes").data) : starts.map((_, i) => i);
  const steps = n.inputs[4] ? Array.from(constant(n, 4, "steps").data) : starts.map(() => 1);
  sliceWith(ctx, n, starts, ends, axes, steps);
};

const reshape: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const target = Array.from(constant(n, 1, "shape").data);
  const shape = reshapeTarget(x.shape, target, n.attrs.int("allowzero", 0) === 1, "Reshape");
  ctx.emit(n, n.outputs[0], "reshape", { shape }, [x.ref], shape);
};

/** Squeeze/Unsqueeze as a reshape (axes from the attribute before opset 13, else the input). */
function squeezeLike(op: "Squeeze" | "Unsqueeze"): Converter {
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

const flatten: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const axis = normAxis(n.attrs.int("axis", 1), x.shape.length);
  const a = { axis };
  ctx.emit(n, n.outputs[0], "flatten", a, [x.ref], irShape(n, "flatten", a, [x.shape]));
};

const transpose: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const perm = n.attrs.ints("perm") ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  ctx.emit(n, n.outputs[0], "transpose", { perm }, [x.ref], perm.map((p) => x.shape[p]));
};

function pool(kind: "max_pool" | "avg_pool"): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    if (kind === "max_pool") unusedOutputs(ctx, n, 1, "indices");
    const kernel = n.attrs.ints("kernel_shape") as [number, number] | undefined;
    if (!kernel || kernel.length !== 2 || x.shape.length !== 4) {
      throw new RangeError("only 2-D pooling on [N, C, H, W] with a kernel_shape is supported");
    }
    const dil = n.attrs.ints("dilations");
    if (dil && dil.some((d) => d !== 1)) {
      ctx.issue(`${n.label} uses dilations [${dil.join(", ")}]; lightnets pools without dilation`);
      return;
    }
    const stride = (n.attrs.ints("strides") ?? [1, 1]) as [number, number];
    const a: OpAttrs["max_pool"] = {
      kernel,
      stride,
      padding: convPads(n.attrs, x.shape, kernel, stride, [1, 1]),
      ceilMode: n.attrs.int("ceil_mode", 0) === 1,
      countIncludePad: kind === "max_pool" || n.attrs.int("count_include_pad", 0) === 1,
    };
    ctx.emit(n, n.outputs[0], kind, a, [x.ref], irShape(n, kind, a, [x.shape]));
  };
}

/**
 * A 1-D Conv or pool on [N, C, L] as the 2-D op on [N, C, 1, L] between two
 * reshapes: the weight [O, I, k] is [O, I, 1, k] with the same data, and
 * kernel, strides, dilations and pads gain a leading height of 1 (or 0).
 */
function as1d(convert2d: Converter): Converter {
  return (ctx, n) => {
    const x = n.inputs[0];
    if (!x || isConst(x) || x.shape.length !== 3) return convert2d(ctx, n);
    const [batch, c, l] = x.shape;
    const out = n.outputs[0];
    const x4 = { ref: `${out}#2d`, shape: [batch, c, 1, l] };
    ctx.emit(n, x4.ref, "reshape", { shape: x4.shape }, [x.ref], x4.shape);
    const raw = new Map(n.attrs.raw);
    const lift = (name: string, pad: number) => {
      const v = raw.get(name);
      if (Array.isArray(v) && v.length === 1) raw.set(name, [pad, v[0]]);
    };
    lift("kernel_shape", 1);
    lift("strides", 1);
    lift("dilations", 1);
    const pads = raw.get("pads");
    if (Array.isArray(pads) && pads.length === 2) raw.set("pads", [0, pads[0], 0, pads[1]]);
    const inputs = n.inputs.map((v, i) => {
      if (i !== 1 || !isConst(v) || v.const.dims.length !== 3) return i === 0 ? x4 : v;
      const [o, ci, k] = v.const.dims;
      return { ...v, const: { ...v.const, dims: [o, ci, 1, k] } };
    });
    const y4 = `${out}#4d`;
    convert2d(ctx, {
      ...n,
      inputs,
      attrs: new OnnxAttrs(raw, n.label),
      outputs: [y4, ...n.outputs.slice(1)],
    });
    const d = ctx.producedShape(y4);
    if (!d) return;
    const shape = [d[0], d[1], d[3]];
    ctx.emit(n, out, "reshape", { shape }, [y4], shape);
  };
}

const globalAvgPool: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const shape = irShape(n, "global_avg_pool", {}, [x.shape]);
  ctx.emit(n, n.outputs[0], "global_avg_pool", {}, [x.ref], shape);
};

/** Gemm and MatMul with a constant weight: a linear layer (weight stored as [out, in]). */
function linear(op: "Gemm" | "MatMul"): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    const w = constant(n, 1, "weight");
    if (x.shape.length !== 2 || w.dims.length !== 2) {
      ctx.issue(
        `${n.label} multiplies a ${x.shape.length}-D input by a ${w.dims.length}-D weight; lightnets supports [N, K] x [K, M] (flatten first)`,
      );
      return;
    }
    const gemm = op === "Gemm";
    if (gemm && n.attrs.int("transA", 0) !== 0) {
      ctx.issue(`${n.label} has transA = 1; lightnets supports Gemm with the activation as A`);
      return;
    }
    const transB = gemm && n.attrs.int("transB", 0) === 1;
    const alpha = gemm ? n.attrs.float("alpha", 1) : 1;
    const beta = gemm ? n.attrs.float("beta", 1) : 1;
    const [outF, inF] = transB ? [w.dims[0], w.dims[1]] : [w.dims[1], w.dims[0]];
    const weight = new Float32Array(outF * inF);
    for (let o = 0; o < outF; o++) {
      for (let i = 0; i < inF; i++) {
        weight[o * inF + i] = alpha * (transB ? w.data[o * inF + i] : w.data[i * outF + o]);
      }
    }
    const c = gemm ? optConst(n, 2, "bias") : undefined;
    const params = new Map([["weight", weight]]);
    if (c) params.set("bias", f32(broadcastTo(c, [outF]).map((v) => beta * v)));
    const a: OpAttrs["linear"] = { inFeatures: inF, outFeatures: outF, bias: c !== undefined };
    const shape = irShape(n, "linear", a, [x.shape]);
    ctx.emit(n, n.outputs[0], "linear", a, [x.ref], shape, params, hint(n, 1));
  };
}

/**
 * Softmax (and LogSoftmax, its log). Since opset 13 over one axis; before,
 * over the dims from `axis` on flattened together, which is a reshape to
 * [prod(dims < axis), prod(dims >= axis)], a softmax over axis 1, and a
 * reshape back (a single softmax when every later axis has size 1).
 */
function softmaxWith(defaultAxis: number, log = false): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    const axis = normAxis(n.attrs.int("axis", defaultAxis), x.shape.length);
    const out = n.outputs[0];
    const steps: { kind: "reshape" | "softmax" | "log"; attrs: object; shape: number[] }[] = [];
    if (defaultAxis === 1 && x.shape.slice(axis + 1).some((d) => d !== 1)) {
      const flat = [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))];
      steps.push({ kind: "reshape", attrs: { shape: flat }, shape: flat });
      steps.push({ kind: "softmax", attrs: { axis: 1 }, shape: flat });
      steps.push({ kind: "reshape", attrs: { shape: [...x.shape] }, shape: [...x.shape] });
    } else steps.push({ kind: "softmax", attrs: { axis }, shape: [...x.shape] });
    if (log) steps.push({ kind: "log", attrs: {}, shape: [...x.shape] });
    let prev = x.ref;
    steps.forEach((st, k) => {
      const ref = k === steps.length - 1 ? out : `${out}#${k}`;
      ctx.emit(n, ref, st.kind, st.attrs as never, [prev], st.shape);
      prev = ref;
    });
  };
}

/** Sum/Mean/Max/Min of any number of inputs: a chain of binary ops (Mean then scales by 1/n). */
function variadic(op: "Sum" | "Mean" | "Max" | "Min"): Converter {
  const binary = op === "Max"
    ? arithmetic("Max")
    : op === "Min"
    ? arithmetic("Min")
    : arithmetic("Add");
  return (ctx, n) => {
    if (n.inputs.length === 2 && op !== "Mean") return binary(ctx, n);
    if (n.inputs.length === 1 && op !== "Mean") return ctx.alias(n.outputs[0], dyn(n, 0));
    const out = n.outputs[0];
    let acc: Value = n.inputs[0]!;
    let accName = n.inputNames[0];
    const last = op === "Mean" ? n.inputs.length : n.inputs.length - 1;
    for (let i = 1; i < n.inputs.length; i++) {
      const ref = i === last ? out : `${out}#${i}`;
      binary(ctx, {
        ...n,
        inputs: [acc, n.inputs[i]],
        inputNames: [accName, n.inputNames[i]],
        outputs: [ref],
      });
      acc = { ref, shape: broadcastShape(shapeOfValue(acc), shapeOfValue(n.inputs[i]!), op) };
      accName = ref;
    }
    if (op === "Mean") {
      const x = acc as Computed;
      const k = 1 / n.inputs.length;
      ctx.emit(n, out, "scale_shift", { scale: [k], shift: [0] }, [x.ref], x.shape);
    }
  };
}

const shapeOfValue = (v: Value) => (isConst(v) ? v.const.dims : v.shape);

/** An activation written as a chain of element-wise steps on `x` (Selu, Mish, Gelu). */
function composite(
  build: (n: OnnxNode) => ({ kind: "scale_shift"; attrs: { scale: number[]; shift: number[] } } | {
    kind: "elu" | "softplus" | "tanh" | "erf" | "mul_x";
    attrs?: { alpha: number };
  })[],
): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    const steps = build(n);
    let prev = x.ref;
    steps.forEach((st, k) => {
      const ref = k === steps.length - 1 ? n.outputs[0] : `${n.outputs[0]}#${k}`;
      if (st.kind === "mul_x") ctx.emit(n, ref, "mul_same", {}, [x.ref, prev], x.shape);
      else if (st.kind === "scale_shift") {
        ctx.emit(n, ref, "scale_shift", st.attrs, [prev], x.shape);
      } else if (st.kind === "elu") ctx.emit(n, ref, "elu", st.attrs!, [prev], x.shape);
      else ctx.emit(n, ref, st.kind, {}, [prev], x.shape);
      prev = ref;
    });
  };
}

/** Selu: `gamma * elu(x, alpha)`. */
const selu = composite((n) => [
  { kind: "elu", attrs: { alpha: niceFloat(n.attrs.float("alpha", 1.67326319217681884765625)) } },
  {
    kind: "scale_shift",
    attrs: { scale: [niceFloat(n.attrs.float("gamma", 1.05070102214813232421875))], shift: [0] },
  },
]);

/** Mish: `x * tanh(softplus(x))`. */
const mish = composite(() => [{ kind: "softplus" }, { kind: "tanh" }, { kind: "mul_x" }]);

/** Gelu (exact, opset 20): `x * (1 + erf(x / sqrt(2))) / 2`. */
const gelu: Converter = (ctx, n) => {
  if (n.attrs.string("approximate", "none") !== "none") {
    ctx.issue(`${n.label} uses the tanh approximation; lightnets reads the exact Gelu`);
    return;
  }
  composite(() => [
    { kind: "scale_shift", attrs: { scale: [Math.SQRT1_2], shift: [0] } },
    { kind: "erf" },
    { kind: "scale_shift", attrs: { scale: [0.5], shift: [0.5] } },
    { kind: "mul_x" },
  ])(ctx, n);
};

const dropout: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  unusedOutputs(ctx, n, 1, "mask");
  const training = optConst(n, 2, "training_mode");
  if (training && training.data[0] !== 0) {
    ctx.issue(`${n.label} runs in training mode; lightnets imports inference graphs`);
    return;
  }
  const ratio = optConst(n, 1, "ratio");
  const p = ratio ? ratio.data[0] : n.attrs.float("ratio", 0.5);
  ctx.emit(n, n.outputs[0], "dropout", { p: niceFloat(p) }, [x.ref], x.shape);
};

const identity: Converter = (ctx, n) => ctx.alias(n.outputs[0], dyn(n, 0));

const cast: Converter = (ctx, n) => {
  const to = n.attrs.int("to", 1);
  if (to !== 1) {
    ctx.issue(`${n.label} casts an activation to ${dtypeName(to)}; lightnets computes in FLOAT`);
    return;
  }
  ctx.alias(n.outputs[0], dyn(n, 0));
};

function padWith(
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
const padV1: Converter = (ctx, n) =>
  padWith(
    ctx,
    n,
    n.attrs.string("mode", "constant"),
    n.attrs.ints("pads") ?? n.attrs.ints("paddings") ?? [],
    n.attrs.float("value", 0),
  );

/** Pad since opset 11: pads and the constant value are inputs. */
const padV11: Converter = (ctx, n) => {
  const value = optConst(n, 2, "constant_value");
  padWith(
    ctx,
    n,
    n.attrs.string("mode", "constant"),
    Array.from(constant(n, 1, "pads").data),
    value ? value.data[0] : 0,
  );
};

/** Element-wise ops of one input with no parameters. */
function elementwise(
  kind: "tanh" | "exp" | "log" | "sqrt" | "reciprocal" | "neg" | "abs" | "erf" | "softplus",
): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    ctx.emit(n, n.outputs[0], kind, {}, [x.ref], x.shape);
  };
}

function withAlpha(kind: "elu" | "leaky_relu", dflt: number): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    const a = { alpha: niceFloat(n.attrs.float("alpha", dflt)) };
    ctx.emit(n, n.outputs[0], kind, a, [x.ref], x.shape);
  };
}

/** PRelu: the slopes are a parameter, one per channel (axis 1) or one shared. */
const prelu: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const slope = constant(n, 1, "slope");
  const v = channelVector(slope, x.shape);
  if (!v) {
    ctx.issue(
      `${n.label} has slopes of shape [${slope.dims.join(", ")}] for an input of shape [${
        x.shape.join(", ")
      }]; lightnets supports one slope per channel (axis 1) or one shared slope`,
    );
    return;
  }
  const params = new Map([["weight", f32(v)]]);
  ctx.emit(n, n.outputs[0], "prelu", { channels: v.length }, [x.ref], x.shape, params);
};

/** A stored tensor as a `const` node (an operand the IR cannot fold into the op reading it). */
function constNode(ctx: ConvertContext, n: OnnxNode, i: number): string {
  const c = constant(n, i, "constant operand");
  // One const node per stored tensor, however many ops read it (params count it once).
  const shared = ctx.constRef(n.inputNames[i]);
  if (shared) return shared;
  const ref = `${n.outputs[0]}#const${i}`;
  const d = ctx.emit(
    n,
    ref,
    "const",
    { shape: [...c.dims] },
    [],
    [...c.dims],
    new Map([["value", f32(c.data)]]),
  );
  d.onnxName = n.name ? `${n.name}_const${i}` : "";
  ctx.setConstRef(n.inputNames[i], ref);
  return ref;
}

/** Binary op kinds with numpy broadcasting, by ONNX op type. */
const BINARY = {
  Add: "add",
  Sub: "sub",
  Mul: "mul",
  Div: "div",
  Pow: "pow",
  Max: "max",
  Min: "min",
} as const;
type BinaryOp = keyof typeof BINARY;

/** A binary op whose operands are computed or stored tensors (constants become `const` nodes). */
function broadcastBinary(ctx: ConvertContext, n: OnnxNode, op: BinaryOp): void {
  const refs = n.inputs.slice(0, 2).map((v, i) => (isConst(v) ? constNode(ctx, n, i) : v!.ref));
  const shapes = n.inputs.slice(0, 2).map((v) => (isConst(v) ? v.const.dims : v!.shape));
  const shape = broadcastShape(shapes[0], shapes[1], op);
  const kind = op === "Mul" && shapes[0].join() === shapes[1].join() ? "mul_same" : BINARY[op];
  ctx.emit(n, n.outputs[0], kind, {}, refs, shape);
}

/** ConvTranspose (2-D): weight [Cin, Cout / groups, kh, kw]; explicit pads or auto_pad. */
const convTranspose: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const w = constant(n, 1, "weight");
  const b = optConst(n, 2, "bias");
  if (x.shape.length !== 4 || w.dims.length !== 4) {
    throw new RangeError(
      `only 2-D transposed convolution on [N, C, H, W] is supported (weight has shape [${
        w.dims.join(", ")
      }])`,
    );
  }
  if (n.attrs.has("output_shape")) {
    ctx.issue(`${n.label} sets output_shape; lightnets reads ConvTranspose with explicit pads`);
    return;
  }
  const groups = n.attrs.int("group", 1);
  if (w.dims[0] !== x.shape[1]) {
    throw new RangeError(
      `weight [${w.dims.join(", ")}] expects ${w.dims[0]} input channels, input has ${x.shape[1]}`,
    );
  }
  const kernel: [number, number] = [w.dims[2], w.dims[3]];
  const stride = (n.attrs.ints("strides") ?? [1, 1]) as [number, number];
  const dilation = (n.attrs.ints("dilations") ?? [1, 1]) as [number, number];
  const outputPadding = (n.attrs.ints("output_padding") ?? [0, 0]) as [number, number];
  const auto = n.attrs.string("auto_pad", "NOTSET");
  let padding: [number, number, number, number];
  if (auto === "SAME_UPPER" || auto === "SAME_LOWER") {
    // Output = input x stride; the total padding splits as for Conv.
    const total = [0, 1].map((i) =>
      Math.max(
        stride[i] * (x.shape[2 + i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilation[i] + 1 -
          x.shape[2 + i] * stride[i],
        0,
      )
    );
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]);
    padding = auto === "SAME_UPPER"
      ? [small[0], small[1], big[0], big[1]]
      : [big[0], big[1], small[0], small[1]];
  } else {
    const p = n.attrs.ints("pads") ?? [0, 0, 0, 0];
    padding = [p[0], p[1], p[2], p[3]];
  }
  const a = {
    inChannels: x.shape[1],
    outChannels: w.dims[1] * groups,
    kernel,
    stride,
    padding,
    outputPadding,
    dilation,
    groups,
    bias: b !== undefined,
  };
  const shape = [
    x.shape[0],
    a.outChannels,
    ...[0, 1].map((i) =>
      stride[i] * (x.shape[2 + i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilation[i] + 1 -
      padding[i] - padding[i + 2]
    ),
  ];
  const params = new Map([["weight", f32(w.data)]]);
  if (b) params.set("bias", f32(b.data));
  ctx.emit(n, n.outputs[0], "conv_transpose2d", a, [x.ref], shape, params, hint(n, 1));
};

const COORDINATE_MODES = [
  "half_pixel",
  "asymmetric",
  "align_corners",
  "pytorch_half_pixel",
  "tf_half_pixel_for_nn",
] as const;
const NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"] as const;

/** Resize/Upsample to a resolved output shape (from scales or sizes). */
function resizeTo(
  ctx: ConvertContext,
  n: OnnxNode,
  scales: number[] | undefined,
  sizes: number[] | undefined,
  coordinate: string,
): void {
  const x = dyn(n, 0);
  const raw = n.attrs.string("mode", "nearest");
  const mode = raw === "bilinear" ? "linear" : raw;
  if (mode !== "nearest" && mode !== "linear") {
    ctx.issue(`${n.label} resizes with mode "${raw}"; lightnets supports nearest and linear`);
    return;
  }
  const ct = COORDINATE_MODES.find((m) => m === coordinate);
  const nm = NEAREST_MODES.find((m) => m === n.attrs.string("nearest_mode", "round_prefer_floor"));
  if (!ct || !nm) {
    ctx.issue(
      `${n.label} uses coordinate_transformation_mode "${coordinate}" / nearest_mode "${
        n.attrs.string("nearest_mode", "round_prefer_floor")
      }", which lightnets does not support`,
    );
    return;
  }
  let outShape: number[];
  if (sizes && sizes.length) outShape = sizes;
  else if (scales && scales.length === x.shape.length) {
    outShape = x.shape.map((d, i) => Math.floor(d * scales[i]));
  } else throw new RangeError("needs scales of the input's rank or sizes");
  if (outShape.length !== 4 || outShape[0] !== x.shape[0] || outShape[1] !== x.shape[1]) {
    ctx.issue(
      `${n.label} resizes [${x.shape.join(", ")}] to [${
        outShape.join(", ")
      }]; lightnets resizes H and W of [N, C, H, W]`,
    );
    return;
  }
  const a = { mode, coordinateTransformation: ct, nearestMode: nm, outShape } as const;
  ctx.emit(n, n.outputs[0], "resize", { ...a, outShape }, [x.ref], outShape);
}

/** Upsample (opset 7-9): scales as an attribute (7) or an input (9); asymmetric coordinates. */
const upsample: Converter = (ctx, n) => {
  const scales = n.inputs[1] ? Array.from(constant(n, 1, "scales").data) : undefined;
  const attr = n.attrs.raw.get("scales");
  resizeTo(ctx, n, scales ?? (Array.isArray(attr) ? attr : undefined), undefined, "asymmetric");
};

/** Resize opset 10: X, scales; asymmetric coordinates. */
const resizeV10: Converter = (ctx, n) =>
  resizeTo(ctx, n, Array.from(constant(n, 1, "scales").data), undefined, "asymmetric");

/** Resize opset 11+: X, roi, scales, sizes; the coordinate mode is an attribute. */
const resizeV11: Converter = (ctx, n) => {
  const scales = optConst(n, 2, "scales");
  const sizes = optConst(n, 3, "sizes");
  resizeTo(
    ctx,
    n,
    scales && scales.data.length ? Array.from(scales.data) : undefined,
    sizes && sizes.data.length ? Array.from(sizes.data) : undefined,
    n.attrs.string("coordinate_transformation_mode", "half_pixel"),
  );
};

/** LayerNormalization (opset 17) over the trailing axes from `axis`. */
const layerNorm: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const axis = normAxis(n.attrs.int("axis", -1), x.shape.length);
  const channels = numel(x.shape.slice(axis));
  const scale = constant(n, 1, "scale");
  const bias = optConst(n, 2, "bias");
  const params = new Map([
    ["weight", f32(broadcastTo(scale, x.shape.slice(axis)))],
    ["bias", bias ? f32(broadcastTo(bias, x.shape.slice(axis))) : new Float32Array(channels)],
  ]);
  const a = { axis, eps: niceFloat(n.attrs.float("epsilon", 1e-5)), channels };
  ctx.emit(n, n.outputs[0], "layer_norm", a, [x.ref], x.shape, params);
};

const instanceNorm: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const params = new Map([
    ["weight", f32(constant(n, 1, "scale").data)],
    ["bias", f32(constant(n, 2, "bias").data)],
  ]);
  const a = { channels: x.shape[1], eps: niceFloat(n.attrs.float("epsilon", 1e-5)) };
  ctx.emit(n, n.outputs[0], "instance_norm", a, [x.ref], x.shape, params);
};

const globalMaxPool: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const shape = [...x.shape.slice(0, 2), ...x.shape.slice(2).map(() => 1)];
  ctx.emit(n, n.outputs[0], "global_max_pool", {}, [x.ref], shape);
};

/**
 * ReduceMean/Sum/Max over constant axes (an attribute before opset 18, an
 * input since; ReduceSum's since 13). The mean over H and W of [N, C, H, W]
 * with kept dims is a global average pool.
 */
function reduce(
  op: "mean" | "sum" | "max" | "min" | "l2" | "sum_square",
): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    if (op === "min" || op === "l2" || op === "sum_square") return reduceComposite(ctx, n, op);
    const given = axesOf(n.attrs.raw, optConst(n, 1, "axes"));
    const all = x.shape.map((_, i) => i);
    const noop = n.attrs.int("noop_with_empty_axes", 0) === 1;
    if ((!given || given.length === 0) && noop) return ctx.alias(n.outputs[0], x);
    const axes = (given && given.length ? given : all).map((a) => normAxis(a, x.shape.length))
      .sort((p, q) => p - q);
    const keepDims = n.attrs.int("keepdims", 1) === 1;
    if (op === "mean" && x.shape.length === 4 && axes.join() === "2,3") {
      const pooled = irShape(n, "global_avg_pool", {}, [x.shape]);
      if (keepDims) return void ctx.emit(n, n.outputs[0], "global_avg_pool", {}, [x.ref], pooled);
      const ref = `${n.outputs[0]}#pooled`;
      ctx.emit(n, ref, "global_avg_pool", {}, [x.ref], pooled);
      const shape = [pooled[0], pooled[1]];
      return void ctx.emit(n, n.outputs[0], "reshape", { shape }, [ref], shape);
    }
    const shape = keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    ctx.emit(n, n.outputs[0], "reduce", { op, axes, keepDims }, [x.ref], shape);
  };
}

/**
 * ReduceMin = -max(-x); ReduceSumSquare = sum(x * x); ReduceL2 = sqrt(sum(x * x)):
 * the element-wise steps around a `reduce` of the IR.
 */
function reduceComposite(ctx: ConvertContext, n: OnnxNode, op: "min" | "l2" | "sum_square") {
  const x = dyn(n, 0);
  const out = n.outputs[0];
  const pre = `${out}#pre`;
  if (op === "min") ctx.emit(n, pre, "neg", {}, [x.ref], x.shape);
  else ctx.emit(n, pre, "mul_same", {}, [x.ref, x.ref], x.shape);
  const post = op === "min" ? "neg" : op === "l2" ? "sqrt" : undefined;
  const red = post ? `${out}#reduced` : out;
  reduce(op === "min" ? "max" : "sum")(ctx, {
    ...n,
    inputs: [{ ref: pre, shape: x.shape }, ...n.inputs.slice(1)],
    outputs: [red],
  });
  const shape = ctx.producedShape(red);
  if (post && shape) ctx.emit(n, out, post, {}, [red], shape);
}

/** LpNormalization (p = 2): `x / sqrt(sum(x * x))` over `axis`; p = 1 divides by sum |x|. */
const lpNormalization: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const p = n.attrs.int("p", 2);
  const axis = normAxis(n.attrs.int("axis", -1), x.shape.length);
  const out = n.outputs[0];
  const kept = x.shape.map((d, i) => (i === axis ? 1 : d));
  if (p === 2) ctx.emit(n, `${out}#sq`, "mul_same", {}, [x.ref, x.ref], x.shape);
  else if (p === 1) ctx.emit(n, `${out}#sq`, "abs", {}, [x.ref], x.shape);
  else throw new RangeError(`p = ${p}; LpNormalization has p 1 or 2`);
  const a = { op: "sum" as const, axes: [axis], keepDims: true };
  ctx.emit(n, `${out}#sum`, "reduce", a, [`${out}#sq`], kept);
  if (p === 2) ctx.emit(n, `${out}#norm`, "sqrt", {}, [`${out}#sum`], kept);
  ctx.emit(n, out, "div", {}, [x.ref, p === 2 ? `${out}#norm` : `${out}#sum`], x.shape);
};

/** Gather with constant indices from a computed tensor. */
const gather: Converter = (ctx, n) => {
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

/** MatMul: a 2-D activation times a stored 2-D weight is a linear layer; anything else `matmul`. */
const matmul: Converter = (ctx, n) => {
  const [a, b] = n.inputs;
  if (!isConst(a) && isConst(b) && a!.shape.length === 2 && b.const.dims.length === 2) {
    return linear("MatMul")(ctx, n);
  }
  if (isConst(a) && isConst(b)) throw new RangeError("unexpected constant operands");
  const refs = [a, b].map((v, i) => (isConst(v) ? constNode(ctx, n, i) : v!.ref));
  const [sa, sb] = [a, b].map((v) => (isConst(v) ? [...v.const.dims] : [...v!.shape]));
  if (sa.length < 2 || sb.length < 2) {
    ctx.issue(
      `${n.label} multiplies a ${sa.length}-D by a ${sb.length}-D tensor; lightnets needs 2-D or more`,
    );
    return;
  }
  const batch = broadcastShape(sa.slice(0, -2), sb.slice(0, -2), "MatMul");
  if (sa[sa.length - 1] !== sb[sb.length - 2]) {
    throw new RangeError(`inner dimensions differ: [${sa.join(", ")}] x [${sb.join(", ")}]`);
  }
  const shape = [...batch, sa[sa.length - 2], sb[sb.length - 1]];
  ctx.emit(n, n.outputs[0], "matmul", {}, refs, shape);
};

/** Every ONNX op type that can run on computed tensors, with its converter(s). */
export const CONVERTERS: Readonly<Record<string, VersionedConverter>> = {
  Abs: elementwise("abs"),
  Add: arithmetic("Add"),
  AveragePool: as1d(pool("avg_pool")),
  BatchNormalization: batchNorm,
  Cast: cast,
  Clip: [[1, clipV1], [11, clipV11]],
  Concat: concat,
  Conv: as1d(conv),
  ConvTranspose: convTranspose,
  Div: arithmetic("Div"),
  Dropout: dropout,
  Elu: withAlpha("elu", 1),
  Erf: elementwise("erf"),
  Exp: elementwise("exp"),
  Flatten: flatten,
  Gather: gather,
  Gemm: linear("Gemm"),
  GlobalAveragePool: globalAvgPool,
  GlobalMaxPool: globalMaxPool,
  HardSigmoid: hardSigmoid,
  HardSwish: unary("hardswish"),
  Identity: identity,
  InstanceNormalization: instanceNorm,
  LayerNormalization: layerNorm,
  LeakyRelu: withAlpha("leaky_relu", 0.01),
  Log: elementwise("log"),
  MatMul: matmul,
  Max: variadic("Max"),
  MaxPool: as1d(pool("max_pool")),
  Min: variadic("Min"),
  Mul: arithmetic("Mul"),
  Pow: arithmetic("Pow"),
  Neg: elementwise("neg"),
  Pad: [[1, padV1], [11, padV11]],
  PRelu: prelu,
  Reciprocal: elementwise("reciprocal"),
  ReduceMax: reduce("max"),
  ReduceMean: reduce("mean"),
  ReduceSum: reduce("sum"),
  ReduceMin: reduce("min"),
  ReduceL2: reduce("l2"),
  ReduceSumSquare: reduce("sum_square"),
  LpNormalization: lpNormalization,
  Relu: relu,
  Reshape: reshape,
  Resize: [[10, resizeV10], [11, resizeV11]],
  Sigmoid: unary("sigmoid"),
  Slice: [[1, sliceV1], [10, sliceV10]],
  Softmax: [[1, softmaxWith(1)], [13, softmaxWith(-1)]],
  LogSoftmax: [[1, softmaxWith(1, true)], [13, softmaxWith(-1, true)]],
  Sum: variadic("Sum"),
  Mean: variadic("Mean"),
  Selu: selu,
  Mish: mish,
  Gelu: gelu,
  Softplus: elementwise("softplus"),
  Split: [[1, splitV1], [13, splitV13]],
  Sqrt: elementwise("sqrt"),
  Squeeze: squeezeLike("Squeeze"),
  Sub: arithmetic("Sub"),
  Tanh: elementwise("tanh"),
  Transpose: transpose,
  Unsqueeze: squeezeLike("Unsqueeze"),
  Upsample: upsample,
};

/**
 * IR op kinds a converter cannot do without (it emits nothing else useful):
 * an op type is listed as supported once the IR's op table has them.
 */
export const NEEDED_KINDS: Readonly<Record<string, readonly string[]>> = {
  ConvTranspose: ["conv_transpose2d"],
  Resize: ["resize"],
  Upsample: ["resize"],
  LayerNormalization: ["layer_norm"],
  InstanceNormalization: ["instance_norm"],
  PRelu: ["prelu"],
  GlobalMaxPool: ["global_max_pool"],
  ReduceSum: ["reduce"],
  ReduceMax: ["reduce"],
  ReduceMin: ["reduce"],
  ReduceL2: ["reduce"],
  ReduceSumSquare: ["reduce"],
  LpNormalization: ["reduce"],
};

/** The converter of `opType` for the model's opset, or undefined. */
export function converterFor(opType: string, opset: number): Converter | undefined {
  const c = CONVERTERS[opType];
  if (!c || typeof c === "function") return c;
  let pick: Converter | undefined;
  for (const [since, impl] of c) if (since <= opset) pick = impl;
  return pick ?? c[0][1];
}
