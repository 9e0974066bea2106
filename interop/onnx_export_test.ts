import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../lib/ir/builder.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { runReference } from "../lib/runtime/reference.ts";
import { randomInput, relativeError } from "../lib/runtime/tensor.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { everyOpGraph, generalOpGraph, kindsMissing } from "./_fixtures.ts";
import { exportOnnx, GRAPH_METADATA_KEY } from "./onnx_export.ts";
import { decodeModel } from "./onnx_proto.ts";
import { importOnnx } from "./onnx_import.ts";

async function ortRun(bytes: Uint8Array, x: Float32Array, shape: readonly number[]) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await session.run({ input: new ort.Tensor("float32", x, [...shape]) });
  return out[session.outputNames[0]].data as Float32Array;
}

async function agreesWithOrt(g: Graph, batch = g.inputs[0].shape[0]) {
  const w = randomWeights(g, 2);
  const shape = [batch, ...g.inputs[0].shape.slice(1)];
  const x = randomInput(shape, 3);
  const got = await ortRun(exportOnnx(g, w), x, shape);
  const want = runReference({ ...g, inputs: [{ ...g.inputs[0], shape }] }, w, x);
  const err = relativeError(got, want);
  assert.ok(err <= 1e-5, `max |a - b| / max |b| = ${err}`);
}

Deno.test("exportOnnx() of a network with every op kind runs in onnxruntime like the reference", async () => {
  await agreesWithOrt(everyOpGraph());
});

Deno.test("exportOnnx() keeps the batch symbolic: one file runs batch 1 and batch 3", async () => {
  const g = everyOpGraph(1);
  await agreesWithOrt(g, 1);
  await agreesWithOrt(g, 3);
  const model = decodeModel(exportOnnx(g, randomWeights(g, 1), { dynamicBatch: false }));
  const dims = model.graph!.input![0].type!.tensorType!.shape!.dim!;
  assert.deepEqual(dims.map((d) => Number(d.dimValue)), [1, 3, 32, 32]);
});

for (const size of [7, 8, 9]) {
  for (const padding of [0, 1]) {
    for (const countIncludePad of [true, false]) {
      const label =
        `input=${size}x${size},k=3,s=2,p=${padding},ceil,countIncludePad=${countIncludePad}`;
      Deno.test(`exportOnnx() pooling agrees with onnxruntime: ${label}`, async () => {
        const b = new GraphBuilder("pool", [1, 2, size, size]);
        const o = { kernel: 3, stride: 2, padding, ceilMode: true, countIncludePad };
        const avg = b.avgPool(b.input, o, "avg");
        await agreesWithOrt(b.build(b.maxPool(avg, { ...o, stride: 1 }, "max")));
      });
    }
  }
}

Deno.test("exportOnnx() writes asymmetric padding, dilation and groups as ONNX Conv attributes", async () => {
  const b = new GraphBuilder("conv", [1, 4, 9, 9]);
  const y = b.conv2d(b.input, {
    out: 6,
    kernel: 3,
    stride: 2,
    padding: [0, 1, 1, 0],
    groups: 2,
    bias: true,
  }, "c");
  const g = b.build(b.conv2d(y, { out: 6, kernel: 3, dilation: 2, groups: 6 }, "dw"));
  await agreesWithOrt(g);
  const model = decodeModel(exportOnnx(g, randomWeights(g, 1)));
  const conv = model.graph!.node![0];
  const attr = (name: string) => conv.attribute!.find((a) => a.name === name)!;
  assert.deepEqual(attr("pads").ints!.map(Number), [0, 1, 1, 0]);
  assert.equal(Number(attr("group").i), 2);
  const meta = JSON.parse(model.metadataProps!.find((p) => p.key === GRAPH_METADATA_KEY)!.value!);
  assert.deepEqual(meta.shape, [1, 4, 9, 9]);
});

Deno.test("exportOnnx() of the general op kinds (axes, broadcasting, shape and math ops) agrees with onnxruntime", async () => {
  const g = generalOpGraph(1);
  assert.deepEqual(kindsMissing(everyOpGraph(), g), []);
  await agreesWithOrt(g);
});

const TRANSFORMS = [
  "half_pixel",
  "asymmetric",
  "align_corners",
  "pytorch_half_pixel",
  "tf_half_pixel_for_nn",
] as const;
const NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"] as const;

Deno.test("exportOnnx() resize agrees with onnxruntime in every mode, transform and rounding, up and down", async () => {
  for (const coordinateTransformation of TRANSFORMS) {
    for (
      const [mode, nearestMode] of [...NEAREST.map((r) => ["nearest", r]), ["linear", "floor"]]
    ) {
      for (const out of [[1, 2, 11, 4], [1, 2, 3, 9], [1, 2, 1, 14]]) {
        const b = new GraphBuilder("resize", [1, 2, 5, 7]);
        const o = {
          mode: mode as "nearest" | "linear",
          coordinateTransformation,
          nearestMode: nearestMode as (typeof NEAREST)[number],
        };
        await agreesWithOrt(b.build(b.resize(b.input, out, o, "r")));
      }
    }
  }
});

Deno.test("exportOnnx() conv_transpose2d agrees with onnxruntime: groups, strides, pads, output padding, dilation", async () => {
  const cases = [
    { out: 4, kernel: 2, stride: 2 },
    { out: 6, kernel: 3, stride: 2, padding: 1, outputPadding: 1, groups: 3, bias: true },
    { out: 3, kernel: [3, 2] as const, stride: [1, 3] as const, padding: [0, 1, 2, 0] as const },
    { out: 3, kernel: 3, stride: 2, dilation: 2, outputPadding: [1, 0] as const, bias: true },
  ];
  for (const c of cases) {
    const b = new GraphBuilder("deconv", [2, 3, 4, 5]);
    await agreesWithOrt(b.build(b.convTranspose2d(b.input, c, "ct")));
  }
});

Deno.test("an export of the general op kinds imports back and computes the same", () => {
  const g = generalOpGraph(1);
  const w = randomWeights(g, 2);
  const { graph, weights } = importOnnx(exportOnnx(g, w));
  const x = randomInput(g.inputs[0].shape, 3);
  const err = relativeError(runReference(graph, weights, x), runReference(g, w, x));
  assert.ok(err <= 1e-5, `max |a - b| / max |b| = ${err}`);
});

Deno.test("exportOnnx() resize with the file's scales (not output / input) agrees with onnxruntime", async () => {
  // 7 x 0.5 -> 3 and 5 x 1.5 -> 7: the coordinates divide by 0.5 and 1.5, not 3/7 and 7/5.
  for (const coordinateTransformation of TRANSFORMS) {
    for (const mode of ["nearest", "linear"] as const) {
      const b = new GraphBuilder("scales", [1, 2, 7, 5]);
      const o = { mode, coordinateTransformation, scales: [1, 1, 0.5, 1.5] };
      await agreesWithOrt(b.build(b.resize(b.input, [1, 2, 3, 7], o, "r")));
    }
  }
});
