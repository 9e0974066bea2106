/**
 * WebAssembly SIMD kernels for the general family (codegen/emit_general.ts):
 * the ops real third-party models run outside the specialized families.
 * A table keyed by op kind ({@link GENERAL_WASM}); an op missing there, or a
 * case its entry declines, keeps the TypeScript general kernel (named in
 * codegen's summary as a fallback).
 *
 * - element-wise unary ops: the exp family (`exp`, `sigmoid`, `tanh`,
 *   `silu`, `elu`, `erf`, `log`, `softplus`: polynomials of `_exp.ts`), the clamp family (`relu`,
 *   `relu6`, `clip`, `hardswish`, `hardsigmoid`), `leaky_relu`, `neg`, `abs`,
 *   `sqrt`, `reciprocal`, `dropout`;
 * - `prelu` and `affine`: parameters per channel of axis 1 (or one shared),
 *   splatted per plane;
 * - broadcasting binaries (`add`, `sub`, `mul`, `div`, `max`, `min`, `pow`): the
 *   output's dimensions merged as the TypeScript kernel merges them, vectors
 *   along the innermost one where each operand moves by one element or stays
 *   (a per-channel or scalar operand is splatted), scalar lanes otherwise;
 * - `linear` on `[rows, in]`: blocks of 4 rows x 8 outputs (eight f32x4
 *   accumulators), weights repacked per block of 8 outputs as
 *   `[bias(8)] [in x 8]`;
 * - `pad` (constant, edge, reflect) as row copies;
 * - copies (`transpose`, `channel_shuffle`, `split`, `slice`, a `concat`
 *   part, `reshape`, `flatten`, `const`): nested loops over the merged
 *   dimensions, vectors where both sides move by one element;
 * - `conv_transpose2d` whose windows tile the output (kernel = stride);
 * - `softmax` on any axis;
 * - nearest `resize` (integer upscales as lane shuffles, other scales by index);
 * - `matmul` (batch dimensions broadcast) and `reduce` (mean, sum, max);
 * - `layer_norm` and `instance_norm` (two-pass moments, vector partial sums).
 *
 * Contiguous runs are processed four elements per f32x4; a run whose length
 * is not a multiple of four computes its last (overlapping) vector first and
 * stores it last, so a step whose output is its input (in place) stays right.
 * Runs shorter than four are done one lane at a time.
 *
 * @module
 */

import { F32, type Fn, I32, V128 } from "./binary.ts";
import { applyAct, bump, counted, locals, madd, R, W, type WasmEmitter, X, Y } from "./_simd.ts";
import { expFamily, isExpKind, powOnStack } from "./_exp.ts";
import type { Act, GeneralSpec } from "../spec.ts";
import {
  broadcastSteps,
  matmulLayout,
  mergeDims,
  nearestIndex,
  resizeCoordinate,
  stridesOf,
} from "../emit_general.ts";

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const splat = (f: Fn, v: number) => f.v128Const([v, v, v, v]);

/** What one op kind's WebAssembly kernel needs. */
interface GeneralWasm {
  /** Why this spec is declined (then the TypeScript kernel runs), or undefined. */
  unsupported?(s: GeneralSpec): string | undefined;
  pack?(s: GeneralSpec, packed: Float32Array): Float32Array;
  body(s: GeneralSpec, f: Fn, o: { relaxed: boolean }): void;
}

/**
 * Runs `op` over `n` contiguous elements: `op(v)` turns the v128 local `v`
 * (loaded from `x + 4i`) into the value stored at `y + 4i`. `x`/`y` are i32
 * locals of byte addresses (left unchanged); `extra` loads any other operand
 * for element offset `i` (bytes) into its own locals first.
 */
function run(
  f: Fn,
  n: number,
  x: number,
  y: number,
  op: (v: number, at: (base: number, scalar: boolean) => void) => void,
): void {
  const v = f.local(V128);
  const p = f.local(I32);
  // `at(base, scalar)` pushes the value of operand `base` at the current element(s).
  let scalarOff = 0;
  let scalarMode = false;
  const at = (base: number, scalarOperand: boolean) => {
    if (scalarOperand) {
      f.localGet(base).v128Load32Splat(0);
      return;
    }
    f.localGet(base).localGet(p).i32Add();
    if (scalarMode) f.v128Load32Splat(scalarOff);
    else f.v128Load(0);
  };
  if (n < 4) {
    scalarMode = true;
    f.i32Const(0).localSet(p);
    for (let i = 0; i < n; i++) {
      scalarOff = 4 * i;
      f.localGet(x).localGet(p).i32Add().v128Load32Splat(4 * i).localSet(v);
      op(v, at);
      f.localGet(y).localGet(v).f32x4ExtractLane(0).f32Store(4 * i);
    }
    return;
  }
  const tail = n % 4 !== 0 ? f.local(V128) : -1;
  if (tail >= 0) {
    f.i32Const(4 * (n - 4)).localSet(p);
    f.localGet(x).localGet(p).i32Add().v128Load(0).localSet(v);
    op(v, at);
    f.localGet(v).localSet(tail);
  }
  f.i32Const(0).localSet(p);
  counted(f, Math.floor(n / 4), () => {
    f.localGet(x).localGet(p).i32Add().v128Load(0).localSet(v);
    op(v, at);
    f.localGet(y).localGet(p).i32Add().localGet(v).v128Store(0);
    bump(f, p, 16);
  });
  if (tail >= 0) f.localGet(y).i32Const(4 * (n - 4)).i32Add().localGet(tail).v128Store(0);
}

/**
 * Nested counted loops over `dims` (outermost first): operand `k` starts at
 * the i32 local `bases[k]` and moves `steps[k][d]` elements per step of
 * dimension `d`; `inner` gets each operand's pointer local.
 */
function nestLoops(
  f: Fn,
  dims: readonly number[],
  steps: readonly (readonly number[])[],
  bases: readonly number[],
  inner: (ptrs: number[]) => void,
): void {
  const level = (d: number, ptrs: number[]) => {
    if (d === dims.length) return inner(ptrs);
    const mine = ptrs.map((b) => {
      const l = f.local(I32);
      f.localGet(b).localSet(l);
      return l;
    });
    counted(f, dims[d], () => {
      level(d + 1, mine);
      mine.forEach((l, k) => bump(f, l, 4 * steps[k][d]));
    });
  };
  level(0, [...bases]);
}

/** The activation a clamp-family unary op is, or undefined. */
function actOf(s: GeneralSpec): Act | undefined {
  const a = s.attrs as Record<string, number>;
  switch (s.op) {
    case "relu":
    case "relu6":
    case "hardswish":
      return { kind: s.op };
    case "clip":
      return { kind: "clip", min: a.min, max: a.max };
    case "hardsigmoid":
      return { kind: "hardsigmoid", alpha: a.alpha, beta: a.beta };
  }
  return undefined;
}

