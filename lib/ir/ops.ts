/**
 * The op catalog: one kind name and one attrs type per op, its shape rule and
 * the shapes of its parameters. Every other stage (cost, reference executor,
 * codegen emitters, ONNX interop) keys its tables by {@link OpKind} with
 * `satisfies Record<OpKind, ...>`, so an op added here and forgotten there is a
 * type error.
 *
 * Layout: activations are NCHW (`[N, C, H, W]`); after `flatten` they are
 * `[N, F]`. One `conv2d` covers standard, grouped, depthwise and pointwise
 * convolution (`groups`); kernel families are chosen in codegen, not here.
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
/** One part of a channel split: channels `[offset, offset + channels)`. */
export interface SplitAttrs {
  offset: number;
  channels: number;
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
/** Softmax over the feature axis of `[N, F]` (or channels of `[N, C, H, W]`). */
export type SoftmaxAttrs = Record<string, never>;
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
  /** Element-wise sum of two tensors of equal shape (residual shortcut). */
  add: NoAttrs;
  /** `x * s` with `s` of shape `[N, C, 1, 1]` broadcast over H and W (squeeze-excite). */
  mul: NoAttrs;
  /** Concatenation along channels. */
  concat: NoAttrs;
  split: SplitAttrs;
  channel_shuffle: ChannelShuffleAttrs;
  max_pool: Pool2dAttrs;
  avg_pool: Pool2dAttrs;
  global_avg_pool: NoAttrs;
  flatten: NoAttrs;
  linear: LinearAttrs;
  dropout: DropoutAttrs;
  softmax: SoftmaxAttrs;
}

/** Name of an op, e.g. `"conv2d"`. */
export type OpKind = keyof OpAttrs;

/** Every op kind, in catalog order. */
export const OP_KINDS: readonly OpKind[] = Object.keys(
  {
    conv2d: 0,
    batch_norm: 0,
    relu: 0,
    relu6: 0,
    clip: 0,
    hardswish: 0,
    hardsigmoid: 0,
    sigmoid: 0,
    add: 0,
    mul: 0,
    concat: 0,
    split: 0,
    channel_shuffle: 0,
    max_pool: 0,
    avg_pool: 0,
    global_avg_pool: 0,
    flatten: 0,
    linear: 0,
    dropout: 0,
    softmax: 0,
  } satisfies Record<OpKind, 0>,
) as OpKind[];

/** Ops applied independently to every element of one input (shape preserved). */
export const UNARY_ELEMENTWISE: ReadonlySet<OpKind> = new Set<OpKind>([
  "relu",
  "relu6",
  "clip",
  "hardswish",
  "hardsigmoid",
  "sigmoid",
]);

/**
 * How a parameter tensor counts: `weight` (conv/linear kernels, the papers'
 * convention), `bias` (conv/linear bias), `bn` (BatchNorm gamma and beta,
 * learnable) or `buffer` (BatchNorm running mean and variance: stored, not
 * learnable, never counted as parameters).
 */
export type ParamRole = "weight" | "bias" | "bn" | "buffer";

/** One parameter tensor of a node, named as in a PyTorch state_dict suffix. */
export interface ParamSpec {
  /** Suffix after the node name: `weight`, `bias`, `running_mean`, `running_var`. */
  name: "weight" | "bias" | "running_mean" | "running_var";
  shape: Shape;
  role: ParamRole;
}

