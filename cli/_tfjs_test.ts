/**
 * The CLI on a TensorFlow.js model.json written by tfjs-layers into a temp
 * folder: figures, exit codes and one-line errors.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import { PNG } from "pngjs";
import { runCli } from "./_capture.ts";
import { imageInput } from "./_image.ts";

await tf.setBackend("cpu");

/** A small MLP (12 -> 8 relu -> 3 softmax) saved as model.json + weights.bin in a temp folder. */
async function savedMlp(): Promise<string> {
  const model = tfl.sequential({
    name: "mlp",
    layers: [
      tfl.layers.dense({ units: 8, activation: "relu", inputShape: [12], name: "fc1" }),
      tfl.layers.dropout({ rate: 0.5, name: "drop" }),
      tfl.layers.dense({ units: 3, activation: "softmax", name: "fc2" }),
    ],
  });
  const dir = await Deno.makeTempDir({ prefix: "lightnets-tfjs-" });
  await model.save(tf.io.withSaveHandler(async (a) => {
    const json = {
      format: "layers-model",
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ["weights.bin"], weights: a.weightSpecs }],
    };
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(json));
    await Deno.writeFile(`${dir}/weights.bin`, new Uint8Array(a.weightData as ArrayBuffer));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  return dir;
}

const dir = await savedMlp();

Deno.test("cli analyze reads a tfjs model.json: params and MAdds of its layers", async () => {
  const r = await runCli("analyze", `${dir}/model.json`, "--json");
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  // fc1: 12 x 8 + 8, fc2: 8 x 3 + 3 parameters; MAdds 12 x 8 + 8 x 3.
  assert.equal(report.totals.params.total, 12 * 8 + 8 + 8 * 3 + 3);
  assert.equal(report.totals.madds, 12 * 8 + 8 * 3);
});

Deno.test("cli: a missing weight shard is exit 1 with one line naming the file and a weight", async () => {
  const d = await savedMlp();
  await Deno.remove(`${d}/weights.bin`);
  const r = await runCli("analyze", `${d}/model.json`);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^error: Missing weight shard "weights\.bin" of .*model\.json \(holds weight "fc1\/kernel" and others\)$/,
  );
});

Deno.test("cli: a knob on a tfjs model is a usage error (exit 2)", async () => {
  const r = await runCli("analyze", `${dir}/model.json`, "--width", "0.5");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /TensorFlow\.js models take no knobs; got --width/);
});

Deno.test("cli: a .json that is not a tfjs model is exit 1 with one line", async () => {
  await Deno.writeTextFile(`${dir}/other.json`, JSON.stringify({ name: "x" }));
  const r = await runCli("analyze", `${dir}/other.json`);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^error: .*other\.json is not a TensorFlow\.js model: it has no "modelTopology"$/,
  );
});

Deno.test("cli: --input-shape fixes a dynamic batch and must fit the file's static dims (exit 2)", async () => {
  const ok = await runCli("analyze", `${dir}/model.json`, "--input-shape", "4x12", "--json");
  assert.equal(ok.code, 0);
  // A batch of 4: MAdds scale with it.
  assert.equal(JSON.parse(ok.stdout).totals.madds, 4 * (12 * 8 + 8 * 3));
  const bad = await runCli("analyze", `${dir}/model.json`, "--input-shape", "1x5");
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /--input-shape 1x5 does not fit input "fc1_input" of .*model\.json \(\[-1, 12\]\): dimension 1 must be 12$/,
  );
});

Deno.test("cli run --image feeds an NHWC model (1xHxWx3) the same pixels in HWC order", async () => {
  const png = new PNG({ width: 5, height: 4 });
  for (let i = 0; i < 5 * 4; i++) png.data.set([i * 12, 255 - i * 7, (i * 31) % 256, 255], i * 4);
  const path = `${dir}/img.png`;
  await Deno.writeFile(path, new Uint8Array(PNG.sync.write(png)));
  const chw = (await imageInput({ image: path }, [1, 3, 4, 5]))!;
  const hwc = (await imageInput({ image: path }, [1, 4, 5, 3]))!;
  // Pixel i of channel c sits at c * H * W + i in NCHW and at i * 3 + c in NHWC.
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 20; i++) assert.equal(hwc[i * 3 + c], chw[c * 20 + i]);
  }
  await assert.rejects(imageInput({ image: path }, [1, 4, 5, 2]), /input 1x3xHxW or 1xHxWx3/);
});
