import assert from "node:assert/strict";
import { runReference } from "../lib/runtime/reference.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { everyOpGraph } from "./_fixtures.ts";
import { exportOnnx } from "./onnx_export.ts";
import {
  AWAITING_ONNX_OPS as AWAITING,
  importOnnx,
  niceFloat,
  OnnxImportError,
  SUPPORTED_ONNX_OPS,
} from "./onnx_import.ts";
import { encodeModel, floatTensor, int64Tensor, onnx, type pb } from "./onnx_proto.ts";

Deno.test("importOnnx() gives back the exported graph with every op kind, names and weights", () => {
  const g = everyOpGraph();
  const w = randomWeights(g, 11);
  const back = importOnnx(exportOnnx(g, w));
  assert.deepEqual(back.graph, g);
  assert.deepEqual([...back.weights.keys()].sort(), [...w.keys()].sort());
  for (const [k, v] of w) assert.deepEqual(back.weights.get(k), v, k);
});

Deno.test("importOnnx() resolves the symbolic batch of an export from --input-shape", () => {
  const g = everyOpGraph();
  const back = importOnnx(exportOnnx(g, randomWeights(g, 1)), { inputShape: [4, 3, 32, 32] });
  assert.deepEqual(back.graph.inputs[0].shape, [4, 3, 32, 32]);
  assert.throws(
    () => importOnnx(exportOnnx(g, randomWeights(g, 1)), { inputShape: [1, 3, 64, 64] }),
    /fixes it to 32/,
  );
});

Deno.test("niceFloat() recovers the float64 behind a float32 attribute", () => {
  assert.equal(niceFloat(Math.fround(1e-5)), 1e-5);
  assert.equal(niceFloat(Math.fround(1 / 6)), 1 / 6);
  assert.equal(niceFloat(Math.fround(0.2)), 0.2);
  assert.equal(niceFloat(Math.fround(0.001)), 0.001);
  assert.equal(niceFloat(6), 6);
});

// ---- hand-written ONNX graphs --------------------------------------------------

interface N {
  op: string;
  name?: string;
  inputs: string[];
  outputs?: string[];
  attrs?: pb.IAttributeProto[];
}

