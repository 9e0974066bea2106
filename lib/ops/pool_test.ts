import assert from "node:assert/strict";
import { costOf, graphOf, iota, run } from "./_testing.ts";
import { evaluate, formatPoly, symbolicCost } from "../analysis/symbolic.ts";

Deno.test("global_max_pool: max of each plane; input - output comparisons", () => {
  const g = graphOf([1, 2, 2, 2], (b, x) => b.globalMaxPool(x, "g"));
  assert.deepEqual(run(g, [1, 5, -2, 3, -1, -4, -3, -2]), { y: [5, -1], shape: [1, 2, 1, 1] });
  assert.equal(costOf(g, "g").flops.pooling, 8 - 2);
});

Deno.test("reduce: mean, sum and max over any axes, with or without keepDims", () => {
  // x = [[[0, 1, 2], [3, 4, 5]]] of shape [1, 2, 3]
  const r = (op: "mean" | "sum" | "max", axes: number[], keep: boolean) =>
    run(graphOf([1, 2, 3], (b, x) => b.reduce(x, op, axes, keep, "r")), iota(6));
  assert.deepEqual(r("sum", [1], false), { y: [3, 5, 7], shape: [1, 3] });
  assert.deepEqual(r("mean", [-1], true), { y: [1, 4], shape: [1, 2, 1] });
  assert.deepEqual(r("max", [1, 2], true), { y: [5], shape: [1, 1, 1] });
  // FLOPs: sum and max take input - output operations, mean one more divide per output.
  const flops = (op: "mean" | "sum" | "max") =>
    costOf(graphOf([1, 2, 3], (b, x) => b.reduce(x, op, [2], false, "r")), "r").flops.pooling;
  assert.deepEqual([flops("sum"), flops("max"), flops("mean")], [6 - 2, 6 - 2, 6]);
  assert.throws(
    () => graphOf([1, 2, 3], (b, x) => b.reduce(x, "sum", [1, -2], false, "r")),
    /reduce axes \[1, -2\] repeat an axis/,
  );
  assert.throws(
    () => graphOf([2, 3], (b, x) => b.reduce(x, "sum", [0, 1], false, "r")),
    /reducing every axis of 2x3 without keepDims leaves a 0-D tensor/,
  );
});

Deno.test("a reduce over H and W is symbolic like global average pooling", () => {
  const g = graphOf([1, 8, 16, 16], (b, x) => b.reduce(x, "mean", [2, 3], false, "r"));
  const s = symbolicCost(g);
  assert.equal(formatPoly(s.totals.activations), "8");
  assert.equal(evaluate(s, s.totals.mac, { H: 5, W: 7 }), 8 * 5 * 7 + 8);
});
