/**
 * Real TensorFlow.js graph models from a pinned npm package, read by
 * lightnets and checked against tfjs-converter running the same files:
 * every output agrees within 1e-4 x max |tfjs| on a deterministic input, and
 * the MAdds equal a count from tfjs's own tensor shapes.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfc from "@tensorflow/tfjs-converter";
import "@tensorflow/tfjs-backend-cpu";
import { analyze } from "../lib/analysis/report.ts";
import { runReferenceOutputs } from "../lib/runtime/reference.ts";
import { maxAbs, maxAbsDiff, randomInput } from "../lib/runtime/tensor.ts";
import { compile, loadModule } from "../codegen/compile.ts";
import { CodegenError } from "../codegen/plan.ts";
import * as ort from "onnxruntime-node";
import { exportOnnx } from "../interop/onnx_export.ts";
import { readTfjsModel } from "../interop/tfjs_model.ts";
import type { GraphModelJson } from "../interop/tfjs_graph.ts";
import { HUMAN, packageFiles } from "./_npm_models.ts";
import { loadTfjsGraphModel, tfjsOutputName } from "../bench/peers/tfjs.ts";

await tf.setBackend("cpu");

/** The models under test: face detection, emotion, iris landmarks, anti-spoofing, liveness. */
const MODELS = ["blazeface", "emotion", "iris", "antispoof", "liveness"];

let fetched: Promise<string[]> | undefined;

async function modelPath(name: string): Promise<string> {
  fetched ??= packageFiles(HUMAN);
  const files = await fetched;
  const path = files.find((f) => f.endsWith(`/${name}.json`));
  if (!path) throw new Error(`${HUMAN.name}@${HUMAN.version} has no models/${name}.json`);
  return path;
}

/**
 * MAdds from tfjs's own shapes, counted without the IR: for every conv node,
 * output elements x kh x kw x (filter input channels) (a depthwise filter
 * `[kh, kw, C, M]`: output elements x kh x kw); for MatMul, rows x K x N.
 */
function tfjsMadds(model: tfc.GraphModel, json: GraphModelJson, input: tf.Tensor): number {
  const shapes = new Map<string, number[]>();
  for (
    const g of (json as unknown as {
      weightsManifest: { weights: { name: string; shape: number[] }[] }[];
    }).weightsManifest
  ) {
    for (const w of g.weights) shapes.set(w.name, w.shape);
  }
  const counted = json.modelTopology.node.filter((n) =>
    /^(_FusedConv2D|Conv2D|DepthwiseConv2dNative|FusedDepthwiseConv2dNative|_FusedMatMul|MatMul)$/
      .test(n.op)
  );
  const outs = model.execute(input, counted.map((n) => n.name)) as tf.Tensor[];
  let total = 0;
  counted.forEach((n, i) => {
    const elems = outs[i].size;
    const f = shapes.get(n.input![1])!;
    if (/MatMul/.test(n.op)) total += outs[i].shape[0] * f[0] * f[1];
    else if (/Depthwise/.test(n.op)) total += elems * f[0] * f[1];
    else total += elems * f[0] * f[1] * f[2];
  });
  tf.dispose(outs);
  return total;
}

/** Elements of the float32 tensors of the weights manifest (shape constants are int32). */
function storedFloats(json: GraphModelJson): number {
  const groups =
    (json as unknown as { weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] })
      .weightsManifest;
  return groups.flatMap((g) => g.weights).filter((w) => w.dtype === "float32")
    .reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
}

