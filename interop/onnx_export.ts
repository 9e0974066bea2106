/**
 * IR graph + weights -> ONNX model (opset 14, IR version 8). One emitter per
 * op kind writes the ONNX nodes of one IR node; node names are the IR node
 * names, parameters become initializers named like the state_dict
 * (`<node>.weight`, `<node>.bias`, `<node>.running_mean`, ...), and every
 * tensor a node produces is named after the node, so an exported file reads
 * like the graph it came from. The batch dimension is symbolic (`N`) unless
 * `dynamicBatch` is false.
 *
 * The graph's name, input shape, knobs and scopes ride along in the model's metadata
 * (`lightnets.graph`), so an export imports back to the same graph.
 *
 * @module
 */

import type { AnyNode, Graph } from "../lib/ir/graph.ts";
import type { OpAttrs, OpKind, Shape } from "../lib/ir/ops.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import { checkWeights, type Weights } from "../lib/runtime/weights.ts";
import {
  attribute,
  type AttrValue,
  DTYPE,
  encodeModel,
  floatTensor,
  int64Tensor,
  onnx,
  type pb,
} from "./onnx_proto.ts";

/** ONNX operator set the exporter writes (HardSwish needs 14). */
export const EXPORT_OPSET = 14;
/** ONNX IR version matching {@link EXPORT_OPSET}. */
export const EXPORT_IR_VERSION = 8;
/** Metadata key holding the graph's name, knobs and scopes as JSON. */
export const GRAPH_METADATA_KEY = "lightnets.graph";

/** Options of {@link exportOnnx}. */
export interface ExportOptions {
  /** Write the batch dimension as the symbol `N` (default true). */
  dynamicBatch?: boolean;
  /** Free text stored as the model's doc string. */
  docString?: string;
}

interface EmitContext {
  node: AnyNode;
  input: string[];
  shape: Shape;
  inputShapes: Shape[];
  weights: Weights;
  nodes: pb.NodeProto[];
  initializers: pb.TensorProto[];
}

function emit(
  ctx: EmitContext,
  opType: string,
  inputs: string[],
  attrs: Record<string, AttrValue> = {},
  name = ctx.node.name,
  output = ctx.node.name,
): void {
  ctx.nodes.push(onnx.NodeProto.create({
    name,
    opType,
    input: inputs,
    output: [output],
    attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
  }));
}

function param(ctx: EmitContext, suffix: string, dims: readonly number[]): string {
  const key = `${ctx.node.name}.${suffix}`;
  const data = ctx.weights.get(key)!;
  ctx.initializers.push(floatTensor(key, dims, data));
  return key;
}

function constant(ctx: EmitContext, suffix: string, dims: number[], data: number[], int = false) {
  const key = `${ctx.node.name}.${suffix}`;
  ctx.initializers.push(
    int ? int64Tensor(key, dims, data) : floatTensor(key, dims, new Float32Array(data)),
  );
  return key;
}

function clip(ctx: EmitContext, min: number, max: number): void {
  const lo = constant(ctx, "min", [], [min]);
  const hi = constant(ctx, "max", [], [max]);
  emit(ctx, "Clip", [ctx.input[0], lo, hi]);
}

function pool(ctx: EmitContext, opType: string, a: OpAttrs["max_pool"]): void {
  const attrs: Record<string, AttrValue> = {
    kernel_shape: [...a.kernel],
    strides: [...a.stride],
    pads: [...a.padding],
    ceil_mode: a.ceilMode ? 1 : 0,
  };
  if (opType === "AveragePool") attrs.count_include_pad = a.countIncludePad ? 1 : 0;
  emit(ctx, opType, ctx.input, attrs);
}

type Emitter = (ctx: EmitContext) => void;

/** The attrs of the node being emitted, as its kind's attrs type. */
function attrsOf<K extends OpKind>(ctx: EmitContext): OpAttrs[K] {
  return ctx.node.attrs as OpAttrs[K];
}

