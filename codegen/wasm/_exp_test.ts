/**
 * The polynomial exponential family of `_exp.ts`, run as a WebAssembly
 * kernel over dense grids, against `Math.exp` / `Math.tanh` (float64):
 * relative error bounds, and the special values (overflow to +Infinity,
 * underflow to +0, NaN, +-Infinity, -0).
 */

import assert from "node:assert/strict";
import { encodeModule, Fn, I32, V128 } from "./binary.ts";
import { EXP_HI, EXP_LO, EXP_MAX_REL_ERROR, expFamily, type ExpKind, powOnStack } from "./_exp.ts";

/** Runs `kind` lane-wise over `xs` in a one-function module; returns the f32 results. */
function run(kind: ExpKind, xs: Float32Array, alpha = 1): Float32Array {
  const n = Math.ceil(xs.length / 4) * 4;
  const f = new Fn([I32, I32]);
  const v = f.local(V128);
  // for (i = n / 4; i; i--) { v = load(x); v = kind(v); store(y, v); x += 16; y += 16 }
  const count = f.local(I32);
  f.i32Const(n / 4).localSet(count).loop();
  f.localGet(0).v128Load(0).localSet(v);
  expFamily(f, kind, v, alpha);
  f.localGet(1).localGet(v).v128Store(0);
  f.localGet(0).i32Const(16).i32Add().localSet(0);
  f.localGet(1).i32Const(16).i32Add().localSet(1);
  f.localGet(count).i32Const(1).i32Sub().localTee(count).brIf(0).end();
  const pages = Math.ceil((8 * n + 64) / 65536);
  const bytes = encodeModule([{ fn: f, export: "k" }], { memoryPages: pages });
  const memory = new WebAssembly.Memory({ initial: pages });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const m = new Float32Array(memory.buffer);
  m.set(xs, 0);
  m.fill(NaN, n, 2 * n);
  (exports.k as (x: number, y: number) => void)(0, 4 * n);
  return m.slice(n, n + xs.length);
}

function grid(lo: number, hi: number, count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1));
}

/** Largest |got - want| / |want| (want from float64 at the f32 input). */
function maxRel(got: Float32Array, xs: Float32Array, f: (x: number) => number): number {
  let worst = 0;
  xs.forEach((x, i) => {
    const want = f(x);
    // At a zero of f (silu(0)) the error is absolute.
    worst = Math.max(worst, Math.abs(got[i] - want) / (want === 0 ? 1 : Math.abs(want)));
  });
  return worst;
}

Deno.test("exp: relative error within EXP_MAX_REL_ERROR over [-86.6, 88.72] (400k points)", () => {
  const xs = grid(EXP_LO, EXP_HI, 400_001);
  const err = maxRel(run("exp", xs), xs, Math.exp);
  // Truncation 1.2e-7 plus a few f32 roundings: well under the tests' 1e-4.
  assert.ok(err <= EXP_MAX_REL_ERROR, `max relative error ${err}`);
  // And around 0, where the reduction leaves r = x.
  const small = grid(-1e-3, 1e-3, 20_001);
  assert.ok(maxRel(run("exp", small), small, Math.exp) <= EXP_MAX_REL_ERROR);
});

Deno.test("exp: special values (overflow, underflow, NaN, infinities)", () => {
  const xs = Float32Array.of(89, 1000, Infinity, -87, -1000, -Infinity, NaN, 0, -0);
  const got = run("exp", xs);
  assert.deepEqual([...got.slice(0, 6)], [Infinity, Infinity, Infinity, 0, 0, 0]);
  assert.ok(Number.isNaN(got[6]));
  assert.equal(got[7], 1);
  assert.equal(got[8], 1);
});

Deno.test("sigmoid, silu, elu, tanh: relative error under 1e-6 on [-30, 30], special values", () => {
  const xs = grid(-30, 30, 200_001);
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  // sigmoid and silu are exp-relative (no cancellation): within a few 1e-7.
  assert.ok(maxRel(run("sigmoid", xs), xs, sigmoid) < 1e-6);
  assert.ok(maxRel(run("silu", xs), xs, (x) => x * sigmoid(x)) < 1e-6);
  // tanh: the polynomial below |x| = 0.4, the exp form above.
  assert.ok(maxRel(run("tanh", xs), xs, Math.tanh) < 1e-6);
  const near0 = grid(-0.5, 0.5, 100_001).filter((x) => x !== 0);
  assert.ok(maxRel(run("tanh", near0), near0, Math.tanh) < 1e-6);
  // elu: e^x - 1 cancels near 0, so its error there is absolute (1e-7 x alpha).
  const elu = run("elu", xs, 0.5);
  xs.forEach((x, i) => {
    const want = x > 0 ? x : 0.5 * (Math.exp(x) - 1);
    assert.ok(Math.abs(elu[i] - want) <= 1e-7 + 1e-6 * Math.abs(want), `elu(${x})`);
  });
  const special = Float32Array.of(Infinity, -Infinity, NaN, -0, 100, -100);
  assert.deepEqual([...run("sigmoid", special)].map(String), [
    "1",
    "0",
    "NaN",
    "0.5",
    "1",
    "0",
  ]);
  const t = run("tanh", special);
  assert.deepEqual([t[0], t[1], t[4], t[5]], [1, -1, 1, -1]);
  assert.ok(Number.isNaN(t[2]));
  assert.ok(Object.is(t[3], -0), "tanh(-0) = -0");
});

