/**
 * Kernel specs: every parameter a generated kernel bakes in as a literal, one
 * record per kernel family, and the kernel's name built from those parameters
 * in a fixed order (XNNPACK style: `f32_dwconv_k3_s2_p1_c116_h28w28_relu`).
 * Two layers with equal specs share one kernel; {@link kernelName} is
 * injective, and `module.ts` checks that no two different specs ever meet
 * under one name.
 *
 * Every kernel works on one sample in CHW layout. A tensor is addressed as
 * `(array, offset)` at run time plus channel strides baked into the spec
 * (`xcs`, `ycs`, `rcs`: elements between consecutive channels), so a kernel
 * can read a channel slice (split) or write into every other channel of a
 * larger buffer (concat followed by a channel shuffle) without any copy. A
 * pointwise conv also reads per-channel offset tables for layouts no single
 * stride describes (ShuffleNet V2's pass-through channels, written once where
 * the last shuffle wants them). A table changes addresses, not instructions:
 * the spec only says that the kernel reads one (`xtable`, `ytable`), and each
 * call passes its own ({@link OffsetTables}), so the layers of a stage that
 * differ only in their tables share one kernel.
 *
 * @module
 */

import type { HW, OpKind, Pads, Shape } from "../lib/ir/ops.ts";

/** An activation fused into a kernel epilogue (`none` when absent). */
export type Act =
  | { kind: "none" }
  | { kind: "relu" }
  | { kind: "relu6" }
  | { kind: "clip"; min: number; max: number }
  | { kind: "hardswish" }
  | { kind: "hardsigmoid"; alpha: number; beta: number }
  | { kind: "sigmoid" };

/** What happens to an accumulator before it is stored: `act2(act(v) + residual)`. */
export interface Epilogue {
  act: Act;
  /** Adds the element at the same position of a third tensor (fused residual `add`). */
  residual: boolean;
  /** Activation after the residual add (ShuffleNet V1's `relu(x + branch)`). */
  act2: Act;
}

/** Geometry of a sliding window over one CHW sample. */
export interface Window {
  kernel: HW;
  stride: HW;
  padding: Pads;
  dilation: HW;
  /** Input height and width. */
  h: number;
  w: number;
  /** Output height and width. */
  oh: number;
  ow: number;
}

/** Channel strides in elements; the dense default is the plane size. */
export interface Strides {
  xcs: number;
  ycs: number;
}

/** 1x1 convolution, stride 1, no padding (optionally grouped). */
export interface PwconvSpec extends Strides {
  family: "pwconv";
  cin: number;
  cout: number;
  groups: number;
  /**
   * Elements between the outputs of consecutive groups (dense: `cout / groups * ycs`);
   * a channel shuffle after a group conv makes it one plane and `ycs` `groups` planes.
   */
  ygs: number;
  h: number;
  w: number;
  epi: Epilogue;
  rcs: number;
  /**
   * The input channels are not affine: each call passes a table of their
   * offsets ({@link OffsetTables.x}; `xcs` is then unused and left at the plane size).
   */
  xtable?: true;
  /** The output slots are not affine (`groups` 1): each call passes {@link OffsetTables.y}. */
  ytable?: true;
}

/**
 * Per-channel element offsets a pointwise step passes its kernel: input
 * channel `c` starts at `xo + x[c]`, output channel `o` at `yo + y[o]`.
 * Data of the call, not of the kernel (see the module doc).
 */
export interface OffsetTables {
  x?: number[];
  y?: number[];
}

/** Depthwise convolution: one filter per channel (groups = in = out channels). */
export interface DwconvSpec extends Strides {
  family: "dwconv";
  c: number;
  win: Window;
  epi: Epilogue;
  rcs: number;
}

/** Any other convolution (standard or grouped, any kernel, stride, padding). */
export interface ConvSpec extends Strides {
  family: "conv";
  cin: number;
  cout: number;
  groups: number;
  /** Elements between the outputs of consecutive groups (see {@link PwconvSpec.ygs}). */
  ygs: number;
  win: Window;
  epi: Epilogue;
  rcs: number;
}

/** Max or average pooling. */
export interface PoolSpec extends Strides {
  family: "maxpool" | "avgpool";
  c: number;
  win: Window;
  ceilMode: boolean;
  countIncludePad: boolean;
}

/** Mean over each channel's plane. */
export interface GavgpoolSpec extends Strides {
  family: "gavgpool";
  c: number;
  h: number;
  w: number;
}

/** Fully connected layer on a feature vector (channel stride = feature stride). */
export interface LinearSpec extends Strides {
  family: "linear";
  cin: number;
  cout: number;
  act: Act;
}

/** `act(a + b)`, element-wise over `c` planes of `hw` elements. */
export interface AddSpec extends Strides {
  family: "add";
  c: number;
  hw: number;
  act: Act;
  /** Channel stride of the second operand. */
  rcs: number;
}

/** `x * s[c]`, the scale broadcast over each plane (squeeze-excite). */
export interface MulSpec extends Strides {
  family: "mul";
  c: number;
  hw: number;
  /** Channel stride of the scale vector. */
  scs: number;
}

