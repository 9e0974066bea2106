/**
 * Max and average pooling as a WebAssembly SIMD kernel, laid out like the
 * depthwise kernel: four outputs of a row per f32x4 over the interior
 * (stride 1 or 2; even/odd lane splits at stride 2), scalar border outputs
 * with their window clipped as the reference executor clips it (PyTorch's
 * rules: a max ignores padding; an average divides by the clipped padded
 * window, or by the covered inputs without `countIncludePad`), divisors
 * computed at generation time.
 *
 * @module
 */

import { F32, type Fn, I32, V128 } from "./binary.ts";
import { interior, validTaps } from "../_window.ts";
import type { PoolSpec } from "../spec.ts";
import { bump, counted, locals, setPlus, type WasmEmitter, X, Y } from "./_simd.ts";

function body(s: PoolSpec, f: Fn): void {
  const { win } = s;
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [pt, pl, pb, pr] = win.padding;
  const isMax = s.family === "maxpool";
  const [oy0, oy1, ox0, ox1] = interior(win);
  const vectorCols = sw <= 2 && ox1 - ox0 >= 4;
  const [xr, yr, xv, yv] = locals(f, I32, 4);
  const acc = f.local(V128);
  const tmp = f.local(V128);
  const sacc = f.local(F32);
  const pairs = locals(f, V128, 2 * Math.ceil((kw + 1) / 2));

  const combine = (vector: boolean) => {
    if (vector) isMax ? f.f32x4Max() : f.f32x4Add();
    else isMax ? f.f32Max() : f.f32Add();
  };

  const vector = () => {
    let first = true;
    for (let ky = 0; ky < kh; ky++) {
      const row = ky * win.w;
      if (sw === 2) {
        for (let p = 0; p < kw; p += 2) {
          f.localGet(xv).v128Load(4 * (row + p)).localSet(pairs[p]);
          f.localGet(xv).v128Load(4 * (row + p + 4)).localSet(pairs[p + 1]);
        }
      }
      for (let kx = 0; kx < kw; kx++) {
        if (sw === 1) f.localGet(xv).v128Load(4 * (row + kx));
        else {
          const p = kx - (kx % 2);
          f.localGet(pairs[p]).localGet(pairs[p + 1]);
          f.f32x4Shuffle(kx % 2 === 0 ? [0, 2, 4, 6] : [1, 3, 5, 7]);
        }
        if (first) f.localSet(acc);
        else f.localSet(tmp), f.localGet(acc).localGet(tmp), combine(true), f.localSet(acc);
        first = false;
      }
    }
    f.localGet(yv).localGet(acc);
    if (!isMax) f.v128Const([kh * kw, kh * kw, kh * kw, kh * kw]).f32x4Div();
    f.v128Store(0);
  };

  /** The divisor of an average at output `(oy, ox)`, as the reference executor computes it. */
  const divisor = (oy: number, ox: number, taps: number) => {
    if (!s.countIncludePad) return taps;
    const y0 = oy * sh - pt;
    const x0 = ox * sw - pl;
    return (Math.min(y0 + kh, win.h + pb) - y0) * (Math.min(x0 + kw, win.w + pr) - x0);
  };

  /** Output `(oy, ox)` (oy only for its divisor: interior rows share one) from the row at `xr`. */
  const scalar = (kys: number[], oy: number, ox: number) => {
    const kxs = validTaps(ox, kw, sw, pl, 1, win.w);
    let first = true;
    for (const ky of kys) {
      for (const kx of kxs) {
        f.localGet(xr).f32Load(4 * (ky * win.w + ox * sw - pl + kx));
        if (!first) combine(false);
        first = false;
      }
    }
    if (first) f.f32Const(isMax ? -Infinity : 0);
    if (!isMax) f.f32Const(divisor(oy, ox, kys.length * kxs.length)).f32Div();
    f.localSet(sacc);
    f.localGet(yr).localGet(sacc).f32Store(4 * ox);
  };

  const row = (kys: number[], oy: number) => {
    if (vectorCols && kys.length === kh) {
      setPlus(f, xv, xr, 4 * (ox0 * sw - pl));
      setPlus(f, yv, yr, 4 * ox0);
      counted(f, Math.floor((ox1 - ox0) / 4), () => {
        vector();
        bump(f, xv, 16 * sw);
        bump(f, yv, 16);
      });
      if ((ox1 - ox0) % 4 !== 0) {
        setPlus(f, xv, xr, 4 * ((ox1 - 4) * sw - pl));
        setPlus(f, yv, yr, 4 * (ox1 - 4));
        vector();
      }
    }
    for (let ox = 0; ox < win.ow; ox++) {
      if (vectorCols && kys.length === kh && ox >= ox0 && ox < ox1) continue;
      scalar(kys, oy, ox);
    }
  };

  const rowsAt = (oy: number) => {
    setPlus(f, xr, X, 4 * (oy * sh - pt) * win.w);
    setPlus(f, yr, Y, 4 * oy * win.ow);
  };

  counted(f, s.c, () => {
    const allY = Array.from({ length: kh }, (_, k) => k);
    for (let oy = 0; oy < win.oh; oy++) {
      if (oy >= oy0 && oy < oy1) continue;
      rowsAt(oy);
      row(validTaps(oy, kh, sh, pt, 1, win.h), oy);
    }
    if (oy1 > oy0) {
      rowsAt(oy0);
      counted(f, oy1 - oy0, () => {
        row(allY, oy0);
        bump(f, xr, 4 * sh * win.w);
        bump(f, yr, 4 * win.ow);
      });
    }
    bump(f, X, 4 * s.xcs);
    bump(f, Y, 4 * s.ycs);
  });
}

/** The max/average pooling WebAssembly emitter. */
export const poolWasm: WasmEmitter<PoolSpec> = {
  body: (s, f) => body(s, f),
};
