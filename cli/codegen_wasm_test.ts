import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";

Deno.test("cli codegen --target wasm writes a wasm module and names the layers that fall back", async () => {
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
    // MobileNetV3's squeeze-excite 1x1 convs run on one-pixel planes: no wasm kernel yet
    assert.ok(j.fallbacks.length > 0);
    for (const f of j.fallbacks) assert.equal(f.kind, "pwconv");
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
    assert.match(
      text.stdout,
      /\d+ of \d+ calls run a TypeScript kernel \(no WebAssembly kernel\):/,
    );
    assert.match(text.stdout, /\(pwconv\): a plane of 1 < 4 pixels/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli codegen --target: an unknown target is a usage error (exit 2)", async () => {
  const r = await runCli("codegen", "shufflenetv2", "--target", "gpu");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Invalid --target "gpu": expected ts or wasm/);
});
