/**
 * A plain tensor (`shape` plus row-major `Float32Array` data) and the helpers
 * every comparison of two executors needs: top-k classes, the largest
 * absolute difference, the relative error, and seeded random inputs.
 *
 * @module
 */

import { formatShape, numel, type Shape } from "../ir/ops.ts";
import { mulberry32 } from "./weights.ts";

/** A dense row-major tensor: NCHW feature maps, or `[N, F]` features. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** One entry of a top-k list: class index and its score. */
export interface Scored {
  index: number;
  value: number;
}

/**
 * Builds a {@link Tensor}, checking that `data` has `numel(shape)` elements.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor } from "./tensor.ts";
 * assert.deepEqual(tensor([1, 2], new Float32Array([3, 4])).shape, [1, 2]);
 * assert.throws(() => tensor([2, 2], new Float32Array(3)), /has 3 elements, expected 2x2 = 4/);
 * ```
 */
export function tensor(shape: Shape, data: Float32Array): Tensor {
  const n = numel(shape);
  if (data.length !== n) {
    throw new TypeError(
      `Tensor data has ${data.length} elements, expected ${formatShape(shape)} = ${n}`,
    );
  }
  return { shape: [...shape], data };
}

/**
 * The `k` largest scores, largest first; ties keep the lower index first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topK } from "./tensor.ts";
 * const s = new Float32Array([0.1, 0.5, 0.2, 0.5]);
 * assert.deepEqual(topK(s, 2).map((e) => e.index), [1, 3]);
 * ```
 */
export function topK(scores: ArrayLike<number>, k: number): Scored[] {
  if (!Number.isInteger(k) || k < 0) {
    throw new RangeError(`Invalid k "${k}": expected a non-negative integer`);
  }
  const all: Scored[] = [];
  for (let i = 0; i < scores.length; i++) all.push({ index: i, value: scores[i] });
  // NaN sorts last so a broken score never looks like the winner.
  const key = (v: number) => (Number.isNaN(v) ? -Infinity : v);
  all.sort((a, b) => key(b.value) - key(a.value) || a.index - b.index);
  return all.slice(0, k);
}

/** Index of the largest score (the first one on ties); -1 for an empty array. */
export function argmax(scores: ArrayLike<number>): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    if (best === -1 || scores[i] > bestValue) {
      best = i;
      bestValue = scores[i];
    }
  }
  return best;
}

function sameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) {
    throw new TypeError(`Cannot compare arrays of ${a.length} and ${b.length} elements`);
  }
}

/**
 * `max |a[i] - b[i]|`. NaN anywhere in either array gives NaN, so an output
 * element left unwritten in a NaN-filled buffer fails any `<= tol` check.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxAbsDiff } from "./tensor.ts";
 * assert.equal(maxAbsDiff([1, 2, 3], [1, 2.5, 2]), 1);
 * assert.ok(Number.isNaN(maxAbsDiff([NaN, 0], [0, 0])));
 * ```
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  sameLength(a, b);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}

/** `max |a[i]|` (NaN if any element is NaN). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}

/**
 * Relative error of `actual` against `expected`:
 * `maxAbsDiff(actual, expected) / maxAbs(expected)`. An all-zero `expected`
 * gives 0 when `actual` is all zero too, else Infinity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relativeError } from "./tensor.ts";
 * // max diff 0.5, max |expected| 10
 * assert.equal(relativeError([10, 1.5], [10, 1]), 0.05);
 * ```
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  const diff = maxAbsDiff(actual, expected);
  const scale = maxAbs(expected);
  if (Number.isNaN(diff) || Number.isNaN(scale)) return NaN;
  if (scale === 0) return diff === 0 ? 0 : Infinity;
  return diff / scale;
}

/**
 * A seeded input of `numel(shape)` values uniform in `[lo, hi]` (mulberry32;
 * float32 rounding can reach `hi`), the same on every run and machine for the
 * same seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomInput } from "./tensor.ts";
 * const x = randomInput([1, 3, 4, 4], 42);
 * assert.equal(x.length, 48);
 * assert.deepEqual(x, randomInput([1, 3, 4, 4], 42));
 * assert.ok(x.every((v) => v >= -1 && v <= 1));
 * ```
 */
export function randomInput(shape: Shape, seed: number, lo = -1, hi = 1): Float32Array {
  const rand = mulberry32(seed);
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rand();
  return data;
}
