/**
 * TensorFlow.js layers models (`format: layers-model`: a Keras topology, as
 * `tfjs-layers`' `model.save` and `tensorflowjs_converter` from Keras write)
 * -> IR graph + weights.
 *
 * The topology is a `Sequential` (a layer list) or a `Functional`/`Model`
 * (layers with `inbound_nodes`); each layer goes through one converter keyed
 * by its `class_name` ({@link LAYER_CONVERTERS}); its weights are found in the
 * manifest as `<layer>/<weight>` (`conv1/kernel`, `bn/moving_mean`). A
 * layer's `activation` becomes its own node after it (`<layer>.relu`).
 * ShuffleNet's channel shuffle, written in Keras as `Reshape [H, W, g, C/g]`
 * -> `Permute [1, 2, 4, 3]` -> `Reshape [H, W, C]`, becomes one
 * `channel_shuffle` (tfjs_passes.ts, as for graph models).
 *
 * @module
 */

import {
  fileShape,
  resolveInputShape,
  TfjsBuilder,
  type TfjsImport,
  transposeData,
  type Val,
} from "./tfjs_ir.ts";
import { TfjsImportError, type TfjsWeights } from "./tfjs_weights.ts";

/** One layer of a Keras topology. */
export interface KerasLayer {
  class_name: string;
  name?: string;
  // deno-lint-ignore no-explicit-any
  config: Record<string, any>;
  /** Functional models: per call, the inbound `[layer, nodeIndex, tensorIndex, kwargs]` lists. */
  inbound_nodes?: unknown[];
}

/** The parts of a layers-model `model.json` the reader uses. */
export interface LayersModelJson {
  format?: string;
  modelTopology: {
    class_name?: string;
    // deno-lint-ignore no-explicit-any
    config?: any;
    // deno-lint-ignore no-explicit-any
    model_config?: { class_name: string; config: any };
  };
}

/** Options of {@link importLayersModel}. */
export interface LayersImportOptions {
  /** Input shape in the file's layout (NHWC), where the topology leaves dimensions open. */
  inputShape?: number[];
  name?: string;
  source?: string;
}

interface LCtx {
  layer: KerasLayer;
  name: string;
  b: TfjsBuilder;
  weights: TfjsWeights;
  source: string;
  // deno-lint-ignore no-explicit-any
  cfg: Record<string, any>;
}

function fail(ctx: LCtx, detail: string): never {
  throw new TfjsImportError(
    `Cannot import layer "${ctx.name}" (${ctx.layer.class_name}) of ${ctx.source}: ${detail}`,
  );
}

/** The manifest tensor `<layer>/<key>` (or one nested under the layer's name). */
function weight(ctx: LCtx, key: string): { data: Float32Array; shape: number[] } {
  const exact = `${ctx.name}/${key}`;
  let t = ctx.weights.get(exact);
  if (!t) {
    for (const [name, w] of ctx.weights) {
      const parts = name.replace(/:\d+$/, "").split("/");
      if (parts.at(-1) === key && parts.slice(0, -1).includes(ctx.name)) {
        t = w;
        break;
      }
    }
  }
  if (!t) fail(ctx, `the weights manifest has no "${exact}"`);
  if (t.dtype !== "float32") fail(ctx, `weight "${t.name}" is ${t.dtype}, expected float32`);
  return { data: t.data as Float32Array, shape: t.shape };
}

const pair = (v: unknown, fallback: number): [number, number] => {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === "number") return [v, v];
  const a = v as number[];
  return [a[0], a[1] ?? a[0]];
};

function channelsLast(ctx: LCtx): void {
  const f = ctx.cfg.data_format;
  if (f !== undefined && f !== null && f !== "channels_last") {
    fail(ctx, `data_format "${f}"; expected channels_last, as tfjs runs`);
  }
}

type Pad4 = [number, number, number, number];

