/**
 * The image options of `run`: `--image photo.png|jpg` with `--size HxW`,
 * `--mean`, `--std`, `--channel-order` and `--labels`, turned into the model's
 * input tensor and named classes.
 *
 * @module
 */

import type { Shape } from "../lib/ir/ops.ts";
import { readTextFileOrThrow, UsageError } from "./_common.ts";
import { sanitize } from "../lib/_text.ts";
import {
  DEFAULT_MAX_PIXELS,
  IMAGENET_MEAN,
  IMAGENET_STD,
  loadImageTensor,
  parseLabels,
  topClasses,
} from "../interop/image.ts";

/** parseArgs specs of the image options (spread into a command's options). */
export const IMAGE_OPTIONS = {
  image: { type: "string" },
  size: { type: "string" },
  mean: { type: "string" },
  std: { type: "string" },
  "channel-order": { type: "string" },
  labels: { type: "string" },
  "max-pixels": { type: "string" },
} as const;

/** Help lines of the image options. */
export const IMAGE_HELP =
  `  --image FILE     a PNG or JPEG as input: resized (bilinear) to the model's
                   input size (or --size), scaled to [0, 1], normalized
  --size HxW       resize to HxW, then center-crop to the model's input size
                   (torchvision: --size 256x256 for a 224 model)
  --mean R,G,B     per-channel mean in [0, 1] units (default ImageNet's ${IMAGENET_MEAN.join(",")})
  --std R,G,B      per-channel std (default ImageNet's ${IMAGENET_STD.join(",")})
  --channel-order  rgb (default) or bgr
  --labels FILE    class names, one per line, to name the top classes
  --max-pixels N   largest image (read from its header before decoding) and
                   --size, in pixels (default ${DEFAULT_MAX_PIXELS.toLocaleString("en-US")})`;

type ImageValues = { [K in keyof typeof IMAGE_OPTIONS]?: string };

function triple(text: string | undefined, flag: string, positive: boolean): number[] | undefined {
  if (text === undefined) return undefined;
  const v = text.split(",").map((s) => Number(s.trim()));
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x) || (positive && x <= 0))) {
    throw new UsageError(
      `Invalid ${flag} "${text}": expected three ${
        positive ? "positive " : ""
      }numbers R,G,B, e.g. ${flag === "--std" ? IMAGENET_STD.join(",") : IMAGENET_MEAN.join(",")}`,
    );
  }
  return v;
}

/** Parses `--max-pixels`: a positive integer (default {@link DEFAULT_MAX_PIXELS}). */
function parseMaxPixels(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_PIXELS;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`Invalid --max-pixels "${text}": expected a positive integer`);
  }
  return n;
}

/**
 * The input tensor from `--image` (undefined without it), checked against the
 * model's input `shape`: `[1, 3, H, W]`, or `[1, H, W, 3]` (NHWC, as
 * TensorFlow.js models take images) filled in that order.
 */
export async function imageInput(
  values: ImageValues,
  shape: Shape,
): Promise<Float32Array | undefined> {
  if (values.image === undefined) {
    const stray = (["size", "mean", "std", "channel-order", "max-pixels"] as const).filter((k) =>
      values[k] !== undefined
    );
    if (stray.length) throw new UsageError(`--${stray[0]} needs --image FILE`);
    return undefined;
  }
  // NCHW [1, 3, H, W], or NHWC [1, H, W, 3] as TensorFlow.js models take images.
  const nhwc = shape.length === 4 && shape[0] === 1 && shape[1] !== 3 && shape[3] === 3;
  if (shape.length !== 4 || shape[0] !== 1 || (shape[1] !== 3 && !nhwc)) {
    throw new UsageError(
      `--image needs a model with input 1x3xHxW or 1xHxWx3, this one takes ${shape.join("x")}`,
    );
  }
  const maxPixels = parseMaxPixels(values["max-pixels"]);
  const crop: [number, number] = nhwc ? [shape[1], shape[2]] : [shape[2], shape[3]];
  let size = crop;
  if (values.size !== undefined) {
    const m = /^(\d+)x(\d+)$/i.exec(values.size.trim());
    if (!m || Number(m[1]) < crop[0] || Number(m[2]) < crop[1]) {
      throw new UsageError(
        `Invalid --size "${values.size}": expected HxW of at least the model's input ${crop[0]}x${
          crop[1]
        }, e.g. ${crop[0] + 32}x${crop[1] + 32} (then center-cropped)`,
      );
    }
    size = [Number(m[1]), Number(m[2])];
    if (size[0] * size[1] > maxPixels) {
      throw new UsageError(
        `Invalid --size "${values.size}": ${
          (size[0] * size[1]).toLocaleString("en-US")
        } pixels, above the limit of ${
          maxPixels.toLocaleString("en-US")
        } (--max-pixels N raises it)`,
      );
    }
  }
  const order = values["channel-order"] ?? "rgb";
  if (order !== "rgb" && order !== "bgr") {
    throw new UsageError(`Invalid --channel-order "${order}": expected rgb or bgr`);
  }
  const chw = await loadImageTensor(values.image, {
    size,
    mean: triple(values.mean, "--mean", false),
    std: triple(values.std, "--std", true),
    channelOrder: order,
    crop,
    maxPixels,
  });
  if (!nhwc) return chw;
  const plane = crop[0] * crop[1];
  const hwc = new Float32Array(chw.length);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) hwc[i * 3 + c] = chw[c * plane + i];
  }
  return hwc;
}

/**
 * Class names from `--labels` (undefined without it); with `classes`, throws
 * unless the file has exactly one line per class (a blank trailing line is
 * fine), naming the file and both counts.
 */
export async function readLabels(
  path: string | undefined,
  classes?: number,
): Promise<string[] | undefined> {
  if (path === undefined) return undefined;
  const labels = parseLabels(await readTextFileOrThrow(path, "--labels"));
  if (classes !== undefined && labels.length !== classes) {
    throw new Error(
      `Labels file "${path}" has ${labels.length} lines, expected ${classes} (one per class of the model)`,
    );
  }
  return labels;
}

/**
 * Lines naming the top classes: index, label when known (sanitized), score
 * and probability: the softmax of the scores, or the score itself when the
 * model's output already is one (`probabilities`, a Softmax at its end).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTopClasses } from "./_image.ts";
 * assert.deepEqual(formatTopClasses([0.25, 0.75], 1, ["a", "b\u001b"], true), [
 *   "  class    1  0.750000  p=0.7500  b\\e",
 * ]);
 * ```
 */
export function formatTopClasses(
  scores: ArrayLike<number>,
  k: number,
  labels?: string[],
  probabilities = false,
): string[] {
  return topClasses(scores, k, labels, probabilities).map(
    ({ index, score, probability, label }) =>
      `  class ${String(index).padStart(4)}  ${score.toFixed(6)}  p=${probability.toFixed(4)}${
        label !== undefined ? `  ${sanitize(label)}` : ""
      }`,
  );
}
