/**
 * Element-wise kernels: `add` (with a fused activation), broadcast `mul`
 * (squeeze-excite), standalone activations, the affine map of a BatchNorm
 * that could not be folded, plane copies, and softmax. All loop channel by
 * channel so each tensor can use its own channel stride.
 *
 * Packed weights of `affine`: `[scale(c)] [shift(c)]`.
 *
 * @module
 */

import type { CodeBlockWriter } from "ts-morph";
import { actStatements, block, type Emitter } from "./_emit.ts";
import type { ActSpec, AddSpec, AffineSpec, CopySpec, MulSpec, SoftmaxSpec } from "./spec.ts";

function planes(
  w: CodeBlockWriter,
  s: { c: number; hw: number; xcs: number; ycs: number },
  extra: string[],
  body: () => void,
): void {
  block(w, `for (let c = 0; c < ${s.c}; c++)`, () => {
    w.writeLine(`const xb = xo + c * ${s.xcs};`);
    w.writeLine(`const yb = yo + c * ${s.ycs};`);
    for (const e of extra) w.writeLine(e);
    block(w, `for (let p = 0; p < ${s.hw}; p++)`, body);
  });
}

/** The `add` emitter: `y = act(x + r)`. */
export const addEmitter: Emitter<AddSpec> = {
  describe: (s) => `element-wise add of ${s.c} channels of ${s.hw} elements`,
  weighted: false,
  second: () => true,
  body(s, w) {
    planes(w, s, [`const rb = ro + c * ${s.rcs};`], () => {
      w.writeLine("let t = x[xb + p] + r[rb + p];");
      for (const l of actStatements(s.act, "t")) w.writeLine(l);
      w.writeLine("y[yb + p] = t;");
    });
  },
};

/** The broadcast `mul` emitter: `y = x * r[c]`. */
export const mulEmitter: Emitter<MulSpec> = {
  describe: (s) => `per-channel scale of ${s.c} channels of ${s.hw} elements`,
  weighted: false,
  second: () => true,
  body(s, w) {
    planes(w, s, [`const sc = r[ro + c * ${s.scs}];`], () => {
      w.writeLine("y[yb + p] = x[xb + p] * sc;");
    });
  },
};

/** The standalone activation emitter. */
export const actEmitter: Emitter<ActSpec> = {
  describe: (s) => `${s.act.kind} on ${s.c} channels of ${s.hw} elements`,
  weighted: false,
  second: () => false,
  body(s, w) {
    planes(w, s, [], () => {
      w.writeLine("let t = x[xb + p];");
      for (const l of actStatements(s.act, "t")) w.writeLine(l);
      w.writeLine("y[yb + p] = t;");
    });
  },
};

/** Packs a BatchNorm into `[scale(c)] [shift(c)]`. */
export function packAffine(
  c: number,
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps: number,
): Float32Array {
  const out = new Float32Array(2 * c);
  for (let i = 0; i < c; i++) {
    const scale = gamma[i] / Math.sqrt(variance[i] + eps);
    out[i] = scale;
    out[c + i] = beta[i] - mean[i] * scale;
  }
  return out;
}

/** The affine (unfolded BatchNorm) emitter: `y = act(x * scale[c] + shift[c])`. */
export const affineEmitter: Emitter<AffineSpec> = {
  describe: (s) => `per-channel affine map (BatchNorm) of ${s.c} channels of ${s.hw} elements`,
  weighted: true,
  second: () => false,
  body(s, w) {
    planes(w, s, ["const sc = w[wo + c];", `const sh = w[wo + ${s.c} + c];`], () => {
      w.writeLine("let t = x[xb + p] * sc + sh;");
      for (const l of actStatements(s.act, "t")) w.writeLine(l);
      w.writeLine("y[yb + p] = t;");
    });
  },
};

/** The copy emitter. */
export const copyEmitter: Emitter<CopySpec> = {
  describe: (s) => `copy of ${s.c} planes of ${s.hw} elements between layouts`,
  weighted: false,
  second: () => false,
  body(s, w) {
    planes(w, s, [], () => w.writeLine("y[yb + p] = x[xb + p];"));
  },
};

/** The softmax emitter (over channels, for each position). */
export const softmaxEmitter: Emitter<SoftmaxSpec> = {
  describe: (s) => `softmax over ${s.c} channels at ${s.hw} positions`,
  weighted: false,
  second: () => false,
  body(s, w) {
    block(w, `for (let p = 0; p < ${s.hw}; p++)`, () => {
      w.writeLine("let m = -Infinity;");
      block(w, `for (let c = 0; c < ${s.c}; c++)`, () => {
        w.writeLine(`m = Math.max(m, x[xo + c * ${s.xcs} + p]);`);
      });
      w.writeLine("let sum = 0;");
      block(w, `for (let c = 0; c < ${s.c}; c++)`, () => {
        w.writeLine(`sum += Math.exp(x[xo + c * ${s.xcs} + p] - m);`);
      });
      block(w, `for (let c = 0; c < ${s.c}; c++)`, () => {
        w.writeLine(`y[yo + c * ${s.ycs} + p] = Math.exp(x[xo + c * ${s.xcs} + p] - m) / sum;`);
      });
    });
  },
};
