/**
 * Rewrites the tfjs readers run on the nodes they built, each exact (the
 * same numbers come out) and each a small pass:
 *
 * - `mergeAffines`: `x * a + b` written as two ops (a converter's decomposed
 *   batch norm: Mul then Add) is one `affine`;
 * - `foldBiasAdds`: an `affine` that only adds (weights all 1) after a
 *   conv or linear without bias is that layer's bias;
 * - `foldZeroPads`: a zero `pad` of H and W read only by a conv is the
 *   conv's padding (Keras' ZeroPadding2D before a strided `valid` conv);
 * - `simplifyClips`: `max(x, 0)` is `relu`, `min(relu(x), 6)` and
 *   `clip(x, 0, 6)` are `relu6`;
 * - `lowerLoneAffines`: an `affine` that only scales or only shifts is a
 *   `mul` or `add` with a `const` operand, so parameters count the constants
 *   the file stores (C, not 2 x C);
 * - `fuseChannelShuffles`: ShuffleNet's shuffle in NHWC, `reshape [N, H, W,
 *   g, C/g]` -> `transpose [0, 1, 2, 4, 3]` -> `reshape [N, H, W, C]`, between
 *   the layout transposes around it, is one `channel_shuffle` on NCHW.
 *
 * A node that is a graph output is never folded away.
 *
 * @module
 */

import type { Weights } from "../lib/runtime/weights.ts";

/** A node as the builder holds it. */
export interface Built {
  name: string;
  kind: string;
  // deno-lint-ignore no-explicit-any
  attrs: any;
  inputs: string[];
  /** Rank of the node's output. */
  rank?: number;
}

/** What the passes rewrite: nodes in order, their weights, and the graph's output nodes. */
export interface PassGraph {
  nodes: Built[];
  weights: Weights;
  /** Output name -> node; a pass that removes a node re-points its outputs. */
  outputs: { name: string; node: string }[];
}

function readers(g: PassGraph): Map<string, Built[]> {
  const out = new Map<string, Built[]>();
  for (const n of g.nodes) {
    for (const i of new Set(n.inputs)) out.set(i, [...(out.get(i) ?? []), n]);
  }
  return out;
}

const isOutput = (g: PassGraph, name: string) => g.outputs.some((o) => o.node === name);

/** The only reader of `name`, when it has exactly one and is not a graph output. */
function soleReader(g: PassGraph, r: Map<string, Built[]>, name: string): Built | undefined {
  const list = r.get(name);
  return list?.length === 1 && !isOutput(g, name) ? list[0] : undefined;
}

/** Drops `gone` and makes everything that read `gone` read `by`. */
function replace(g: PassGraph, gone: Built, by: string): void {
  g.nodes.splice(g.nodes.indexOf(gone), 1);
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === gone.name ? by : i));
  for (const o of g.outputs) if (o.node === gone.name) o.node = by;
  for (const key of [...g.weights.keys()]) {
    if (key.startsWith(gone.name + ".") && !key.slice(gone.name.length + 1).includes(".")) {
      g.weights.delete(key);
    }
  }
}

const param = (g: PassGraph, n: Built, key: string) => g.weights.get(`${n.name}.${key}`)!;
const at = (v: Float32Array, c: number) => v[v.length === 1 ? 0 : c];

/** Affine after affine: `(x * w1 + b1) * w2 + b2 = x * (w1 w2) + (b1 w2 + b2)`. */
export function mergeAffines(g: PassGraph): void {
  const r = readers(g);
  for (const first of [...g.nodes]) {
    if (first.kind !== "affine") continue;
    const second = soleReader(g, r, first.name);
    if (second?.kind !== "affine") continue;
    const [w1, b1, w2, b2] = [
      param(g, first, "weight"),
      param(g, first, "bias"),
      param(g, second, "weight"),
      param(g, second, "bias"),
    ];
    const c = Math.max(w1.length, w2.length);
    const w = new Float32Array(c);
    const b = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      w[i] = at(w1, i) * at(w2, i);
      b[i] = at(b1, i) * at(w2, i) + at(b2, i);
    }
    second.inputs = [...first.inputs];
    second.attrs = { channels: c };
    g.weights.set(`${second.name}.weight`, w);
    g.weights.set(`${second.name}.bias`, b);
    replace(g, first, second.name);
    return mergeAffines(g);
  }
}

/** An add-only affine after a conv or linear without bias becomes its bias. */
export function foldBiasAdds(g: PassGraph): void {
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const r = readers(g);
  for (const a of [...g.nodes]) {
    if (a.kind !== "affine" || !param(g, a, "weight").every((v) => v === 1)) continue;
    const layer = byName.get(a.inputs[0]);
    if (!layer || (layer.kind !== "conv2d" && layer.kind !== "linear") || layer.attrs.bias) {
      continue;
    }
    if (soleReader(g, r, layer.name) !== a) continue;
    const channels = layer.kind === "conv2d" ? layer.attrs.outChannels : layer.attrs.outFeatures;
    const add = param(g, a, "bias");
    if (add.length !== 1 && add.length !== channels) continue;
    layer.attrs = { ...layer.attrs, bias: true };
    g.weights.set(
      `${layer.name}.bias`,
      Float32Array.from({ length: channels }, (_, c) => at(add, c)),
    );
    replace(g, a, layer.name);
  }
}

