/**
 * Our generated module (codegen/) as a benchmark runner, its per-layer
 * profile, and the register-blocked GEMM ceiling.
 *
 * @module
 */

import type { Graph } from "../../lib/ir/graph.ts";
import type { Weights } from "../../lib/runtime/weights.ts";
import type { LayerTiming } from "../results.ts";
import type { Runner } from "./runner.ts";

const NOT_YET = "codegen's compile() API is not available in this tree";

/** Compiles `graph` with `weights` and returns the module's `infer`. */
export function loadGenerated(
  _graph: Graph,
  _weights: Weights,
): Promise<(input: Float32Array) => Float32Array> {
  return Promise.reject(new Error(NOT_YET));
}

/** The generated module as a {@link Runner}. */
export async function generatedRunner(graph: Graph, weights: Weights): Promise<Runner> {
  const infer = await loadGenerated(graph, weights);
  return {
    name: "generated",
    prepare: (input) => input,
    run: (prepared) => Promise.resolve(infer(prepared)),
    dispose: () => {},
  };
}

/** Each kernel of the generated module timed alone. */
export function layerProfile(
  _graph: Graph,
  _weights: Weights,
  _input: Float32Array,
  _repeats: number,
): Promise<{ layers: LayerTiming[]; sumMs: number; r2Madds: number; r2Mac: number }> {
  return Promise.reject(new Error(NOT_YET));
}

/** The scalar-JS ceiling: a register-blocked GEMM of similar size, in this process. */
export function gemmCeiling(_quick: boolean): { gflops: number; description: string } {
  throw new Error("bench/codegen_bench.ts does not export the GEMM ceiling yet");
}
