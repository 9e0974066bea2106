import assert from "node:assert/strict";
import { inferShapes } from "../analysis/shapes.ts";
import { zoo } from "./zoo.ts";

Deno.test("shufflenetv2 1x has Table 5's stage channels at 28, 14 and 7 pixels", () => {
  const g = zoo.build("shufflenetv2");
  const s = inferShapes(g).shapes;
  assert.deepEqual(s.get("maxpool"), [1, 24, 56, 56]);
  assert.deepEqual(s.get("stage2.3.shuffle"), [1, 116, 28, 28]);
  assert.deepEqual(s.get("stage3.7.shuffle"), [1, 232, 14, 14]);
  assert.deepEqual(s.get("stage4.3.shuffle"), [1, 464, 7, 7]);
  assert.deepEqual(s.get("conv5.2"), [1, 1024, 7, 7]);
  assert.deepEqual(s.get("fc"), [1, 1000]);
  assert.equal(g.nodes.filter((n) => n.kind === "split").length, 2 * (3 + 7 + 3));
});

Deno.test("shufflenetv2 aliases pick the width; 2x has a 2048-channel conv5", () => {
  const s = inferShapes(zoo.build("shufflenet_v2_x2_0")).shapes;
  assert.deepEqual(s.get("stage4.3.shuffle"), [1, 976, 7, 7]);
  assert.deepEqual(s.get("conv5.2"), [1, 2048, 7, 7]);
  assert.equal(zoo.build("shufflenet_v2_x0_5").meta.width, 0.5);
  assert.throws(
    () => zoo.build("shufflenet_v2_x0_5", { width: 1 }),
    /"shufflenet_v2_x0_5" fixes width = 0.5; use "shufflenetv2" to set --width/,
  );
});

Deno.test("shufflenetv2 rejects widths without a Table 5 row and accepts tiny inputs", () => {
  assert.throws(() => zoo.build("shufflenetv2", { width: 0.75 }), /accepts one of 0.5, 1, 1.5, 2/);
  assert.deepEqual(
    inferShapes(zoo.build("shufflenetv2", { resolution: 1 })).shapes.get("fc"),
    [1, 1000],
  );
});
