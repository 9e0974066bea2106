/**
 * `loadModule()` (codegen/compile.ts): loads run one at a time through one
 * temporary path per isolate, so a load that fails leaves the next ones
 * working; the temporary path is turned into a file URL whatever
 * characters the temp directory's name holds (`#` and `%` are URL syntax);
 * and its directory stays ours between loads.
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

/** Runs `script` (which may call `loadModule`) in a fresh process with TMPDIR `tmp`; its stdout. */
async function runWithTmp(tmp: string, script: string): Promise<string> {
  // A fresh process: the temp path is chosen once per isolate, from TMPDIR.
  const head = `import { loadModule } from ${JSON.stringify(import.meta.resolve("./compile.ts"))};`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `${head}\n${script}`],
    env: { TMPDIR: tmp },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
  assert.ok(out.success, err);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("loadModule() loads from a temp directory whose name holds '#' and '%'", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "lightnets-#50%-" });
  try {
    const got = await runWithTmp(
      tmp,
      `const m = await loadModule("export const answer = () => 42;");\nconsole.log(m.answer());`,
    );
    assert.equal(got, "42");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("loadModule() keeps its private temp directory between loads and removes it at exit", async () => {
  // Were the directory removed after each load and made again at the same path, another
  // user could create that path in between and swap the module before it is imported.
  const tmp = await Deno.makeTempDir({ prefix: "lightnets-load-" });
  try {
    const got = await runWithTmp(
      tmp,
      `const tmp = Deno.env.get("TMPDIR");
const seen = [];
for (const answer of [1, 2]) {
  await loadModule(\`export const answer = \${answer};\`);
  for (const e of Deno.readDirSync(tmp)) {
    const dir = tmp + "/" + e.name;
    const files = [...Deno.readDirSync(dir)].length;
    seen.push([e.name.slice(0, 13), e.isDirectory, Deno.statSync(dir).mode & 0o777, files]);
  }
}
console.log(JSON.stringify(seen));`,
    );
    // After each load: one directory, ours alone (mode 700), the module file removed.
    const entry = ["lightnets-gen", true, 0o700, 0];
    assert.deepEqual(JSON.parse(got), [entry, entry]);
    assert.deepEqual([...Deno.readDirSync(tmp)], [], "the directory is removed at exit");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
