import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { decodeWeights, parseManifest, type TfjsWeightGroup } from "./tfjs_weights.ts";

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("tfjs weights: float32, int32 and bool written by tfjs-core's own encoder read back exactly", async () => {
  const tensors = {
    "conv/kernel": tf.tensor([0.5, -1.25, 3e-8, 7], [2, 2], "float32"),
    "shape": tf.tensor([1, -1, 7], [3], "int32"),
    "flag": tf.tensor([true, false], [2], "bool"),
  };
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const w = decodeWeights(
    [{ paths: ["w.bin"], weights: specs }],
    [[new Uint8Array(tf.io.concatenateArrayBuffers([data].flat()))]],
    "model.json",
  );
  assert.deepEqual([...w.get("conv/kernel")!.data as Float32Array], [
    0.5,
    -1.25,
    Math.fround(3e-8),
    7,
  ]);
  assert.equal(w.get("shape")!.dtype, "int32");
  assert.deepEqual([...w.get("shape")!.data as Int32Array], [1, -1, 7]);
  assert.deepEqual([...w.get("flag")!.data as Uint8Array], [1, 0]);
});

Deno.test("tfjs weights: shards are one stream across groups, a weight may straddle two files", () => {
  const values = Float32Array.from([1, 2, 3, 4, 5]);
  const all = bytesOf(values);
  const groups: TfjsWeightGroup[] = [
    { paths: ["g1-1.bin", "g1-2.bin"], weights: [{ name: "a", shape: [3], dtype: "float32" }] },
    { paths: ["g2-1.bin"], weights: [{ name: "b", shape: [2], dtype: "float32" }] },
  ];
  // The first group's 12 bytes are cut at byte 5, inside the second float.
  const w = decodeWeights(
    groups,
    [[all.slice(0, 5), all.slice(5, 12)], [all.slice(12)]],
    "m.json",
  );
  assert.deepEqual([...w.get("a")!.data as Float32Array], [1, 2, 3]);
  assert.deepEqual([...w.get("b")!.data as Float32Array], [4, 5]);
});

Deno.test("tfjs weights: uint8 and uint16 quantization decode as q * scale + min", () => {
  const groups: TfjsWeightGroup[] = [{
    paths: ["q.bin"],
    weights: [
      {
        name: "u8",
        shape: [3],
        dtype: "float32",
        quantization: { dtype: "uint8", scale: 0.25, min: -2 },
      },
      {
        name: "u16",
        shape: [2],
        dtype: "float32",
        quantization: { dtype: "uint16", scale: 1e-3, min: 1 },
      },
    ],
  }];
  const u16 = Uint16Array.from([0, 65535]);
  const w = decodeWeights(groups, [[concat(Uint8Array.from([0, 8, 255]), bytesOf(u16))]], "m");
  // 0 * 0.25 - 2, 8 * 0.25 - 2, 255 * 0.25 - 2
  assert.deepEqual([...w.get("u8")!.data as Float32Array], [-2, 0, 61.75]);
  // 0 * 1e-3 + 1, 65535 * 1e-3 + 1 in float32
  assert.deepEqual([...w.get("u16")!.data as Float32Array], [1, Math.fround(65535 * 1e-3 + 1)]);
});

Deno.test("tfjs weights: min/max quantization spreads [min, max] over the 2^bits - 1 codes", () => {
  const groups: TfjsWeightGroup[] = [{
    paths: ["q.bin"],
    weights: [
      {
        name: "u8",
        shape: [3],
        dtype: "float32",
        quantization: { dtype: "uint8", min: -1, max: 1 },
      },
    ],
  }];
  const w = decodeWeights(groups, [[Uint8Array.from([0, 255, 51])]], "m");
  // scale = (1 - -1) / 255; code 51 is -1 + 51 * 2 / 255 = -0.6
  assert.deepEqual([...w.get("u8")!.data as Float32Array], [-1, 1, Math.fround(-0.6)]);
});

Deno.test("tfjs weights: quantized int32 rounds q * scale + min", () => {
  const groups: TfjsWeightGroup[] = [{
    paths: ["q.bin"],
    weights: [{
      name: "i",
      shape: [3],
      dtype: "int32",
      quantization: { dtype: "uint8", scale: 0.4, min: -3, original_dtype: "int32" },
    }],
  }];
  const w = decodeWeights(groups, [[Uint8Array.from([0, 1, 10])]], "m");
  // -3, round(-2.6) = -3, round(1.0) = 1
  assert.equal(w.get("i")!.dtype, "int32");
  assert.deepEqual([...w.get("i")!.data as Int32Array], [-3, -3, 1]);
});

Deno.test("tfjs weights: float16 quantization reads IEEE half floats", () => {
  const groups: TfjsWeightGroup[] = [{
    paths: ["h.bin"],
    weights: [{ name: "h", shape: [4], dtype: "float32", quantization: { dtype: "float16" } }],
  }];
  // 1, -2, 0.5 and 65504 (the largest half) as bit patterns
  const half = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff]);
  const w = decodeWeights(groups, [[bytesOf(half)]], "m");
  assert.deepEqual([...w.get("h")!.data as Float32Array], [1, -2, 0.5, 65504]);
});

