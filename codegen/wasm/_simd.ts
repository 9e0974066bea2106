/**
 * What every WebAssembly kernel emitter shares: the kernel ABI, fused
 * multiply-add with or without relaxed SIMD, activations on f32x4 and f32
 * values, and counted loops.
 *
 * Kernel ABI: every kernel takes four i32 byte addresses into the module's
 * memory, `(x, y, w, r)`: input, output, packed weights, second tensor
 * (residual); unused ones are passed as 0. Every size and stride is baked
 * into the body, mostly as load/store offsets; per-channel offset tables
 * are data after the step's weights (`w`), so one kernel serves every step
 * that differs only in its tables.
 *
 * @module
 */

import { type Fn, I32, type ValType } from "./binary.ts";
import { expFamily, expFamilyScalar } from "./_exp.ts";
import type { Act, Epilogue, KernelSpec, OffsetTables } from "../spec.ts";

/** Parameter indices of the kernel ABI. */
export const X = 0, Y = 1, W = 2, R = 3;
/** The parameter list of every kernel. */
export const KERNEL_PARAMS = [I32, I32, I32, I32] as const;

/** How a kernel is emitted on this target. */
export interface WasmOptions {
  /** Use `f32x4.relaxed_madd` (one FMA) instead of `f32x4.mul` + `f32x4.add`. */
  relaxed: boolean;
  /**
   * Byte address of the module's scratch area (at least the largest
   * {@link WasmEmitter.scratch} of its kernels; one per module, reused by
   * every step), when some kernel asks for one.
   */
  scratch?: number;
}

/** A WebAssembly kernel family. */
export interface WasmEmitter<S extends KernelSpec> {
  /**
   * Why this spec has no WebAssembly kernel (then the TypeScript kernel runs),
   * or undefined; absent for a family whose kernel takes every spec.
   */
  unsupported?(s: S): string | undefined;
  /**
   * Packed weights this kernel reads, from the TypeScript target's packing,
   * followed by whatever else of the step's data it reads through `w` (the
   * step's offset tables).
   */
  pack?(s: S, packed: Float32Array, tables?: OffsetTables): Float32Array;
  /** Floats of scratch memory the kernel needs at {@link WasmOptions.scratch}, if any. */
  scratch?(s: S): number;
  /** Writes the body into `f` (parameters {@link KERNEL_PARAMS}). */
  body(s: S, f: Fn, o: WasmOptions): void;
  /** A name suffix for the blocking chosen (kernels of two blockings differ). */
  variant?(s: S): string;
}

/** `acc = a * b + acc` on locals, fused when `o.relaxed`. */
export function madd(f: Fn, o: WasmOptions, a: number, b: number, acc: number): void {
  f.localGet(a).localGet(b);
  if (o.relaxed) f.localGet(acc).f32x4RelaxedMadd();
  else f.f32x4Mul().localGet(acc).f32x4Add();
  f.localSet(acc);
}

interface Lanes {
  splat(f: Fn, v: number): void;
  /** `max(a, c)` for the constant `c` on the stack; `signed` when `a` may be -0. */
  max(f: Fn, c: number, signed: boolean): void;
  /** `min(a, c)` for the constant `c` on the stack. */
  min(f: Fn, c: number): void;
  add(f: Fn): void;
  mul(f: Fn): void;
}

const VEC: Lanes = {
  splat: (f, v) => f.v128Const([v, v, v, v]),
  // `f32x4.max`/`min` propagate NaN and order -0 below +0 in software (about eight
  // x86 instructions each); against a constant `c`, `pmax(a, c) = a < c ? c : a` (one
  // `maxps`) gives the same result for every `a`, NaN included, except `max(-0, +0)`,
  // which the `+ 0` turns into +0 (`x + 0 = x` for every other x). A -0 constant keeps
  // the IEEE instruction.
  max(f, c, signed) {
    if (Object.is(c, -0)) return void f.f32x4Max();
    f.f32x4Pmax();
    if (signed && Object.is(c, 0)) f.v128Const([0, 0, 0, 0]).f32x4Add();
  },
  // `pmin(a, c) = c < a ? c : a` equals `min(a, c)` for every `a` unless `c` is -0.
  min: (f, c) => (Object.is(c, -0) ? f.f32x4Min() : f.f32x4Pmin()),
  add: (f) => f.f32x4Add(),
  mul: (f) => f.f32x4Mul(),
};