/** The parameter tensors an op with these attrs owns (PyTorch layouts). */
export function paramSpecs<K extends OpKind>(kind: K, attrs: OpAttrs[K]): ParamSpec[] {
  switch (kind) {
    case "conv2d": {
      const a = attrs as Conv2dAttrs;
      const specs: ParamSpec[] = [{
        name: "weight",
        shape: [a.outChannels, a.inChannels / a.groups, a.kernel[0], a.kernel[1]],
        role: "weight",
      }];
      if (a.bias) specs.push({ name: "bias", shape: [a.outChannels], role: "bias" });
      return specs;
    }
    case "linear": {
      const a = attrs as LinearAttrs;
      const specs: ParamSpec[] = [{
        name: "weight",
        shape: [a.outFeatures, a.inFeatures],
        role: "weight",
      }];
      if (a.bias) specs.push({ name: "bias", shape: [a.outFeatures], role: "bias" });
      return specs;
    }
    case "batch_norm": {
      const c = (attrs as BatchNormAttrs).channels;
      return [
        { name: "weight", shape: [c], role: "bn" },
        { name: "bias", shape: [c], role: "bn" },
        { name: "running_mean", shape: [c], role: "buffer" },
        { name: "running_var", shape: [c], role: "buffer" },
      ];
    }
    default:
      return [];
  }
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

function need4d(node: string, shape: Shape, what = "input"): void {
  if (shape.length !== 4) {
    throw new ShapeError(
      node,
      `${what} has shape [${shape.join(", ")}], expected a 4-D [N, C, H, W] tensor`,
    );
  }
}

function needInputs(node: string, kind: OpKind, inputs: readonly Shape[], n: number): void {
  if (inputs.length !== n) {
    throw new ShapeError(node, `${kind} takes ${n} input(s), got ${inputs.length}`);
  }
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function windowShape(
  node: string,
  what: string,
  x: Shape,
  outChannels: number,
  kernel: HW,
  stride: HW,
  padding: Pads,
  dilation: HW,
  ceilMode: boolean,
): Shape {
  const [n, , h, w] = x;
  const effH = dilation[0] * (kernel[0] - 1) + 1;
  const effW = dilation[1] * (kernel[1] - 1) + 1;
  const padH = h + padding[0] + padding[2];
  const padW = w + padding[1] + padding[3];
  if (effH > padH || effW > padW) {
    throw new ShapeError(
      node,
      `${what} window ${effH}x${effW} is larger than the padded input ${padH}x${padW}`,
    );
  }
  const oh = windowOutSize(h, kernel[0], stride[0], padding[0], padding[2], dilation[0], ceilMode);
  const ow = windowOutSize(w, kernel[1], stride[1], padding[1], padding[3], dilation[1], ceilMode);
  return [n, outChannels, oh, ow];
}

/**
 * The shape rule of every op: output shape from input shapes, or a
 * {@link ShapeError} that names the node and says what was expected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inferNodeShape } from "./ops.ts";
 * const attrs = {
 *   inChannels: 3, outChannels: 24, kernel: [3, 3], stride: [2, 2],
 *   padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1, bias: false,
 * } as const;
 * assert.deepEqual(inferNodeShape("conv1", "conv2d", attrs, [[1, 3, 224, 224]]), [1, 24, 112, 112]);
 * ```
 */
export function inferNodeShape<K extends OpKind>(
  node: string,
  kind: K,
  attrs: OpAttrs[K],
  inputs: readonly Shape[],
): Shape {
  switch (kind) {
    case "conv2d": {
      needInputs(node, kind, inputs, 1);
      const a = attrs as Conv2dAttrs;
      const x = inputs[0];
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
    }
    case "max_pool":
    case "avg_pool": {
      needInputs(node, kind, inputs, 1);
      const a = attrs as Pool2dAttrs;
      const x = inputs[0];
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
    }
    case "batch_norm": {
      needInputs(node, kind, inputs, 1);
      const c = (attrs as BatchNormAttrs).channels;
      if (inputs[0].length < 2 || inputs[0][1] !== c) {
        throw new ShapeError(node, `input has ${inputs[0][1]} channels, expected ${c}`);
      }
      return inputs[0];
    }
    case "relu":
    case "relu6":
    case "clip":
    case "hardswish":
    case "hardsigmoid":
    case "sigmoid":
    case "dropout":
    case "softmax":
      needInputs(node, kind, inputs, 1);
      return inputs[0];
    case "add": {
      needInputs(node, kind, inputs, 2);
      if (!sameShape(inputs[0], inputs[1])) {
        throw new ShapeError(
          node,
          `add of mismatched shapes ${formatShape(inputs[0])} and ${
            formatShape(inputs[1])
          }, expected equal shapes`,
        );
      }
      return inputs[0];
    }
    case "mul": {
      needInputs(node, kind, inputs, 2);
      const [x, s] = inputs;
      need4d(node, x);
      need4d(node, s, "scale");
      if (s[0] !== x[0] || s[1] !== x[1] || s[2] !== 1 || s[3] !== 1) {
        throw new ShapeError(
          node,
          `scale has shape ${formatShape(s)}, expected ${x[0]}x${x[1]}x1x1 to broadcast over ${
            formatShape(x)
          }`,
        );
      }
      return x;
    }
    case "concat": {
      if (inputs.length < 1) throw new ShapeError(node, "concat takes at least one input");
      for (const s of inputs) need4d(node, s);
      const [n, , h, w] = inputs[0];
      let c = 0;
      for (const s of inputs) {
        if (s[0] !== n || s[2] !== h || s[3] !== w) {
          throw new ShapeError(
            node,
            `concat of mismatched shapes ${
              inputs.map(formatShape).join(", ")
            }: N, H and W must agree`,
          );
        }
        c += s[1];
      }
      return [n, c, h, w];
    }
    case "split": {
      needInputs(node, kind, inputs, 1);
      const a = attrs as SplitAttrs;
      const x = inputs[0];
      need4d(node, x);
      if (a.offset + a.channels > x[1]) {
        throw new ShapeError(
          node,
          `split takes channels ${a.offset}..${a.offset + a.channels - 1} of an input with ${
            x[1]
          } channels`,
        );
      }
      return [x[0], a.channels, x[2], x[3]];
    }
    case "channel_shuffle": {
      needInputs(node, kind, inputs, 1);
      const g = (attrs as ChannelShuffleAttrs).groups;
      const x = inputs[0];
      need4d(node, x);
      if (x[1] % g !== 0) {
        throw new ShapeError(
          node,
          `shuffle groups ${g} do not divide ${x[1]} channels; expected a divisor of ${x[1]}`,
        );
      }
      return x;
    }
    case "global_avg_pool": {
      needInputs(node, kind, inputs, 1);
      need4d(node, inputs[0]);
      return [inputs[0][0], inputs[0][1], 1, 1];
    }
    case "flatten": {
      needInputs(node, kind, inputs, 1);
      const x = inputs[0];
      return [x[0], numel(x) / x[0]];
    }
    case "linear": {
      needInputs(node, kind, inputs, 1);
      const a = attrs as LinearAttrs;
      const x = inputs[0];
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
    }
  }
  const never: never = kind as never;
  throw new ShapeError(node, `unknown op kind "${never}"`);
}

function positive(node: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) {
    throw new RangeError(`Invalid "${node}": ${what} must be a positive integer, got ${v}`);
  }
}

function nonNegative(node: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`Invalid "${node}": ${what} must be a non-negative integer, got ${v}`);
  }
}