/** `v = op(v)` for a unary kind of {@link UNARY_KINDS}. */
function unaryOp(f: Fn, s: GeneralSpec, v: number): void {
  const a = s.attrs as Record<string, number>;
  if (isExpKind(s.op)) return expFamily(f, s.op, v, a.alpha ?? 1);
  const act = actOf(s);
  if (act) return applyAct(f, act, v, true);
  switch (s.op) {
    case "neg":
      f.localGet(v).f32x4Neg().localSet(v);
      return;
    case "abs":
      f.localGet(v).f32x4Abs().localSet(v);
      return;
    case "sqrt":
      f.localGet(v).f32x4Sqrt().localSet(v);
      return;
    case "reciprocal":
      splat(f, 1).localGet(v).f32x4Div().localSet(v);
      return;
    case "leaky_relu":
      // v >= 0 ? v : alpha * v (NaN compares false: alpha * NaN is NaN)
      f.localGet(v).localGet(v);
      splat(f, a.alpha).f32x4Mul().localGet(v);
      splat(f, 0).f32x4Ge().v128Bitselect().localSet(v);
      return;
    case "dropout":
      return;
  }
  throw new RangeError(`No WebAssembly form of unary op "${s.op}"`);
}

/** Unary kinds with a WebAssembly kernel. */
const UNARY_KINDS = [
  "exp",
  "erf",
  "log",
  "softplus",
  "sigmoid",
  "tanh",
  "silu",
  "elu",
  "relu",
  "relu6",
  "clip",
  "hardswish",
  "hardsigmoid",
  "leaky_relu",
  "neg",
  "abs",
  "sqrt",
  "reciprocal",
  "dropout",
] as const;

const unary: GeneralWasm = {
  body(s, f) {
    run(f, size(s.ys), X, Y, (v) => unaryOp(f, s, v));
  },
};

/** `[outer, c, inner]` around axis 1 (the whole tensor as one channel below rank 2). */
function channels(shape: readonly number[]): [number, number, number] {
  if (shape.length < 2) return [1, 1, size(shape)];
  return [shape[0], shape[1], size(shape.slice(2))];
}

/**
 * A per-channel op on axis 1: `op(v, a, d)` with `a` (and `d`) the splatted
 * parameters `first` (and `second`) of the channel, or the single shared pair
 * when the op has one channel.
 */
function perChannel(
  first: string,
  second: string | undefined,
  op: (f: Fn, v: number, a: number, d: number) => void,
): GeneralWasm {
  return {
    body(s, f) {
      const shared = (s.attrs as { channels: number }).channels === 1;
      const [outer, c, inner] = channels(s.xs[0]);
      const w0 = f.local(I32);
      f.localGet(W).i32Const(4 * s.params[first]).i32Add().localSet(w0);
      const [a, d] = locals(f, V128, 2);
      const gap = second === undefined ? 0 : 4 * (s.params[second] - s.params[first]);
      nestLoops(
        f,
        [outer, c],
        [[c * inner, inner], [c * inner, inner], [0, shared ? 0 : 1]],
        [X, Y, w0],
        ([x, y, w]) => {
          f.localGet(w).v128Load32Splat(0).localSet(a);
          if (second !== undefined) f.localGet(w).v128Load32Splat(gap).localSet(d);
          run(f, inner, x, y, (v) => op(f, v, a, d));
        },
      );
    },
  };
}

/** `x >= 0 ? x : slope[c] * x`. */
const prelu = perChannel("weight", undefined, (f, v, a) => {
  f.localGet(v).localGet(v).localGet(a).f32x4Mul().localGet(v);
  splat(f, 0).f32x4Ge().v128Bitselect().localSet(v);
});

/** `x * weight[c] + bias[c]` (an unfolded BatchNorm of any rank). */
const affine = perChannel("weight", "bias", (f, v, a, d) => {
  f.localGet(v).localGet(a).f32x4Mul().localGet(d).f32x4Add().localSet(v);
});

const BINARY: Record<string, (f: Fn) => void> = {
  add: (f) => f.f32x4Add(),
  sub: (f) => f.f32x4Sub(),
  mul: (f) => f.f32x4Mul(),
  div: (f) => f.f32x4Div(),
  // IEEE max/min like Math.max/min: NaN propagates, -0 < +0.
  max: (f) => f.f32x4Max(),
  min: (f) => f.f32x4Min(),
  pow: powOnStack,
};

/** Numpy-broadcasting `y = x op r`. */
const binary: GeneralWasm = {
  body(s, f) {
    const combine = BINARY[s.op];
    const { dims, steps } = mergeDims(s.ys, [
      broadcastSteps(s.xs[0], s.ys),
      broadcastSteps(s.xs[1], s.ys),
      stridesOf(s.ys),
    ]);
    if (dims.length === 0) dims.push(1), steps.forEach((st) => st.push(1));
    const last = dims.length - 1;
    const [xs, rs] = [steps[0][last], steps[1][last]];
    const contiguous = (k: number) => k === 0 || k === 1;
    const outer = dims.slice(0, last);
    const outerSteps = steps.map((st) => st.slice(0, last));
    nestLoops(f, outer, outerSteps, [X, R, Y], ([x, r, y]) => {
      if (contiguous(xs) && contiguous(rs)) {
        // x walks with y or is splatted; r is read through `at`.
        run(f, dims[last], xs === 1 ? x : y, y, (v, at) => {
          if (xs === 0) f.localGet(x).v128Load32Splat(0).localSet(v);
          f.localGet(v);
          at(r, rs === 0);
          combine(f);
          f.localSet(v);
        });
        return;
      }
      // A strided innermost operand (a broadcast that merges no further): one lane at a time.
      const [xp, rp, yp] = locals(f, I32, 3);
      f.localGet(x).localSet(xp).localGet(r).localSet(rp).localGet(y).localSet(yp);
      counted(f, dims[last], () => {
        f.localGet(yp).localGet(xp).v128Load32Splat(0).localGet(rp).v128Load32Splat(0);
        combine(f);
        f.f32x4ExtractLane(0).f32Store(0);
        bump(f, xp, 4 * xs);
        bump(f, rp, 4 * rs);
        bump(f, yp, 4);
      });
    });
  },
};

/** Outputs per block of the general linear kernel (two f32x4). */
const LIN_OB = 8;
/** Rows per block of the general linear kernel. */
const LIN_RB = 4;

