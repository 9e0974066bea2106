/**
 * Reading a TensorFlow.js `model.json` and its weight shards from disk, and
 * picking the reader by format: graph models (`tfjs_graph.ts`) or layers
 * models (`tfjs_layers.ts`).
 *
 * @module
 */

import { type GraphModelJson, importGraphModel } from "./tfjs_graph.ts";
import { importLayersModel, type LayersModelJson } from "./tfjs_layers.ts";
import type { TfjsImport } from "./tfjs_ir.ts";
import {
  decodeWeights,
  parseManifest,
  TfjsImportError,
  type TfjsWeightGroup,
} from "./tfjs_weights.ts";

export { TfjsImportError } from "./tfjs_weights.ts";
export { TfjsInputShapeError } from "./tfjs_graph.ts";

/** Options of {@link importTfjs} and {@link readTfjsModel}. */
export interface TfjsOptions {
  /** Input shape in the file's layout (NHWC), for inputs with dynamic dimensions. */
  inputShape?: number[];
  /** Graph name; defaults to the file's stem (or its folder's name for `model.json`). */
  name?: string;
}

/** Whether parsed JSON is a tfjs model (`modelTopology` or a tfjs `format`). */
export function isTfjsJson(json: unknown): boolean {
  if (typeof json !== "object" || json === null) return false;
  const j = json as Record<string, unknown>;
  return "modelTopology" in j || j.format === "graph-model" || j.format === "layers-model";
}

/** `graph-model` or `layers-model`, from the `format` field or the topology's shape. */
export function tfjsFormat(json: Record<string, unknown>, source: string): "graph" | "layers" {
  if (json.format === "graph-model") return "graph";
  if (json.format === "layers-model") return "layers";
  const topo = json.modelTopology as Record<string, unknown> | undefined;
  if (topo && Array.isArray(topo.node)) return "graph";
  if (topo && ("model_config" in topo || "class_name" in topo)) return "layers";
  throw new TfjsImportError(
    `${source} is not a TensorFlow.js model: expected "format": "graph-model" or "layers-model" ` +
      `with a "modelTopology"`,
  );
}

/**
 * Imports a parsed `model.json` whose shards `shards[g][k]` (bytes of
 * `weightsManifest[g].paths[k]`, `undefined` when missing) were read already.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importTfjs } from "./tfjs_model.ts";
 * // A Keras Dense layer 2 -> 1 as tfjs-layers saves it; kernel [in, out] = [[2], [3]], bias [1].
 * const json = {
 *   format: "layers-model",
 *   modelTopology: { class_name: "Sequential", config: { name: "tiny", layers: [
 *     { class_name: "Dense", config: { name: "fc", units: 1, batch_input_shape: [null, 2] } },
 *   ] } },
 *   weightsManifest: [{ paths: ["w.bin"], weights: [
 *     { name: "fc/kernel", shape: [2, 1], dtype: "float32" },
 *     { name: "fc/bias", shape: [1], dtype: "float32" },
 *   ] }],
 * };
 * const bin = new Uint8Array(Float32Array.from([2, 3, 1]).buffer);
 * const { graph, weights } = importTfjs(json, [[bin]], "tiny/model.json");
 * assert.deepEqual(graph.inputs, [{ name: "fc_input", shape: [1, 2] }]);
 * assert.deepEqual(graph.nodes.map((n) => [n.name, n.kind]), [["fc", "linear"]]);
 * assert.deepEqual([...weights.get("fc.weight")!], [2, 3]); // [out, in], PyTorch's layout
 * ```
 */
export function importTfjs(
  json: unknown,
  shards: readonly (readonly (Uint8Array | undefined)[])[],
  source: string,
  options: TfjsOptions = {},
): TfjsImport {
  if (!isTfjsJson(json)) {
    throw new TfjsImportError(`${source} is not a TensorFlow.js model: it has no "modelTopology"`);
  }
  const j = json as Record<string, unknown>;
  const format = tfjsFormat(j, source);
  const groups = parseManifest(j.weightsManifest, source);
  const weights = decodeWeights(groups, shards, source);
  const name = options.name ?? stemOf(source);
  if (format === "graph") {
    const inputShapes: Record<string, number[]> = {};
    if (options.inputShape) {
      const nodes = (j as unknown as GraphModelJson).modelTopology.node ?? [];
      const inputs = nodes.filter((n) => n.op === "Placeholder");
      if (inputs.length !== 1) {
        throw new TfjsImportError(
          `--input-shape fits a model with one input; ${source} has ${inputs.length}`,
        );
      }
      inputShapes[inputs[0].name] = options.inputShape;
    }
    return importGraphModel(j as unknown as GraphModelJson, weights, { inputShapes, name, source });
  }
  return importLayersModel(j as unknown as LayersModelJson, weights, {
    inputShape: options.inputShape,
    name,
    source,
  });
}

/** The weight groups of a parsed `model.json` (none when it is not a tfjs model). */
export function parseManifestOf(json: unknown, source: string): TfjsWeightGroup[] {
  return isTfjsJson(json)
    ? parseManifest((json as Record<string, unknown>).weightsManifest, source)
    : [];
}

function stemOf(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== "");
  const file = parts.at(-1) ?? "model";
  if (/^model\.json$/i.test(file) && parts.length > 1) return parts.at(-2)!;
  return file.replace(/\.json$/i, "");
}

/**
 * Reads `path` (a `model.json`) and the weight shards it lists (relative to
 * its folder) and imports it. A missing shard is a {@link TfjsImportError}
 * naming the file and a weight it holds.
 */
export async function readTfjsModel(path: string, options: TfjsOptions = {}): Promise<TfjsImport> {
  const text = await Deno.readTextFile(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TfjsImportError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const dir = path.replace(/[^\\/]*$/, "");
  const groups = parseManifestOf(json, path);
  const shards = await Promise.all(groups.map((g) =>
    Promise.all(g.paths.map(async (p) => {
      try {
        return await Deno.readFile(dir + decodeURIComponent(p.replace(/^\.\//, "")));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      }
    }))
  ));
  return importTfjs(json, shards, path, options);
}
