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
 * A transposed conv maps a size X to `s*X + r`, so a size may also be
 * `m*floor((H + p)/q) + r`; a later window of stride s keeps it one floor when
 * s divides m or m divides s (upsampling by 2, then pooling by 2 or 4), else
 * a {@link SymbolicError} names the layer.
 *
 * Not supported (a {@link SymbolicError} says which layer): a classifier that
 * flattens a map whose size depends on H or W, concat or add of maps whose
 * size expressions differ, a ceil-mode pool whose last window could start in
 * the padding (PyTorch then drops it), and, in width mode, grouped convs that
 * are not depthwise and transposed convs. Of the general ops (each op's rule
 * lives in its record in lib/ops/), shape ops are expressible on the channel
 * axis of a feature map (concat, split, slice, gather) or as a flatten
 * (reshape to `[N, F]`); a resize yields its fixed `outShape`; a transpose
 * only permutes (the tensor keeps its `[N, C, H, W]` sizes and records the
 * order, which only transposes and parameter-free pointwise ops may read, so
 * an NHWC output is expressible); a reduce keeps its reduced axes as 1 or
 * drops H and W together; a layer norm over H or W has weights whose count is
 * a polynomial (the graph is tied to its resolution); matmul is `[N, K] x
 * [K, M]`.
 *
 * @module
 */

import type { AnyNode, Graph } from "../ir/graph.ts";
import type { Knobs, ModelDef } from "../models/registry.ts";
import { opDef } from "../ir/ops.ts";
import type { SymbolicArgs, SymbolicWork } from "../ops/def.ts";
import {
  type Atom,
  atom,
  atomKey,
  atomOrder,
  atomText,
  constant,
  type Dim,
  elements,
  formatPoly,
  linearDim,
  monoKey,
  monoOrder,
  parseAtom,
  type Poly,
  samePoly,
  sum,
  SymbolicError,
  type SymTensor,
} from "../ops/poly.ts";
import { peakMemory } from "./memory.ts";
import { inferShapes } from "./shapes.ts";

export type { Atom, Poly } from "../ops/poly.ts";
export { add, atom, constant, formatPoly, mul, scale, SymbolicError } from "../ops/poly.ts";

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

/** Smallest input size X for which `d` (a size of X) is at least `k`; 0 for a constant. */
function leastInput(d: Dim, k: number): number {
  if ("value" in d) return 0;
  if ("m" in d) return Math.ceil((k - d.r) / d.m) * d.atom.q - d.atom.p;
  // floor((X + p)/q) >= k  <=>  X >= k*q - p.
  return k * d.q - d.p;
}

/** The q of a size's atom (1 for a constant): H and W multiples of it drop the floor. */
function dimPeriod(d: Dim): number {
  return "value" in d ? 1 : "m" in d ? d.atom.q : d.q;
}

/**
 * `floor((d + b) / s)` of a size that is not a constant: one atom, since
 * `floor((floor((X + p)/q) + b)/s) = floor((X + p + b*q)/(q*s))`, and for
 * `m*A + r` when s divides m (`(m/s)*A + floor((r + b)/s)`) or m divides s
 * (`floor((A + floor((r + b)/m))/(s/m))`); otherwise a SymbolicError.
 */
function divDim(d: Dim, b: number, s: number, where: string): Dim {
  if ("value" in d) return { value: Math.floor((d.value + b) / s) };
  if (!("m" in d)) return { p: d.p + b * d.q, q: d.q * s };
  const { m, r, atom: { p, q } } = d;
  if (m % s === 0) return linearDim(m / s, p, q, Math.floor((r + b) / s));
  if (s % m === 0) return { p: p + Math.floor((r + b) / m) * q, q: q * (s / m) };
  throw new SymbolicError(
    `Cannot express "${where}": a stride-${s} window over a size ${m}*floor(..) ${
      r < 0 ? "-" : "+"
    } ${Math.abs(r)} is not one floor`,
  );
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
  return { dim: divDim(d, a, stride, where), min: leastInput(d, need) };
}

/**
 * The output size of a transposed conv, `(X - 1)*s - pads + d*(k - 1) +
 * outputPadding + 1 = s*X + r`: `s*m` times the input's atom plus a constant
 * (a plain atom at stride 1). The output must be at least 1.
 */
function transposedDim(
  d: Dim,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  outputPadding: number,
): { dim: Dim; min: number } {
  const r = -stride - padBegin - padEnd + dilation * (kernel - 1) + outputPadding + 1;
  const min = leastInput(d, Math.max(1, Math.ceil((1 - r) / stride)));
  if ("value" in d) return { dim: { value: stride * d.value + r }, min };
  if ("m" in d) return { dim: linearDim(stride * d.m, d.atom.p, d.atom.q, stride * d.r + r), min };
  return { dim: linearDim(stride, d.p, d.q, r), min };
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
    const window: SymbolicArgs["window"] = (kernel, stride, pads, dil, ceil) => {
      if (x.h === undefined || x.w === undefined) {
        throw new SymbolicError(`Cannot express "${node.name}": input is not a feature map`);
      }
      const h = windowDim(x.h, kernel[0], stride[0], pads[0], pads[2], dil[0], ceil, node.name);
      const w = windowDim(x.w, kernel[1], stride[1], pads[1], pads[3], dil[1], ceil, node.name);
      minH = Math.max(minH, h.min);
      minW = Math.max(minW, w.min);
      periodH = lcm(periodH, dimPeriod(h.dim));
      periodW = lcm(periodW, dimPeriod(w.dim));
      return { h: h.dim, w: w.dim };
    };
    const transposed: SymbolicArgs["transposed"] = (kernel, stride, pads, dil, outPad) => {
      if (x.h === undefined || x.w === undefined) {
        throw new SymbolicError(`Cannot express "${node.name}": input is not a feature map`);
      }
      const h = transposedDim(x.h, kernel[0], stride[0], pads[0], pads[2], dil[0], outPad[0]);
      const w = transposedDim(x.w, kernel[1], stride[1], pads[1], pads[3], dil[1], outPad[1]);
      minH = Math.max(minH, h.min);
      minW = Math.max(minW, w.min);
      return { h: h.dim, w: w.dim };
    };
    const def = opDef(node.kind);
    // A tensor whose axes a transpose moved: only transposes and parameter-free
    // pointwise ops (which keep the order) read it.
    const moved = ins.find((t) => t.perm)?.perm;
    if (moved && node.kind !== "transpose") {
      const free = def.access === "pointwise" &&
        (def.params as (a: unknown) => unknown[])(node.attrs).length === 0 &&
        ins.every((t) => t.perm !== undefined && t.perm.join() === moved.join());
      if (!free) {
        throw new SymbolicError(
          `Cannot express "${node.name}": ${node.kind} of a tensor whose axes a transpose moved`,
        );
      }
    }
    const rule = def.symbolic as (a: SymbolicArgs) => SymbolicWork;
    const work = rule({
      node,
      ins,
      width,
      ch,
      classifier: classesOut.has(node.name),
      window,
      transposed,
    });
    const { params, madds } = work;
    const out = moved && node.kind !== "transpose" ? { ...work.out, perm: moved } : work.out;
    tensors.set(node.name, out);
    const outEl = elements(out);
    const inputEl = work.mac === undefined || work.mac === "view"
      ? sum(ins.map(elements))
      : work.mac.input;
    const mac = work.mac === "view"
      ? constant(0)
      : sum([inputEl, outEl, params, work.buffers ?? constant(0)]);
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
  const fields = opDef(node.kind).widthFields as ((a: unknown) => number[]) | undefined;
  return fields ? fields(node.attrs) : [];
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
