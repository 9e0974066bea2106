/**
 * Every zoo model through the WebAssembly target (`compile(..., { target:
 * "wasm" })`): compared with the reference executor (max |gen - ref| <= 1e-4
 * * max |ref| and the same top-1) at reduced resolution, and ShuffleNet V2 1.0
 * and MobileNet V2 1.0 at 224 as published; one module type-checked and run
 * alone with no permission; `--emit js` modules of both targets run under
 * Node 20 (which has no relaxed SIMD: the plain kernels run there).
 */

import assert from "node:assert/strict";
import { zoo } from "../lib/models/zoo.ts";
import { differential, runAlone, TOL, ZOO_CASES as CASES } from "../codegen/_testing.ts";
import { runReference } from "../lib/runtime/reference.ts";
import { maxAbs, maxAbsDiff } from "../lib/runtime/tensor.ts";
import { compile } from "../codegen/compile.ts";
import { randomWeights } from "../lib/runtime/weights.ts";

for (const { name, knobs } of CASES) {
  Deno.test(`wasm codegen of ${name} ${JSON.stringify(knobs)} matches the reference`, async () => {
    const { compiled, sameTop1 } = await differential(zoo.build(name, knobs), 7, {
      target: "wasm",
    });
    assert.ok(sameTop1, "top-1 differs from the reference");
    // Every zoo layer has a WebAssembly kernel.
    assert.deepEqual(compiled.fallbacks, []);
  });
}

Deno.test("a wasm module type-checks and runs alone with no permission", async () => {
  const graph = zoo.build("mobilenetv3_small", { resolution: 64 });
  const { source } = compile(graph, randomWeights(graph, 1), {
    model: "mobilenetv3_small",
    target: "wasm",
  });
  const { check, run: out } = await runAlone(source, true);
  assert.equal(check!.code, 0, check!.stderr);
  const text = out.stdout;
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    text,
    /^mobilenetv3_small: top-5 of sample 0\n( {2}class +\d+ {2}-?\d+\.\d+ {2}p=\d\.\d{4}\n){5}/,
  );
  assert.match(text, /\d+\.\d\d ms\/inference \(\d+ runs, one thread, WebAssembly SIMD/);
});

Deno.test("--emit js: both targets' modules run under Node 20 and agree with the reference", async (t) => {
  const node = await new Deno.Command("node", {
    args: ["--version"],
    stdout: "null",
    stderr: "null",
  })
    .output().catch(() => undefined);
  if (!node?.success) {
    await t.step({ name: "node is not installed: skipped", ignore: true, fn: () => {} });
    return;
  }
  const graph = zoo.build("mobilenetv3_small", { resolution: 64 });
  const weights = randomWeights(graph, 2);
  const input = new Float32Array(3 * 64 * 64).map((_, i) => Math.sin(i));
  const want = runReference(graph, weights, input);
  const dir = await Deno.makeTempDir({ prefix: "lightnets-node-" });
  try {
    await Deno.writeTextFile(
      `${dir}/run.mjs`,
      [
        "const m = await import(new URL(process.argv[2], import.meta.url).href);",
        "const x = new Float32Array(3 * 64 * 64).map((_, i) => Math.sin(i));",
        "console.log(JSON.stringify(Array.from(m.infer(x))));",
      ].join("\n"),
    );
    for (const target of ["ts", "wasm"] as const) {
      const { source } = compile(graph, weights, { target, emit: "js" });
      assert.doesNotMatch(source.slice(0, 20000), /: Float32Array\b|: number\b/); // no types left
      await Deno.writeTextFile(`${dir}/model.gen.js`, source);
      const out = await new Deno.Command("node", {
        args: ["run.mjs", "./model.gen.js"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const got = JSON.parse(new TextDecoder().decode(out.stdout)) as number[];
      assert.ok(maxAbsDiff(got, want) <= TOL * maxAbs(want), `${target} under Node`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
