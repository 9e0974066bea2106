/**
 * One test per ONNX converter: a small hand-built ONNX file per op, imported,
 * checked for the IR op it becomes, and run by the reference executor against
 * onnxruntime on the same file (seeded input; max |a - b| <= 1e-5 x max |b|);
 * and a graph of the general op kinds exported by `exportOnnx` and read back.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { importOnnx } from "./onnx_import.ts";
import { encodeModel, floatTensor, int64Tensor, onnx, type pb } from "./onnx_proto.ts";
import { runReferenceOutputs } from "../lib/runtime/reference.ts";
import { randomInput, relativeError } from "../lib/runtime/tensor.ts";
import { OP_KINDS } from "../lib/ir/ops.ts";
import { GraphBuilder } from "../lib/ir/builder.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { analyze } from "../lib/analysis/report.ts";
import { exportOnnx } from "./onnx_export.ts";

const T = onnx.AttributeProto.AttributeType;
const ints = (name: string, v: number[]) => ({ name, type: T.INTS, ints: v });
const int = (name: string, v: number) => ({ name, type: T.INT, i: v });
const float = (name: string, v: number) => ({ name, type: T.FLOAT, f: v });
const str = (name: string, v: string) => ({
  name,
  type: T.STRING,
  s: new TextEncoder().encode(v),
});

interface Case {
  /** What the converter does, for the test name. */
  what: string;
  nodes: { op: string; inputs: string[]; outputs?: string[]; attrs?: pb.IAttributeProto[] }[];
  inits?: pb.ITensorProto[];
  inputs: Record<string, number[]>;
  outputs: string[];
  /** IR kinds the import must produce, in order. */
  kinds: string[];
  opset?: number;
}

function build(c: Case): Uint8Array {
  const info = (name: string, dims?: number[]) => ({
    name,
    type: {
      tensorType: {
        elemType: 1,
        ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}),
      },
    },
  });
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: "", version: c.opset ?? 13 }],
    graph: {
      name: "case",
      node: c.nodes.map((n, i) => ({
        opType: n.op,
        name: `${n.op}_${i}`,
        input: n.inputs,
        output: n.outputs ?? [`t${i}`],
        attribute: n.attrs ?? [],
      })),
      initializer: c.inits ?? [],
      input: Object.entries(c.inputs).map(([k, d]) => info(k, d)),
      output: c.outputs.map((o) => info(o)),
    },
  });
}

async function check(c: Case): Promise<void> {
  const bytes = build(c);
  const { graph, weights } = importOnnx(bytes, { source: c.what });
  assert.deepEqual(graph.nodes.map((n) => n.kind), c.kinds);
  assert.deepEqual(graph.outputs.map((o) => o.name), c.outputs, "output names as in the file");
  const feeds = Object.fromEntries(
    Object.entries(c.inputs).map(([k, d], i) => [k, randomInput(d, 21 + i, -2, 2)]),
  );
  const got = runReferenceOutputs(graph, weights, feeds);
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const want = await session.run(
    Object.fromEntries(
      Object.entries(c.inputs).map(([k, d]) => [k, new ort.Tensor("float32", feeds[k], d)]),
    ),
  );
  await session.release();
  for (const o of c.outputs) {
    const w = want[o].data as Float32Array;
    assert.equal(got[o].length, w.length, `${o}: element count`);
    const err = relativeError(got[o], w);
    assert.ok(err <= 1e-5, `${o}: max |a - b| / max |b| = ${err}`);
  }
}

const f = (name: string, dims: number[], values: number[]) =>
  floatTensor(name, dims, Float32Array.from(values));
const seq = (n: number, scale = 0.1) => Array.from({ length: n }, (_, i) => (i % 7 - 3) * scale);

const HAS_RESIZE = (OP_KINDS as readonly string[]).includes("resize");