Deno.test("tfjs weights: string tensors read their 4-byte length prefixes", () => {
  const enc = new TextEncoder();
  const parts = ["ab", "xyz"].flatMap((
    s,
  ) => [bytesOf(Uint32Array.from([s.length])), enc.encode(s)]);
  const groups: TfjsWeightGroup[] = [{
    paths: ["s.bin"],
    weights: [
      { name: "s", shape: [2], dtype: "string" },
      { name: "f", shape: [1], dtype: "float32" },
    ],
  }];
  const w = decodeWeights(groups, [[concat(...parts, bytesOf(Float32Array.from([9])))]], "m");
  assert.deepEqual(w.get("s")!.data, ["ab", "xyz"]);
  assert.deepEqual([...w.get("f")!.data as Float32Array], [9]);
});

Deno.test("tfjs weights: a missing shard names the file and the weight it holds", () => {
  const groups: TfjsWeightGroup[] = [{
    paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"],
    weights: [{ name: "conv/kernel", shape: [4], dtype: "float32" }],
  }];
  assert.throws(
    () => decodeWeights(groups, [[new Uint8Array(8), undefined]], "model.json"),
    /^TfjsImportError: Missing weight shard "group1-shard2of2\.bin" of model\.json \(holds weight "conv\/kernel"\)$/,
  );
});

Deno.test("tfjs weights: shards too short or too long are errors naming the weight and file", () => {
  const groups: TfjsWeightGroup[] = [{
    paths: ["w.bin"],
    weights: [
      { name: "a", shape: [2], dtype: "float32" },
      { name: "b", shape: [3], dtype: "float32" },
    ],
  }];
  // a takes bytes 0..8, b bytes 8..20: 16 bytes cannot hold b.
  assert.throws(
    () => decodeWeights(groups, [[new Uint8Array(16)]], "model.json"),
    /Weight "b" of model\.json needs bytes 8\.\.20 of the shards, but w\.bin hold 16 bytes in all \(wrong byte count in "w\.bin"\)/,
  );
  assert.throws(
    () => decodeWeights(groups, [[new Uint8Array(24)]], "model.json"),
    /shards of model\.json hold 24 bytes, but the manifest declares 20 \(wrong byte count in "w\.bin"\)/,
  );
});

Deno.test("tfjs weights: unknown dtype and quantization dtype are one-line errors", () => {
  const one = (spec: TfjsWeightGroup["weights"][0]) => () =>
    decodeWeights([{ paths: ["w.bin"], weights: [spec] }], [[new Uint8Array(8)]], "model.json");
  assert.throws(
    one({ name: "x", shape: [2], dtype: "float64" }),
    /^TfjsImportError: Weight "x" in model\.json has unknown dtype "float64"; expected float32, int32, bool, string or complex64$/,
  );
  assert.throws(
    one({ name: "x", shape: [2], dtype: "float32", quantization: { dtype: "int4" } }),
    /Weight "x" in model\.json has unknown quantization dtype "int4"; expected uint8, uint16 or float16/,
  );
  assert.throws(
    one({ name: "x", shape: [2], dtype: "float32", quantization: { dtype: "uint8", min: 0 } }),
    /Weight "x" in model\.json is quantized to uint8 without "scale" and "min"/,
  );
  assert.throws(
    one({ name: "x", shape: [2], dtype: "int32", quantization: { dtype: "float16" } }),
    /Weight "x" in model\.json is int32 quantized to float16/,
  );
  assert.throws(
    one({ name: "x", shape: [2.5], dtype: "float32" }),
    /Invalid shape \[2\.5\] of weight "x" in model\.json/,
  );
});

Deno.test("tfjs weights: a malformed manifest is an error naming the field", () => {
  assert.deepEqual(parseManifest(undefined, "m.json"), []);
  assert.throws(() => parseManifest({}, "m.json"), /Invalid "weightsManifest" in m\.json/);
  assert.throws(
    () => parseManifest([{ paths: "a.bin", weights: [] }], "m.json"),
    /Invalid "weightsManifest\[0\]\.paths" in m\.json: expected an array of file names/,
  );
  assert.throws(
    () => parseManifest([{ paths: [], weights: [{ shape: [1] }] }], "m.json"),
    /Invalid "weightsManifest\[0\]\.weights\[0\]" in m\.json/,
  );
});

Deno.test("tfjs weights: every quantization decodes as tfjs-core's own loader decodes it", () => {
  const specs: TfjsWeightGroup["weights"] = [
    {
      name: "u8",
      shape: [2, 3],
      dtype: "float32",
      quantization: { dtype: "uint8", scale: 0.013, min: -1.7 },
    },
    {
      name: "u16",
      shape: [5],
      dtype: "float32",
      quantization: { dtype: "uint16", scale: 3e-5, min: 0.25 },
    },
    { name: "f16", shape: [3], dtype: "float32", quantization: { dtype: "float16" } },
    {
      name: "i",
      shape: [4],
      dtype: "int32",
      quantization: { dtype: "uint8", scale: 0.7, min: -2, original_dtype: "int32" },
    },
  ];
  const bytes = concat(
    Uint8Array.from([0, 1, 77, 128, 200, 255]),
    bytesOf(Uint16Array.from([0, 1, 30000, 65534, 65535])),
    bytesOf(Uint16Array.from([0x3555, 0xbc00, 0x0400])),
    Uint8Array.from([0, 3, 4, 250]),
  );
  const ours = decodeWeights([{ paths: ["q.bin"], weights: specs }], [[bytes]], "m");
  const theirs = tf.io.decodeWeights(bytes.slice().buffer, specs as tf.io.WeightsManifestEntry[]);
  for (const s of specs) {
    assert.deepEqual(
      [...ours.get(s.name)!.data as Float32Array],
      [...theirs[s.name].dataSync()],
      s.name,
    );
  }
});
