/**
 * General and grouped convolution (any kernel, stride, padding and dilation)
 * as a register-blocked WebAssembly SIMD kernel, NCHW, in two passes:
 *
 * 1. A copy of the input into a scratch area of the module's memory (the
 *    `scratch` address of {@link WasmOptions}), zero-padded on every side
 *    and, at horizontal stride `s > 1`, split into `s` column phases per row
 *    (phase `q` holds columns `q, q + s, q + 2s, ...` of the padded row). Tap
 *    `kx` of output column `ox` then reads phase `(kx * dw) % s` at index
 *    `ox + floor(kx * dw / s)`: four neighbouring outputs are one contiguous
 *    f32x4 load at every stride, and no output needs a bounds check. The copy
 *    is a few percent of the convolution's time (it moves the input once; the
 *    kernel reads it `cout * kh * kw / (ob * kw)` times).
 * 2. Output rows outermost, then blocks of `ob` output channels, then blocks
 *    of `pv` f32x4 of neighbouring outputs (`ob * pv` accumulators), reducing
 *    over the input channels (a loop) and the window taps (unrolled, every
 *    address a load offset from one moving pointer); each tap loads `pv`
 *    input vectors and splats `ob` weights. A row whose width is not a
 *    multiple of the block ends with vectors that overlap the ones before them
 *    (recomputing a few outputs rather than running a scalar tail); a row
 *    narrower than a vector stores its lanes one by one. Bias, activations
 *    and a residual add are fused into the stores.
 *
 * Every conv the planner gives this family takes this path (groups copy all
 * their input channels once; dilation is a tap offset; every epilogue has a
 * SIMD form), so this family never falls back to the TypeScript kernel.
 *
 * Measured on SqueezeNet 1.1 (one process, interleaved): 2 channels x 16 or
 * 24 pixels are the fastest candidate blockings on all nine 3x3 layers (a
 * tap's splatted weights cost more than its input loads, so fewer channels
 * and more pixels win, up to the 15 v128 locals that do not spill); skipping
 * the copy changes nothing measurable; a layout with one plane
 * per kernel column, which walks a stride-1 output plane as one run of pixels
 * (no overlapping last vectors on 13-pixel rows), was 1-2% slower overall:
 * a row's taps `kx` reuse the same cache lines, the planes' do not. Giving
 * the top and bottom rows their own code without the window rows that fall in
 * the padding saved 1.5% on the 13-pixel layers and cost 5% on the 55-pixel
 * ones, so every row runs every tap.
 *
 * Packed weights: per group, per block of `ob` output channels, `[bias(ob)]
 * [cin/groups][kh][kw][ob]` (the TypeScript kernel's order with its block
 * size).
 *
 * @module
 */

import { F32, type Fn, I32, V128 } from "./binary.ts";
import { CV_OB } from "../emit_conv.ts";
import type { ConvSpec } from "../spec.ts";
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
import { type Blocking, repackBlocks } from "./pointwise.ts";

/** A register blocking: `ob` output channels x `pv` vectors of 4 neighbouring outputs (as pointwise). */
export type ConvBlocking = Blocking;

/** Every blocking `--tune` tries (channels x pixels): 2x24, 2x16, 4x8, 3x12, 8x4. */
export const CONV_BLOCKINGS: readonly ConvBlocking[] = [
  { ob: 2, pv: 6 },
  { ob: 2, pv: 4 },
  { ob: 4, pv: 2 },
  { ob: 3, pv: 3 },
  { ob: 8, pv: 1 },
];

/**
 * The default blocking, deterministic, by vectors per output row (measured,
 * one process: 3x3 convs of 128 channels at widths 1-19 and SqueezeNet 1.1's
 * 3x3 layers): narrower than a vector, 8 channels (a block stores its lanes
 * one by one); 1-2 vectors, 4 x 8; 3 vectors, 3 x 12; wider, 2 x 24 (with
 * `pv > ob` the kernel keeps a tap's `ob` weights live and streams its input
 * vectors, 15 v128 locals at most). `--threads` cuts a general conv's output
 * channels at multiples of this `ob` (codegen/wasm/threads.ts), and a split
 * conv runs this blocking whatever `--tune` chose.
 */
