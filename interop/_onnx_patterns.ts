/**
 * Pattern rewrites of the ONNX importer, run after conversion until nothing
 * changes: element-wise arithmetic into hardsigmoid / hardswish (with scalar
 * arithmetic before or after), Reshape-Transpose-Reshape into a channel
 * shuffle, Reshape/Squeeze to [N, -1] into flatten, bias adds and zero Pads
 * into the conv, linear or pool before/after them, and identities dropped.
 * Each rule is a small function of one draft; every pass is linear in the
 * number of drafts (use counts are kept by {@link DraftGraph}).
 *
 * @module
 */

import type { AnyDraft, Draft, DraftGraph } from "./_onnx_draft.ts";
import { niceFloat } from "./_onnx_convert.ts";

/** One rewrite: changes the graph around `d` and returns true, or returns false. */
export type Rule = (g: DraftGraph, d: AnyDraft) => boolean;

const close = (a: number, b: number, tol = 1e-6) =>
  Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

const isScalar = (d: Draft<"scale_shift">) =>
  d.attrs.scale.length === 1 && d.attrs.shift.length === 1;

/** `ss2(ss1(x))` -> one scale_shift. */
const mergeScaleShift: Rule = (g, d) => {
  if (d.kind !== "scale_shift") return false;
  const p = g.producer(d.inputs[0], "scale_shift");
  if (!p || g.uses(p.ref) !== 1) return false;
  const n = Math.max(
    d.attrs.scale.length,
    p.attrs.scale.length,
    d.attrs.shift.length,
    p.attrs.shift.length,
  );
  const at = (v: number[], i: number) => (v.length === 1 ? v[0] : v[i]);
  const scale: number[] = [];
  const shift: number[] = [];
  for (let i = 0; i < n; i++) {
    scale.push(at(d.attrs.scale, i) * at(p.attrs.scale, i));
    shift.push(at(d.attrs.scale, i) * at(p.attrs.shift, i) + at(d.attrs.shift, i));
  }
  const squash = (v: number[]) => (v.every((t) => t === v[0]) ? [v[0]] : v);
  d.attrs = { scale: squash(scale), shift: squash(shift) };
  g.setInputs(d, [...p.inputs]);
  return true;
};

/** `clip(clip(x))` -> one clip with the tighter bounds. */
const mergeClip: Rule = (g, d) => {
  if (d.kind !== "clip") return false;
  const p = g.producer(d.inputs[0], "clip");
  if (!p || g.uses(p.ref) !== 1) return false;
  d.attrs = { min: Math.max(d.attrs.min, p.attrs.min), max: Math.min(d.attrs.max, p.attrs.max) };
  g.setInputs(d, [...p.inputs]);
  return true;
};

/**
 * `c * clip(a * x + b, lo, hi) + d` with `c * (hi - lo) = 1` and `c * lo + d = 0`
 * is `hardsigmoid(x)` with alpha `a / (hi - lo)`, beta `(b - lo) / (hi - lo)`.
 */
const hardSigmoidFromClip: Rule = (g, d) => {
  let c = 1;
  let dd = 0;
  let clip: Draft<"clip">;
  if (d.kind === "scale_shift") {
    if (!isScalar(d)) return false;
    const p = g.producer(d.inputs[0], "clip");
    if (!p || g.uses(p.ref) !== 1) return false;
    [c, dd, clip] = [d.attrs.scale[0], d.attrs.shift[0], p];
  } else if (d.kind === "clip") clip = d;
  else return false;
  const inner = g.producer(clip.inputs[0], "scale_shift");
  if (!inner || g.uses(inner.ref) !== 1 || !isScalar(inner)) return false;
  const { min: lo, max: hi } = clip.attrs;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo || c <= 0) return false;
  if (!close(c * (hi - lo), 1) || !close(c * lo + dd, 0)) return false;
  const [a, b] = [inner.attrs.scale[0], inner.attrs.shift[0]];
  g.retype(d, "hardsigmoid", {
    alpha: niceFloat(a / (hi - lo)),
    beta: niceFloat((b - lo) / (hi - lo)),
  });
  g.setInputs(d, [...inner.inputs]);
  return true;
};