/** `y[n, o] = bias[o] + sum_i x[n, i] w[o, i]`, blocks of 4 rows x 8 outputs. */
const linear: GeneralWasm = {
  pack(s, packed) {
    const a = s.attrs as { inFeatures: number; outFeatures: number; bias: boolean };
    const [nin, nout] = [a.inFeatures, a.outFeatures];
    const blocks = Math.ceil(nout / LIN_OB);
    const out = new Float32Array(blocks * LIN_OB * (1 + nin));
    for (let b = 0; b < blocks; b++) {
      const base = b * LIN_OB * (1 + nin);
      for (let j = 0; j < LIN_OB && b * LIN_OB + j < nout; j++) {
        const o = b * LIN_OB + j;
        out[base + j] = a.bias ? packed[s.params.bias + o] : 0;
        for (let i = 0; i < nin; i++) {
          out[base + LIN_OB * (1 + i) + j] = packed[s.params.weight + o * nin + i];
        }
      }
    }
    return out;
  },
  body(s, f, o) {
    const a = s.attrs as { inFeatures: number; outFeatures: number };
    const [nin, nout] = [a.inFeatures, a.outFeatures];
    const rows = size(s.xs[0]) / nin;
    const acc = locals(f, V128, LIN_RB * 2);
    const [wb, xb, yb, wc, xc] = locals(f, I32, 5);
    const [wv0, wv1, xs] = locals(f, V128, 3);
    const tile = (rb: number, ob: number) => {
      const nv = Math.ceil(ob / 4);
      for (let r = 0; r < rb; r++) {
        for (let v = 0; v < nv; v++) f.localGet(wb).v128Load(16 * v).localSet(acc[2 * r + v]);
      }
      f.localGet(wb).i32Const(4 * LIN_OB).i32Add().localSet(wc);
      f.localGet(xb).localSet(xc);
      counted(f, nin, () => {
        f.localGet(wc).v128Load(0).localSet(wv0);
        if (nv > 1) f.localGet(wc).v128Load(16).localSet(wv1);
        for (let r = 0; r < rb; r++) {
          f.localGet(xc).v128Load32Splat(4 * r * nin).localSet(xs);
          madd(f, o, wv0, xs, acc[2 * r]);
          if (nv > 1) madd(f, o, wv1, xs, acc[2 * r + 1]);
        }
        bump(f, wc, 4 * LIN_OB);
        bump(f, xc, 4);
      });
      for (let r = 0; r < rb; r++) {
        for (let v = 0; v < nv; v++) {
          const lanes = Math.min(4, ob - 4 * v);
          const off = 4 * (r * nout + 4 * v);
          if (lanes === 4) f.localGet(yb).localGet(acc[2 * r + v]).v128Store(off);
          else {
            for (let l = 0; l < lanes; l++) {
              f.localGet(yb).localGet(acc[2 * r + v]).f32x4ExtractLane(l).f32Store(off + 4 * l);
            }
          }
        }
      }
    };
    const rowBlocks = (ob: number) => {
      f.localGet(X).localSet(xb);
      counted(f, Math.floor(rows / LIN_RB), () => {
        tile(LIN_RB, ob);
        bump(f, xb, 4 * LIN_RB * nin);
        bump(f, yb, 4 * LIN_RB * nout);
      });
      if (rows % LIN_RB) tile(rows % LIN_RB, ob);
    };
    const ybase = f.local(I32);
    f.localGet(W).localSet(wb);
    f.localGet(Y).localSet(ybase);
    const full = Math.floor(nout / LIN_OB);
    counted(f, full, () => {
      f.localGet(ybase).localSet(yb);
      rowBlocks(LIN_OB);
      bump(f, wb, 4 * LIN_OB * (1 + nin));
      bump(f, ybase, 4 * LIN_OB);
    });
    if (nout % LIN_OB) {
      f.localGet(ybase).localSet(yb);
      rowBlocks(nout % LIN_OB);
    }
  },
};

/** Most copies of the innermost row code a pad kernel may hold (3 per edge/reflect-padded axis). */
const PAD_MAX_BODIES = 81;

/**
 * Writes `count` copies of the constant `value` at the output cursor `yp`
 * (vectors, then lanes), advancing it.
 */
function fill(f: Fn, yp: number, count: number, value: number): void {
  if (count >= 4) {
    counted(f, Math.floor(count / 4), () => {
      f.localGet(yp);
      splat(f, value).v128Store(0);
      bump(f, yp, 16);
    });
  }
  for (let i = 0; i < count % 4; i++) f.localGet(yp).f32Const(value).f32Store(4 * i);
  bump(f, yp, 4 * (count % 4));
}

/** The input coordinate of output coordinate `o` on a padded axis (edge or reflect). */
function padSource(mode: string, o: number, begin: number, n: number): number {
  const c = o - begin;
  if (mode === "edge") return Math.min(Math.max(c, 0), n - 1);
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((c % period) + period) % period;
  return m >= n ? period - m : m;
}

/**
 * ONNX Pad as copies, the output written in order through one cursor: per
 * axis, the `begin` padding (constant: one fill of the whole block; edge and
 * reflect: the inner code run on the border or mirrored input blocks), the
 * input's `n` blocks, then the `end` padding; the last axis copies its row
 * with vectors and writes its few border elements one by one.
 */
const pad: GeneralWasm = {
  unsupported(s) {
    const a = s.attrs as { pads: readonly number[]; mode: string };
    const r = s.xs[0].length;
    const padded = s.xs[0].slice(0, r - 1).filter((_, d) => a.pads[d] + a.pads[d + r] > 0);
    if (a.mode !== "constant" && 3 ** padded.length > PAD_MAX_BODIES) {
      return `${a.mode} padding on ${padded.length + 1} axes`;
    }
    return undefined;
  },
  body(s, f) {
    const a = s.attrs as { pads: readonly number[]; mode: string; value: number };
    const xs = s.xs[0];
    const r = xs.length;
    const xstr = stridesOf(xs);
    const ystr = stridesOf(s.ys);
    const yp = f.local(I32);
    f.localGet(Y).localSet(yp);
    const constant = a.mode === "constant";
    const axis = (d: number, x: number) => {
      const [begin, end, n] = [a.pads[d], a.pads[d + r], xs[d]];
      if (d === r - 1) {
        const border = (from: number, count: number) => {
          if (constant) return fill(f, yp, count, a.value);
          for (let j = 0; j < count; j++) {
            const c = padSource(a.mode, from + j, begin, n);
            f.localGet(yp).localGet(x).f32Load(4 * c).f32Store(4 * j);
          }
          bump(f, yp, 4 * count);
        };
        border(0, begin);
        run(f, n, x, yp, () => {});
        bump(f, yp, 4 * n);
        border(begin + n, end);
        return;
      }
      // Blocks of axis d from input block `c0`, moving `step` input blocks each.
      const blocks = (count: number, c0: number, step: number) => {
        if (count === 0) return;
        const xl = f.local(I32);
        f.localGet(x);
        if (c0 !== 0) f.i32Const(4 * c0 * xstr[d]).i32Add();
        f.localSet(xl);
        counted(f, count, () => {
          axis(d + 1, xl);
          bump(f, xl, 4 * step * xstr[d]);
        });
      };
      const side = (count: number, first: number) => {
        if (count === 0) return;
        if (constant) return fill(f, yp, count * ystr[d], a.value);
        if (a.mode === "edge") return blocks(count, padSource("edge", first, begin, n), 0);
        // reflect: consecutive output blocks read consecutive input blocks backwards
        blocks(count, padSource("reflect", first, begin, n), -1);
      };
      side(begin, 0);
      blocks(n, 0, 1);
      side(end, begin + n);
    };
    axis(0, X);
  },
};

