import assert from "node:assert/strict";
import { GraphBuilder, type Tensor } from "../lib/ir/builder.ts";
import { differential } from "./_testing.ts";
import { PW_OB, PW_PB, PW_TILE } from "./emit_pointwise.ts";

type Act = "none" | "relu" | "relu6" | "hardswish";

function act(b: GraphBuilder, x: Tensor, a: Act): Tensor {
  return a === "none" ? x : b[a](x);
}

// Channels off the register block (PW_OB), pixel counts off the pixel block
// (PW_PB) and off the cache tile (PW_TILE), 1x1 spatial, groups.
const CASES: { cin: number; cout: number; groups: number; h: number; w: number; act: Act }[] = [
  { cin: 5, cout: 7, groups: 1, h: 5, w: 3, act: "relu6" },
  { cin: 8, cout: PW_OB * 4, groups: 1, h: 4, w: PW_PB * 2, act: "relu" },
  { cin: 3, cout: PW_OB + 1, groups: 1, h: 1, w: 1, act: "none" },
  { cin: 16, cout: 10, groups: 1, h: 17, w: 19, act: "hardswish" }, // 323 > PW_TILE pixels
  { cin: 12, cout: 18, groups: 3, h: 7, w: 7, act: "relu" },
  { cin: 10, cout: 10, groups: 2, h: 9, w: 5, act: "none" },
];

for (const c of CASES) {
  Deno.test(
    `pwconv: cin=${c.cin},cout=${c.cout},g=${c.groups},h=${c.h},w=${c.w},act=${c.act} matches the reference`,
    async () => {
      const b = new GraphBuilder("pw", [1, c.cin, c.h, c.w]);
      const y = b.conv2d(b.input, { out: c.cout, kernel: 1, groups: c.groups, bias: true });
      await differential(b.build(act(b, b.batchNorm(y), c.act)));
    },
  );
}

Deno.test("pwconv: a fused residual add and the activation after it match the reference", async () => {
  const b = new GraphBuilder("res", [1, 7, 6, 5]);
  const y = b.batchNorm(b.conv2d(b.input, { out: 7, kernel: 1 }, "pw"), "bn");
  const g = b.build(b.relu(b.addTensors(b.input, y, "add"), "act"));
  const { compiled } = await differential(g);
  assert.deepEqual(compiled.plan.steps.map((s) => s.layers), [["pw", "add", "act"]]);
});

Deno.test("pwconv: the pixel tile is a multiple of the pixel block", () => {
  assert.equal(PW_TILE % PW_PB, 0);
});

Deno.test("pwconv: batch 2 runs each sample through the same kernels", async () => {
  const b = new GraphBuilder("batch", [2, 6, 3, 3]);
  await differential(b.build(b.relu(b.conv2d(b.input, { out: 5, kernel: 1, bias: true }))));
});
