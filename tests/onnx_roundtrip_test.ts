/**
 * Export -> import round trip over the whole zoo: the imported graph is the
 * exported one (nodes, names, attrs, scopes, knobs), its weights are
 * bit-identical, every analysis figure is equal and codegen emits the same
 * module.
 */
import assert from "node:assert/strict";
import { analyze } from "../lib/analysis/report.ts";
import { compile } from "../codegen/compile.ts";
import { MODELS, zoo } from "../lib/models/zoo.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { exportOnnx } from "../interop/onnx_export.ts";
import { importOnnx } from "../interop/onnx_import.ts";

for (const model of MODELS) {
  Deno.test(`export -> import of "${model.name}" gives the same graph, weights, analysis and generated code`, () => {
    const graph = zoo.build(model.name);
    const weights = randomWeights(graph, 42);
    const back = importOnnx(exportOnnx(graph, weights), { source: `${model.name}.onnx` });
    assert.deepEqual(back.graph, graph);
    assert.equal(back.weights.size, weights.size);
    for (const [key, data] of weights) assert.deepEqual(back.weights.get(key), data, key);
    assert.deepEqual(analyze(back.graph), analyze(graph));
    assert.equal(compile(back.graph, back.weights).source, compile(graph, weights).source);
  });
}
