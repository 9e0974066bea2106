/**
 * Element-wise, pooling and fully connected kernels as WebAssembly SIMD:
 * `add`, broadcast `mul`, activations, unfolded BatchNorm (`affine`), plane
 * copies, channel softmax, global average pooling, max and average pooling, and `linear`.
 *
 * Plane loops run four elements per f32x4 and end with a vector overlapping
 * the one before it (outputs never alias inputs); planes of fewer than four
 * elements are scalar. Pooling follows the depthwise kernel's layout (vectors
 * along output rows over the interior, even/odd lane splits at stride 2,
 * scalar border outputs with their clipped windows and divisors computed at
 * generation time, as the reference executor defines them).
 *
 * Packed weights: `affine` `[scale(c)] [shift(c)]` as the TypeScript kernel;
 * `linear` `[bias(ob)] [in x ob]` per block of {@link LINEAR_OB} outputs.
 *
 * @module
 */

import { F32, type Fn, I32, V128 } from "./binary.ts";
import { LN_OB } from "../emit_linear.ts";
import type {
  ActSpec,
  AddSpec,
  AffineSpec,
  CopySpec,
  GavgpoolSpec,
  LinearSpec,
  MulSpec,
  SoftmaxSpec,
} from "../spec.ts";
import {
  applyAct,
  bump,
  counted,
  locals,
  madd,
  R,
  setPlus,
  W,
  type WasmEmitter,
  X,
  Y,
} from "./_simd.ts";
import { repackBlocks } from "./pointwise.ts";
import { softmaxBody } from "./general.ts";

/** Pushes the address `base + p` (vector) or `base` (scalar: the offset is in the memarg). */
function at(f: Fn, base: number, vector: boolean, p: number): void {
  f.localGet(base);
  if (vector) f.localGet(p).i32Add();
}

/**
 * A plane-wise kernel: `value(vector)` pushes the result for the current
 * element(s) given a function that pushes `x` (and `r` for two-operand kinds).
 */
function planeKernel(
  f: Fn,
  s: { c: number; hw: number; xcs: number; ycs: number },
  rcs: number,
  wcs: number,
  perPlane: (f: Fn) => void,
  value: (vector: boolean, load: (base: number) => void) => void,
): void {
  const p = f.local(I32);
  const vv = f.local(V128);
  const sv = f.local(F32);
  counted(f, s.c, () => {
    perPlane(f);
    const one = (vector: boolean, off: number) => {
      const load = (base: number) => {
        at(f, base, vector, p);
        if (vector) f.v128Load(off);
        else f.f32Load(off);
      };
      value(vector, load);
      f.localSet(vector ? vv : sv);
      at(f, Y, vector, p);
      f.localGet(vector ? vv : sv);
      if (vector) f.v128Store(off);
      else f.f32Store(off);
    };
    if (s.hw < 4) {
      for (let i = 0; i < s.hw; i++) one(false, 4 * i);
    } else {
      f.i32Const(0).localSet(p);
      counted(f, Math.floor(s.hw / 4), () => {
        one(true, 0);
        bump(f, p, 16);
      });
      if (s.hw % 4 !== 0) {
        f.i32Const(4 * (s.hw - 4)).localSet(p);
        one(true, 0);
      }
    }
    bump(f, X, 4 * s.xcs);
    bump(f, Y, 4 * s.ycs);
    bump(f, R, 4 * rcs);
    bump(f, W, 4 * wcs);
  });
}

/** Applies `act` to the value on the stack (through a scratch local). */
function actOnStack(f: Fn, act: ActSpec["act"], vector: boolean, scratch: number): void {
  if (act.kind === "none") return;
  f.localSet(scratch);
  applyAct(f, act, scratch, vector);
  f.localGet(scratch);
}

/** `y = act(x + r)`. */
export const addWasm: WasmEmitter<AddSpec> = {
  body(s, f) {
    const tv = f.local(V128);
    const ts = f.local(F32);
    planeKernel(f, s, s.rcs, 0, () => {}, (vector, load) => {
      load(X);
      load(R);
      if (vector) f.f32x4Add();
      else f.f32Add();
      actOnStack(f, s.act, vector, vector ? tv : ts);
    });
  },
};

/** `y = x * r[c]` (squeeze-excite scale). */
export const mulWasm: WasmEmitter<MulSpec> = {
  body(s, f) {
    const sc = f.local(V128);
    planeKernel(
      f,
      s,
      s.scs,
      0,
      () => f.localGet(R).v128Load32Splat(0).localSet(sc),
      (vector, load) => {
        load(X);
        f.localGet(sc);
        if (vector) f.f32x4Mul();
        else f.f32x4ExtractLane(0).f32Mul();
      },
    );
  },
};

/** A standalone activation. */
export const actWasm: WasmEmitter<ActSpec> = {
  body(s, f) {
    const tv = f.local(V128);
    const ts = f.local(F32);
    planeKernel(f, s, 0, 0, () => {}, (vector, load) => {
      load(X);
      actOnStack(f, s.act, vector, vector ? tv : ts);
    });
  },
};

