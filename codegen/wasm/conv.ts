/**
 * General and grouped convolution (any kernel, vertical stride and dilation;
 * horizontal stride 1 or 2, horizontal dilation 1) as a WebAssembly SIMD
 * kernel, NCHW: output rows outermost (so the input rows a row reads stay in
 * cache across output-channel blocks), then blocks of up to 8 output
 * channels, then four neighbouring outputs of the row per f32x4, reducing over
 * input channels (a loop) and the window taps (unrolled, literal offsets).
 * At stride 2 the taps of a window row come from pairs of loads split into
 * even and odd lanes. Border rows keep only their in-range window rows;
 * border columns (and rows too narrow for a vector) are scalar with only their
 * in-range taps.
 *
 * Packed weights: as the TypeScript kernel with blocks of {@link CONV_OB}:
 * per group, per block of `ob` output channels, `[bias(ob)]
 * [cin/groups][kh][kw][ob]`.
 *
 * @module
 */

import { F32, type Fn, I32, V128 } from "./binary.ts";
import { interior, validTaps } from "../_window.ts";
import { CV_OB } from "../emit_conv.ts";
import type { ConvSpec } from "../spec.ts";
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
import { repackBlocks } from "./pointwise.ts";

/** Output channels per register block (8 accumulators of 4 outputs). */
export const CONV_OB = 8;