/** `hardsigmoid(a * x + b)` -> one hardsigmoid (scalar arithmetic before it). */
const scaleIntoHardSigmoid: Rule = (g, d) => {
  if (d.kind !== "hardsigmoid") return false;
  const p = g.producer(d.inputs[0], "scale_shift");
  if (!p || g.uses(p.ref) !== 1 || !isScalar(p)) return false;
  const [a, b] = [p.attrs.scale[0], p.attrs.shift[0]];
  d.attrs = {
    alpha: niceFloat(d.attrs.alpha * a),
    beta: niceFloat(d.attrs.alpha * b + d.attrs.beta),
  };
  g.setInputs(d, [...p.inputs]);
  return true;
};

/**
 * The gate of a hard swish: `g(x) = k * hardsigmoid(x)` with torchvision's
 * alpha 1/6 and beta 1/2, written as `c * clip(a * x + b, lo, hi) + d` or as
 * `c * HardSigmoid(x) + d`. Returns `{ x, k }`, or undefined.
 */
function hardSwishGate(g: DraftGraph, ref: string): { x: string; k: number } | undefined {
  let c = 1;
  let dd = 0;
  let p = g.producer(ref);
  if (p?.kind === "scale_shift") {
    if (!isScalar(p) || g.uses(p.ref) !== 1) return undefined;
    [c, dd] = [p.attrs.scale[0], p.attrs.shift[0]];
    p = g.producer(p.inputs[0]);
  }
  if (!p || g.uses(p.ref) !== 1 || c <= 0) return undefined;
  let a: number, b: number, lo: number, hi: number, x: string;
  if (p.kind === "hardsigmoid") {
    [a, b, lo, hi, x] = [p.attrs.alpha, p.attrs.beta, 0, 1, p.inputs[0]];
  } else if (p.kind === "clip") {
    const inner = g.producer(p.inputs[0], "scale_shift");
    [lo, hi] = [p.attrs.min, p.attrs.max];
    if (!inner || g.uses(inner.ref) !== 1 || !isScalar(inner)) {
      // relu6(x + 3) with the add folded away is not possible; a plain clip needs a = 1, b = 0.
      [a, b, x] = [1, 0, p.inputs[0]];
    } else [a, b, x] = [inner.attrs.scale[0], inner.attrs.shift[0], inner.inputs[0]];
  } else return undefined;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) return undefined;
  // c * clip(a x + b, lo, hi) + d = c (hi - lo) clip((a x + b - lo) / (hi - lo), 0, 1) when c lo + d = 0.
  if (!close(c * lo + dd, 0, 1e-6)) return undefined;
  if (!close(a / (hi - lo), 1 / 6) || !close((b - lo) / (hi - lo), 0.5)) return undefined;
  return { x, k: c * (hi - lo) };
}

/**
 * `x * gate(x)` (optionally times a scalar `s` after the product) where
 * `gate(x) = k * hardsigmoid(x)` is `hardswish(x)`, followed by a scale
 * `k * s` when that is not 1: `y * clip(y + 3, 0, 6) / 6 * s`.
 */
function hardSwishRule(scaledToo: boolean): Rule {
  return (g, d) => hardSwish(g, d, scaledToo);
}

function hardSwish(g: DraftGraph, d: AnyDraft, scaledToo: boolean): boolean {
  let s = 1;
  let m: AnyDraft | undefined = d;
  if (d.kind === "scale_shift") {
    if (!isScalar(d) || d.attrs.shift[0] !== 0) return false;
    s = d.attrs.scale[0];
    m = g.producer(d.inputs[0], "mul_same");
    if (!m || g.uses(m.ref) !== 1) return false;
  }
  if (m.kind !== "mul_same") return false;
  for (const [xi, gi] of [[0, 1], [1, 0]]) {
    const gate = hardSwishGate(g, m.inputs[gi]);
    if (!gate || gate.x !== m.inputs[xi]) continue;
    const k = gate.k * s;
    if (!close(k, 1) && !scaledToo) continue;
    if (close(k, 1)) {
      g.retype(d, "hardswish", {});
      g.setInputs(d, [gate.x]);
    } else {
      const h = g.insertBefore(d, `${d.ref}#hardswish`, "hardswish", {}, [gate.x], d.shape);
      g.retype(d, "scale_shift", { scale: [niceFloat(k)], shift: [0] });
      g.setInputs(d, [h.ref]);
    }
    return true;
  }
  return false;
}

