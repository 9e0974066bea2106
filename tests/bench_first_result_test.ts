/**
 * CI smoke test of the first-result harness (bench/first_result.ts): one
 * runtime of each kind of request (a generated module's `--emit js` file, an
 * `.onnx` file in onnxruntime-node, tfjs loaded from the graph), each in
 * fresh processes, one untimed and one timed. No speed is asserted: only that
 * every process loaded its runtime, ran it and reported a time.
 */

import assert from "node:assert/strict";
import { type FirstResultJob, firstResultJob, firstResults } from "../bench/first_result.ts";
import { compile } from "../codegen/compile.ts";
import { zoo } from "../lib/models/zoo.ts";
import { randomWeights } from "../lib/runtime/weights.ts";

Deno.test({
  name: "firstResults() times a generated module, onnxruntime-node and tfjs in fresh processes",
  sanitizeResources: false,
  fn: async () => {
    const model = "mobilenetv3_small";
    const knobs = { resolution: 64, classes: 10 };
    const graph = zoo.build(model, knobs);
    const m = { model, knobs, graph, weights: randomWeights(graph, 1) };
    const dir = await Deno.makeTempDir({ prefix: "lightnets-first-test-" });
    try {
      // The reference executor is an oracle, not a runtime to ship: no job.
      assert.equal(await firstResultJob("reference", m, dir), undefined);
      const jobs: FirstResultJob[] = [];
      for (const runtime of ["generated-wasm", "ort-node", "tfjs-cpu"]) {
        jobs.push((await firstResultJob(runtime, m, dir))!);
      }
      assert.deepEqual(jobs.map((j) => j.request.kind), ["module", "onnx", "build"]);
      const lines: string[] = [];
      const figures = await firstResults(jobs, 1, (l) => lines.push(l));
      figures.forEach((f, i) => {
        assert.equal(f.error, undefined, `${jobs[i].runtime}: ${f.error}`);
        assert.equal(f.runs.length, 1);
        assert.ok(f.ms! > 0 && f.coldMs! > 0, `${jobs[i].runtime}: ${JSON.stringify(f)}`);
      });
      assert.deepEqual(lines, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("firstResults() reports a process that fails, naming its error", async () => {
  const figures = await firstResults(
    [{
      runtime: "generated-wasm",
      request: { kind: "module", path: "/nonexistent/model.gen.js" },
    }],
    1,
    () => {},
  );
  assert.equal(figures[0].ms, undefined);
  assert.match(figures[0].error ?? "", /nonexistent/);
});

Deno.test("firstResults() times a module whose path holds URL syntax ('#', '%', a space)", async () => {
  const graph = zoo.build("squeezenet1_1", { resolution: 32, classes: 10 });
  const { source } = compile(graph, randomWeights(graph, 1), { target: "wasm", emit: "js" });
  const dir = await Deno.makeTempDir({ prefix: "lightnets-first-#50% " });
  try {
    const path = `${dir}/model #1.gen.js`;
    await Deno.writeTextFile(path, source);
    const figures = await firstResults(
      [{ runtime: "generated-wasm", request: { kind: "module", path } }],
      1,
      () => {},
    );
    assert.equal(figures[0].error, undefined);
    assert.ok(figures[0].ms! > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("firstResults() names a file that is not a generated module", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-first-" });
  try {
    const path = `${dir}/plain.js`;
    await Deno.writeTextFile(path, "export const answer = 42;\n");
    const figures = await firstResults(
      [{ runtime: "plain", request: { kind: "module", path } }],
      1,
      () => {},
    );
    assert.equal(
      figures[0].error,
      `Cannot time "${path}": not a generated module (expected exports inputShape and infer)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
