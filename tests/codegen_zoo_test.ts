/**
 * Every zoo model through codegen: generated, compared with the reference
 * executor (max |gen - ref| <= 1e-4 * max |ref| and the same top-1), and
 * type-checked with `deno check` (strict, the default). Reduced resolution
 * keeps the suite fast; ShuffleNet V2 1.0 and MobileNet V2 1.0 also run at
 * 224 as published.
 */

import assert from "node:assert/strict";
import { zoo } from "../lib/models/zoo.ts";
import { differential, runAlone, ZOO_CASES as CASES } from "../codegen/_testing.ts";
import { compile } from "../codegen/compile.ts";
import { randomWeights } from "../lib/runtime/weights.ts";

const dir = await Deno.makeTempDir({ prefix: "lightnets-zoo-gen-" });
const files: string[] = [];

for (const { name, knobs } of CASES) {
  Deno.test(`codegen of ${name} ${JSON.stringify(knobs)} matches the reference`, async () => {
    const graph = zoo.build(name, knobs);
    const { compiled, sameTop1 } = await differential(graph, 7);
    assert.ok(sameTop1, "top-1 differs from the reference");
    assert.ok(compiled.memory.arenaFloats <= 1.1 * compiled.memory.peakFloats);
    // split, concat and shuffle are index mappings: no copy step (issue 4), also in
    // ShuffleNet V1's first unit and every stride-1 ShuffleNet V2 unit
    assert.deepEqual(compiled.plan.copies, []);
    if (name.startsWith("shufflenet")) {
      assert.ok(compiled.plan.steps.every((s) => s.spec.family !== "copy"));
    }
    const path = `${dir}/${name}_${Object.values(knobs).join("_")}.gen.ts`;
    await Deno.writeTextFile(path, compiled.source);
    files.push(path);
  });
}

Deno.test("every generated zoo module type-checks (deno check, strict)", async () => {
  assert.equal(files.length, CASES.length);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...files],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
});

Deno.test("a generated module copied alone into an empty directory runs with no permission", async () => {
  const graph = zoo.build("mobilenetv3_small", { resolution: 64 });
  const { source } = compile(graph, randomWeights(graph, 1), { model: "mobilenetv3_small" });
  const { run: out } = await runAlone(source);
  const text = out.stdout;
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    text,
    /^mobilenetv3_small: top-5 of sample 0\n( {2}class +\d+ {2}-?\d+\.\d+ {2}p=\d\.\d{4}\n){5}/,
  );
  assert.match(text, /\d+\.\d\d ms\/inference \(\d+ runs, one thread\)/);
});

Deno.test({
  name: "cleanup of the generated zoo modules",
  fn: () => Deno.remove(dir, { recursive: true }),
});
