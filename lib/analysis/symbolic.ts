/**
 * Symbolic cost: parameters, MAdds, MAC and activation memory as closed-form
 * expressions of the input height H and width W (and, for models whose
 * channels are `int(alpha * c)` like MobileNet V1, of the width multiplier
 * alpha), per layer and in total.
 *
 * The stride arithmetic is exact. Every spatial size of a network made of
 * convs and pools is `floor((H + p) / q)` for integers p and q >= 1, because
 * a window op maps `floor((H + p) / q)` to
 * `floor((floor((H + p) / q) + a) / s) = floor((H + p + a*q) / (q*s))` with
 * `a = pads - dilation*(kernel - 1) - 1 + s` (floor mode; ceil mode adds
 * s - 1). Expressions are polynomials over such floor atoms, so evaluating
 * one at any (H, W) in the domain gives the interpreter's integer exactly.
 * The domain is H >= minH, W >= minW (every window fits); {@link evaluate}
 * checks it. On H and W multiples of `period` (the lcm of the q), each atom is
 * `H/q + floor(p/q)` and the expression is an ordinary polynomial
 * ({@link onMultiples}).
 *
 * Width mode (`width: true`) replaces every channel count c of a graph built at
 * alpha = 1 with the atom `int(A*c)` (`Math.floor(alpha * c)`, MobileNet V1's
 * rule), except the image channels and the classifier's outputs. The property
 * tests check that evaluation matches graphs built at other alphas.
 *
 * Not supported (a {@link SymbolicError} says which layer): a classifier that
 * flattens a map whose size depends on H or W, concat or add of maps whose
 * size expressions differ, a ceil-mode pool whose last window could start in
 * the padding (PyTorch then drops it), and, in width mode, grouped convs that
 * are not depthwise.
 *
 * @module
 */

import type { AnyNode, Graph } from "../ir/graph.ts";
import type { Knobs, ModelDef } from "../models/registry.ts";
import type { HW, Pads } from "../ir/ops.ts";
import { peakMemory } from "./memory.ts";
import { inferShapes } from "./shapes.ts";

/** Thrown for a graph or layer the symbolic interpreter cannot express. */
export class SymbolicError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "SymbolicError";
  }
}

/** A factor of a monomial: `floor((H + p) / q)`, `floor((W + p) / q)` or `int(A * k)`. */
export type Atom =
  | { kind: "H" | "W"; p: number; q: number }
  | { kind: "A"; k: number };

/** A polynomial over {@link Atom}s with integer coefficients, keyed by monomial. */
export type Poly = Map<string, number>;

function atomKey(a: Atom): string {
  return a.kind === "A" ? `A:${a.k}` : `${a.kind}:${a.p}:${a.q}`;
}

function parseAtom(key: string): Atom {
  const [kind, x, y] = key.split(":");
  return kind === "A"
    ? { kind, k: Number(x) }
    : { kind: kind as "H" | "W", p: Number(x), q: Number(y) };
}

function monoKey(atoms: string[]): string {
  return [...atoms].sort().join("*");
}

/** The constant polynomial `n`. */
export function constant(n: number): Poly {
  return n === 0 ? new Map() : new Map([["", n]]);
}

/** The polynomial of one atom. */
export function atom(a: Atom): Poly {
  return new Map([[atomKey(a), 1]]);
}

/** `a + b` (new map). */
export function add(a: Poly, b: Poly): Poly {
  const out = new Map(a);
  for (const [k, v] of b) {
    const s = (out.get(k) ?? 0) + v;
    if (s === 0) out.delete(k);
    else out.set(k, s);
  }
  return out;
}

/** `a * b`. */
export function mul(a: Poly, b: Poly): Poly {
  let out: Poly = new Map();
  for (const [ka, va] of a) {
    for (const [kb, vb] of b) {
      const atoms = [...(ka ? ka.split("*") : []), ...(kb ? kb.split("*") : [])];
      out = add(out, new Map([[monoKey(atoms), va * vb]]));
    }
  }
  return out;
}

/** `n * a`. */
export function scale(a: Poly, n: number): Poly {
  return mul(a, constant(n));
}

function sum(ps: Iterable<Poly>): Poly {
  let out: Poly = new Map();
  for (const p of ps) out = add(out, p);
  return out;
}

/** Values of the symbols: input height and width, and the width multiplier. */
export interface Env {
  H: number;
  W: number;
  alpha?: number;
}

