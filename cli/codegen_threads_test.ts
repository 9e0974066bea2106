import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";

Deno.test("cli codegen --threads 2 splits steps between 2 threads and says how many", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-cli-codegen-threads-" });
  try {
    const args = ["codegen", "shufflenetv2", "--resolution", "64", "--target", "wasm"];
    const r = await runCli(...args, "--threads", "2", "--out", dir, "--json");
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.threads, 2);
    assert.ok(j.splitSteps > 0 && j.splitSteps < j.steps, `splitSteps ${j.splitSteps}`);
    const src = await Deno.readTextFile(j.path);
    assert.match(src, /shared: true/);
    const text = await runCli(...args, "--threads", "2", "--out", dir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`${j.splitSteps} of ${j.steps} calls split between 2`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli codegen --threads: not an integer >= 1, or with --target ts, is a usage error", async () => {
  for (const bad of ["0", "1.5", "two", ""]) {
    const r = await runCli("codegen", "shufflenetv2", "--target", "wasm", "--threads", bad);
    assert.equal(r.code, 2, `--threads "${bad}"`);
    assert.match(r.stderr, /Invalid --threads ".*": expected an integer >= 1/);
  }
  const ts = await runCli("codegen", "shufflenetv2", "--threads", "2");
  assert.equal(ts.code, 2);
  assert.match(ts.stderr, /--threads needs --target wasm/);
});
