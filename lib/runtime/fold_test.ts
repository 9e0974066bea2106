import assert from "node:assert/strict";
import { inferShapes } from "../analysis/shapes.ts";
import { GraphBuilder, type Tensor } from "../ir/builder.ts";
import type { Graph } from "../ir/graph.ts";
import { MODELS, zoo } from "../models/zoo.ts";
import { foldBatchNorm } from "./fold.ts";
import { runReference, runReferenceAll } from "./reference.ts";
import { randomInput, relativeError } from "./tensor.ts";
import { randomWeights } from "./weights.ts";

/** Reference output before and after folding agree within 1e-5 of max |output| (float32 rounding). */
function assertFoldPreserves(graph: Graph, seed: number): ReturnType<typeof foldBatchNorm> {
  const weights = randomWeights(graph, seed);
  const x = randomInput(graph.inputs[0].shape, seed + 1);
  const folded = foldBatchNorm(graph, weights);
  inferShapes(folded.graph); // still a valid graph
  const before = runReference(graph, weights, x);
  const after = runReference(folded.graph, folded.weights, x);
  const err = relativeError(after, before);
  assert.ok(err <= 1e-5, `relative error ${err} > 1e-5`);
  return folded;
}

function convBn(shape: number[], conv: (b: GraphBuilder, x: Tensor) => Tensor): Graph {
  const b = new GraphBuilder("t", shape);
  return b.build(b.relu(b.batchNorm(conv(b, b.input), "bn"), "act"));
}

Deno.test("foldBatchNorm() folds into a standard conv without bias and gives it one", () => {
  const g = convBn([2, 3, 9, 7], (b, x) => b.conv2d(x, { out: 8, kernel: 3, stride: 2 }, "c"));
  const f = assertFoldPreserves(g, 1);
  assert.deepEqual(f.graph.nodes.map((n) => n.name), ["c", "act"]);
  assert.deepEqual(f.graph.nodes[0].attrs, { ...g.nodes[0].attrs, bias: true });
  assert.deepEqual([...f.weights.keys()].sort(), ["c.bias", "c.weight"]);
  assert.deepEqual(f.folded, new Map([["bn", "c"]]));
});

Deno.test("foldBatchNorm() keeps an existing conv bias in the fold", () => {
  const g = convBn(
    [1, 4, 6, 6],
    (b, x) => b.conv2d(x, { out: 4, kernel: 1, bias: true }, "c"),
  );
  assertFoldPreserves(g, 2);
});

Deno.test("foldBatchNorm() folds into a grouped conv (groups 3, 6 -> 9 channels)", () => {
  const g = convBn(
    [1, 6, 8, 8],
    (b, x) => b.conv2d(x, { out: 9, kernel: 3, groups: 3, padding: [1, 0, 2, 1] }, "c"),
  );
  assertFoldPreserves(g, 3);
});

Deno.test("foldBatchNorm() folds into a depthwise conv (stride 2, dilation 2)", () => {
  const g = convBn(
    [2, 5, 11, 11],
    (b, x) => b.conv2d(x, { out: 5, kernel: 3, stride: 2, dilation: 2, groups: 5 }, "c"),
  );
  assertFoldPreserves(g, 4);
});

Deno.test("foldBatchNorm() leaves a BatchNorm that does not follow a conv", () => {
  const b = new GraphBuilder("t", [1, 3, 4, 4]);
  const g = b.build(b.batchNorm(b.relu(b.input, "r"), "bn"));
  const f = assertFoldPreserves(g, 5);
  assert.deepEqual(f.graph, g);
  assert.equal(f.folded.size, 0);
});

Deno.test("foldBatchNorm() leaves a BatchNorm whose conv has another reader", () => {
  const b = new GraphBuilder("t", [1, 3, 4, 4]);
  const c = b.conv2d(b.input, { out: 3, kernel: 3 }, "c");
  const g = b.build(b.addTensors(b.batchNorm(c, "bn"), c, "sum"));
  const f = assertFoldPreserves(g, 6);
  assert.deepEqual(f.graph.nodes.map((n) => n.name), ["c", "bn", "sum"]);
});

