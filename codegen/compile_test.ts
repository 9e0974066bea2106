/**
 * `loadModule()` (codegen/compile.ts): loads run one at a time through one
 * temporary path per isolate, so a load that fails leaves the next ones
 * working; and the temporary path is turned into a file URL whatever
 * characters the temp directory's name holds (`#` and `%` are URL syntax).
 */

import assert from "node:assert/strict";
import { loadModule } from "./compile.ts";

Deno.test("loadModule() rejects a module that fails to load, and the loads after it still work", async () => {
  const bad = loadModule("export const answer = ;");
  const good = loadModule("export const answer = () => 42;");
  const throws = loadModule("throw new RangeError('Broken at load');", "js");
  await assert.rejects(bad, /Expression expected/);
  assert.equal((await good as unknown as { answer(): number }).answer(), 42);
  await assert.rejects(throws, /^RangeError: Broken at load$/);
  const after = await loadModule("export const answer = () => 7;");
  assert.equal((after as unknown as { answer(): number }).answer(), 7);
});

Deno.test("loadModule() loads from a temp directory whose name holds '#' and '%'", async () => {
  // A fresh process: the temp path is chosen once per isolate, from TMPDIR.
  const tmp = await Deno.makeTempDir({ prefix: "lightnets-#50%-" });
  try {
    const script = `import { loadModule } from ${
      JSON.stringify(import.meta.resolve("./compile.ts"))
    };
const m = await loadModule("export const answer = () => 42;");
console.log(m.answer());`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      env: { TMPDIR: tmp },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    assert.ok(out.success, err);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "42");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
