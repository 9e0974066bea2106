import { GraphBuilder, type PoolOptions } from "../lib/ir/builder.ts";
import { differential } from "./_testing.ts";

const CASES: { kind: "max" | "avg"; h: number; w: number; o: PoolOptions }[] = [
  { kind: "max", h: 9, w: 7, o: { kernel: 3, stride: 2, padding: 1 } },
  { kind: "max", h: 9, w: 8, o: { kernel: 3, stride: 2, ceilMode: true } },
  { kind: "max", h: 1, w: 1, o: { kernel: 1, stride: 1 } },
  { kind: "avg", h: 6, w: 7, o: { kernel: 3, stride: 1, padding: 1 } },
  { kind: "avg", h: 6, w: 7, o: { kernel: 3, stride: 1, padding: 1, countIncludePad: false } },
  { kind: "avg", h: 7, w: 5, o: { kernel: 2, stride: 2, ceilMode: true } },
  { kind: "avg", h: 9, w: 9, o: { kernel: 3, stride: 2, padding: 1, ceilMode: true } },
];

for (const c of CASES) {
  Deno.test(
    `${c.kind}pool: h=${c.h},w=${c.w},${JSON.stringify(c.o)} matches the reference`,
    async () => {
      const b = new GraphBuilder("pool", [1, 3, c.h, c.w]);
      const y = c.kind === "max" ? b.maxPool(b.input, c.o) : b.avgPool(b.input, c.o);
      await differential(b.build(y));
    },
  );
}

for (const [h, w] of [[1, 1], [7, 5], [3, 3]]) {
  Deno.test(`gavgpool: c=5,h=${h},w=${w} matches the reference`, async () => {
    const b = new GraphBuilder("gap", [1, 5, h, w]);
    await differential(b.build(b.globalAvgPool(b.input)));
  });
}