for (const name of MODELS) {
  Deno.test(`real tfjs: ${name} imports: MAdds from tfjs's shapes, params the stored floats, the reference agrees with tfjs`, async () => {
    const path = await modelPath(name);
    const { graph, weights } = await readTfjsModel(path);
    const { model, json } = await loadTfjsGraphModel(path);
    const inputs = Object.fromEntries(
      graph.inputs.map((i, k) => [i.name, randomInput(i.shape, 100 + k)]),
    );
    const feed = graph.inputs.map((i) => tf.tensor(inputs[i.name], [...i.shape]));
    const report = analyze(graph);
    assert.equal(report.totals.madds, tfjsMadds(model, json, feed[0]));
    // Parameters (and BatchNorm buffers) are exactly the float tensors the manifest stores.
    assert.equal(report.totals.params.total + report.totals.buffers, storedFloats(json));
    const ours = runReferenceOutputs(graph, weights, inputs);
    const names = graph.outputs.map((o) => tfjsOutputName(json, o.name));
    const theirs = model.execute(feed.length === 1 ? feed[0] : feed, names) as
      | tf.Tensor
      | tf.Tensor[];
    const list = Array.isArray(theirs) ? theirs : [theirs];
    graph.outputs.forEach((o, k) => {
      const expected = list[k].dataSync() as Float32Array;
      // 1e-4 of the largest tfjs output: float32 kernels summing in another order.
      assert.ok(
        maxAbsDiff(ours[o.name], expected) <= 1e-4 * maxAbs(expected),
        `output ${o.name}: max |diff| ${maxAbsDiff(ours[o.name], expected)}, max |tfjs| ${
          maxAbs(expected)
        }`,
      );
    });
    tf.dispose([...feed, ...list]);
  });

  Deno.test(`real tfjs: ${name} exported to ONNX: onnxruntime agrees with tfjs`, async () => {
    const path = await modelPath(name);
    const { graph, weights } = await readTfjsModel(path);
    const { model, json } = await loadTfjsGraphModel(path);
    const session = await ort.InferenceSession.create(exportOnnx(graph, weights));
    const inputs = Object.fromEntries(
      graph.inputs.map((i, k) => [i.name, randomInput(i.shape, 100 + k)]),
    );
    const got = await session.run(Object.fromEntries(
      graph.inputs.map((i) => [i.name, new ort.Tensor("float32", inputs[i.name], [...i.shape])]),
    ));
    const feed = graph.inputs.map((i) => tf.tensor(inputs[i.name], [...i.shape]));
    const names = graph.outputs.map((o) => tfjsOutputName(json, o.name));
    const theirs = model.execute(feed.length === 1 ? feed[0] : feed, names);
    const list = Array.isArray(theirs) ? theirs : [theirs];
    graph.outputs.forEach((o, k) => {
      const expected = list[k].dataSync() as Float32Array;
      const actual = got[o.name].data as Float32Array;
      assert.ok(
        maxAbsDiff(actual, expected) <= 1e-4 * maxAbs(expected),
        `output ${o.name}: max |diff| ${maxAbsDiff(actual, expected)}`,
      );
    });
    tf.dispose([...feed, ...list]);
  });

  // Codegen gains kinds during development: a model it cannot compile yet says why in its title.
  const { graph, weights } = await readTfjsModel(await modelPath(name));
  for (const target of ["ts", "wasm"] as const) {
    let source: string | undefined;
    let blocker: string | undefined;
    try {
      source = compile(graph, weights, { target }).source;
    } catch (e) {
      if (!(e instanceof CodegenError)) throw e;
      blocker = e.message;
    }
    Deno.test({
      name: `real tfjs: ${name}: the generated ${target} module agrees with tfjs${
        blocker ? ` [blocked: ${blocker}]` : ""
      }`,
      ignore: blocker !== undefined,
      async fn() {
        const { model, json } = await loadTfjsGraphModel(await modelPath(name));
        const inputs = Object.fromEntries(
          graph.inputs.map((i, k) => [i.name, randomInput(i.shape, 100 + k)]),
        );
        const m = await loadModule(source!);
        const got = m.inferAll(graph.inputs.length === 1 ? inputs[graph.inputs[0].name] : inputs);
        const feed = graph.inputs.map((i) => tf.tensor(inputs[i.name], [...i.shape]));
        const names = graph.outputs.map((o) => tfjsOutputName(json, o.name));
        const theirs = model.execute(feed.length === 1 ? feed[0] : feed, names);
        const list = Array.isArray(theirs) ? theirs : [theirs];
        graph.outputs.forEach((o, k) => {
          const expected = list[k].dataSync() as Float32Array;
          assert.ok(
            maxAbsDiff(got[o.name], expected) <= 1e-4 * maxAbs(expected),
            `output ${o.name}: max |diff| ${maxAbsDiff(got[o.name], expected)}`,
          );
        });
        tf.dispose([...feed, ...list]);
      },
    });
  }
}