/**
 * Copies the positions of `shape` (dimensions merged as the TypeScript kernel
 * merges them): input position at `X + xAt` moving `xsteps`, output at
 * `Y + yAt` moving `ysteps` (elements). Vectors where the innermost merged
 * dimension moves both by one element, else one element at a time, four per
 * loop turn. `from` is the input's base local (`X`, or `W` for a constant).
 */
function copyNest(
  f: Fn,
  shape: readonly number[],
  xsteps: readonly number[],
  ysteps: readonly number[],
  xAt: number,
  yAt: number,
  from = X,
): void {
  const { dims, steps } = mergeDims(shape, [xsteps, ysteps]);
  if (dims.length === 0) dims.push(1), steps.forEach((st) => st.push(1));
  const last = dims.length - 1;
  const [n, xs, ys] = [dims[last], steps[0][last], steps[1][last]];
  const [x0, y0] = locals(f, I32, 2);
  f.localGet(from).i32Const(4 * xAt).i32Add().localSet(x0);
  f.localGet(Y).i32Const(4 * yAt).i32Add().localSet(y0);
  nestLoops(f, dims.slice(0, last), steps.map((st) => st.slice(0, last)), [x0, y0], ([x, y]) => {
    if (xs === 1 && ys === 1) return run(f, n, x, y, () => {});
    const [xp, yp] = locals(f, I32, 2);
    f.localGet(x).localSet(xp).localGet(y).localSet(yp);
    const copies = (count: number) => {
      for (let j = 0; j < count; j++) {
        f.localGet(yp).localGet(xp).f32Load(4 * j * xs).f32Store(4 * j * ys);
      }
    };
    counted(f, Math.floor(n / 4), () => {
      copies(4);
      bump(f, xp, 16 * xs);
      bump(f, yp, 16 * ys);
    });
    copies(n % 4);
  });
}

/** A kernel that copies: `copy(s, f)` calls {@link copyNest}. */
const copying = (copy: (s: GeneralSpec, f: Fn) => void): GeneralWasm => ({ body: copy });

/** numpy transpose: output axis `d` is input axis `perm[d]`. */
function permuted(f: Fn, xs: readonly number[], ys: readonly number[], perm: readonly number[]) {
  const xstr = stridesOf(xs);
  copyNest(f, ys, perm.map((p) => xstr[p]), stridesOf(ys), 0, 0);
}

const transpose = copying((s, f) =>
  permuted(f, s.xs[0], s.ys, (s.attrs as { perm: readonly number[] }).perm)
);

/** ShuffleNet's shuffle: `[N, g, C / g, rest]` read as `[N, C / g, g, rest]`. */
const channelShuffle = copying((s, f) => {
  const [n, c] = s.xs[0];
  const g = (s.attrs as { groups: number }).groups;
  const rest = size(s.xs[0].slice(2));
  permuted(f, [n, g, c / g, rest], [n, c / g, g, rest], [0, 2, 1, 3]);
});

/** Every element in order (reshape, flatten, dropout). */
const copyAll = copying((s, f) => copyNest(f, [size(s.ys)], [1], [1], 0, 0));

/** A stored constant: its packed `value` copied out. */
const constant = copying((s, f) => copyNest(f, [size(s.ys)], [1], [1], s.params.value, 0, W));

/** Elements `start, start + step, ...` of one axis (split: step 1 from `offset`). */
function sliced(s: GeneralSpec, f: Fn, axis: number | undefined, start: number, step: number) {
  const xs = s.xs[0];
  const a = axis === undefined ? 1 : axis < 0 ? axis + xs.length : axis;
  const xstr = stridesOf(xs);
  copyNest(
    f,
    s.ys,
    xstr.map((v, d) => (d === a ? v * step : v)),
    stridesOf(s.ys),
    start * xstr[a],
    0,
  );
}

const split = copying((s, f) => {
  const a = s.attrs as { axis?: number; offset: number };
  sliced(s, f, a.axis, a.offset, 1);
});

const slice = copying((s, f) => {
  const a = s.attrs as { axis: number; start: number; step: number };
  sliced(s, f, a.axis, a.start, a.step);
});

/** One input of a concat, written into its slice of the output (`spec.part`). */
const concatPart: GeneralWasm = {
  unsupported: (s) => (s.part ? undefined : "a concat without its part"),
  body(s, f) {
    const { axis, offset } = s.part!;
    const ystr = stridesOf(s.ys);
    copyNest(f, s.xs[0], stridesOf(s.xs[0]), ystr, 0, offset * ystr[axis]);
  },
};

interface ConvTransposeAttrs {
  outChannels: number;
  kernel: readonly [number, number];
  stride: readonly [number, number];
  padding: readonly number[];
  outputPadding: readonly [number, number];
  dilation: readonly [number, number];
  groups: number;
  bias: boolean;
}

/** Widest kernel row of the conv_transpose2d kernel (one accumulator per kernel column). */
const CT_MAX_KW = 8;

/**
 * Transposed convolution whose windows tile the output (kernel = stride,
 * no padding, dilation 1, one group: the upsampling of detection heads).
 * Output pixel `(iy s + ky, ix s + kx)` of channel `oc` is
 * `bias[oc] + sum_ic w[ic, oc, ky, kx] x[ic, iy, ix]`: per output channel,
 * input row and kernel row, four input pixels at a time, one accumulator
 * per kernel column; stride 2 interleaves the two columns with shuffles
 * into two vector stores, other strides store lane by lane. Weights
 * repacked as `[bias(cout)]`, then `[oc][ky][ic][kx]`.
 */