/** A zero pad of H and W (NCHW axes 2, 3) read only by a conv is the conv's padding. */
export function foldZeroPads(g: PassGraph): void {
  const r = readers(g);
  for (const p of [...g.nodes]) {
    if (p.kind !== "pad" || p.attrs.mode !== "constant" || p.attrs.value !== 0) continue;
    const pads = p.attrs.pads as number[];
    if (pads.length !== 8 || [0, 1, 4, 5].some((i) => pads[i] !== 0) || pads.some((v) => v < 0)) {
      continue;
    }
    const conv = soleReader(g, r, p.name);
    if (conv?.kind !== "conv2d") continue;
    const [t, l, b, rt] = conv.attrs.padding as number[];
    conv.attrs = { ...conv.attrs, padding: [t + pads[2], l + pads[3], b + pads[6], rt + pads[7]] };
    replace(g, p, p.inputs[0]);
  }
}

const bounds = (n: Built): [number, number] | undefined =>
  n.kind === "clip"
    ? [n.attrs.min, n.attrs.max]
    : n.kind === "relu"
    ? [0, Infinity]
    : n.kind === "relu6"
    ? [0, 6]
    : undefined;

/**
 * Chains of clips and relus are one clip of the intersected bounds (`min(x, 6)`
 * then `max(., 0)`, or `relu` then `min(., 6)`: both relu6), and a clip is
 * `relu` on `[0, inf)` and `relu6` on `[0, 6]`.
 */
export function simplifyClips(g: PassGraph): void {
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const r = readers(g);
  for (const c of [...g.nodes]) {
    const outer = bounds(c);
    if (!outer) continue;
    const src = byName.get(c.inputs[0]);
    const inner = src && bounds(src);
    let [lo, hi] = outer;
    if (src && inner && soleReader(g, r, src.name) === c) {
      const [l, h] = [Math.max(lo, inner[0]), Math.min(hi, inner[1])];
      if (l <= h) {
        [lo, hi] = [l, h];
        c.inputs = [...src.inputs];
        replace(g, src, c.name);
        byName.delete(src.name);
      }
    }
    if (lo === 0 && hi === Infinity) Object.assign(c, { kind: "relu", attrs: {} });
    else if (lo === 0 && hi === 6) Object.assign(c, { kind: "relu6", attrs: {} });
    else Object.assign(c, { kind: "clip", attrs: { min: lo, max: hi } });
  }
}

const perm = (n: Built | undefined, p: readonly number[]) =>
  n?.kind === "transpose" && (n.attrs.perm as number[]).join() === p.join();

/** NCHW -> NHWC -> reshape g x C/g -> swap -> reshape C -> NCHW is `channel_shuffle(groups g)`. */
export function fuseChannelShuffles(g: PassGraph): void {
  const r = readers(g);
  for (const toNhwc of [...g.nodes]) {
    if (!perm(toNhwc, [0, 2, 3, 1])) continue;
    const r1 = soleReader(g, r, toNhwc.name);
    if (r1?.kind !== "reshape" || r1.attrs.shape.length !== 5) continue;
    const swap = soleReader(g, r, r1.name);
    if (!perm(swap, [0, 1, 2, 4, 3])) continue;
    const r2 = soleReader(g, r, swap!.name);
    if (r2?.kind !== "reshape" || r2.attrs.shape.length !== 4) continue;
    const toNchw = soleReader(g, r, r2.name);
    if (!perm(toNchw, [0, 3, 1, 2])) continue;
    const [n, h, w, groups, per] = r1.attrs.shape as number[];
    const [n2, h2, w2, c] = r2.attrs.shape as number[];
    if (n !== n2 || h !== h2 || w !== w2 || groups * per !== c) continue;
    // The shuffle takes the second reshape's name (the file's name for the shuffled tensor).
    const shuffle: Built = {
      name: r2.name,
      kind: "channel_shuffle",
      attrs: { groups },
      inputs: [...toNhwc.inputs],
    };
    const last = toNchw!;
    g.nodes.splice(g.nodes.indexOf(last), 1, shuffle);
    for (const gone of [r2, swap!, r1, toNhwc]) g.nodes.splice(g.nodes.indexOf(gone), 1);
    for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === last.name ? shuffle.name : i));
    for (const o of g.outputs) if (o.node === last.name) o.node = shuffle.name;
    return fuseChannelShuffles(g);
  }
}

/** A scale-only or shift-only affine as `mul` / `add` with a `const` of shape `[1, C, 1, ...]`. */
export function lowerLoneAffines(g: PassGraph): void {
  for (const a of [...g.nodes]) {
    if (a.kind !== "affine" || a.rank === undefined) continue;
    const w = param(g, a, "weight");
    const b = param(g, a, "bias");
    const shiftOnly = w.every((v) => v === 1);
    const scaleOnly = b.every((v) => v === 0);
    if (!shiftOnly && !scaleOnly) continue;
    const c = w.length;
    const shape = c === 1 ? [1] : [1, c, ...new Array(a.rank - 2).fill(1)];
    const k: Built = {
      name: `${a.name}.const`,
      kind: "const",
      attrs: { shape },
      inputs: [],
      rank: shape.length,
    };
    g.nodes.splice(g.nodes.indexOf(a), 0, k);
    g.weights.set(`${k.name}.value`, shiftOnly ? b : w);
    g.weights.delete(`${a.name}.weight`);
    g.weights.delete(`${a.name}.bias`);
    Object.assign(a, { kind: shiftOnly ? "add" : "mul", attrs: {}, inputs: [a.inputs[0], k.name] });
  }
}

/** Every pass, in an order where each one's result feeds the next. */
export function runPasses(g: PassGraph): void {
  fuseChannelShuffles(g);
  mergeAffines(g);
  foldBiasAdds(g);
  foldZeroPads(g);
  simplifyClips(g);
  lowerLoneAffines(g);
}
