import assert from "node:assert/strict";
import { inferShapes } from "../analysis/shapes.ts";
import { zoo } from "./zoo.ts";

Deno.test("mobilenetv3_large has 15 bnecks, a 960-channel last conv and a 1280 hidden layer", () => {
  const g = zoo.build("mobilenet_v3_large");
  const s = inferShapes(g).shapes;
  assert.deepEqual(s.get("features.0.2"), [1, 16, 112, 112]);
  assert.deepEqual(s.get("features.3.add"), [1, 24, 56, 56]);
  assert.deepEqual(s.get("features.6.add"), [1, 40, 28, 28]);
  assert.deepEqual(s.get("features.12.add"), [1, 112, 14, 14]);
  assert.deepEqual(s.get("features.15.add"), [1, 160, 7, 7]);
  assert.deepEqual(s.get("features.16.2"), [1, 960, 7, 7]);
  assert.deepEqual(s.get("classifier.0"), [1, 1280]);
  assert.deepEqual(s.get("classifier.3"), [1, 1000]);
  assert.equal(g.scopes.filter((x) => x.type === "bneck").length, 15);
  // Table 1: SE in 8 of the 15 bnecks.
  assert.equal(g.nodes.filter((n) => n.kind === "mul").length, 8);
  assert.ok(g.nodes.filter((n) => n.kind === "batch_norm").every((n) => n.attrs.eps === 0.001));
});

Deno.test("mobilenetv3_small has 11 bnecks, a 576-channel last conv and a 1024 hidden layer", () => {
  const g = zoo.build("mobilenet_v3_small");
  const s = inferShapes(g).shapes;
  assert.deepEqual(s.get("features.1.block.2.1"), [1, 16, 56, 56]); // first bneck has stride 2 and SE
  assert.deepEqual(s.get("features.11.add"), [1, 96, 7, 7]);
  assert.deepEqual(s.get("features.12.2"), [1, 576, 7, 7]);
  assert.deepEqual(s.get("classifier.0"), [1, 1024]);
  assert.equal(g.scopes.filter((x) => x.type === "bneck").length, 11);
  const se = g.nodes.find((n) => n.name === "features.1.block.1.fc1");
  assert.ok(se?.kind === "conv2d" && se.attrs.outChannels === 8); // make_divisible(16 // 4, 8)
});

Deno.test("mobilenetv3 --width 0.75 scales every layer with make_divisible", () => {
  const g = zoo.build("mobilenetv3_large", { width: 0.75 });
  const s = inferShapes(g).shapes;
  assert.deepEqual(s.get("features.16.2"), [1, 720, 7, 7]); // 6 * make_divisible(160 * 0.75, 8)
  assert.deepEqual(s.get("classifier.0"), [1, 960]); // make_divisible(1280 * 0.75, 8)
  assert.equal(g.meta.width, 0.75);
});
