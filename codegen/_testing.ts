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
import { runReference } from "../lib/runtime/reference.ts";
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
 * Compiles `graph` with seeded weights, runs generated and reference on a
 * seeded input, and asserts no NaN is left and the relative error is within
 * {@link TOL}. `options` picks the target (TypeScript by default).
 */
export async function differential(
  graph: Graph,
  seed = 1,
  options: CompileOptions = {},
): Promise<Differential> {
  const weights = randomWeights(graph, seed);
  const compiled = compile(graph, weights, options);
  const mod = await loadModule(compiled.source);
  const input = randomInput(graph.input.shape, seed + 1000);
  const output = new Float32Array(numel(mod.outputShape)).fill(NaN);
  mod.inferInto(input, output);
  const reference = runReference(graph, weights, input);
  assert.equal(output.length, reference.length, "output length");
  const unwritten = output.findIndex((v) => Number.isNaN(v));
  assert.equal(unwritten, -1, `output element ${unwritten} was never written (still NaN)`);
  const scale = maxAbs(reference);
  const diff = maxAbsDiff(output, reference);
  const relative = scale === 0 ? diff : diff / scale;
  assert.ok(
    relative <= TOL,
    `max |gen - ref| = ${diff} is ${relative} of max |ref| = ${scale}, above ${TOL}`,
  );
  return { compiled, relative, sameTop1: argmax(output) === argmax(reference) };
}
