import assert from "node:assert/strict";
import { GraphBuilder } from "../lib/ir/builder.ts";
import { differential } from "./_testing.ts";

Deno.test("elementwise: every standalone activation matches the reference", async () => {
  const b = new GraphBuilder("acts", [1, 6, 3, 5]);
  const parts = [
    b.relu(b.input),
    b.relu6(b.input),
    b.clip(b.input, -0.25, 0.5),
    b.hardswish(b.input),
    b.hardsigmoid(b.input),
    b.sigmoid(b.input),
  ];
  const { compiled } = await differential(b.build(b.concat(parts)));
  // each activation writes its slot of the concat: no copies
  assert.equal(compiled.plan.copies.length, 0);
});

Deno.test("elementwise: an unfused add, a broadcast mul and a BatchNorm match the reference", async () => {
  const b = new GraphBuilder("ew", [1, 4, 5, 3]);
  const s = b.sigmoid(b.conv2d(b.globalAvgPool(b.input), { out: 4, kernel: 1, bias: true }));
  const x = b.mul(b.input, s);
  const y = b.batchNorm(b.addTensors(x, b.input));
  await differential(b.build(b.relu(y)));
});

Deno.test("elementwise: softmax over channels of a feature map matches the reference", async () => {
  const b = new GraphBuilder("sm", [1, 5, 2, 3]);
  await differential(b.build(b.softmax(b.input)));
});

Deno.test("elementwise: split, concat and shuffle of the input are copied, then read in place", async () => {
  const b = new GraphBuilder("shuffle", [1, 6, 3, 3]);
  const l = b.split(b.input, 0, 2);
  const r = b.relu(b.split(b.input, 2, 4));
  const y = b.channelShuffle(b.concat([l, r]), 3);
  const { compiled } = await differential(b.build(b.conv2d(y, { out: 4, kernel: 1 })));
  assert.ok(compiled.plan.steps.some((s) => s.spec.family === "copy"));
});
