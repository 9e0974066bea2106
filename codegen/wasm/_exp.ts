/**
 * The exponential family on f32x4 lanes: `exp`, `sigmoid`, `tanh`, `silu`,
 * `elu`, `erf`, from one polynomial `exp` (WebAssembly has no transcendental
 * instructions).
 *
 * `exp(x) = 2^n * p(r)`: `n = nearest(x / ln 2)`, `r = x - n ln 2` with ln 2
 * split in two constants (Cody-Waite: `n * LN2_HI` is exact), so
 * `|r| <= ln 2 / 2`, and `p` the degree-6 Taylor polynomial of `e^r`
 * (truncation at most `0.347^7 / 7! = 1.2e-7` relative); `2^n` is built in
 * the exponent bits as `2^(n - 1) * 2`, so `n = 128` still fits. Inputs are
 * clamped to `[EXP_LO, EXP_HI]`; above `EXP_HI` (88.72, where f32 overflows)
 * the result is `+Infinity`, below `EXP_LO` (-86.6, results under 2.2e-38,
 * where f32 turns subnormal) it is `+0`. NaN stays NaN through every step.
 * Measured against `Math.exp` (float64) on 2,000,001 evenly spaced f32
 * inputs of `[EXP_LO, EXP_HI]`: largest relative error 2.5e-7 (sigmoid
 * 2.8e-7, tanh 2.2e-7, silu 3.0e-7 on `[-20, 20]`); _exp_test.ts asserts
 * {@link EXP_MAX_REL_ERROR} for exp and 1e-6 for the others. The constants
 * are locals set once on the kernel's entry.
 *
 * `tanh` is `sign(x) (1 - 2 / (e^(2|x|) + 1))`, and an odd Taylor
 * polynomial (to `x^13`) where `|x| < 0.4`, where the first form loses
 * digits to cancellation; `sigmoid` is `1 / (1 + e^-x)`, `silu` is
 * `x / (1 + e^-x)`, `elu` is `x > 0 ? x : alpha (e^x - 1)`, as lib/ops
 * defines them, and `erf` the TypeScript kernel's erfc fit on this `exp`.
 *
 * @module
 */

import { type Fn, V128 } from "./binary.ts";

/** Largest input with a finite f32 exponential (`ln(FLT_MAX)`, rounded down to f32). */
export const EXP_HI = 88.72283;
/** Smallest input whose exponential is computed (`2^n` stays normal below it: `n >= -125`). */
export const EXP_LO = -86.6;
/** Largest relative error of {@link expLanes} against `Math.exp`, measured in _exp_test.ts (bound asserted there). */
export const EXP_MAX_REL_ERROR = 3e-7;

const LOG2E = Math.LOG2E;
/** ln 2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so `n * LN2_HI` is exact for |n| <= 2^15. */
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
/** `1/k!` for k = 6 down to 2 (Horner, innermost first). */
const EXP_POLY = [1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2];
/** Odd Taylor coefficients of tanh, x^13 down to x^3. */
const TANH_POLY = [21844 / 6081075, -1382 / 155925, 62 / 2835, -17 / 315, 2 / 15, -1 / 3];
/** The erfc fit's polynomial in u, innermost first (its constant term folds -1.26551223). */
const ERF_POLY = [
  0.17087277,
  -0.82215223,
  1.48851587,
  -1.13520398,
  0.27886807,
  -0.18628806,
  0.09678418,
  0.37409196,
  1.00002368,
  -1.26551223,
];
/** Below this |x| tanh uses its polynomial (truncation under 1e-8 relative there). */
const TANH_SMALL = 0.4;

/** An exp-family kind with a SIMD form. */
export type ExpKind = "exp" | "sigmoid" | "tanh" | "silu" | "elu" | "erf";

/** Whether `kind` is one of {@link ExpKind}. */
export function isExpKind(kind: string): kind is ExpKind {
  return kind === "exp" || kind === "sigmoid" || kind === "tanh" || kind === "silu" ||
    kind === "elu" || kind === "erf";
}

/**
 * Pushes the splatted constant `v`: from a local set once on entry to the
 * function (V8 builds a `v128.const` from immediates each time it runs, about
 * four instructions; a local spilled to the stack is one load).
 */
function splat(f: Fn, v: number): Fn {
  let pool = CONSTS.get(f);
  if (!pool) CONSTS.set(f, pool = new Map());
  const key = Object.is(v, -0) ? "-0" : String(v);
  let local = pool.get(key);
  if (local === undefined) {
    const l = f.local(V128);
    f.atEntry(() => f.v128Const([v, v, v, v]).localSet(l));
    pool.set(key, local = l);
  }
  return f.localGet(local);
}
const CONSTS = new WeakMap<Fn, Map<string, number>>();

/** Scratch v128 locals of one function, made once (every call site reuses them). */
const TEMPS = new WeakMap<Fn, { v: number[]; s: number }>();
function temps(f: Fn): { v: number[]; s: number } {
  let t = TEMPS.get(f);
  if (!t) {
    t = { v: [f.local(V128), f.local(V128), f.local(V128), f.local(V128)], s: f.local(V128) };
    TEMPS.set(f, t);
  }
  return t;
}

/**
 * Pushes `exp(a)` for the v128 local `a` (unchanged), using scratch locals
 * `t` and `n` (see the module doc for the method and its error).
 */