const SCALAR: Lanes = {
  splat: (f, v) => f.f32Const(v),
  max: (f) => f.f32Max(),
  min: (f) => f.f32Min(),
  add: (f) => f.f32Add(),
  mul: (f) => f.f32Mul(),
};

/**
 * Applies `act` to the local `v` in place (a v128 when `vector`, else an
 * f32), with IEEE `max`/`min` results like the reference's comparisons.
 * `mayBeNegZero` false promises `v` is never -0 (saves a vector add per
 * ReLU; see the pointwise kernel's accumulators).
 */
export function applyAct(
  f: Fn,
  act: Act,
  v: number,
  vector: boolean,
  mayBeNegZero = true,
): void {
  const L = vector ? VEC : SCALAR;
  // `signed`: the value may be -0 (a sum `x + c` is -0 only when both are).
  const clamp = (lo: number, hi: number, signed: boolean) => {
    if (lo !== -Infinity) L.splat(f, lo), L.max(f, lo, signed);
    if (hi !== Infinity) L.splat(f, hi), L.min(f, hi);
  };
  switch (act.kind) {
    case "none":
      return;
    case "relu":
      f.localGet(v), clamp(0, Infinity, mayBeNegZero);
      break;
    case "relu6":
      f.localGet(v), clamp(0, 6, mayBeNegZero);
      break;
    case "clip":
      f.localGet(v), clamp(act.min, act.max, mayBeNegZero);
      break;
    case "hardswish":
      // v * relu6(v + 3) / 6
      f.localGet(v), L.splat(f, 3), L.add(f), clamp(0, 6, false);
      f.localGet(v), L.mul(f), L.splat(f, 1 / 6), L.mul(f);
      break;
    case "hardsigmoid":
      f.localGet(v), L.splat(f, act.alpha), L.mul(f), L.splat(f, act.beta), L.add(f);
      clamp(0, 1, Object.is(act.beta, -0));
      break;
    case "sigmoid":
      // In place through the exp family's scratch locals.
      if (vector) expFamily(f, "sigmoid", v);
      else expFamilyScalar(f, "sigmoid", v);
      return;
  }
  f.localSet(v);
}

/**
 * The epilogue of accumulator `v` (v128 or f32), then its store:
 * `[y + yOff] = act2(act(v) + [r + rOff])`; `y`/`r` are locals holding
 * byte addresses; `mayBeNegZero` as in {@link applyAct}, for `v`.
 */
export function storeEpilogue(
  f: Fn,
  e: Epilogue,
  v: number,
  vector: boolean,
  y: number,
  yOff: number,
  r: number,
  rOff: number,
  mayBeNegZero = true,
): void {
  applyAct(f, e.act, v, vector, mayBeNegZero);
  if (e.residual) {
    f.localGet(v).localGet(r);
    if (vector) f.v128Load(rOff).f32x4Add();
    else f.f32Load(rOff).f32Add();
    f.localSet(v);
    applyAct(f, e.act2, v, vector);
  }
  f.localGet(y).localGet(v);
  if (vector) f.v128Store(yOff);
  else f.f32Store(yOff);
}

/**
 * `count` iterations of `body` (count >= 1), counting a fresh i32 local
 * down; a single iteration is emitted without a loop.
 */
export function counted(f: Fn, count: number, body: () => void): void {
  if (count <= 0) return;
  if (count === 1) return body();
  const n = f.local(I32);
  f.i32Const(count).localSet(n);
  f.loop();
  body();
  f.localGet(n).i32Const(1).i32Sub().localTee(n).brIf(0);
  f.end();
}

/** `local += k` for an i32 local (nothing when k is 0). */
export function bump(f: Fn, local: number, k: number): void {
  if (k === 0) return;
  f.localGet(local).i32Const(k).i32Add().localSet(local);
}

/** `dst = src + k` for i32 locals. */
export function setPlus(f: Fn, dst: number, src: number, k: number): void {
  f.localGet(src);
  if (k !== 0) f.i32Const(k).i32Add();
  f.localSet(dst);
}

/** Fresh locals. */
export function locals(f: Fn, type: ValType, n: number): number[] {
  return Array.from({ length: n }, () => f.local(type));
}
