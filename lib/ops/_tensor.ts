/**
 * Index arithmetic the op records share: row-major strides, axes counted
 * from the end, numpy broadcasting.
 *
 * @module
 */

import { formatShape, numel, type Shape, ShapeError } from "./core.ts";

/** Row-major strides of a shape (elements). */
export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** `axis` of a rank-`rank` tensor as `0..rank-1` (negative counts from the end), or a ShapeError. */
export function resolveAxis(node: string, what: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(
      node,
      `${what} ${axis} is out of range for a rank-${rank} tensor, expected ${-rank}..${rank - 1}`,
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/** The same as {@link resolveAxis} for shapes already checked by the shape rule. */
export function axisOf(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/**
 * `[outer, size, inner]` around `axis`: the product of the dims before it,
 * the axis, the product of the dims after it.
 */
export function around(shape: Shape, axis: number): [number, number, number] {
  return [numel(shape.slice(0, axis)), shape[axis], numel(shape.slice(axis + 1))];
}

/** Checks a rank is 1..5, the ranks every element-wise and shape op supports. */
export function checkRank(node: string, what: string, shape: Shape): void {
  if (shape.length < 1 || shape.length > 5) {
    throw new ShapeError(
      node,
      `${what} has shape [${shape.join(", ")}], expected a tensor of rank 1 to 5`,
    );
  }
}

/**
 * The shape rule of an op with a `[channels]` parameter on axis 1 (prelu,
 * affine): the input's own shape, whose axis 1 must hold `channels` elements
 * unless `channels` is 1 (one value for every element).
 */
export function perChannelShape(node: string, kind: string, channels: number, x: Shape): Shape {
  checkRank(node, "input", x);
  if (channels !== 1 && (x.length < 2 || x[1] !== channels)) {
    throw new ShapeError(
      node,
      `input ${formatShape(x)} has ${
        x[1] ?? "no"
      } channels on axis 1, expected ${channels} (or ${kind} channels 1)`,
    );
  }
  return x;
}

/**
 * The channel (index on axis 1) of element `i` of a row-major tensor of shape
 * `xs`, for a parameter of `channels` values (`channels` 1: always 0).
 */
export function channelIndex(xs: Shape, channels: number): (i: number) => number {
  if (channels === 1) return () => 0;
  const inner = numel(xs.slice(2));
  return (i) => Math.floor(i / inner) % channels;
}

/**
 * numpy broadcasting of two shapes: aligned from the right, each pair of
 * dims equal or one of them 1.
 */
export function broadcastShape(node: string, kind: string, a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        node,
        `${kind} of shapes ${formatShape(a)} and ${
          formatShape(b)
        } that do not broadcast: axis ${i} of the result is ${da} vs ${db}, expected equal sizes or 1`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` read as the broadcast shape `out`: 0 on broadcast axes. */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const s = strides(shape);
  return out.map((_, i) => {
    const j = i - (out.length - shape.length);
    return j < 0 || shape[j] === 1 ? 0 : s[j];
  });
}

/**
 * Calls `visit(o, offsets)` for every output index `o` in row-major order,
 * `offsets[k]` being the flat element of operand `k` (read with `operandStrides[k]`).
 */
export function forEachIndex(
  out: Shape,
  operandStrides: readonly number[][],
  visit: (o: number, offsets: number[]) => void,
): void {
  const total = numel(out);
  const rank = out.length;
  const idx = new Array<number>(rank).fill(0);
  const offsets = operandStrides.map(() => 0);
  for (let o = 0; o < total; o++) {
    visit(o, offsets);
    // Advance the odometer and each operand's offset with it.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offsets.length; k++) offsets[k] += operandStrides[k][d];
      if (idx[d] < out[d]) break;
      for (let k = 0; k < offsets.length; k++) offsets[k] -= operandStrides[k][d] * out[d];
      idx[d] = 0;
    }
  }
}