function expOf(f: Fn, a: number, t: number, n: number): void {
  f.localGet(a);
  splat(f, EXP_LO).f32x4Pmax();
  splat(f, EXP_HI).f32x4Pmin().localSet(t);
  f.localGet(t);
  splat(f, LOG2E).f32x4Mul().f32x4Nearest().localSet(n);
  // r = t - n * LN2_HI - n * LN2_LO, into t
  f.localGet(t).localGet(n);
  splat(f, LN2_HI).f32x4Mul().f32x4Sub().localGet(n);
  splat(f, LN2_LO).f32x4Mul().f32x4Sub().localSet(t);
  // p(r) = 1 + r (1 + r (1/2 + r (1/6 + ...)))
  splat(f, EXP_POLY[0]);
  for (const c of [...EXP_POLY.slice(1), 1, 1]) {
    f.localGet(t).f32x4Mul();
    splat(f, c).f32x4Add();
  }
  // * 2^(n - 1) * 2
  f.localGet(n).i32x4TruncSatF32x4S().i32Const(126).i32x4Splat().i32x4Add();
  f.i32Const(23).i32x4Shl().f32x4Mul();
  splat(f, 2).f32x4Mul().localSet(t);
  // Overflow to +Infinity, underflow to +0 (NaN compares false: it stays).
  splat(f, Infinity).localGet(t).localGet(a);
  splat(f, EXP_HI).f32x4Gt().v128Bitselect().localSet(t);
  splat(f, 0).localGet(t).localGet(a);
  splat(f, EXP_LO).f32x4Lt().v128Bitselect();
}

/**
 * Replaces the v128 local `v` by `kind(v)` lane-wise (`alpha` for `elu`).
 */
export function expFamily(f: Fn, kind: ExpKind, v: number, alpha = 1): void {
  const { v: [a, t, n, u] } = temps(f);
  switch (kind) {
    case "exp":
      expOf(f, v, t, n);
      break;
    case "sigmoid":
    case "silu":
      f.localGet(v).f32x4Neg().localSet(a);
      if (kind === "silu") f.localGet(v);
      else splat(f, 1);
      splat(f, 1);
      expOf(f, a, t, n);
      f.f32x4Add().f32x4Div();
      break;
    case "elu":
      // v > 0 ? v : alpha * (e^v - 1)
      f.localGet(v);
      expOf(f, v, t, n);
      splat(f, 1).f32x4Sub();
      splat(f, alpha).f32x4Mul();
      f.localGet(v);
      splat(f, 0).f32x4Gt().v128Bitselect();
      break;
    case "erf": {
      // The TypeScript kernel's erfc fit (emit_general.ts, 1.2e-7): with z = |v| and
      // u = 1 / (1 + z / 2), r = u e^(-z^2 + P(u)); erf = 1 - r, odd in v.
      f.localGet(v).f32x4Abs().localSet(u);
      splat(f, 1).localGet(u);
      splat(f, 0.5).f32x4Mul();
      splat(f, 1).f32x4Add().f32x4Div().localSet(t);
      splat(f, ERF_POLY[0]);
      for (const c of ERF_POLY.slice(1)) {
        f.localGet(t).f32x4Mul();
        splat(f, c).f32x4Add();
      }
      f.localGet(u).localGet(u).f32x4Mul().f32x4Sub().localSet(a);
      f.localGet(t);
      expOf(f, a, n, u);
      f.f32x4Mul().localSet(a);
      // 1 - r with v's sign (NaN stays NaN: NaN | sign is NaN).
      splat(f, 1).localGet(a).f32x4Sub();
      f.localGet(v);
      splat(f, -0).v128And().v128Or();
      break;
    }
    case "tanh": {
      // Large: 1 - 2 / (e^(2|v|) + 1), with v's sign.
      f.localGet(v).f32x4Abs().localTee(u);
      f.localGet(u).f32x4Add().localSet(a);
      splat(f, 1);
      splat(f, 2);
      expOf(f, a, t, n);
      splat(f, 1).f32x4Add().f32x4Div().f32x4Sub();
      f.localGet(v);
      splat(f, -0).v128And().v128Or().localSet(a);
      // Small: v + v^3 (c3 + v^2 (c5 + ...)).
      f.localGet(v).localGet(v).f32x4Mul().localSet(t);
      splat(f, TANH_POLY[0]);
      for (const c of TANH_POLY.slice(1)) {
        f.localGet(t).f32x4Mul();
        splat(f, c).f32x4Add();
      }
      f.localGet(t).f32x4Mul().localGet(v).f32x4Mul().localGet(v).f32x4Add();
      // It has v's sign already, except for -0 (-0 + +0 = +0): set the sign bit again.
      f.localGet(v);
      splat(f, -0).v128And().v128Or();
      f.localGet(a).localGet(u);
      splat(f, TANH_SMALL).f32x4Lt().v128Bitselect();
      break;
    }
  }
  f.localSet(v);
}

/** Replaces the f32 local `s` by `kind(s)` (through lane 0 of a vector). */
export function expFamilyScalar(f: Fn, kind: ExpKind, s: number, alpha = 1): void {
  const { s: lane } = temps(f);
  f.localGet(s).f32x4Splat().localSet(lane);
  expFamily(f, kind, lane, alpha);
  f.localGet(lane).f32x4ExtractLane(0).localSet(s);
}
