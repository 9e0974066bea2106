/**
 * The general kernel family against the reference executor: every op kind
 * compiled with `generalOnly` (no specialized family, no fusion, no views),
 * on edge shapes (odd sizes, stride 2, groups, asymmetric padding, ceil
 * mode, batch 2), rank-1/3/5 tensors, and graphs whose leading dimension is
 * not the batch. Outputs are NaN-prefilled (codegen/_testing.ts).
 */
import assert from "node:assert/strict";
import { GraphBuilder, type Tensor } from "../lib/ir/builder.ts";
import { OP_KINDS } from "../lib/ir/ops.ts";
import { differential } from "./_testing.ts";
import { GENERAL_KERNELS } from "./emit_general.ts";

const general = { generalOnly: true };

/** A graph touching every op kind of the zoo, at batch `n`. */
function everyKind(n: number): { graph: ReturnType<GraphBuilder["build"]>; kinds: Set<string> } {
  const b = new GraphBuilder(`every_${n}`, [n, 6, 9, 7]);
  const x = b.input;
  const conv = b.conv2d(x, { out: 8, kernel: 3, stride: 2, padding: [1, 0, 2, 1], bias: true });
  const grouped = b.conv2d(conv, { out: 8, kernel: [1, 3], groups: 2, dilation: [1, 2] }, "grp");
  const dw = b.conv2d(grouped, { out: 8, kernel: 3, groups: 8, padding: 1 }, "dw");
  const bn = b.add("batch_norm", { channels: 8, eps: 1e-3 }, [dw], "bn");
  const acts: Tensor[] = [
    b.relu(bn, "relu"),
    b.relu6(bn, "relu6"),
    b.add("clip", { min: -0.25, max: 0.5 }, [bn], "clip"),
    b.add("hardswish", {}, [bn], "hswish"),
    b.add("hardsigmoid", { alpha: 0.2, beta: 0.5 }, [bn], "hsig"),
    b.add("sigmoid", {}, [bn], "sig"),
  ];
  const sum = b.addTensors(acts[0], acts[1], "sum");
  const se = b.mul(sum, b.globalAvgPool(acts[2], "se_pool"), "se");
  const cat = b.concat([se, acts[3], acts[4], acts[5]], "cat");
  const shuffled = b.channelShuffle(cat, 4, "shuffle");
  const half = b.split(shuffled, 8, 16, "half");
  const mp = b.maxPool(half, { kernel: 2, stride: 2, ceilMode: true }, "mp");
  const ap = b.avgPool(half, { kernel: 2, stride: 2, padding: 1, countIncludePad: false }, "ap");
  const ap2 = b.avgPool(half, { kernel: 3, stride: 1, padding: 1 }, "ap2");
  const gap = b.globalAvgPool(b.concat([mp, ap], "pools"), "gap");
  const fc = b.linear(b.flatten(gap, "flat"), { out: 5, bias: true }, "fc");
  const drop = b.add("dropout", { p: 0.2 }, [fc], "drop");
  const graph = b.build({ probs: b.softmax(drop, "softmax"), map: ap2 });
  return { graph, kinds: new Set(graph.nodes.map((node) => node.kind)) };
}

Deno.test("every op kind has a general kernel (the table is keyed by OpKind)", () => {
  assert.deepEqual(Object.keys(GENERAL_KERNELS).sort(), [...OP_KINDS].sort());
});

Deno.test("the general family alone computes every op kind like the reference executor", async () => {
  for (const n of [1, 2]) {
    const { graph, kinds } = everyKind(n);
    // The graph covers the catalog, so this runs every general kernel.
    assert.deepEqual([...kinds].sort(), [...OP_KINDS].sort());
    const r = await differential(graph, 3 + n, general);
    assert.ok(r.compiled.plan.steps.every((s) => s.spec.family === "general"));
    assert.equal(r.compiled.plan.batch, n);
  }
});

Deno.test("the specialized plan of the same graph agrees and names no general layer", async () => {
  const { graph } = everyKind(2);
  const r = await differential(graph, 9);
  assert.deepEqual(r.compiled.generalLayers, []);
});

Deno.test("rank-1, rank-3 and rank-5 tensors compile (general where no family fits)", async () => {
  const b1 = new GraphBuilder("rank1", [7]);
  const g1 = b1.build(b1.add("hardswish", {}, [b1.relu6(b1.input, "a")], "b"));
  const r1 = await differential(g1, 1);
  assert.deepEqual(r1.compiled.generalLayers, ["a", "b"]);

  const b3 = new GraphBuilder("rank3", [2, 5, 3]);
  const s3 = b3.add("sigmoid", {}, [b3.input], "s");
  const g3 = b3.build({ sum: b3.addTensors(s3, b3.input, "sum"), s: s3 });
  await differential(g3, 2);
  await differential(g3, 2, general);

  const b5 = new GraphBuilder("rank5", [1, 3, 2, 3, 5]);
  const r5 = b5.relu(b5.input, "r");
  const g5 = b5.build({ sm: b5.softmax(r5, "sm"), sum: b5.addTensors(r5, b5.input, "sum") });
  await differential(g5, 3);
  await differential(g5, 3, general);
});
