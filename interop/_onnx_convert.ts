/**
 * ONNX op type -> converter: one small function per op (TVM's
 * `_get_convert_map` is the model), with one implementation per opset where
 * the op's semantics changed (`[since, impl]` pairs). A converter reads its
 * typed attributes and inputs and emits draft nodes; what the IR cannot
 * express is reported through `ctx.issue` so one error lists every problem.
 *
 * @module
 */

import * as nn from "./_onnx_ops_nn.ts";
import * as math from "./_onnx_ops_math.ts";
import * as shape from "./_onnx_ops_shape.ts";
import type { Converter, VersionedConverter } from "./_onnx_convert_base.ts";

export { niceFloat } from "./_onnx_convert_base.ts";
export type {
  ConvertContext,
  Converter,
  OnnxNode,
  VersionedConverter,
} from "./_onnx_convert_base.ts";

/** Every ONNX op type that can run on computed tensors, with its converter(s). */
export const CONVERTERS: Readonly<Record<string, VersionedConverter>> = {
  Abs: math.elementwise("abs"),
  Add: math.arithmetic("Add"),
  AveragePool: nn.as1d(nn.pool("avg_pool")),
  BatchNormalization: nn.batchNorm,
  Cast: math.cast,
  Clip: [[1, math.clipV1], [11, math.clipV11]],
  Concat: shape.concat,
  Conv: nn.as1d(nn.conv),
  ConvTranspose: nn.convTranspose,
  Div: math.arithmetic("Div"),
  Dropout: nn.dropout,
  Elu: math.withAlpha("elu", 1),
  Erf: math.elementwise("erf"),
  Exp: math.elementwise("exp"),
  Flatten: shape.flatten,
  Gather: shape.gather,
  Gemm: nn.linear("Gemm"),
  GlobalAveragePool: nn.globalAvgPool,
  GlobalMaxPool: nn.globalMaxPool,
  HardSigmoid: math.hardSigmoid,
  HardSwish: math.unary("hardswish"),
  Identity: math.identity,
  InstanceNormalization: nn.instanceNorm,
  LayerNormalization: nn.layerNorm,
  LeakyRelu: math.withAlpha("leaky_relu", 0.01),
  Log: math.elementwise("log"),
  MatMul: nn.matmul,
  Max: math.variadic("Max"),
  MaxPool: nn.as1d(nn.pool("max_pool")),
  Min: math.variadic("Min"),
  Mul: math.arithmetic("Mul"),
  Pow: math.arithmetic("Pow"),
  Neg: math.elementwise("neg"),
  Pad: [[1, shape.padV1], [11, shape.padV11]],
  PRelu: math.prelu,
  Reciprocal: math.elementwise("reciprocal"),
  ReduceMax: math.reduce("max"),
  ReduceMean: math.reduce("mean"),
  ReduceSum: math.reduce("sum"),
  ReduceMin: math.reduce("min"),
  ReduceL2: math.reduce("l2"),
  ReduceSumSquare: math.reduce("sum_square"),
  LpNormalization: math.lpNormalization,
  Relu: math.relu,
  Reshape: shape.reshape,
  Resize: [[10, nn.resizeV10], [11, nn.resizeV11]],
  Sigmoid: math.unary("sigmoid"),
  Slice: [[1, shape.sliceV1], [10, shape.sliceV10]],
  Softmax: [[1, math.softmaxWith(1)], [13, math.softmaxWith(-1)]],
  LogSoftmax: [[1, math.softmaxWith(1, true)], [13, math.softmaxWith(-1, true)]],
  Sum: math.variadic("Sum"),
  Mean: math.variadic("Mean"),
  Selu: math.selu,
  Mish: math.mish,
  Gelu: math.gelu,
  Softplus: math.elementwise("softplus"),
  Split: [[1, shape.splitV1], [13, shape.splitV13]],
  Sqrt: math.elementwise("sqrt"),
  Squeeze: shape.squeezeLike("Squeeze"),
  Sub: math.arithmetic("Sub"),
  Tanh: math.elementwise("tanh"),
  Transpose: shape.transpose,
  Unsqueeze: shape.squeezeLike("Unsqueeze"),
  Upsample: nn.upsample,
};

/**
 * IR op kinds a converter cannot do without (it emits nothing else useful):
 * an op type is listed as supported once the IR's op table has them.
 */
export const NEEDED_KINDS: Readonly<Record<string, readonly string[]>> = {
  ConvTranspose: ["conv_transpose2d"],
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
