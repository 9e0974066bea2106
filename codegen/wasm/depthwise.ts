/**
 * Depthwise convolution as a WebAssembly SIMD kernel, NCHW, vectorized along
 * output rows: four neighbouring outputs of a row per f32x4, the window's
 * weights splatted into registers once per channel. At stride 1 each tap is
 * one unaligned load; at stride 2 two loads per pair of taps are split into
 * even and odd lanes with shuffles. Rows whose window leaves the input at the
 * top or bottom are emitted one by one with only their in-range window rows;
 * columns whose window leaves the input at the left or right, and rows too
 * narrow for a vector, take scalar code with only their in-range taps. A row
 * whose interior width is not a multiple of 4 ends with a vector that
 * overlaps the one before it.
 *
 * Packed weights: as the TypeScript kernel, `[bias, w(0,0), ..., w(kh-1,kw-1)]`
 * per channel.
 *
 * @module
 */

import { F32, type Fn, I32, V128 } from "./binary.ts";
import { interior, validTaps } from "../_window.ts";
import type { DwconvSpec } from "../spec.ts";
import {
  bump,
  counted,
  locals,
  madd,
  R,
  setPlus,
  storeEpilogue,
  W,
  type WasmEmitter,
  type WasmOptions,
  X,
  Y,
} from "./_simd.ts";

/** Most taps kept in registers; a larger window splats its weights from memory at each use. */
const MAX_REGISTER_TAPS = 9;

