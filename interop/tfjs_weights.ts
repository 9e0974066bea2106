/**
 * TensorFlow.js weights: the `weightsManifest` of a `model.json` and its binary
 * shards, decoded as tfjs-core's weights loader does.
 *
 * The layout (tfjs-core `io/io_utils.ts`, `decodeWeights`): every group lists
 * shard files (`paths`) and weight specs (`weights`); the shards of all groups,
 * concatenated in manifest order, hold the weights one after the other in spec
 * order, with no padding. A weight takes `numel x bytes(dtype)` bytes:
 * float32 and int32 4, bool 1, complex64 8; a string tensor stores each element
 * as a 4-byte little-endian length and its bytes. A quantized weight stores
 * `numel` values of its quantization dtype instead: `uint8` / `uint16` mean
 * `value = q * scale + min` (rounded for an int32 original), `float16` means
 * IEEE half floats. Some writers give `min` and `max` instead of `scale`;
 * then `scale = (max - min) / (2^bits - 1)`, the converter's own rule.
 *
 * Every declared size is checked: a missing shard, shards shorter or longer
 * than the specs, an unknown dtype or quantization are one-line
 * {@link TfjsImportError}s naming the weight and the file.
 *
 * @module
 */

import { halfToFloat } from "./_half.ts";

/** A tfjs model the reader cannot use; the message names the file, node or weight. */
export class TfjsImportError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "TfjsImportError";
  }
}

/** An input shape the file leaves open or `--input-shape` contradicts (a usage problem). */
export class TfjsInputShapeError extends TfjsImportError {
  constructor(message: string) {
    super(message);
    this.name = "TfjsInputShapeError";
  }
}

/** Quantization of one stored weight, as the tfjs converter writes it. */
export interface TfjsQuantization {
  dtype: string;
  scale?: number;
  min?: number;
  max?: number;
  original_dtype?: string;
}

/** One entry of a manifest group's `weights`. */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: TfjsQuantization;
}

/** One group of `weightsManifest`: its shard files and the weights they hold, in order. */
export interface TfjsWeightGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

/** A decoded weight: numbers as float32 or int32 (bool as 0/1), strings as text. */
export interface TfjsTensor {
  name: string;
  shape: number[];
  dtype: "float32" | "int32" | "bool" | "string";
  data: Float32Array | Int32Array | Uint8Array | string[];
}

/** Decoded weights by name, in manifest order. */
export type TfjsWeights = Map<string, TfjsTensor>;

const VALUE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANT_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

function numelOf(spec: TfjsWeightSpec, where: string): number {
  if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TfjsImportError(
      `Invalid shape ${JSON.stringify(spec.shape)} of weight "${spec.name}" in ${where}: ` +
        `expected non-negative integers`,
    );
  }
  return spec.shape.reduce((a, b) => a * b, 1);
}

/** `[scale, min]` of a uint8/uint16 quantization, from scale/min or min/max. */
function affineOf(spec: TfjsWeightSpec, q: TfjsQuantization, where: string): [number, number] {
  const bits = q.dtype === "uint8" ? 8 : 16;
  if (typeof q.min === "number" && typeof q.scale === "number") return [q.scale, q.min];
  if (typeof q.min === "number" && typeof q.max === "number") {
    return [(q.max - q.min) / (2 ** bits - 1), q.min];
  }
  throw new TfjsImportError(
    `Weight "${spec.name}" in ${where} is quantized to ${q.dtype} without "scale" and "min" ` +
      `(or "min" and "max")`,
  );
}

/** Bytes `spec` takes at `offset` of `bytes` (strings read their length prefixes). */
function byteLength(
  spec: TfjsWeightSpec,
  bytes: Uint8Array,
  offset: number,
  where: string,
): number {
  const n = numelOf(spec, where);
  const q = spec.quantization;
  if (q) {
    const size = QUANT_BYTES[q.dtype];
    if (size === undefined) {
      throw new TfjsImportError(
        `Weight "${spec.name}" in ${where} has unknown quantization dtype "${q.dtype}"; ` +
          `expected uint8, uint16 or float16`,
      );
    }
    const target = q.original_dtype ?? spec.dtype;
    if (target !== "float32" && !(target === "int32" && q.dtype !== "float16")) {
      throw new TfjsImportError(
        `Weight "${spec.name}" in ${where} is ${target} quantized to ${q.dtype}; ` +
          `expected float32 (uint8, uint16 or float16) or int32 (uint8 or uint16)`,
      );
    }
    return n * size;
  }
  if (spec.dtype === "string") {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = offset;
    for (let i = 0; i < n; i++) {
      if (at + 4 > bytes.length) break;
      at += 4 + view.getUint32(at, true);
    }
    return at - offset;
  }
  const size = VALUE_BYTES[spec.dtype];
  if (size === undefined) {
    throw new TfjsImportError(
      `Weight "${spec.name}" in ${where} has unknown dtype "${spec.dtype}"; ` +
        `expected float32, int32, bool, string or complex64`,
    );
  }
  return n * size;
}