/** How each op kind is written in ONNX. */
const EMITTERS = {
  conv2d: (ctx) => {
    const a = ctx.node.attrs as OpAttrs["conv2d"];
    const inputs = [
      ctx.input[0],
      param(ctx, "weight", [a.outChannels, a.inChannels / a.groups, ...a.kernel]),
    ];
    if (a.bias) inputs.push(param(ctx, "bias", [a.outChannels]));
    emit(ctx, "Conv", inputs, {
      kernel_shape: [...a.kernel],
      strides: [...a.stride],
      // ONNX pads are [x1_begin, x2_begin, x1_end, x2_end]: the IR's [top, left, bottom, right].
      pads: [...a.padding],
      dilations: [...a.dilation],
      group: a.groups,
    });
  },
  batch_norm: (ctx) => {
    const a = ctx.node.attrs as OpAttrs["batch_norm"];
    const c = [a.channels];
    emit(ctx, "BatchNormalization", [
      ctx.input[0],
      param(ctx, "weight", c),
      param(ctx, "bias", c),
      param(ctx, "running_mean", c),
      param(ctx, "running_var", c),
    ], { epsilon: { float: a.eps } });
  },
  relu: (ctx) => emit(ctx, "Relu", ctx.input),
  relu6: (ctx) => clip(ctx, 0, 6),
  clip: (ctx) => {
    const a = ctx.node.attrs as OpAttrs["clip"];
    clip(ctx, a.min, a.max);
  },
  hardswish: (ctx) => emit(ctx, "HardSwish", ctx.input),
  hardsigmoid: (ctx) => {
    const a = ctx.node.attrs as OpAttrs["hardsigmoid"];
    emit(ctx, "HardSigmoid", ctx.input, { alpha: { float: a.alpha }, beta: { float: a.beta } });
  },
  sigmoid: (ctx) => emit(ctx, "Sigmoid", ctx.input),
  add: (ctx) => emit(ctx, "Add", ctx.input),
  mul: (ctx) => emit(ctx, "Mul", ctx.input),
  concat: (ctx) => emit(ctx, "Concat", ctx.input, { axis: attrsOf<"concat">(ctx).axis }),
  split: (ctx) => {
    const a = attrsOf<"split">(ctx);
    emit(ctx, "Slice", [
      ctx.input[0],
      constant(ctx, "starts", [1], [a.offset], true),
      constant(ctx, "ends", [1], [a.offset + a.size], true),
      constant(ctx, "axes", [1], [a.axis], true),
    ]);
  },
  slice: (ctx) => {
    const a = attrsOf<"slice">(ctx);
    // ONNX reads a negative end as counted from the back; "before index 0" is below -size.
    const size = ctx.inputShapes[0].at(a.axis)!;
    emit(ctx, "Slice", [
      ctx.input[0],
      constant(ctx, "starts", [1], [a.start], true),
      constant(ctx, "ends", [1], [a.end === -1 ? -size - 1 : a.end], true),
      constant(ctx, "axes", [1], [a.axis], true),
      constant(ctx, "steps", [1], [a.step], true),
    ]);
  },
  gather: (ctx) => {
    const a = attrsOf<"gather">(ctx);
    const dims = a.scalarIndex ? [] : [a.indices.length];
    emit(ctx, "Gather", [ctx.input[0], constant(ctx, "indices", dims, [...a.indices], true)], {
      axis: a.axis,
    });
  },
  transpose: (ctx) =>
    emit(ctx, "Transpose", ctx.input, { perm: [...attrsOf<"transpose">(ctx).perm] }),
  reshape: (ctx) => {
    const shape = attrsOf<"reshape">(ctx).shape;
    emit(ctx, "Reshape", [ctx.input[0], constant(ctx, "shape", [shape.length], [...shape], true)]);
  },
  channel_shuffle: (ctx) => {
    // torchvision's channel_shuffle: view(N, g, C/g, H, W), transpose(1, 2), view(N, C, H, W).
    // A 0 in an ONNX Reshape target copies that input dimension, which keeps N symbolic.
    const g = (ctx.node.attrs as OpAttrs["channel_shuffle"]).groups;
    const [, c, h, w] = ctx.inputShapes[0];
    const name = ctx.node.name;
    const split = constant(ctx, "shape", [5], [0, g, c / g, h, w], true);
    const merge = constant(ctx, "shape_1", [4], [0, c, h, w], true);
    emit(ctx, "Reshape", [ctx.input[0], split], {}, `${name}/Reshape`, `${name}/reshaped`);
    emit(
      ctx,
      "Transpose",
      [`${name}/reshaped`],
      { perm: [0, 2, 1, 3, 4] },
      `${name}/Transpose`,
      `${name}/transposed`,
    );
    emit(ctx, "Reshape", [`${name}/transposed`, merge], {}, `${name}/Reshape_1`);
  },
  max_pool: (ctx) => pool(ctx, "MaxPool", ctx.node.attrs as OpAttrs["max_pool"]),
  avg_pool: (ctx) => pool(ctx, "AveragePool", ctx.node.attrs as OpAttrs["avg_pool"]),
  global_avg_pool: (ctx) => emit(ctx, "GlobalAveragePool", ctx.input),
  flatten: (ctx) => emit(ctx, "Flatten", ctx.input, { axis: attrsOf<"flatten">(ctx).axis }),
  linear: (ctx) => {
    const a = ctx.node.attrs as OpAttrs["linear"];
    const inputs = [ctx.input[0], param(ctx, "weight", [a.outFeatures, a.inFeatures])];
    if (a.bias) inputs.push(param(ctx, "bias", [a.outFeatures]));
    emit(ctx, "Gemm", inputs, { transB: 1 });
  },
  dropout: (ctx) => {
    const p = (ctx.node.attrs as OpAttrs["dropout"]).p;
    emit(ctx, "Dropout", [ctx.input[0], constant(ctx, "ratio", [], [p])]);
  },
  softmax: (ctx) => emit(ctx, "Softmax", ctx.input, { axis: attrsOf<"softmax">(ctx).axis }),
  sub: (ctx) => emit(ctx, "Sub", ctx.input),
  div: (ctx) => emit(ctx, "Div", ctx.input),
  pow: (ctx) => emit(ctx, "Pow", ctx.input),
  max: (ctx) => emit(ctx, "Max", ctx.input),
  min: (ctx) => emit(ctx, "Min", ctx.input),
  exp: (ctx) => emit(ctx, "Exp", ctx.input),
  log: (ctx) => emit(ctx, "Log", ctx.input),
  tanh: (ctx) => emit(ctx, "Tanh", ctx.input),
  sqrt: (ctx) => emit(ctx, "Sqrt", ctx.input),
  reciprocal: (ctx) => emit(ctx, "Reciprocal", ctx.input),
  neg: (ctx) => emit(ctx, "Neg", ctx.input),
  abs: (ctx) => emit(ctx, "Abs", ctx.input),
  erf: (ctx) => emit(ctx, "Erf", ctx.input),
  softplus: (ctx) => emit(ctx, "Softplus", ctx.input),
  elu: (ctx) => emit(ctx, "Elu", ctx.input, { alpha: { float: attrsOf<"elu">(ctx).alpha } }),
  leaky_relu: (ctx) =>
    emit(ctx, "LeakyRelu", ctx.input, { alpha: { float: attrsOf<"leaky_relu">(ctx).alpha } }),
  silu: (ctx) => {
    // x * sigmoid(x): ONNX has no SiLU before opset 24.
    const name = ctx.node.name;
    emit(ctx, "Sigmoid", ctx.input, {}, `${name}/Sigmoid`, `${name}/sigmoid`);
    emit(ctx, "Mul", [ctx.input[0], `${name}/sigmoid`]);
  },
  prelu: (ctx) => {
    const c = attrsOf<"prelu">(ctx).channels;
    emit(ctx, "PRelu", [ctx.input[0], param(ctx, "weight", channelDims(ctx, c))]);
  },
  affine: (ctx) => {
    const c = attrsOf<"affine">(ctx).channels;
    const name = ctx.node.name;
    const dims = channelDims(ctx, c);
    emit(
      ctx,
      "Mul",
      [ctx.input[0], param(ctx, "weight", dims)],
      {},
      `${name}/Mul`,
      `${name}/scaled`,
    );
    emit(ctx, "Add", [`${name}/scaled`, param(ctx, "bias", dims)]);
  },
  const: (ctx) => {
    emit(ctx, "Identity", [param(ctx, "value", attrsOf<"const">(ctx).shape)]);
  },
  pad: (ctx) => {
    const a = attrsOf<"pad">(ctx);
    emit(ctx, "Pad", [
      ctx.input[0],
      constant(ctx, "pads", [a.pads.length], [...a.pads], true),
      constant(ctx, "value", [], [a.value]),
    ], { mode: a.mode });
  },
  global_max_pool: (ctx) => emit(ctx, "GlobalMaxPool", ctx.input),
  reduce: (ctx) => {
    const a = attrsOf<"reduce">(ctx);
    const keepdims = a.keepDims ? 1 : 0;
    // Opset 14: ReduceSum takes its axes as an input, ReduceMean and ReduceMax as an attribute.
    if (a.op === "sum") {
      const axes = constant(ctx, "axes", [a.axes.length], [...a.axes], true);
      emit(ctx, "ReduceSum", [ctx.input[0], axes], { keepdims });
    } else {
      const opType = a.op === "mean" ? "ReduceMean" : "ReduceMax";
      emit(ctx, opType, ctx.input, { axes: [...a.axes], keepdims });
    }
  },
  resize: (ctx) => {
    const a = attrsOf<"resize">(ctx);
    // Sizes unless the file gave scales: onnxruntime then takes each axis' scale as
    // output / input, as the IR does.
    const inputs = a.scales
      ? [ctx.input[0], "", constant(ctx, "scales", [a.scales.length], [...a.scales])]
      : [ctx.input[0], "", "", constant(ctx, "sizes", [a.outShape.length], [...a.outShape], true)];
    emit(ctx, "Resize", inputs, {
      mode: a.mode,
      coordinate_transformation_mode: a.coordinateTransformation,
      nearest_mode: a.nearestMode,
    });
  },
  matmul: (ctx) => emit(ctx, "MatMul", ctx.input),
  conv_transpose2d: (ctx) => {
    const a = attrsOf<"conv_transpose2d">(ctx);
    const inputs = [
      ctx.input[0],
      param(ctx, "weight", [a.inChannels, a.outChannels / a.groups, ...a.kernel]),
    ];
    if (a.bias) inputs.push(param(ctx, "bias", [a.outChannels]));
    emit(ctx, "ConvTranspose", inputs, {
      kernel_shape: [...a.kernel],
      strides: [...a.stride],
      pads: [...a.padding],
      output_padding: [...a.outputPadding],
      dilations: [...a.dilation],
      group: a.groups,
    });
  },
  layer_norm: (ctx) => {
    // LayerNormalization is opset 17; opset 14 spells it out.
    const a = attrsOf<"layer_norm">(ctx);
    const x = ctx.input[0];
    const rank = ctx.inputShapes[0].length;
    const from = a.axis < 0 ? a.axis + rank : a.axis;
    const axes = Array.from({ length: rank - from }, (_, i) => from + i);
    const dims = ctx.inputShapes[0].slice(from);
    const n = ctx.node.name;
    const step = (
      op: string,
      inputs: string[],
      out: string,
      attrs: Record<string, AttrValue> = {},
    ) => emit(ctx, op, inputs, attrs, `${n}/${out}`, `${n}/${out}`);
    step("ReduceMean", [x], "mean", { axes, keepdims: 1 });
    step("Sub", [x, `${n}/mean`], "centered");
    step("Mul", [`${n}/centered`, `${n}/centered`], "squared");
    step("ReduceMean", [`${n}/squared`], "variance", { axes, keepdims: 1 });
    step("Add", [`${n}/variance`, constant(ctx, "eps", [], [a.eps])], "shifted");
    step("Sqrt", [`${n}/shifted`], "std");
    step("Div", [`${n}/centered`, `${n}/std`], "normalized");
    step("Mul", [`${n}/normalized`, param(ctx, "weight", dims)], "scaled");
    emit(ctx, "Add", [`${n}/scaled`, param(ctx, "bias", dims)]);
  },
  instance_norm: (ctx) => {
    const a = attrsOf<"instance_norm">(ctx);
    emit(ctx, "InstanceNormalization", [
      ctx.input[0],
      param(ctx, "weight", [a.channels]),
      param(ctx, "bias", [a.channels]),
    ], { epsilon: { float: a.eps } });
  },
} satisfies Record<OpKind, Emitter>;

