/**
 * Graph-model ops, one small GraphDef per case: tfjs-converter runs the same
 * model.json and weights, and the reference executor must agree with it.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfc from "@tensorflow/tfjs-converter";
import "@tensorflow/tfjs-backend-cpu";
import { mulberry32 } from "../lib/runtime/weights.ts";
import { runReferenceOutputs } from "../lib/runtime/reference.ts";
import { compile, loadModule } from "../codegen/compile.ts";
import { maxAbs, maxAbsDiff } from "../lib/runtime/tensor.ts";
import { importGraphModel, type TfNode } from "./tfjs_graph.ts";
import { decodeWeights, type TfjsWeightSpec } from "./tfjs_weights.ts";

await tf.setBackend("cpu");

const b64 = (s: string) => btoa(s);
const list = (...i: number[]) => ({ list: { i: i.map(String) } });
const str = (s: string) => ({ s: b64(s) });

/** A constant: values, shape and dtype. */
type C = { shape: number[]; data: number[]; dtype?: "float32" | "int32" };

/** Seeded values in [-1, 1) of `shape`. */
function rnd(shape: number[], seed: number, lo = -1, hi = 1): C {
  const r = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Array.from({ length: n }, () => lo + (hi - lo) * r()) };
}
const ints = (...v: number[]): C => ({ shape: [v.length], data: v, dtype: "int32" });

/** model.json + one shard for `nodes` reading Placeholder `x` of `shape` and constants `consts`. */
function graphModel(shape: number[], consts: Record<string, C>, nodes: TfNode[]) {
  const specs: TfjsWeightSpec[] = [];
  const parts: Uint8Array[] = [];
  const constNodes: TfNode[] = [];
  for (const [name, c] of Object.entries(consts)) {
    const dtype = c.dtype ?? "float32";
    specs.push({ name, shape: c.shape, dtype });
    const arr = dtype === "int32" ? Int32Array.from(c.data) : Float32Array.from(c.data);
    parts.push(new Uint8Array(arr.buffer));
    constNodes.push({
      name,
      op: "Const",
      attr: { dtype: { type: dtype === "int32" ? "DT_INT32" : "DT_FLOAT" } },
    });
  }
  const bin = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bin.set(p, at);
    at += p.length;
  }
  const placeholder: TfNode = {
    name: "x",
    op: "Placeholder",
    attr: {
      dtype: { type: "DT_FLOAT" },
      shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } },
    },
  };
  const json = {
    format: "graph-model",
    modelTopology: { node: [placeholder, ...constNodes, ...nodes], library: {}, versions: {} },
    weightsManifest: [{ paths: ["w.bin"], weights: specs }],
  };
  return { json, bin, specs };
}

/** Runs one case in tfjs-converter and through lightnets; returns [ours, tfjs]. */
async function both(shape: number[], consts: Record<string, C>, nodes: TfNode[], out: string) {
  const { json: base, bin, specs } = graphModel(shape, consts, nodes);
  // The signature names which tensor is the output (`sv:1` is a Split's second part).
  const json = { ...base, signature: { outputs: { result: { name: out } } } };
  const model = await tfc.loadGraphModel({
    load: () =>
      Promise.resolve({
        modelTopology: json.modelTopology,
        format: json.format,
        weightSpecs: specs as tf.io.WeightsManifestEntry[],
        weightData: bin.buffer,
      }),
  });
  const x = rnd(shape, 5).data;
  const expected = (model.execute(tf.tensor(x, shape), out) as tf.Tensor)
    .dataSync() as Float32Array;
  const weights = decodeWeights(json.weightsManifest, [[bin]], "case.json");
  const { graph, weights: w } = importGraphModel(json, weights, { source: "case.json" });
  const actual = runReferenceOutputs(graph, w, { x: Float32Array.from(x) }).result;
  const m = await loadModule(compile(graph, w).source);
  const generated = m.inferAll(Float32Array.from(x)).result;
  return [actual, expected, generated];
}

