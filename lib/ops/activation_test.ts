import assert from "node:assert/strict";
import type { GraphBuilder } from "../ir/builder.ts";
import { erfOf } from "./activation.ts";
import { costOf, graphOf, run } from "./_testing.ts";

const xs = [-2, -0.5, 0, 0.5, 3];

function close(got: number[], want: number[], tol = 1e-6): void {
  assert.equal(got.length, want.length);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= tol, `[${i}] ${v} vs ${want[i]}`));
}

Deno.test("unary math ops against their formulas, on [-2, -0.5, 0, 0.5, 3]", () => {
  const one = (f: (b: GraphBuilder, x: ReturnType<GraphBuilder["relu"]>) => unknown) =>
    run(graphOf([5], (b, x) => f(b, x) as typeof x), xs).y;
  close(one((b, x) => b.unary("exp", x, "y")), xs.map(Math.exp), 1e-5);
  close(one((b, x) => b.unary("tanh", x, "y")), xs.map(Math.tanh));
  close(one((b, x) => b.unary("neg", x, "y")), [2, 0.5, -0, -0.5, -3]);
  close(one((b, x) => b.unary("abs", x, "y")), [2, 0.5, 0, 0.5, 3]);
  // softplus = ln(1 + e^x): ln 2 at 0; x + ln(1 + e^-x) at 3.
  close(one((b, x) => b.unary("softplus", x, "y")), xs.map((v) => Math.log(1 + Math.exp(v))));
  // elu alpha 0.5: 0.5 * (e^-2 - 1) = -0.43233...
  close(one((b, x) => b.elu(x, 0.5, "y")), [
    0.5 * (Math.exp(-2) - 1),
    0.5 * (Math.exp(-0.5) - 1),
    0,
    0.5,
    3,
  ]);
  close(one((b, x) => b.leakyRelu(x, 0.1, "y")), [-0.2, -0.05, 0, 0.5, 3]);
  // silu = x * sigmoid(x): 3 / (1 + e^-3) = 2.85772...
  close(one((b, x) => b.unary("silu", x, "y")), xs.map((v) => v / (1 + Math.exp(-v))));
  const pos = run(graphOf([3], (b, x) => b.unary("sqrt", x, "y")), [0, 4, 2.25]).y;
  assert.deepEqual(pos, [0, 2, 1.5]);
  assert.deepEqual(run(graphOf([2], (b, x) => b.unary("reciprocal", x, "y")), [4, -0.5]).y, [
    0.25,
    -2,
  ]);
  close(run(graphOf([2], (b, x) => b.unary("log", x, "y")), [1, Math.E]).y, [0, 1]);
});

Deno.test("erf agrees with tabulated values (Abramowitz and Stegun, Table 7.1)", () => {
  // erf(0.5) = 0.5204998778, erf(1) = 0.8427007929, erf(2) = 0.9953222650, erf(3) = 0.9999779095
  close([0.5, 1, 2, 3].map(erfOf), [0.5204998778, 0.8427007929, 0.995322265, 0.9999779095], 1e-9);
  assert.equal(erfOf(-1), -erfOf(1));
  assert.deepEqual([erfOf(0), erfOf(5), erfOf(-7)], [0, 1, -1]);
});

Deno.test("unary FLOPs per element: 1 per elementary function, more for composites", () => {
  const perElement = (f: (b: GraphBuilder, x: ReturnType<GraphBuilder["relu"]>) => unknown) =>
    costOf(graphOf([2, 5], (b, x) => f(b, x) as typeof x), "y").flops.activation / 10;
  assert.equal(perElement((b, x) => b.unary("exp", x, "y")), 1);
  assert.equal(perElement((b, x) => b.unary("erf", x, "y")), 1);
  assert.equal(perElement((b, x) => b.unary("softplus", x, "y")), 3); // exp, add, log
  assert.equal(perElement((b, x) => b.elu(x, 1, "y")), 4); // compare, exp, subtract, multiply
  assert.equal(perElement((b, x) => b.leakyRelu(x, 0.1, "y")), 2); // compare, multiply
  assert.equal(perElement((b, x) => b.unary("silu", x, "y")), 5); // sigmoid's 4 and a multiply
});

Deno.test("elu and leaky_relu reject a non-finite alpha", () => {
  assert.throws(
    () => graphOf([2], (b, x) => b.elu(x, NaN, "act")),
    /Invalid "act": elu alpha must be finite, got NaN/,
  );
});

Deno.test("prelu: slopes per channel on axis 1 (or one shared), counted as weights", () => {
  const g = graphOf([1, 2, 2], (b, x) => b.prelu(x, "p"));
  const w = new Map([["p.weight", new Float32Array([0.5, 3])]]);
  // channel 0 = [-2, 1], channel 1 = [-1, 4]
  assert.deepEqual(run(g, [-2, 1, -1, 4], w).y, [-1, 1, -3, 4]);
  const shared = graphOf([1, 2, 2], (b, x) => b.prelu(x, "p", 1));
  assert.deepEqual(
    run(shared, [-2, 1, -1, 4], new Map([["p.weight", new Float32Array([0.25])]])).y,
    [
      -0.5,
      1,
      -0.25,
      4,
    ],
  );
  const c = costOf(g, "p");
  // 2 slopes; compare and multiply per element.
  assert.deepEqual([c.params.weights, c.flops.activation], [2, 2 * 4]);
});

Deno.test("prelu and affine reject a parameter whose channels are not the input's axis 1", () => {
  // Both ops read parameter [c] for an element on channel c of axis 1; 3 slopes cannot cover 2 channels.
  assert.throws(
    () => graphOf([1, 2, 2], (b, x) => b.prelu(x, "p", 3)),
    /"p": input 1x2x2 has 2 channels on axis 1, expected 3 \(or prelu channels 1\)/,
  );
  assert.throws(
    () => graphOf([4], (b, x) => b.affine(x, 4, "a")),
    /"a": input 4 has no channels on axis 1, expected 4 \(or affine channels 1\)/,
  );
});