export function convBlocking(s: ConvSpec): ConvBlocking {
  const coutG = s.cout / s.groups;
  const nv = Math.ceil(s.win.ow / 4);
  const b = s.win.ow < 4
    ? { ob: 8, pv: 1 }
    : nv <= 2
    ? { ob: 4, pv: 2 }
    : nv === 3
    ? { ob: 3, pv: 3 }
    : { ob: 2, pv: 6 };
  return { ob: Math.min(b.ob, coutG), pv: b.pv };
}

/** The blockings `--tune` times for `s`: those whose channel block fits its groups. */
export function convCandidates(s: ConvSpec): ConvBlocking[] {
  return CONV_BLOCKINGS.filter((b) => b.ob <= s.cout / s.groups);
}

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/** Geometry of the padded, phase-split input copy (floats). */
export interface ConvScratch {
  /** Padded rows read (from input row `-pt`). */
  rows: number;
  /** Floats per column phase of a padded row. */
  len: number;
  /** Floats between padded rows (`stride * len`, rounded up to 4). */
  rowStride: number;
  /** Floats between channels. */
  chanStride: number;
  /** Floats of the whole area, with slack for the last vectors' over-reads and zero stores. */
  floats: number;
}

/**
 * The scratch geometry of `s`: only the padded rows and columns some window
 * reads (`(o - 1) * stride + (k - 1) * dilation + 1` along each axis).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convScratch } from "./conv.ts";
 * import { epilogue } from "../spec.ts";
 * // 3x3, stride 2, no padding, 7x7 -> 3x3: columns 0..6 in phases [0 2 4 6] and [1 3 5].
 * const win = {
 *   kernel: [3, 3] as [number, number], stride: [2, 2] as [number, number],
 *   padding: [0, 0, 0, 0] as [number, number, number, number],
 *   dilation: [1, 1] as [number, number], h: 7, w: 7, oh: 3, ow: 3,
 * };
 * const s = {
 *   family: "conv" as const, cin: 2, cout: 4, groups: 1, ygs: 36, win,
 *   epi: epilogue(), rcs: 9, xcs: 49, ycs: 9,
 * };
 * const g = convScratch(s);
 * assert.deepEqual([g.rows, g.len, g.rowStride, g.chanStride], [7, 4, 8, 7 * 8]);
 * ```
 */
export function convScratch(s: ConvSpec): ConvScratch {
  const { win } = s;
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh, dw] = win.dilation;
  const rows = (win.oh - 1) * sh + (kh - 1) * dh + 1;
  const cols = (win.ow - 1) * sw + (kw - 1) * dw + 1;
  const len = Math.ceil(cols / sw);
  const rowStride = align4(sw * len);
  const chanStride = rows * rowStride;
  return { rows, len, rowStride, chanStride, floats: s.cin * chanStride + 8 };
}

/** Most vectors a pad or copy run writes unrolled; longer runs loop. */
const UNROLLED_VECTORS = 8;

/**
 * The copy pass: every input channel into the scratch at `S`, zero rows and
 * columns for the padding, each row split into column phases.
 */
