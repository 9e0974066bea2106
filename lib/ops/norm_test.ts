import assert from "node:assert/strict";
import { costOf, graphOf, run } from "./_testing.ts";
import { symbolicCost } from "../analysis/symbolic.ts";
import { formatPoly } from "../analysis/symbolic.ts";

Deno.test("affine: x * weight[c] + bias[c] on axis 1; counts the constants stored", () => {
  // [1, 2, 1, 2]: channel 0 = [1, 2] * 2 + 1, channel 1 = [3, 4] * -1 + 0.5
  const g = graphOf([1, 2, 1, 2], (b, x) => b.affine(x, 2, "a"));
  const w = new Map([
    ["a.weight", new Float32Array([2, -1])],
    ["a.bias", new Float32Array([1, 0.5])],
  ]);
  assert.deepEqual(run(g, [1, 2, 3, 4], w).y, [3, 5, -2.5, -3.5]);
  const c = costOf(g, "a");
  // 2 scales and 2 shifts stored: 4 parameters (not a BatchNorm's 4 x C); 2 FLOPs per element.
  assert.deepEqual([c.params.total, c.params.weights, c.params.bias], [4, 2, 2]);
  assert.equal(c.flops.elementwise, 2 * 4);
  // A scalar affine stores 2 numbers whatever the channels.
  const s = graphOf([1, 5, 3, 3], (b, x) => b.affine(x, 1, "a"));
  assert.equal(costOf(s, "a").params.total, 2);
  assert.equal(formatPoly(symbolicCost(s).totals.params), "2");
});

Deno.test("affine and prelu reject a channel count that is neither the input's nor 1", () => {
  assert.throws(
    () => graphOf([1, 3, 2, 2], (b, x) => b.affine(x, 2, "a")),
    /Cannot infer shape of "a": input 1x3x2x2 has 3 channels on axis 1, expected 2 \(or affine channels 1\)/,
  );
  assert.throws(
    () => graphOf([1, 3, 2, 2], (b, x) => b.prelu(x, "p", 0)),
    /Invalid "p": prelu channels must be a positive integer, got 0/,
  );
});