function atomValue(a: Atom, env: Env): number {
  if (a.kind === "A") {
    if (env.alpha === undefined) throw new TypeError("Cannot evaluate int(A*k) without alpha");
    return Math.floor(env.alpha * a.k);
  }
  return Math.floor(((a.kind === "H" ? env.H : env.W) + a.p) / a.q);
}

/** Evaluates a polynomial (no domain check; see {@link evaluate}). */
export function evalPoly(p: Poly, env: Env): number {
  let total = 0;
  for (const [key, c] of p) {
    let v = c;
    if (key) { for (const a of key.split("*")) v *= atomValue(parseAtom(a), env); }
    total += v;
  }
  return total;
}

function atomText(a: Atom): string {
  if (a.kind === "A") return `int(A*${a.k})`;
  if (a.q === 1) return a.p === 0 ? a.kind : `(${a.kind}${a.p > 0 ? "+" : "-"}${Math.abs(a.p)})`;
  const inner = a.p === 0 ? a.kind : `${a.kind}${a.p > 0 ? "+" : "-"}${Math.abs(a.p)}`;
  return `floor((${inner})/${a.q})`;
}

/** Atoms in print order: alpha atoms by k, then H and W atoms by q and p (plain H first). */
function atomOrder(x: string, y: string): number {
  const plain = (k: string) => (k === "H" || k === "W" ? `${k}:0:1` : k);
  const a = parseAtom(plain(x)), b = parseAtom(plain(y));
  const rank = (t: Atom) => (t.kind === "A" ? 0 : t.kind === "H" ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (a.kind === "A" || b.kind === "A") return (a as { k: number }).k - (b as { k: number }).k;
  return a.q - b.q || a.p - b.p;
}

/** Higher degree first, then atom by atom in {@link atomOrder}. */
function monoOrder(a: string, b: string): number {
  const xa = a ? a.split("*") : [], xb = b ? b.split("*") : [];
  if (xa.length !== xb.length) return xb.length - xa.length;
  const sa = [...xa].sort(atomOrder), sb = [...xb].sort(atomOrder);
  for (let i = 0; i < sa.length; i++) {
    const c = atomOrder(sa[i], sb[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Prints a polynomial readably: `27*floor((H+1)/2)*floor((W+1)/2) + 864`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { add, atom, constant, formatPoly, mul, scale } from "./symbolic.ts";
 * const h = atom({ kind: "H", p: 1, q: 2 }), w = atom({ kind: "W", p: 1, q: 2 });
 * assert.equal(formatPoly(add(scale(mul(h, w), 27), constant(-2))), "27*floor((H+1)/2)*floor((W+1)/2) - 2");
 * assert.equal(formatPoly(constant(0)), "0");
 * ```
 */
export function formatPoly(p: Poly): string {
  const keys = [...p.keys()].sort(monoOrder);
  if (keys.length === 0) return "0";
  return keys.map((k, i) => {
    const c = p.get(k)!;
    const atoms = k ? k.split("*").sort(atomOrder).map((a) => atomText(parseAtom(a))) : [];
    const mag = Math.abs(c);
    const body = atoms.length === 0
      ? String(mag)
      : [...(mag === 1 ? [] : [String(mag)]), ...atoms].join("*");
    if (i === 0) return c < 0 ? `-${body}` : body;
    return `${c < 0 ? "-" : "+"} ${body}`;
  }).join(" ");
}

/** Symbolic spatial size: an atom `floor((X + p) / q)` or a constant. */
type Dim = { p: number; q: number } | { value: number };

interface SymTensor {
  n: number;
  /** Channels (4-D) or features (2-D). */
  c: Poly;
  h?: Dim;
  w?: Dim;
}

function dimPoly(d: Dim | undefined, kind: "H" | "W"): Poly {
  if (d === undefined) return constant(1);
  return "value" in d ? constant(d.value) : atom({ kind, p: d.p, q: d.q });
}

function elements(t: SymTensor): Poly {
  return mul(scale(t.c, t.n), mul(dimPoly(t.h, "H"), dimPoly(t.w, "W")));
}

function sameDim(a: Dim | undefined, b: Dim | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if ("value" in a || "value" in b) {
    return "value" in a && "value" in b && a.value === b.value;
  }
  return a.p === b.p && a.q === b.q;
}

function samePoly(a: Poly, b: Poly): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/** One layer's expressions. */
export interface SymbolicLayer {
  name: string;
  kind: string;
  params: Poly;
  madds: Poly;
  mac: Poly;
  /** Output elements. */
  activations: Poly;
}

/** The result of {@link symbolicCost}. */
export interface SymbolicCost {
  model: string;
  /** Symbols the expressions use: `H`, `W`, and `A` in width mode. */
  symbols: string[];
  /** Smallest input height and width for which every window fits. */
  minH: number;
  minW: number;
  /** lcm of every q: on H, W multiples of it the floors vanish. */
  periodH: number;
  periodW: number;
  layers: SymbolicLayer[];
  totals: { params: Poly; madds: Poly; mac: Poly; activations: Poly };
  /**
   * Peak live activation elements (topological order, freed after the last
   * reader; lib/analysis/memory.ts): the max of these expressions, one per
   * step that no other step dominates term by term.
   */
  peakActivations: Poly[];
}

/** Options of {@link symbolicCost}. */
export interface SymbolicOptions {
  /** Channels as `int(A*c)` of the alpha = 1 graph given (MobileNet V1's rule). */
  width?: boolean;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return Math.abs(a);
}

function windowDim(
  d: Dim,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceil: boolean,
  where: string,
): { dim: Dim; min: number } {
  const eff = dilation * (kernel - 1) + 1;
  const need = eff - padBegin - padEnd; // the input must be at least this large
  if (ceil && !(padEnd + stride < dilation * (kernel - 1) + 2)) {
    throw new SymbolicError(
      `Cannot express "${where}": a ceil-mode window may start in the end padding (kernel ${kernel}, stride ${stride}, padding ${padEnd}), so its size is not one floor`,
    );
  }
  const a = padBegin + padEnd - eff + stride + (ceil ? stride - 1 : 0);
  if ("value" in d) {
    // A constant size stays constant (after a global pool); the concrete rule decides.
    const span = d.value + padBegin + padEnd - eff;
    if (span < 0) throw new SymbolicError(`Cannot express "${where}": window larger than input`);
    return { dim: { value: Math.floor((span + (ceil ? stride - 1 : 0)) / stride) + 1 }, min: 0 };
  }
  // floor((X + p)/q) >= need  <=>  X >= need*q - p.
  return { dim: { p: d.p + a * d.q, q: d.q * stride }, min: need * d.q - d.p };
}

/**
 * Symbolic params, MAdds, MAC and activations of a graph, per layer and in
 * total; see the module doc.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { evaluate, formatPoly, symbolicCost } from "./symbolic.ts";
 * const b = new GraphBuilder("t", [1, 3, 224, 224]);
 * const g = b.build(b.conv2d(b.input, { out: 32, kernel: 3, stride: 2 }, "conv"));
 * const s = symbolicCost(g);
 * assert.equal(formatPoly(s.totals.madds), "864*floor((H+1)/2)*floor((W+1)/2)");
 * assert.equal(evaluate(s, s.totals.madds, { H: 225, W: 100 }), 864 * 113 * 50);
 * ```
 */
export function symbolicCost(graph: Graph, options: SymbolicOptions = {}): SymbolicCost {
  const width = options.width ?? false;
  const shaped = inferShapes(graph);
  const [n, cIn] = graph.inputs[0].shape;
  if (graph.inputs[0].shape.length !== 4) {
    throw new SymbolicError(`Cannot express a graph whose input is not [N, C, H, W]`);
  }
  const ch = (c: number): Poly => (width ? atom({ kind: "A", k: c }) : constant(c));
  const tensors = new Map<string, SymTensor>();
  tensors.set(graph.inputs[0].name, { n, c: constant(cIn), h: { p: 0, q: 1 }, w: { p: 0, q: 1 } });
  let minH = 1, minW = 1, periodH = 1, periodW = 1;
  const lcm = (a: number, b: number) => (a / gcd(a, b)) * b;
  const layers: SymbolicLayer[] = [];
  const classesOut = new Set(
    shaped.nodes.filter((s) => s.node.kind === "linear").slice(-1).map((s) => s.node.name),
  );

  for (const s of shaped.nodes) {
    const node = s.node as AnyNode;
    const ins = node.inputs.map((i) => tensors.get(i)!);
    const x = ins[0];
    let out: SymTensor;
    let params: Poly = constant(0);
    let madds: Poly = constant(0);
    const window = (kernel: HW, stride: HW, pads: Pads, dil: HW, ceil: boolean) => {
      if (x.h === undefined || x.w === undefined) {
        throw new SymbolicError(`Cannot express "${node.name}": input is not a feature map`);
      }
      const h = windowDim(x.h, kernel[0], stride[0], pads[0], pads[2], dil[0], ceil, node.name);
      const w = windowDim(x.w, kernel[1], stride[1], pads[1], pads[3], dil[1], ceil, node.name);
      minH = Math.max(minH, h.min);
      minW = Math.max(minW, w.min);
      if (!("value" in h.dim)) periodH = lcm(periodH, h.dim.q);
      if (!("value" in w.dim)) periodW = lcm(periodW, w.dim.q);
      return { h: h.dim, w: w.dim };
    };
    switch (node.kind) {
      case "conv2d": {
        const a = node.attrs;
        const depthwise = a.groups > 1 && a.groups === a.inChannels;
        if (width && a.groups > 1 && !depthwise) {
          throw new SymbolicError(
            `Cannot express "${node.name}" in width mode: grouped conv with ${a.groups} groups is not depthwise`,
          );
        }
        const cOut = depthwise && a.outChannels === a.inChannels ? x.c : ch(a.outChannels);
        const perOut = depthwise
          ? constant(a.inChannels / a.groups)
          : width
          ? x.c
          : constant(a.inChannels / a.groups);
        const k = a.kernel[0] * a.kernel[1];
        out = { n: x.n, c: cOut, ...window(a.kernel, a.stride, a.padding, a.dilation, false) };
        const w = scale(mul(cOut, perOut), k);
        params = a.bias ? add(w, cOut) : w;
        madds = mul(elements(out), scale(perOut, k));
        break;
      }
      case "max_pool":
      case "avg_pool": {
        const a = node.attrs;
        out = { n: x.n, c: x.c, ...window(a.kernel, a.stride, a.padding, [1, 1], a.ceilMode) };
        break;
      }
      case "global_avg_pool":
        out = { n: x.n, c: x.c, h: { value: 1 }, w: { value: 1 } };
        break;
      case "batch_norm":
        // gamma and beta are parameters; running mean and var are buffers, read by MAC.
        out = x;
        params = scale(x.c, 2);
        break;
      case "split": {
        const a = node.attrs;
        if (width) {
          throw new SymbolicError(`Cannot express "${node.name}" in width mode: channel split`);
        }
        out = { ...x, c: constant(a.channels) };
        break;
      }
      case "concat": {
        for (const t of ins) {
          if (!sameDim(t.h, x.h) || !sameDim(t.w, x.w)) {
            throw new SymbolicError(
              `Cannot express "${node.name}": concat of maps whose sizes are different expressions of H and W`,
            );
          }
        }
        out = { ...x, c: sum(ins.map((t) => t.c)) };
        break;
      }
      case "add":
        if (!sameDim(ins[1].h, x.h) || !sameDim(ins[1].w, x.w) || !samePoly(ins[1].c, x.c)) {
          throw new SymbolicError(
            `Cannot express "${node.name}": add of tensors whose sizes are different expressions`,
          );
        }
        out = x;
        break;
      case "flatten": {
        const hw = mul(dimPoly(x.h, "H"), dimPoly(x.w, "W"));
        out = { n: x.n, c: mul(x.c, hw) };
        break;
      }
      case "linear": {
        const a = node.attrs;
        const feats = [...x.c.keys()];
        if (feats.some((k) => k.includes("H:") || k.includes("W:"))) {
          throw new SymbolicError(
            `Cannot express "${node.name}": the classifier reads ${
              formatPoly(x.c)
            } features, which depend on H and W (the model only runs at one resolution)`,
          );
        }
        const fOut = classesOut.has(node.name) ? constant(a.outFeatures) : ch(a.outFeatures);
        out = { n: x.n, c: fOut };
        params = a.bias ? add(mul(x.c, fOut), fOut) : mul(x.c, fOut);
        madds = scale(mul(x.c, fOut), x.n);
        break;
      }
      default:
        // Element-wise ops, channel shuffle, dropout, softmax keep their input's size.
        out = x;
        break;
    }
    tensors.set(node.name, out);
    const outEl = elements(out);
    const view = node.kind === "flatten" || node.kind === "dropout";
    const inputEl = node.kind === "split" ? outEl : sum(ins.map(elements));
    const buffers = node.kind === "batch_norm" ? scale(x.c, 2) : constant(0);
    const mac = view ? constant(0) : sum([inputEl, outEl, params, buffers]);
    layers.push({ name: node.name, kind: node.kind, params, madds, mac, activations: outEl });
  }

  // Peak memory: the live buffers of each step are structural; their sizes are symbolic.
  const peak = peakMemory(shaped);
  const steps = peak.steps.map((st) => sum(st.buffers.map((b) => elements(tensors.get(b)!))));
  const peakActivations = pruneDominated(steps);
  const symbols = width ? ["H", "W", "A"] : ["H", "W"];
  return {
    model: graph.name,
    symbols,
    minH,
    minW,
    periodH,
    periodW,
    layers,
    totals: {
      params: sum(layers.map((l) => l.params)),
      madds: sum(layers.map((l) => l.madds)),
      mac: sum(layers.map((l) => l.mac)),
      activations: sum(layers.map((l) => l.activations)),
    },
    peakActivations,
  };
}

/** Drops duplicate expressions and those another one bounds term by term. */
function pruneDominated(polys: Poly[]): Poly[] {
  // Every atom is >= 1 on the domain and every coefficient here is positive, so
  // b <= a everywhere when each term of b is in a with at least its coefficient.
  const dominates = (a: Poly, b: Poly) => [...b].every(([k, v]) => (a.get(k) ?? 0) >= v);
  const unique: Poly[] = [];
  for (const p of polys) if (!unique.some((u) => samePoly(u, p))) unique.push(p);
  return unique.filter((p, i) =>
    !unique.some((q, j) => j !== i && dominates(q, p) && !samePoly(q, p))
  );
}

/**
 * Evaluates an expression of `cost` at `env` after checking the domain
 * (H >= minH, W >= minW, integers; alpha given in width mode).
 */
export function evaluate(cost: SymbolicCost, p: Poly, env: Env): number {
  for (const [k, min] of [["H", cost.minH], ["W", cost.minW]] as const) {
    const v = env[k];
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`${k} = ${v} is outside the domain: expected an integer >= ${min}`);
    }
  }
  if (cost.symbols.includes("A") && !(env.alpha !== undefined && env.alpha > 0)) {
    throw new RangeError(`alpha is required by width-mode expressions, got ${env.alpha}`);
  }
  return evalPoly(p, env);
}

/** The peak live activation elements at `env` (the max of {@link SymbolicCost.peakActivations}). */
export function evaluatePeak(cost: SymbolicCost, env: Env): number {
  return Math.max(...cost.peakActivations.map((p) => evaluate(cost, p, env)));
}

/** A rational `num / den` in lowest terms. */
interface Rational {
  num: number;
  den: number;
}

function rat(num: number, den = 1): Rational {
  const g = gcd(num, den) || 1;
  const s = den < 0 ? -1 : 1;
  return { num: (s * num) / g, den: (s * den) / g };
}

/**
 * The expression as an ordinary polynomial in H and W (and int(A*c) atoms)
 * for H, W multiples of `periodH`, `periodW`: each `floor((H + p)/q)` is then
 * `H/q + floor(p/q)`. Printed with rational coefficients.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { onMultiples, symbolicCost } from "./symbolic.ts";
 * const b = new GraphBuilder("t", [1, 3, 224, 224]);
 * const s = symbolicCost(b.build(b.conv2d(b.input, { out: 32, kernel: 3, stride: 2 }, "conv")));
 * assert.equal(onMultiples(s.totals.madds), "216*H*W"); // 864 * (H/2) * (W/2)
 * ```
 */
export function onMultiples(p: Poly): string {
  // Expand into monomials over H, W and A atoms with rational coefficients.
  let terms = new Map<string, Rational>();
  const addTerm = (m: Map<string, Rational>, key: string, r: Rational) => {
    const prev = m.get(key);
    const next = prev ? rat(prev.num * r.den + r.num * prev.den, prev.den * r.den) : r;
    if (next.num === 0) m.delete(key);
    else m.set(key, next);
  };
  for (const [key, c] of p) {
    let partial = new Map<string, Rational>([["", rat(c)]]);
    for (const a of key ? key.split("*").map(parseAtom) : []) {
      const next = new Map<string, Rational>();
      for (const [k, r] of partial) {
        if (a.kind === "A") {
          addTerm(next, monoKey([...(k ? k.split("*") : []), atomKey(a)]), r);
          continue;
        }
        // floor((X + p)/q) = X/q + floor(p/q) when q divides X.
        addTerm(next, monoKey([...(k ? k.split("*") : []), a.kind]), rat(r.num, r.den * a.q));
        const f = Math.floor(a.p / a.q);
        if (f !== 0) addTerm(next, k, rat(r.num * f, r.den));
      }
      partial = next;
    }
    for (const [k, r] of partial) addTerm(terms, k, r);
  }
  terms = new Map([...terms].sort(([a], [b]) => monoOrder(a, b)));
  if (terms.size === 0) return "0";
  const text = (k: string) =>
    k.split("*").sort(atomOrder).map((x) => (x === "H" || x === "W" ? x : atomText(parseAtom(x))))
      .join("*");
  return [...terms].map(([k, r], i) => {
    const mag = Math.abs(r.num);
    const coef = r.den === 1 ? String(mag) : `${mag}/${r.den}`;
    const body = k === "" ? coef : coef === "1" ? text(k) : `${coef}*${text(k)}`;
    return i === 0 ? (r.num < 0 ? `-${body}` : body) : `${r.num < 0 ? "-" : "+"} ${body}`;
  }).join(" ");
}

/** JSON form of a {@link SymbolicCost}: expressions as text and as term lists. */
export function symbolicJson(cost: SymbolicCost): unknown {
  const poly = (p: Poly) => ({
    text: formatPoly(p),
    onMultiples: onMultiples(p),
    terms: [...p].sort(([a], [b]) => monoOrder(a, b)).map(([k, c]) => ({
      coefficient: c,
      factors: k ? k.split("*").map(parseAtom) : [],
    })),
  });
  return {
    schema: "lightnets.symbolic/1",
    model: cost.model,
    symbols: cost.symbols,
    domain: { minH: cost.minH, minW: cost.minW, periodH: cost.periodH, periodW: cost.periodW },
    totals: {
      params: poly(cost.totals.params),
      madds: poly(cost.totals.madds),
      mac: poly(cost.totals.mac),
      activations: poly(cost.totals.activations),
      peakActivations: cost.peakActivations.map(poly),
    },
    layers: cost.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      params: formatPoly(l.params),
      madds: formatPoly(l.madds),
      mac: formatPoly(l.mac),
      activations: formatPoly(l.activations),
    })),
  };
}