const convTranspose: GeneralWasm = {
  unsupported(s) {
    const a = s.attrs as unknown as ConvTransposeAttrs;
    if (a.groups !== 1) return "groups";
    if (a.kernel[0] !== a.stride[0] || a.kernel[1] !== a.stride[1]) {
      return "overlapping windows (kernel != stride)";
    }
    if (a.padding.some((v) => v !== 0) || a.outputPadding.some((v) => v !== 0)) {
      return "padding";
    }
    if (a.dilation[0] !== 1 || a.dilation[1] !== 1) return "dilation";
    if (a.kernel[1] > CT_MAX_KW) return `a kernel wider than ${CT_MAX_KW}`;
    return undefined;
  },
  pack(s, packed) {
    const a = s.attrs as unknown as ConvTransposeAttrs;
    const [, cin] = s.xs[0];
    const cout = a.outChannels;
    const [kh, kw] = a.kernel;
    const out = new Float32Array(cout + cout * kh * cin * kw);
    for (let oc = 0; oc < cout; oc++) {
      out[oc] = a.bias ? packed[s.params.bias + oc] : 0;
      for (let ky = 0; ky < kh; ky++) {
        for (let ic = 0; ic < cin; ic++) {
          for (let kx = 0; kx < kw; kx++) {
            out[cout + ((oc * kh + ky) * cin + ic) * kw + kx] =
              packed[s.params.weight + ((ic * cout + oc) * kh + ky) * kw + kx];
          }
        }
      }
    }
    return out;
  },
  body(s, f, o) {
    const a = s.attrs as unknown as ConvTransposeAttrs;
    const [, cin, h, w] = s.xs[0];
    const cout = a.outChannels;
    const [kh, kw] = a.kernel;
    const ow = w * kw;
    const acc = locals(f, V128, kw);
    const [bias, xv, wv] = locals(f, V128, 3);
    const [wo, yc, xr, yr, xc, wc, p] = locals(f, I32, 7);
    // One block of four input pixels at byte offset `p` of the row (`lanes` of them valid).
    const pixels = (ky: number, lanes: number) => {
      for (let kx = 0; kx < kw; kx++) f.localGet(bias).localSet(acc[kx]);
      f.localGet(xr).localGet(p).i32Add().localSet(xc);
      f.localGet(wo).i32Const(4 * ky * cin * kw).i32Add().localSet(wc);
      counted(f, cin, () => {
        f.localGet(xc).v128Load(0).localSet(xv);
        for (let kx = 0; kx < kw; kx++) {
          f.localGet(wc).v128Load32Splat(4 * kx).localSet(wv);
          madd(f, o, wv, xv, acc[kx]);
        }
        bump(f, xc, 4 * h * w);
        bump(f, wc, 4 * kw);
      });
      // Output row iy * kh + ky from column ix * kw: p * kw bytes into the row.
      const row = 4 * ky * ow;
      if (kw === 2 && lanes === 4) {
        for (
          const [half, lanesOf] of [[0, [0, 4, 1, 5]], [16, [2, 6, 3, 7]]] as [
            number,
            [number, number, number, number],
          ][]
        ) {
          f.localGet(yr).localGet(p).localGet(p).i32Add().i32Add();
          f.localGet(acc[0]).localGet(acc[1]).f32x4Shuffle(lanesOf).v128Store(row + half);
        }
        return;
      }
      for (let l = 0; l < lanes; l++) {
        for (let kx = 0; kx < kw; kx++) {
          f.localGet(yr).localGet(p).i32Const(kw).i32Mul().i32Add();
          f.localGet(acc[kx]).f32x4ExtractLane(l).f32Store(row + 4 * (l * kw + kx));
        }
      }
    };
    f.localGet(W).i32Const(4 * cout).i32Add().localSet(wo);
    f.localGet(Y).localSet(yc);
    const biasAt = f.local(I32);
    f.localGet(W).localSet(biasAt);
    counted(f, cout, () => {
      f.localGet(biasAt).v128Load32Splat(0).localSet(bias);
      f.localGet(X).localSet(xr);
      f.localGet(yc).localSet(yr);
      counted(f, h, () => {
        for (let ky = 0; ky < kh; ky++) {
          if (w < 4) {
            // One vector whose lanes past the row are read (memory that exists) and ignored.
            f.i32Const(0).localSet(p);
            pixels(ky, w);
            continue;
          }
          f.i32Const(0).localSet(p);
          counted(f, Math.floor(w / 4), () => {
            pixels(ky, 4);
            bump(f, p, 16);
          });
          // The last four pixels again (stores only: same values).
          if (w % 4 !== 0) {
            f.i32Const(4 * (w - 4)).localSet(p);
            pixels(ky, 4);
          }
        }
        bump(f, xr, 4 * w);
        bump(f, yr, 4 * kh * ow);
      });
      bump(f, biasAt, 4);
      bump(f, wo, 4 * kh * cin * kw);
      bump(f, yc, 4 * kh * ow * h);
    });
  },
};

/** Pushes the f32 of `op` over the four lanes of the v128 local `v` (`op` an f32 binary). */
function horizontal(f: Fn, v: number, op: (f: Fn) => void): void {
  f.localGet(v).f32x4ExtractLane(0).localGet(v).f32x4ExtractLane(1);
  op(f);
  f.localGet(v).f32x4ExtractLane(2).localGet(v).f32x4ExtractLane(3);
  op(f);
  op(f);
}

/**
 * Softmax along an axis viewed as `[outer, n, inner]`, consecutive positions
 * along the axis `xcs` (input) and `ycs` (output) elements apart (`inner`
 * for a dense tensor; the channel strides of the softmax family): max, then
 * `e^(x - max)` (the polynomial exp) stored and summed, then scaled by
 * `1 / sum`. With `inner` 1 and dense rows the vectors run along the axis,
 * the last partial vector first, its overlapping lanes masked out of the max
 * and the sum and stored last; otherwise four positions of `inner` at a time
 * along the axis, the `inner % 4` last positions as single lanes. Sums in f32
 * (the reference sums in float64).
 */