function copyInput(s: ConvSpec, f: Fn, S: number): void {
  const { win } = s;
  const sw = win.stride[1];
  const [pt, pl] = win.padding;
  const g = convScratch(s);
  const [xs, ds, sr, dr, sp, dp] = locals(f, I32, 6);
  const zero = f.local(V128);
  const tmp = f.local(V128);
  const tmp2 = f.local(V128);
  const ftmp = f.local(F32);
  f.v128Const([0, 0, 0, 0]).localSet(zero);

  /** `n` zeros from byte offset `off` of the address in `p` (rounded up to vectors). */
  const zeros = (p: number, off: number, n: number) => {
    const nv = Math.ceil(n / 4);
    if (nv <= UNROLLED_VECTORS) {
      for (let v = 0; v < nv; v++) f.localGet(p).localGet(zero).v128Store(off + 16 * v);
      return;
    }
    setPlus(f, dp, p, off);
    counted(f, nv, () => {
      f.localGet(dp).localGet(zero).v128Store(0);
      bump(f, dp, 16);
    });
  };

  /** Four outputs of phase stride `sw` from the input at byte `src` of `sp`, stored at `dst` of `dp`. */
  const vec = (src: number, dst: number) => {
    if (sw === 1) {
      f.localGet(dp).localGet(sp).v128Load(src).v128Store(dst);
    } else {
      // Columns c, c+2, c+4, c+6: lanes 0 and 2 of [c..c+3], lanes 1 and 3 of [c+3..c+6].
      f.localGet(sp).v128Load(src).localSet(tmp);
      f.localGet(sp).v128Load(src + 12).localSet(tmp2);
      f.localGet(dp).localGet(tmp).localGet(tmp2).f32x4Shuffle([0, 2, 5, 7]).v128Store(dst);
    }
  };

  /** One padded input row: source row at `sr`, destination at `dr`. */
  const copyRow = () => {
    for (let q = 0; q < sw; q++) {
      const base = 4 * q * g.len;
      const i0 = Math.min(g.len, Math.max(0, Math.ceil((pl - q) / sw)));
      const i1 = Math.min(g.len, Math.max(i0, Math.floor((win.w - 1 + pl - q) / sw) + 1));
      const n = i1 - i0;
      // Zeros first: the interior copy overwrites what the rounded-up left run covers,
      // and the next phase (or row) what the right run covers past this phase.
      if (i0 > 0) zeros(dr, base, i0);
      const src0 = i0 * sw + q - pl; // input column of the first interior output
      if (n >= 4 && sw <= 2) {
        const nv = Math.floor(n / 4);
        setPlus(f, sp, sr, 4 * src0);
        setPlus(f, dp, dr, base + 4 * i0);
        if (nv <= UNROLLED_VECTORS) {
          for (let v = 0; v < nv; v++) vec(16 * sw * v, 16 * v);
        } else {
          counted(f, nv, () => {
            vec(0, 0);
            bump(f, sp, 16 * sw);
            bump(f, dp, 16);
          });
          setPlus(f, sp, sr, 4 * src0);
          setPlus(f, dp, dr, base + 4 * i0);
        }
        if (n % 4 !== 0) vec(4 * sw * (n - 4), 4 * (n - 4));
      } else if (n > 0) {
        setPlus(f, sp, sr, 4 * src0);
        setPlus(f, dp, dr, base + 4 * i0);
        counted(f, n, () => {
          f.localGet(sp).f32Load(0).localSet(ftmp);
          f.localGet(dp).localGet(ftmp).f32Store(0);
          bump(f, sp, 4 * sw);
          bump(f, dp, 4);
        });
      }
      if (i1 < g.len) zeros(dr, base + 4 * i1, g.len - i1);
    }
  };

  const top = Math.min(g.rows, pt);
  const mid = Math.max(0, Math.min(g.rows, pt + win.h) - top);
  const bottom = g.rows - top - mid;
  f.localGet(X).localSet(xs);
  f.i32Const(S).localSet(ds);
  counted(f, s.cin, () => {
    if (top > 0) zeros(ds, 0, top * g.rowStride);
    f.localGet(xs).localSet(sr);
    setPlus(f, dr, ds, 4 * top * g.rowStride);
    counted(f, mid, () => {
      copyRow();
      bump(f, sr, 4 * win.w);
      bump(f, dr, 4 * g.rowStride);
    });
    if (bottom > 0) zeros(ds, 4 * (top + mid) * g.rowStride, bottom * g.rowStride);
    bump(f, xs, 4 * s.xcs);
    bump(f, ds, 4 * g.chanStride);
  });
}

/** Most window taps of a fully unrolled reduction (a 3-channel stem's 3 x 3 x 3). */
const UNROLLED_TAPS = 36;

/**
 * Input channels per step of the reduction loop: all of them when they are
 * few (a stem's loop of 3 would cost about 3% of its time), else enough that
 * a step has at least 4 taps.
 */
function channelUnroll(kk: number, cinG: number): number {
  if (cinG * kk <= UNROLLED_TAPS) return cinG;
  return kk >= 4 ? 1 : Math.ceil(4 / kk);
}

