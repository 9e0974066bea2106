/**
 * onnxruntime as a second, independent oracle: every zoo model, exported by
 * lightnets, runs in onnxruntime-node and agrees with the reference executor
 * (max |a - b| <= 1e-4 * max |b|, same top-1); the same holds for each model
 * written the way torch.onnx exports it and imported back (BatchNorm folded,
 * Constant weights, shape subgraphs, h-swish as arithmetic, dynamic batch).
 * Our generated modules (TypeScript and WebAssembly targets) agree with
 * onnxruntime on every zoo model's export, and on torch.onnx-style files after
 * import. Reduced resolution keeps the
 * reference executor fast; one model runs at 224.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import type { Graph } from "../lib/ir/graph.ts";
import { MODELS, zoo } from "../lib/models/zoo.ts";
import { runReference } from "../lib/runtime/reference.ts";
import { argmax, randomInput, relativeError } from "../lib/runtime/tensor.ts";
import { randomWeights, type Weights } from "../lib/runtime/weights.ts";
import { exportOnnx } from "../interop/onnx_export.ts";
import { importOnnx } from "../interop/onnx_import.ts";
import { torchLikeOnnx } from "./_torch_like.ts";
import { analyze } from "../lib/analysis/report.ts";
import { compile, loadModule } from "../codegen/compile.ts";

const TOLERANCE = 1e-4; // relative to max |reference|: float32 sums in a different order

async function runOrt(bytes: Uint8Array, input: Float32Array, shape: readonly number[]) {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", input, [...shape]) };
  const out = await session.run(feeds);
  const data = out[session.outputNames[0]].data as Float32Array;
  await session.release();
  return data;
}

function agree(got: Float32Array, want: Float32Array, label: string, classes: number): void {
  const err = relativeError(got, want);
  assert.ok(err <= TOLERANCE, `${label}: max |a - b| / max |b| = ${err}`);
  for (let n = 0; n < got.length / classes; n++) {
    const row = (a: Float32Array) => a.subarray(n * classes, (n + 1) * classes);
    assert.equal(argmax(row(got)), argmax(row(want)), `${label}: top-1 of image ${n}`);
  }
}

function build(name: string, resolution?: number): Graph {
  const has = (k: string) => zoo.resolve(name).model.knobs.some((s) => s.name === k);
  return zoo.build(name, resolution && has("resolution") ? { resolution } : {});
}

const CASES: { name: string; resolution?: number }[] = [
  ...MODELS.map((m) => ({ name: m.name, resolution: 64 })),
  { name: "mobilenetv2", resolution: 224 },
];

for (const { name, resolution } of CASES) {
  const graph = build(name, resolution);
  const label = `${name}@${graph.inputs[0].shape[2]}`;

  Deno.test(`onnxruntime on the export of ${label} agrees with the reference executor`, async () => {
    const weights = randomWeights(graph, 7);
    const input = randomInput(graph.inputs[0].shape, 3);
    const want = runReference(graph, weights, input);
    const got = await runOrt(exportOnnx(graph, weights), input, graph.inputs[0].shape);
    agree(got, want, label, want.length / graph.inputs[0].shape[0]);
  });
}

for (const m of MODELS) {
  const graph = build(m.name, 64);
  const label = `${m.name}@${graph.inputs[0].shape[2]}`;
  Deno.test(`a torch.onnx-style ${label} imports, and its reference run agrees with onnxruntime on the file`, async () => {
    const weights: Weights = randomWeights(graph, 8);
    const { bytes, folded } = torchLikeOnnx(graph, weights);
    // Batch 2 exercises the symbolic batch; the wide ShuffleNet V2 micro-networks run
    // batch 1 to keep the reference executor's time down.
    const shape = [m.name.startsWith("sv2_") ? 1 : 2, ...graph.inputs[0].shape.slice(1)];
    assert.throws(() => importOnnx(bytes), /dynamic dimensions \[batch_size, /);
    const imported = importOnnx(bytes, { inputShape: shape, source: `${m.name}.onnx` });
    // Same ops and names as the folded graph (dropout is gone in eval-mode exports).
    const kept = folded.nodes.filter((n) => n.kind !== "dropout");
    assert.deepEqual(imported.graph.nodes.map((n) => n.kind), kept.map((n) => n.kind));
    const names = new Set(imported.graph.nodes.map((n) => n.name));
    const same = kept.filter((n) => names.has(n.name)).length;
    assert.ok(same >= kept.length * 0.8, `${same} of ${kept.length} node names kept`);
    const a = analyze(imported.graph).totals;
    const b = analyze({ ...folded, inputs: [{ ...folded.inputs[0], shape }] }).totals;
    assert.equal(a.madds, b.madds);
    assert.deepEqual(a.params, b.params);
    const input = randomInput(shape, 4);
    const want = await runOrt(bytes, input, shape);
    const got = runReference(imported.graph, imported.weights, input);
    agree(got, want, label, want.length / shape[0]);
  });
}

/**
 * Small variants for the generated-module checks: loading a generated module
 * costs time in proportion to its inlined weights, so widths are the smallest
 * published and classes 10.
 */
const SMALL: Record<string, Record<string, number>> = {
  mobilenetv1: { width: 0.25 },
  mobilenetv2: { width: 0.35 },
  mobilenetv3_large: { width: 0.35 },
  mobilenetv3_small: { width: 0.5 },
  shufflenetv1: { width: 0.5 },
  shufflenetv2: { width: 0.5 },
};

function buildSmall(name: string): Graph {
  const model = zoo.resolve(name).model;
  const has = (k: string) => model.knobs.some((s) => s.name === k);
  const knobs: Record<string, number> = { ...(SMALL[name] ?? {}) };
  if (has("resolution")) knobs.resolution = 64;
  if (has("classes")) knobs.classes = 10;
  return zoo.build(name, knobs);
}

for (const m of MODELS) {
  const graph = buildSmall(m.name);
  const label = `${m.name}@${graph.inputs[0].shape[2]} (${formatKnobs(graph)})`;
  Deno.test(`the generated modules (ts, wasm) of ${label} agree with onnxruntime on its export`, async () => {
    const weights = randomWeights(graph, 9);
    const input = randomInput(graph.inputs[0].shape, 5);
    const want = await runOrt(exportOnnx(graph, weights), input, graph.inputs[0].shape);
    for (const target of ["ts", "wasm"] as const) {
      const module = await loadModule(compile(graph, weights, { target }).source);
      const got = module.infer(input);
      agree(got, want, `${label} (${target})`, want.length / graph.inputs[0].shape[0]);
    }
  });
}

for (const name of ["mobilenetv3_small", "shufflenetv2", "squeezenet1_1"]) {
  const graph = buildSmall(name);
  Deno.test(`a torch.onnx-style ${name} imported and compiled agrees with onnxruntime on the file`, async () => {
    const { bytes } = torchLikeOnnx(graph, randomWeights(graph, 10));
    const imported = importOnnx(bytes, { inputShape: graph.inputs[0].shape });
    const input = randomInput(graph.inputs[0].shape, 6);
    const want = await runOrt(bytes, input, graph.inputs[0].shape);
    for (const target of ["ts", "wasm"] as const) {
      const module = await loadModule(compile(imported.graph, imported.weights, { target }).source);
      agree(module.infer(input), want, `${name} (${target})`, want.length);
    }
  });
}

function formatKnobs(graph: Graph): string {
  return Object.entries(graph.meta).map(([k, v]) => `${k} ${v}`).join(", ");
}