function model(
  nodes: N[],
  inits: pb.ITensorProto[],
  output: string,
  inputDims: (number | string)[],
  opset = 13,
) {
  return encodeModel({
    irVersion: 7,
    opsetImport: [{ domain: "", version: opset }],
    graph: {
      name: "hand",
      node: nodes.map((n, i) => ({
        opType: n.op,
        name: n.name ?? `/${n.op}_${i}`,
        input: n.inputs,
        output: n.outputs ?? [n.name ?? `t${i}`],
        attribute: n.attrs ?? [],
      })),
      initializer: inits,
      input: [{
        name: "x",
        type: {
          tensorType: {
            elemType: 1,
            shape: {
              dim: inputDims.map((
                d,
              ) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
            },
          },
        },
      }],
      output: [{ name: output, type: { tensorType: { elemType: 1 } } }],
    },
  });
}

Deno.test("importOnnx() lists every unsupported op type with its first node, and what is supported", () => {
  const bytes = model(
    [
      { op: "TopK", name: "a", inputs: ["x"] },
      { op: "NonMaxSuppression", name: "b", inputs: ["a"] },
      { op: "TopK", name: "c", inputs: ["b"] },
    ],
    [],
    "c",
    [1, 3, 8, 8],
  );
  assert.throws(
    () => importOnnx(bytes, { source: "m.onnx" }),
    (e: Error) =>
      e instanceof OnnxImportError &&
      /unsupported ONNX ops TopK \(first at node "a"\), NonMaxSuppression \(first at node "b"\)/
        .test(
          e.message,
        ) &&
      /Supported ops: .*Conv.*HardSwish/.test(e.message),
  );
});

Deno.test("importOnnx() rejects a truncated or non-ONNX file with a clear error", () => {
  const g = everyOpGraph();
  const bytes = exportOnnx(g, randomWeights(g, 1));
  assert.throws(() => importOnnx(bytes.slice(0, bytes.length >> 1)), /not a valid ONNX model/);
  assert.throws(
    () => importOnnx(new TextEncoder().encode("hello world")),
    /not a valid ONNX model/,
  );
  assert.throws(() => importOnnx(new Uint8Array()), /the file is empty/);
});

Deno.test("importOnnx() asks for --input-shape when a dimension is dynamic", () => {
  const bytes = model([{ op: "Relu", name: "r", inputs: ["x"] }], [], "r", ["batch", 3, "h", "w"]);
  assert.throws(
    () => importOnnx(bytes),
    /dynamic dimensions \[batch, 3, h, w\]; give its shape with --input-shape/,
  );
  assert.deepEqual(importOnnx(bytes, { inputShape: [1, 3, 5, 5] }).graph.inputs[0].shape, [
    1,
    3,
    5,
    5,
  ]);
});

const T = onnx.AttributeProto.AttributeType;
const ints = (name: string, v: number[]) => ({ name, type: T.INTS, ints: v });
const int = (name: string, v: number) => ({ name, type: T.INT, i: v });
const float = (name: string, v: number) => ({ name, type: T.FLOAT, f: v });

Deno.test("importOnnx() recognizes h-swish and h-sigmoid written as arithmetic", () => {
  const scalar = (name: string, v: number) => floatTensor(name, [], new Float32Array([v]));
  const bytes = model(
    [
      // x * relu6(x + 3) / 6
      { op: "Add", inputs: ["x", "three"], outputs: ["a"] },
      { op: "Clip", inputs: ["a", "zero", "six"], outputs: ["c"] },
      { op: "Mul", inputs: ["x", "c"], outputs: ["m"] },
      { op: "Div", name: "/block/block.act/Div", inputs: ["m", "six"], outputs: ["hs"] },
      // clip(x + 3, 0, 6) * (1/6): a hard sigmoid
      { op: "Add", inputs: ["hs", "three"], outputs: ["a2"] },
      { op: "Relu", inputs: ["a2"], outputs: ["r2"] },
      { op: "Min", inputs: ["r2", "six"], outputs: ["c2"] },
      { op: "Mul", name: "/block/block.gate/Mul", inputs: ["c2", "sixth"], outputs: ["hsig"] },
      // HardSigmoid + Mul (torch's hardswish before opset 14)
      { op: "HardSigmoid", inputs: ["hsig"], outputs: ["h3"], attrs: [float("alpha", 1 / 6)] },
      { op: "Mul", name: "/block/block.act2/Mul", inputs: ["hsig", "h3"], outputs: ["y"] },
    ],
    [scalar("three", 3), scalar("zero", 0), scalar("six", 6), scalar("sixth", 1 / 6)],
    "y",
    [1, 2, 4, 4],
  );
  const { graph } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => [n.name, n.kind, n.attrs]), [
    ["block.act", "hardswish", {}],
    ["block.gate", "hardsigmoid", { alpha: 1 / 6, beta: 0.5 }],
    ["block.act2", "hardswish", {}],
  ]);
});

Deno.test("importOnnx() reads x * sigmoid(x) as silu and a free Transpose as transpose", () => {
  const bytes = model(
    [
      { op: "Sigmoid", name: "s", inputs: ["x"] },
      { op: "Mul", name: "swish", inputs: ["x", "s"] },
      { op: "Transpose", name: "t", inputs: ["swish"], attrs: [ints("perm", [0, 2, 3, 1])] },
    ],
    [],
    "t",
    [1, 2, 4, 3],
  );
  const { graph } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => [n.name, n.kind, n.attrs]), [
    ["swish", "silu", {}],
    ["t", "transpose", { perm: [0, 2, 3, 1] }],
  ]);
  assert.deepEqual(graph.outputs, [{ name: "t", node: "t" }]);
});

Deno.test("importOnnx() reports every construct it cannot express together, naming each node", () => {
  const bytes = model(
    [
      { op: "Gather", name: "g", inputs: ["x", "idx"], attrs: [int("axis", 1)] },
      { op: "Cast", name: "s", inputs: ["x"], attrs: [int("to", 7)] },
    ],
    [int64Tensor("idx", [2, 1], [0, 1])],
    "s",
    [1, 2, 4, 4],
    11,
  );
  assert.throws(
    () => importOnnx(bytes),
    (e: Error) =>
      /2 constructs/.test(e.message) &&
      /node "g" \(Gather\) gathers with 2-D indices/.test(e.message) &&
      /node "s" \(Cast\) casts an activation to INT64; lightnets computes in FLOAT/.test(e.message),
  );
});

