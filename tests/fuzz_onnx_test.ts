/**
 * A few hundred seeded ONNX fuzz cases (tools/fuzz_onnx.ts) in CI: every
 * mutated file gives a result or one of lightnets' one-line errors, never an
 * engine error, a case over 20 s or memory past 3 GB. The full 10,000-case
 * run is `deno run -A tools/fuzz_onnx.ts --cases 10000` (README).
 */
import assert from "node:assert/strict";
import { fuzzGraphs, fuzzOnnx, isCleanError, mutate, seedModels } from "../tools/fuzz_onnx.ts";
import { OnnxFormatError } from "../interop/onnx_proto.ts";

Deno.test("fuzzOnnx(): 300 seeded mutations of valid exports give a result or a one-line error", async () => {
  const s = await fuzzOnnx({ cases: 300, seed: 20261130, codegenEvery: 40 });
  const shown = s.failures.slice(0, 5).map((f) => `seed ${f.seed} ${f.mutation}: ${f.message}`);
  assert.deepEqual(shown, []);
  assert.equal(s.ok + s.errors, 300);
  // The mutations reach every stage: some files still import, most are refused.
  assert.ok(s.ok > 0 && s.errors > 0, `${s.ok} ok, ${s.errors} errors`);
  assert.ok(s.codegenRuns >= 1);
  assert.ok(Object.keys(s.byMutation).length >= 12, Object.keys(s.byMutation).join(", "));
});

Deno.test("mutate() is deterministic per seed and never changes the seed file", () => {
  const [seed] = seedModels();
  const copy = new Uint8Array(seed.bytes);
  const gen = (n: number) => {
    let s = n;
    return () => ((s = (s * 16807) % 2147483647) / 2147483647);
  };
  for (let i = 1; i < 40; i++) {
    const a = mutate(seed.bytes, gen(i));
    const b = mutate(seed.bytes, gen(i));
    assert.equal(a.mutation, b.mutation);
    assert.deepEqual(a.bytes, b.bytes);
  }
  assert.deepEqual(seed.bytes, copy);
});

Deno.test("isCleanError() accepts our error classes and rejects engine errors", () => {
  assert.ok(isCleanError(new OnnxFormatError('"m" is not a valid ONNX model: the file is empty')));
  let engine: unknown;
  try {
    (undefined as unknown as { x: number }).x;
  } catch (e) {
    engine = e;
  }
  assert.ok(!isCleanError(engine));
  assert.ok(!isCleanError(new RangeError("Array buffer allocation failed")));
});

Deno.test("fuzzGraphs(): 20 random valid graphs agree through export, import, analysis, codegen and the reference", async () => {
  const s = await fuzzGraphs(20, 20261130);
  assert.deepEqual(s.failures, []);
  assert.equal(s.agreed, 20);
});
