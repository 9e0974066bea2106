/**
 * Loading an ONNX file for any command that takes a model (`analyze`,
 * `guidelines`, `codegen`, `run`): `--input-shape NxCxHxW` is its only option,
 * and the import's weights come along. Loaded on demand by cli/_model.ts so
 * zoo-only commands never load the protobuf schema.
 *
 * @module
 */

import type { Shape } from "../lib/ir/ops.ts";
import type { Knobs } from "../lib/models/registry.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { readFileOrThrow, UsageError } from "./_common.ts";
import { unknownFlag } from "./_model.ts";
import { importOnnx, InputShapeError } from "../interop/onnx_import.ts";
import { decodeModel } from "../interop/onnx_proto.ts";

/**
 * Parses a shape written `1x3x224x224` (positive integers joined by `x`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseShape } from "./_onnx.ts";
 * assert.deepEqual(parseShape("1x3x224x224", "--input-shape"), [1, 3, 224, 224]);
 * assert.throws(() => parseShape("1x3x-2", "--input-shape"), /Invalid --input-shape "1x3x-2"/);
 * ```
 */
export function parseShape(text: string, flag: string): Shape {
  const parts = text.trim().split(/[x,]/i);
  if (!parts.every((p) => /^\d+$/.test(p) && Number(p) > 0 && Number(p) <= 2 ** 31 - 1)) {
    throw new UsageError(
      `Invalid ${flag} "${text}": expected positive integers (at most 2^31 - 1) joined by "x", e.g. 1x3x224x224`,
    );
  }
  return parts.map(Number);
}

/**
 * `"seed N"` when the file's doc string says lightnets exported it with
 * random weights (`export-onnx` writes "weights: random, seed N"), so `run`
 * can say its predictions mean nothing.
 */
function randomWeightsOf(bytes: Uint8Array): string | undefined {
  try {
    const doc = decodeModel(bytes).docString ?? "";
    return /exported by lightnets; weights: random, (seed \d+)/.exec(doc)?.[1];
  } catch {
    return undefined;
  }
}

/** An ONNX file read into a graph with its weights. */
export interface LoadedOnnx {
  graph: Graph;
  weights: Weights;
  model: string;
  knobs: Knobs;
  /** Set when the file says its weights are random (a lightnets export with `--weights random`). */
  randomWeights?: string;
}

/**
 * Reads `path` as an ONNX model. `raw` holds the knob-like flags of the
 * command line; only `input-shape` is accepted. A missing file or a broken
 * model is an Error (exit 1); a bad or missing `--input-shape` a UsageError.
 */
export async function loadOnnxModel(
  path: string,
  raw: Record<string, string>,
  optionNames: string[] = [],
): Promise<LoadedOnnx> {
  const extra = Object.keys(raw).filter((k) => k !== "input-shape");
  if (extra.length) {
    throw new UsageError(
      unknownFlag(extra[0], path.replace(/^.*[\\/]/, ""), ["input-shape"], optionNames),
    );
  }
  const inputShape = raw["input-shape"]
    ? parseShape(raw["input-shape"], "--input-shape")
    : undefined;
  const bytes = await readFileOrThrow(path, "ONNX model");
  // The file's base name, never the path as typed: `./m.onnx`, `m.onnx` and an
  // absolute path give the same report and a byte-identical generated module.
  const base = path.replace(/^.*[\\/]/, "");
  const stem = base.replace(/\.onnx$/i, "");
  try {
    const { graph, weights } = importOnnx(bytes, { inputShape, name: stem, source: path });
    return {
      graph,
      weights,
      randomWeights: randomWeightsOf(bytes),
      model: base,
      knobs: inputShape ? { "input-shape": inputShape.join("x") } : {},
    };
  } catch (e) {
    if (e instanceof InputShapeError) throw new UsageError(e.message);
    throw e;
  }
}