Deno.test("erf: within 1e-6 of the same erfc fit in float64 on [-6, 6], odd, NaN kept", () => {
  // The fit of emit_general.ts / the reference (accurate to 1.2e-7 against erf itself).
  const fit = (x: number) => {
    const z = Math.abs(x);
    const u = 1 / (1 + 0.5 * z);
    const p = [0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806]
      .concat([0.09678418, 0.37409196, 1.00002368, -1.26551223])
      .reduce((acc, c) => acc * u + c);
    const r = u * Math.exp(-z * z + p);
    return x >= 0 ? 1 - r : r - 1;
  };
  const xs = grid(-6, 6, 120_001);
  const got = run("erf", xs);
  xs.forEach((x, i) => assert.ok(Math.abs(got[i] - fit(x)) <= 1e-6, `erf(${x}) = ${got[i]}`));
  const special = run("erf", Float32Array.of(Infinity, -Infinity, NaN));
  assert.deepEqual([special[0], special[1]], [1, -1]);
  assert.ok(Number.isNaN(special[2]));
});

Deno.test("log: relative error under 1e-6 over 1e-44 to 3e38 (subnormals too), special values", () => {
  // Log-spaced positives: subnormal, tiny, around 1, huge.
  const xs = Float32Array.from({ length: 200_001 }, (_, i) => Math.exp(-101 + (189 * i) / 200_000));
  const got = run("log", xs);
  xs.forEach((x, i) => {
    const want = Math.log(x);
    // Near x = 1 the log is near 0: the error there is absolute (1e-7).
    assert.ok(Math.abs(got[i] - want) <= 1e-6 * Math.abs(want) + 1e-7, `log(${x}) = ${got[i]}`);
  });
  const special = run("log", Float32Array.of(0, -0, -1, Infinity, NaN, 1));
  assert.deepEqual([...special].map(String), [
    "-Infinity",
    "-Infinity",
    "NaN",
    "Infinity",
    "NaN",
    "0",
  ]);
});

/** `Math.pow` lane-wise through a two-operand module ([x, y] -> pow). */
function runPow(xs: Float32Array, ys: Float32Array): Float32Array {
  const n = Math.ceil(xs.length / 4) * 4;
  const f = new Fn([I32, I32, I32]);
  const count = f.local(I32);
  f.i32Const(n / 4).localSet(count).loop();
  f.localGet(2).localGet(0).v128Load(0).localGet(1).v128Load(0);
  powOnStack(f);
  f.v128Store(0);
  for (const p of [0, 1, 2]) f.localGet(p).i32Const(16).i32Add().localSet(p);
  f.localGet(count).i32Const(1).i32Sub().localTee(count).brIf(0).end();
  const pages = Math.ceil((12 * n + 64) / 65536);
  const bytes = encodeModule([{ fn: f, export: "k" }], { memoryPages: pages });
  const memory = new WebAssembly.Memory({ initial: pages });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const m = new Float32Array(memory.buffer);
  m.set(xs, 0);
  m.set(ys, n);
  (exports.k as (x: number, y: number, z: number) => void)(0, 4 * n, 8 * n);
  return m.slice(2 * n, 2 * n + xs.length);
}

Deno.test("pow: Math.pow's special cases (signs, zeros, infinities, NaN) and 1e-5 relative elsewhere", () => {
  const values = [0, -0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 2.5, Infinity, -Infinity, NaN, 1e-3, 7];
  const xs: number[] = [];
  const ys: number[] = [];
  for (const x of values) for (const y of values) xs.push(x), ys.push(y);
  const got = runPow(Float32Array.from(xs), Float32Array.from(ys));
  xs.forEach((x, i) => {
    const want = Math.fround(Math.pow(x, ys[i]));
    const ok = Object.is(got[i], want) ||
      (Number.isFinite(want) && want !== 0 && Math.abs(got[i] - want) <= 1e-5 * Math.abs(want));
    assert.ok(ok, `pow(${x}, ${ys[i]}) = ${got[i]}, expected ${want}`);
  });
  // A dense grid of positive bases and exponents.
  const bx = Float32Array.from({ length: 40_000 }, (_, i) => 0.01 + (i % 200) * 0.05);
  const by = Float32Array.from({ length: 40_000 }, (_, i) => -8 + Math.floor(i / 200) * 0.08);
  const g = runPow(bx, by);
  bx.forEach((x, i) => {
    const want = Math.pow(x, by[i]);
    assert.ok(Math.abs(g[i] - want) <= 1e-5 * Math.abs(want), `pow(${x}, ${by[i]})`);
  });
});
