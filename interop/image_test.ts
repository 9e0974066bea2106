import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import { decodeImage, imageToTensor, parseLabels, topClasses } from "./image.ts";

function checker(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const on = ((i % width) + Math.floor(i / width)) % 2 === 0;
    data.set(on ? [250, 10, 130, 255] : [20, 200, 60, 255], i * 4);
  }
  return data;
}

Deno.test("decodeImage() reads a PNG written by pngjs pixel for pixel", () => {
  const png = new PNG({ width: 3, height: 2 });
  const pixels = checker(3, 2);
  png.data = Buffer.from(pixels);
  const img = decodeImage(new Uint8Array(PNG.sync.write(png)), "checker.png");
  assert.equal(img.width, 3);
  assert.equal(img.height, 2);
  assert.deepEqual(img.data, pixels);
});

Deno.test("decodeImage() reads a JPEG within its compression error", () => {
  const width = 16;
  const height = 8;
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([200, 100, 50, 255], i * 4);
  const encoded = jpeg.encode({ data, width, height }, 95).data;
  const img = decodeImage(new Uint8Array(encoded), "flat.jpg");
  assert.equal(img.width, width);
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(img.data[i] - data[i]) <= 3, `channel ${i}: ${img.data[i]}`);
  }
});

Deno.test("decodeImage() rejects a file that is neither PNG nor JPEG", () => {
  assert.throws(
    () => decodeImage(new TextEncoder().encode("GIF89a..."), "a.gif"),
    /Cannot decode "a.gif": not a PNG or JPEG file/,
  );
  assert.throws(
    () => decodeImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0]), "bad.png"),
    /Cannot decode "bad.png"/,
  );
});

Deno.test("imageToTensor() normalizes with ImageNet mean and std into NCHW RGB by default", () => {
  const img = { width: 2, height: 1, data: new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255]) };
  const t = imageToTensor(img, { size: [1, 2] });
  // R plane: (1 - 0.485) / 0.229 then (0 - 0.485) / 0.229
  const r = (v: number, c: number) =>
    Math.fround((v - [0.485, 0.456, 0.406][c]) / [0.229, 0.224, 0.225][c]);
  assert.deepEqual([...t], [r(1, 0), r(0, 0), r(0, 1), r(1, 1), r(0, 2), r(0, 2)]);
  assert.throws(
    () => imageToTensor(img, { size: [1, 2], std: [1, 0, 1] }),
    /every value must be > 0/,
  );
});

Deno.test("topClasses() ranks scores with softmax probabilities and labels", () => {
  const labels = parseLabels("cat\ndog\nbird\n\n");
  assert.deepEqual(labels, ["cat", "dog", "bird"]);
  const top = topClasses([1, 3, 2], 2, labels);
  assert.deepEqual(top.map((t) => [t.index, t.label]), [[1, "dog"], [2, "bird"]]);
  const z = Math.exp(1) + Math.exp(3) + Math.exp(2);
  assert.ok(Math.abs(top[0].probability - Math.exp(3) / z) < 1e-12);
});

Deno.test("imageToTensor() center-crops after the resize like torchvision's CenterCrop", () => {
  // 4x1 row of red values 0, 10, 20, 30; crop width 2 keeps columns 1 and 2.
  const data = new Uint8Array([0, 10, 20, 30].flatMap((r) => [r, 0, 0, 255]));
  const t = imageToTensor({ width: 4, height: 1, data }, {
    size: [1, 4],
    crop: [1, 2],
    mean: [0, 0, 0],
    std: [1, 1, 1],
  });
  assert.deepEqual([...t.subarray(0, 2)], [10 / 255, 20 / 255].map(Math.fround));
});
