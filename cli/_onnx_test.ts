import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";
import { analyze } from "../lib/analysis/report.ts";
import { zoo } from "../lib/models/zoo.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { torchLikeOnnx } from "../tests/_torch_like.ts";

Deno.test("analyze and guidelines read a torch.onnx-style file; a dynamic batch needs --input-shape", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const graph = zoo.build("shufflenetv2", { width: 0.5, resolution: 64 });
    const path = `${dir}/sv2.onnx`;
    await Deno.writeFile(path, torchLikeOnnx(graph, randomWeights(graph, 1)).bytes);
    const missing = await runCli("analyze", path);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /dynamic dimensions \[batch_size, 3, 64, 64\]; give its shape with --input-shape/,
    );
    const r = await runCli("analyze", path, "--input-shape", "1x3x64x64", "--json");
    assert.equal(r.code, 0, r.stderr);
    // Folding BatchNorm into the convs (as the file does) changes no conv or fc MAdds.
    assert.equal(JSON.parse(r.stdout).totals.madds, analyze(graph).totals.madds);
    const g = await runCli("guidelines", path, "--input-shape", "1x3x64x64");
    assert.equal(g.code, 0, g.stderr);
    const bad = await runCli("analyze", path, "--input-shape", "1x3x64");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--input-shape 1x3x64 has 3 dimensions/);
    const knob = await runCli("analyze", path, "--width", "2");
    assert.equal(knob.code, 2);
    assert.match(
      knob.stderr,
      /Unknown option --width: not an option of this command nor a knob of "sv2\.onnx" \(knobs: --input-shape;/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
