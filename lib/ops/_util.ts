/**
 * Helpers the op records share: shape checks, attribute checks and the
 * element-wise kernel.
 *
 * @module
 */

import { type HW, type Pads, type Shape, ShapeError, windowOutSize } from "./core.ts";

export function need4d(node: string, shape: Shape, what = "input"): void {
  if (shape.length !== 4) {
    throw new ShapeError(
      node,
      `${what} has shape [${shape.join(", ")}], expected a 4-D [N, C, H, W] tensor`,
    );
  }
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function windowShape(
  node: string,
  what: string,
  x: Shape,
  outChannels: number,
  kernel: HW,
  stride: HW,
  padding: Pads,
  dilation: HW,
  ceilMode: boolean,
): Shape {
  const [n, , h, w] = x;
  const effH = dilation[0] * (kernel[0] - 1) + 1;
  const effW = dilation[1] * (kernel[1] - 1) + 1;
  const padH = h + padding[0] + padding[2];
  const padW = w + padding[1] + padding[3];
  if (effH > padH || effW > padW) {
    throw new ShapeError(
      node,
      `${what} window ${effH}x${effW} is larger than the padded input ${padH}x${padW}`,
    );
  }
  const oh = windowOutSize(h, kernel[0], stride[0], padding[0], padding[2], dilation[0], ceilMode);
  const ow = windowOutSize(w, kernel[1], stride[1], padding[1], padding[3], dilation[1], ceilMode);
  return [n, outChannels, oh, ow];
}

export function positive(node: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) {
    throw new RangeError(`Invalid "${node}": ${what} must be a positive integer, got ${v}`);
  }
}

export function nonNegative(node: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`Invalid "${node}": ${what} must be a non-negative integer, got ${v}`);
  }
}

/** Applies `f` to every element of the single input. */
export function elementwise(x: Float32Array, f: (v: number) => number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  return y;
}

/** A parameter tensor of a node; the weights were checked before any kernel ran. */
export function param(
  weights: ReadonlyMap<string, Float32Array>,
  node: { name: string },
  name: string,
): Float32Array {
  return weights.get(`${node.name}.${name}`)!;
}