const conv = (
  name: string,
  input: string,
  filter: string,
  extra: Record<string, unknown> = {},
): TfNode => ({
  name,
  op: "Conv2D",
  input: [input, filter],
  attr: {
    strides: list(1, 1, 1, 1),
    dilations: list(1, 1, 1, 1),
    padding: str("SAME"),
    data_format: str("NHWC"),
    ...extra,
  },
});

/** [name, input NHWC shape, constants, nodes, output node]. */
const CASES: [string, number[], Record<string, C>, TfNode[], string][] = [
  ["Conv2D SAME stride 2", [1, 7, 7, 3], { f: rnd([3, 3, 3, 4], 1) }, [
    conv("c", "x", "f", { strides: list(1, 2, 2, 1) }),
  ], "c"],
  ["Conv2D VALID dilation 2", [1, 9, 9, 2], { f: rnd([3, 3, 2, 3], 2) }, [
    conv("c", "x", "f", { padding: str("VALID"), dilations: list(1, 2, 2, 1) }),
  ], "c"],
  [
    "_FusedConv2D BiasAdd + Relu6",
    [1, 6, 6, 3],
    { f: rnd([3, 3, 3, 5], 3, -2, 2), b: rnd([5], 4) },
    [{
      name: "block/conv/Relu6",
      op: "_FusedConv2D",
      input: ["x", "f", "b"],
      attr: {
        strides: list(1, 1, 1, 1),
        padding: str("SAME"),
        data_format: str("NHWC"),
        fused_ops: { list: { s: [b64("BiasAdd"), b64("Relu6")] } },
        num_args: { i: "1" },
      },
    }],
    "block/conv/Relu6",
  ],
  ["_FusedConv2D BiasAdd + Prelu", [1, 5, 5, 2], {
    f: rnd([1, 1, 2, 4], 5),
    b: rnd([4], 6),
    a: rnd([4], 7),
  }, [{
    name: "c",
    op: "_FusedConv2D",
    input: ["x", "f", "b", "a"],
    attr: {
      strides: list(1, 1, 1, 1),
      padding: str("VALID"),
      fused_ops: { list: { s: [b64("BiasAdd"), b64("Prelu")] } },
      num_args: { i: "2" },
    },
  }], "c"],
  ["DepthwiseConv2dNative multiplier 2", [1, 6, 6, 3], { f: rnd([3, 3, 3, 2], 8) }, [{
    name: "d",
    op: "DepthwiseConv2dNative",
    input: ["x", "f"],
    attr: {
      strides: list(1, 2, 2, 1),
      dilations: list(1, 1, 1, 1),
      padding: str("SAME"),
      data_format: str("NHWC"),
    },
  }], "d"],
  ["FusedDepthwiseConv2dNative BiasAdd + Relu", [1, 5, 5, 4], {
    f: rnd([3, 3, 4, 1], 9),
    b: rnd([4], 10),
  }, [{
    name: "d",
    op: "FusedDepthwiseConv2dNative",
    input: ["x", "f", "b"],
    attr: {
      strides: list(1, 1, 1, 1),
      padding: str("SAME"),
      fused_ops: { list: { s: [b64("BiasAdd"), b64("Relu")] } },
      num_args: { i: "1" },
    },
  }], "d"],
  ["AddV2 of two computed tensors, Relu", [1, 4, 4, 3], { f: rnd([1, 1, 3, 3], 11) }, [
    conv("c", "x", "f"),
    { name: "s", op: "AddV2", input: ["x", "c"] },
    { name: "r", op: "Relu", input: ["s"] },
  ], "r"],
  ["Mul and Add of per-channel constants (a decomposed batch norm)", [1, 3, 3, 4], {
    m: rnd([4], 12),
    a: rnd([4], 13),
  }, [
    { name: "bn/Mul", op: "Mul", input: ["x", "m"] },
    { name: "bn/Add", op: "Add", input: ["bn/Mul", "a"] },
  ], "bn/Add"],
  ["Sub, RealDiv, Maximum, Minimum with scalars", [1, 3, 3, 2], {
    s: { shape: [], data: [0.25] },
    d: { shape: [], data: [4] },
    lo: { shape: [], data: [-0.1] },
    hi: { shape: [], data: [0.05] },
  }, [
    { name: "a", op: "Sub", input: ["x", "s"] },
    { name: "b", op: "RealDiv", input: ["a", "d"] },
    { name: "c", op: "Maximum", input: ["b", "lo"] },
    { name: "e", op: "Minimum", input: ["c", "hi"] },
  ], "e"],
  ["Prelu, Elu, Sigmoid, Tanh", [1, 3, 3, 2], { a: { shape: [1, 1, 2], data: [0.1, 0.3] } }, [
    { name: "p", op: "Prelu", input: ["x", "a"] },
    { name: "e", op: "Elu", input: ["p"] },
    { name: "s", op: "Sigmoid", input: ["e"] },
    { name: "t", op: "Tanh", input: ["s"] },
  ], "t"],
  ["MaxPool and AvgPool SAME (padding not counted)", [1, 7, 7, 2], {}, [
    {
      name: "m",
      op: "MaxPool",
      input: ["x"],
      attr: { ksize: list(1, 3, 3, 1), strides: list(1, 2, 2, 1), padding: str("SAME") },
    },
    {
      name: "a",
      op: "AvgPool",
      input: ["m"],
      attr: { ksize: list(1, 3, 3, 1), strides: list(1, 1, 1, 1), padding: str("SAME") },
    },
  ], "a"],
  ["Mean over H and W, Softmax", [1, 4, 4, 5], { ax: ints(1, 2) }, [
    { name: "m", op: "Mean", input: ["x", "ax"], attr: { keep_dims: { b: false } } },
    { name: "s", op: "Softmax", input: ["m"] },
  ], "s"],
  ["ConcatV2 on channels", [1, 3, 3, 2], { f: rnd([1, 1, 2, 3], 14), ax: ints(3) }, [
    conv("c", "x", "f"),
    { name: "cat", op: "ConcatV2", input: ["x", "c", "ax"], attr: { N: { i: "2" } } },
  ], "cat"],
  ["Reshape, MatMul, BiasAdd", [1, 2, 2, 3], {
    s: ints(1, -1),
    w: rnd([12, 5], 15),
    b: rnd([5], 16),
  }, [
    { name: "r", op: "Reshape", input: ["x", "s"] },
    {
      name: "mm",
      op: "MatMul",
      input: ["r", "w"],
      attr: { transpose_a: { b: false }, transpose_b: { b: false } },
    },
    { name: "ba", op: "BiasAdd", input: ["mm", "b"] },
  ], "ba"],
  ["Pad and MirrorPad", [1, 3, 4, 2], {
    p: { shape: [4, 2], data: [0, 0, 1, 2, 2, 1, 0, 0], dtype: "int32" },
  }, [
    { name: "p1", op: "Pad", input: ["x", "p"] },
    { name: "p2", op: "MirrorPad", input: ["p1", "p"], attr: { mode: str("REFLECT") } },
  ], "p2"],
  ["Transpose, StridedSlice with steps, then with masks and a shrink", [1, 4, 5, 3], {
    perm: ints(0, 3, 1, 2),
    b: ints(0, 1, 0, 1),
    e: ints(1, 3, 4, 5),
    st: ints(1, 1, 2, 1),
    b2: ints(0, 0, 0, 0),
    e2: ints(1, 0, 0, 0),
    st2: ints(1, 1, 1, 1),
  }, [
    { name: "t", op: "Transpose", input: ["x", "perm"] },
    { name: "ss", op: "StridedSlice", input: ["t", "b", "e", "st"] },
    {
      name: "ss2",
      op: "StridedSlice",
      input: ["ss", "b2", "e2", "st2"],
      attr: { shrink_axis_mask: { i: "1" }, end_mask: { i: "14" } },
    },
  ], "ss2"],
  ["Split and SplitV on channels", [1, 3, 3, 6], { ax: ints(3), sz: ints(2, -1) }, [
    { name: "sp", op: "Split", input: ["ax", "x"], attr: { num_split: { i: "2" } } },
    { name: "sv", op: "SplitV", input: ["sp:1", "sz", "ax"], attr: { num_split: { i: "2" } } },
  ], "sv:1"],
  ["ResizeBilinear half-pixel and ResizeNearestNeighbor", [1, 3, 4, 2], {
    s1: ints(6, 8),
    s2: ints(5, 7),
  }, [
    {
      name: "rb",
      op: "ResizeBilinear",
      input: ["x", "s1"],
      attr: { half_pixel_centers: { b: true } },
    },
    { name: "rn", op: "ResizeNearestNeighbor", input: ["rb", "s2"] },
  ], "rn"],
  ["Exp, Sqrt, Rsqrt, Log, Neg, Abs, Reciprocal, Softplus, Erf, Square", [1, 3, 3, 2], {}, [
    { name: "p", op: "Exp", input: ["x"] },
    { name: "a", op: "Sqrt", input: ["p"] },
    { name: "b", op: "Rsqrt", input: ["a"] },
    { name: "c", op: "Log", input: ["b"] },
    { name: "d", op: "Neg", input: ["c"] },
    { name: "e", op: "Abs", input: ["d"] },
    { name: "f", op: "Reciprocal", input: ["e"] },
    { name: "g", op: "Softplus", input: ["f"] },
    { name: "h", op: "Erf", input: ["g"] },
    { name: "i", op: "Square", input: ["h"] },
  ], "i"],
  ["Pow, SquaredDifference, AddN of computed tensors, ClipByValue", [1, 3, 3, 2], {
    lo: { shape: [], data: [0.5] },
    hi: { shape: [], data: [3] },
  }, [
    { name: "p", op: "Exp", input: ["x"] },
    { name: "q", op: "Pow", input: ["p", "x"] },
    { name: "s", op: "SquaredDifference", input: ["q", "p"] },
    { name: "n", op: "AddN", input: ["s", "p", "q"], attr: { N: { i: "3" } } },
    { name: "c", op: "ClipByValue", input: ["n", "lo", "hi"] },
  ], "c"],
  ["GatherV2 on channels and a scalar index on H, Pack", [1, 4, 3, 5], {
    idx: ints(4, 0, 2),
    ax: ints(3),
    one: { shape: [], data: [1], dtype: "int32" },
    ax1: ints(1),
  }, [
    { name: "g", op: "GatherV2", input: ["x", "idx", "ax"] },
    { name: "row", op: "GatherV2", input: ["g", "one", "ax1"] },
    { name: "st", op: "Pack", input: ["row", "row"], attr: { axis: { i: "1" }, N: { i: "2" } } },
  ], "st"],
  ["Conv2DBackpropInput SAME and VALID with stride 2", [1, 3, 3, 4], {
    f1: rnd([3, 3, 2, 4], 41),
    s1: ints(1, 6, 6, 2),
    f2: rnd([3, 3, 3, 2], 42),
    s2: ints(1, 13, 13, 3),
  }, [
    {
      name: "up1",
      op: "Conv2DBackpropInput",
      input: ["s1", "f1", "x"],
      attr: { strides: list(1, 2, 2, 1), padding: str("SAME"), dilations: list(1, 1, 1, 1) },
    },
    {
      name: "up2",
      op: "Conv2DBackpropInput",
      input: ["s2", "f2", "up1"],
      attr: { strides: list(1, 2, 2, 1), padding: str("VALID"), dilations: list(1, 1, 1, 1) },
    },
  ], "up2"],
];

