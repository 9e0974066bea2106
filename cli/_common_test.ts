import assert from "node:assert/strict";
import { makeDirOrThrow, readFileOrThrow, writeFileAtomic } from "./_common.ts";

Deno.test("writeFileAtomic() names the path, never the temp file, and leaves nothing behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-common-" });
  try {
    await writeFileAtomic(`${dir}/a.txt`, "hello");
    assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "hello");
    await assert.rejects(
      () => writeFileAtomic(`${dir}/missing/a.txt`, "x"),
      new Error(`Cannot write "${dir}/missing/a.txt": folder "${dir}/missing" does not exist`),
    );
    await Deno.mkdir(`${dir}/sub`);
    await assert.rejects(
      () => writeFileAtomic(`${dir}/sub`, "x"),
      new Error(`Cannot write "${dir}/sub": it is a directory`),
    );
    // Only what we wrote: no temp file left beside it.
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["a.txt", "sub"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFileOrThrow() and makeDirOrThrow() say what the path is for and why it failed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-common-" });
  try {
    await assert.rejects(
      () => readFileOrThrow(`${dir}/nope.bin`, "--input"),
      new Error(`Cannot read "${dir}/nope.bin" (--input): no such file or folder`),
    );
    await assert.rejects(
      () => readFileOrThrow(dir),
      new Error(`Cannot read "${dir}": it is a directory`),
    );
    await Deno.writeTextFile(`${dir}/f`, "");
    await assert.rejects(
      () => makeDirOrThrow(`${dir}/f`),
      new Error(`Cannot create folder "${dir}/f": a file of that name exists`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
