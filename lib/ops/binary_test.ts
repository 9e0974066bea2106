import assert from "node:assert/strict";
import { GraphBuilder } from "../ir/builder.ts";
import { costOf, iota, run } from "./_testing.ts";
import { runReference } from "../runtime/reference.ts";
import { evaluate, symbolicCost } from "../analysis/symbolic.ts";

/** A graph computing `kind(x, other)` where `other` is a slice of the input picked by `pick`. */
function twoOperands(
  kind: "add" | "sub" | "mul" | "div" | "pow" | "max" | "min",
  shape: number[],
  pick: (b: GraphBuilder) => ReturnType<GraphBuilder["gather"]>,
) {
  const b = new GraphBuilder("t", shape);
  return b.build(b.binary(kind, b.input, pick(b), "op"));
}

Deno.test("binary ops broadcast numpy-style: [2, 3] with a [2, 1] column and a [3] row", () => {
  // x = [[0, 1, 2], [3, 4, 5]]; column = x[:, 0:1] = [[0], [3]]
  const col = (b: GraphBuilder) => b.slice(b.input, 1, 0, 1, 1, "col");
  assert.deepEqual(run(twoOperands("sub", [2, 3], col), iota(6)).y, [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(run(twoOperands("max", [2, 3], col), iota(6)).y, [0, 1, 2, 3, 4, 5]);
  // row = x[1] (scalar gather on axis 0) = [3, 4, 5], broadcast over both rows.
  const row = (b: GraphBuilder) => b.gather(b.input, 0, [1], true, "row");
  assert.deepEqual(run(twoOperands("min", [2, 3], row), iota(6)).y, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(run(twoOperands("mul", [2, 3], row), iota(6)).y, [0, 4, 10, 9, 16, 25]);
  const d = run(twoOperands("div", [2, 3], row), [3, 8, 10, 6, 4, 5]);
  assert.deepEqual(d.y, [0.5, 2, 2, 1, 1, 1]);
  const p = run(twoOperands("pow", [2, 3], row), [2, 2, 2, 2, 1, 3]);
  // row = [2, 1, 3]: [2^2, 2^1, 2^3, 2^2, 1^1, 3^3]
  assert.deepEqual(p.y, [4, 2, 8, 4, 1, 27]);
  assert.deepEqual(run(twoOperands("add", [2, 3], row), iota(6)).shape, [2, 3]);
});

Deno.test("mul still scales squeeze-excite's [N, C, H, W] by an [N, C, 1, 1] gate", () => {
  const b = new GraphBuilder("se", [1, 2, 1, 2]);
  const gate = b.globalAvgPool(b.input, "pool");
  const g = b.build(b.mul(b.input, gate, "scale"));
  // Channel means 1.5 and 5: [1, 2] * 1.5, [4, 6] * 5.
  assert.deepEqual([...runReference(g, new Map(), new Float32Array([1, 2, 4, 6]))], [
    1.5,
    3,
    20,
    30,
  ]);
  // 1 FLOP per output element; MAC reads 4 + 2 and writes 4.
  const c = costOf(g, "scale");
  assert.deepEqual([c.flops.elementwise, c.mac.total], [4, 4 + 2 + 4]);
  // The symbolic MAC of the scale, 2*H*W + 2 + 2*H*W, gives the same at H = 1, W = 2.
  const sym = symbolicCost(g);
  assert.equal(evaluate(sym, sym.layers[1].mac, { H: 1, W: 2 }), 10);
});

Deno.test("a binary op of shapes that do not broadcast names the node and the axis", () => {
  const b = new GraphBuilder("t", [2, 3]);
  const t = b.transpose(b.input, [1, 0], "t");
  assert.throws(
    () => b.binary("sub", b.input, t, "diff"),
    /Cannot infer shape of "diff": sub of shapes 2x3 and 3x2 that do not broadcast: axis 0 of the result is 2 vs 3, expected equal sizes or 1/,
  );
});
