import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";

Deno.test("cli codegen --target wasm writes a wasm module with no fallback layer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-cli-codegen-wasm-" });
  try {
    const r = await runCli(
      "codegen",
      "mobilenetv3_small",
      "--resolution",
      "64",
      "--target",
      "wasm",
      "--out",
      dir,
      "--json",
    );
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.target, "wasm");
    assert.deepEqual(j.fallbacks, []); // every layer of the zoo has a wasm kernel
    const src = await Deno.readTextFile(j.path);
    assert.match(src, /export const target: string = "wasm";/);
    const text = await runCli(
      "codegen",
      "mobilenetv3_small",
      "--resolution",
      "64",
      "--target",
      "wasm",
      "--out",
      dir,
    );
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Wrote .*mobilenetv3_small\.gen\.ts \(/);
    assert.doesNotMatch(text.stdout, /TypeScript kernel/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli codegen --target: an unknown target is a usage error (exit 2)", async () => {
  const r = await runCli("codegen", "shufflenetv2", "--target", "gpu");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Invalid --target "gpu": expected ts or wasm/);
});

Deno.test("cli codegen --emit js writes <model>.gen.js; --tune needs --target wasm", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-cli-codegen-js-" });
  try {
    const r = await runCli(
      "codegen",
      "squeezenet1_1",
      "--resolution",
      "64",
      "--emit",
      "js",
      "--out",
      dir,
      "--json",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).path, `${dir}/squeezenet1_1.gen.js`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const bad = await runCli("codegen", "shufflenetv2", "--emit", "wasm");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid --emit "wasm": expected ts or js/);
  const tune = await runCli("codegen", "shufflenetv2", "--tune");
  assert.equal(tune.code, 2);
  assert.match(tune.stderr, /--tune needs --target wasm/);
});
