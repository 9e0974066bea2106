/**
 * A small PyTorch-like builder. Ops are added inside nested scopes; a node
 * added without a name takes the next index of its scope, like the children
 * of `nn.Sequential`, so
 *
 * ```
 * b.scope("features", () => b.scope(() => { conv; bn; relu6 }))
 * ```
 *
 * yields `features.0.0`, `features.0.1`, `features.0.2`: torchvision's module
 * paths, and so its state_dict keys. Shapes are inferred as nodes are added,
 * so a block can read the channels of its input.
 *
 * @module
 */

import type { AnyNode, Graph, Node, Scope, ScopeKind } from "./graph.ts";
import {
  type CoordinateTransformation,
  type HW,
  inferNodeShape,
  type NearestMode,
  type OpAttrs,
  type OpKind,
  type Pads,
  type Shape,
} from "./ops.ts";

/** A value in the graph being built: the node that produces it and its shape. */
export interface Tensor {
  readonly name: string;
  readonly shape: Shape;
}

/** A size given once for both axes, or as `[h, w]`. */
export type Size2 = number | readonly [number, number];
/** Padding for all sides, `[h, w]` (symmetric) or `[top, left, bottom, right]`. */
export type Padding = number | readonly [number, number] | Pads;

/** Options of {@link GraphBuilder.conv2d}; `inChannels` defaults to the input's. */
export interface Conv2dOptions {
  out: number;
  kernel: Size2;
  stride?: Size2;
  /** Defaults to `dilation * (kernel - 1) / 2` ("same" for odd kernels at stride 1). */
  padding?: Padding;
  dilation?: Size2;
  groups?: number;
  bias?: boolean;
  inChannels?: number;
}