for (const [name, shape, consts, nodes, out] of CASES) {
  Deno.test({
    name: `tfjs graph: ${name} agrees with tfjs-converter (reference and generated module)`,
    async fn() {
      const [actual, expected, generated] = await both(shape, consts, nodes, out);
      assert.equal(actual.length, expected.length);
      assert.ok(maxAbsDiff(generated, expected) <= 1e-4 * Math.max(maxAbs(expected), 1e-6));
      // 1e-4 of the largest tfjs output: float32 sums in another order.
      assert.ok(maxAbsDiff(actual, expected) <= 1e-4 * Math.max(maxAbs(expected), 1e-6));
    },
  });
}

Deno.test("tfjs graph: a classifier head (MatMul, BiasAdd, Relu, _FusedMatMul, Softmax) agrees with tfjs-converter", async () => {
  const [actual, expected, generated] = await both([1, 12], {
    w1: rnd([12, 8], 21),
    b1: rnd([8], 22),
    w2: rnd([3, 8], 23),
    b2: rnd([3], 24),
  }, [
    { name: "fc1/MatMul", op: "MatMul", input: ["x", "w1"] },
    { name: "fc1/BiasAdd", op: "BiasAdd", input: ["fc1/MatMul", "b1"] },
    { name: "fc1/Relu", op: "Relu", input: ["fc1/BiasAdd"] },
    {
      name: "fc2/BiasAdd",
      op: "_FusedMatMul",
      input: ["fc1/Relu", "w2", "b2"],
      attr: {
        transpose_b: { b: true },
        fused_ops: { list: { s: [b64("BiasAdd")] } },
        num_args: { i: "1" },
      },
    },
    { name: "probs", op: "Softmax", input: ["fc2/BiasAdd"] },
  ], "probs");
  assert.ok(maxAbsDiff(actual, expected) <= 1e-4 * maxAbs(expected));
  assert.ok(maxAbsDiff(generated, expected) <= 1e-4 * maxAbs(expected));
});

