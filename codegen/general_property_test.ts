/**
 * The general kernel family on random tensors: random shapes of rank 1 to 5,
 * a second input broadcast to the first (dims set to 1, leading dims dropped),
 * a random binary op, then a random transpose, slice, concat with itself,
 * softmax and reduction, each on a random axis. Both plans (specialized where
 * one fits, and general only) must match the reference executor with
 * NaN-prefilled outputs (codegen/_testing.ts).
 */
import fc from "fast-check";
import { GraphBuilder } from "../lib/ir/builder.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { differential } from "./_testing.ts";

const BINARIES = ["add", "sub", "mul", "max", "min"] as const;

interface Case {
  shape: number[];
  /** Which dims of the second input are 1 (bit d), and how many leading dims it drops. */
  ones: number;
  drop: number;
  op: (typeof BINARIES)[number];
  /** Seeds of the axis choices and the permutation. */
  picks: number[];
}

const arbCase: fc.Arbitrary<Case> = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
  ones: fc.nat(31),
  drop: fc.nat(4),
  op: fc.constantFrom(...BINARIES),
  picks: fc.array(fc.nat(1000), { minLength: 8, maxLength: 8 }),
});

function build(c: Case): Graph {
  const r = c.shape.length;
  const b = new GraphBuilder("random_general", c.shape);
  const drop = Math.min(c.drop, r - 1);
  const other = b.addInput("other", c.shape.slice(drop).map((d, i) => (c.ones >> i) & 1 ? 1 : d));
  const mixed = b.binary(c.op, b.input, other, "mixed");
  // A permutation from the picks (Fisher-Yates).
  const perm = c.shape.map((_, i) => i);
  for (let i = r - 1; i > 0; i--) {
    const j = c.picks[i % 8] % (i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const t = b.transpose(mixed, perm, "t");
  const axis = c.picks[0] % r;
  const size = t.shape[axis];
  const start = c.picks[1] % size;
  const step = 1 + (c.picks[2] % 2);
  const s = b.slice(t, axis, start, size, step, "s");
  const cat = b.concat([s, b.unary("tanh", s, "th")], "cat", c.picks[3] % r);
  const sm = b.softmax(cat, "sm", c.picks[4] % r);
  const axes = [c.picks[5] % r, c.picks[6] % r].filter((v, i, a) => a.indexOf(v) === i);
  // keepDims off only while an axis is left (a 0-D tensor is not a tensor here).
  const keep = c.picks[7] % 2 === 0 || axes.length === r;
  const op = (["mean", "sum", "max"] as const)[c.picks[7] % 3];
  const red = b.reduce(sm, op, axes, keep, "red");
  return b.build({ red, cat });
}

Deno.test("general kernels match the reference on 40 random shapes, broadcasts and axes", async () => {
  let seed = 0;
  await fc.assert(
    fc.asyncProperty(arbCase, async (c) => {
      const g = build(c);
      await differential(g, ++seed);
      await differential(g, ++seed, { generalOnly: true });
    }),
    { numRuns: 40, seed: 20261130, endOnFailure: true },
  );
});
