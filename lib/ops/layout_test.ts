import assert from "node:assert/strict";
import { costOf, graphOf, iota, run } from "./_testing.ts";
import { GraphBuilder } from "../ir/builder.ts";
import { symbolicCost } from "../analysis/symbolic.ts";

Deno.test("transpose: output axis i is input axis perm[i] (NCHW to NHWC)", () => {
  // x[0, c, h, w] = 6c + 3h + w on [1, 2, 2, 3]; NHWC reads c fastest.
  const g = graphOf([1, 2, 2, 3], (b, x) => b.transpose(x, [0, 2, 3, 1], "t"));
  const { y, shape } = run(g, iota(12));
  assert.deepEqual(shape, [1, 2, 3, 2]);
  assert.deepEqual(y, [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]);
  // No arithmetic; MAC reads 12 and writes 12.
  const c = costOf(g, "t");
  assert.deepEqual([c.flops.total, c.mac.total], [0, 24]);
});

Deno.test("transpose rejects a perm that is not a permutation or has the wrong rank", () => {
  assert.throws(
    () => graphOf([2, 3], (b, x) => b.transpose(x, [0, 2, 1], "t")),
    /perm \[0, 2, 1\] has 3 axes, expected 2 for input 2x3/,
  );
  const g = graphOf([2, 3], (b, x) => b.transpose(x, [1, 0], "t"));
  (g.nodes[0].attrs as { perm: number[] }).perm = [1, 1];
  assert.throws(() => symbolicCost(g), /perm \[1, 1\] must be a permutation of 0\.\.1/);
});

Deno.test("reshape is a view: same data, new shape, no MAC; the element count must agree", () => {
  const g = graphOf([1, 2, 3], (b, x) => b.reshape(x, [3, 2], "r"));
  const { y, shape } = run(g, iota(6));
  assert.deepEqual([y, shape], [iota(6), [3, 2]]);
  assert.equal(costOf(g, "r").mac.total, 0);
  assert.throws(
    () => graphOf([1, 2, 3], (b, x) => b.reshape(x, [4, 2], "r")),
    /cannot reshape 1x2x3 \(6 elements\) to 4x2 \(8 elements\)/,
  );
  assert.throws(
    () => graphOf([1, 2, 3], (b, x) => b.reshape(x, [-1, 2], "r")),
    /Invalid "r": reshape dimension \(resolved, no -1 or 0\) must be a positive integer, got -1/,
  );
});

Deno.test("slice: start:end:step on one axis, backwards too; MAC reads only what it keeps", () => {
  const g = graphOf([2, 5], (b, x) => b.slice(x, 1, 4, -1, -2, "s"));
  // Row r holds 5r..5r+4; indices 4, 2, 0.
  const { y, shape } = run(g, iota(10));
  assert.deepEqual(shape, [2, 3]);
  assert.deepEqual(y, [4, 2, 0, 9, 7, 5]);
  assert.equal(costOf(g, "s").mac.total, 6 + 6);
  assert.throws(
    () => graphOf([2, 5], (b, x) => b.slice(x, 1, 1, 1, 1, "s")),
    /slice 1:1:1 of axis 1 is empty/,
  );
  assert.throws(
    () => graphOf([2, 5], (b, x) => b.slice(x, 1, 0, 9, 1, "s")),
    /is not resolved, expected 0 <= start < 5 and -1 <= end <= 5/,
  );
});

Deno.test("gather: constant indices along an axis (negative from the end); a scalar index drops it", () => {
  const g = graphOf([2, 3], (b, x) => b.gather(x, 1, [2, -3, 2], false, "g"));
  const { y, shape } = run(g, iota(6));
  assert.deepEqual([y, shape], [[2, 0, 2, 5, 3, 5], [2, 3]]);
  const s = graphOf([2, 3], (b, x) => b.gather(x, 0, [1], true, "g"));
  assert.deepEqual(run(s, iota(6)), { y: [3, 4, 5], shape: [3] });
  assert.throws(
    () => graphOf([2, 3], (b, x) => b.gather(x, 1, [3], false, "g")),
    /gather index 3 is out of range for axis 1 of size 3, expected -3\.\.2/,
  );
});

