/**
 * The embedded weights both targets share (`base64ChunksLiteral`,
 * `base64DecoderStatement`): base64 in chunks decodes to the same bytes
 * through each of the module's decoders (native `setFromBase64`, Node's
 * `Buffer`, `atob`), checked by running each target's module against the
 * reference executor with each one; and embedded data of the wrong length
 * fails the load with a clear error.
 */

import assert from "node:assert/strict";
import { zoo } from "../lib/models/zoo.ts";
import { runReference } from "../lib/runtime/reference.ts";
import { maxAbs, maxAbsDiff, randomInput } from "../lib/runtime/tensor.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { BASE64_CHUNK } from "./_api.ts";
import { TOL } from "./_testing.ts";
import { compile, loadModule } from "./compile.ts";

/** Runs `fn` with `Uint8Array.prototype.setFromBase64` and/or `globalThis.Buffer` hidden. */
async function without<T>(
  hide: { setFromBase64?: boolean; buffer?: boolean },
  fn: () => Promise<T>,
): Promise<T> {
  const proto = Uint8Array.prototype as unknown as Record<string, unknown>;
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = { setFromBase64: proto.setFromBase64, buffer: g.Buffer };
  if (hide.setFromBase64) delete proto.setFromBase64;
  if (hide.buffer) delete g.Buffer;
  assert.equal(typeof proto.setFromBase64, hide.setFromBase64 ? "undefined" : "function");
  assert.equal(typeof g.Buffer, hide.buffer ? "undefined" : "function");
  try {
    return await fn();
  } finally {
    if (hide.setFromBase64) proto.setFromBase64 = saved.setFromBase64;
    if (hide.buffer) g.Buffer = saved.buffer;
  }
}

// SqueezeNet 1.1 at 64 px: 1.2 M weights, 4.9 MB of base64, so the
// weights span many chunks and the last one is partial.
const graph = zoo.build("squeezenet1_1", { resolution: 64 });
const weights = randomWeights(graph, 3);
const input = randomInput(graph.inputs[0].shape, 4);
const want = runReference(graph, weights, input);
const sources = {
  ts: compile(graph, weights).source,
  wasm: compile(graph, weights, { target: "wasm" }).source,
};
const source = sources.wasm;

Deno.test("a module's weights span several base64 chunks, the last one partial", () => {
  const chunks = source.match(/^"[A-Za-z0-9+/=]+"/gm) ?? [];
  assert.ok(chunks.length > 2, `${chunks.length} chunks`);
  assert.ok(chunks.slice(0, -1).every((c) => c.length === BASE64_CHUNK + 2));
  assert.ok(chunks.at(-1)!.length < BASE64_CHUNK + 2);
});

for (
  const [name, hide] of [
    ["native setFromBase64", {}],
    ["Buffer (no setFromBase64, as in Node 20)", { setFromBase64: true }],
    ["atob (neither setFromBase64 nor Buffer)", { setFromBase64: true, buffer: true }],
  ] as const
) {
  for (const target of ["ts", "wasm"] as const) {
    Deno.test(`the ${target} module decodes its weights through ${name} and agrees with the reference`, async () => {
      const m = await without(hide, () => loadModule(sources[target]));
      const got = m.infer(input);
      assert.ok(maxAbsDiff(got, want) <= TOL * maxAbs(want));
    });
  }
}

Deno.test("a wasm module whose embedded weights are short or long fails to load, naming the byte counts", async () => {
  // Drop or add 4 base64 characters (3 bytes) at the end of the last chunk.
  const last = source.lastIndexOf('"\n]');
  const short = source.slice(0, last - 4) + source.slice(last);
  const long = source.slice(0, last) + "AAAA" + source.slice(last);
  // The Buffer and atob paths share their checks.
  for (const hide of [{}, { setFromBase64: true }]) {
    await assert.rejects(
      without(hide, () => loadModule(short)),
      /^Error: Embedded data holds \d+ bytes, expected \d+$/,
    );
    await assert.rejects(
      without(hide, () => loadModule(long)),
      /^Error: Embedded data holds more than the \d+ bytes expected$/,
    );
  }
});
