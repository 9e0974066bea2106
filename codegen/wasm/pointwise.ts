/**
 * Pointwise (1x1, stride 1) convolution as a WebAssembly SIMD kernel, NCHW:
 * register blocks of `ob` output channels x `4 * pv` pixels (`ob * pv` f32x4
 * accumulators), the reduction over input channels unrolled 4x with every
 * address a load offset from two moving pointers, bias, activations and a
 * residual add fused into the stores.
 *
 * Pixels are walked in cache tiles (the input tile of every input channel
 * stays in L1 while each output block reads it); a plane whose size is not
 * a multiple of the pixel block ends with one block that overlaps the one
 * before it (it recomputes a few outputs rather than running a scalar tail;
 * the output never aliases the input or residual, see memory.ts), run for
 * several output blocks at once so that its multiply-add chains overlap.
 *
 * Channels whose offsets no single stride describes (ShuffleNet V2's
 * pass-through layout) are addressed through the step's offset tables, which
 * the call passes after its packed weights (i32 byte offsets): the kernel
 * bakes in only that it reads a table, so steps that differ only in their
 * tables share it.
 *
 * Packed weights (per group, per block of `ob` output channels): `[bias(ob)]
 * [cin/groups x ob]`, input-channel major, as the TypeScript kernel with its
 * block size.
 *
 * @module
 */

