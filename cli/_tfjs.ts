/**
 * Loading a TensorFlow.js `model.json` (graph or layers model) for any command
 * that takes a model: `--input-shape NxHxWxC` (the file's NHWC layout) is its
 * only option, and the model's weights come along. Loaded on demand by
 * cli/_model.ts so zoo-only commands never load the readers.
 *
 * @module
 */

import type { Graph } from "../lib/ir/graph.ts";
import type { Knobs } from "../lib/models/registry.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import { readFileOrThrow, UsageError } from "./_common.ts";
import { parseShape } from "./_onnx.ts";
import { importTfjs, parseManifestOf, TfjsInputShapeError } from "../interop/tfjs_model.ts";

/** A tfjs model read into a graph with its weights. */
export interface LoadedTfjs {
  graph: Graph;
  weights: Weights;
  model: string;
  knobs: Knobs;
}

/**
 * Reads `path` as a tfjs `model.json` and the shards it lists (beside it).
 * `raw` holds the knob-like flags of the command line; only `input-shape` is
 * accepted. A missing file or a broken model is an Error (exit 1); a bad or
 * missing `--input-shape` a UsageError (exit 2).
 */
export async function loadTfjsModel(
  path: string,
  raw: Record<string, string>,
): Promise<LoadedTfjs> {
  const extra = Object.keys(raw).filter((k) => k !== "input-shape");
  if (extra.length) {
    throw new UsageError(
      `TensorFlow.js models take no knobs; got ${
        extra.map((k) => `--${k}`).join(", ")
      } for "${path}" (only --input-shape NxHxWxC)`,
    );
  }
  const inputShape = raw["input-shape"]
    ? parseShape(raw["input-shape"], "--input-shape")
    : undefined;
  const text = new TextDecoder().decode(await readFileOrThrow(path, "TensorFlow.js model"));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`Cannot read "${path}": not valid JSON (${(e as Error).message})`);
  }
  const dir = path.replace(/[^\\/]*$/, "");
  const shards = await Promise.all(
    parseManifestOf(json, path).map((g) =>
      Promise.all(g.paths.map(async (p) => {
        const file = dir + decodeURIComponent(p.replace(/^\.\//, ""));
        try {
          await Deno.stat(file);
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) return undefined;
        }
        return await readFileOrThrow(file, "weight shard");
      }))
    ),
  );
  try {
    const { graph, weights } = importTfjs(json, shards, path, {
      inputShape: inputShape ? [...inputShape] : undefined,
    });
    return {
      graph,
      weights,
      // The file's base name, never the path as typed (a deterministic module, no local path).
      model: path.replace(/^.*[\\/]/, ""),
      knobs: inputShape ? { "input-shape": inputShape.join("x") } : {},
    };
  } catch (e) {
    if (e instanceof TfjsInputShapeError) throw new UsageError(e.message);
    throw e;
  }
}