/** Options of {@link GraphBuilder.maxPool} and {@link GraphBuilder.avgPool}. */
export interface PoolOptions {
  kernel: Size2;
  /** Defaults to the kernel size (as in PyTorch). */
  stride?: Size2;
  padding?: Padding;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

/** Options of {@link GraphBuilder.convTranspose2d}; `inChannels` defaults to the input's. */
export interface ConvTranspose2dOptions {
  out: number;
  kernel: Size2;
  stride?: Size2;
  /** Cropped from the output; default 0. */
  padding?: Padding;
  outputPadding?: Size2;
  dilation?: Size2;
  groups?: number;
  bias?: boolean;
  inChannels?: number;
}

/** Options of {@link GraphBuilder.resize}. */
export interface ResizeOptions {
  mode?: "nearest" | "linear";
  coordinateTransformation?: CoordinateTransformation;
  nearestMode?: NearestMode;
  /** The file's scales, when it gives scales (outShape must be floor(input x scale)). */
  scales?: number[];
}

/** Options of {@link GraphBuilder.linear}; `inFeatures` defaults to the input's. */
export interface LinearOptions {
  out: number;
  bias?: boolean;
  inFeatures?: number;
}

function pair(v: Size2): HW {
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

function pads(v: Padding): Pads {
  if (typeof v === "number") return [v, v, v, v];
  if (v.length === 2) return [v[0], v[1], v[0], v[1]];
  return [v[0], v[1], v[2], v[3]];
}

interface Frame {
  path: string;
  next: number;
}

/**
 * Builds a {@link Graph} op by op.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * const b = new GraphBuilder("tiny", [1, 3, 32, 32]);
 * let x = b.input;
 * x = b.scope("features", () => {
 *   let y = b.conv2d(x, { out: 8, kernel: 3, stride: 2 });
 *   y = b.batchNorm(y);
 *   return b.relu(y);
 * });
 * const g = b.build(b.linear(b.flatten(b.globalAvgPool(x, "pool"), "flat"), { out: 10 }, "fc"));
 * assert.deepEqual(g.nodes.map((n) => n.name), [
 *   "features.0", "features.1", "features.2", "pool", "flat", "fc",
 * ]);
 * assert.deepEqual(x.shape, [1, 8, 16, 16]);
 * ```
 */
export class GraphBuilder {
  /** The first graph input, named `input`. */
  readonly input: Tensor;
  readonly #inputs: Tensor[] = [];
  readonly #nodes: AnyNode[] = [];
  readonly #names = new Set<string>();
  readonly #scopes: Scope[] = [];
  readonly #stack: Frame[] = [{ path: "", next: 0 }];

  constructor(
    readonly name: string,
    inputShape: Shape,
    readonly meta: Record<string, string | number | boolean> = {},
  ) {
    this.input = { name: "input", shape: [...inputShape] };
    this.#inputs.push(this.input);
  }

  /** Adds another graph input named `name` (distinct from every node and input name). */
  addInput(name: string, shape: Shape): Tensor {
    if (name === "" || this.#names.has(name) || this.#inputs.some((t) => t.name === name)) {
      throw new Error(`Invalid input name "${name}": expected a new, non-empty name`);
    }
    const input = { name, shape: [...shape] };
    this.#inputs.push(input);
    return input;
  }

  /** The module path of the current scope (`""` at the top). */
  get path(): string {
    return this.#stack[this.#stack.length - 1].path;
  }

  #childPath(name: string | undefined): string {
    const frame = this.#stack[this.#stack.length - 1];
    const local = name ?? String(frame.next++);
    return frame.path === "" ? local : `${frame.path}.${local}`;
  }

  /**
   * Runs `fn` inside a child scope. Without a name the scope takes the next
   * index (a `Sequential` child). `kind` marks it as a stage or a block for
   * per-stage and per-block reports.
   */
  scope<T>(name: string | undefined, fn: () => T, kind?: ScopeKind, type?: string): T;
  scope<T>(fn: () => T): T;
  scope<T>(
    nameOrFn: string | undefined | (() => T),
    maybeFn?: () => T,
    kind?: ScopeKind,
    type?: string,
  ): T {
    const name = typeof nameOrFn === "function" ? undefined : nameOrFn;
    const fn = typeof nameOrFn === "function" ? nameOrFn : maybeFn!;
    const path = this.#childPath(name);
    if (kind) this.#scopes.push(type ? { path, kind, type } : { path, kind });
    this.#stack.push({ path, next: 0 });
    try {
      return fn();
    } finally {
      this.#stack.pop();
    }
  }

  /**
   * Marks a stage made of sibling scopes that PyTorch numbers flat, e.g.
   * `features.2` and `features.3` as the stage `features.2-3` (paper Table 2's
   * second bottleneck row). Paths are relative to the current scope.
   */
  markStage(members: string[], type = "stage"): void {
    const prefix = this.path === "" ? "" : `${this.path}.`;
    const full = members.map((m) => prefix + m);
    const first = members[0];
    const last = members[members.length - 1];
    const lastLeaf = last.split(".").pop();
    const name = members.length === 1 ? first : `${first}-${lastLeaf}`;
    this.#scopes.push({ path: prefix + name, kind: "stage", type, members: full });
  }

  /** Adds any op; the typed helpers below call this. */
  add<K extends OpKind>(kind: K, attrs: OpAttrs[K], inputs: Tensor[], name?: string): Tensor {
    const path = this.#childPath(name);
    if (this.#names.has(path)) throw new Error(`Duplicate node name "${path}"`);
    const shape = inferNodeShape(path, kind, attrs, inputs.map((t) => t.shape));
    const node: Node<K> = { name: path, kind, attrs, inputs: inputs.map((t) => t.name) };
    this.#nodes.push(node as AnyNode);
    this.#names.add(path);
    return { name: path, shape };
  }

  conv2d(x: Tensor, o: Conv2dOptions, name?: string): Tensor {
    const kernel = pair(o.kernel);
    const dilation = pair(o.dilation ?? 1);
    const padding = pads(
      o.padding ??
        [(dilation[0] * (kernel[0] - 1)) >> 1, (dilation[1] * (kernel[1] - 1)) >> 1],
    );
    return this.add(
      "conv2d",
      {
        inChannels: o.inChannels ?? x.shape[1],
        outChannels: o.out,
        kernel,
        stride: pair(o.stride ?? 1),
        padding,
        dilation,
        groups: o.groups ?? 1,
        bias: o.bias ?? false,
      },
      [x],
      name,
    );
  }

  /** BatchNorm over the channels of `x` (inference: running statistics). */
  batchNorm(x: Tensor, name?: string, eps = 1e-5): Tensor {
    return this.add("batch_norm", { channels: x.shape[1], eps }, [x], name);
  }
  /** `max(x, 0)`. */
  relu(x: Tensor, name?: string): Tensor {
    return this.add("relu", {}, [x], name);
  }
  /** `min(max(x, 0), 6)`. */
  relu6(x: Tensor, name?: string): Tensor {
    return this.add("relu6", {}, [x], name);
  }
  /** `min(max(x, min), max)`. */
  clip(x: Tensor, min: number, max: number, name?: string): Tensor {
    return this.add("clip", { min, max }, [x], name);
  }
  /** `x * relu6(x + 3) / 6` (MobileNetV3). */
  hardswish(x: Tensor, name?: string): Tensor {
    return this.add("hardswish", {}, [x], name);
  }
  /** Defaults to torchvision's `relu6(x + 3) / 6`. */
  hardsigmoid(x: Tensor, name?: string, alpha = 1 / 6, beta = 0.5): Tensor {
    return this.add("hardsigmoid", { alpha, beta }, [x], name);
  }
  /** `1 / (1 + exp(-x))`. */
  sigmoid(x: Tensor, name?: string): Tensor {
    return this.add("sigmoid", {}, [x], name);
  }
  /** Element-wise `a + b` with numpy broadcasting (residual connections). */
  addTensors(a: Tensor, b: Tensor, name?: string): Tensor {
    return this.add("add", {}, [a, b], name);
  }
  /** `x * scale` with numpy broadcasting (squeeze-excite: `scale` of shape `[N, C, 1, 1]`). */
  mul(x: Tensor, scale: Tensor, name?: string): Tensor {
    return this.add("mul", {}, [x, scale], name);
  }
  /** A broadcasting binary op other than add and mul: `sub`, `div`, `pow`, `max`, `min`. */
  binary(
    kind: "add" | "sub" | "mul" | "div" | "pow" | "max" | "min",
    a: Tensor,
    b: Tensor,
    name?: string,
  ): Tensor {
    return this.add(kind, {}, [a, b], name);
  }
  /** A unary op without attrs: `exp`, `log`, `tanh`, `sqrt`, `erf`, `silu`, ... */
  unary(
    kind:
      | "relu"
      | "relu6"
      | "hardswish"
      | "sigmoid"
      | "exp"
      | "log"
      | "tanh"
      | "sqrt"
      | "reciprocal"
      | "neg"
      | "abs"
      | "erf"
      | "softplus"
      | "silu",
    x: Tensor,
    name?: string,
  ): Tensor {
    return this.add(kind, {}, [x], name);
  }
  /** `x > 0 ? x : alpha * (e^x - 1)`. */
  elu(x: Tensor, alpha = 1, name?: string): Tensor {
    return this.add("elu", { alpha }, [x], name);
  }
  /** `x >= 0 ? x : alpha * x`. */
  leakyRelu(x: Tensor, alpha = 0.01, name?: string): Tensor {
    return this.add("leaky_relu", { alpha }, [x], name);
  }
  /** PReLU with `channels` slopes on axis 1 (default: one per channel of `x`; 1 shares one). */
  prelu(x: Tensor, name?: string, channels = x.shape[1]): Tensor {
    return this.add("prelu", { channels }, [x], name);
  }
  /** `x * weight[c] + bias[c]` on axis 1; `channels` 1 is a scalar scale and shift. */
  affine(x: Tensor, channels: number, name?: string): Tensor {
    return this.add("affine", { channels }, [x], name);
  }
  /** A stored constant of `shape` (its data the parameter `<name>.value`). */
  constant(shape: number[], name?: string): Tensor {
    return this.add("const", { shape }, [], name);
  }
  /** ONNX Pad: `pads` = begins of every axis then ends; `value` fills constant padding. */
  pad(
    x: Tensor,
    pads: number[],
    mode: "constant" | "reflect" | "edge" = "constant",
    value = 0,
    name?: string,
  ): Tensor {
    return this.add("pad", { pads, mode, value }, [x], name);
  }
  /** Max over the spatial axes: `[N, C, H, W]` to `[N, C, 1, 1]`. */
  globalMaxPool(x: Tensor, name?: string): Tensor {
    return this.add("global_max_pool", {}, [x], name);
  }
  /** Mean, sum or max over `axes`; `keepDims` keeps them as size 1. */
  reduce(
    x: Tensor,
    op: "mean" | "sum" | "max",
    axes: number[],
    keepDims = true,
    name?: string,
  ): Tensor {
    return this.add("reduce", { op, axes, keepDims }, [x], name);
  }
  /** Transposed convolution (PyTorch ConvTranspose2d); weight `[Cin, Cout/groups, kh, kw]`. */
  convTranspose2d(x: Tensor, o: ConvTranspose2dOptions, name?: string): Tensor {
    return this.add(
      "conv_transpose2d",
      {
        inChannels: o.inChannels ?? x.shape[1],
        outChannels: o.out,
        kernel: pair(o.kernel),
        stride: pair(o.stride ?? 1),
        padding: pads(o.padding ?? 0),
        outputPadding: pair(o.outputPadding ?? 0),
        dilation: pair(o.dilation ?? 1),
        groups: o.groups ?? 1,
        bias: o.bias ?? false,
      },
      [x],
      name,
    );
  }
  /** numpy matmul of two computed tensors. */
  matmul(a: Tensor, b: Tensor, name?: string): Tensor {
    return this.add("matmul", {}, [a, b], name);
  }
  /** LayerNorm over the axes from `axis` on (default: the last). */
  layerNorm(x: Tensor, name?: string, axis = -1, eps = 1e-5): Tensor {
    const from = axis < 0 ? axis + x.shape.length : axis;
    const channels = x.shape.slice(from).reduce((p, d) => p * d, 1);
    return this.add("layer_norm", { axis, eps, channels }, [x], name);
  }
  /** InstanceNorm over the spatial axes of each (n, c). */
  instanceNorm(x: Tensor, name?: string, eps = 1e-5): Tensor {
    return this.add("instance_norm", { channels: x.shape[1], eps }, [x], name);
  }
  /** Resize to `outShape` (default: nearest, asymmetric, floor: PyTorch's `nearest`). */
  resize(x: Tensor, outShape: number[], o: ResizeOptions = {}, name?: string): Tensor {
    return this.add(
      "resize",
      {
        mode: o.mode ?? "nearest",
        coordinateTransformation: o.coordinateTransformation ?? "asymmetric",
        nearestMode: o.nearestMode ?? "floor",
        outShape,
        ...(o.scales ? { scales: o.scales } : {}),
      },
      [x],
      name,
    );
  }
  /** Concatenation along `axis` (default: the channels). */
  concat(xs: Tensor[], name?: string, axis = 1): Tensor {
    return this.add("concat", { axis }, xs, name);
  }
  /** Indices `[offset, offset + size)` of `axis` of `x` (default: the channels). */
  split(x: Tensor, offset: number, size: number, name?: string, axis = 1): Tensor {
    return this.add("split", { axis, offset, size }, [x], name);
  }
  /** `x[..., start:end:step, ...]` on `axis` (resolved indices). */
  slice(x: Tensor, axis: number, start: number, end: number, step = 1, name?: string): Tensor {
    return this.add("slice", { axis, start, end, step }, [x], name);
  }
  /** ONNX Gather of constant `indices` along `axis`; `scalarIndex` drops the axis. */
  gather(x: Tensor, axis: number, indices: number[], scalarIndex = false, name?: string): Tensor {
    return this.add("gather", { axis, indices, scalarIndex }, [x], name);
  }
  /** Permutes the axes: output axis `i` is input axis `perm[i]`. */
  transpose(x: Tensor, perm: number[], name?: string): Tensor {
    return this.add("transpose", { perm }, [x], name);
  }
  /** The same data with shape `shape` (fully resolved). */
  reshape(x: Tensor, shape: number[], name?: string): Tensor {
    return this.add("reshape", { shape }, [x], name);
  }
  /** ShuffleNet's channel shuffle: `[g, C/g]` channels transposed to `[C/g, g]`. */
  channelShuffle(x: Tensor, groups: number, name?: string): Tensor {
    return this.add("channel_shuffle", { groups }, [x], name);
  }
  /** Max pooling; the stride defaults to the kernel size. */
  maxPool(x: Tensor, o: PoolOptions, name?: string): Tensor {
    return this.add("max_pool", this.#pool(o), [x], name);
  }
  /** Average pooling; the stride defaults to the kernel size. */
  avgPool(x: Tensor, o: PoolOptions, name?: string): Tensor {
    return this.add("avg_pool", this.#pool(o), [x], name);
  }
  #pool(o: PoolOptions): OpAttrs["max_pool"] {
    return {
      kernel: pair(o.kernel),
      stride: pair(o.stride ?? o.kernel),
      padding: pads(o.padding ?? 0),
      ceilMode: o.ceilMode ?? false,
      countIncludePad: o.countIncludePad ?? true,
    };
  }
  /** Average over H and W: `[N, C, H, W]` to `[N, C, 1, 1]`. */
  globalAvgPool(x: Tensor, name?: string): Tensor {
    return this.add("global_avg_pool", {}, [x], name);
  }
  /** `[N, C, H, W]` to `[N, C*H*W]` (a view); ONNX Flatten at another `axis`. */
  flatten(x: Tensor, name?: string, axis = 1): Tensor {
    return this.add("flatten", { axis }, [x], name);
  }
  /** Fully connected layer on `[N, in]`; bias by default. */
  linear(x: Tensor, o: LinearOptions, name?: string): Tensor {
    return this.add(
      "linear",
      {
        inFeatures: o.inFeatures ?? x.shape[1],
        outFeatures: o.out,
        bias: o.bias ?? true,
      },
      [x],
      name,
    );
  }
  /** Dropout with rate `p`: the identity at inference. */
  dropout(x: Tensor, p = 0.5, name?: string): Tensor {
    return this.add("dropout", { p }, [x], name);
  }
  /** Softmax over `axis` (default 1: the features of `[N, F]`, the channels of `[N, C, H, W]`). */
  softmax(x: Tensor, name?: string, axis = 1): Tensor {
    return this.add("softmax", { axis }, [x], name);
  }

  /**
   * Finishes the graph. One tensor is the single output, named as its node;
   * a record names several outputs (in its key order, the first primary).
   */
  build(output: Tensor | Record<string, Tensor>): Graph {
    // A tensor's `name` is a string; a record's values are tensors.
    const outputs = typeof output.name === "string"
      ? [{ name: output.name, node: output.name }]
      : Object.entries(output as Record<string, Tensor>).map(([name, t]) => ({
        name,
        node: t.name,
      }));
    return {
      name: this.name,
      inputs: this.#inputs.map((t) => ({ name: t.name, shape: [...t.shape] })),
      nodes: [...this.#nodes],
      outputs,
      scopes: [...this.#scopes],
      meta: { ...this.meta },
    };
  }
}