/** A standalone activation. */
export interface ActSpec extends Strides {
  family: "act";
  c: number;
  hw: number;
  act: Act;
}

/** `act(x * scale[c] + shift[c])`: a BatchNorm that could not be folded into a conv. */
export interface AffineSpec extends Strides {
  family: "affine";
  c: number;
  hw: number;
  act: Act;
}

/** Moves planes between layouts when no producer can write in place (see plan.ts). */
export interface CopySpec extends Strides {
  family: "copy";
  c: number;
  hw: number;
}

/** Softmax over channels, for each of `hw` positions. */
export interface SoftmaxSpec extends Strides {
  family: "softmax";
  c: number;
  hw: number;
}

/**
 * Any op on dense row-major tensors of any rank (emit_general.ts): the op
 * kind and attrs, the shapes of the operands it reads and of its output (one
 * call's worth: a sample, or the whole tensor when the plan runs the batch
 * at once), where each packed parameter starts, and for one part of a concat
 * where along the axis it goes.
 */
export interface GeneralSpec {
  family: "general";
  op: OpKind;
  attrs: unknown;
  /** Shapes of `x` and, for a binary op, `r`. */
  xs: Shape[];
  ys: Shape;
  /** Offset of each parameter (by name) in the packed weights, from `wo`. */
  params: Record<string, number>;
  /** One input of a concat: its first position along `axis` of the output. */
  part?: { axis: number; offset: number };
}

/** Every kernel spec, discriminated on `family`. */
export type KernelSpec =
  | PwconvSpec
  | DwconvSpec
  | ConvSpec
  | PoolSpec
  | GavgpoolSpec
  | LinearSpec
  | AddSpec
  | MulSpec
  | ActSpec
  | AffineSpec
  | CopySpec
  | SoftmaxSpec
  | GeneralSpec;

/** A kernel family name. */
export type Family = KernelSpec["family"];

/** No activation. */
export const NO_ACT: Act = { kind: "none" };

/** An epilogue that only applies `act`. */
export function epilogue(act: Act = NO_ACT): Epilogue {
  return { act, residual: false, act2: NO_ACT };
}

/**
 * A number as an identifier fragment: `-0.5` -> `m0p5`, `1e-7` -> `1em7`.
 * Injective on finite numbers because `String(n)` is.
 */
export function numTag(n: number): string {
  return String(n).replaceAll("-", "m").replaceAll(".", "p").replaceAll("+", "");
}

/** Name fragment of an activation: `_relu`, `_clip0_6`, or `` for none. */
export function actTag(a: Act): string {
  switch (a.kind) {
    case "none":
      return "";
    case "relu":
    case "relu6":
    case "hardswish":
    case "sigmoid":
      return `_${a.kind}`;
    case "clip":
      return `_clip${numTag(a.min)}_${numTag(a.max)}`;
    case "hardsigmoid":
      return `_hardsigmoid${numTag(a.alpha)}_${numTag(a.beta)}`;
  }
}

function epiTag(e: Epilogue): string {
  return actTag(e.act) + (e.residual ? "_add" + actTag(e.act2) : "");
}

function pair(tag: string, v: HW): string {
  return v[0] === v[1] ? `${tag}${v[0]}` : `${tag}${v[0]}x${v[1]}`;
}

function padTag(p: Pads): string {
  return p.every((v) => v === p[0]) ? `p${p[0]}` : `pt${p[0]}l${p[1]}b${p[2]}r${p[3]}`;
}

/** Window fragment: `k3_s2_p1` (+ `_d2` for dilation), then the input size. */
function winTag(w: Window): string {
  const dil = w.dilation[0] === 1 && w.dilation[1] === 1 ? "" : "_" + pair("d", w.dilation);
  return `${pair("k", w.kernel)}_${pair("s", w.stride)}_${padTag(w.padding)}${dil}`;
}

/** Stride fragments, only where a stride differs from the dense plane size. */
function strideTag(s: { xcs: number; ycs: number }, plane: { x: number; y: number }): string {
  return (s.xcs !== plane.x ? `_xs${s.xcs}` : "") + (s.ycs !== plane.y ? `_ys${s.ycs}` : "");
}

function extraStride(tag: string, v: number, plane: number): string {
  return v !== plane ? `_${tag}${v}` : "";
}

/**
 * FNV-1a hash of a list of integers, as 8 hex digits: names a channel offset
 * table in the module (`T_1a2b3c4d`) and a general kernel. Not injective by
 * itself: `module.ts` rejects two different specs under one name and
 * `_api.ts` two different tables under one table name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapHash } from "./spec.ts";
 * assert.match(mapHash([0, 98, 1]), /^[0-9a-f]{8}$/);
 * assert.notEqual(mapHash([0, 98, 1]), mapHash([0, 1, 98]));
 * ```
 */
export function mapHash(values: readonly number[]): string {
  let h = 0x811c9dc5;
  for (const v of values) {
    for (const byte of [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255]) {
      h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    }
  }
  return h.toString(16).padStart(8, "0");
}