Deno.test("importOnnx() maps Split (input sizes), channel Slice, MatMul + Add and ReduceMean", () => {
  const w = new Float32Array(4 * 3).map((_, i) => i / 10);
  const bytes = model(
    [
      {
        op: "Split",
        name: "/split",
        inputs: ["x", "sizes"],
        outputs: ["s0", "s1"],
        attrs: [int("axis", 1)],
      },
      { op: "Slice", name: "/slice", inputs: ["s1", "st", "en", "ax"], outputs: ["sl"] },
      {
        op: "Concat",
        name: "/cat",
        inputs: ["s0", "sl"],
        outputs: ["cat"],
        attrs: [int("axis", -3)],
      },
      {
        op: "ReduceMean",
        name: "/pool",
        inputs: ["cat"],
        outputs: ["p"],
        attrs: [ints("axes", [2, 3]), int("keepdims", 0)],
      },
      { op: "MatMul", name: "/fc/MatMul", inputs: ["p", "fc.weight.T"], outputs: ["mm"] },
      { op: "Add", name: "/fc/Add", inputs: ["mm", "fc.bias"], outputs: ["y"] },
    ],
    [
      int64Tensor("sizes", [2], [1, 3]),
      int64Tensor("st", [1], [1]),
      int64Tensor("en", [1], [9223372036854775807]),
      int64Tensor("ax", [1], [1]),
      floatTensor("fc.weight.T", [3, 4], w),
      floatTensor("fc.bias", [4], new Float32Array([1, 2, 3, 4])),
    ],
    "y",
    [1, 4, 3, 3],
  );
  const { graph, weights } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => [n.name, n.kind, n.attrs]), [
    // Top-level functional ops (torch names them "/Split", "/Concat") are named by kind.
    ["split", "split", { axis: 1, offset: 0, size: 1 }],
    ["split_1", "split", { axis: 1, offset: 1, size: 3 }],
    ["split_2", "split", { axis: 1, offset: 1, size: 2 }],
    ["concat", "concat", { axis: 1 }],
    ["global_avg_pool", "global_avg_pool", {}],
    ["flatten", "flatten", { axis: 1 }],
    ["fc", "linear", { inFeatures: 3, outFeatures: 4, bias: true }],
  ]);
  // MatMul's [K, M] weight is stored transposed as PyTorch's [out, in].
  assert.deepEqual(
    [...weights.get("fc.weight")!.slice(0, 3)],
    [0, 4, 8].map((i) => Math.fround(i / 10)),
  );
  assert.deepEqual([...weights.get("fc.bias")!], [1, 2, 3, 4]);
});

Deno.test("importOnnx() folds a zero Pad into the next Conv and a bias Add into it", () => {
  const bytes = model(
    [
      { op: "Pad", name: "/pad", inputs: ["x", "pads"], outputs: ["p"] },
      {
        op: "Conv",
        name: "/conv/Conv",
        inputs: ["p", "w"],
        outputs: ["c"],
        attrs: [ints("strides", [2, 2])],
      },
      { op: "Add", name: "/conv/Add", inputs: ["c", "b"], outputs: ["y"] },
    ],
    [
      int64Tensor("pads", [8], [0, 0, 0, 0, 0, 0, 1, 1]),
      floatTensor("w", [2, 1, 3, 3], new Float32Array(18).fill(1)),
      floatTensor("b", [1, 2, 1, 1], new Float32Array([5, 6])),
    ],
    "y",
    [1, 1, 8, 8],
  );
  const { graph, weights } = importOnnx(bytes);
  assert.equal(graph.nodes.length, 1);
  assert.deepEqual(graph.nodes[0].attrs, {
    inChannels: 1,
    outChannels: 2,
    kernel: [3, 3],
    stride: [2, 2],
    padding: [0, 0, 1, 1],
    dilation: [1, 1],
    groups: 1,
    bias: true,
  });
  assert.deepEqual([...weights.get("conv.bias")!], [5, 6]);
});

