/**
 * Real inputs for `run` and generated modules: decode a PNG (pngjs) or JPEG
 * (jpeg-js), resize it bilinearly (half-pixel centers, as PIL and
 * torchvision's `Resize` with antialias off), scale to [0, 1], normalize with
 * per-channel mean and std (ImageNet's by default), and lay it out as NCHW
 * `[1, 3, H, W]` in RGB or BGR order. Also labels files and top-k printing.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import { DEFAULT_MAX_PIXELS } from "./image_entry.ts";
import { readFileOrThrow } from "../lib/_io.ts";

/** An 8-bit RGBA image, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** torchvision's ImageNet normalization (mean, std of RGB in [0, 1]). */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
/** See {@link IMAGENET_MEAN}. */
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

export { DEFAULT_MAX_PIXELS };

/**
 * Width and height from a PNG's IHDR or a JPEG's first SOF segment, read
 * without decoding; undefined when the header is not found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageSize } from "./image.ts";
 * // PNG signature, IHDR length and type, then width 30000 and height 20000 (big-endian)
 * const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82,
 *   0, 0, 0x75, 0x30, 0, 0, 0x4e, 0x20]);
 * assert.deepEqual(imageSize(png), { width: 30000, height: 20000 });
 * // JPEG SOI, then SOF0: length 17, precision 8, height 0x0100, width 0x0200
 * const jpg = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 1, 0, 2, 0]);
 * assert.deepEqual(imageSize(jpg), { width: 512, height: 256 });
 * ```
 */
export function imageSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isPng(bytes)) {
    if (bytes.length < 24) return undefined;
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (!isJpeg(bytes)) return undefined;
  // Walk the marker segments: each is FF xx and a 2-byte length (SOI, RSTn, TEM have none).
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const length = view.getUint16(i + 2);
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      if (i + 9 > bytes.length) return undefined;
      return { width: view.getUint16(i + 7), height: view.getUint16(i + 5) };
    }
    if (marker === 0xda || length < 2) return undefined; // image data before any frame header
    i += 2 + length;
  }
  return undefined;
}

function isPng(bytes: Uint8Array): boolean {
  return bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e;
}

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
}

/** Throws a RangeError naming `what` when `width x height` exceeds `maxPixels`. */
export function checkPixels(
  what: string,
  width: number,
  height: number,
  maxPixels = DEFAULT_MAX_PIXELS,
): void {
  if (width * height > maxPixels) {
    throw new RangeError(
      `${what} is ${width}x${height} = ${
        (width * height).toLocaleString("en-US")
      } pixels, above the limit of ${maxPixels.toLocaleString("en-US")} (--max-pixels N raises it)`,
    );
  }
}

/** Options of {@link imageToTensor}. */
export interface ImageOptions {
  /** Output `[height, width]`; the image is resized when it differs. */
  size: readonly [number, number];
  /** Per-channel mean in [0, 1] units, in RGB order (default ImageNet's). */
  mean?: readonly number[];
  /** Per-channel std in [0, 1] units, in RGB order (default ImageNet's). */
  std?: readonly number[];
  /** Channel order of the tensor (default `rgb`; Caffe-style models use `bgr`). */
  channelOrder?: "rgb" | "bgr";
  /** Center crop `[height, width]` taken after the resize (torchvision's Resize(256) + CenterCrop(224)). */
  crop?: readonly [number, number];
  /** Largest image decoded and largest `size`, in pixels (default {@link DEFAULT_MAX_PIXELS}). */
  maxPixels?: number;
}

/**
 * Decodes PNG or JPEG bytes (told apart by their signature). Throws a
 * TypeError naming `source` for anything else or a corrupt file, and a
 * RangeError when the header declares more than `maxPixels` (checked before
 * decoding).
 */
export function decodeImage(
  bytes: Uint8Array,
  source = "image",
  maxPixels = DEFAULT_MAX_PIXELS,
): RgbaImage {
  const size = imageSize(bytes);
  if (size) checkPixels(`Image "${source}"`, size.width, size.height, maxPixels);
  try {
    if (isPng(bytes)) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
    }
    if (isJpeg(bytes)) {
      const img = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        // jpeg-js's own guards, for a header the scan above did not find.
        maxResolutionInMP: maxPixels / 1e6,
        maxMemoryUsageInMB: Math.max(512, (maxPixels * 8) / 1e6),
      });
      return { width: img.width, height: img.height, data: new Uint8Array(img.data) };
    }
  } catch (e) {
    throw new TypeError(`Cannot decode "${source}": ${e instanceof Error ? e.message : String(e)}`);
  }
  throw new TypeError(`Cannot decode "${source}": not a PNG or JPEG file`);
}

