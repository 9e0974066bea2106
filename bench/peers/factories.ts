/**
 * Every runtime under test by name: loads a network (graph + weights) into
 * it and returns a {@link Runner}. The ONNX runtimes get our exported ONNX.
 *
 * @module
 */

import type { Graph } from "../../lib/ir/graph.ts";
import type { Weights } from "../../lib/runtime/weights.ts";
import type { Runner } from "./runner.ts";

/** Runtimes in table order. */
export const RUNTIMES = [
  "generated",
  "generated-wasm",
  "generated-wasm-2t",
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

/** Which codegen target and thread count a `generated*` runtime is, else undefined. */
export function generatedSetup(
  name: string,
): { target: "ts" | "wasm"; threads: number } | undefined {
  if (name === "generated") return { target: "ts", threads: 1 };
  if (name === "generated-wasm") return { target: "wasm", threads: 1 };
  if (name === "generated-wasm-2t") return { target: "wasm", threads: 2 };
  return undefined;
}

/**
 * Loads `graph` with `weights` into the runtime `name`. Each runtime's
 * modules are imported on demand, so a worker running one runtime loads
 * only that runtime's packages.
 */
export async function createRunner(
  name: RuntimeName,
  graph: Graph,
  weights: Weights,
): Promise<Runner> {
  switch (name) {
    case "generated":
    case "generated-wasm":
    case "generated-wasm-2t": {
      // Loading the code generator (ts-morph) is not the generated module's cost either.
      const t0 = performance.now();
      const { generatedRunner } = await import("./generated.ts");
      const loadMs = performance.now() - t0;
      const { target, threads } = generatedSetup(name)!;
      const runner = await generatedRunner(graph, weights, target, threads);
      return { ...runner, codegenMs: (runner.codegenMs ?? 0) + loadMs };
    }
    case "reference": {
      const { referenceRunner } = await import("./reference.ts");
      return referenceRunner(graph, weights);
    }
    case "tfjs-cpu":
    case "tfjs-wasm": {
      const { tfjsRunner } = await import("./tfjs.ts");
      return tfjsRunner(graph, weights, name === "tfjs-cpu" ? "cpu" : "wasm");
    }
    case "ort-node":
    case "ort-web": {
      const { exportOnnx } = await import("../../interop/onnx_export.ts");
      const { ortRunner } = await import("./ort.ts");
      return ortRunner(name, exportOnnx(graph, weights), graph.inputs[0].shape);
    }
  }
}
