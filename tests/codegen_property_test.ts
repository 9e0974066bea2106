/**
 * Property: for random valid small architectures assembled from the
 * builder's blocks (lib/ir/blocks.ts) and raw ops, the generated module
 * matches the reference executor (max |gen - ref| <= 1e-4 * max |ref|, every
 * output element written). 200 cases, seeded so a failure reproduces; 100 more
 * through the WebAssembly target.
 */

import fc from "fast-check";
import { GraphBuilder, type Tensor } from "../lib/ir/builder.ts";
import {
  type Activation,
  bneck,
  convBnAct,
  depthwiseSeparable,
  fire,
  invertedResidual,
  shuffleV1Unit,
  shuffleV2Unit,
  squeezeExcite,
} from "../lib/ir/blocks.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { differential } from "../codegen/_testing.ts";

const KINDS = [
  "conv",
  "dwsep",
  "ir",
  "se",
  "bneck",
  "fire",
  "sv1",
  "sv2",
  "maxpool",
  "avgpool",
  "shuffle",
  "splitcat",
] as const;

interface Choice {
  kind: typeof KINDS[number];
  a: number;
  b: number;
  k: 1 | 3 | 5;
  s: 1 | 2;
  act: Activation;
  flag: boolean;
}

const choice: fc.Arbitrary<Choice> = fc.record({
  kind: fc.constantFrom(...KINDS),
  a: fc.integer({ min: 1, max: 4 }),
  b: fc.integer({ min: 1, max: 4 }),
  k: fc.constantFrom(1 as const, 3 as const, 5 as const),
  s: fc.constantFrom(1 as const, 2 as const),
  act: fc.constantFrom<Activation>("relu", "relu6", "hardswish", "none"),
  flag: fc.boolean(),
});

interface Arch {
  batch: number;
  c: number;
  h: number;
  w: number;
  blocks: Choice[];
  head: boolean;
}

const arch: fc.Arbitrary<Arch> = fc.record({
  batch: fc.constantFrom(1, 1, 1, 2),
  c: fc.integer({ min: 1, max: 6 }),
  h: fc.integer({ min: 1, max: 11 }),
  w: fc.integer({ min: 1, max: 11 }),
  blocks: fc.array(choice, { minLength: 1, maxLength: 5 }),
  head: fc.boolean(),
});

/** Makes `x` have exactly `c` channels with a 1x1 conv when it does not. */
function channels(b: GraphBuilder, x: Tensor, c: number): Tensor {
  return x.shape[1] === c ? x : convBnAct(b, x, { out: c, kernel: 1 }, "fit");
}

function apply(b: GraphBuilder, x: Tensor, o: Choice): Tensor {
  const c = x.shape[1];
  const out = 2 * o.a + o.b;
  switch (o.kind) {
    case "conv": {
      const g = c % o.a === 0 && out % o.a === 0 ? o.a : 1;
      return convBnAct(b, x, { out, kernel: o.k, stride: o.s, groups: g, act: o.act });
    }
    case "dwsep":
      return depthwiseSeparable(b, x, { out, stride: o.s });
    case "ir":
      return invertedResidual(b, x, { out: o.flag ? c : out, stride: o.s, expandRatio: o.a });
    case "se":
      return squeezeExcite(b, x, { squeeze: o.a });
    case "bneck":
      return bneck(b, x, {
        kernel: o.k === 1 ? 3 : o.k,
        expanded: c * o.a + o.b,
        out: o.flag ? c : out,
        se: o.b % 2 === 0,
        act: o.flag ? "hardswish" : "relu",
        stride: o.s,
      });
    case "fire":
      return fire(b, x, { squeeze: o.a, expand1x1: o.b, expand3x3: o.a + o.b });
    case "sv1": {
      const g = Math.min(o.a, 3);
      const y = channels(b, x, g * o.b);
      const unitOut = o.s === 2 ? y.shape[1] + g * o.a : y.shape[1];
      return shuffleV1Unit(b, y, { out: unitOut, stride: o.s, groups: g, mid: g * o.a });
    }
    case "sv2": {
      const y = o.s === 1 ? channels(b, x, 2 * o.a) : x;
      return shuffleV2Unit(b, y, { out: o.s === 1 ? y.shape[1] : 2 * out, stride: o.s });
    }
    case "maxpool":
      return o.flag
        ? b.maxPool(x, { kernel: 3, stride: 2, padding: 1 })
        : b.maxPool(x, { kernel: Math.min(2, x.shape[2], x.shape[3]), stride: 2, ceilMode: true });
    case "avgpool":
      return b.avgPool(x, { kernel: 3, stride: o.s, padding: 1, countIncludePad: o.flag });
    case "shuffle":
      return b.channelShuffle(x, c % o.a === 0 ? o.a : 1);
    case "splitcat": {
      if (c < 2) return b.relu(x);
      const h = Math.floor(c / 2);
      const l = b.split(x, 0, h);
      const r = b.relu(b.split(x, h, c - h));
      return b.concat([r, l]);
    }
  }
}

function build(a: Arch): Graph {
  const b = new GraphBuilder("random", [a.batch, a.c, a.h, a.w]);
  let x = b.input;
  a.blocks.forEach((o, i) => {
    x = b.scope(`b${i}`, () => apply(b, x, o));
  });
  if (a.head) x = b.linear(b.flatten(b.globalAvgPool(x, "pool"), "flat"), { out: 5 }, "fc");
  return b.build(x);
}

Deno.test("codegen matches the reference on 200 random architectures built from blocks", async () => {
  let seed = 0;
  await fc.assert(
    fc.asyncProperty(arch, async (a) => {
      await differential(build(a), ++seed);
    }),
    { numRuns: 200, seed: 20261129, endOnFailure: true },
  );
});

Deno.test("the wasm target matches the reference on 100 random architectures built from blocks", async () => {
  let seed = 0;
  await fc.assert(
    fc.asyncProperty(arch, async (a) => {
      await differential(build(a), ++seed, { target: "wasm" });
    }),
    { numRuns: 100, seed: 20261130, endOnFailure: true },
  );
});