/** `y = act(x * scale[c] + shift[c])`. */
export const affineWasm: WasmEmitter<AffineSpec> = {
  body(s, f) {
    const [sc, sh, tv] = locals(f, V128, 3);
    const ts = f.local(F32);
    planeKernel(
      f,
      s,
      0,
      1,
      () => {
        f.localGet(W).v128Load32Splat(0).localSet(sc);
        f.localGet(W).v128Load32Splat(4 * s.c).localSet(sh);
      },
      (vector, load) => {
        load(X);
        f.localGet(sc);
        if (vector) f.f32x4Mul().localGet(sh).f32x4Add();
        else f.f32x4ExtractLane(0).f32Mul().localGet(sh).f32x4ExtractLane(0).f32Add();
        actOnStack(f, s.act, vector, vector ? tv : ts);
      },
    );
  },
};

/** Softmax over channels at each of `hw` positions (the general kernel's body, channel strides). */
export const softmaxWasm: WasmEmitter<SoftmaxSpec> = {
  body(s, f) {
    softmaxBody(f, { outer: 1, n: s.c, inner: s.hw, xcs: s.xcs, ycs: s.ycs });
  },
};

/** A plane copy between layouts. */
export const copyWasm: WasmEmitter<CopySpec> = {
  body(s, f) {
    planeKernel(f, s, 0, 0, () => {}, (_vector, load) => load(X));
  },
};

/** Global average pooling: four partial sums per plane, then the lanes. */
export const gavgpoolWasm: WasmEmitter<GavgpoolSpec> = {
  body(s, f) {
    const hw = s.h * s.w;
    const full = Math.floor(hw / 4);
    const sum = f.local(V128);
    const t = f.local(F32);
    const p = f.local(I32);
    counted(f, s.c, () => {
      f.v128Const([0, 0, 0, 0]).localSet(sum);
      f.localGet(X).localSet(p);
      counted(f, full, () => {
        f.localGet(sum).localGet(p).v128Load(0).f32x4Add().localSet(sum);
        bump(f, p, 16);
      });
      f.localGet(sum).f32x4ExtractLane(0).localGet(sum).f32x4ExtractLane(1).f32Add();
      f.localGet(sum).f32x4ExtractLane(2).localGet(sum).f32x4ExtractLane(3).f32Add().f32Add();
      for (let i = 0; i < hw % 4; i++) f.localGet(p).f32Load(4 * i).f32Add();
      f.f32Const(hw).f32Div().localSet(t);
      f.localGet(Y).localGet(t).f32Store(0);
      bump(f, X, 4 * s.xcs);
      bump(f, Y, 4 * s.ycs);
    });
  },
};

/** Outputs per block of the linear kernel (four f32x4 accumulators). */
export const LINEAR_OB = 16;

/** Fully connected: blocks of 16 outputs, each input splatted once per block. */
export const linearWasm: WasmEmitter<LinearSpec> = {
  pack: (s, packed) => repackBlocks(1, s.cout, s.cin, packed, LN_OB, LINEAR_OB),
  body(s, f, o) {
    const acc = locals(f, V128, LINEAR_OB / 4);
    const [xc, wc, wb, yb] = locals(f, I32, 4);
    const xs = f.local(V128);
    const tmp = f.local(V128);
    const ts = f.local(F32);
    const blockOf = (ob: number) => {
      const nv = Math.ceil(ob / 4);
      // The bias, then the weights of each input; a partial last vector reads past the
      // block into memory that exists (the next block, or the slack) and ignores those lanes.
      for (let v = 0; v < nv; v++) f.localGet(wb).v128Load(16 * v).localSet(acc[v]);
      f.localGet(X).localSet(xc);
      setPlus(f, wc, wb, 4 * ob);
      counted(f, s.cin, () => {
        f.localGet(xc).v128Load32Splat(0).localSet(xs);
        for (let v = 0; v < nv; v++) {
          f.localGet(wc).v128Load(16 * v).localSet(tmp);
          madd(f, o, tmp, xs, acc[v]);
        }
        bump(f, xc, 4 * s.xcs);
        bump(f, wc, 4 * ob);
      });
      for (let v = 0; v < nv; v++) {
        applyAct(f, s.act, acc[v], true);
        if (s.ycs === 1 && 4 * (v + 1) <= ob) {
          f.localGet(yb).localGet(acc[v]).v128Store(16 * v);
          continue;
        }
        for (let l = 0; l < 4 && 4 * v + l < ob; l++) {
          f.localGet(acc[v]).f32x4ExtractLane(l).localSet(ts);
          f.localGet(yb).localGet(ts).f32Store(4 * (4 * v + l) * s.ycs);
        }
      }
    };
    f.localGet(W).localSet(wb);
    f.localGet(Y).localSet(yb);
    const full = Math.floor(s.cout / LINEAR_OB);
    counted(f, full, () => {
      blockOf(LINEAR_OB);
      bump(f, wb, 4 * LINEAR_OB * (1 + s.cin));
      bump(f, yb, 4 * LINEAR_OB * s.ycs);
    });
    if (s.cout % LINEAR_OB !== 0) blockOf(s.cout % LINEAR_OB);
  },
};