/**
 * Checks the attrs of one node on their own (sizes positive, groups dividing
 * channels, ...); shape-dependent checks live in {@link inferNodeShape}.
 * Throws a `RangeError` that names the node and the expected values.
 */
export function checkAttrs<K extends OpKind>(node: string, kind: K, attrs: OpAttrs[K]): void {
  switch (kind) {
    case "conv2d": {
      const a = attrs as Conv2dAttrs;
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
      return;
    }
    case "max_pool":
    case "avg_pool": {
      const a = attrs as Pool2dAttrs;
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
      return;
    }
    case "batch_norm": {
      const a = attrs as BatchNormAttrs;
      positive(node, "channels", a.channels);
      if (!(a.eps > 0)) throw new RangeError(`Invalid "${node}": eps must be > 0, got ${a.eps}`);
      return;
    }
    case "split": {
      const a = attrs as SplitAttrs;
      nonNegative(node, "split offset", a.offset);
      positive(node, "split channels", a.channels);
      return;
    }
    case "channel_shuffle":
      positive(node, "shuffle groups", (attrs as ChannelShuffleAttrs).groups);
      return;
    case "linear": {
      const a = attrs as LinearAttrs;
      positive(node, "inFeatures", a.inFeatures);
      positive(node, "outFeatures", a.outFeatures);
      return;
    }
    case "clip": {
      const a = attrs as ClipAttrs;
      if (!(a.min <= a.max)) {
        throw new RangeError(`Invalid "${node}": clip min ${a.min} must be <= max ${a.max}`);
      }
      return;
    }
    default:
      return;
  }
}