/**
 * How a row of `ow >= 4` output columns is covered by blocks of `pv` vectors
 * (4 neighbouring outputs each): `full` blocks from column 0, then the `last`
 * blocks, each a list of the first columns of its vectors. The vectors left
 * after the full blocks end at the row's end (the last one overlapping the
 * one before it); fewer than half a block join the last full block and the
 * two are split evenly (a block of 1-2 vectors splats as many weights per
 * multiply-add as it loads inputs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rowBlocks } from "./conv.ts";
 * // 55 columns in blocks of 6 vectors: one block, then 8 vectors (2 of them past the
 * // second full block) split 4 + 4, the last vector ending at column 54.
 * assert.deepEqual(rowBlocks(55, 6), { full: 1, last: [[24, 28, 32, 36], [40, 44, 48, 51]] });
 * // 13 columns: 2 vectors after a block of 2, or 4 vectors in two blocks of 3 split 2 + 2.
 * assert.deepEqual(rowBlocks(13, 2), { full: 1, last: [[8, 9]] });
 * assert.deepEqual(rowBlocks(13, 3), { full: 0, last: [[0, 4], [8, 9]] });
 * assert.deepEqual(rowBlocks(24, 6), { full: 1, last: [] });
 * ```
 */
export function rowBlocks(ow: number, pv: number): { full: number; last: number[][] } {
  const pb = 4 * pv;
  const tv = Math.ceil((ow % pb) / 4);
  const merge = tv > 0 && 2 * tv <= pv && ow >= pb;
  const full = Math.floor(ow / pb) - (merge ? 1 : 0);
  const n = (merge ? pv : 0) + tv;
  const cols = Array.from({ length: n }, (_, v) => Math.min(full * pb + 4 * v, ow - 4));
  if (n === 0) return { full, last: [] };
  if (!merge) return { full, last: [cols] };
  const half = Math.ceil(n / 2);
  return { full, last: [cols.slice(0, half), cols.slice(half)] };
}