function body(s: ConvSpec, f: Fn, o: WasmOptions): void {
  const { win } = s;
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh] = win.dilation;
  const [pt, pl] = win.padding;
  const kk = kh * kw;
  const cinG = s.cin / s.groups;
  const coutG = s.cout / s.groups;
  const K = cinG * kk;
  const OB = Math.min(CONV_OB, coutG);
  const [oy0, oy1, ox0, ox1] = interior(win);
  const vectorCols = ox1 - ox0 >= 4;

  const [xr, yr, rr, wb, yb, rb, xv, yv, rv, xc, wc] = locals(f, I32, 11);
  const acc = locals(f, V128, OB);
  const sacc = locals(f, F32, OB);
  const tmp = f.local(V128);
  const wtmp = f.local(V128);
  const ftmp = f.local(F32);
  const pairs = locals(f, V128, 2 * Math.ceil((kw + 1) / 2));
  const wOff = (ob: number, ky: number, kx: number, j: number) =>
    4 * (ob + (ky * kw + kx) * ob + j);

  /** `ob` output channels x 4 outputs at `yv`, input at `xv` (column `ox * sw - pl`). */
  const vector = (ob: number, kys: number[]) => {
    for (let j = 0; j < ob; j++) f.localGet(wb).v128Load32Splat(4 * j).localSet(acc[j]);
    f.localGet(xv).localSet(xc);
    f.localGet(wb).localSet(wc);
    counted(f, cinG, () => {
      for (const ky of kys) {
        const row = ky * dh * win.w;
        if (sw === 2) {
          for (let p = 0; p < kw; p += 2) {
            f.localGet(xc).v128Load(4 * (row + p)).localSet(pairs[p]);
            f.localGet(xc).v128Load(4 * (row + p + 4)).localSet(pairs[p + 1]);
          }
        }
        for (let kx = 0; kx < kw; kx++) {
          if (sw === 1) f.localGet(xc).v128Load(4 * (row + kx)).localSet(tmp);
          else {
            const p = kx - (kx % 2);
            f.localGet(pairs[p]).localGet(pairs[p + 1]);
            f.f32x4Shuffle(kx % 2 === 0 ? [0, 2, 4, 6] : [1, 3, 5, 7]).localSet(tmp);
          }
          for (let j = 0; j < ob; j++) {
            f.localGet(wc).v128Load32Splat(wOff(ob, ky, kx, j)).localSet(wtmp);
            madd(f, o, tmp, wtmp, acc[j]);
          }
        }
      }
      bump(f, xc, 4 * s.xcs);
      bump(f, wc, 4 * kk * ob);
    });
    for (let j = 0; j < ob; j++) {
      storeEpilogue(f, s.epi, acc[j], true, yv, 4 * j * s.ycs, rv, 4 * j * s.rcs);
    }
  };

  /** `ob` output channels at column `ox` of the row at `xr` / `yb` / `rb`, scalar. */
  const scalar = (ob: number, kys: number[], ox: number) => {
    const kxs = validTaps(ox, kw, sw, pl, 1, win.w);
    for (let j = 0; j < ob; j++) f.localGet(wb).f32Load(4 * j).localSet(sacc[j]);
    f.localGet(xr).localSet(xc);
    f.localGet(wb).localSet(wc);
    counted(f, cinG, () => {
      for (const ky of kys) {
        for (const kx of kxs) {
          f.localGet(xc).f32Load(4 * (ky * dh * win.w + ox * sw - pl + kx)).localSet(ftmp);
          for (let j = 0; j < ob; j++) {
            f.localGet(ftmp).localGet(wc).f32Load(wOff(ob, ky, kx, j)).f32Mul();
            f.localGet(sacc[j]).f32Add().localSet(sacc[j]);
          }
        }
      }
      bump(f, xc, 4 * s.xcs);
      bump(f, wc, 4 * kk * ob);
    });
    for (let j = 0; j < ob; j++) {
      storeEpilogue(f, s.epi, sacc[j], false, yb, 4 * (j * s.ycs + ox), rb, 4 * (j * s.rcs + ox));
    }
  };

  /** One output row of `ob` channels. */
  const rowBlock = (ob: number, kys: number[]) => {
    if (vectorCols) {
      setPlus(f, xv, xr, 4 * (ox0 * sw - pl));
      setPlus(f, yv, yb, 4 * ox0);
      setPlus(f, rv, rb, 4 * ox0);
      counted(f, Math.floor((ox1 - ox0) / 4), () => {
        vector(ob, kys);
        bump(f, xv, 16 * sw);
        bump(f, yv, 16);
        bump(f, rv, 16);
      });
      if ((ox1 - ox0) % 4 !== 0) {
        setPlus(f, xv, xr, 4 * ((ox1 - 4) * sw - pl));
        setPlus(f, yv, yb, 4 * (ox1 - 4));
        setPlus(f, rv, rb, 4 * (ox1 - 4));
        vector(ob, kys);
      }
    }
    for (let ox = 0; ox < win.ow; ox++) {
      if (vectorCols && ox >= ox0 && ox < ox1) continue;
      scalar(ob, kys, ox);
    }
  };

  /** Every output channel block of the row at `xr` / `yr` / `rr`. */
  const row = (kys: number[]) => {
    f.localGet(W).localSet(wb);
    f.localGet(yr).localSet(yb);
    f.localGet(rr).localSet(rb);
    const full = coutG - (coutG % OB);
    counted(f, full / OB, () => {
      rowBlock(OB, kys);
      bump(f, wb, 4 * OB * (1 + K));
      bump(f, yb, 4 * OB * s.ycs);
      bump(f, rb, 4 * OB * s.rcs);
    });
    if (full < coutG) rowBlock(coutG - full, kys);
  };

  const rowsAt = (oy: number) => {
    setPlus(f, xr, X, 4 * (oy * sh - pt) * win.w);
    setPlus(f, yr, Y, 4 * oy * win.ow);
    setPlus(f, rr, R, 4 * oy * win.ow);
  };

  counted(f, s.groups, () => {
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
    if (s.groups > 1) {
      bump(f, X, 4 * cinG * s.xcs);
      bump(f, Y, 4 * s.ygs);
      bump(f, W, 4 * coutG * (1 + K));
      bump(f, R, 4 * coutG * s.rcs);
    }
  });
}

/** The general convolution WebAssembly emitter. */
export const convWasm: WasmEmitter<ConvSpec> = {
  unsupported(s) {
    if (s.win.stride[1] > 2) return `horizontal stride ${s.win.stride[1]} > 2`;
    if (s.win.dilation[1] !== 1) return `horizontal dilation ${s.win.dilation[1]}`;
    if (!simdEpilogue(s.epi)) return "a sigmoid epilogue";
    return undefined;
  },
  pack(s, packed) {
    const kk = s.win.kernel[0] * s.win.kernel[1];
    const coutG = s.cout / s.groups;
    return repackBlocks(
      s.groups,
      coutG,
      (s.cin / s.groups) * kk,
      packed,
      CV_OB,
      Math.min(CONV_OB, coutG),
    );
  },
  body,
  variant: (s) => `_b${Math.min(CONV_OB, s.cout / s.groups)}x4`,
};
