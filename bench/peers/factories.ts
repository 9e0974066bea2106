/**
 * Every runtime under test by name: loads a network (graph + weights) into
 * it and returns a {@link Runner}. The ONNX runtimes get our exported ONNX.
 *
 * @module
 */

import type { Graph } from "../../lib/ir/graph.ts";
import type { Weights } from "../../lib/runtime/weights.ts";
import { exportOnnx } from "../../interop/onnx_export.ts";
import { generatedRunner } from "./generated.ts";
import { ortRunner } from "./ort.ts";
import { referenceRunner } from "./reference.ts";
import type { Runner } from "./runner.ts";
import { tfjsRunner } from "./tfjs.ts";

/** Runtimes in table order. */
export const RUNTIMES = [
  "generated",
  "reference",
  "tfjs-cpu",
  "tfjs-wasm",
  "ort-node",
  "ort-web",
] as const;

/** The name of a runtime under test. */
export type RuntimeName = (typeof RUNTIMES)[number];

/** Whether `name` is a runtime {@link createRunner} knows. */
export function isRuntime(name: string): name is RuntimeName {
  return (RUNTIMES as readonly string[]).includes(name);
}

/** Loads `graph` with `weights` into the runtime `name`. */
export function createRunner(name: RuntimeName, graph: Graph, weights: Weights): Promise<Runner> {
  switch (name) {
    case "generated":
      return generatedRunner(graph, weights);
    case "reference":
      return Promise.resolve(referenceRunner(graph, weights));
    case "tfjs-cpu":
      return tfjsRunner(graph, weights, "cpu");
    case "tfjs-wasm":
      return tfjsRunner(graph, weights, "wasm");
    case "ort-node":
    case "ort-web":
      return ortRunner(name, exportOnnx(graph, weights), graph.input.shape);
  }
}
