import assert from "node:assert/strict";
import { GraphBuilder } from "../lib/ir/builder.ts";
import type { Pads } from "../lib/ir/ops.ts";
import { differential } from "./_testing.ts";
import { CV_OB } from "./emit_conv.ts";

const CASES: {
  cin: number;
  cout: number;
  g: number;
  h: number;
  w: number;
  k: [number, number];
  s: number;
  p: Pads;
}[] = [
  { cin: 3, cout: CV_OB + 1, g: 1, h: 9, w: 11, k: [3, 3], s: 2, p: [1, 1, 1, 1] }, // stem-like
  { cin: 4, cout: 6, g: 2, h: 7, w: 6, k: [3, 3], s: 1, p: [1, 1, 1, 1] },
  { cin: 3, cout: 5, g: 1, h: 15, w: 13, k: [7, 7], s: 2, p: [3, 3, 3, 3] },
  { cin: 6, cout: 3, g: 1, h: 7, w: 5, k: [1, 1], s: 2, p: [0, 0, 0, 0] }, // strided 1x1
  { cin: 2, cout: 3, g: 1, h: 6, w: 7, k: [3, 1], s: 1, p: [1, 0, 1, 0] },
  { cin: 3, cout: 2, g: 1, h: 5, w: 6, k: [2, 2], s: 2, p: [0, 0, 1, 1] }, // asymmetric
  { cin: 2, cout: 4, g: 1, h: 1, w: 1, k: [3, 3], s: 1, p: [1, 1, 1, 1] }, // 1x1 spatial
  { cin: 8, cout: 4, g: 4, h: 5, w: 5, k: [3, 3], s: 2, p: [1, 1, 1, 1] },
  { cin: 3, cout: 7, g: 1, h: 12, w: 21, k: [3, 3], s: 1, p: [1, 1, 1, 1] }, // 4-pixel blocks + tail
];

for (const c of CASES) {
  Deno.test(
    `conv: cin=${c.cin},cout=${c.cout},g=${c.g},h=${c.h},w=${c.w},k=${c.k.join("x")},s=${c.s},p=${
      c.p.join("/")
    } matches the reference`,
    async () => {
      const b = new GraphBuilder("conv", [1, c.cin, c.h, c.w]);
      const y = b.conv2d(b.input, {
        out: c.cout,
        kernel: c.k,
        stride: c.s,
        padding: c.p,
        groups: c.g,
      });
      const { compiled } = await differential(b.build(b.relu(b.batchNorm(y))));
      assert.equal(compiled.plan.steps[0].spec.family, "conv");
    },
  );
}
