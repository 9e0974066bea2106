import assert from "node:assert/strict";
import { readLabels } from "./_image.ts";

Deno.test("readLabels() checks the line count against the model's classes (blank trailing line tolerated)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/labels.txt`;
    await Deno.writeTextFile(path, "cat\ndog\n");
    assert.deepEqual(await readLabels(path, 2), ["cat", "dog"]);
    assert.deepEqual(await readLabels(path), ["cat", "dog"]);
    assert.equal(await readLabels(undefined, 2), undefined);
    await assert.rejects(readLabels(path, 3), {
      message: `Labels file "${path}" has 2 lines, expected 3 (one per class of the model)`,
    });
    await Deno.writeTextFile(path, "cat\ndog\nbird\nfish");
    await assert.rejects(readLabels(path, 3), /has 4 lines, expected 3/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
