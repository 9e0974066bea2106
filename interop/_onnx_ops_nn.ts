/**
 * ONNX converters of the network layers: Conv (1-D and 2-D), ConvTranspose,
 * BatchNormalization, Layer/InstanceNormalization, pools, Gemm/MatMul,
 * Dropout and Resize/Upsample.
 *
 * @module
 */

import { OP_KINDS, type OpAttrs } from "../lib/ir/ops.ts";
import { broadcastShape, broadcastTo } from "./_onnx_fold.ts";
import { type Computed, isConst, OnnxAttrs } from "./_onnx_draft.ts";
import {
  constant,
  constNode,
  type ConvertContext,
  type Converter,
  convPads,
  dyn,
  f32,
  hint,
  irShape,
  niceFloat,
  normAxis,
  numel,
  type OnnxNode,
  optConst,
  unusedOutputs,
} from "./_onnx_convert_base.ts";

/** 2-D Conv with a stored weight (and bias), pads from `pads` or `auto_pad`. */
export const conv: Converter = (ctx, n) => {
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

/** Inference BatchNormalization with stored scale, bias, mean and variance. */
export const batchNorm: Converter = (ctx, n) => {
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

/** 2-D MaxPool or AveragePool (ceil mode, count_include_pad). */
export function pool(kind: "max_pool" | "avg_pool"): Converter {
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
export function as1d(convert2d: Converter): Converter {
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

/** GlobalAveragePool over every axis after the first two. */
export const globalAvgPool: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const shape = irShape(n, "global_avg_pool", {}, [x.shape]);
  ctx.emit(n, n.outputs[0], "global_avg_pool", {}, [x.ref], shape);
};

/** GlobalMaxPool over every axis after the first two. */
export const globalMaxPool: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const shape = [...x.shape.slice(0, 2), ...x.shape.slice(2).map(() => 1)];
  ctx.emit(n, n.outputs[0], "global_max_pool", {}, [x.ref], shape);
};

/** Gemm and MatMul with a constant weight: a linear layer (weight stored as [out, in]). */
export function linear(op: "Gemm" | "MatMul"): Converter {
  return (ctx, n) => {
    let x = dyn(n, 0);
    const w = constant(n, 1, "weight");
    const gemm = op === "Gemm";
    if (gemm && n.attrs.int("transA", 0) !== 0 && x.shape.length === 2) {
      // A^T first: a transpose of the [K, N] activation.
      const t = { ref: `${n.outputs[0]}#transA`, shape: [x.shape[1], x.shape[0]] };
      ctx.emit(n, t.ref, "transpose", { perm: [1, 0] }, [x.ref], t.shape);
      x = t;
    }
    if (x.shape.length !== 2 || w.dims.length !== 2) {
      ctx.issue(
        `${n.label} multiplies a ${x.shape.length}-D input by a ${w.dims.length}-D weight; lightnets supports [N, K] x [K, M] (flatten first)`,
      );
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

/** MatMul: a 2-D activation times a stored 2-D weight is a linear layer; anything else `matmul`. */
export const matmul: Converter = (ctx, n) => {
  const [a, b] = n.inputs;
  if (!isConst(a) && isConst(b) && a!.shape.length === 2 && b.const.dims.length === 2) {
    return linear("MatMul")(ctx, n);
  }
  if (!isConst(a) && isConst(b) && a!.shape.length > 2 && b.const.dims.length === 2) {
    // [..., M, K] x [K, N]: a linear layer on the rows, between reshapes.
    const out = n.outputs[0];
    const k = a!.shape[a!.shape.length - 1];
    const rows = [numel(a!.shape) / k, k];
    ctx.emit(n, `${out}#rows`, "reshape", { shape: rows }, [a!.ref], rows);
    const y = `${out}#linear`;
    linear("MatMul")(ctx, { ...n, inputs: [{ ref: `${out}#rows`, shape: rows }, b], outputs: [y] });
    const shape = [...a!.shape.slice(0, -1), b.const.dims[1]];
    return void ctx.emit(n, out, "reshape", { shape }, [y], shape);
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

/** ConvTranspose (2-D): weight [Cin, Cout / groups, kh, kw]; explicit pads or auto_pad. */
export const convTranspose: Converter = (ctx, n) => {
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

/** LayerNormalization (opset 17) over the trailing axes from `axis`. */
export const layerNorm: Converter = (ctx, n) => {
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

/** InstanceNormalization with stored scale and bias per channel. */
export const instanceNorm: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const params = new Map([
    ["weight", f32(constant(n, 1, "scale").data)],
    ["bias", f32(constant(n, 2, "bias").data)],
  ]);
  const a = { channels: x.shape[1], eps: niceFloat(n.attrs.float("epsilon", 1e-5)) };
  ctx.emit(n, n.outputs[0], "instance_norm", a, [x.ref], x.shape, params);
};

/** Dropout in inference mode (identity at run time, `p` kept for export). */
export const dropout: Converter = (ctx, n) => {
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

/** Whether the IR's op table has `resize` yet (else nearest resizing is gathers). */
export const IR_HAS_RESIZE = () => (OP_KINDS as readonly string[]).includes("resize");

/** Resize coordinate transformation modes lightnets reads. */
export const COORDINATE_MODES = [
  "half_pixel",
  "asymmetric",
  "align_corners",
  "pytorch_half_pixel",
  "tf_half_pixel_for_nn",
] as const;

/** Resize nearest rounding modes. */
export const NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"] as const;

/** The input index nearest-neighbour resizing reads for output index `i` (ONNX Resize). */
export function nearestIndex(
  i: number,
  inSize: number,
  outSize: number,
  scale: number,
  coordinate: (typeof COORDINATE_MODES)[number],
  nearest: (typeof NEAREST_MODES)[number],
): number {
  let x: number;
  switch (coordinate) {
    case "half_pixel":
      x = (i + 0.5) / scale - 0.5;
      break;
    case "pytorch_half_pixel":
      x = outSize > 1 ? (i + 0.5) / scale - 0.5 : 0;
      break;
    case "align_corners":
      x = outSize === 1 ? 0 : (i * (inSize - 1)) / (outSize - 1);
      break;
    case "asymmetric":
      x = i / scale;
      break;
    case "tf_half_pixel_for_nn":
      x = (i + 0.5) / scale;
      break;
  }
  const frac = x - Math.floor(x);
  let r: number;
  if (nearest === "floor") r = Math.floor(x);
  else if (nearest === "ceil") r = Math.ceil(x);
  else if (frac === 0.5) r = nearest === "round_prefer_floor" ? Math.floor(x) : Math.ceil(x);
  else r = Math.round(x);
  return Math.min(Math.max(r, 0), inSize - 1);
}

/**
 * Resize/Upsample to a resolved output shape (from scales or sizes). Where the
 * IR has no `resize` kind, nearest-neighbour resizing is a `gather` per
 * resized axis with the indices the coordinate transformation picks (no
 * parameters, no multiply-adds, exact).
 */
export function resizeTo(
  ctx: ConvertContext,
  n: OnnxNode,
  scales: number[] | undefined,
  sizes: number[] | undefined,
  coordinate: string,
  defaultNearest: (typeof NEAREST_MODES)[number],
): void {
  const x = dyn(n, 0);
  const raw = n.attrs.string("mode", "nearest");
  const mode = raw === "bilinear" ? "linear" : raw;
  if (mode !== "nearest" && mode !== "linear") {
    ctx.issue(`${n.label} resizes with mode "${raw}"; lightnets supports nearest and linear`);
    return;
  }
  const ct = COORDINATE_MODES.find((m) => m === coordinate);
  const nm = NEAREST_MODES.find((m) => m === n.attrs.string("nearest_mode", defaultNearest));
  if (!ct || !nm) {
    ctx.issue(
      `${n.label} uses coordinate_transformation_mode "${coordinate}" / nearest_mode "${
        n.attrs.string("nearest_mode", defaultNearest)
      }", which lightnets does not support`,
    );
    return;
  }
  let outShape: number[];
  let axisScales: number[];
  if (sizes && sizes.length) {
    outShape = sizes;
    axisScales = sizes.map((d, i) => d / x.shape[i]);
  } else if (scales && scales.length === x.shape.length) {
    outShape = x.shape.map((d, i) => Math.floor(d * scales[i]));
    axisScales = scales;
  } else throw new RangeError("needs scales of the input's rank or sizes");
  if (outShape.length !== x.shape.length) {
    throw new RangeError(`output rank ${outShape.length} differs from the input's`);
  }
  // The IR's resize is defined by its output shape; ONNX uses the given scale in the
  // coordinate transformation, which differs when a scale does not divide the size.
  const exactScales = axisScales.every((sc, i) => outShape[i] / x.shape[i] === sc);
  const nchw = outShape.length === 4 && outShape[0] === x.shape[0] && outShape[1] === x.shape[1];
  if (IR_HAS_RESIZE() && exactScales && nchw) {
    const a = { mode, coordinateTransformation: ct, nearestMode: nm, outShape } as const;
    return void ctx.emit(n, n.outputs[0], "resize", { ...a, outShape }, [x.ref], outShape);
  }
  if (mode !== "nearest") {
    ctx.issue(
      `${n.label} resizes linearly [${x.shape.join(", ")}] to [${outShape.join(", ")}]${
        exactScales ? "" : ` by scales [${axisScales.join(", ")}] that do not divide the sizes`
      }; lightnets resizes linearly H and W of [N, C, H, W] to an exact multiple`,
    );
    return;
  }
  // Nearest: one gather per resized axis with the indices ONNX picks (exact for any scale).
  const axes = outShape.flatMap((d, i) => (d !== x.shape[i] ? [i] : []));
  if (axes.length === 0) return ctx.alias(n.outputs[0], x);
  let prev: Computed = x;
  axes.forEach((axis, k) => {
    const indices = Array.from(
      { length: outShape[axis] },
      (_, i) => nearestIndex(i, x.shape[axis], outShape[axis], axisScales[axis], ct, nm),
    );
    const shape = prev.shape.map((d, i) => (i === axis ? indices.length : d));
    const ref = k === axes.length - 1 ? n.outputs[0] : `${n.outputs[0]}#${axis}`;
    ctx.emit(n, ref, "gather", { axis, indices, scalarIndex: false }, [prev.ref], shape);
    prev = { ref, shape };
  });
}

/** Upsample (opset 7-9): scales as an attribute (7) or an input (9); asymmetric, floor. */
export const upsample: Converter = (ctx, n) => {
  const scales = n.inputs[1] ? Array.from(constant(n, 1, "scales").data) : undefined;
  const attr = n.attrs.raw.get("scales");
  const given = scales ?? (Array.isArray(attr) ? attr : undefined);
  resizeTo(ctx, n, given, undefined, "asymmetric", "floor");
};

/** Resize opset 10: X, scales; asymmetric coordinates, floor (as Upsample). */
export const resizeV10: Converter = (ctx, n) =>
  resizeTo(ctx, n, Array.from(constant(n, 1, "scales").data), undefined, "asymmetric", "floor");

/** Resize opset 11+: X, roi, scales, sizes; the coordinate mode is an attribute. */
export const resizeV11: Converter = (ctx, n) => {
  const scales = optConst(n, 2, "scales");
  const sizes = optConst(n, 3, "sizes");
  resizeTo(
    ctx,
    n,
    scales && scales.data.length ? Array.from(scales.data) : undefined,
    sizes && sizes.data.length ? Array.from(sizes.data) : undefined,
    n.attrs.string("coordinate_transformation_mode", "half_pixel"),
    "round_prefer_floor",
  );
};