/** `x * sigmoid(x)` is SiLU (Swish). */
const silu: Rule = (g, d) => {
  if (d.kind !== "mul_same") return false;
  for (const [xi, si] of [[0, 1], [1, 0]]) {
    const s = g.producer(d.inputs[si], "sigmoid");
    if (!s || g.uses(s.ref) !== 1 || s.inputs[0] !== d.inputs[xi]) continue;
    g.retype(d, "silu", {});
    g.setInputs(d, [d.inputs[xi]]);
    return true;
  }
  return false;
};

/** `reshape(N, g, C/g, H, W) -> transpose(0, 2, 1, 3, 4) -> reshape(N, C, H, W)`. */
const channelShuffle: Rule = (g, d) => {
  if (d.kind !== "reshape" || d.shape.length !== 4) return false;
  const t = g.producer(d.inputs[0], "transpose");
  if (!t || g.uses(t.ref) !== 1 || t.attrs.perm.join() !== "0,2,1,3,4") return false;
  const r = g.producer(t.inputs[0], "reshape");
  if (!r || g.uses(r.ref) !== 1) return false;
  const x = g.shapeOf(r.inputs[0]);
  if (!x || x.length !== 4) return false;
  const [n, c, h, w] = x;
  const [n2, groups, cg, h2, w2] = r.shape;
  if (n2 !== n || groups * cg !== c || h2 !== h || w2 !== w || d.shape.join() !== x.join()) {
    return false;
  }
  g.retype(d, "channel_shuffle", { groups });
  g.setInputs(d, [...r.inputs]);
  return true;
};

/** `transpose(transpose(x, p), q)` is one transpose by `p[q[i]]`; the identity perm vanishes. */
const mergeTranspose: Rule = (g, d) => {
  if (d.kind !== "transpose") return false;
  const p = g.producer(d.inputs[0], "transpose");
  if (p && g.uses(p.ref) === 1) {
    d.attrs = { perm: d.attrs.perm.map((q) => p.attrs.perm[q]) };
    g.setInputs(d, [...p.inputs]);
    return true;
  }
  if (d.attrs.perm.every((q, i) => q === i)) {
    g.retype(d, "identity", {});
    return true;
  }
  return false;
};

/** `reshape(reshape(x))` is one reshape. */
const mergeReshape: Rule = (g, d) => {
  if (d.kind !== "reshape" && d.kind !== "flatten") return false;
  const p = g.producer(d.inputs[0], "reshape");
  if (!p || g.uses(p.ref) !== 1) return false;
  // A flatten's meaning depends on its input's dims: state its output shape instead.
  if (d.kind === "flatten") g.retype(d, "reshape", { shape: [...d.shape] });
  g.setInputs(d, [...p.inputs]);
  return true;
};

/** A reshape to the same shape is an identity; to `[N, -1]`, a flatten. */
const reshapeToFlatten: Rule = (g, d) => {
  if (d.kind !== "reshape") return false;
  const x = g.shapeOf(d.inputs[0])!;
  const numel = x.reduce((a, b) => a * b, 1);
  if (d.shape.join() === x.join()) {
    g.retype(d, "identity", {});
    return true;
  }
  if (d.shape.length === 2 && d.shape[0] === x[0] && d.shape[1] * x[0] === numel) {
    g.retype(d, "flatten", { axis: 1 });
    return true;
  }
  return false;
};

/** A per-channel add right after a conv, transposed conv or linear without bias becomes its bias. */
const biasIntoLinear: Rule = (g, d) => {
  if (d.kind !== "scale_shift" || d.attrs.scale.length !== 1 || d.attrs.scale[0] !== 1) {
    return false;
  }
  const p = g.producer(d.inputs[0]);
  const layer = p?.kind === "conv2d" || p?.kind === "linear" || p?.kind === "conv_transpose2d";
  if (!p || !layer || p.attrs.bias || g.uses(p.ref) !== 1) return false;
  const channels = p.shape[1];
  // One stored value per channel (a scalar only for one channel): the bias stores as many.
  const shift = d.attrs.shift;
  if (shift.length !== channels) return false;
  const bias = Float32Array.from(shift);
  g.retype(d, p.kind, { ...p.attrs, bias: true } as never);
  d.params = new Map([...p.params, ["bias", bias]]);
  d.pathHint = p.pathHint;
  d.onnxName = p.onnxName;
  d.opType = p.opType;
  g.setInputs(d, [...p.inputs]);
  return true;
};