/** Channel fields of a node, in a fixed order, for comparing graphs built at two widths. */
function channelFields(node: AnyNode): number[] {
  switch (node.kind) {
    case "conv2d":
      return [node.attrs.inChannels, node.attrs.outChannels, node.attrs.groups];
    case "batch_norm":
      return [node.attrs.channels];
    case "linear":
      return [node.attrs.inFeatures, node.attrs.outFeatures];
    case "split":
      return [node.attrs.offset, node.attrs.channels];
    case "channel_shuffle":
      return [node.attrs.groups];
    default:
      return [];
  }
}

/** Widths at which {@link widthRuleHolds} compares a model with its alpha = 1 graph. */
export const WIDTH_PROBES: readonly number[] = [0.25, 0.35, 0.5, 0.6, 0.75, 0.9, 1.3];

/**
 * Whether every channel count of `model` at width alpha is `int(alpha * c)`
 * of its alpha = 1 graph (the image channels and the classes excepted), at
 * the {@link WIDTH_PROBES}; the reason when it is not.
 */
export function widthRuleHolds(model: ModelDef, knobs: Knobs): { ok: boolean; reason: string } {
  if (!model.knobs.some((k) => k.name === "width")) {
    return { ok: false, reason: `"${model.name}" has no --width knob` };
  }
  const base = model.build({ ...knobs, width: 1 });
  const lastLinear = base.nodes.filter((n) => n.kind === "linear").at(-1)?.name;
  for (const alpha of WIDTH_PROBES) {
    let g: Graph;
    try {
      g = model.build({ ...knobs, width: alpha });
    } catch {
      continue; // outside the knob's range
    }
    if (g.nodes.length !== base.nodes.length) {
      return { ok: false, reason: `at width ${alpha} the graph has a different structure` };
    }
    for (let i = 0; i < g.nodes.length; i++) {
      const a = base.nodes[i], b = g.nodes[i];
      const fa = channelFields(a), fb = channelFields(b);
      const keep = (j: number) =>
        (a.kind === "conv2d" && j === 0 && a.inputs[0] === base.inputs[0].name) ||
        (a.kind === "conv2d" && j === 2 && fa[2] === 1) ||
        (a.kind === "linear" && j === 1 && a.name === lastLinear);
      for (let j = 0; j < fa.length; j++) {
        const want = keep(j) ? fa[j] : Math.floor(alpha * fa[j]);
        if (fb[j] !== want) {
          return {
            ok: false,
            reason: `at width ${alpha}, "${b.name}" has ${fb[j]} channels where int(${alpha}*${
              fa[j]
            }) = ${want}`,
          };
        }
      }
    }
  }
  return { ok: true, reason: "" };
}