/**
 * Bilinear resize with half-pixel centers: output pixel `(y, x)` samples the
 * input at `((y + 0.5) * H / h - 0.5, (x + 0.5) * W / w - 0.5)`, clamped to
 * the edge.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeBilinear } from "./image.ts";
 * // 1x2 image, red channel 0 and 100; at width 4 the samples fall at -0.25, 0.25, 0.75, 1.25
 * const img = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 255, 100, 0, 0, 255]) };
 * const out = resizeBilinear(img, 1, 4);
 * assert.deepEqual([0, 4, 8, 12].map((i) => out.data[i]), [0, 25, 75, 100]);
 * ```
 */
export function resizeBilinear(img: RgbaImage, height: number, width: number): RgbaImage {
  if (img.height === height && img.width === width) return img;
  const out = new Uint8Array(height * width * 4);
  const sy = img.height / height;
  const sx = img.width / width;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 4; c++) {
        const p = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 4 + c];
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx;
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx;
        out[(y * width + x) * 4 + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return { width, height, data: out };
}

/**
 * The image as an NCHW float tensor `[1, 3, H, W]`: resized to `size`,
 * center-cropped to `crop` when given, `(pixel / 255 - mean[c]) / std[c]`,
 * channels in `channelOrder`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageToTensor } from "./image.ts";
 * const img = { width: 1, height: 1, data: new Uint8Array([255, 0, 51, 255]) };
 * const t = imageToTensor(img, { size: [1, 1], mean: [0, 0, 0], std: [1, 1, 0.5], channelOrder: "bgr" });
 * assert.deepEqual([...t], [Math.fround(0.4), 0, 1]);
 * ```
 */
export function imageToTensor(img: RgbaImage, options: ImageOptions): Float32Array {
  const [h, w] = options.size;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (h * w > maxPixels) {
    throw new RangeError(
      `Invalid size ${h}x${w} (HxW): ${
        (h * w).toLocaleString("en-US")
      } pixels, above the limit of ${maxPixels.toLocaleString("en-US")}`,
    );
  }
  const mean = options.mean ?? IMAGENET_MEAN;
  const std = options.std ?? IMAGENET_STD;
  for (const [what, v] of [["mean", mean], ["std", std]] as const) {
    if (v.length !== 3) {
      throw new TypeError(`Invalid ${what} [${v.join(", ")}]: expected 3 values (R, G, B)`);
    }
  }
  if (std.some((s) => !(s > 0))) {
    throw new RangeError(`Invalid std [${std.join(", ")}]: every value must be > 0`);
  }
  const resized = resizeBilinear(img, h, w);
  const [ch, cw] = options.crop ?? [h, w];
  if (ch > h || cw > w) {
    throw new RangeError(`Invalid crop ${ch}x${cw}: larger than the resized image ${h}x${w}`);
  }
  // torchvision's CenterCrop rounds the offsets: int(round((h - ch) / 2)).
  const top = Math.round((h - ch) / 2);
  const left = Math.round((w - cw) / 2);
  const order = options.channelOrder === "bgr" ? [2, 1, 0] : [0, 1, 2];
  const plane = ch * cw;
  const out = new Float32Array(3 * plane);
  order.forEach((src, dst) => {
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const v = resized.data[((y + top) * w + x + left) * 4 + src];
        out[dst * plane + y * cw + x] = (v / 255 - mean[src]) / std[src];
      }
    }
  });
  return out;
}

/** Reads an image file and converts it with {@link imageToTensor}. */
export async function loadImageTensor(path: string, options: ImageOptions): Promise<Float32Array> {
  // Not a device or pipe (a link to /dev/zero would stream forever), at most 2 GiB.
  const bytes = await readFileOrThrow(path, "--image");
  return imageToTensor(decodeImage(bytes, path, options.maxPixels), options);
}

/** Class names from a labels file: one per line, blank lines dropped at the end. */
export function parseLabels(text: string): string[] {
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  return lines.map((l) => l.trim());
}

/**
 * The `k` highest scores with softmax probabilities and optional labels, best
 * first. With `probabilities`, the scores already are probabilities (a
 * Softmax ends the model) and are reported as they are.
 */
export function topClasses(
  scores: ArrayLike<number>,
  k: number,
  labels?: readonly string[],
  probabilities = false,
): { index: number; score: number; probability: number; label?: string }[] {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) max = Math.max(max, scores[i]);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += Math.exp(scores[i] - max);
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => scores[b] - scores[a] || a - b)
    .slice(0, k)
    .map((index) => ({
      index,
      score: scores[index],
      probability: probabilities ? scores[index] : Math.exp(scores[index] - max) / sum,
      ...(labels?.[index] !== undefined ? { label: labels[index] } : {}),
    }));
}