/** The [top, left, bottom, right] of a zero Pad of H and W only, or undefined. */
function zeroPadHW(p: Draft<"pad">): [number, number, number, number] | undefined {
  const { pads, mode, value } = p.attrs;
  if (pads.length !== 8 || mode !== "constant" || value !== 0) return undefined;
  if (pads[0] || pads[1] || pads[4] || pads[5]) return undefined;
  return [pads[2], pads[3], pads[6], pads[7]];
}

/** A Pad of nothing is an identity. */
const emptyPad: Rule = (g, d) => {
  if (d.kind !== "pad" || d.attrs.pads.some((v) => v !== 0)) return false;
  g.retype(d, "identity", {});
  return true;
};

/**
 * A zero Pad of H and W read only by a conv (or an average pool that counts
 * padding, or has none) becomes that op's padding: exact, since both add zeros.
 */
const padIntoWindow: Rule = (g, d) => {
  if (d.kind !== "conv2d" && d.kind !== "avg_pool") return false;
  const p = g.producer(d.inputs[0], "pad");
  if (!p || g.uses(p.ref) !== 1) return false;
  const extra = zeroPadHW(p);
  if (!extra) return false;
  const q = d.attrs.padding;
  const padding = [0, 1, 2, 3].map((i) => q[i] + extra[i]) as [number, number, number, number];
  if (d.kind === "conv2d") d.attrs = { ...d.attrs, padding };
  else {
    const own = q.some((v) => v !== 0);
    if (d.attrs.ceilMode || (own && !d.attrs.countIncludePad)) return false;
    d.attrs = { ...d.attrs, padding, countIncludePad: true };
  }
  g.setInputs(d, [...p.inputs]);
  return true;
};

/** scale 1 shift 0 and an unbounded clip are identities. */
const dropIdentity: Rule = (g, d) => {
  const identity = (d.kind === "scale_shift" && d.attrs.scale.every((v) => v === 1) &&
    d.attrs.shift.every((v) => v === 0)) ||
    (d.kind === "clip" && d.attrs.min === -Infinity && d.attrs.max === Infinity);
  if (identity) g.retype(d, "identity", {});
  return identity;
};

/** The rules, tried in this order on every draft. */
export const RULES: readonly Rule[] = [
  mergeScaleShift,
  mergeClip,
  hardSwishRule(false),
  silu,
  hardSigmoidFromClip,
  scaleIntoHardSigmoid,
  channelShuffle,
  mergeTranspose,
  mergeReshape,
  reshapeToFlatten,
  biasIntoLinear,
  emptyPad,
  padIntoWindow,
  dropIdentity,
];

/**
 * Rules tried once {@link RULES} change nothing: a hard swish whose gate is
 * scaled (`x * relu6(x + 3)` without the `/ 6`) becomes hardswish followed by
 * a scale only when no scalar after the product can cancel the scale first.
 */
export const LATE_RULES: readonly Rule[] = [hardSwishRule(true)];

function pass(g: DraftGraph, rules: readonly Rule[]): boolean {
  let changed = false;
  // Drafts added during a pass (inserted gates) are visited in the next one.
  for (const d of [...g.drafts]) {
    if (d.kind === "identity" || g.uses(d.ref) === 0) continue;
    for (const rule of rules) {
      if (rule(g, d)) {
        changed = true;
        break;
      }
    }
  }
  return changed;
}

/** Applies {@link RULES} (then {@link LATE_RULES}) to every live draft until nothing changes. */
export function rewrite(g: DraftGraph): void {
  for (let round = 0; round < 100; round++) {
    if (pass(g, RULES)) continue;
    if (!pass(g, LATE_RULES)) return;
  }
}
