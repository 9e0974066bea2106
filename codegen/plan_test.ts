import assert from "node:assert/strict";
import { GraphBuilder } from "../lib/ir/builder.ts";
import { shuffleV1Unit, shuffleV2Unit } from "../lib/ir/blocks.ts";
import { foldBatchNorm } from "../lib/runtime/fold.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { differential } from "./_testing.ts";
import { OUTPUT_ROOT, planKernels } from "./plan.ts";
import { kernelName } from "./spec.ts";

function planOf(b: GraphBuilder, out: ReturnType<GraphBuilder["relu"]>) {
  const g = b.build(out);
  const f = foldBatchNorm(g, randomWeights(g, 1));
  return planKernels(f.graph, f.weights);
}

Deno.test("planKernels() fuses conv, folded BatchNorm and ReLU6 into one dwconv step", () => {
  const b = new GraphBuilder("t", [1, 8, 10, 10]);
  const y = b.relu6(
    b.batchNorm(b.conv2d(b.input, { out: 8, kernel: 3, groups: 8 }, "dw"), "bn"),
    "a",
  );
  const plan = planOf(b, y);
  assert.deepEqual(plan.steps.map((s) => s.layers), [["dw", "a"]]);
  assert.equal(kernelName(plan.steps[0].spec), "f32_dwconv_k3_s1_p1_c8_h10w10_relu6");
  assert.equal(plan.steps[0].y.root, OUTPUT_ROOT);
});

Deno.test("planKernels() writes concat inputs into their slices and a shuffle as strided writes", () => {
  const b = new GraphBuilder("t", [1, 4, 6, 6]);
  const l = b.relu(b.conv2d(b.input, { out: 3, kernel: 1 }, "l"), "lr");
  const r = b.relu(b.conv2d(b.input, { out: 3, kernel: 3 }, "r"), "rr");
  const y = b.channelShuffle(b.concat([l, r], "cat"), 2, "shuffle");
  const plan = planOf(b, y);
  assert.equal(plan.copies.length, 0);
  assert.deepEqual(plan.steps.map((s) => s.spec.family), ["pwconv", "conv"]);
  // output channel i * 2 + j is input channel j * 3 + i: the left conv's channels
  // 0, 1, 2 land at 0, 2, 4, the right conv's at 1, 3, 5: stride 2 planes
  const plane = 6 * 6;
  assert.deepEqual(plan.steps.map((s) => [s.y.off, "ycs" in s.spec && s.spec.ycs]), [
    [0, 2 * plane],
    [
      plane,
      2 * plane,
    ],
  ]);
});

Deno.test("planKernels() copies only the pass-through half of a ShuffleNet V2 basic unit", async () => {
  const b = new GraphBuilder("t", [1, 8, 6, 6]);
  const x = shuffleV2Unit(b, b.input, { out: 8, stride: 1 });
  const plan = planOf(b, x);
  assert.deepEqual(plan.copies.map((c) => c.reason.split(",")[0]), ["a split view"]);
  const copies = plan.steps.filter((s) => s.spec.family === "copy");
  assert.equal(copies.length, 1);
  assert.equal(copies[0].spec.family === "copy" && copies[0].spec.c, 4);
  await differential(b.build(x));
});

Deno.test("planKernels() reads a split as a channel slice, without a copy", () => {
  const b = new GraphBuilder("t", [1, 6, 4, 4]);
  const y = b.relu(b.conv2d(b.split(b.input, 2, 4), { out: 2, kernel: 1 }, "c"), "r");
  const plan = planOf(b, y);
  assert.equal(plan.steps.length, 1);
  assert.equal(plan.steps[0].x.off, 2 * 16);
});

Deno.test("planKernels() lets a group conv write through a following channel shuffle", async () => {
  const b = new GraphBuilder("t", [1, 12, 6, 6]);
  const x = shuffleV1Unit(b, b.input, { out: 12, stride: 1, groups: 3, mid: 6 });
  const plan = planOf(b, x);
  assert.equal(plan.copies.length, 0);
  const gconv = plan.steps[0].spec;
  // group g's output channel k lands at shuffled channel k * 3 + g: planes 1 apart
  // between groups, 3 apart within one
  assert.ok(gconv.family === "pwconv" && gconv.ygs === 36 && gconv.ycs === 3 * 36);
  await differential(b.build(x));
});

Deno.test("planKernels() writes ShuffleNet V2 pass-through channels once, where the last shuffle wants them", async () => {
  const b = new GraphBuilder("t", [1, 4, 6, 6]);
  let x = b.relu(b.conv2d(b.input, { out: 8, kernel: 1 }, "stem"), "stem_act");
  for (let i = 0; i < 3; i++) x = shuffleV2Unit(b, x, { out: 8, stride: 1 });
  const plan = planOf(b, x);
  // each unit's pass-through half would otherwise be copied into its concat
  assert.deepEqual(plan.copies, []);
  assert.equal(plan.steps.filter((s) => s.spec.family === "copy").length, 0);
  // three shuffles deep, the stem's and the branches' channels land in no single stride:
  // the 1x1 convs write and read them through offset tables
  // (the spec says that its kernel reads one, the step carries the table itself)
  const pw = plan.steps.filter((s) => s.spec.family === "pwconv");
  const flagged = (s: (typeof pw)[number], k: "x" | "y") =>
    s.spec.family === "pwconv" && s.spec[k === "x" ? "xtable" : "ytable"] === true;
  for (const k of ["x", "y"] as const) {
    assert.ok(pw.some((s) => s.tables?.[k] !== undefined), `some step reads a ${k} table`);
    for (const s of pw) assert.equal(flagged(s, k), s.tables?.[k] !== undefined);
  }
  await differential(b.build(x));
});
