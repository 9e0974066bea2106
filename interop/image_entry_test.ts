import assert from "node:assert/strict";
import { PNG } from "pngjs";
import { imageEntrySource } from "./image_entry.ts";
import { decodeImage, imageToTensor } from "./image.ts";

type Entry = (
  args: string[],
  shape: number[],
  classes: number,
) => Promise<{ input: Float32Array; labels?: string[] } | undefined>;

async function loadEntry(): Promise<Entry> {
  const source = `${imageEntrySource()}\nexport { entryOptions, imageInputFromOptions };\n`;
  const mod = await import(`data:application/typescript;base64,${btoa(source)}`);
  return (args, shape, classes) =>
    mod.imageInputFromOptions(mod.entryOptions(args, "m", shape), shape, classes);
}

Deno.test("the generated entry point's image input equals imageToTensor() (resize, crop, bgr, mean/std)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const png = new PNG({ width: 13, height: 9 });
    for (let i = 0; i < 13 * 9 * 4; i++) png.data[i] = (i * 37) % 256;
    const bytes = new Uint8Array(PNG.sync.write(png));
    await Deno.writeFile(`${dir}/x.png`, bytes);
    await Deno.writeTextFile(`${dir}/labels.txt`, "a\nb\n");
    const entry = await loadEntry();
    const args = [
      "--image",
      `${dir}/x.png`,
      "--size",
      "10x12",
      "--channel-order",
      "bgr",
      "--mean",
      "0.5,0.4,0.3",
      "--labels",
      `${dir}/labels.txt`,
    ];
    const got = await entry(args, [1, 3, 8, 8], 2);
    const want = imageToTensor(decodeImage(bytes), {
      size: [10, 12],
      crop: [8, 8],
      channelOrder: "bgr",
      mean: [0.5, 0.4, 0.3],
    });
    assert.deepEqual(got?.input, want);
    assert.deepEqual(got?.labels, ["a", "b"]);
    assert.equal(await entry([], [1, 3, 8, 8], 2), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the generated entry point fills an NHWC input (1xHxWx3, tfjs models) in HWC order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const png = new PNG({ width: 7, height: 5 });
    for (let i = 0; i < 7 * 5 * 4; i++) png.data[i] = (i * 53) % 256;
    await Deno.writeFile(`${dir}/x.png`, new Uint8Array(PNG.sync.write(png)));
    const entry = await loadEntry();
    const chw = (await entry(["--image", `${dir}/x.png`], [1, 3, 5, 7], 2))!.input;
    const hwc = (await entry(["--image", `${dir}/x.png`], [1, 5, 7, 3], 2))!.input;
    // Pixel i of channel c sits at c * H * W + i in NCHW and at i * 3 + c in NHWC.
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 35; i++) assert.equal(hwc[i * 3 + c], chw[c * 35 + i]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