Deno.test("tfjs graph: unsupported ops are one error naming each op and its first node", () => {
  const { json, bin } = graphModel([1, 2], {}, [
    { name: "a/Sin", op: "Sin", input: ["x"] },
    { name: "b/Cos", op: "Cos", input: ["a/Sin"] },
    { name: "c/Sin", op: "Sin", input: ["b/Cos"] },
  ]);
  assert.throws(
    () =>
      importGraphModel(json, decodeWeights(json.weightsManifest, [[bin]], "m.json"), {
        source: "m.json",
      }),
    /^TfjsImportError: Cannot import m\.json: unsupported TensorFlow op\(s\) Sin \(first node "a\/Sin"\), Cos \(first node "b\/Cos"\)$/,
  );
});

Deno.test("tfjs graph: a dynamic input dimension asks for --input-shape", () => {
  const { json } = graphModel([1, -1, -1, 3], {}, [{ name: "r", op: "Relu", input: ["x"] }]);
  assert.throws(
    () => importGraphModel(json, new Map(), { source: "m.json" }),
    /Input "x" of m\.json has dynamic shape \[1, -1, -1, 3\]; give one with --input-shape, e\.g\. 1x224x224x3/,
  );
});

Deno.test("tfjs graph: a Const without a manifest tensor names the node", () => {
  const json = {
    modelTopology: { node: [{ name: "k", op: "Const" }, { name: "x", op: "Placeholder" }] },
  };
  assert.throws(
    () => importGraphModel(json, new Map(), { source: "m.json" }),
    /Const node "k" of m\.json has no tensor in the weights manifest/,
  );
});

