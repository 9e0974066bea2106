/**
 * The real-model path of `deno task bench` (bench/real.ts), end to end on two
 * small real models: openWakeWord's `hello_deepa.onnx` (generated-wasm against
 * onnxruntime-node and -web) and Human's `liveness` tfjs graph model
 * (generated-wasm against tfjs-wasm). Each runtime's outputs must agree with
 * the oracle within 1e-4 x max|oracle| before it is timed, and the section
 * must render with a check column of `ok`. No speed is asserted.
 */

import assert from "node:assert/strict";
import { main } from "../bench/run.ts";
import type { BenchResults } from "../bench/results.ts";
import { REAL_TOLERANCE } from "../bench/real.ts";

Deno.test({
  name: "bench --real-only --quick: two real models, every runtime agrees with the oracle",
  // onnxruntime-node and the tfjs WASM backend keep native/wasm resources per process.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lightnets-bench-real-" });
    try {
      const code = await main([
        "--real-only",
        "--real-models",
        "hello_deepa,liveness",
        "--quick",
        "--runs",
        "3",
        "--out",
        `${dir}/BENCH.md`,
        "--results",
        `${dir}/results.json`,
      ]);
      assert.equal(code, 0);
      const results: BenchResults = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
      assert.deepEqual(results.models, [], "--real-only runs no zoo model");
      assert.deepEqual(results.real?.map((m) => [m.name, m.format]), [
        ["hello_deepa", "onnx"],
        ["liveness", "tfjs"],
      ]);
      const expected = {
        onnx: ["ort-node", "ort-web", "generated-wasm"],
        tfjs: ["tfjs-wasm", "generated-wasm"],
      };
      for (const m of results.real!) {
        assert.equal(m.error, undefined, `${m.name}: ${m.error}`);
        assert.ok(m.madds > 0, `${m.name}: MAdds from the imported graph`);
        assert.deepEqual(m.runtimes.map((r) => r.runtime), expected[m.format]);
        for (const r of m.runtimes) {
          assert.equal(r.error, undefined, `${m.name} on ${r.runtime}: ${r.error}`);
          assert.ok(r.ok && r.relError! <= REAL_TOLERANCE, `${m.name} on ${r.runtime}`);
          assert.equal(r.timing?.runs, m.runs, `${m.name} on ${r.runtime}: timed every round`);
        }
      }
      const md = await Deno.readTextFile(`${dir}/BENCH.md`);
      assert.match(md, /^## Real third-party models$/m);
      // One row per model, ending in the check column: `ok`.
      assert.match(md, /^\| hello_deepa \| openwakeword-js@0\.1\.27 \| .* \| ok \|$/m);
      assert.match(md, /^\| liveness \| @vladmandic\/human@3\.3\.6 \| .* \| ok \|$/m);
      assert.match(md, /generated-wasm \/ ort-node: geometric mean [\d.]+ over 1 model/);
      assert.match(md, /generated-wasm \/ tfjs-wasm: geometric mean [\d.]+ over 1 model/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("bench --real-models with an unknown name is a usage error naming the choices", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    assert.equal(await main(["--real-models", "nope", "--out", "/nonexistent/x.md"]), 2);
  } finally {
    console.error = original;
  }
  assert.match(errors.join("\n"), /Unknown real model "nope"; expected one of fr_age, .*liveness/);
});