function pads(
  ctx: LCtx,
  hw: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[],
): Pad4 {
  const mode = String(ctx.cfg.padding ?? "valid").toLowerCase();
  if (mode === "valid") return [0, 0, 0, 0];
  if (mode !== "same") fail(ctx, `padding "${mode}"; expected valid or same`);
  const p = [0, 1].map((i) => {
    const out = Math.ceil(hw[i] / stride[i]);
    const total = Math.max((out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - hw[i], 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  });
  return [p[0][0], p[1][0], p[0][1], p[1][1]];
}

/** Keras activation names -> the IR op(s) that compute them. */
const ACTIVATIONS: Record<string, ((b: TfjsBuilder, x: Val, path: string) => Val) | null> = {
  linear: null,
  relu: (b, x, p) => b.node("relu", {}, [x], p),
  relu6: (b, x, p) => b.node("relu6", {}, [x], p),
  sigmoid: (b, x, p) => b.node("sigmoid", {}, [x], p),
  tanh: (b, x, p) => b.node("tanh", {}, [x], p),
  // tfjs-layers and Keras 2: clip(0.2 x + 0.5, 0, 1).
  hard_sigmoid: (b, x, p) => b.node("hardsigmoid", { alpha: 0.2, beta: 0.5 }, [x], p),
  swish: (b, x, p) => b.node("silu", {}, [x], p),
  silu: (b, x, p) => b.node("silu", {}, [x], p),
  hard_swish: (b, x, p) => b.node("hardswish", {}, [x], p),
  hard_silu: (b, x, p) => b.node("hardswish", {}, [x], p),
  elu: (b, x, p) => b.node("elu", { alpha: 1 }, [x], p),
  exponential: (b, x, p) => b.node("exp", {}, [x], p),
  softmax: (b, x, p) => b.node("softmax", { axis: b.axis(x, -1) }, [x], p),
};

function activate(ctx: LCtx, x: Val, name: unknown): Val {
  const act = typeof name === "string" ? name : "linear";
  if (!(act in ACTIVATIONS)) {
    fail(
      ctx,
      `activation "${act}" is not supported; expected ${Object.keys(ACTIVATIONS).join(", ")}`,
    );
  }
  const f = ACTIVATIONS[act];
  return f ? f(ctx.b, x, `${ctx.name}.${act}`) : x;
}

function one(ctx: LCtx, ins: Val[]): Val {
  if (ins.length !== 1) fail(ctx, `takes one input, got ${ins.length}`);
  return ins[0];
}

function convLayer(ctx: LCtx, ins: Val[], kind: "conv" | "depthwise" | "separable"): Val {
  channelsLast(ctx);
  const x = ctx.b.nchw(one(ctx, ins));
  if (x.shape.length !== 4) fail(ctx, `input has rank ${x.shape.length}, expected 4`);
  const cin = x.shape[1];
  const kernel = pair(ctx.cfg.kernel_size, 1);
  const stride = pair(ctx.cfg.strides, 1);
  const dilation = pair(ctx.cfg.dilation_rate, 1);
  const padding = pads(ctx, x.shape.slice(2), kernel, stride, dilation);
  const useBias = ctx.cfg.use_bias !== false;
  const common = { kernel, stride, padding, dilation };
  if (kind === "conv") {
    const k = weight(ctx, "kernel");
    const [kh, kw, fin, fout] = k.shape;
    if (k.shape.length !== 4 || kh !== kernel[0] || kw !== kernel[1] || cin % fin !== 0) {
      fail(ctx, `kernel [${k.shape.join(", ")}] does not fit ${cin} input channels`);
    }
    const params: Record<string, Float32Array> = {
      weight: transposeData(k.data, k.shape, [3, 2, 0, 1]),
    };
    if (useBias) params.bias = weight(ctx, "bias").data;
    const y = ctx.b.node(
      "conv2d",
      {
        inChannels: cin,
        outChannels: fout,
        groups: cin / fin,
        bias: useBias,
        ...common,
      },
      [x],
      ctx.name,
      params,
    );
    return activate(ctx, y, ctx.cfg.activation);
  }
  const dk = weight(ctx, "depthwise_kernel");
  const [kh, kw, c, m] = dk.shape;
  if (dk.shape.length !== 4 || kh !== kernel[0] || kw !== kernel[1]) {
    fail(ctx, `depthwise kernel [${dk.shape.join(", ")}] is not [${kernel.join(", ")}, C, M]`);
  }
  if (c !== cin) fail(ctx, `depthwise kernel has ${c} channels, the input ${cin}`);
  const dwWeight = transposeData(dk.data, [kh, kw, c * m], [2, 0, 1]);
  if (kind === "depthwise") {
    const params: Record<string, Float32Array> = { weight: dwWeight };
    if (useBias) params.bias = weight(ctx, "bias").data;
    const y = ctx.b.node(
      "conv2d",
      {
        inChannels: cin,
        outChannels: c * m,
        groups: cin,
        bias: useBias,
        ...common,
      },
      [x],
      ctx.name,
      params,
    );
    return activate(ctx, y, ctx.cfg.activation);
  }
  const dw = ctx.b.node(
    "conv2d",
    {
      inChannels: cin,
      outChannels: c * m,
      groups: cin,
      bias: false,
      ...common,
    },
    [x],
    `${ctx.name}.depthwise`,
    { weight: dwWeight },
  );
  const pk = weight(ctx, "pointwise_kernel");
  if (pk.shape.length !== 4 || pk.shape[2] !== c * m) {
    fail(ctx, `pointwise kernel [${pk.shape.join(", ")}] does not fit ${c * m} channels`);
  }
  const params: Record<string, Float32Array> = {
    weight: transposeData(pk.data, pk.shape, [3, 2, 0, 1]),
  };
  if (useBias) params.bias = weight(ctx, "bias").data;
  const y = ctx.b.node(
    "conv2d",
    {
      inChannels: c * m,
      outChannels: pk.shape[3],
      kernel: [1, 1],
      stride: [1, 1],
      padding: [0, 0, 0, 0],
      dilation: [1, 1],
      groups: 1,
      bias: useBias,
    },
    [dw],
    `${ctx.name}.pointwise`,
    params,
  );
  return activate(ctx, y, ctx.cfg.activation);
}

/**
 * Conv2DTranspose: Keras' output length (`in * s` for same, `in * s + max(k - s, 0)`
 * for valid, or `(in - 1) * s + k - 2 * pad + output_padding`), then the pads of
 * the forward conv from that length back, and the rest as output padding.
 */
function convTransposeLayer(ctx: LCtx, ins: Val[]): Val {
  channelsLast(ctx);
  const x = ctx.b.nchw(one(ctx, ins));
  const kernel = pair(ctx.cfg.kernel_size, 1);
  const stride = pair(ctx.cfg.strides, 1);
  const dilation = pair(ctx.cfg.dilation_rate, 1);
  const k = weight(ctx, "kernel");
  const [kh, kw, cout, cin] = k.shape;
  if (k.shape.length !== 4 || kh !== kernel[0] || kw !== kernel[1] || cin !== x.shape[1]) {
    fail(ctx, `kernel [${k.shape.join(", ")}] does not fit ${x.shape[1]} input channels`);
  }
  const same = String(ctx.cfg.padding ?? "valid").toLowerCase() === "same";
  const given = ctx.cfg.output_padding;
  const out = [0, 1].map((i) => {
    const eff = kernel[i] + (kernel[i] - 1) * (dilation[i] - 1);
    const n = x.shape[2 + i];
    if (given === null || given === undefined) {
      return same ? n * stride[i] : n * stride[i] + Math.max(eff - stride[i], 0);
    }
    const op = pair(given, 0)[i];
    return (n - 1) * stride[i] + eff - 2 * (same ? Math.floor(eff / 2) : 0) + op;
  });
  const padding = pads(ctx, out, kernel, stride, dilation);
  const outputPadding = [0, 1].map((i) =>
    out[i] - ((x.shape[2 + i] - 1) * stride[i] - padding[i] - padding[i + 2] +
      dilation[i] * (kernel[i] - 1) + 1)
  ) as [number, number];
  const useBias = ctx.cfg.use_bias !== false;
  const params: Record<string, Float32Array> = {
    weight: transposeData(k.data, k.shape, [3, 2, 0, 1]),
  };
  if (useBias) params.bias = weight(ctx, "bias").data;
  const y = ctx.b.node(
    "conv_transpose2d",
    {
      inChannels: cin,
      outChannels: cout,
      kernel,
      stride,
      padding,
      outputPadding,
      dilation,
      groups: 1,
      bias: useBias,
    },
    [x],
    ctx.name,
    params,
  );
  return activate(ctx, y, ctx.cfg.activation);
}

function lastAxis(ctx: LCtx, x: Val, axis: unknown): void {
  const rank = x.shape.length;
  const a = Array.isArray(axis) ? axis[0] : axis ?? -1;
  if (a !== -1 && a !== rank - 1) fail(ctx, `axis ${a}; only the channel axis (-1) is supported`);
}

function batchNorm(ctx: LCtx, ins: Val[]): Val {
  const x0 = one(ctx, ins);
  lastAxis(ctx, x0, ctx.cfg.axis);
  const x = ctx.b.nchw(x0);
  const c = fileShape(x).at(-1)!;
  const gamma = ctx.cfg.scale === false ? new Float32Array(c).fill(1) : weight(ctx, "gamma").data;
  const beta = ctx.cfg.center === false ? new Float32Array(c) : weight(ctx, "beta").data;
  return ctx.b.node("batch_norm", { channels: c, eps: ctx.cfg.epsilon ?? 1e-3 }, [x], ctx.name, {
    weight: gamma,
    bias: beta,
    running_mean: weight(ctx, "moving_mean").data,
    running_var: weight(ctx, "moving_variance").data,
  });
}

function reluLayer(ctx: LCtx, ins: Val[]): Val {
  const x = one(ctx, ins);
  const max = ctx.cfg.max_value;
  const slope = ctx.cfg.negative_slope ?? 0;
  const threshold = ctx.cfg.threshold ?? 0;
  if (threshold !== 0) fail(ctx, `threshold ${threshold}; only 0 is supported`);
  if (slope !== 0) {
    if (max !== null && max !== undefined) fail(ctx, "a leaky ReLU with max_value");
    return ctx.b.node("leaky_relu", { alpha: slope }, [x], ctx.name);
  }
  if (max === null || max === undefined) return ctx.b.node("relu", {}, [x], ctx.name);
  if (max === 6) return ctx.b.node("relu6", {}, [x], ctx.name);
  return ctx.b.node("clip", { min: 0, max }, [x], ctx.name);
}

function merge(kind: "add" | "mul" | "sub" | "max" | "min"): LayerConverter {
  return (ctx, ins) => {
    if (ins.length < 2) fail(ctx, `takes two or more inputs, got ${ins.length}`);
    const fourD = ins.every((v) => v.shape.length === 4);
    const vals = ins.map((v) => (fourD ? ctx.b.nchw(v) : ctx.b.plain(v)));
    let y = vals[0];
    for (let i = 1; i < vals.length; i++) {
      y = ctx.b.node(kind, {}, [y, vals[i]], i === vals.length - 1 ? ctx.name : `${ctx.name}.${i}`);
    }
    return y;
  };
}

function pool2d(kind: "max_pool" | "avg_pool"): LayerConverter {
  return (ctx, ins) => {
    channelsLast(ctx);
    const x = ctx.b.nchw(one(ctx, ins));
    const kernel = pair(ctx.cfg.pool_size, 2);
    const stride = ctx.cfg.strides ? pair(ctx.cfg.strides, 1) : kernel;
    const padding = pads(ctx, x.shape.slice(2), kernel, stride, [1, 1]);
    return ctx.b.node(kind, { kernel, stride, padding, ceilMode: false, countIncludePad: false }, [
      x,
    ], ctx.name);
  };
}

function globalPool(kind: "global_avg_pool" | "global_max_pool"): LayerConverter {
  return (ctx, ins) => {
    channelsLast(ctx);
    const x = ctx.b.nchw(one(ctx, ins));
    const pooled = ctx.b.node(kind, {}, [x], ctx.cfg.keepdims ? ctx.name : `${ctx.name}.pool`);
    if (ctx.cfg.keepdims) return pooled;
    return { ...ctx.b.node("flatten", { axis: 1 }, [pooled], ctx.name), nchw: false };
  };
}

/** `x` reshaped to the file shape `shape` (batch included). */
function reshapeTo(ctx: LCtx, x: Val, shape: number[], path = ctx.name): Val {
  const sameOrder = x.nchw && x.shape[2] * x.shape[3] === 1;
  const src = sameOrder ? x : ctx.b.plain(x);
  if (shape.length === 2 && shape[0] === src.shape[0]) {
    return { ...ctx.b.node("flatten", { axis: 1 }, [src], path), nchw: false };
  }
  return { ...ctx.b.node("reshape", { shape }, [src], path), nchw: false };
}

function reshapeLayer(ctx: LCtx, ins: Val[]): Val {
  const x = one(ctx, ins);
  const file = fileShape(x);
  const target = (ctx.cfg.target_shape as number[]).map(Number);
  const total = file.slice(1).reduce((a, b) => a * b, 1);
  const known = target.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const shape = [file[0], ...target.map((d) => (d === -1 ? total / known : d))];
  if (shape.slice(1).reduce((a, b) => a * b, 1) !== total) {
    fail(ctx, `cannot reshape [${file.join(", ")}] to [${shape.join(", ")}]`);
  }
  return reshapeTo(ctx, x, shape);
}

function permuteLayer(ctx: LCtx, ins: Val[]): Val {
  const x = ctx.b.plain(one(ctx, ins));
  const perm = [0, ...(ctx.cfg.dims as number[])];
  return { ...ctx.b.node("transpose", { perm }, [x], ctx.name), nchw: false };
}

function concatLayer(ctx: LCtx, ins: Val[]): Val {
  const fourD = ins.every((v) => v.shape.length === 4);
  const vals = ins.map((v) => (fourD ? ctx.b.nchw(v) : ctx.b.plain(v)));
  const axis = ctx.b.axis(vals[0], ctx.cfg.axis ?? -1);
  return ctx.b.node("concat", { axis }, vals, ctx.name);
}

function zeroPad(ctx: LCtx, ins: Val[]): Val {
  channelsLast(ctx);
  const x = ctx.b.nchw(one(ctx, ins));
  const p = ctx.cfg.padding;
  let t: number, bt: number, l: number, r: number;
  if (typeof p === "number") [t, bt, l, r] = [p, p, p, p];
  else if (Array.isArray(p[0])) [[t, bt], [l, r]] = p as number[][];
  else [t, bt, l, r] = [p[0], p[0], p[1], p[1]];
  // IR pads: begins then ends over [N, C, H, W].
  return ctx.b.node(
    "pad",
    { pads: [0, 0, t, l, 0, 0, bt, r], mode: "constant", value: 0 },
    [x],
    ctx.name,
  );
}

function dense(ctx: LCtx, ins: Val[]): Val {
  const x = ctx.b.plain(one(ctx, ins));
  if (x.shape.length !== 2) {
    fail(ctx, `input has rank ${x.shape.length}, expected 2 (flatten first)`);
  }
  const k = weight(ctx, "kernel");
  const [inF, outF] = k.shape;
  if (k.shape.length !== 2 || inF !== x.shape[1]) {
    fail(ctx, `kernel [${k.shape.join(", ")}] does not fit ${x.shape[1]} input features`);
  }
  const useBias = ctx.cfg.use_bias !== false;
  const params: Record<string, Float32Array> = { weight: transposeData(k.data, k.shape, [1, 0]) };
  if (useBias) params.bias = weight(ctx, "bias").data;
  const y = ctx.b.node(
    "linear",
    { inFeatures: inF, outFeatures: outF, bias: useBias },
    [x],
    ctx.name,
    params,
  );
  return activate(ctx, y, ctx.cfg.activation);
}

function preluLayer(ctx: LCtx, ins: Val[]): Val {
  const x = one(ctx, ins);
  const a = weight(ctx, "alpha");
  const c = fileShape(x).at(-1)!;
  const n = a.data.length;
  if (n === c && (x.nchw || x.shape.length === 2)) {
    return ctx.b.node("prelu", { channels: c }, [x], ctx.name, { weight: a.data });
  }
  if (n === 1) return ctx.b.node("prelu", { channels: 1 }, [x], ctx.name, { weight: a.data });
  // Slopes per position (Keras' default, no shared_axes): relu(x) + alpha * min(x, 0),
  // alpha a stored constant of the batch-less shape, held in the IR's layout.
  const file = fileShape(x);
  const full = [1, ...a.shape];
  if (full.length !== file.length) fail(ctx, `alpha of shape [${a.shape.join(", ")}]`);
  const alpha = x.nchw
    ? ctx.b.node("const", { shape: [1, full[3], full[1], full[2]] }, [], `${ctx.name}.alpha`, {
      value: transposeData(a.data, full, [0, 3, 1, 2]),
    })
    : ctx.b.node("const", { shape: full }, [], `${ctx.name}.alpha`, { value: a.data });
  const pos = ctx.b.node("relu", {}, [x], `${ctx.name}.pos`);
  const neg = ctx.b.node("clip", { min: -Infinity, max: 0 }, [x], `${ctx.name}.neg`);
  const scaled = ctx.b.node("mul", {}, [neg, { ...alpha, nchw: x.nchw }], `${ctx.name}.scaled`);
  return ctx.b.node("add", {}, [pos, scaled], ctx.name);
}

/** Keras Rescaling: `x * scale + offset` with scalars (or one value per channel). */
function rescaling(ctx: LCtx, ins: Val[]): Val {
  const x = one(ctx, ins);
  const vec = (v: unknown) =>
    Float32Array.from(Array.isArray(v) ? v.map(Number) : [Number(v ?? 0)]);
  const scale = vec(ctx.cfg.scale ?? 1);
  const offset = vec(ctx.cfg.offset ?? 0);
  const c = Math.max(scale.length, offset.length);
  if (c > 1 && !(x.nchw || x.shape.length === 2)) fail(ctx, "per-channel scale on a 3-D tensor");
  const at = (v: Float32Array, i: number) => v[v.length === 1 ? 0 : i];
  return ctx.b.node("affine", { channels: c }, [x], ctx.name, {
    weight: Float32Array.from({ length: c }, (_, i) => at(scale, i)),
    bias: Float32Array.from({ length: c }, (_, i) => at(offset, i)),
  });
}

function upSampling(ctx: LCtx, ins: Val[]): Val {
  channelsLast(ctx);
  const x = ctx.b.nchw(one(ctx, ins));
  const [sh, sw] = pair(ctx.cfg.size, 2);
  const bilinear = ctx.cfg.interpolation === "bilinear";
  return ctx.b.node(
    "resize",
    {
      mode: bilinear ? "linear" : "nearest",
      // tfjs-layers resizes with align_corners and half_pixel_centers off: asymmetric.
      coordinateTransformation: "asymmetric",
      nearestMode: "floor",
      outShape: [x.shape[0], x.shape[1], x.shape[2] * sh, x.shape[3] * sw],
    },
    [x],
    ctx.name,
  );
}

function cropping(ctx: LCtx, ins: Val[]): Val {
  const x = ctx.b.nchw(one(ctx, ins));
  const c = ctx.cfg.cropping;
  const [[t, bt], [l, r]] = typeof c === "number"
    ? [[c, c], [c, c]]
    : Array.isArray(c[0])
    ? c as number[][]
    : [[c[0], c[0]], [c[1], c[1]]];
  let y = x;
  if (t || bt) {
    y = ctx.b.node(
      "slice",
      { axis: 2, start: t, end: x.shape[2] - bt, step: 1 },
      [y],
      `${ctx.name}.h`,
    );
  }
  if (l || r) {
    y = ctx.b.node("slice", { axis: 3, start: l, end: x.shape[3] - r, step: 1 }, [y], ctx.name);
  }
  return y;
}

type LayerConverter = (ctx: LCtx, ins: Val[]) => Val;
const identity: LayerConverter = (ctx, ins) => one(ctx, ins);

/** Converters keyed by Keras layer class. */
export const LAYER_CONVERTERS: Record<string, LayerConverter> = {
  Conv2D: (ctx, ins) => convLayer(ctx, ins, "conv"),
  DepthwiseConv2D: (ctx, ins) => convLayer(ctx, ins, "depthwise"),
  SeparableConv2D: (ctx, ins) => convLayer(ctx, ins, "separable"),
  Conv2DTranspose: convTransposeLayer,
  BatchNormalization: batchNorm,
  ReLU: reluLayer,
  Activation: (ctx, ins) => activate(ctx, one(ctx, ins), ctx.cfg.activation),
  LeakyReLU: (ctx, ins) =>
    ctx.b.node("leaky_relu", { alpha: ctx.cfg.alpha ?? ctx.cfg.negative_slope ?? 0.3 }, [
      one(ctx, ins),
    ], ctx.name),
  ELU: (ctx, ins) => ctx.b.node("elu", { alpha: ctx.cfg.alpha ?? 1 }, [one(ctx, ins)], ctx.name),
  PReLU: preluLayer,
  Softmax: (ctx, ins) => {
    const x = one(ctx, ins);
    return ctx.b.node("softmax", { axis: ctx.b.axis(x, ctx.cfg.axis ?? -1) }, [x], ctx.name);
  },
  Add: merge("add"),
  Multiply: merge("mul"),
  Subtract: merge("sub"),
  Maximum: merge("max"),
  Minimum: merge("min"),
  Average: (ctx, ins) => {
    const sum = merge("add")({ ...ctx, name: `${ctx.name}.sum` }, ins);
    const n = ins.length;
    return ctx.b.node("affine", { channels: 1 }, [sum], ctx.name, {
      weight: Float32Array.of(1 / n),
      bias: Float32Array.of(0),
    });
  },
  Concatenate: concatLayer,
  MaxPooling2D: pool2d("max_pool"),
  AveragePooling2D: pool2d("avg_pool"),
  GlobalAveragePooling2D: globalPool("global_avg_pool"),
  GlobalMaxPooling2D: globalPool("global_max_pool"),
  ZeroPadding2D: zeroPad,
  Cropping2D: cropping,
  UpSampling2D: upSampling,
  Reshape: reshapeLayer,
  Permute: permuteLayer,
  Flatten: (ctx, ins) => {
    const x = one(ctx, ins);
    const file = fileShape(x);
    return reshapeTo(ctx, x, [file[0], file.slice(1).reduce((a, b) => a * b, 1)]);
  },
  Dense: dense,
  Dropout: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  ActivityRegularization: identity,
  Rescaling: rescaling,
};

// ---------------------------------------------------------------- topology

interface Call {
  layer: KerasLayer;
  name: string;
  /** Inbound `[layer name, node index, tensor index]`. */
  inbound: [string, number, number][];
}

function parseInbound(layer: KerasLayer, source: string): [string, number, number][][] {
  const nodes = layer.inbound_nodes ?? [];
  return nodes.map((n) => {
    // Keras 2: [[name, nodeIndex, tensorIndex, kwargs], ...]; Keras 3: {args: [...keras tensors]}.
    if (Array.isArray(n)) {
      return n.map((e) => {
        const [name, ni, ti] = e as [string, number, number];
        return [name, ni ?? 0, ti ?? 0] as [string, number, number];
      });
    }
    const args = (n as { args?: unknown[] }).args ?? [];
    const flat = args.flatMap((a) => (Array.isArray(a) ? a : [a]));
    return flat.map((a) => {
      const h = (a as { config?: { keras_history?: [string, number, number] } }).config
        ?.keras_history;
      if (!h) {
        throw new TfjsImportError(
          `Layer "${layer.config.name}" of ${source} has an inbound node without keras_history`,
        );
      }
      return h;
    });
  });
}

function inputShapeOf(layer: KerasLayer): number[] | undefined {
  const c = layer.config;
  const s = c.batch_input_shape ?? c.batch_shape ??
    (c.input_shape ? [null, ...c.input_shape] : undefined);
  return s ? s.map((d: number | null) => (d === null ? -1 : d)) : undefined;
}

function fixShape(
  shape: number[],
  given: number[] | undefined,
  name: string,
  source: string,
): number[] {
  return resolveInputShape(shape.length ? shape : undefined, given, name, source);
}

/**
 * Imports a parsed layers-model `model.json` with its decoded weights.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importLayersModel } from "./tfjs_layers.ts";
 * const json = { format: "layers-model", modelTopology: { class_name: "Sequential", config: {
 *   name: "s", layers: [{ class_name: "Lambda", config: { name: "l", batch_input_shape: [null, 4] } }],
 * } } };
 * assert.throws(
 *   () => importLayersModel(json, new Map(), { source: "m.json" }),
 *   /Cannot import m\.json: unsupported Keras layer\(s\) Lambda \(first layer "l"\)/,
 * );
 * ```
 */
export function importLayersModel(
  json: LayersModelJson,
  weights: TfjsWeights,
  options: LayersImportOptions = {},
): TfjsImport {
  const source = options.source ?? "model.json";
  const topo = json.modelTopology?.model_config ?? json.modelTopology;
  const cls = topo?.class_name;
  const config = topo?.config;
  const layers: KerasLayer[] | undefined = Array.isArray(config) ? config : config?.layers;
  if (!Array.isArray(layers)) {
    throw new TfjsImportError(`Invalid layers model ${source}: the topology has no layer list`);
  }
  for (const [i, l] of layers.entries()) {
    if (typeof l?.class_name !== "string" || typeof l?.config !== "object" || l.config === null) {
      throw new TfjsImportError(
        `Invalid layers model ${source}: layer ${i} needs a string "class_name" and a "config" object`,
      );
    }
  }
  const unknown = new Map<string, string>();
  for (const l of layers) {
    if (
      l.class_name !== "InputLayer" && !(l.class_name in LAYER_CONVERTERS) &&
      !unknown.has(l.class_name)
    ) {
      unknown.set(l.class_name, l.config?.name ?? l.name ?? "?");
    }
  }
  if (unknown.size) {
    const list = [...unknown].map(([c, n]) => `${c} (first layer "${n}")`).join(", ");
    throw new TfjsImportError(`Cannot import ${source}: unsupported Keras layer(s) ${list}`);
  }
  const b = new TfjsBuilder(source);
  const values = new Map<string, Val>();
  const calls: Call[] = [];
  const inputNames: string[] = [];
  const sequential = cls === "Sequential" || (Array.isArray(config) || !config?.input_layers);
  if (sequential) {
    let prev: string | undefined;
    for (const [i, l] of layers.entries()) {
      const name = l.config.name ?? `layer_${i}`;
      if (l.class_name === "InputLayer" || (prev === undefined && inputShapeOf(l))) {
        const inName = l.class_name === "InputLayer" ? name : `${name}_input`;
        const shape = fixShape(inputShapeOf(l) ?? [], options.inputShape, inName, source);
        values.set(inName, b.input(inName, shape));
        inputNames.push(inName);
        prev = inName;
        if (l.class_name === "InputLayer") continue;
      }
      if (prev === undefined) {
        throw new TfjsImportError(`Sequential model ${source} does not say its input shape`);
      }
      calls.push({ layer: l, name, inbound: [[prev, 0, 0]] });
      prev = name;
    }
  } else {
    for (const l of layers) {
      const name = l.config.name ?? l.name;
      if (l.class_name === "InputLayer") {
        const shape = fixShape(inputShapeOf(l) ?? [], options.inputShape, name, source);
        values.set(name, b.input(name, shape));
        inputNames.push(name);
        continue;
      }
      const inbound = parseInbound(l, source);
      if (inbound.length !== 1) {
        throw new TfjsImportError(
          `Layer "${name}" of ${source} is called ${inbound.length} times; shared layers are not supported`,
        );
      }
      calls.push({ layer: l, name, inbound: inbound[0] });
    }
  }
  // Layers of a Functional model may be listed before their inputs: repeat until done.
  const pending = [...calls];
  while (pending.length) {
    const at = pending.findIndex((c) => c.inbound.every(([n]) => values.has(n)));
    if (at < 0) {
      const c = pending[0];
      throw new TfjsImportError(
        `Layer "${c.name}" of ${source} reads "${
          c.inbound.map(([n]) => n).find((n) => !values.has(n))
        }", which is not a layer`,
      );
    }
    const [call] = pending.splice(at, 1);
    const ctx: LCtx = {
      layer: call.layer,
      name: call.name,
      b,
      weights,
      source,
      cfg: call.layer.config,
    };
    const ins = call.inbound.map(([n]) => values.get(n)!);
    values.set(call.name, LAYER_CONVERTERS[call.layer.class_name](ctx, ins));
  }
  const outs: string[] = sequential
    ? [calls.at(-1)?.name ?? inputNames[0]]
    : (config.output_layers as [string, number, number][]).map((o) => o[0]);
  for (const o of outs) {
    const v = values.get(o);
    if (!v) throw new TfjsImportError(`Output layer "${o}" of ${source} is not a layer`);
    b.output(o, v);
  }
  return b.build(options.name ?? config?.name ?? "model", { format: "tfjs layers-model" });
}
