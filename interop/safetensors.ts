/**
 * Weights files in the safetensors format (an 8-byte little-endian header
 * length, a JSON header `{ key: { dtype, shape, data_offsets } }`, then the
 * raw little-endian tensors), the format `safetensors.torch.save_file(
 * model.state_dict(), path)` writes. Keys are state_dict keys, the same as
 * {@link Weights}.
 *
 * @module
 */

import type { Weights } from "../lib/runtime/weights.ts";
import { halfToFloat } from "./_half.ts";

/**
 * Reads a safetensors file into weights (F32, F16 and BF16 tensors, as
 * float32). Keys ending in `num_batches_tracked` (integer counters) are
 * skipped. Throws a TypeError naming the problem for a malformed file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * const w = new Map([["fc.weight", new Float32Array([1, -2, 0.5])]]);
 * assert.deepEqual(readSafetensors(writeSafetensors(w)), w);
 * assert.throws(() => readSafetensors(new Uint8Array(4)), /not a safetensors file/);
 * ```
 */
export function readSafetensors(bytes: Uint8Array, source = "weights"): Weights {
  const bad = (why: string) => new TypeError(`"${source}" is not a safetensors file: ${why}`);
  if (bytes.length < 8) throw bad("shorter than its 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) throw bad(`header length ${headerLength} exceeds the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw bad("the header is not JSON");
  }
  const base = 8 + headerLength;
  const weights: Weights = new Map();
  for (const [key, t] of Object.entries(header)) {
    if (key === "__metadata__" || key.endsWith("num_batches_tracked")) continue;
    const [begin, end] = t.data_offsets ?? [];
    if (!(begin >= 0 && end >= begin && base + end <= bytes.length)) {
      throw bad(`tensor "${key}" has data offsets [${begin}, ${end}] outside the file`);
    }
    const size = { F32: 4, F16: 2, BF16: 2 }[t.dtype];
    if (!size) throw bad(`tensor "${key}" has dtype "${t.dtype}", expected F32, F16 or BF16`);
    const count = (end - begin) / size;
    const data = new Float32Array(count);
    const at = base + begin;
    for (let i = 0; i < count; i++) {
      const o = at + i * size;
      data[i] = t.dtype === "F32"
        ? view.getFloat32(o, true)
        : t.dtype === "F16"
        ? halfToFloat(view.getUint16(o, true))
        : new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0];
    }
    weights.set(key, data);
  }
  return weights;
}

/** Writes weights as a safetensors file (F32, each tensor 1-D; shapes come from the graph). */
export function writeSafetensors(weights: Weights): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [key, data] of weights) {
    header[key] = {
      dtype: "F32",
      shape: [data.length],
      data_offsets: [offset, offset + data.length * 4],
    };
    offset += data.length * 4;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // align the data to 8 bytes
  const head = new TextEncoder().encode(json);
  const bytes = new Uint8Array(8 + head.length + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  bytes.set(head, 8);
  let at = 8 + head.length;
  for (const data of weights.values()) {
    for (let i = 0; i < data.length; i++) view.setFloat32(at + i * 4, data[i], true);
    at += data.length * 4;
  }
  return bytes;
}