/**
 * ONNX dims of a `[channels]` parameter broadcast on axis 1 of the input:
 * `[C, 1, ...]` (one 1 per axis after the channels), or `[1]` when shared.
 */
function channelDims(ctx: EmitContext, channels: number): number[] {
  if (channels === 1) return [1];
  return [channels, ...ctx.inputShapes[0].slice(2).map(() => 1)];
}

function valueInfo(name: string, shape: Shape, dynamicBatch: boolean): pb.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: DTYPE.float,
        shape: {
          dim: shape.map((d, i) => (i === 0 && dynamicBatch ? { dimParam: "N" } : { dimValue: d })),
        },
      },
    },
  });
}

/**
 * Builds the ONNX ModelProto of `graph` with `weights` (checked first).
 * Throws what `inferShapes` and `checkWeights` throw for a broken graph.
 */
export function toModelProto(
  graph: Graph,
  weights: Weights,
  options: ExportOptions = {},
): pb.ModelProto {
  const shaped = inferShapes(graph);
  checkWeights(graph, weights);
  const dynamicBatch = options.dynamicBatch ?? true;
  const nodes: pb.NodeProto[] = [];
  const initializers: pb.TensorProto[] = [];
  for (const { node, inputShapes, shape } of shaped.nodes) {
    const ctx: EmitContext = {
      node,
      input: node.inputs,
      shape,
      inputShapes,
      weights,
      nodes,
      initializers,
    };
    (EMITTERS[node.kind] as Emitter)(ctx);
  }
  // An output named other than the tensor it reads is an Identity of it.
  for (const o of graph.outputs) {
    if (o.name !== o.node) {
      nodes.push(onnx.NodeProto.create({
        name: `${o.name}.identity`,
        opType: "Identity",
        input: [o.node],
        output: [o.name],
      }));
    }
  }
  const meta = {
    name: graph.name,
    input: graph.inputs[0].name,
    shape: graph.inputs[0].shape,
    meta: graph.meta,
    scopes: graph.scopes,
  };
  return onnx.ModelProto.create({
    irVersion: EXPORT_IR_VERSION,
    producerName: "lightnets",
    producerVersion: "0.1.0",
    docString: options.docString ?? `${graph.name} exported by lightnets`,
    opsetImport: [{ domain: "", version: EXPORT_OPSET }],
    metadataProps: [{ key: GRAPH_METADATA_KEY, value: JSON.stringify(meta) }],
    graph: {
      name: graph.name,
      node: nodes,
      initializer: initializers,
      input: graph.inputs.map((i) => valueInfo(i.name, i.shape, dynamicBatch)),
      output: graph.outputs.map((o) => valueInfo(o.name, shaped.shapes.get(o.node)!, dynamicBatch)),
    },
  });
}

/**
 * Writes `graph` with `weights` as ONNX model bytes (opset 14).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../lib/ir/builder.ts";
 * import { randomWeights } from "../lib/runtime/weights.ts";
 * import { exportOnnx } from "./onnx_export.ts";
 * import { decodeModel } from "./onnx_proto.ts";
 * const b = new GraphBuilder("tiny", [1, 3, 8, 8]);
 * const g = b.build(b.relu(b.conv2d(b.input, { out: 4, kernel: 3 }, "conv"), "act"));
 * const model = decodeModel(exportOnnx(g, randomWeights(g, 1)));
 * const graph = model.graph!;
 * assert.deepEqual(graph.node!.map((n) => `${n.name}:${n.opType}`), ["conv:Conv", "act:Relu"]);
 * assert.equal(graph.initializer![0].name, "conv.weight");
 * ```
 */
export function exportOnnx(
  graph: Graph,
  weights: Weights,
  options: ExportOptions = {},
): Uint8Array {
  return encodeModel(toModelProto(graph, weights, options));
}
