import assert from "node:assert/strict";
import { GraphBuilder } from "../lib/ir/builder.ts";
import type { Pads } from "../lib/ir/ops.ts";
import { differential } from "./_testing.ts";

// Odd sizes with stride 2, asymmetric padding, dilation, 5x5, 1x1 spatial
// (every output on the border) and no padding (every output interior).
const CASES: { c: number; h: number; w: number; k: number; s: number; p: Pads; d: number }[] = [
  { c: 3, h: 7, w: 9, k: 3, s: 2, p: [1, 1, 1, 1], d: 1 },
  { c: 4, h: 8, w: 8, k: 3, s: 1, p: [1, 1, 1, 1], d: 1 },
  { c: 5, h: 11, w: 7, k: 5, s: 2, p: [2, 2, 2, 2], d: 1 },
  { c: 2, h: 6, w: 5, k: 3, s: 2, p: [0, 1, 1, 0], d: 1 },
  { c: 3, h: 1, w: 1, k: 3, s: 1, p: [1, 1, 1, 1], d: 1 },
  { c: 2, h: 3, w: 3, k: 3, s: 1, p: [0, 0, 0, 0], d: 1 },
  { c: 3, h: 9, w: 10, k: 3, s: 1, p: [2, 2, 2, 2], d: 2 },
  { c: 2, h: 4, w: 13, k: 5, s: 1, p: [2, 2, 2, 2], d: 1 },
];

for (const c of CASES) {
  Deno.test(
    `dwconv: c=${c.c},h=${c.h},w=${c.w},k=${c.k},s=${c.s},p=${
      c.p.join("/")
    },d=${c.d} matches the reference`,
    async () => {
      const b = new GraphBuilder("dw", [1, c.c, c.h, c.w]);
      const y = b.conv2d(b.input, {
        out: c.c,
        kernel: c.k,
        stride: c.s,
        padding: c.p,
        dilation: c.d,
        groups: c.c,
      });
      const { compiled } = await differential(b.build(b.relu6(b.batchNorm(y))));
      assert.equal(compiled.plan.steps[0].spec.family, "dwconv");
    },
  );
}

Deno.test("dwconv: a residual add fused after a depthwise conv matches the reference", async () => {
  const b = new GraphBuilder("dwres", [1, 4, 5, 5]);
  const y = b.batchNorm(b.conv2d(b.input, { out: 4, kernel: 3, groups: 4 }));
  const { compiled } = await differential(b.build(b.addTensors(y, b.input)));
  assert.equal(compiled.plan.steps.length, 1);
});
