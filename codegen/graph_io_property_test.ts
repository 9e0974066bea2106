/**
 * Placement with several outputs on random DAGs: each step applies a random
 * op (1x1 / 3x3 / depthwise conv, relu, add or concat of two earlier tensors,
 * a channel split, a shuffle) to earlier tensors of the same spatial size,
 * and 1 to 3 random tensors (any of them: the input, a split view, a concat
 * others also write into, one read later) are graph outputs. The generated
 * module must match the reference executor on every output, NaN-prefilled.
 */
import fc from "fast-check";
import { GraphBuilder, type Tensor } from "../lib/ir/builder.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { differential } from "./_testing.ts";

interface Dag {
  batch: number;
  steps: { op: number; a: number; b: number; k: number }[];
  outs: number[];
}

const arbDag: fc.Arbitrary<Dag> = fc.record({
  batch: fc.integer({ min: 1, max: 2 }),
  steps: fc.array(
    fc.record({ op: fc.nat(7), a: fc.nat(100), b: fc.nat(100), k: fc.integer({ min: 1, max: 3 }) }),
    { minLength: 1, maxLength: 9 },
  ),
  outs: fc.array(fc.nat(100), { minLength: 1, maxLength: 3 }),
});

function build(d: Dag): Graph {
  const b = new GraphBuilder("random_dag", [d.batch, 4, 5, 5]);
  const pool: Tensor[] = [b.input];
  d.steps.forEach((s, i) => {
    const x = pool[s.a % pool.length];
    const y = pool[s.b % pool.length];
    const c = x.shape[1];
    const name = `n${i}`;
    const same = y.shape[1] === c ? y : b.conv2d(y, { out: c, kernel: 1 }, `${name}_fit`);
    const next = [
      () => b.conv2d(x, { out: 2 * s.k, kernel: 1, bias: true }, name),
      () => b.conv2d(x, { out: s.k + 1, kernel: 3 }, name),
      () => b.conv2d(x, { out: c, kernel: 3, groups: c }, name),
      () => b.relu(x, name),
      () => b.addTensors(x, same, name),
      () => b.concat([x, y], name),
      () => (c >= 2
        ? b.split(x, s.k % c === 0 ? 1 : s.k % c, c - (s.k % c || 1), name)
        : b.relu(x, name)),
      () => (c % 2 === 0 ? b.channelShuffle(x, 2, name) : b.relu(x, name)),
    ][s.op]();
    pool.push(next);
  });
  const outputs: Record<string, Tensor> = {};
  d.outs.forEach((o, k) => (outputs[`out${k}`] = pool[o % pool.length]));
  return b.build(outputs);
}

Deno.test("codegen matches the reference on 60 random DAGs with 1-3 outputs anywhere", async () => {
  let seed = 0;
  await fc.assert(
    fc.asyncProperty(arbDag, async (d) => {
      await differential(build(d), ++seed);
    }),
    { numRuns: 60, seed: 20261131, endOnFailure: true },
  );
});