Deno.test("importOnnx() imports (x - mean) / std as one affine op with the constants it stores", () => {
  const bytes = model(
    [
      { op: "Sub", name: "/norm/Sub", inputs: ["x", "mean"], outputs: ["s"] },
      { op: "Div", name: "/norm/Div", inputs: ["s", "std"], outputs: ["y"] },
    ],
    [
      floatTensor("mean", [1, 3, 1, 1], new Float32Array([0.5, 0.25, 0])),
      floatTensor("std", [], new Float32Array([2])),
    ],
    "y",
    [1, 3, 2, 2],
  );
  const { graph, weights } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => [n.name, n.kind, n.attrs]), [
    ["norm", "affine", { channels: 3 }],
  ]);
  // (x - m) / 2 = 0.5 x - m / 2: 3 scales and 3 shifts, as the file stores 3 means (and a std)
  assert.deepEqual([...weights.get("norm.weight")!], [0.5, 0.5, 0.5]);
  assert.deepEqual([...weights.get("norm.bias")!].map((v) => v + 0), [-0.25, -0.125, 0]);
  const x = new Float32Array(12).map((_, i) => i);
  const y = runReference(graph, weights, x);
  assert.ok(Math.abs(y[4] - (4 - 0.25) / 2) < 1e-5);
});

Deno.test("importOnnx() names a functional op inside a module after the module and the op", () => {
  const bytes = model(
    [
      {
        op: "Conv",
        name: "/features/features.1/features.1.conv/features.1.conv.0/Conv",
        inputs: ["x", "w"],
        outputs: ["c"],
      },
      { op: "Add", name: "/features/features.1/Add", inputs: ["x", "c"], outputs: ["y"] },
    ],
    [floatTensor("w", [2, 2, 1, 1], new Float32Array(4).fill(1))],
    "y",
    [1, 2, 4, 4],
  );
  const { graph } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => n.name), ["features.1.conv.0", "features.1.add"]);
  assert.deepEqual(graph.scopes, [{ path: "features.1", kind: "block" }]);
});

Deno.test("importOnnx() maps Gemm with transB 0, alpha and beta, and Split with a split attribute (opset 11)", () => {
  const bytes = model(
    [
      {
        op: "Split",
        name: "/s",
        inputs: ["x"],
        outputs: ["a", "b"],
        attrs: [int("axis", 1), ints("split", [2, 2])],
      },
      { op: "GlobalAveragePool", name: "/gap", inputs: ["b"], outputs: ["g"] },
      { op: "Flatten", name: "/flat", inputs: ["g"], outputs: ["f"] },
      {
        op: "Gemm",
        name: "/fc/Gemm",
        inputs: ["f", "w", "c"],
        outputs: ["y"],
        attrs: [float("alpha", 2), float("beta", 0.5)],
      },
    ],
    [
      floatTensor("w", [2, 3], new Float32Array([1, 2, 3, 4, 5, 6])), // [K=2, M=3]
      floatTensor("c", [3], new Float32Array([2, 4, 6])),
    ],
    "y",
    [1, 4, 2, 2],
    11,
  );
  const { graph, weights } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => n.kind), [
    "split",
    "global_avg_pool",
    "flatten",
    "linear",
  ]);
  assert.deepEqual(graph.nodes[0].attrs, { axis: 1, offset: 2, size: 2 });
  // alpha * B^T as [out, in]; beta * C
  assert.deepEqual([...weights.get("fc.weight")!], [2, 8, 4, 10, 6, 12]);
  assert.deepEqual([...weights.get("fc.bias")!], [1, 2, 3]);
});

Deno.test("the README lists exactly the supported ONNX ops, and those awaiting an IR op kind", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const words = (from: string, to: string) => {
    const start = readme.indexOf(from);
    const end = readme.indexOf(to, start);
    assert.ok(start >= 0 && end > start, `README has "${from}" ... "${to}"`);
    return readme.slice(start + from.length, end)
      .replace(/on constants only \(shape computations\):/g, ",")
      .split(/[,;.\s]+/).filter((w) => /^[A-Z]/.test(w)).sort();
  };
  const pending = readme.includes("Converted once the IR has their op kinds:");
  const supported = words(
    "Supported ONNX ops:",
    pending ? "Converted once the IR" : "A file with any other op",
  );
  const awaiting = pending ? words("has their op kinds:", "A file with any other op") : [];
  // An op awaiting its kind moves to the supported list when the IR gains it (README first).
  assert.deepEqual([...supported, ...awaiting].sort(), [...SUPPORTED_ONNX_OPS, ...AWAITING].sort());
  for (const op of supported) assert.ok(SUPPORTED_ONNX_OPS.includes(op), `${op} is supported`);
});