function body(s: DwconvSpec, f: Fn, o: WasmOptions): void {
  const { win } = s;
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh] = win.dilation;
  const [pt, pl] = win.padding;
  const kk = kh * kw;
  const [oy0, oy1, ox0, ox1] = interior(win);
  const inRegs = kk <= MAX_REGISTER_TAPS;

  const b = f.local(V128);
  const ws = inRegs ? locals(f, V128, kk) : [];
  const [xr, yr, rr, xv, yv, rv] = locals(f, I32, 6);
  const acc = f.local(V128);
  const tmp = f.local(V128);
  const wtmp = f.local(V128);
  const pairs = locals(f, V128, 2 * Math.ceil((kw + 1) / 2));
  const sacc = f.local(F32);

  const acc2 = f.local(V128);
  /** The weight of tap `(ky, kx)` as a v128 local. */
  const tap = (ky: number, kx: number): number => {
    if (inRegs) return ws[ky * kw + kx];
    f.localGet(W).v128Load32Splat(4 * (1 + ky * kw + kx)).localSet(wtmp);
    return wtmp;
  };

  /**
   * Four outputs of each of `n` (1 or 2) consecutive output rows at `yv` (and
   * one output row below), from the input row pointer `xv` (column
   * `ox * sw - pl` of input row `oy * sh - pt`). Input rows are walked once:
   * each loaded vector feeds every output row whose window covers it (two
   * output rows at stride 1 share two of their three input rows).
   */
  const vector = (kys: number[], n = 1, ox?: number) => {
    /**
     * Lanes of tap column `kx` whose input column lies inside the row, for
     * a vector at a known column `ox` (a border vector); all four otherwise.
     */
    const lanes = (kx: number) =>
      [0, 1, 2, 3].map((q) => {
        if (ox === undefined) return true;
        const col = (ox + q) * sw - pl + kx;
        return col >= 0 && col < win.w;
      });
    /** Zeroes the lanes of `tmp` that read outside the row (padding). */
    const mask = (valid: boolean[]) => {
      if (valid.every((v) => v)) return;
      f.localGet(tmp).v128Const([0, 0, 0, 0]);
      f.f32x4Shuffle(valid.map((v, q) => (v ? q : 4)) as [number, number, number, number]);
      f.localSet(tmp);
    };
    const accs = [acc, acc2].slice(0, n);
    for (const a of accs) f.localGet(b).localSet(a);
    // input row offset (in rows from the first output row's window top) -> [acc, ky] uses
    const uses = new Map<number, [number, number][]>();
    accs.forEach((a, q) => {
      for (const ky of kys) {
        const r = q * sh + ky * dh;
        uses.set(r, [...(uses.get(r) ?? []), [a, ky]]);
      }
    });
    for (const r of [...uses.keys()].sort((x, y) => x - y)) {
      const row = r * win.w;
      const users = uses.get(r)!;
      if (sw === 1) {
        for (let kx = 0; kx < kw; kx++) {
          const valid = lanes(kx);
          if (!valid.some((v) => v)) continue;
          f.localGet(xv).v128Load(4 * (row + kx)).localSet(tmp);
          mask(valid);
          for (const [a, ky] of users) madd(f, o, tmp, tap(ky, kx), a);
        }
        continue;
      }
      // Stride 2: a pair of loads at column `p` (even) holds taps p (even lanes) and p + 1 (odd lanes).
      for (let p = 0; p < kw; p += 2) {
        f.localGet(xv).v128Load(4 * (row + p)).localSet(pairs[p]);
        f.localGet(xv).v128Load(4 * (row + p + 4)).localSet(pairs[p + 1]);
      }
      for (let kx = 0; kx < kw; kx++) {
        const p = kx - (kx % 2);
        f.localGet(pairs[p]).localGet(pairs[p + 1]);
        f.f32x4Shuffle(kx % 2 === 0 ? [0, 2, 4, 6] : [1, 3, 5, 7]).localSet(tmp);
        mask(lanes(kx));
        for (const [a, ky] of users) madd(f, o, tmp, tap(ky, kx), a);
      }
    }
    accs.forEach((a, q) =>
      storeEpilogue(f, s.epi, a, true, yv, 4 * q * win.ow, rv, 4 * q * win.ow)
    );
  };

  /** One output at column `ox` of the row at `xr` / `yr` / `rr`, scalar. */
  const scalar = (kys: number[], ox: number) => {
    const kxs = validTaps(ox, kw, sw, pl, 1, win.w);
    f.localGet(W).f32Load(0).localSet(sacc);
    for (const ky of kys) {
      for (const kx of kxs) {
        f.localGet(xr).f32Load(4 * (ky * dh * win.w + ox * sw - pl + kx));
        f.localGet(W).f32Load(4 * (1 + ky * kw + kx)).f32Mul();
        f.localGet(sacc).f32Add().localSet(sacc);
      }
    }
    storeEpilogue(f, s.epi, sacc, false, yr, 4 * ox, rr, 4 * ox);
  };

  /**
   * `n` (1 or 2) output rows at `xr` (input row `oy * sh - pt`), `yr`, `rr`;
   * the pointers move down `n` rows.
   */
  const row = (kys: number[], n = 1) => {
    if (win.ow >= 4) {
      // Border vectors (static, their padded taps masked), a loop over the
      // interior ones, then one last border vector overlapping the one before.
      const at = (ox: number) => {
        setPlus(f, xv, xr, 4 * (ox * sw - pl));
        setPlus(f, yv, yr, 4 * ox);
        setPlus(f, rv, rr, 4 * ox);
      };
      let ox = 0;
      for (; ox < ox0 && ox < win.ow; ox += 4) {
        at(Math.min(ox, win.ow - 4));
        vector(kys, n, Math.min(ox, win.ow - 4));
      }
      const clean = ox1 > ox ? Math.floor((ox1 - ox) / 4) : 0;
      if (clean > 0) {
        at(ox);
        counted(f, clean, () => {
          vector(kys, n);
          bump(f, xv, 16 * sw);
          bump(f, yv, 16);
          bump(f, rv, 16);
        });
        ox += 4 * clean;
      }
      if (ox < win.ow) {
        at(win.ow - 4);
        vector(kys, n, win.ow - 4);
      }
    }
    for (let q = 0; q < n; q++) {
      for (let ox = 0; win.ow < 4 && ox < win.ow; ox++) scalar(kys, ox);
      bump(f, xr, 4 * sh * win.w);
      bump(f, yr, 4 * win.ow);
      bump(f, rr, 4 * win.ow);
    }
  };

  const rowsAt = (oy: number) => {
    setPlus(f, xr, X, 4 * (oy * sh - pt) * win.w);
    setPlus(f, yr, Y, 4 * oy * win.ow);
    setPlus(f, rr, R, 4 * oy * win.ow);
  };

  counted(f, s.c, () => {
    f.localGet(W).v128Load32Splat(0).localSet(b);
    for (let k = 0; k < ws.length; k++) f.localGet(W).v128Load32Splat(4 * (1 + k)).localSet(ws[k]);
    const allY = Array.from({ length: kh }, (_, k) => k);
    for (let oy = 0; oy < win.oh; oy++) {
      if (oy >= oy0 && oy < oy1) continue;
      rowsAt(oy);
      row(validTaps(oy, kh, sh, pt, dh, win.h));
    }
    if (oy1 > oy0) {
      // Interior rows two at a time, then the odd one.
      rowsAt(oy0);
      counted(f, Math.floor((oy1 - oy0) / 2), () => row(allY, 2));
      if ((oy1 - oy0) % 2 === 1) row(allY);
    }
    bump(f, X, 4 * s.xcs);
    bump(f, Y, 4 * s.ycs);
    bump(f, R, 4 * s.rcs);
    bump(f, W, 4 * (1 + kk));
  });
}

/** The depthwise WebAssembly emitter. */
export const dwconvWasm: WasmEmitter<DwconvSpec> = {
  unsupported(s) {
    if (s.win.stride[1] > 2) return `horizontal stride ${s.win.stride[1]} > 2`;
    if (s.win.dilation[1] !== 1) return `horizontal dilation ${s.win.dilation[1]}`;
    return undefined;
  },
  body,
};