const CASES: Case[] = [
  {
    what: "Tanh, Exp, Log(Abs), Sqrt(Abs), Neg, Reciprocal, Erf, Softplus as unary ops",
    nodes: [
      { op: "Tanh", inputs: ["x"], outputs: ["a"] },
      { op: "Exp", inputs: ["a"], outputs: ["b"] },
      { op: "Log", inputs: ["b"], outputs: ["c"] },
      { op: "Neg", inputs: ["c"], outputs: ["d"] },
      { op: "Erf", inputs: ["d"], outputs: ["e"] },
      { op: "Softplus", inputs: ["e"], outputs: ["g"] },
      { op: "Sqrt", inputs: ["g"], outputs: ["h"] },
      { op: "Reciprocal", inputs: ["h"], outputs: ["y"] },
    ],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["y"],
    kinds: ["tanh", "exp", "log", "neg", "erf", "softplus", "sqrt", "reciprocal"],
  },
  {
    what: "Elu and LeakyRelu keep their alpha",
    nodes: [
      { op: "Elu", inputs: ["x"], outputs: ["a"], attrs: [float("alpha", 0.5)] },
      { op: "LeakyRelu", inputs: ["a"], outputs: ["y"], attrs: [float("alpha", 0.2)] },
    ],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["y"],
    kinds: ["elu", "leaky_relu"],
  },
  {
    what: "Sub, Div, Pow, Max, Min of two computed tensors broadcast",
    nodes: [
      { op: "Sub", inputs: ["x", "s"], outputs: ["a"] },
      { op: "Max", inputs: ["a", "s"], outputs: ["b"] },
      { op: "Min", inputs: ["b", "x"], outputs: ["c"] },
      { op: "Abs", inputs: ["c"], outputs: ["d"] },
      { op: "Pow", inputs: ["d", "s"], outputs: ["e"] },
      { op: "Div", inputs: ["e", "x"], outputs: ["y"] },
    ],
    inputs: { x: [1, 2, 3, 3], s: [1, 2, 1, 3] },
    outputs: ["y"],
    kinds: ["sub", "max", "min", "abs", "pow", "div"],
  },
  {
    what: "a constant operand that is not per-channel is one const node, however often read",
    nodes: [
      { op: "Mul", inputs: ["x", "k"], outputs: ["m"] },
      { op: "Add", inputs: ["m", "k"], outputs: ["y"] },
    ],
    inits: [f("k", [3, 3], seq(9))],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["y"],
    kinds: ["const", "mul", "add"],
  },
  {
    what: "Concat, Split, Softmax on axis 2 of a 3-D head; Reshape and Transpose",
    nodes: [
      { op: "Transpose", inputs: ["x"], outputs: ["t"], attrs: [ints("perm", [0, 2, 3, 1])] },
      { op: "Reshape", inputs: ["t", "shape"], outputs: ["r"] },
      { op: "Split", inputs: ["r", "sizes"], outputs: ["p", "q"], attrs: [int("axis", 2)] },
      { op: "Softmax", inputs: ["q"], outputs: ["sm"], attrs: [int("axis", 2)] },
      { op: "Concat", inputs: ["sm", "p"], outputs: ["y"], attrs: [int("axis", 2)] },
    ],
    inits: [int64Tensor("shape", [3], [1, -1, 4]), int64Tensor("sizes", [2], [1, 3])],
    inputs: { x: [1, 4, 2, 3] },
    outputs: ["y"],
    kinds: ["transpose", "reshape", "split", "split", "softmax", "concat"],
  },
  {
    what: "Slice with a step, Gather of constant indices, several outputs named as in the file",
    nodes: [
      {
        op: "Slice",
        inputs: ["x", "st", "en", "ax", "sp"],
        outputs: ["s"],
      },
      { op: "Gather", inputs: ["x", "idx"], outputs: ["g"], attrs: [int("axis", 1)] },
      { op: "Relu", inputs: ["g"], outputs: ["out:1"] },
    ],
    inits: [
      int64Tensor("st", [1], [0]),
      int64Tensor("en", [1], [5]),
      int64Tensor("ax", [1], [3]),
      int64Tensor("sp", [1], [2]),
      int64Tensor("idx", [2], [2, 0]),
    ],
    inputs: { x: [1, 3, 2, 5] },
    outputs: ["s", "out:1"],
    kinds: ["slice", "gather", "relu"],
  },
  {
    what: "two inputs meeting in an Add, with an NHWC input transposed inside",
    nodes: [
      { op: "Transpose", inputs: ["nhwc"], outputs: ["t"], attrs: [ints("perm", [0, 3, 1, 2])] },
      { op: "Add", inputs: ["t", "nchw"], outputs: ["y"] },
    ],
    inputs: { nhwc: [1, 4, 4, 3], nchw: [1, 3, 4, 4] },
    outputs: ["y"],
    kinds: ["transpose", "add"],
  },
  {
    what: "hard swish preceded by scalar arithmetic, hard sigmoid after and before it",
    nodes: [
      // y = 2x + 1; y * relu6(y + 3) / 6
      { op: "Mul", inputs: ["x", "two"], outputs: ["a"] },
      { op: "Add", inputs: ["a", "one"], outputs: ["y"] },
      { op: "Add", inputs: ["y", "three"], outputs: ["b"] },
      { op: "Clip", inputs: ["b", "zero", "six"], outputs: ["c"] },
      { op: "Mul", inputs: ["y", "c"], outputs: ["d"] },
      { op: "Div", inputs: ["d", "six"], outputs: ["hs"] },
      // HardSigmoid(0.5 * hs): the scale folds into alpha
      { op: "Mul", inputs: ["hs", "half"], outputs: ["e"] },
      { op: "HardSigmoid", inputs: ["e"], outputs: ["g"] },
      // 6 * HardSigmoid - 3: arithmetic after it stays an affine
      { op: "Mul", inputs: ["g", "six"], outputs: ["h"] },
      { op: "Sub", inputs: ["h", "three"], outputs: ["out"] },
    ],
    inits: [
      f("two", [], [2]),
      f("one", [], [1]),
      f("three", [], [3]),
      f("zero", [], [0]),
      f("six", [], [6]),
      f("half", [], [0.5]),
    ],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["out"],
    kinds: ["affine", "hardswish", "hardsigmoid", "affine"],
  },
  {
    what: "Sum of three, Mean of two, Max of three inputs",
    nodes: [
      { op: "Sum", inputs: ["x", "s", "x"], outputs: ["a"] },
      { op: "Mean", inputs: ["a", "s"], outputs: ["b"] },
      { op: "Max", inputs: ["b", "x", "s"], outputs: ["y"] },
    ],
    inputs: { x: [1, 2, 3, 3], s: [1, 2, 1, 3] },
    outputs: ["y"],
    // Mean's 1/2 is a scale alone: a mul by a const.
    kinds: ["add", "add", "add", "const", "mul", "max", "max"],
  },
  {
    what: "Softmax before opset 13 over the flattened trailing axes, and LogSoftmax",
    nodes: [
      { op: "Softmax", inputs: ["x"], outputs: ["a"], attrs: [int("axis", 1)] },
      { op: "LogSoftmax", inputs: ["x"], outputs: ["b"], attrs: [int("axis", 3)] },
    ],
    inputs: { x: [1, 2, 3, 4] },
    outputs: ["a", "b"],
    // [1, 2, 3, 4] to [1, 24] is a flatten at axis 1.
    kinds: ["flatten", "softmax", "reshape", "softmax", "log"],
    opset: 11,
  },
  {
    what: "Selu, Mish (opset 18) and exact Gelu (opset 20) as element-wise chains",
    nodes: [
      { op: "Selu", inputs: ["x"], outputs: ["a"] },
      { op: "Mish", inputs: ["a"], outputs: ["b"] },
      { op: "Gelu", inputs: ["b"], outputs: ["y"] },
    ],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["y"],
    // Selu's gamma and Gelu's 1/sqrt(2) are scales alone; Gelu's (1 + e) / 2 an affine.
    kinds: [
      "elu",
      "const",
      "mul",
      "softplus",
      "tanh",
      "mul",
      "const",
      "mul",
      "erf",
      "affine",
      "mul",
    ],
    opset: 20,
  },
  {
    what: "Transposes that cancel vanish; a Reshape of a Reshape is one",
    nodes: [
      { op: "Transpose", inputs: ["x"], outputs: ["a"], attrs: [ints("perm", [0, 2, 3, 1])] },
      { op: "Transpose", inputs: ["a"], outputs: ["b"], attrs: [ints("perm", [0, 3, 1, 2])] },
      { op: "Relu", inputs: ["b"], outputs: ["c"] },
      { op: "Reshape", inputs: ["c", "s1"], outputs: ["d"] },
      { op: "Reshape", inputs: ["d", "s2"], outputs: ["y"] },
    ],
    inits: [int64Tensor("s1", [3], [1, 6, 3]), int64Tensor("s2", [2], [3, 6])],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["y"],
    kinds: ["relu", "reshape"],
  },
  {
    what: "1-D Conv, BatchNormalization and pools on [N, C, L] (keyword spotting)",
    nodes: [
      {
        op: "Conv",
        inputs: ["x", "w", "b"],
        outputs: ["c"],
        attrs: [
          ints("strides", [2]),
          ints("pads", [1, 2]),
          int("group", 2),
          ints("dilations", [2]),
        ],
      },
      { op: "BatchNormalization", inputs: ["c", "g", "be", "m", "v"], outputs: ["n"] },
      { op: "Relu", inputs: ["n"], outputs: ["r"] },
      {
        op: "MaxPool",
        inputs: ["r"],
        outputs: ["p"],
        attrs: [ints("kernel_shape", [2]), ints("strides", [2])],
      },
      {
        op: "AveragePool",
        inputs: ["p"],
        outputs: ["y"],
        attrs: [ints("kernel_shape", [3]), ints("pads", [1, 1]), int("count_include_pad", 1)],
      },
    ],
    inits: [
      f("w", [6, 2, 3], seq(36)),
      f("b", [6], seq(6)),
      f("g", [6], [1, 2, 1, 0.5, 1, 1]),
      f("be", [6], seq(6)),
      f("m", [6], seq(6, 0.01)),
      f("v", [6], [1, 1, 2, 1, 0.5, 1]),
    ],
    inputs: { x: [1, 4, 16] },
    outputs: ["y"],
    // The reshape back to 3-D and the next one to 4-D merge into nothing between the pools.
    kinds: [
      "reshape",
      "conv2d",
      "reshape",
      "batch_norm",
      "relu",
      "reshape",
      "max_pool",
      "avg_pool",
      "reshape",
    ],
  },
  {
    what: "ReduceMin, ReduceL2, ReduceSumSquare and LpNormalization (embedding normalization)",
    nodes: [
      { op: "ReduceMin", inputs: ["x"], outputs: ["a"], attrs: [ints("axes", [1])] },
      { op: "ReduceL2", inputs: ["x"], outputs: ["b"], attrs: [ints("axes", [2, 3])] },
      {
        op: "ReduceSumSquare",
        inputs: ["x"],
        outputs: ["c"],
        attrs: [ints("axes", [3]), int("keepdims", 0)],
      },
      { op: "LpNormalization", inputs: ["x"], outputs: ["d"], attrs: [int("axis", 1)] },
    ],
    inputs: { x: [1, 3, 2, 4] },
    outputs: ["a", "b", "c", "d"],
    kinds: [
      "neg",
      "reduce",
      "neg",
      "mul",
      "reduce",
      "sqrt",
      "mul",
      "reduce",
      "mul",
      "reduce",
      "sqrt",
      "div",
    ],
  },
  {
    what: "MatMul of a 3-D activation by a stored 2-D weight is a linear layer on its rows",
    nodes: [
      { op: "MatMul", inputs: ["x", "w"], outputs: ["m"] },
      { op: "Add", inputs: ["m", "b"], outputs: ["y"] },
    ],
    inits: [f("w", [6, 4], seq(24)), f("b", [4], seq(4))],
    inputs: { x: [1, 5, 6] },
    outputs: ["y"],
    // The bias add lands after the reshape back, on the last axis: a stored const.
    kinds: ["reshape", "linear", "reshape", "const", "add"],
  },
  {
    what: "Gemm with transA (a transpose, then a linear layer), Pad with axes (opset 18)",
    nodes: [
      {
        op: "Gemm",
        inputs: ["x", "w", "c"],
        outputs: ["g"],
        attrs: [int("transA", 1), int("transB", 1), float("alpha", 0.5)],
      },
      {
        op: "Pad",
        inputs: ["g", "pads", "", "axes"],
        outputs: ["y"],
        attrs: [str("mode", "edge")],
      },
    ],
    inits: [
      f("w", [3, 4], seq(12)),
      f("c", [3], [1, 2, 3]),
      int64Tensor("pads", [2], [1, 2]),
      int64Tensor("axes", [1], [-1]),
    ],
    inputs: { x: [4, 2] },
    outputs: ["y"],
    kinds: ["transpose", "linear", "pad"],
    opset: 18,
  },
  {
    what: "a per-channel Add after a bias-less ConvTranspose becomes its bias; a scalar one stays",
    nodes: [
      {
        op: "ConvTranspose",
        inputs: ["x", "w"],
        outputs: ["c"],
        attrs: [ints("strides", [2, 2])],
      },
      { op: "Add", inputs: ["c", "b"], outputs: ["d"] },
      { op: "Conv", inputs: ["d", "k"], outputs: ["e"] },
      { op: "Add", inputs: ["e", "one"], outputs: ["y"] },
    ],
    inits: [
      f("w", [2, 3, 2, 2], seq(24)),
      f("b", [3, 1, 1], [0.5, -1, 2]),
      f("k", [2, 3, 1, 1], seq(6)),
      f("one", [], [1]),
    ],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["y"],
    // The scalar 1 added to 2 channels would be stored twice as a bias: a const and an add.
    kinds: ["conv_transpose2d", "conv2d", "const", "add"],
  },
  {
    what: "PRelu with one slope per channel",
    nodes: [{ op: "PRelu", inputs: ["x", "slope"], outputs: ["y"] }],
    inits: [f("slope", [3, 1, 1], [0.1, -0.2, 0.3])],
    inputs: { x: [1, 3, 2, 2] },
    outputs: ["y"],
    kinds: ["prelu"],
  },
  {
    what: "x * a + b per channel is affine; a scale alone is a mul by a stored const",
    nodes: [
      { op: "Mul", inputs: ["x", "a"], outputs: ["m"] },
      { op: "Add", inputs: ["m", "b"], outputs: ["y"] },
      { op: "Mul", inputs: ["y", "half"], outputs: ["z"] },
      { op: "Relu", inputs: ["z"], outputs: ["out"] },
    ],
    inits: [
      f("a", [1, 3, 1, 1], [1, 2, 3]),
      f("b", [3, 1, 1], [0.5, 0, -0.5]),
      f("half", [], [0.5]),
    ],
    inputs: { x: [1, 3, 2, 2] },
    outputs: ["out"],
    // The two scales merge with the shift: (x * a + b) * 0.5 = x * (a / 2) + b / 2.
    kinds: ["affine", "relu"],
  },
  {
    what: "a constant Split, folded at import, feeding a scale",
    nodes: [
      { op: "Split", inputs: ["k"], outputs: ["k0", "k1"], attrs: [int("axis", 1)] },
      { op: "Mul", inputs: ["x", "k0"], outputs: ["m"] },
      { op: "Sub", inputs: ["m", "k1"], outputs: ["y"] },
    ],
    inits: [f("k", [1, 4, 1, 1], [2, 3, 0.5, 0.25])],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["y"],
    kinds: ["affine"],
  },
  {
    what: "Concat with a ConstantOfShape zero block (channel zero padding)",
    nodes: [
      {
        op: "ConstantOfShape",
        inputs: ["zshape"],
        outputs: ["zeros"],
        attrs: [{ name: "value", type: T.TENSOR, t: f("v", [1], [0]) }],
      },
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "Concat", inputs: ["r", "zeros"], outputs: ["y"], attrs: [int("axis", 1)] },
    ],
    inits: [int64Tensor("zshape", [4], [1, 2, 3, 3])],
    inputs: { x: [1, 3, 3, 3] },
    outputs: ["y"],
    // The fill the file stores as one scalar is a pad of 2 channels, not 18 parameters.
    kinds: ["relu", "pad"],
  },
  {
    what: "Concat of a stored constant block keeps it as a const operand",
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "Concat", inputs: ["r", "k"], outputs: ["y"], attrs: [int("axis", 1)] },
    ],
    inits: [f("k", [1, 1, 3, 3], [0, 0, 0, 0, 0, 0, 0, 0, 0])],
    inputs: { x: [1, 3, 3, 3] },
    outputs: ["y"],
    kinds: ["relu", "const", "concat"],
  },
  {
    what: "Concat of fills on both sides of a tensor is one pad on that axis",
    nodes: [
      {
        op: "ConstantOfShape",
        inputs: ["zshape"],
        outputs: ["zeros"],
        attrs: [{ name: "value", type: T.TENSOR, t: f("v", [1], [0.5]) }],
      },
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "Concat", inputs: ["zeros", "r", "zeros"], outputs: ["y"], attrs: [int("axis", 2)] },
    ],
    inits: [int64Tensor("zshape", [4], [1, 3, 2, 3])],
    inputs: { x: [1, 3, 3, 3] },
    outputs: ["y"],
    kinds: ["relu", "pad"],
  },
  {
    what: "Pad in reflect and edge modes",
    nodes: [
      {
        op: "Pad",
        inputs: ["x", "p1"],
        outputs: ["a"],
        attrs: [str("mode", "reflect")],
      },
      { op: "Pad", inputs: ["a", "p2"], outputs: ["y"], attrs: [str("mode", "edge")] },
    ],
    inits: [
      int64Tensor("p1", [8], [0, 0, 1, 2, 0, 0, 2, 1]),
      int64Tensor("p2", [8], [0, 0, 0, 1, 0, 0, 1, 0]),
    ],
    inputs: { x: [1, 2, 4, 4] },
    outputs: ["y"],
    kinds: ["pad", "pad"],
  },
  {
    what: "GlobalMaxPool, ReduceSum and ReduceMax over any axes",
    nodes: [
      { op: "GlobalMaxPool", inputs: ["x"], outputs: ["g"] },
      { op: "ReduceSum", inputs: ["x", "axes"], outputs: ["s"], attrs: [int("keepdims", 0)] },
      { op: "ReduceMax", inputs: ["s"], outputs: ["m"], attrs: [ints("axes", [-1])] },
    ],
    inits: [int64Tensor("axes", [1], [1])],
    inputs: { x: [1, 3, 4, 5] },
    outputs: ["g", "m"],
    kinds: ["global_max_pool", "reduce", "reduce"],
  },
  ...(
    [
      ["asymmetric", "floor", [1, 1, 2, 2], undefined, true],
      ["half_pixel", "round_prefer_floor", undefined, [1, 2, 5, 7], true],
      ["align_corners", "round_prefer_ceil", undefined, [1, 2, 7, 5], true],
      // 3 x 1.5 = 4.5 rounds down to 4: ONNX still maps with 1.5, not 4 / 3.
      ["pytorch_half_pixel", "ceil", [1, 1, 1.5, 3], undefined, false],
      ["tf_half_pixel_for_nn", "round_prefer_ceil", [1, 1, 0.5, 2.5], undefined, false],
    ] as const
  ).map(([coordinate, nearest, scales, sizes, exact]): Case => ({
    what: `nearest Resize (${coordinate}, ${nearest}) ${
      scales ? `by scales [${scales.join(", ")}]` : `to [${sizes!.join(", ")}]`
    }`,
    nodes: [{
      op: "Resize",
      inputs: ["x", "", scales ? "scales" : "", sizes ? "sizes" : ""],
      outputs: ["y"],
      attrs: [
        str("mode", "nearest"),
        str("coordinate_transformation_mode", coordinate),
        str("nearest_mode", nearest),
      ],
    }],
    inits: [
      ...(scales ? [f("scales", [4], [...scales])] : []),
      ...(sizes ? [int64Tensor("sizes", [4], [...sizes])] : []),
    ],
    inputs: { x: [1, 2, 3, 4] },
    outputs: ["y"],
    // A scale that does not divide the size (or no resize kind): one gather per resized axis.
    kinds: HAS_RESIZE && exact ? ["resize"] : ["gather", "gather"],
  })),
  {
    what: "Upsample (opset 9) with scales as an input",
    nodes: [{ op: "Upsample", inputs: ["x", "scales"], outputs: ["y"] }],
    inits: [f("scales", [4], [1, 1, 2, 3])],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["y"],
    kinds: HAS_RESIZE ? ["resize"] : ["gather", "gather"],
    opset: 9,
  },
  {
    what: "linear Resize to sizes (half_pixel)",
    nodes: [{
      op: "Resize",
      inputs: ["x", "", "", "sizes"],
      outputs: ["y"],
      attrs: [str("mode", "linear"), str("coordinate_transformation_mode", "half_pixel")],
    }],
    inits: [int64Tensor("sizes", [4], [1, 2, 5, 7])],
    inputs: { x: [1, 2, 3, 3] },
    outputs: ["y"],
    kinds: ["resize"],
  },
  {
    what: "ConvTranspose with stride, pads, output_padding, dilation and groups",
    nodes: [
      {
        op: "ConvTranspose",
        inputs: ["x", "w", "b"],
        outputs: ["y"],
        attrs: [
          ints("strides", [2, 2]),
          ints("pads", [1, 0, 1, 1]),
          ints("output_padding", [1, 0]),
          ints("dilations", [1, 2]),
          int("group", 2),
        ],
      },
    ],
    inits: [f("w", [4, 3, 3, 2], seq(72)), f("b", [6], seq(6))],
    inputs: { x: [1, 4, 3, 4] },
    outputs: ["y"],
    kinds: ["conv_transpose2d"],
  },
  {
    what: "MatMul of two computed tensors (attention scores), then by a stored weight",
    nodes: [
      { op: "MatMul", inputs: ["q", "k"], outputs: ["s"] },
      { op: "MatMul", inputs: ["s", "w"], outputs: ["y"] },
    ],
    inits: [f("w", [5, 2], seq(10))],
    inputs: { q: [1, 2, 4, 6], k: [1, 2, 6, 5] },
    outputs: ["y"],
    kinds: ["matmul", "reshape", "linear", "reshape"],
  },
  {
    what: "LayerNormalization (opset 17) and InstanceNormalization",
    nodes: [
      {
        op: "InstanceNormalization",
        inputs: ["x", "g", "b"],
        outputs: ["i"],
        attrs: [float("epsilon", 1e-3)],
      },
      { op: "LayerNormalization", inputs: ["i", "lg", "lb"], outputs: ["y"] },
    ],
    inits: [
      f("g", [3], [1, 2, 0.5]),
      f("b", [3], [0, 1, -1]),
      f("lg", [5], seq(5)),
      f("lb", [5], seq(5, 0.05)),
    ],
    inputs: { x: [1, 3, 4, 5] },
    outputs: ["y"],
    kinds: ["instance_norm", "layer_norm"],
    opset: 17,
  },
];

