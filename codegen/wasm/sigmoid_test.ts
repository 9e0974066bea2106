/**
 * Sigmoid as a fused epilogue or a standalone activation in every
 * WebAssembly family that takes an activation (its `exp` is the polynomial
 * of `_exp.ts`): pointwise (register blocks and the matrix-vector kernel),
 * depthwise, general conv, linear, add, unfolded BatchNorm and the act
 * family, on odd sizes, against the reference executor with NaN-prefilled
 * outputs; no step may fall back to a TypeScript kernel.
 */

import assert from "node:assert/strict";
import { GraphBuilder } from "../../lib/ir/builder.ts";
import type { Graph } from "../../lib/ir/graph.ts";
import { differential } from "../_testing.ts";
import type { Family } from "../spec.ts";

async function wasm(graph: Graph, families: Family[]): Promise<void> {
  const { compiled } = await differential(graph, 5, { target: "wasm" });
  assert.deepEqual(compiled.fallbacks, [], "every step runs a WebAssembly kernel");
  assert.deepEqual(compiled.plan.steps.map((s) => s.spec.family), families);
}

Deno.test("wasm sigmoid epilogue: pointwise conv, 5 x 3 and 1 x 2 pixels", async () => {
  for (const [h, w] of [[5, 3], [1, 2]]) {
    const b = new GraphBuilder("pw", [1, 7, h, w]);
    await wasm(b.build(b.sigmoid(b.conv2d(b.input, { out: 9, kernel: 1, bias: true }))), [
      "pwconv",
    ]);
  }
});

Deno.test("wasm sigmoid epilogue: depthwise 3x3 stride 2 and general 3x3 conv", async () => {
  const b = new GraphBuilder("dw", [1, 3, 7, 9]);
  const d = b.sigmoid(b.conv2d(b.input, { out: 3, kernel: 3, stride: 2, padding: 1, groups: 3 }));
  const c = b.sigmoid(b.conv2d(d, { out: 5, kernel: 3, padding: 1, bias: true }));
  await wasm(b.build(c), ["dwconv", "conv"]);
});

Deno.test("wasm sigmoid: squeeze-excite gate, linear head, residual add, BatchNorm, standalone", async () => {
  const b = new GraphBuilder("se", [1, 6, 5, 7]);
  const gate = b.sigmoid(b.conv2d(b.globalAvgPool(b.input), { out: 6, kernel: 1, bias: true }));
  const scaled = b.mul(b.input, gate);
  const sum = b.sigmoid(b.addTensors(scaled, b.input));
  const bn = b.sigmoid(b.batchNorm(b.concat([sum, b.input])));
  const head = b.sigmoid(b.linear(b.flatten(b.globalAvgPool(bn)), { out: 19 }));
  const act = b.sigmoid(b.maxPool(b.input, { kernel: 3, stride: 2 }));
  await wasm(b.build({ head, bn, act }), [
    "gavgpool",
    "pwconv",
    "mul",
    "add",
    "copy",
    "affine",
    "gavgpool",
    "linear",
    "maxpool",
    "act",
  ]);
});