Deno.test("concat and split work on any axis, counted from the end too", () => {
  const g = graphOf([2, 2], (b, x) => {
    const y = b.concat([x, x], "c", -1); // [2, 4]
    return b.split(y, 1, 2, "s", 1); // columns 1..2
  });
  const { y, shape } = run(g, [1, 2, 3, 4]);
  assert.deepEqual(shape, [2, 2]);
  assert.deepEqual(y, [2, 1, 4, 3]);
  assert.throws(
    () => graphOf([2, 2], (b, x) => b.concat([x, b.reshape(x, [4, 1])], "c", 1)),
    /concat of mismatched shapes 2x2, 4x1 along axis 1: every other axis must agree/,
  );
  assert.throws(
    () => graphOf([2, 2], (b, x) => b.split(x, 1, 2, "s", 2)),
    /split axis 2 is out of range for a rank-2 tensor, expected -2\.\.1/,
  );
});

Deno.test("flatten follows ONNX: [prod(dims before axis), prod(dims from axis)]", () => {
  const shapes = [0, 1, 2, 3, -1].map((axis) =>
    run(graphOf([2, 3, 4], (b, x) => b.flatten(x, "f", axis)), iota(24)).shape
  );
  assert.deepEqual(shapes, [[1, 24], [2, 12], [6, 4], [24, 1], [6, 4]]);
});

Deno.test("softmax over any axis: every slice along it sums to 1", () => {
  const g = graphOf([2, 3], (b, x) => b.softmax(x, "sm", 0));
  const { y } = run(g, [0, 1, 2, Math.log(3), 1, 2]);
  // Column 0: e^0 / (e^0 + 3) = 1/4; columns 1 and 2 are equal pairs: 1/2.
  assert.deepEqual(y.map((v) => Math.round(v * 1e6) / 1e6), [0.25, 0.5, 0.5, 0.75, 0.5, 0.5]);
  // 3 FLOPs per element: exp, sum, divide.
  assert.equal(costOf(g, "sm").flops.total, 3 * 6);
});

Deno.test("pad: constant fills, reflect mirrors without the border, edge repeats it", () => {
  const row = [1, 2, 3];
  const padRow = (mode: "constant" | "reflect" | "edge") =>
    run(graphOf([1, 3], (b, x) => b.pad(x, [0, 2, 0, 1], mode, 9, "p")), row);
  assert.deepEqual(padRow("constant"), { y: [9, 9, 1, 2, 3, 9], shape: [1, 6] });
  assert.deepEqual(padRow("reflect").y, [3, 2, 1, 2, 3, 2]);
  assert.deepEqual(padRow("edge").y, [1, 1, 1, 2, 3, 3]);
  // On two axes at once: [[1, 2], [3, 4]] padded by one row on top (edge) and one column on the right.
  const two = run(graphOf([2, 2], (b, x) => b.pad(x, [1, 0, 0, 1], "edge", 0, "p")), [1, 2, 3, 4]);
  assert.deepEqual(two, { y: [1, 2, 2, 1, 2, 2, 3, 4, 4], shape: [3, 3] });
  // No arithmetic; MAC reads 3 and writes 6.
  const c = costOf(graphOf([1, 3], (b, x) => b.pad(x, [0, 2, 0, 1], "constant", 0, "p")), "p");
  assert.deepEqual([c.flops.total, c.mac.total], [0, 3 + 6]);
});

Deno.test("pad rejects pads of the wrong length and reflect pads past the border", () => {
  assert.throws(
    () => graphOf([1, 3], (b, x) => b.pad(x, [0, 1], "constant", 0, "p")),
    /pads \[0, 1\] have 2 entries, expected 4 \(begins then ends of each axis of 1x3\)/,
  );
  assert.throws(
    () => graphOf([1, 3], (b, x) => b.pad(x, [0, 3, 0, 0], "reflect", 0, "p")),
    /reflect pads 3 and 0 of axis 1 exceed its size 3 - 1/,
  );
  assert.throws(
    () => graphOf([1, 3], (b, x) => b.pad(x, [0, -1, 0, 0], "constant", 0, "p")),
    /Invalid "p": pad must be a non-negative integer, got -1/,
  );
});

Deno.test("const: no inputs, its stored value is the output and counts as parameters", () => {
  const b = new GraphBuilder("t", [1, 2]);
  const k = b.constant([1, 2], "k");
  const g = b.build(b.binary("add", b.input, k, "sum"));
  const w = new Map([["k.value", new Float32Array([10, 20])]]);
  assert.deepEqual(run(g, [1, 2], w).y, [11, 22]);
  const c = costOf(g, "k");
  // 2 stored numbers are 2 parameters; reading them is counted where they are read.
  assert.deepEqual([c.params.total, c.params.weights, c.mac.total], [2, 2, 0]);
  assert.equal(costOf(g, "sum").mac.total, 2 + 2 + 2);
});
