import assert from "node:assert/strict";
import { inferShapes } from "../analysis/shapes.ts";
import { zoo } from "./zoo.ts";

Deno.test("mobilenetv2 follows Table 2: 17 inverted residuals between two conv-BN-ReLU6", () => {
  const g = zoo.build("mobilenet_v2");
  const s = inferShapes(g).shapes;
  assert.deepEqual(s.get("features.0.2"), [1, 32, 112, 112]);
  assert.deepEqual(s.get("features.1.conv.2"), [1, 16, 112, 112]);
  assert.deepEqual(s.get("features.3.add"), [1, 24, 56, 56]);
  assert.deepEqual(s.get("features.6.add"), [1, 32, 28, 28]);
  assert.deepEqual(s.get("features.10.add"), [1, 64, 14, 14]);
  assert.deepEqual(s.get("features.13.add"), [1, 96, 14, 14]);
  assert.deepEqual(s.get("features.16.add"), [1, 160, 7, 7]);
  assert.deepEqual(s.get("features.17.conv.3"), [1, 320, 7, 7]);
  assert.deepEqual(s.get("features.18.2"), [1, 1280, 7, 7]);
  assert.deepEqual(s.get("classifier.1"), [1, 1000]);
  assert.equal(g.scopes.filter((x) => x.type === "inverted_residual").length, 17);
  // Residual adds: Table 2's n - 1 repeats per row = 0+1+2+3+2+2+0.
  assert.equal(g.nodes.filter((n) => n.kind === "add").length, 10);
});

Deno.test("mobilenetv2 --width rounds channels with make_divisible and never narrows the last conv", () => {
  const lastConv = (width: number) => {
    const n = zoo.build("mobilenetv2", { width }).nodes.find((n) => n.name === "features.18.0");
    return n?.kind === "conv2d" ? [n.attrs.inChannels, n.attrs.outChannels] : [];
  };
  assert.deepEqual(lastConv(1.4), [448, 1792]); // make_divisible(320 * 1.4, 8), 1280 * 1.4
  assert.deepEqual(lastConv(0.35), [112, 1280]); // make_divisible(320 * 0.35 = 112, 8)
  const stem = zoo.build("mobilenetv2", { width: 0.35 }).nodes[0];
  assert.ok(stem.kind === "conv2d" && stem.attrs.outChannels === 16); // 11.2 -> 16
});

Deno.test("mobilenetv2 --resolution 96 ends at 3x3; knob errors say what is accepted", () => {
  const s = inferShapes(zoo.build("mobilenetv2", { resolution: 96 })).shapes;
  assert.deepEqual(s.get("features.18.2"), [1, 1280, 3, 3]);
  assert.throws(() => zoo.build("mobilenetv2", { width: 0 }), /accepts a number in \[0\.05, 4\]/);
  assert.throws(() => zoo.build("mobilenetv2", { groups: 2 }), /has no knob --groups/);
});

Deno.test("mobilenetv2 marks one stage per paper Table 2 row, plus the stem and the last conv", () => {
  const g = zoo.build("mobilenetv2");
  const stages = g.scopes.filter((s) => s.kind === "stage");
  // Table 2 repeats n = 1, 2, 3, 4, 3, 3, 1 after the stem features.0.
  assert.deepEqual(stages.map((s) => s.path), [
    "features.0",
    "features.1",
    "features.2-3",
    "features.4-6",
    "features.7-10",
    "features.11-13",
    "features.14-16",
    "features.17",
    "features.18",
  ]);
  assert.deepEqual(stages[2].members, ["features.2", "features.3"]);
});