Deno.test("foldBatchNorm() rewires the graph output when the last node is a folded BatchNorm", () => {
  const b = new GraphBuilder("t", [1, 3, 4, 4]);
  const g = b.build(b.batchNorm(b.conv2d(b.input, { out: 2, kernel: 1 }, "c"), "bn"));
  const f = assertFoldPreserves(g, 7);
  assert.equal(f.graph.outputs[0].node, "c");
});

Deno.test("foldBatchNorm() does not modify its inputs", () => {
  const g = convBn([1, 2, 3, 3], (b, x) => b.conv2d(x, { out: 2, kernel: 3 }, "c"));
  const w = randomWeights(g, 8);
  const graphCopy = structuredClone(g);
  const weightCopy = new Map([...w].map(([k, v]) => [k, v.slice()]));
  foldBatchNorm(g, w);
  assert.deepEqual(g, graphCopy);
  assert.deepEqual(w, weightCopy);
});

/** A small MobileNetV2-like net: stem, an inverted residual with a shortcut, a BN after an add, head. */
function smallNet(): Graph {
  const b = new GraphBuilder("small", [2, 3, 17, 17]);
  const cbr = (x: Tensor, out: number, kernel: number, stride = 1, groups = 1) =>
    b.scope(() => b.relu6(b.batchNorm(b.conv2d(x, { out, kernel, stride, groups }))));
  let x = cbr(b.input, 8, 3, 2);
  const block = b.scope(() => {
    let y = cbr(x, 24, 1);
    y = cbr(y, 24, 3, 1, 24);
    return b.batchNorm(b.conv2d(y, { out: 8, kernel: 1 }));
  });
  x = b.batchNorm(b.addTensors(x, block, "sum"), "post_bn");
  x = b.scope(() => b.hardswish(b.batchNorm(b.conv2d(x, { out: 12, kernel: 3, groups: 4 }))));
  x = b.flatten(b.globalAvgPool(x, "pool"), "flat");
  return b.build(b.linear(x, { out: 10 }, "fc"));
}

Deno.test("foldBatchNorm() on a small net folds every conv's BatchNorm and keeps the output", () => {
  const g = smallNet();
  const f = assertFoldPreserves(g, 9);
  const bnLeft = f.graph.nodes.filter((n) => n.kind === "batch_norm").map((n) => n.name);
  assert.deepEqual(bnLeft, ["post_bn"]);
  assert.equal(f.folded.size, 5);
  // Layer by layer: each folded conv now produces what its BatchNorm did.
  const weights = randomWeights(g, 9);
  const x = randomInput(g.inputs[0].shape, 10);
  const before = runReferenceAll(g, weights, x);
  const after = runReferenceAll(f.graph, foldBatchNorm(g, weights).weights, x);
  for (const [bn, conv] of f.folded) {
    const err = relativeError(after.get(conv)!, before.get(bn)!);
    assert.ok(err <= 1e-5, `"${bn}" -> "${conv}": relative error ${err}`);
  }
});

Deno.test("foldBatchNorm() on every zoo network at 32x32 removes every conv's BatchNorm", () => {
  // The ShuffleNet V2 guideline micro-networks (fixed 56x56 input, no
  // resolution knob) are plain conv-BN-ReLU stacks and slow here; skip them.
  const nets = MODELS.filter((m) => m.knobs.some((k) => k.name === "resolution"));
  assert.ok(nets.length >= 8, `only ${nets.length} zoo networks`);
  for (const model of nets) {
    const g = zoo.build(model.name, { resolution: 32 });
    const f = assertFoldPreserves(g, 12);
    for (const node of f.graph.nodes) {
      if (node.kind !== "batch_norm") continue;
      const producer = f.graph.nodes.find((n) => n.name === node.inputs[0]);
      assert.notEqual(producer?.kind, "conv2d", `${model.name}: "${node.name}" follows a conv`);
    }
  }
});