/** Module-level name of the `Int32Array` holding a channel offset table. */
export function offsetTable(values: readonly number[]): string {
  return `T_${mapHash(values)}`;
}

/** `_xt` / `_yt` when the kernel reads an input / output offset table (whichever the call passes). */
function tableTag(s: PwconvSpec): string {
  return (s.xtable ? "_xt" : "") + (s.ytable ? "_yt" : "");
}

/**
 * The kernel's name: family, then its parameters in a fixed order, then the
 * epilogue, then any non-dense channel stride.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { epilogue, kernelName } from "./spec.ts";
 * const name = kernelName({
 *   family: "dwconv", c: 116, epi: epilogue({ kind: "relu" }), xcs: 56 * 56, ycs: 28 * 28,
 *   rcs: 28 * 28,
 *   win: {
 *     kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], dilation: [1, 1],
 *     h: 56, w: 56, oh: 28, ow: 28,
 *   },
 * });
 * assert.equal(name, "f32_dwconv_k3_s2_p1_c116_h56w56_relu");
 * ```
 */
export function kernelName(s: KernelSpec): string {
  switch (s.family) {
    case "pwconv": {
      const hw = s.h * s.w;
      const g = s.groups === 1 ? "" : `_g${s.groups}`;
      return `f32_pwconv_c${s.cin}o${s.cout}${g}_h${s.h}w${s.w}${epiTag(s.epi)}` +
        strideTag(s, { x: hw, y: hw }) + extraStride("yg", s.ygs, (s.cout / s.groups) * s.ycs) +
        (s.epi.residual ? extraStride("rs", s.rcs, hw) : "") + tableTag(s);
    }
    case "dwconv": {
      const o = s.win.oh * s.win.ow;
      return `f32_dwconv_${winTag(s.win)}_c${s.c}_h${s.win.h}w${s.win.w}${epiTag(s.epi)}` +
        strideTag(s, { x: s.win.h * s.win.w, y: o }) +
        (s.epi.residual ? extraStride("rs", s.rcs, o) : "");
    }
    case "conv": {
      const o = s.win.oh * s.win.ow;
      const g = s.groups === 1 ? "" : `_g${s.groups}`;
      return `f32_conv_${winTag(s.win)}_c${s.cin}o${s.cout}${g}_h${s.win.h}w${s.win.w}` +
        epiTag(s.epi) + strideTag(s, { x: s.win.h * s.win.w, y: o }) +
        extraStride("yg", s.ygs, (s.cout / s.groups) * s.ycs) +
        (s.epi.residual ? extraStride("rs", s.rcs, o) : "");
    }
    case "maxpool":
    case "avgpool": {
      const mode = (s.ceilMode ? "_ceil" : "") +
        (s.family === "avgpool" && !s.countIncludePad ? "_excludepad" : "");
      return `f32_${s.family}_${winTag(s.win)}_c${s.c}_h${s.win.h}w${s.win.w}${mode}` +
        strideTag(s, { x: s.win.h * s.win.w, y: s.win.oh * s.win.ow });
    }
    case "gavgpool":
      return `f32_gavgpool_c${s.c}_h${s.h}w${s.w}` + strideTag(s, { x: s.h * s.w, y: 1 });
    case "linear":
      return `f32_linear_i${s.cin}o${s.cout}${actTag(s.act)}` + strideTag(s, { x: 1, y: 1 });
    case "add":
      return `f32_add_c${s.c}_hw${s.hw}${actTag(s.act)}` + strideTag(s, { x: s.hw, y: s.hw }) +
        extraStride("rs", s.rcs, s.hw);
    case "mul":
      return `f32_mul_c${s.c}_hw${s.hw}` + strideTag(s, { x: s.hw, y: s.hw }) +
        extraStride("ss", s.scs, 1);
    case "act":
      return `f32_act_c${s.c}_hw${s.hw}${actTag(s.act) || "_none"}` +
        strideTag(s, { x: s.hw, y: s.hw });
    case "affine":
      return `f32_affine_c${s.c}_hw${s.hw}${actTag(s.act)}` + strideTag(s, { x: s.hw, y: s.hw });
    case "copy":
      return `f32_copy_c${s.c}_hw${s.hw}` + strideTag(s, { x: s.hw, y: s.hw });
    case "softmax":
      return `f32_softmax_c${s.c}_hw${s.hw}` + strideTag(s, { x: s.hw, y: s.hw });
    case "general": {
      // Attrs, operand shapes and parameter offsets are too many to spell out: a
      // hash of the whole spec tells kernels apart (module.ts rejects a collision).
      const key = specKey(s);
      const hash = mapHash(Array.from(key, (ch) => ch.charCodeAt(0)));
      return `f32_gen_${s.op}_${s.ys.join("x")}_${hash}`;
    }
  }
}

/** A canonical text of a spec (sorted keys), to detect two specs meeting under one name. */
export function specKey(s: KernelSpec): string {
  return JSON.stringify(
    s,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
        // JSON writes every non-finite number as null; keep them apart.
        : typeof v === "number" && !Number.isFinite(v)
        ? String(v)
        : v,
  );
}
