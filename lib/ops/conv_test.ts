import assert from "node:assert/strict";
import { GraphBuilder } from "../ir/builder.ts";
import { costOf, graphOf, iota, run } from "./_testing.ts";

Deno.test("conv_transpose2d scatters each input pixel through the kernel (stride 2: blocks, stride 1: overlaps)", () => {
  const ones = new Map([["ct.weight", new Float32Array([1, 1, 1, 1])]]);
  const s2 = graphOf(
    [1, 1, 2, 2],
    (b, x) => b.convTranspose2d(x, { out: 1, kernel: 2, stride: 2 }, "ct"),
  );
  assert.deepEqual(run(s2, [1, 2, 3, 4], ones), {
    y: [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4],
    shape: [1, 1, 4, 4],
  });
  // Stride 1: output (2-1)*1 + 2 = 3 per axis; the centre sums all four inputs.
  const s1 = graphOf([1, 1, 2, 2], (b, x) => b.convTranspose2d(x, { out: 1, kernel: 2 }, "ct"));
  assert.deepEqual(run(s1, [1, 2, 3, 4], ones).y, [1, 3, 2, 4, 10, 6, 3, 7, 4]);
  // MAdds = input elements x Cout/groups x kh x kw = 4 x 1 x 4.
  assert.equal(costOf(s1, "ct").madds, 16);
});

Deno.test("conv_transpose2d output size: (in - 1) * stride - pads + dilation * (k - 1) + outputPadding + 1", () => {
  const g = graphOf([2, 4, 5, 6], (b, x) =>
    b.convTranspose2d(x, {
      out: 6,
      kernel: [3, 2],
      stride: [2, 3],
      padding: [1, 0, 2, 1],
      outputPadding: [1, 2],
      dilation: [1, 2],
      groups: 2,
      bias: true,
    }, "ct"));
  // H: 4*2 - 3 + 2 + 1 + 1 = 9; W: 5*3 - 1 + 2 + 2 + 1 = 19
  const c = costOf(g, "ct");
  assert.deepEqual(c.shape, [2, 6, 9, 19]);
  // weight [Cin, Cout/groups, kh, kw] = 4 x 3 x 3 x 2, bias 6
  assert.deepEqual([c.params.weights, c.params.bias], [72, 6]);
  assert.equal(c.madds, 2 * 4 * 5 * 6 * 3 * 3 * 2);
  assert.throws(
    () =>
      graphOf(
        [1, 2, 3, 3],
        (b, x) => b.convTranspose2d(x, { out: 2, kernel: 3, outputPadding: 1 }, "ct"),
      ),
    /Invalid "ct": outputPadding 1 must be smaller than the stride 1 or the dilation 1/,
  );
});

Deno.test("matmul: numpy semantics with broadcast batch axes and 1-D operands; MAdds = batch x M x K x N", () => {
  const b = new GraphBuilder("t", [2, 3]);
  const t = b.transpose(b.input, [1, 0], "t"); // [3, 2]
  const g = b.build(b.matmul(b.input, t, "mm")); // x x^T
  // rows [0, 1, 2] and [3, 4, 5]: [[5, 14], [14, 50]]
  assert.deepEqual(run(g, iota(6)), { y: [5, 14, 14, 50], shape: [2, 2] });
  assert.equal(costOf(g, "mm").madds, 2 * 3 * 2);
  const batched = new GraphBuilder("t", [2, 2, 3]);
  const col = batched.gather(
    batched.reshape(batched.input, [12], "flat"),
    0,
    [0, 1, 2],
    false,
    "v",
  );
  const gb = batched.build(batched.matmul(batched.input, col, "mv")); // [2, 2, 3] @ [3] = [2, 2]
  assert.deepEqual(run(gb, iota(12)), { y: [5, 14, 23, 32], shape: [2, 2] });
  assert.equal(costOf(gb, "mv").madds, 2 * 2 * 3 * 1);
  assert.throws(
    () =>
      new GraphBuilder("t", [2, 3]).matmul({ name: "input", shape: [2, 3] }, {
        name: "input",
        shape: [2, 3],
      }, "mm"),
    /matmul of 2x3 and 2x3: the first has 3 columns, the second 2 rows, expected equal/,
  );
});
