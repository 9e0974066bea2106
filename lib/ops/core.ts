/**
 * The vocabulary every op record speaks: shapes, the attrs type of every op
 * kind ({@link OpAttrs}), parameter specs and the shape error. The lowest
 * module of the toolkit: it imports nothing.
 *
 * Layout: tensors are row-major, any rank 1..5; conv and pool ops work on
 * NCHW (`[N, C, H, W]`). One `conv2d` covers standard, grouped, depthwise and
 * pointwise convolution (`groups`); kernel families are chosen in codegen.
 *
 * @module
 */

/** Padding as `[top, left, bottom, right]`, in pixels. */
export type Pads = readonly [top: number, left: number, bottom: number, right: number];
/** A pair `[height, width]` (kernel size, stride, dilation). */
export type HW = readonly [h: number, w: number];
/** A tensor shape: `[N, C, H, W]` for feature maps, `[N, F]` for features. */
export type Shape = readonly number[];

/** 2-D convolution; `groups === inChannels === outChannels` is depthwise. */
export interface Conv2dAttrs {
  inChannels: number;
  outChannels: number;
  kernel: HW;
  stride: HW;
  padding: Pads;
  dilation: HW;
  groups: number;
  bias: boolean;
}
/** Inference-mode batch normalization over channels (affine, running stats). */
export interface BatchNormAttrs {
  channels: number;
  eps: number;
}
/** `min(max(x, min), max)`; `relu6` is the common case with its own kind. */
export interface ClipAttrs {
  min: number;
  max: number;
}
/** `clip(alpha * x + beta, 0, 1)` (ONNX HardSigmoid; torchvision uses 1/6, 1/2). */
export interface HardSigmoidAttrs {
  alpha: number;
  beta: number;
}
/**
 * An axis of a tensor of rank r: `0 <= axis < r`, or negative counting from
 * the end (`-1` is the last axis), as in ONNX and numpy.
 */
export interface AxisAttrs {
  axis: number;
}
/** One part of a split along `axis`: indices `[offset, offset + size)` of that axis. */
export interface SplitAttrs {
  axis: number;
  offset: number;
  size: number;
}
/** ONNX Flatten: `[prod(dims before axis), prod(dims from axis on)]`; `0 <= axis <= r` (or negative). */
export type FlattenAttrs = AxisAttrs;
/** Output axis `i` is input axis `perm[i]` (numpy/ONNX Transpose). */
export interface TransposeAttrs {
  perm: readonly number[];
}
/** Reinterprets the row-major data with a new shape: fully resolved dims (no -1, no 0). */
export interface ReshapeAttrs {
  shape: readonly number[];
}
/**
 * Indices `start, start + step, ...` of one axis, stopping before `end`
 * (numpy `x[start:end:step]`), resolved: `0 <= start < size`, `-1 <= end <= size`,
 * `step` non-zero (negative walks backwards).
 */
export interface SliceAttrs {
  axis: number;
  start: number;
  end: number;
  step: number;
}
/**
 * ONNX Gather with a constant 1-D index list: output axis `axis` has
 * `indices.length` entries, entry `j` being input index `indices[j]`
 * (negative counts from the end). `scalarIndex` (one index, a 0-D ONNX
 * indices tensor) drops the axis.
 */
