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
import { interior } from "../_window.ts";
import type { DwconvSpec } from "../spec.ts";
import {
  bump,
  counted,
  locals,
  madd,
  R,
  setPlus,
  simdEpilogue,
  storeEpilogue,
  W,
  type WasmEmitter,
  type WasmOptions,
  X,
  Y,
} from "./_simd.ts";

/** Most taps kept in registers; a larger window splats its weights from memory at each use. */
const MAX_REGISTER_TAPS = 9;

function validTaps(
  o: number,
  kernel: number,
  stride: number,
  pad: number,
  dil: number,
  size: number,
) {
  const out: number[] = [];
  for (let k = 0; k < kernel; k++) {
    const i = o * stride - pad + k * dil;
    if (i >= 0 && i < size) out.push(k);
  }
  return out;
}

function body(s: DwconvSpec, f: Fn, o: WasmOptions): void {
  const { win } = s;
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh] = win.dilation;
  const [pt, pl] = win.padding;
  const kk = kh * kw;
  const [oy0, oy1, ox0, ox1] = interior(win);
  const vectorCols = ox1 - ox0 >= 4;
  const inRegs = kk <= MAX_REGISTER_TAPS;

  const b = f.local(V128);
  const ws = inRegs ? locals(f, V128, kk) : [];
  const [xr, yr, rr, xv, yv, rv] = locals(f, I32, 6);
  const acc = f.local(V128);
  const tmp = f.local(V128);
  const wtmp = f.local(V128);
  const pairs = locals(f, V128, 2 * Math.ceil((kw + 1) / 2));
  const sacc = f.local(F32);

  /** Four outputs at `yv` from the input row pointer `xv` (column `ox * sw - pl`). */
  const vector = (kys: number[]) => {
    f.localGet(b).localSet(acc);
    /** The weight of tap `(ky, kx)` as a v128 local. */
    const tap = (ky: number, kx: number): number => {
      if (inRegs) return ws[ky * kw + kx];
      f.localGet(W).v128Load32Splat(4 * (1 + ky * kw + kx)).localSet(wtmp);
      return wtmp;
    };
    for (const ky of kys) {
      const row = ky * dh * win.w;
      if (sw === 1) {
        for (let kx = 0; kx < kw; kx++) {
          const wv = tap(ky, kx);
          f.localGet(xv).v128Load(4 * (row + kx)).localSet(tmp);
          madd(f, o, tmp, wv, acc);
        }
        continue;
      }
      // Stride 2: a pair of loads at column `p` (even) holds taps p (even lanes) and p + 1 (odd lanes).
      for (let p = 0; p < kw; p += 2) {
        const k = p / 2;
        f.localGet(xv).v128Load(4 * (row + p)).localSet(pairs[2 * k]);
        f.localGet(xv).v128Load(4 * (row + p + 4)).localSet(pairs[2 * k + 1]);
      }
      for (let kx = 0; kx < kw; kx++) {
        const k = Math.floor(kx / 2);
        const wv = tap(ky, kx);
        f.localGet(pairs[2 * k]).localGet(pairs[2 * k + 1]);
        f.f32x4Shuffle(kx % 2 === 0 ? [0, 2, 4, 6] : [1, 3, 5, 7]).localSet(tmp);
        madd(f, o, tmp, wv, acc);
      }
    }
    storeEpilogue(f, s.epi, acc, true, yv, 0, rv, 0);
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

  /** One output row at `xr` (input row `oy * sh - pt`), `yr`, `rr`. */
  const row = (kys: number[]) => {
    if (vectorCols) {
      const nv = Math.floor((ox1 - ox0) / 4);
      setPlus(f, xv, xr, 4 * (ox0 * sw - pl));
      setPlus(f, yv, yr, 4 * ox0);
      setPlus(f, rv, rr, 4 * ox0);
      counted(f, nv, () => {
        vector(kys);
        bump(f, xv, 16 * sw);
        bump(f, yv, 16);
        bump(f, rv, 16);
      });
      if ((ox1 - ox0) % 4 !== 0) {
        setPlus(f, xv, xr, 4 * ((ox1 - 4) * sw - pl));
        setPlus(f, yv, yr, 4 * (ox1 - 4));
        setPlus(f, rv, rr, 4 * (ox1 - 4));
        vector(kys);
      }
    }
    for (let ox = 0; ox < win.ow; ox++) {
      if (vectorCols && ox >= ox0 && ox < ox1) continue;
      scalar(kys, ox);
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
      rowsAt(oy0);
      counted(f, oy1 - oy0, () => {
        row(allY);
        bump(f, xr, 4 * sh * win.w);
        bump(f, yr, 4 * win.ow);
        bump(f, rr, 4 * win.ow);
      });
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
    if (!simdEpilogue(s.epi)) return "a sigmoid epilogue";
    return undefined;
  },
  body,
};
