/**
 * Test support: run a graph through codegen and through the reference
 * executor on the same seeded weights and input, with the output pre-filled
 * with NaN so an element no kernel writes fails the comparison.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Graph } from "../lib/ir/graph.ts";
import { numel } from "../lib/ir/ops.ts";
import { runReferenceOutputs } from "../lib/runtime/reference.ts";
import { argmax, maxAbs, maxAbsDiff, randomInput } from "../lib/runtime/tensor.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { compile, type Compiled, type CompileOptions, loadModule } from "./compile.ts";

/** The tolerance of every differential test: max |gen - ref| <= TOL * max |ref|. */
export const TOL = 1e-4;

/** The outcome of one differential run. */
export interface Differential {
  compiled: Compiled;
  /** max |gen - ref| / max |ref| (0 when both are all zeros). */
  relative: number;
  sameTop1: boolean;
}

/**
 * Compiles `graph` with seeded weights, runs generated and reference on
 * seeded inputs (one per graph input), writing every output into a
 * NaN-prefilled array, and asserts no NaN is left and each output's relative
 * error is within {@link TOL}. `relative` is the worst over the outputs;
 * `sameTop1` compares the primary output. `options` picks the target
 * (TypeScript by default).
 */
export async function differential(
  graph: Graph,
  seed = 1,
  options: CompileOptions = {},
): Promise<Differential> {
  const weights = randomWeights(graph, seed);
  const compiled = compile(graph, weights, options);
  const mod = await loadModule(compiled.source);
  const inputs = Object.fromEntries(
    graph.inputs.map((i, k) => [i.name, randomInput(i.shape, seed + 1000 + k)]),
  );
  const outputs = Object.fromEntries(
    mod.outputNames.map((
      name,
      k,
    ) => [name, new Float32Array(numel(mod.outputShapes[k])).fill(NaN)]),
  );
  mod.inferAllInto(inputs, outputs);
  const reference = runReferenceOutputs(graph, weights, inputs);
  assert.deepEqual(mod.outputNames, graph.outputs.map((o) => o.name), "output names");
  let relative = 0;
  for (const { name } of graph.outputs) {
    const got = outputs[name];
    const want = reference[name];
    assert.equal(got.length, want.length, `output "${name}" length`);
    const unwritten = got.findIndex((v) => Number.isNaN(v));
    const wantNaN = want.findIndex((v) => Number.isNaN(v));
    assert.equal(
      unwritten,
      wantNaN,
      `output "${name}" element ${unwritten} was never written (still NaN)`,
    );
    const scale = maxAbs(want);
    const diff = maxAbsDiff(got, want);
    const r = scale === 0 ? diff : diff / scale;
    assert.ok(
      r <= TOL,
      `output "${name}": max |gen - ref| = ${diff} is ${r} of max |ref| = ${scale}, above ${TOL}`,
    );
    relative = Math.max(relative, r);
  }
  const primary = graph.outputs[0].name;
  return {
    compiled,
    relative,
    sameTop1: argmax(outputs[primary]) === argmax(reference[primary]),
  };
}