export interface GatherAttrs {
  axis: number;
  indices: readonly number[];
  scalarIndex: boolean;
}
/** ShuffleNet channel shuffle: reshape to (groups, C/groups), transpose, flatten. */
export interface ChannelShuffleAttrs {
  groups: number;
}
/** Max or average pooling over a window. */
export interface Pool2dAttrs {
  kernel: HW;
  stride: HW;
  padding: Pads;
  /** Output size rounds up (PyTorch `ceil_mode`); a window never starts in the right/bottom padding. */
  ceilMode: boolean;
  /** Average pooling only: divide by the full window, padding included (PyTorch default `true`). */
  countIncludePad: boolean;
}
/** Fully connected layer on `[N, F]` input. */
export interface LinearAttrs {
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}
/** Identity at inference; `p` is kept for export. */
export interface DropoutAttrs {
  p: number;
}
/** Softmax over `axis` (1: the features of `[N, F]`, the channels of `[N, C, H, W]`). */
export type SoftmaxAttrs = AxisAttrs;
/** A slope or scale of an activation (`elu`, `leaky_relu`). */
export interface AlphaAttrs {
  alpha: number;
}
/** Per-channel op on axis 1 with a `[channels]` parameter; `channels` 1 is one shared value. */
export interface ChannelsAttrs {
  channels: number;
}
/** A constant tensor the file stores: no inputs, one parameter `value` of `shape`. */
export interface ConstAttrs {
  shape: readonly number[];
}
/** Padding modes of ONNX Pad. */
export type PadMode = "constant" | "reflect" | "edge";
/**
 * ONNX Pad: `pads` lists the begins of every axis, then the ends
 * (`[x1_begin, x2_begin, ..., x1_end, x2_end, ...]`), non-negative; `value`
 * fills `constant` padding, `reflect` mirrors without repeating the border,
 * `edge` repeats it.
 */
export interface PadAttrs {
  pads: readonly number[];
  mode: PadMode;
  value: number;
}
/** Reductions of `reduce`. */
export type ReduceOp = "mean" | "sum" | "max";
/** Reduces `axes` (negative from the end) with `op`; `keepDims` keeps them as size 1. */
export interface ReduceAttrs {
  op: ReduceOp;
  axes: readonly number[];
  keepDims: boolean;
}
/** Coordinate transformations of ONNX Resize (output index to input coordinate). */
export type CoordinateTransformation =
  | "half_pixel"
  | "asymmetric"
  | "align_corners"
  | "pytorch_half_pixel"
  | "tf_half_pixel_for_nn";
/** How ONNX Resize rounds a coordinate to the nearest input index. */
export type NearestMode = "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil";
/**
 * ONNX Resize to a resolved `outShape`, the scale of each axis being
 * output size / input size (as onnxruntime computes it from `sizes`), or the
 * file's `scales` when it gives scales instead of sizes.
 */
export interface ResizeAttrs {
  mode: "nearest" | "linear";
  coordinateTransformation: CoordinateTransformation;
  nearestMode: NearestMode;
  outShape: readonly number[];
  /**
   * Optional: the file's per-axis scales (ONNX `scales` input). The
   * coordinate transforms then divide by them, as onnxruntime does, and
   * `outShape` must be `floor(input * scale)` per axis. Absent: output / input.
   */
  scales?: readonly number[];
}
/**
 * Transposed 2-D convolution (PyTorch ConvTranspose2d, ONNX ConvTranspose):
 * weight `[inChannels, outChannels / groups, kh, kw]`; output size per axis
 * `(in - 1) * stride - padBegin - padEnd + dilation * (k - 1) + outputPadding + 1`.
 */
export interface ConvTranspose2dAttrs {
  inChannels: number;
  outChannels: number;
  kernel: HW;
  stride: HW;
  padding: Pads;
  outputPadding: HW;
  dilation: HW;
  groups: number;
  bias: boolean;
}
/** LayerNorm over the axes from `axis` on; `channels` = their element count (size of weight and bias). */
export interface LayerNormAttrs {
  axis: number;
  eps: number;
  channels: number;
}
/** Ops without attributes. */
export type NoAttrs = Record<string, never>;

