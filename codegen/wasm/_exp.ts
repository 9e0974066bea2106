/**
 * The exponential family on f32x4 lanes: `exp`, `sigmoid`, `tanh`, `silu`,
 * `elu`, `erf`, from one polynomial `exp`, and `log`, `softplus` and `pow`
 * with a polynomial `log` (WebAssembly has no transcendental instructions).
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
export type ExpKind = "exp" | "sigmoid" | "tanh" | "silu" | "elu" | "erf" | "log" | "softplus";

/** Whether `kind` is one of {@link ExpKind}. */
export function isExpKind(kind: string): kind is ExpKind {
  return kind === "exp" || kind === "sigmoid" || kind === "tanh" || kind === "silu" ||
    kind === "elu" || kind === "erf" || kind === "log" || kind === "softplus";
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

/** Smallest normal f32. */
const FLT_MIN = 1.1754943508222875e-38;
/** `1/(2k+1)` for k = 5 down to 1, then 1: the series of `atanh(s) = log(m) / 2`. */
const LOG_POLY = [1 / 11, 1 / 9, 1 / 7, 1 / 5, 1 / 3, 1];

/** Scratch locals of `log` (apart from the exp ones it runs beside). */
const LOG_TEMPS = new WeakMap<Fn, number[]>();

/**
 * Pushes `log(a)` for the v128 local `a` (unchanged): `a = 2^e m` read from
 * the bits (subnormals scaled by 2^23 first), `m` in `[sqrt(1/2), sqrt(2))`,
 * `log(m) = 2 atanh(s)` with `s = (m - 1) / (m + 1)`, `|s| <= 0.172`, by its
 * series to `s^11` (truncation under 1e-10), plus `e ln 2` (Cody-Waite).
 * `log(0) = -Infinity`, `log(x < 0) = NaN`, `log(+Infinity) = +Infinity`,
 * NaN stays NaN.
 */
function logOf(f: Fn, a: number): void {
  let tl = LOG_TEMPS.get(f);
  if (!tl) LOG_TEMPS.set(f, tl = [f.local(V128), f.local(V128), f.local(V128)]);
  const [x, e, m] = tl;
  // Subnormals: scaled into the normal range, their exponent corrected by -23.
  f.localGet(a);
  splat(f, 2 ** 23).f32x4Mul().localGet(a);
  f.localGet(a);
  splat(f, FLT_MIN).f32x4Lt().v128Bitselect().localSet(x);
  f.localGet(x).i32Const(23).i32x4ShrU().i32x4Const([127, 127, 127, 127]).i32x4Sub();
  f.f32x4ConvertI32x4S();
  splat(f, -23);
  splat(f, 0).localGet(a);
  splat(f, FLT_MIN).f32x4Lt().v128Bitselect().f32x4Add().localSet(e);
  f.localGet(x).i32x4Const([0x7fffff, 0x7fffff, 0x7fffff, 0x7fffff]).v128And();
  f.i32x4Const([0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000]).v128Or().localSet(m);
  // m above sqrt(2): m / 2, e + 1 (the mask kept in x).
  f.localGet(m);
  splat(f, Math.SQRT2).f32x4Gt().localSet(x);
  f.localGet(m);
  splat(f, 0.5).f32x4Mul().localGet(m).localGet(x).v128Bitselect().localSet(m);
  f.localGet(e);
  splat(f, 1).f32x4Add().localGet(e).localGet(x).v128Bitselect().localSet(e);
  // s = (m - 1) / (m + 1) into m, s^2 into x
  f.localGet(m);
  splat(f, 1).f32x4Sub().localGet(m);
  splat(f, 1).f32x4Add().f32x4Div().localSet(m);
  f.localGet(m).localGet(m).f32x4Mul().localSet(x);
  splat(f, LOG_POLY[0]);
  for (const c of LOG_POLY.slice(1)) {
    f.localGet(x).f32x4Mul();
    splat(f, c).f32x4Add();
  }
  f.localGet(m).f32x4Mul();
  splat(f, 2).f32x4Mul();
  // + e ln 2 (low part first: the small terms add up before the large one)
  f.localGet(e);
  splat(f, LN2_LO).f32x4Mul().f32x4Add().localGet(e);
  splat(f, LN2_HI).f32x4Mul().f32x4Add().localSet(x);
  // 0, negatives, +Infinity, NaN
  splat(f, -Infinity).localGet(x).localGet(a);
  splat(f, 0).f32x4Eq().v128Bitselect().localSet(x);
  splat(f, NaN).localGet(x).localGet(a);
  splat(f, 0).f32x4Lt().v128Bitselect().localSet(x);
  splat(f, Infinity).localGet(x).localGet(a);
  splat(f, Infinity).f32x4Eq().v128Bitselect().localSet(x);
  f.localGet(a).localGet(x).localGet(a).localGet(a).f32x4Ne().v128Bitselect();
}

/** Scratch locals of `pow`'s operands. */
const POW_TEMPS = new WeakMap<Fn, number[]>();

/**
 * Replaces `[x, y]` on the stack by `Math.pow(x, y)` lane-wise:
 * `e^(y log|x|)` (exactly `x * x` where `y` is 2), negated for a negative `x`
 * (or -0) and an odd integer `y`, NaN for a finite negative `x` and a
 * non-integer `y`, 1 where `y` is +-0 (NaN `x` included), as ECMAScript
 * defines it.
 */
export function powOnStack(f: Fn): void {
  let pt = POW_TEMPS.get(f);
  if (!pt) POW_TEMPS.set(f, pt = [f.local(V128), f.local(V128)]);
  const [px, py] = pt;
  const { v: [a, t, n] } = temps(f);
  f.localSet(py).localSet(px);
  f.localGet(px).f32x4Abs().localSet(a);
  logOf(f, a);
  f.localGet(py).f32x4Mul().localSet(a);
  expOf(f, a, t, n);
  f.localSet(a);
  // odd = y integer and y / 2 not
  f.localGet(py).f32x4Nearest().localGet(py).f32x4Eq();
  f.localGet(py);
  splat(f, 0.5).f32x4Mul().f32x4Nearest().localGet(py);
  splat(f, 0.5).f32x4Mul().f32x4Ne().v128And().localSet(t);
  f.localGet(px);
  splat(f, -0).v128And().localGet(t).v128And().localGet(a).v128Or().localSet(a);
  // a finite negative x and a non-integer y: NaN
  splat(f, NaN).localGet(a).localGet(px);
  splat(f, 0).f32x4Lt().localGet(px);
  splat(f, -Infinity).f32x4Gt().v128And();
  f.localGet(py).f32x4Nearest().localGet(py).f32x4Ne().v128And().v128Bitselect().localSet(a);
  // y = 2: x * x exactly
  f.localGet(px).localGet(px).f32x4Mul().localGet(a).localGet(py);
  splat(f, 2).f32x4Eq().v128Bitselect().localSet(a);
  // y = +-0: 1
  splat(f, 1).localGet(a).localGet(py);
  splat(f, 0).f32x4Eq().v128Bitselect();
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
    case "log":
      logOf(f, v);
      break;
    case "softplus":
      // v > 20 ? v : log(1 + e^v)
      expOf(f, v, t, n);
      splat(f, 1).f32x4Add().localSet(a);
      f.localGet(v);
      logOf(f, a);
      f.localGet(v);
      splat(f, 20).f32x4Gt().v128Bitselect();
      break;
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