import { F32, type Fn, I32, V128 } from "./binary.ts";
import { PW_OB } from "../emit_pointwise.ts";
import type { OffsetTables, PwconvSpec } from "../spec.ts";
import {
  applyAct,
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

/** A register blocking: `ob` output channels x `pv` pixel vectors (4 pixels each). */
export interface Blocking {
  ob: number;
  pv: number;
}

/** Bytes of input (all input channels of a pixel tile) kept hot while every output block reads it. */
export const TILE_BYTES = 24 * 1024;
/** Largest input (bytes) walked whole by each output block rather than in tiles. */
export const L2_INPUT_BYTES = 256 * 1024;
/** Input channels per step of the reduction loop. */
export const UNROLL = 4;

/** Vector multiply-adds and vector loads issued per cycle (two FMA pipes, two load ports). */
const FMAS_PER_CYCLE = 2;
const LOADS_PER_CYCLE = 2;
/** Cycles per output vector of a block's epilogue (activation, store) and per block of set-up. */
const STORE_CYCLES = 1;
const BLOCK_CYCLES = 4;
/**
 * Live v128 values past which the engine spills: 15 live values (6 x 8's 12
 * accumulators, 2 input vectors and a weight) ran at 12.5 flop/cycle instead
 * of 16 (issue 10's measurements on this machine class).
 */
const MAX_LIVE = 14;
const SPILL_SLOWDOWN = 16 / 12.5;

/**
 * Estimated cycles of a pointwise layer in a blocking: every register block
 * it runs (full ones, the partial output-channel block when `ob` does not
 * divide the channels, the overlapping last pixel block), each costing per
 * input channel the larger of its multiply-adds (`ob * pv`) and its loads
 * (`pv` input vectors, `ob` splatted weights) at their issue rates (slower
 * when its live vectors spill), plus its stores and set-up. A model to rank blockings, not a prediction of time:
 * what it captures is tail waste (a 1-channel block does a third of a 3-channel
 * block's work for about half its time) and loads per multiply-add.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blockingCost } from "./pointwise.ts";
 * import { epilogue } from "../spec.ts";
 * const spec = {
 *   family: "pwconv" as const, cin: 16, cout: 16, groups: 1, ygs: 16 * 3136, h: 56, w: 56,
 *   epi: epilogue(), rcs: 3136, xcs: 3136, ycs: 3136,
 * };
 * // 16 = 5 x 3 + 1 channels: 3 x 12 runs a 1-channel block; 2 x 16 divides both sizes.
 * assert.ok(blockingCost(spec, { ob: 2, pv: 4 }) < blockingCost(spec, { ob: 3, pv: 3 }));
 * ```
 */
export function blockingCost(s: PwconvSpec, b: Blocking): number {
  const hw = s.h * s.w;
  const cinG = s.cin / s.groups;
  const coutG = s.cout / s.groups;
  const pb = 4 * b.pv;
  const pixelBlocks = [[Math.floor(hw / pb), b.pv]];
  if (hw % pb !== 0) pixelBlocks.push([1, Math.ceil((hw % pb) / 4)]);
  const channelBlocks = [[Math.floor(coutG / b.ob), b.ob]];
  if (coutG % b.ob !== 0) channelBlocks.push([1, coutG % b.ob]);
  let cycles = 0;
  for (const [nc, ob] of channelBlocks) {
    for (const [np, pv] of pixelBlocks) {
      const live = ob * pv + pv + 1;
      const step = Math.max((ob * pv) / FMAS_PER_CYCLE, (ob + pv) / LOADS_PER_CYCLE) *
        (live > MAX_LIVE ? SPILL_SLOWDOWN : 1);
      cycles += nc * np * (cinG * step + ob * pv * STORE_CYCLES + BLOCK_CYCLES);
    }
  }
  return s.groups * cycles;
}

/**
 * The default's candidates on planes of 16 pixels or more, the preferred
 * first: 3 x 12 (measured best on most layers) and 2 x 16 (as good per
 * multiply-add, with no partial block on an even channel count). The other
 * blockings rank well in {@link blockingCost} yet measured slower on these
 * planes (5 x 8 on MobileNetV2's 7x7 layers: 10% slower), so they stay
 * `--tune`'s to pick.
 */
const DEFAULT_BLOCKINGS: readonly Blocking[] = [{ ob: 3, pv: 3 }, { ob: 2, pv: 4 }];

/**
 * The default blocking, deterministic: on planes of 16 pixels or more whose
 * input is not walked in tiles, the one of {@link DEFAULT_BLOCKINGS} of least
 * {@link blockingCost}, 3 x 12 unless 2 x 16 is estimated at least 1% cheaper
 * (`--tune` chose 3 x 12 for most of MobileNetV2's and ShuffleNetV2's
 * pointwise kernels on this machine class, 2 x 16 mostly where the channels
 * are not a multiple of 3); 3 x 12 on a tiled input (each output block
 * re-reads the tile, and 2 channels per block measured 10% slower on
 * MobileNetV2's 32 -> 16 at 112x112) and on 12-15 pixels, 6 x 8 on 8-11,
 * 8 x 4 on 4-7 and 32 channels x 1 pixel below.
 */
export function pwBlocking(s: PwconvSpec): Blocking {
  const hw = s.h * s.w;
  if (hw < 4) return { ob: SMALL_OB, pv: 0 };
  if (hw < 8) return { ob: 8, pv: 1 };
  if (hw < 12) return { ob: 6, pv: 2 };
  if (hw < 16 || (s.cin / s.groups) * hw * 4 > L2_INPUT_BYTES) return { ob: 3, pv: 3 };
  const [preferred, ...others] = DEFAULT_BLOCKINGS;
  let best = preferred;
  let bestCost = 0.99 * blockingCost(s, preferred);
  for (const b of others) {
    const cost = blockingCost(s, b);
    if (cost < bestCost) [best, bestCost] = [b, cost];
  }
  return best;
}

/**
 * The blockings `--tune` times per layer (8-12 accumulators each, as the
 * issue's measurements suggest), those whose pixel block fits the plane.
 */
export function pwCandidates(s: PwconvSpec): Blocking[] {
  return PW_BLOCKINGS.filter((b) => 4 * b.pv <= s.h * s.w);
}

/** Every blocking `--tune` tries: 6x8, 4x8, 5x8, 3x12, 2x16 and 8x4 (channels x pixels). */
export const PW_BLOCKINGS: readonly Blocking[] = [
  { ob: 6, pv: 2 },
  { ob: 4, pv: 2 },
  { ob: 5, pv: 2 },
  { ob: 3, pv: 3 },
  { ob: 2, pv: 4 },
  { ob: 8, pv: 1 },
];

/**
 * Repacks blocked weights from blocks of `from` output channels to blocks of
 * `to`: per group, per block of `ob` output channels, `[bias(ob)] [k x ob]`
 * where `k` is the reduction length per output (the layout of the pointwise
 * and general convolution kernels of both targets).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { repackBlocks } from "./pointwise.ts";
 * // 3 outputs, k = 2: blocks of 2 then 1 -> one block of 3
 * const from = Float32Array.of(10, 11, 1, 2, 3, 4, 12, 5, 6);
 * assert.deepEqual([...repackBlocks(1, 3, 2, from, 2, 3)], [10, 11, 12, 1, 2, 5, 3, 4, 6]);
 * ```
 */
export function repackBlocks(
  groups: number,
  coutG: number,
  k: number,
  packed: Float32Array,
  from: number,
  to: number,
): Float32Array {
  const cout = groups * coutG;
  const weight = new Float32Array(cout * k);
  const bias = new Float32Array(cout);
  let at = 0;
  for (let g = 0; g < groups; g++) {
    for (let o = 0; o < coutG; o += from) {
      const ob = Math.min(from, coutG - o);
      for (let j = 0; j < ob; j++) bias[g * coutG + o + j] = packed[at++];
      for (let c = 0; c < k; c++) {
        for (let j = 0; j < ob; j++) weight[(g * coutG + o + j) * k + c] = packed[at++];
      }
    }
  }
  const out = new Float32Array(packed.length);
  at = 0;
  for (let g = 0; g < groups; g++) {
    for (let o = 0; o < coutG; o += to) {
      const ob = Math.min(to, coutG - o);
      for (let j = 0; j < ob; j++) out[at++] = bias[g * coutG + o + j];
      for (let c = 0; c < k; c++) {
        for (let j = 0; j < ob; j++) out[at++] = weight[(g * coutG + o + j) * k + c];
      }
    }
  }
  return out;
}

/**
 * Where a step's offset tables sit after its packed weights (in 4-byte
 * words from the weights' start), and where the data the call passes ends:
 * the input table, then the output table.
 */
export function tableLayout(s: PwconvSpec): { x?: number; y?: number; floats: number } {
  let at = s.cout * (1 + s.cin / s.groups);
  const x = s.xtable ? at : undefined;
  if (s.xtable) at += s.cin;
  const y = s.ytable ? at : undefined;
  if (s.ytable) at += s.cout;
  return { x, y, floats: at };
}

/** The packed weights followed by the step's offset tables ({@link tableLayout}), as i32 byte offsets. */
function packWithTables(
  s: PwconvSpec,
  packed: Float32Array,
  ob: number,
  tables: OffsetTables | undefined,
): Float32Array {
  const t = tableLayout(s);
  const out = new Float32Array(t.floats);
  out.set(
    repackBlocks(s.groups, s.cout / s.groups, s.cin / s.groups, packed, PW_OB, ob),
  );
  // A bias of -0 becomes +0: an accumulator that starts anywhere but -0 never becomes -0
  // (in round-to-nearest, a sum is -0 only when both terms are), so the stores skip the
  // `+ 0` a ReLU needs for -0 (see applyAct). The result differs only where the
  // accumulator would have been -0 with no activation after it: +0 instead.
  const coutG = s.cout / s.groups;
  for (let g = 0, at = 0; g < s.groups; g++) {
    for (let o = 0; o < coutG; o += ob) {
      const n = Math.min(ob, coutG - o);
      for (let j = 0; j < n; j++) out[at + j] += 0;
      at += n * (1 + s.cin / s.groups);
    }
  }
  const ints = new Int32Array(out.buffer);
  const put = (at: number | undefined, values: number[] | undefined, n: number, what: string) => {
    if (at === undefined) return;
    if (values?.length !== n) {
      throw new RangeError(
        `A pointwise step's ${what} offset table has ${
          values?.length ?? "no"
        } entries, expected ${n}`,
      );
    }
    values.forEach((v, c) => (ints[at + c] = 4 * v));
  };
  put(t.x, tables?.x, s.cin, "input");
  put(t.y, tables?.y, s.cout, "output");
  return out;
}

/**
 * Output channels per block on planes of fewer than 4 pixels: eight f32x4
 * accumulators, so eight independent multiply-add chains cover the latency
 * (four chains left half the issue slots idle).
 */
export const SMALL_OB = 32;

/**
 * A plane of fewer than 4 pixels (squeeze-excite 1x1 convs on 1x1 planes):
 * a matrix-vector product per pixel, vectorized over {@link SMALL_OB} output
 * channels, each input splatted once per block, the reduction unrolled
 * {@link UNROLL}x; the activation runs on the accumulators, then lanes are
 * stored one by one (channel strides need not be 1), through the scalar
 * epilogue when a residual follows. Each output's sum runs over the input
 * channels in order, as in the other blockings.
 */
function smallBody(s: PwconvSpec, f: Fn, o: WasmOptions): void {
  const hw = s.h * s.w;
  const cinG = s.cin / s.groups;
  const coutG = s.cout / s.groups;
  const acc = locals(f, V128, SMALL_OB / 4);
  const [xc, wc, wb, yb, rb] = locals(f, I32, 5);
  const xs = f.local(V128);
  const tmp = f.local(V128);
  const lane = f.local(F32);
  const block = (ob: number, p: number) => {
    const nv = Math.ceil(ob / 4);
    // A partial last vector reads past the block into memory that exists and ignores those lanes.
    for (let v = 0; v < nv; v++) f.localGet(wb).v128Load(16 * v).localSet(acc[v]);
    setPlus(f, xc, X, 4 * p);
    setPlus(f, wc, wb, 4 * ob);
    const step = (u: number) => {
      f.localGet(xc).v128Load32Splat(4 * u * s.xcs).localSet(xs);
      for (let v = 0; v < nv; v++) {
        f.localGet(wc).v128Load(4 * u * ob + 16 * v).localSet(tmp);
        madd(f, o, tmp, xs, acc[v]);
      }
    };
    counted(f, Math.floor(cinG / UNROLL), () => {
      for (let u = 0; u < UNROLL; u++) step(u);
      bump(f, xc, 4 * UNROLL * s.xcs);
      bump(f, wc, 4 * UNROLL * ob);
    });
    for (let u = 0; u < cinG % UNROLL; u++) step(u);
    // The packed bias is never -0, so neither is an accumulator (see packWithTables).
    for (let v = 0; v < nv; v++) applyAct(f, s.epi.act, acc[v], true, false);
    for (let j = 0; j < ob; j++) {
      f.localGet(acc[j >> 2]).f32x4ExtractLane(j & 3).localSet(lane);
      if (s.epi.residual) {
        f.localGet(lane).localGet(rb).f32Load(4 * (j * s.rcs + p)).f32Add().localSet(lane);
        applyAct(f, s.epi.act2, lane, false);
      }
      f.localGet(yb).localGet(lane).f32Store(4 * (j * s.ycs + p));
    }
  };
  counted(f, s.groups, () => {
    for (let p = 0; p < hw; p++) {
      f.localGet(W).localSet(wb);
      f.localGet(Y).localSet(yb);
      f.localGet(R).localSet(rb);
      const full = Math.floor(coutG / SMALL_OB);
      counted(f, full, () => {
        block(SMALL_OB, p);
        bump(f, wb, 4 * SMALL_OB * (1 + cinG));
        bump(f, yb, 4 * SMALL_OB * s.ycs);
        bump(f, rb, 4 * SMALL_OB * s.rcs);
      });
      if (coutG % SMALL_OB !== 0) block(coutG % SMALL_OB, p);
    }
    if (s.groups > 1) {
      bump(f, X, 4 * cinG * s.xcs);
      bump(f, Y, 4 * s.ygs);
      bump(f, W, 4 * coutG * (1 + cinG));
      bump(f, R, 4 * coutG * s.rcs);
    }
  });
}

/** Writes the pointwise kernel body. */
function body(s: PwconvSpec, f: Fn, o: WasmOptions, blocking: Blocking): void {
  const { ob: OB, pv: PV } = blocking;
  const PB = 4 * PV;
  const hw = s.h * s.w;
  const cinG = s.cin / s.groups;
  const coutG = s.cout / s.groups;
  const nb = Math.floor(hw / PB);
  // The last pixels: the fewest vectors that cover them, overlapping the block before.
  const pvTail = Math.ceil((hw % PB) / 4);
  const tailAt = hw % PB !== 0 ? hw - 4 * pvTail : undefined;
  // An input that fits in L2 is not tiled: each output block's weights stay in L1 while
  // it walks every pixel. A larger one is walked in tiles that fit in L1, each read by
  // every output block (the weights then stream from L2).
  const TB = cinG * hw * 4 <= L2_INPUT_BYTES
    ? Math.max(1, nb)
    : Math.max(1, Math.floor(TILE_BYTES / (cinG * PB * 4)));
  const fullTiles = Math.floor(nb / TB);
  const remBlocks = nb % TB;

  const tables = tableLayout(s);
  const xTable = tables.x !== undefined;
  const yTable = tables.y !== undefined;
  const full = coutG - (coutG % OB);
  const blockBytes = 4 * OB * (1 + cinG);
  // The overlapping last pixel block has few accumulators (3 x 1 vector in 3 x 12): alone,
  // each of its multiply-add chains waits on the one before. Its pixels are instead
  // computed after the tile's output blocks, for `tailBlocks` output blocks at once, as
  // many independent chains as fit in registers (with its input vectors and a weight).
  const tailBlocks = tailAt === undefined
    ? 1
    : Math.min(full / OB, Math.floor((MAX_LIVE - 1 - pvTail) / (OB * pvTail)));
  const grouped = tailBlocks >= 2;
  const tb = f.local(I32);
  const [wb, yb, rb, xp, yp, rp, xc, wc, tp, ytp, xa, ya] = locals(f, I32, 12);
  const acc = locals(f, V128, Math.max(OB * PV, grouped ? tailBlocks * OB * pvTail : 0));
  const xv = locals(f, V128, PV);
  const ws = f.local(V128);

  // `n` output channels from `wb`, `yp`, `rp` (or `ytp`'s table entries) over `PV` pixel
  // vectors from `xp`; channel q is channel `q % bw` of packed block `q / bw`.
  const pixelBlock = (n: number, bw: number, PV: number) => {
    const wAt = (q: number) => Math.floor(q / bw) * blockBytes + 4 * (q % bw);
    for (let q = 0; q < n; q++) {
      f.localGet(wb).v128Load32Splat(wAt(q)).localSet(acc[q * PV]);
      for (let v = 1; v < PV; v++) f.localGet(acc[q * PV]).localSet(acc[q * PV + v]);
    }
    const fmas = (u: number) => {
      for (let q = 0; q < n; q++) {
        f.localGet(wc).v128Load32Splat(wAt(q) + 4 * (bw + u * bw)).localSet(ws);
        for (let v = 0; v < PV; v++) madd(f, o, xv[v], ws, acc[q * PV + v]);
      }
    };
    if (xTable) {
      // Input channel c starts at xp + table[c] (bytes), the table after the weights.
      setPlus(f, tp, W, 4 * tables.x!);
      f.localGet(wb).localSet(wc);
      const step = (u: number) => {
        f.localGet(xp).localGet(tp).i32Load(4 * u).i32Add().localSet(xa);
        for (let v = 0; v < PV; v++) f.localGet(xa).v128Load(16 * v).localSet(xv[v]);
        fmas(u);
      };
      counted(f, Math.floor(cinG / UNROLL), () => {
        for (let u = 0; u < UNROLL; u++) step(u);
        bump(f, tp, 4 * UNROLL);
        bump(f, wc, 4 * UNROLL * bw);
      });
      for (let u = 0; u < cinG % UNROLL; u++) step(u);
    }
    if (!xTable) {
      f.localGet(xp).localSet(xc);
      f.localGet(wb).localSet(wc);
      const step = (u: number) => {
        for (let v = 0; v < PV; v++) {
          f.localGet(xc).v128Load(4 * u * s.xcs + 16 * v).localSet(xv[v]);
        }
        fmas(u);
      };
      counted(f, Math.floor(cinG / UNROLL), () => {
        for (let u = 0; u < UNROLL; u++) step(u);
        bump(f, xc, 4 * UNROLL * s.xcs);
        bump(f, wc, 4 * UNROLL * bw);
      });
      for (let u = 0; u < cinG % UNROLL; u++) step(u);
    }
    for (let q = 0; q < n; q++) {
      // Output channel q at yp + q * ycs, or at yp + table[q] (bytes).
      if (yTable) f.localGet(yp).localGet(ytp).i32Load(4 * q).i32Add().localSet(ya);
      for (let v = 0; v < PV; v++) {
        storeEpilogue(
          f,
          s.epi,
          acc[q * PV + v],
          true,
          yTable ? ya : yp,
          (yTable ? 0 : 4 * q * s.ycs) + 16 * v,
          rp,
          4 * q * s.rcs + 16 * v,
          false, // the packed bias is never -0, so neither is the accumulator
        );
      }
    }
  };

  // The overlapping last pixel block of `n` channels (blocks of `bw`) from `wb`, `yb`, `rb`.
  const tailBlock = (n: number, bw: number) => {
    setPlus(f, xp, X, 4 * tailAt!);
    setPlus(f, yp, yb, 4 * tailAt!);
    setPlus(f, rp, rb, 4 * tailAt!);
    pixelBlock(n, bw, pvTail);
  };

  // One output block over the pixel blocks of a tile (and the overlapping tail block).
  const outBlock = (ob: number, blocks: number, tail: boolean) => {
    f.localGet(X).localGet(tb).i32Add().localSet(xp);
    f.localGet(yb).localGet(tb).i32Add().localSet(yp);
    f.localGet(rb).localGet(tb).i32Add().localSet(rp);
    counted(f, blocks, () => {
      pixelBlock(ob, ob, PV);
      for (const p of [xp, yp, rp]) bump(f, p, 4 * PB);
    });
    if (tail && tailAt !== undefined) tailBlock(ob, ob);
  };

  // Output blocks step by `k` blocks: weights, output (or its table entries), residual.
  const start = () => {
    f.localGet(W).localSet(wb);
    f.localGet(R).localSet(rb);
    f.localGet(Y).localSet(yb);
    if (yTable) setPlus(f, ytp, W, 4 * tables.y!);
  };
  const next = (k: number) => {
    bump(f, wb, k * blockBytes);
    if (yTable) bump(f, ytp, 4 * k * OB);
    else bump(f, yb, 4 * k * OB * s.ycs);
    bump(f, rb, 4 * k * OB * s.rcs);
  };

  const tile = (blocks: number, tail: boolean) => {
    start();
    counted(f, full / OB, () => {
      outBlock(OB, blocks, tail && !grouped);
      next(1);
    });
    if (full < coutG) outBlock(coutG - full, blocks, tail);
    if (!tail || !grouped) return;
    start();
    counted(f, Math.floor(full / OB / tailBlocks), () => {
      tailBlock(tailBlocks * OB, OB);
      next(tailBlocks);
    });
    const rest = (full / OB) % tailBlocks;
    if (rest > 0) tailBlock(rest * OB, OB);
  };

  counted(f, s.groups, () => {
    f.i32Const(0).localSet(tb);
    counted(f, fullTiles, () => {
      tile(TB, false);
      bump(f, tb, 4 * TB * PB);
    });
    if (remBlocks > 0 || tailAt !== undefined) tile(remBlocks, true);
    if (s.groups > 1) {
      bump(f, X, 4 * cinG * s.xcs);
      bump(f, Y, 4 * s.ygs);
      bump(f, W, 4 * coutG * (1 + cinG));
      bump(f, R, 4 * coutG * s.rcs);
    }
  });
}

/** The pointwise WebAssembly emitter with the blocking `choose` picks per spec. */
export function pwconvWasmWith(choose: (s: PwconvSpec) => Blocking): WasmEmitter<PwconvSpec> {
  return {
    unsupported(s) {
      if (s.h * s.w < 4 && (s.xtable || s.ytable)) {
        return `an offset table on a plane of ${s.h * s.w} < 4 pixels`;
      }
      return undefined;
    },
    pack: (s, packed, tables) =>
      packWithTables(s, packed, s.h * s.w < 4 ? SMALL_OB : choose(s).ob, tables),
    body: (s, f, o) => (s.h * s.w < 4 ? smallBody(s, f, o) : body(s, f, o, choose(s))),
    variant(s) {
      const b = choose(s);
      return s.h * s.w < 4 ? `_b${SMALL_OB}x1` : `_b${b.ob}x${4 * b.pv}`;
    },
  };
}

/** The pointwise WebAssembly emitter with the default blocking ({@link pwBlocking}). */
export const pwconvWasm: WasmEmitter<PwconvSpec> = pwconvWasmWith(pwBlocking);
