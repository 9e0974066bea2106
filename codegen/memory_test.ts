import assert from "node:assert/strict";
import { peakMemory as analysisPeak } from "../lib/analysis/memory.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import { numel } from "../lib/ir/ops.ts";
import { zoo } from "../lib/models/zoo.ts";
import { foldBatchNorm } from "../lib/runtime/fold.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { planMemory } from "./memory.ts";
import { planKernels, sampleSizes } from "./plan.ts";

for (const model of zoo.list()) {
  Deno.test(`planMemory() of ${model.name}: no two live buffers overlap, arena <= 1.1 x peak`, () => {
    const graph = zoo.build(model.name);
    const folded = foldBatchNorm(graph, randomWeights(graph, 1));
    const plan = planKernels(folded.graph, folded.weights);
    const m = planMemory(plan);
    // Buffers alive at the same step never share arena floats.
    for (let a = 0; a < plan.roots.length; a++) {
      for (let b = a + 1; b < plan.roots.length; b++) {
        const la = m.lifetimes[a], lb = m.lifetimes[b];
        if (la.last < la.first || lb.last < lb.first) continue;
        if (la.first > lb.last || lb.first > la.last) continue;
        const disjoint = m.offsets[a] + plan.roots[a].floats <= m.offsets[b] ||
          m.offsets[b] + plan.roots[b].floats <= m.offsets[a];
        assert.ok(disjoint, `buffers ${a} and ${b} are live together and overlap`);
      }
    }
    assert.ok(m.arenaFloats >= m.peakFloats);
    assert.ok(
      m.arenaFloats <= 1.1 * m.peakFloats,
      `arena ${m.arenaFloats} > 1.1 x ${m.peakFloats}`,
    );
    // The interpreter's peak for this schedule (lib/analysis/memory.ts, with
    // codegen's in-place options) also counts the graph input and output,
    // which live in the caller's arrays here, so it bounds the arena from above.
    const analysis = analysisPeak(inferShapes(graph), { inPlace: true }).peakElements;
    assert.ok(m.arenaFloats <= 1.1 * analysis, `arena ${m.arenaFloats} > 1.1 x ${analysis}`);
    assert.equal(numel(graph.inputs[0].shape), sampleSizes(plan).input); // batch 1
  });
}