export function softmaxBody(
  f: Fn,
  g: { outer: number; n: number; inner: number; xcs: number; ycs: number },
): void {
  {
    const { outer, n, inner, xcs, ycs } = g;
    const [m, e, sum, t] = locals(f, V128, 4);
    const [xr, yr, q] = locals(f, I32, 3);
    f.localGet(X).localSet(xr);
    f.localGet(Y).localSet(yr);
    if (inner === 1 && xcs === 1 && ycs === 1 && n >= 4) {
      const full = Math.floor(n / 4);
      const rest = n % 4;
      // Lanes of the last vector (at n - 4) that the full vectors already cover.
      const fresh = [0, 1, 2, 3].map((l) => (l >= 4 - rest ? -1 : 0));
      const maskFresh = () => f.i32x4Const(fresh).v128And();
      counted(f, outer, () => {
        // max (a repeated lane changes no max)
        f.localGet(xr).v128Load(0).localSet(m);
        f.localGet(xr).localSet(q);
        counted(f, full, () => {
          f.localGet(m).localGet(q).v128Load(0).f32x4Max().localSet(m);
          bump(f, q, 16);
        });
        if (rest) f.localGet(m).localGet(xr).v128Load(4 * (n - 4)).f32x4Max().localSet(m);
        horizontal(f, m, (f) => f.f32Max());
        f.f32x4Splat().localSet(m);
        // e^(x - max), stored and summed: the last vector first (in place safe), kept in t
        splat(f, 0).localSet(sum);
        if (rest) {
          f.localGet(xr).v128Load(4 * (n - 4)).localGet(m).f32x4Sub().localSet(t);
          expFamily(f, "exp", t);
          f.localGet(sum).localGet(t);
          maskFresh();
          f.f32x4Add().localSet(sum);
        }
        f.i32Const(0).localSet(q);
        counted(f, full, () => {
          f.localGet(xr).localGet(q).i32Add().v128Load(0).localGet(m).f32x4Sub().localSet(e);
          expFamily(f, "exp", e);
          f.localGet(yr).localGet(q).i32Add().localGet(e).v128Store(0);
          f.localGet(sum).localGet(e).f32x4Add().localSet(sum);
          bump(f, q, 16);
        });
        if (rest) f.localGet(yr).localGet(t).v128Store(4 * (n - 4));
        splat(f, 1);
        horizontal(f, sum, (f) => f.f32Add());
        f.f32x4Splat().f32x4Div().localSet(sum);
        run(f, n, yr, yr, (v) => f.localGet(v).localGet(sum).f32x4Mul().localSet(v));
        bump(f, xr, 4 * n);
        bump(f, yr, 4 * n);
      });
      return;
    }
    // Along the axis at `inner` positions, `lanes` of them (4, or 1 through lane 0).
    const positions = (lanes: number) => {
      const load = (base: number) => {
        f.localGet(base);
        if (lanes === 4) f.v128Load(0);
        else f.v128Load32Splat(0);
      };
      f.localGet(xr).localSet(q);
      load(q);
      f.localSet(m);
      counted(f, n - 1, () => {
        bump(f, q, 4 * xcs);
        f.localGet(m);
        load(q);
        f.f32x4Max().localSet(m);
      });
      splat(f, 0).localSet(sum);
      const yq = f.local(I32);
      f.localGet(xr).localSet(q);
      f.localGet(yr).localSet(yq);
      counted(f, n, () => {
        load(q);
        f.localGet(m).f32x4Sub().localSet(e);
        expFamily(f, "exp", e);
        f.localGet(yq).localGet(e);
        if (lanes === 4) f.v128Store(0);
        else f.f32x4ExtractLane(0).f32Store(0);
        f.localGet(sum).localGet(e).f32x4Add().localSet(sum);
        bump(f, q, 4 * xcs);
        bump(f, yq, 4 * ycs);
      });
      splat(f, 1).localGet(sum).f32x4Div().localSet(sum);
      f.localGet(yr).localSet(yq);
      counted(f, n, () => {
        f.localGet(yq);
        load(yq);
        f.localGet(sum).f32x4Mul();
        if (lanes === 4) f.v128Store(0);
        else f.f32x4ExtractLane(0).f32Store(0);
        bump(f, yq, 4 * ycs);
      });
    };
    counted(f, outer, () => {
      const [x0, y0] = locals(f, I32, 2);
      f.localGet(xr).localSet(x0).localGet(yr).localSet(y0);
      counted(f, Math.floor(inner / 4), () => {
        positions(4);
        bump(f, xr, 16);
        bump(f, yr, 16);
      });
      counted(f, inner % 4, () => {
        positions(1);
        bump(f, xr, 4);
        bump(f, yr, 4);
      });
      f.localGet(x0).i32Const(4 * n * xcs).i32Add().localSet(xr);
      f.localGet(y0).i32Const(4 * n * ycs).i32Add().localSet(yr);
    });
  }
}

const softmax: GeneralWasm = {
  body(s, f) {
    const raw = (s.attrs as { axis?: number }).axis ?? 1;
    const axis = raw < 0 ? raw + s.ys.length : raw;
    const inner = size(s.ys.slice(axis + 1));
    const g = { outer: size(s.ys.slice(0, axis)), n: s.ys[axis], inner, xcs: inner, ycs: inner };
    softmaxBody(f, g);
  },
};

interface ResizeAttrs {
  mode: string;
  coordinateTransformation: string;
  nearestMode: string;
  scales?: readonly number[];
}

/** Most output positions whose source indices are unrolled (the last axis; the outer ones together). */
const RESIZE_MAX_UNROLLED = 64;

/**
 * Per axis of a nearest resize: `undefined` when the axis keeps its size,
 * else the source index of each output position (the TypeScript kernel's
 * rule, lib/ops/resize.ts) and, when every input repeats `repeat` times in
 * order (an integer upscale), that factor.
 */
function resizeAxes(s: GeneralSpec): ({ idx: number[]; repeat?: number } | undefined)[] {
  const a = s.attrs as unknown as ResizeAttrs;
  return s.xs[0].map((n, d) => {
    const m = s.ys[d];
    if (n === m && (a.scales?.[d] ?? 1) === 1) return undefined;
    const idx = Array.from({ length: m }, (_, o) =>
      nearestIndex(
        a.nearestMode,
        resizeCoordinate(a.coordinateTransformation, o, n, m, a.scales?.[d]),
        n,
      ));
    const f = m / n;
    const repeat = Number.isInteger(f) && idx.every((i, o) => i === Math.floor(o / f));
    return { idx, repeat: repeat ? f : undefined };
  });
}

/**
 * Nearest resize as copies, the output written in order through one cursor:
 * an axis that keeps its size loops over its blocks; an integer upscale
 * loops over the input blocks, each repeated; any other resized axis unrolls
 * its source indices (at most {@link RESIZE_MAX_UNROLLED}). The last axis
 * repeats each input vector's lanes with `i8x16.shuffle`s (an integer
 * upscale), or copies element by element from its index table.
 */
