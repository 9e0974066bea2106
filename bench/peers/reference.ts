/**
 * Our reference executor (lib/runtime/reference.ts) as a benchmark runner:
 * plain, readable kernels, the oracle every other runtime is checked against.
 *
 * @module
 */

import type { Graph } from "../../lib/ir/graph.ts";
import { runReference } from "../../lib/runtime/reference.ts";
import type { Weights } from "../../lib/runtime/weights.ts";
import type { Runner } from "./runner.ts";

/** A runner calling {@link runReference} on the unfolded graph. */
export function referenceRunner(graph: Graph, weights: Weights): Runner {
  return {
    name: "reference",
    prepare: (input) => input,
    run: (prepared) => Promise.resolve(runReference(graph, weights, prepared)),
    dispose: () => {},
  };
}
