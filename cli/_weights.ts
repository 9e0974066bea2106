/**
 * Where a command's weights come from (`--weights`, `--seed`): seeded random
 * weights, an .onnx model's own, or a `.safetensors` state_dict. Shared by
 * `codegen`, `run` and `export-onnx` so the three use the same weights.
 *
 * @module
 */

import { readFileOrThrow, UsageError } from "./_common.ts";
import { checkWeights, randomWeights, type Weights } from "../lib/runtime/weights.ts";
import { readSafetensors } from "../interop/safetensors.ts";
import type { Graph } from "../lib/ir/graph.ts";

/** Parses `--seed`: a non-negative integer. */
export function parseSeed(text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) {
    throw new UsageError(`Invalid --seed "${text}": expected an integer in [0, 4294967295]`);
  }
  return Number(text);
}

/** The weights a command runs with, and how the header describes them. */
export function chooseWeights(
  graph: Graph,
  loaded: Weights | undefined,
  source: string | undefined,
  seed: number,
): { weights: Weights; options: [string, string | number][] } {
  const kind = source ?? (loaded ? "file" : "random");
  if (kind === "random") {
    return {
      weights: randomWeights(graph, seed),
      options: [["weights", "random"], ["seed", seed]],
    };
  }
  if (kind === "file" && loaded) return { weights: loaded, options: [["weights", "file"]] };
  throw new UsageError(
    `Invalid --weights "${kind}": expected "random"${
      loaded ? ' or "file" (the weights of the .onnx model)' : ""
    }`,
  );
}

/**
 * {@link chooseWeights}, plus a `.safetensors` state_dict file (torchvision
 * keys) read from disk and checked against the graph.
 */
export async function loadWeights(
  graph: Graph,
  loaded: Weights | undefined,
  source: string | undefined,
  seed: number,
): Promise<{ weights: Weights; options: [string, string | number][] }> {
  if (source === undefined || !/\.safetensors$/i.test(source)) {
    return chooseWeights(graph, loaded, source, seed);
  }
  const bytes = await readFileOrThrow(source, "--weights");
  const weights = readSafetensors(bytes, source);
  checkWeights(graph, weights);
  return { weights, options: [["weights", source.replace(/^.*[\\/]/, "")]] };
}