const resize: GeneralWasm = {
  unsupported(s) {
    if ((s.attrs as unknown as ResizeAttrs).mode !== "nearest") return "linear interpolation";
    const axes = resizeAxes(s);
    const last = axes[axes.length - 1];
    if (last && !last.repeat && last.idx.length > RESIZE_MAX_UNROLLED) {
      return `a non-integer scale to ${last.idx.length} positions on the last axis`;
    }
    // Unrolled outer axes multiply: their product of positions bounds the code size.
    const unrolled = axes.slice(0, -1).reduce((p, r) => p * (r && !r.repeat ? r.idx.length : 1), 1);
    return unrolled > RESIZE_MAX_UNROLLED
      ? `non-integer scales to ${unrolled} outer positions`
      : undefined;
  },
  body(s, f) {
    const axes = resizeAxes(s);
    const xs = s.xs[0];
    const r = xs.length;
    const xstr = stridesOf(xs);
    const yp = f.local(I32);
    f.localGet(Y).localSet(yp);
    const v = f.local(V128);
    const row = (x: number) => {
      const n = xs[r - 1];
      const ax = axes[r - 1];
      if (!ax) {
        run(f, n, x, yp, () => {});
        bump(f, yp, 4 * n);
        return;
      }
      const k = ax.repeat;
      const scalar = (from: number, to: number) => {
        for (let o = from; o < to; o++) {
          f.localGet(yp).localGet(x).f32Load(4 * ax.idx[o]).f32Store(4 * (o - from));
        }
        bump(f, yp, 4 * (to - from));
      };
      if (!k || n < 4) return scalar(0, ax.idx.length);
      const xp = f.local(I32);
      f.localGet(x).localSet(xp);
      counted(f, Math.floor(n / 4), () => {
        f.localGet(xp).v128Load(0).localSet(v);
        for (let j = 0; j < k; j++) {
          const lanes = [0, 1, 2, 3].map((l) => Math.floor((4 * j + l) / k)) as [
            number,
            number,
            number,
            number,
          ];
          f.localGet(yp).localGet(v).localGet(v).f32x4Shuffle(lanes).v128Store(16 * j);
        }
        bump(f, xp, 16);
        bump(f, yp, 16 * k);
      });
      const done = 4 * Math.floor(n / 4) * k;
      scalar(done, ax.idx.length);
    };
    const axis = (d: number, x: number) => {
      if (d === r - 1) return row(x);
      const ax = axes[d];
      if (ax && !ax.repeat) {
        for (const i of ax.idx) {
          const xl = f.local(I32);
          f.localGet(x).i32Const(4 * i * xstr[d]).i32Add().localSet(xl);
          axis(d + 1, xl);
        }
        return;
      }
      const xl = f.local(I32);
      f.localGet(x).localSet(xl);
      counted(f, xs[d], () => {
        if (ax) counted(f, ax.repeat!, () => axis(d + 1, xl));
        else axis(d + 1, xl);
        bump(f, xl, 4 * xstr[d]);
      });
    };
    axis(0, X);
  },
};

/**
 * numpy matmul `[..., m, k] x [..., k, n]` (batch dimensions broadcast, a
 * rank-1 operand as a row or a column): per batch and row, four outputs at a
 * time (the last partial vector overlapping, or lanes stored one by one when
 * `n < 4`), each `k` step one splatted left element times a vector of the
 * right row.
 */
const matmul: GeneralWasm = {
  body(s, f, o) {
    const { m, k, n, batch, steps } = matmulLayout(s.xs);
    const [acc, av, bv] = locals(f, V128, 3);
    const [xc, rc, p] = locals(f, I32, 3);
    nestLoops(f, batch, steps, [X, R, Y], ([x, r, y]) => {
      const [xi, yi] = locals(f, I32, 2);
      f.localGet(x).localSet(xi).localGet(y).localSet(yi);
      // Four outputs from column byte offset `p` (`lanes` of them stored).
      const block = (lanes: number) => {
        splat(f, 0).localSet(acc);
        f.localGet(xi).localSet(xc);
        f.localGet(r).localGet(p).i32Add().localSet(rc);
        counted(f, k, () => {
          f.localGet(xc).v128Load32Splat(0).localSet(av);
          f.localGet(rc).v128Load(0).localSet(bv);
          madd(f, o, av, bv, acc);
          bump(f, xc, 4);
          bump(f, rc, 4 * n);
        });
        f.localGet(yi).localGet(p).i32Add();
        if (lanes === 4) f.localGet(acc).v128Store(0);
        else {
          f.localSet(xc);
          for (let l = 0; l < lanes; l++) {
            f.localGet(xc).localGet(acc).f32x4ExtractLane(l).f32Store(4 * l);
          }
        }
      };
      counted(f, m, () => {
        f.i32Const(0).localSet(p);
        if (n < 4) block(n);
        else {
          counted(f, Math.floor(n / 4), () => {
            block(4);
            bump(f, p, 16);
          });
          if (n % 4) {
            f.i32Const(4 * (n - 4)).localSet(p);
            block(4);
          }
        }
        bump(f, xi, 4 * k);
        bump(f, yi, 4 * n);
      });
    });
  },
};

/**
 * Mean, sum or max over `axes`, the outputs in order: per kept position, the
 * reduced positions summed (or maxed) in one f32 accumulator, four partial
 * ones when the reduced positions are one contiguous run of at least four.
 */
const reduce: GeneralWasm = {
  body(s, f) {
    const a = s.attrs as { op: "mean" | "sum" | "max"; axes: readonly number[] };
    const xs = s.xs[0];
    const axes = new Set(a.axes.map((v) => (v < 0 ? v + xs.length : v)));
    const xstr = stridesOf(xs);
    const kept = xs.map((_, d) => d).filter((d) => !axes.has(d));
    const reduced = xs.map((_, d) => d).filter((d) => axes.has(d));
    const count = size(reduced.map((d) => xs[d]));
    const max = a.op === "max";
    const inner = mergeDims(reduced.map((d) => xs[d]), [reduced.map((d) => xstr[d])]);
    const run1 = inner.dims.length <= 1 && (inner.steps[0][0] ?? 1) === 1;
    const acc = f.local(F32);
    const vacc = f.local(V128);
    const yp = f.local(I32);
    f.localGet(Y).localSet(yp);
    const combine = (vector: boolean) => {
      if (vector) return max ? f.f32x4Max() : f.f32x4Add();
      return max ? f.f32Max() : f.f32Add();
    };
    nestLoops(f, kept.map((d) => xs[d]), [kept.map((d) => xstr[d])], [X], ([base]) => {
      if (run1 && count >= 4) {
        const q = f.local(I32);
        f.localGet(base).localSet(q);
        f.localGet(base).v128Load(0).localSet(vacc);
        counted(f, Math.floor(count / 4) - 1, () => {
          bump(f, q, 16);
          f.localGet(vacc).localGet(q).v128Load(0);
          combine(true);
          f.localSet(vacc);
        });
        horizontal(f, vacc, () => combine(false));
        f.localSet(acc);
        for (let i = count - (count % 4); i < count; i++) {
          f.localGet(acc).localGet(base).f32Load(4 * i);
          combine(false);
          f.localSet(acc);
        }
      } else {
        f.f32Const(max ? -Infinity : 0).localSet(acc);
        nestLoops(f, inner.dims, inner.steps, [base], ([xi]) => {
          f.localGet(acc).localGet(xi).f32Load(0);
          combine(false);
          f.localSet(acc);
        });
      }
      f.localGet(yp).localGet(acc);
      if (a.op === "mean") f.f32Const(count).f32Div();
      f.f32Store(0);
      bump(f, yp, 4);
    });
  },
};

