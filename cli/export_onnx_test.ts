import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";
import { importOnnx } from "../interop/onnx_import.ts";
import { writeSafetensors } from "../interop/safetensors.ts";
import { zoo } from "../lib/models/zoo.ts";
import { randomWeights } from "../lib/runtime/weights.ts";

Deno.test("export-onnx writes a model that imports back with the seeded weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/sv2.onnx`;
    const r = await runCli(
      "export-onnx",
      "shufflenetv2",
      "--width",
      "0.5",
      "--resolution",
      "64",
      "--seed",
      "3",
      "-o",
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*sv2\.onnx: shufflenetv2, \d+ nodes, opset 14/);
    const graph = zoo.build("shufflenetv2", { width: 0.5, resolution: 64 });
    const back = importOnnx(await Deno.readFile(out));
    assert.deepEqual(back.graph, graph);
    assert.deepEqual(back.weights, randomWeights(graph, 3));
    // The file's own weights go through a second export unchanged, BatchNorms folded on request.
    const again = `${dir}/folded.onnx`;
    const r2 = await runCli("export-onnx", out, "--fold-bn", "--json", "-o", again);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(JSON.parse(r2.stdout).weights, "file");
    const folded = importOnnx(await Deno.readFile(again));
    assert.ok(folded.graph.nodes.every((n) => n.kind !== "batch_norm"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export-onnx reads a safetensors state_dict and checks it against the model", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const graph = zoo.build("sv2_g2");
    const weights = randomWeights(graph, 5);
    await Deno.writeFile(`${dir}/w.safetensors`, writeSafetensors(weights));
    const r = await runCli(
      "export-onnx",
      "sv2_g2",
      "--weights",
      `${dir}/w.safetensors`,
      "-o",
      `${dir}/m.onnx`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(importOnnx(await Deno.readFile(`${dir}/m.onnx`)).weights, weights);
    weights.delete([...weights.keys()][0]);
    await Deno.writeFile(`${dir}/short.safetensors`, writeSafetensors(weights));
    const bad = await runCli(
      "export-onnx",
      "sv2_g2",
      "--weights",
      `${dir}/short.safetensors`,
      "-o",
      `${dir}/x.onnx`,
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Missing weight "/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export-onnx reports bad usage with exit code 2", async () => {
  assert.equal((await runCli("export-onnx", "shufflenetv2")).code, 2);
  const unknown = await runCli("export-onnx", "shufflenet_v9", "-o", "x.onnx");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown model "shufflenet_v9"/);
  assert.equal((await runCli("export-onnx", "--help")).code, 0);
});
