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

Deno.test("layer_norm normalizes the trailing axes: (x - mean) / sqrt(var + eps) * w + b", () => {
  const g = graphOf([2, 4], (b, x) => b.layerNorm(x, "ln", -1, 1e-12));
  const w = new Map([
    ["ln.weight", new Float32Array([1, 1, 2, 2])],
    ["ln.bias", new Float32Array([0, 0, 0, 1])],
  ]);
  // Row [1, 2, 3, 4]: mean 2.5, variance 1.25; row [5, 5, 5, 7]: mean 5.5, variance 0.75.
  const s1 = Math.sqrt(1.25), s2 = Math.sqrt(0.75);
  const want = [
    -1.5 / s1,
    -0.5 / s1,
    2 * 0.5 / s1,
    2 * 1.5 / s1 + 1,
    -0.5 / s2,
    -0.5 / s2,
    -1 / s2,
    3 / s2 + 1,
  ];
  run(g, [1, 2, 3, 4, 5, 5, 5, 7], w).y.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6));
  const c = costOf(g, "ln");
  // gamma and beta over 4 normalized elements; 8 FLOPs per element.
  assert.deepEqual([c.params.bn, c.flops.bn], [8, 8 * 8]);
  assert.throws(
    () =>
      graphOf(
        [2, 4],
        (b, x) => b.add("layer_norm", { axis: 0, eps: 1e-5, channels: 4 }, [x], "ln"),
      ),
    /normalized axes 2x4 of 2x4 hold 8 elements, expected channels 4/,
  );
});

Deno.test("instance_norm normalizes each (n, c) plane, then scales and shifts per channel", () => {
  const g = graphOf([1, 2, 1, 2], (b, x) => b.instanceNorm(x, "in", 1e-12));
  const w = new Map([
    ["in.weight", new Float32Array([1, 3])],
    ["in.bias", new Float32Array([0, 1])],
  ]);
  // Each plane [a, b] normalizes to [-1, 1]; channel 1 becomes [-3 + 1, 3 + 1].
  assert.deepEqual(run(g, [1, 3, 10, 20], w).y, [-1, 1, -2, 4]);
  assert.equal(costOf(g, "in").params.bn, 4);
});