function decodeOne(spec: TfjsWeightSpec, raw: Uint8Array, where: string): TfjsTensor {
  // Copy so typed views are aligned whatever the offset inside the shards.
  const buf = raw.slice().buffer;
  const shape = [...spec.shape];
  const q = spec.quantization;
  if (q) {
    const target = q.original_dtype ?? spec.dtype;
    if (q.dtype === "float16") {
      const h = new Uint16Array(buf);
      const data = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) data[i] = halfToFloat(h[i]);
      return { name: spec.name, shape, dtype: "float32", data };
    }
    const [scale, min] = affineOf(spec, q, where);
    const codes = q.dtype === "uint8" ? new Uint8Array(buf) : new Uint16Array(buf);
    if (target === "int32") {
      const data = new Int32Array(codes.length);
      for (let i = 0; i < codes.length; i++) data[i] = Math.round(codes[i] * scale + min);
      return { name: spec.name, shape, dtype: "int32", data };
    }
    const data = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) data[i] = codes[i] * scale + min;
    return { name: spec.name, shape, dtype: "float32", data };
  }
  switch (spec.dtype) {
    case "float32":
      return { name: spec.name, shape, dtype: "float32", data: new Float32Array(buf) };
    case "int32":
      return { name: spec.name, shape, dtype: "int32", data: new Int32Array(buf) };
    case "bool":
      return { name: spec.name, shape, dtype: "bool", data: new Uint8Array(buf) };
    case "string": {
      const view = new DataView(buf);
      const text = new TextDecoder();
      const data: string[] = [];
      for (let at = 0; at < buf.byteLength;) {
        const len = view.getUint32(at, true);
        data.push(text.decode(new Uint8Array(buf, at + 4, len)));
        at += 4 + len;
      }
      return { name: spec.name, shape, dtype: "string", data };
    }
    default:
      throw new TfjsImportError(
        `Weight "${spec.name}" in ${where} is complex64; lightnets reads real tensors only`,
      );
  }
}

/**
 * Checks the shape of a `weightsManifest` and returns it typed; `where` names
 * the model file in errors.
 */
export function parseManifest(manifest: unknown, where: string): TfjsWeightGroup[] {
  if (manifest === undefined) return [];
  if (!Array.isArray(manifest)) {
    throw new TfjsImportError(`Invalid "weightsManifest" in ${where}: expected an array of groups`);
  }
  return manifest.map((g, i) => {
    const paths = (g as TfjsWeightGroup)?.paths;
    const weights = (g as TfjsWeightGroup)?.weights;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === "string")) {
      throw new TfjsImportError(
        `Invalid "weightsManifest[${i}].paths" in ${where}: expected an array of file names`,
      );
    }
    if (!Array.isArray(weights)) {
      throw new TfjsImportError(
        `Invalid "weightsManifest[${i}].weights" in ${where}: expected an array of weight specs`,
      );
    }
    for (const [j, w] of weights.entries()) {
      if (typeof w?.name !== "string" || typeof w?.dtype !== "string") {
        throw new TfjsImportError(
          `Invalid "weightsManifest[${i}].weights[${j}]" in ${where}: ` +
            `expected {name, shape, dtype}`,
        );
      }
    }
    return { paths, weights };
  });
}

/**
 * Decodes the weights of `groups` from their shards: `shards[g][k]` holds the
 * bytes of `groups[g].paths[k]` (or `undefined` when the file is missing).
 * `where` names the model file in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeWeights } from "./tfjs_weights.ts";
 * const groups = [{
 *   paths: ["group1-shard1of1.bin"],
 *   weights: [
 *     { name: "w", shape: [2], dtype: "float32" },
 *     { name: "q", shape: [2], dtype: "float32",
 *       quantization: { dtype: "uint8", scale: 0.5, min: -1 } },
 *   ],
 * }];
 * const bytes = new Uint8Array(10);
 * new Float32Array(bytes.buffer, 0, 2).set([1.5, -2]);
 * bytes.set([0, 4], 8); // 0 * 0.5 - 1 and 4 * 0.5 - 1
 * const w = decodeWeights(groups, [[bytes]], "model.json");
 * assert.deepEqual([...w.get("w")!.data as Float32Array], [1.5, -2]);
 * assert.deepEqual([...w.get("q")!.data as Float32Array], [-1, 1]);
 * ```
 */
export function decodeWeights(
  groups: readonly TfjsWeightGroup[],
  shards: readonly (readonly (Uint8Array | undefined)[])[],
  where: string,
): TfjsWeights {
  const parts: Uint8Array[] = [];
  for (const [g, group] of groups.entries()) {
    for (const [k, path] of group.paths.entries()) {
      const data = shards[g]?.[k];
      if (!data) {
        const first = group.weights[0]?.name;
        throw new TfjsImportError(
          `Missing weight shard "${path}" of ${where}${
            first
              ? ` (holds weight "${first}"${group.weights.length > 1 ? " and others" : ""})`
              : ""
          }`,
        );
      }
      parts.push(data);
    }
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const out: TfjsWeights = new Map();
  let offset = 0;
  const files = groups.flatMap((g) => g.paths);
  const fileAt = (byte: number): string => {
    let end = 0;
    for (const [i, p] of parts.entries()) {
      end += p.length;
      if (byte < end) return files[i];
    }
    return files[files.length - 1] ?? "(no shard)";
  };
  for (const spec of groups.flatMap((g) => g.weights)) {
    const size = byteLength(spec, all, offset, where);
    if (offset + size > all.length) {
      throw new TfjsImportError(
        `Weight "${spec.name}" of ${where} needs bytes ${offset}..${
          offset + size
        } of the shards, ` +
          `but ${files.join(", ") || "the shards"} hold ${all.length} bytes in all ` +
          `(wrong byte count in "${fileAt(Math.max(0, all.length - 1))}")`,
      );
    }
    if (out.has(spec.name)) {
      throw new TfjsImportError(`Weight "${spec.name}" is listed twice in ${where}`);
    }
    out.set(spec.name, decodeOne(spec, all.subarray(offset, offset + size), where));
    offset += size;
  }
  if (offset !== all.length) {
    throw new TfjsImportError(
      `The weight shards of ${where} hold ${all.length} bytes, but the manifest declares ${offset} ` +
        `(wrong byte count in "${fileAt(offset)}")`,
    );
  }
  return out;
}
