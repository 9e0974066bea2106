/**
 * Polynomials over floor atoms, the algebra of symbolic cost
 * (lib/analysis/symbolic.ts explains why every size of a CNN is one), and the
 * symbolic tensor each op's symbolic rule maps.
 *
 * @module
 */

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

export function atomKey(a: Atom): string {
  return a.kind === "A" ? `A:${a.k}` : `${a.kind}:${a.p}:${a.q}`;
}

export function parseAtom(key: string): Atom {
  const [kind, x, y] = key.split(":");
  return kind === "A"
    ? { kind, k: Number(x) }
    : { kind: kind as "H" | "W", p: Number(x), q: Number(y) };
}

export function monoKey(atoms: string[]): string {
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

/** The sum of several polynomials. */
export function sum(ps: Iterable<Poly>): Poly {
  let out: Poly = new Map();
  for (const p of ps) out = add(out, p);
  return out;
}

export function atomText(a: Atom): string {
  if (a.kind === "A") return `int(A*${a.k})`;
  if (a.q === 1) return a.p === 0 ? a.kind : `(${a.kind}${a.p > 0 ? "+" : "-"}${Math.abs(a.p)})`;
  const inner = a.p === 0 ? a.kind : `${a.kind}${a.p > 0 ? "+" : "-"}${Math.abs(a.p)}`;
  return `floor((${inner})/${a.q})`;
}

/** Atoms in print order: alpha atoms by k, then H and W atoms by q and p (plain H first). */
export function atomOrder(x: string, y: string): number {
  const plain = (k: string) => (k === "H" || k === "W" ? `${k}:0:1` : k);
  const a = parseAtom(plain(x)), b = parseAtom(plain(y));
  const rank = (t: Atom) => (t.kind === "A" ? 0 : t.kind === "H" ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (a.kind === "A" || b.kind === "A") return (a as { k: number }).k - (b as { k: number }).k;
  return a.q - b.q || a.p - b.p;
}

/** Higher degree first, then atom by atom in {@link atomOrder}. */
export function monoOrder(a: string, b: string): number {
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
 * import { add, atom, constant, formatPoly, mul, scale } from "./poly.ts";
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

/**
 * Symbolic spatial size: an atom `floor((X + p) / q)`, a constant, or `m`
 * times an atom plus `r` (m >= 2: what a transposed conv makes of an atom;
 * build it with {@link linearDim}).
 */
export type Dim =
  | { p: number; q: number }
  | { value: number }
  | { m: number; atom: { p: number; q: number }; r: number };

/**
 * `m * floor((X + p) / q) + r` as a {@link Dim}: the plain atom
 * `floor((X + p + r*q) / q)` when m is 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linearDim } from "./poly.ts";
 * assert.deepEqual(linearDim(1, 1, 2, 3), { p: 7, q: 2 }); // floor((X+1)/2) + 3
 * assert.deepEqual(linearDim(2, 0, 4, -1), { m: 2, atom: { p: 0, q: 4 }, r: -1 });
 * ```
 */
export function linearDim(m: number, p: number, q: number, r: number): Dim {
  return m === 1 ? { p: p + r * q, q } : { m, atom: { p, q }, r };
}

/** `d + k`. */
export function shiftDim(d: Dim, k: number): Dim {
  if ("value" in d) return { value: d.value + k };
  if ("m" in d) return linearDim(d.m, d.atom.p, d.atom.q, d.r + k);
  return { p: d.p + k * d.q, q: d.q };
}

export interface SymTensor {
  n: number;
  /** Channels (4-D) or features (2-D). */
  c: Poly;
  h?: Dim;
  w?: Dim;
  /**
   * Axis order after transposes: stored axis i is logical axis `perm[i]` of
   * `[N, C, H, W]` (or `[N, F]`); absent when the axes are in order. Only
   * transposes and parameter-free pointwise ops read such a tensor
   * (lib/analysis/symbolic.ts checks).
   */
  perm?: number[];
}

export function dimPoly(d: Dim | undefined, kind: "H" | "W"): Poly {
  if (d === undefined) return constant(1);
  if ("value" in d) return constant(d.value);
  if ("m" in d) {
    return add(scale(atom({ kind, p: d.atom.p, q: d.atom.q }), d.m), constant(d.r));
  }
  return atom({ kind, p: d.p, q: d.q });
}

export function elements(t: SymTensor): Poly {
  return mul(scale(t.c, t.n), mul(dimPoly(t.h, "H"), dimPoly(t.w, "W")));
}

export function sameDim(a: Dim | undefined, b: Dim | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if ("value" in a || "value" in b) {
    return "value" in a && "value" in b && a.value === b.value;
  }
  if ("m" in a || "m" in b) {
    return "m" in a && "m" in b && a.m === b.m && a.r === b.r && a.atom.p === b.atom.p &&
      a.atom.q === b.atom.q;
  }
  return a.p === b.p && a.q === b.q;
}

export function samePoly(a: Poly, b: Poly): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