for (const c of CASES) {
  const missing = [...new Set(c.kinds)].filter((k) => !(OP_KINDS as readonly string[]).includes(k));
  Deno.test({
    name: `ONNX import: ${c.what}${
      missing.length ? ` [needs op kinds ${missing.join(", ")}]` : ""
    }`,
    ignore: missing.length > 0,
    fn: () => check(c),
  });
}

Deno.test("export -> import round trip of the general op kinds keeps kinds, parameters and outputs", () => {
  const b = new GraphBuilder("general", [1, 4, 6, 6]);
  const x = b.conv2d(b.input, { out: 4, kernel: 3, padding: 1 }, "conv");
  const a = b.affine(b.prelu(x, "act"), 4, "norm");
  const p = b.pad(a, [0, 0, 1, 1, 0, 0, 1, 1], "reflect", 0, "pad");
  const t = b.unary("tanh", b.leakyRelu(b.elu(p, 0.5, "elu"), 0.1, "leaky"), "tanh");
  const cat = b.concat([t, b.constant([1, 2, 8, 8], "zeros")], "cat");
  const head = b.reshape(b.transpose(cat, [0, 2, 3, 1], "nhwc"), [1, 64, 6], "rows");
  const picked = b.gather(b.slice(b.softmax(head, "prob", 2), 1, 0, 64, 2, "even"), 2, [0, 3]);
  const scores = b.reduce(picked, "sum", [1], false, "scores");
  const pooled = b.binary("sub", b.globalMaxPool(cat, "gmp"), b.unary("exp", b.globalAvgPool(cat)));
  const g = b.build({ scores, pooled });
  const w = randomWeights(g, 5);
  const back = importOnnx(exportOnnx(g, w));
  const kinds = (gr: typeof g) => gr.nodes.map((n) => n.kind).sort();
  assert.deepEqual(kinds(back.graph), kinds(g));
  assert.deepEqual(back.graph.outputs.map((o) => o.name), ["scores", "pooled"]);
  assert.deepEqual(analyze(back.graph).totals.params, analyze(g).totals.params);
  const input = randomInput([1, 4, 6, 6], 3);
  const want = runReferenceOutputs(g, w, input);
  const got = runReferenceOutputs(back.graph, back.weights, input);
  for (const o of ["scores", "pooled"]) assert.ok(relativeError(got[o], want[o]) <= 1e-6, o);
});