Deno.test("importOnnx() reads h-swish followed by a scalar Mul as hardswish and a scale, blaming no node", () => {
  const scalar = (name: string, v: number) => floatTensor(name, [], new Float32Array([v]));
  const bytes = model(
    [
      // y * clip(y + 3, 0, 6) / 6 * 0.5 (a scale after the hard swish)
      { op: "Add", inputs: ["x", "three"], outputs: ["a"] },
      { op: "Clip", inputs: ["a", "zero", "six"], outputs: ["c"] },
      { op: "Mul", inputs: ["x", "c"], outputs: ["m"] },
      { op: "Div", name: "/act/Div", inputs: ["m", "six"], outputs: ["hs"] },
      { op: "Mul", name: "/act/Mul", inputs: ["hs", "half"], outputs: ["y"] },
    ],
    [scalar("three", 3), scalar("zero", 0), scalar("six", 6), scalar("half", 0.5)],
    "y",
    [1, 2, 2, 2],
  );
  const { graph, weights } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => n.kind), ["hardswish", "const", "mul"]);
  // hardswish(x) * 0.5: the scale folds 1/6 and 0.5 against the gate's 6, one stored scalar
  assert.deepEqual([...weights.get(graph.nodes[1].name + ".value")!], [0.5]);
  const x = new Float32Array([-4, -1, 0, 1, 2, 3, 4, 5]);
  const y = runReference(graph, weights, x);
  const want = Array.from(x, (v) => 0.5 * v * Math.min(Math.max(v + 3, 0), 6) / 6);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(y[i] - want[i]) < 1e-5, `${i}`);
});

Deno.test("importOnnx() drops an all-zero Pad and folds a zero Pad into AveragePool as counted padding", () => {
  const bytes = model(
    [
      {
        op: "Pad",
        name: "/none",
        inputs: ["x"],
        outputs: ["p0"],
        attrs: [ints("pads", new Array(8).fill(0))],
      },
      {
        op: "Pad",
        name: "/pad",
        inputs: ["p0"],
        outputs: ["p1"],
        attrs: [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])],
      },
      {
        op: "AveragePool",
        name: "/pool",
        inputs: ["p1"],
        outputs: ["y"],
        attrs: [ints("kernel_shape", [3, 3]), ints("strides", [2, 2])],
      },
    ],
    [],
    "y",
    [1, 1, 4, 4],
    9,
  );
  const { graph, weights } = importOnnx(bytes);
  assert.deepEqual(graph.nodes.map((n) => [n.kind, n.attrs]), [[
    "avg_pool",
    {
      kernel: [3, 3],
      stride: [2, 2],
      padding: [1, 1, 1, 1],
      ceilMode: false,
      countIncludePad: true,
    },
  ]]);
  // The corner window sums 4 inputs of 1 over 9 cells: the pad's zeros count.
  const y = runReference(graph, weights, new Float32Array(16).fill(1));
  assert.ok(Math.abs(y[0] - 4 / 9) < 1e-6);
});

Deno.test("importOnnx() evaluates any all-constant node at import with the reference executor", () => {
  // Softmax has no constant folder of its own: it runs through the reference executor.
  const bytes = model(
    [
      { op: "Softmax", name: "/gate", inputs: ["logits"], outputs: ["w"], attrs: [int("axis", 1)] },
      { op: "Mul", name: "/scale/Mul", inputs: ["x", "w"], outputs: ["y"] },
    ],
    [floatTensor("logits", [1, 3, 1, 1], new Float32Array([0, 1, 2]))],
    "y",
    [1, 3, 1, 2],
  );
  const { graph, weights } = importOnnx(bytes);
  assert.deepEqual(
    graph.nodes.map((n) => n.kind),
    ["const", "mul"],
    "the gate is folded into one stored scale per channel",
  );
  const e = [1, Math.E, Math.E ** 2];
  const sum = e[0] + e[1] + e[2];
  const y = runReference(graph, weights, new Float32Array([1, 1, 1, 1, 1, 1]));
  // softmax([0, 1, 2]) = e^i / (1 + e + e^2), broadcast over the 2 pixels of each channel
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < 2; p++) assert.ok(Math.abs(y[c * 2 + p] - e[c] / sum) < 1e-6);
  }
});