Deno.test("tfjs graph: malformed nodes and attributes are one-line errors naming them", () => {
  const bad = (nodes: unknown[]) => () =>
    importGraphModel(
      { modelTopology: { node: nodes as TfNode[] } },
      new Map(),
      { source: "m.json" },
    );
  const x = {
    name: "x",
    op: "Placeholder",
    attr: {
      shape: { shape: { dim: [{ size: "1" }, { size: "4" }, { size: "4" }, { size: "3" }] } },
    },
  };
  assert.throws(
    bad([x, { name: "y" }]),
    /^TfjsImportError: Invalid graph model m\.json: node 1 needs a string "name" and "op"$/,
  );
  assert.throws(
    bad([x, { name: "m", op: "MaxPool", input: ["x"], attr: { ksize: { list: { i: "x" } } } }]),
    /^TfjsImportError: Node "m" \(MaxPool\) in m\.json: attribute "ksize" is missing or not a list of integers$/,
  );
  assert.throws(
    bad([x, { name: "a", op: "Relu", input: ["b"] }, { name: "b", op: "Relu", input: ["a"] }]),
    /The graph of m\.json has a cycle through "a"/,
  );
  assert.throws(
    bad([x, { name: "r", op: "Relu", input: ["nope"] }]),
    /Node "r" of m\.json reads "nope", which is not a node of the graph/,
  );
});