/**
 * Mean and `1 / sqrt(variance + eps)` of `count` contiguous elements at the
 * i32 local `base`, splatted into the v128 locals `mean` and `inv`: two
 * passes as the reference takes them (the sum, then the squared deviations),
 * each four partial sums over whole vectors and single lanes for the rest.
 */
function moments(f: Fn, base: number, count: number, eps: number, mean: number, inv: number) {
  const [acc, d] = locals(f, V128, 2);
  const q = f.local(I32);
  const sum = (value: (load: () => void) => void) => {
    splat(f, 0).localSet(acc);
    f.localGet(base).localSet(q);
    counted(f, Math.floor(count / 4), () => {
      f.localGet(acc);
      value(() => f.localGet(q).v128Load(0));
      f.f32x4Add().localSet(acc);
      bump(f, q, 16);
    });
    // The remaining elements one at a time, in lane 0 (the other lanes masked off).
    for (let i = 0; i < count % 4; i++) {
      f.localGet(acc);
      value(() => splat(f, 0).localGet(q).f32Load(4 * i).f32x4ReplaceLane(0));
      f.i32x4Const([-1, 0, 0, 0]).v128And().f32x4Add().localSet(acc);
    }
    horizontal(f, acc, () => f.f32Add());
  };
  sum((load) => load());
  f.f32Const(count).f32Div().f32x4Splat().localSet(mean);
  // (x - mean)^2 (the remainder's unused lanes are masked off in `sum`).
  sum((load) => {
    load();
    f.localGet(mean).f32x4Sub().localSet(d);
    f.localGet(d).localGet(d).f32x4Mul();
  });
  f.f32Const(count).f32Div().f32Const(eps).f32Add().f32x4Splat().f32x4Sqrt().localSet(d);
  splat(f, 1).localGet(d).f32x4Div().localSet(inv);
}

/** LayerNorm over the axes from `axis`: `(x - mean) * inv * weight[i] + bias[i]` per row. */
const layerNorm: GeneralWasm = {
  body(s, f) {
    const a = s.attrs as { axis: number; eps: number };
    const xs = s.xs[0];
    const axis = a.axis < 0 ? a.axis + xs.length : a.axis;
    const rows = size(xs.slice(0, axis));
    const count = size(xs.slice(axis));
    const [mean, inv] = locals(f, V128, 2);
    const [xr, yr, wl, bl] = locals(f, I32, 4);
    f.localGet(W).i32Const(4 * s.params.weight).i32Add().localSet(wl);
    f.localGet(W).i32Const(4 * s.params.bias).i32Add().localSet(bl);
    f.localGet(X).localSet(xr).localGet(Y).localSet(yr);
    counted(f, rows, () => {
      moments(f, xr, count, a.eps, mean, inv);
      run(f, count, xr, yr, (v, at) => {
        f.localGet(v).localGet(mean).f32x4Sub().localGet(inv).f32x4Mul();
        at(wl, false);
        f.f32x4Mul();
        at(bl, false);
        f.f32x4Add().localSet(v);
      });
      bump(f, xr, 4 * count);
      bump(f, yr, 4 * count);
    });
  },
};

/** InstanceNorm: per (n, c) plane, `(x - mean) * (weight[c] * inv) + bias[c]`. */
const instanceNorm: GeneralWasm = {
  body(s, f) {
    const a = s.attrs as { eps: number };
    const [n, c] = s.xs[0];
    const plane = size(s.xs[0].slice(2));
    const [mean, inv, g, h] = locals(f, V128, 4);
    const [xr, yr, wl] = locals(f, I32, 3);
    const gap = 4 * (s.params.bias - s.params.weight);
    f.localGet(X).localSet(xr).localGet(Y).localSet(yr);
    counted(f, n, () => {
      f.localGet(W).i32Const(4 * s.params.weight).i32Add().localSet(wl);
      counted(f, c, () => {
        moments(f, xr, plane, a.eps, mean, inv);
        f.localGet(wl).v128Load32Splat(0).localGet(inv).f32x4Mul().localSet(g);
        f.localGet(wl).v128Load32Splat(gap).localSet(h);
        run(f, plane, xr, yr, (v) => {
          f.localGet(v).localGet(mean).f32x4Sub().localGet(g).f32x4Mul().localGet(h).f32x4Add()
            .localSet(v);
        });
        bump(f, xr, 4 * plane);
        bump(f, yr, 4 * plane);
        bump(f, wl, 4);
      });
    });
  },
};

/** WebAssembly kernels of the general family, by op kind. */
export const GENERAL_WASM: Record<string, GeneralWasm> = {
  ...Object.fromEntries(UNARY_KINDS.map((k) => [k, unary])),
  prelu,
  affine,
  ...Object.fromEntries(Object.keys(BINARY).map((k) => [k, binary])),
  linear,
  pad,
  transpose,
  channel_shuffle: channelShuffle,
  reshape: copyAll,
  flatten: copyAll,
  const: constant,
  split,
  slice,
  concat: concatPart,
  conv_transpose2d: convTranspose,
  softmax,
  resize,
  matmul,
  reduce,
  layer_norm: layerNorm,
  instance_norm: instanceNorm,
};

/** The general family's WebAssembly emitter: {@link GENERAL_WASM}'s entry for the op. */
export const generalWasm: WasmEmitter<GeneralSpec> = {
  unsupported(s) {
    const k = GENERAL_WASM[s.op];
    if (!k) return `no WebAssembly ${s.op} kernel yet`;
    return k.unsupported?.(s);
  },
  pack: (s, packed) => GENERAL_WASM[s.op].pack?.(s, packed) ?? packed,
  body: (s, f, o) => GENERAL_WASM[s.op].body(s, f, o),
};