function body(s: ConvSpec, f: Fn, o: WasmOptions, blocking: ConvBlocking): void {
  if (o.scratch === undefined) throw new Error("The conv kernel needs a scratch address");
  copyInput(s, f, o.scratch);
  const { win } = s;
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh, dw] = win.dilation;
  const kk = kh * kw;
  const cinG = s.cin / s.groups;
  const coutG = s.cout / s.groups;
  const g = convScratch(s);
  const OB = Math.min(blocking.ob, coutG);
  const PV = blocking.pv;
  const PB = 4 * PV;
  const U = channelUnroll(kk, cinG);
  const ow = win.ow;

  const [xg, xr, yr, rr, wb, yb, rb, xp, yp, rp, xc, wc] = locals(f, I32, 12);
  const acc = locals(f, V128, OB * PV);
  const xv = locals(f, V128, PV);
  const ws = f.local(V128);
  const wv = locals(f, V128, OB);
  const lane = f.local(F32);

  /** Float offset in the scratch of tap (ky, kx) for the output column at the block pointer. */
  const tapOff = (ky: number, kx: number) =>
    ky * dh * g.rowStride + ((kx * dw) % sw) * g.len + Math.floor((kx * dw) / sw);

  /**
   * `ob` output channels x the vectors at output columns `pos` (relative to
   * the block pointers); `lanes` < 4 stores only the first lanes of one vector.
   */
  const pixelBlock = (ob: number, pos: number[], lanes = 4) => {
    const pv = pos.length;
    for (let j = 0; j < ob; j++) {
      f.localGet(wb).v128Load32Splat(4 * j).localSet(acc[j * pv]);
      for (let v = 1; v < pv; v++) f.localGet(acc[j * pv]).localSet(acc[j * pv + v]);
    }
    f.localGet(xp).localSet(xc);
    setPlus(f, wc, wb, 4 * ob);
    const step = (u: number) => {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const at = u * g.chanStride + tapOff(ky, kx);
          if (ob < pv) {
            // Fewer channels than vectors: the tap's weights stay live, inputs stream.
            for (let j = 0; j < ob; j++) {
              f.localGet(wc).v128Load32Splat(4 * ((u * kk + ky * kw + kx) * ob + j)).localSet(
                wv[j],
              );
            }
            for (let v = 0; v < pv; v++) {
              f.localGet(xc).v128Load(4 * (at + pos[v])).localSet(xv[0]);
              for (let j = 0; j < ob; j++) madd(f, o, xv[0], wv[j], acc[j * pv + v]);
            }
            continue;
          }
          for (let v = 0; v < pv; v++) f.localGet(xc).v128Load(4 * (at + pos[v])).localSet(xv[v]);
          for (let j = 0; j < ob; j++) {
            f.localGet(wc).v128Load32Splat(4 * ((u * kk + ky * kw + kx) * ob + j)).localSet(ws);
            for (let v = 0; v < pv; v++) madd(f, o, xv[v], ws, acc[j * pv + v]);
          }
        }
      }
    };
    counted(f, Math.floor(cinG / U), () => {
      for (let u = 0; u < U; u++) step(u);
      bump(f, xc, 4 * U * g.chanStride);
      bump(f, wc, 4 * U * kk * ob);
    });
    for (let u = 0; u < cinG % U; u++) step(u);
    for (let j = 0; j < ob; j++) {
      for (let v = 0; v < pv; v++) {
        const a = acc[j * pv + v];
        if (lanes === 4) {
          storeEpilogue(
            f,
            s.epi,
            a,
            true,
            yp,
            4 * (j * s.ycs + pos[v]),
            rp,
            4 * (j * s.rcs + pos[v]),
          );
          continue;
        }
        for (let l = 0; l < lanes; l++) {
          f.localGet(a).f32x4ExtractLane(l).localSet(lane);
          storeEpilogue(f, s.epi, lane, false, yp, 4 * (j * s.ycs + l), rp, 4 * (j * s.rcs + l));
        }
      }
    }
  };

  /** Every output column of one row of `ob` channels (row pointers `xr`, `yb`, `rb`). */
  const rowBlock = (ob: number) => {
    f.localGet(xr).localSet(xp);
    f.localGet(yb).localSet(yp);
    f.localGet(rb).localSet(rp);
    if (ow < 4) return pixelBlock(ob, [0], ow);
    const row = rowBlocks(ow, PV);
    const vecs = Array.from({ length: PV }, (_, v) => 4 * v);
    counted(f, row.full, () => {
      pixelBlock(ob, vecs);
      bump(f, xp, 4 * PB);
      bump(f, yp, 4 * PB);
      bump(f, rp, 4 * PB);
    });
    if (row.last.length === 0) return;
    // The last blocks' columns count from the row's start.
    f.localGet(xr).localSet(xp);
    f.localGet(yb).localSet(yp);
    f.localGet(rb).localSet(rp);
    for (const pos of row.last) pixelBlock(ob, pos);
  };

  f.i32Const(o.scratch).localSet(xg);
  counted(f, s.groups, () => {
    f.localGet(xg).localSet(xr);
    f.localGet(Y).localSet(yr);
    f.localGet(R).localSet(rr);
    counted(f, win.oh, () => {
      f.localGet(W).localSet(wb);
      f.localGet(yr).localSet(yb);
      f.localGet(rr).localSet(rb);
      const full = coutG - (coutG % OB);
      counted(f, full / OB, () => {
        rowBlock(OB);
        bump(f, wb, 4 * OB * (1 + cinG * kk));
        bump(f, yb, 4 * OB * s.ycs);
        bump(f, rb, 4 * OB * s.rcs);
      });
      if (full < coutG) rowBlock(coutG - full);
      bump(f, xr, 4 * sh * g.rowStride);
      bump(f, yr, 4 * ow);
      bump(f, rr, 4 * ow);
    });
    if (s.groups > 1) {
      bump(f, xg, 4 * cinG * g.chanStride);
      bump(f, Y, 4 * s.ygs);
      bump(f, W, 4 * coutG * (1 + cinG * kk));
      bump(f, R, 4 * coutG * s.rcs);
    }
  });
}

/** The general convolution WebAssembly emitter with the blocking `choose` picks per spec. */
export function convWasmWith(choose: (s: ConvSpec) => ConvBlocking): WasmEmitter<ConvSpec> {
  return {
    pack(s, packed) {
      const kk = s.win.kernel[0] * s.win.kernel[1];
      const coutG = s.cout / s.groups;
      const ob = Math.min(choose(s).ob, coutG);
      return repackBlocks(s.groups, coutG, (s.cin / s.groups) * kk, packed, CV_OB, ob);
    },
    scratch: (s) => convScratch(s).floats,
    body: (s, f, o) => body(s, f, o, choose(s)),
    variant(s) {
      const b = choose(s);
      return `_b${Math.min(b.ob, s.cout / s.groups)}x${4 * b.pv}`;
    },
  };
}

/** The general convolution WebAssembly emitter with the default blocking ({@link convBlocking}). */
export const convWasm: WasmEmitter<ConvSpec> = convWasmWith(convBlocking);
