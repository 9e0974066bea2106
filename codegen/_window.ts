/**
 * Interior / border split of a sliding window: the output rows and columns
 * whose whole window lies inside the input, so their loads need no bounds
 * checks and their window can be fully unrolled; the remaining (border)
 * outputs take a checked loop.
 *
 * @module
 */

import type { CodeBlockWriter } from "ts-morph";
import { block } from "./_emit.ts";
import type { Window } from "./spec.ts";

/** Output index range `[lo, hi)` whose windows lie inside `[0, size)` along one axis. */
export function interiorRange(
  size: number,
  out: number,
  kernel: number,
  stride: number,
  padBegin: number,
  dilation: number,
): [number, number] {
  const lo = Math.min(out, Math.ceil(padBegin / stride));
  const last = size - 1 - (kernel - 1) * dilation + padBegin;
  const hi = last < 0 ? lo : Math.min(out, Math.floor(last / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** Interior rows and columns of a window: `[oy0, oy1, ox0, ox1]`. */
export function interior(win: Window): [number, number, number, number] {
  const [oy0, oy1] = interiorRange(
    win.h,
    win.oh,
    win.kernel[0],
    win.stride[0],
    win.padding[0],
    win.dilation[0],
  );
  const [ox0, ox1] = interiorRange(
    win.w,
    win.ow,
    win.kernel[1],
    win.stride[1],
    win.padding[1],
    win.dilation[1],
  );
  return [oy0, oy1, ox0, ox1];
}

/**
 * Window taps `k` along one axis whose input index `o * stride - pad + k *
 * dilation` lies in `[0, size)` for output `o`: the taps a border output
 * keeps (every target's kernels unroll only these).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validTaps } from "./_window.ts";
 * // 3 taps, stride 1, padding 1: output 0 reads input -1 (dropped), 0 and 1.
 * assert.deepEqual(validTaps(0, 3, 1, 1, 1, 5), [1, 2]);
 * ```
 */
export function validTaps(
  o: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
  size: number,
): number[] {
  const out: number[] = [];
  for (let k = 0; k < kernel; k++) {
    const i = o * stride - pad + k * dilation;
    if (i >= 0 && i < size) out.push(k);
  }
  return out;
}

/**
 * Writes a loop over every border output `(oy, ox)` of one plane; `pixel`
 * writes the body for one output. Interior outputs are skipped in one jump
 * per row.
 */
export function writeBorderLoop(w: CodeBlockWriter, win: Window, pixel: () => void): void {
  const [oy0, oy1, ox0, ox1] = interior(win);
  const hasInterior = oy0 < oy1 && ox0 < ox1;
  if (hasInterior && oy0 === 0 && oy1 === win.oh && ox0 === 0 && ox1 === win.ow) return;
  block(w, `for (let oy = 0; oy < ${win.oh}; oy++)`, () => {
    if (hasInterior) w.writeLine(`const inner = oy >= ${oy0} && oy < ${oy1};`);
    block(w, `for (let ox = 0; ox < ${win.ow}; ox++)`, () => {
      if (hasInterior) {
        block(w, `if (inner && ox === ${ox0})`, () => {
          w.writeLine(`ox = ${ox1 - 1};`);
          w.writeLine("continue;");
        });
      }
      pixel();
    });
  });
}