/** Attrs type of every op kind. */
export interface OpAttrs {
  conv2d: Conv2dAttrs;
  batch_norm: BatchNormAttrs;
  relu: NoAttrs;
  relu6: NoAttrs;
  clip: ClipAttrs;
  hardswish: NoAttrs;
  hardsigmoid: HardSigmoidAttrs;
  sigmoid: NoAttrs;
  /** Element-wise sum with numpy broadcasting (residual shortcut). */
  add: NoAttrs;
  /** Element-wise product with numpy broadcasting (squeeze-excite's `[N, C, 1, 1]` scale). */
  mul: NoAttrs;
  /** Concatenation along `axis` (channels: 1). */
  concat: AxisAttrs;
  split: SplitAttrs;
  channel_shuffle: ChannelShuffleAttrs;
  max_pool: Pool2dAttrs;
  avg_pool: Pool2dAttrs;
  global_avg_pool: NoAttrs;
  flatten: FlattenAttrs;
  linear: LinearAttrs;
  dropout: DropoutAttrs;
  softmax: SoftmaxAttrs;
  transpose: TransposeAttrs;
  reshape: ReshapeAttrs;
  slice: SliceAttrs;
  gather: GatherAttrs;
  sub: NoAttrs;
  div: NoAttrs;
  pow: NoAttrs;
  max: NoAttrs;
  min: NoAttrs;
  exp: NoAttrs;
  log: NoAttrs;
  tanh: NoAttrs;
  sqrt: NoAttrs;
  reciprocal: NoAttrs;
  neg: NoAttrs;
  abs: NoAttrs;
  erf: NoAttrs;
  softplus: NoAttrs;
  elu: AlphaAttrs;
  leaky_relu: AlphaAttrs;
  silu: NoAttrs;
  /** `x >= 0 ? x : slope[c] * x`, slopes a parameter on axis 1. */
  prelu: ChannelsAttrs;
  /** `x * weight[c] + bias[c]` on axis 1: a scalar or per-channel scale and shift the file stores. */
  affine: ChannelsAttrs;
  const: ConstAttrs;
  pad: PadAttrs;
  /** Max over every axis after the first two: `[N, C, ...]` to `[N, C, 1, ...]`. */
  global_max_pool: NoAttrs;
  reduce: ReduceAttrs;
  resize: ResizeAttrs;
  /** numpy matmul of two computed tensors (batch axes broadcast). */
  matmul: NoAttrs;
  conv_transpose2d: ConvTranspose2dAttrs;
  layer_norm: LayerNormAttrs;
  /** Normalizes each (n, c) plane over its spatial axes; weight and bias `[channels]`. */
  instance_norm: BatchNormAttrs;
}

/** Name of an op, e.g. `"conv2d"`. */
export type OpKind = keyof OpAttrs;

/**
 * How a parameter tensor counts: `weight` (conv/linear kernels, the papers'
 * convention; also PReLU slopes, affine scales and stored constants), `bias`
 * (conv/linear bias, affine shifts), `bn` (normalization gamma and beta:
 * BatchNorm, LayerNorm, InstanceNorm; learnable) or `buffer` (BatchNorm running mean and variance: stored, not
 * learnable, never counted as parameters).
 */
export type ParamRole = "weight" | "bias" | "bn" | "buffer";

/** One parameter tensor of a node, named as in a PyTorch state_dict suffix. */
export interface ParamSpec {
  /** Suffix after the node name: `weight`, `bias`, `running_mean`, `running_var`, `value` (const). */
  name: "weight" | "bias" | "running_mean" | "running_var" | "value";
  shape: Shape;
  role: ParamRole;
}

/** Number of elements of a shape. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Formats a shape as `1x3x224x224`. */
export function formatShape(shape: Shape): string {
  return shape.join("x");
}

/** Output size of a sliding window along one axis (PyTorch's rule, ceil mode included). */
export function windowOutSize(
  size: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceilMode: boolean,
): number {
  const span = size + padBegin + padEnd - dilation * (kernel - 1) - 1;
  if (!ceilMode) return Math.floor(span / stride) + 1;
  let out = Math.ceil(span / stride) + 1;
  // The last window must start inside the input or the left padding.
  if ((out - 1) * stride >= size + padBegin) out -= 1;
  return out;
}

/** Thrown when a node's inputs do not fit its attrs; the message names the node. */
export class ShapeError extends TypeError {
  constructor(readonly node: string, detail: string) {
    super(`Cannot infer shape of "${node}": ${detail}`);
    this.name = "ShapeError";
  }
}
