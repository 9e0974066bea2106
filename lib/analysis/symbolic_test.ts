import assert from "node:assert/strict";
import fc from "fast-check";
import { GraphBuilder } from "../ir/builder.ts";
import type { Graph } from "../ir/graph.ts";
import { zoo } from "../models/zoo.ts";
import { estimateCost, sumCosts } from "./cost.ts";
import { peakMemory } from "./memory.ts";
import { inferShapes } from "./shapes.ts";
import {
  evaluate,
  evaluatePeak,
  formatPoly,
  onMultiples,
  symbolicCost,
  SymbolicError,
  symbolicJson,
  widthRuleHolds,
} from "./symbolic.ts";

/** The same graph with an H x W input (zoo graphs take any size their windows fit). */
function atSize(g: Graph, h: number, w: number): Graph {
  const [input] = g.inputs;
  return { ...g, inputs: [{ ...input, shape: [input.shape[0], input.shape[1], h, w] }] };
}

function concrete(g: Graph) {
  const shaped = inferShapes(g);
  const costs = estimateCost(shaped);
  const t = sumCosts(costs);
  return {
    costs,
    totals: [t.params.total, t.madds, t.mac.total, t.activations, peakMemory(shaped).peakElements],
  };
}

// Every zoo model is supported in H and W; none is listed as unsupported.
for (const def of zoo.list()) {
  Deno.test(`symbolicCost() of ${def.name} equals the interpreter on random H x W`, () => {
    const g = zoo.build(def.name);
    const s = symbolicCost(g);
    fc.assert(
      fc.property(
        fc.integer({ min: s.minH, max: 400 }),
        fc.integer({ min: s.minW, max: 400 }),
        (h, w) => {
          const env = { H: h, W: w };
          const got = [
            evaluate(s, s.totals.params, env),
            evaluate(s, s.totals.madds, env),
            evaluate(s, s.totals.mac, env),
            evaluate(s, s.totals.activations, env),
            evaluatePeak(s, env),
          ];
          assert.deepEqual(got, concrete(atSize(g, h, w)).totals);
        },
      ),
      { numRuns: 12, seed: 20240601, examples: [[s.minH, s.minW], [224, 224], [225, 223]] },
    );
  });
}

Deno.test("symbolicCost() per-layer expressions equal every node's cost", () => {
  for (const name of ["shufflenetv2", "mobilenetv3_small", "squeezenet1_0"]) {
    const g = zoo.build(name);
    const s = symbolicCost(g);
    for (const [h, w] of [[s.minH, s.minW + 7], [193, 131]]) {
      const { costs } = concrete(atSize(g, h, w));
      const env = { H: h, W: w };
      s.layers.forEach((l, i) => {
        assert.equal(l.name, costs[i].name);
        assert.deepEqual(
          [l.params, l.madds, l.mac, l.activations].map((p) => evaluate(s, p, env)),
          [costs[i].params.total, costs[i].madds, costs[i].mac.total, costs[i].activations],
          `${name} ${l.name} at ${h}x${w}`,
        );
      });
    }
  }
});

Deno.test("symbolicCost() in width mode equals MobileNet V1 built at random alpha and resolution", () => {
  const def = zoo.resolve("mobilenetv1").model;
  assert.deepEqual(widthRuleHolds(def, zoo.knobsFor("mobilenetv1").knobs), {
    ok: true,
    reason: "",
  });
  const s = symbolicCost(zoo.build("mobilenetv1", { width: 1 }), { width: true });
  assert.deepEqual(s.symbols, ["H", "W", "A"]);
  fc.assert(
    fc.property(
      fc.integer({ min: 4, max: 160 }).map((x) => x / 64), // alpha in [1/16, 2.5]
      fc.integer({ min: 32, max: 320 }),
      (alpha, r) => {
        const got = ["params", "madds", "mac", "activations"].map((k) =>
          evaluate(s, s.totals[k as "params"], { H: r, W: r, alpha })
        );
        got.push(evaluatePeak(s, { H: r, W: r, alpha }));
        assert.deepEqual(
          got,
          concrete(zoo.build("mobilenetv1", { width: alpha, resolution: r })).totals,
        );
      },
    ),
    { numRuns: 25, seed: 7, examples: [[0.75, 224], [0.25, 128]] },
  );
});

Deno.test("widthRuleHolds() names why other width knobs are not int(alpha * c)", () => {
  for (const name of ["mobilenetv3_large", "shufflenetv2", "shufflenetv1"]) {
    const def = zoo.resolve(name).model;
    const r = widthRuleHolds(def, zoo.knobsFor(name).knobs);
    assert.equal(r.ok, false);
    assert.match(r.reason, /at width [\d.]+, ".+" has \d+ channels where int/);
  }
  assert.match(widthRuleHolds(zoo.resolve("sv2_g1").model, {}).reason, /has no --width knob/);
});

Deno.test("symbolicCost() prints exact floors and the polynomial on multiples of the period", () => {
  const s = symbolicCost(zoo.build("mobilenetv1"));
  assert.equal(s.periodH, 32); // five stride-2 layers
  // MobileNet V1 Table 7: 569M MAdds at 224 = 22629/2 * 224^2 + the FC's 1024 * 1000.
  assert.equal(onMultiples(s.totals.madds), "22629/2*H*W + 1024000");
  assert.equal(22629 / 2 * 224 * 224 + 1024000, 568_740_352);
  assert.match(formatPoly(s.totals.madds), /^3200\*floor\(\(H\+1\)\/2\)\*floor\(\(W\+1\)\/2\) \+ /);
  assert.equal(formatPoly(s.totals.params), String(concrete(zoo.build("mobilenetv1")).totals[0]));
  const j = symbolicJson(s) as { domain: { minH: number }; totals: { madds: { text: string } } };
  assert.equal(j.domain.minH, 1);
  assert.equal(j.totals.madds.text, formatPoly(s.totals.madds));
});

Deno.test("evaluate() rejects sizes outside the domain", () => {
  const s = symbolicCost(zoo.build("squeezenet1_0"));
  assert.ok(s.minH > 1);
  assert.throws(() => evaluate(s, s.totals.madds, { H: s.minH - 1, W: 224 }), /H = \d+ is outside/);
  assert.throws(() => inferShapes(atSize(zoo.build("squeezenet1_0"), s.minH - 1, 224)));
  assert.doesNotThrow(() => inferShapes(atSize(zoo.build("squeezenet1_0"), s.minH, s.minW)));
});

Deno.test("symbolicCost() refuses graphs it cannot express, naming the layer", () => {
  // A classifier on a flattened map: its input size depends on H and W.
  const b = new GraphBuilder("t", [1, 3, 8, 8]);
  const f = b.flatten(b.conv2d(b.input, { out: 4, kernel: 3 }, "conv"), "flat");
  assert.throws(
    () => symbolicCost(b.build(b.linear(f, { out: 2 }, "fc"))),
    (e) =>
      e instanceof SymbolicError && /"fc": the classifier reads 4\*H\*W features/.test(e.message),
  );
  // A concat of maps whose sizes differ for odd H: floor((H+1)/2) and floor(H/2).
  const c = new GraphBuilder("t", [1, 3, 8, 8]);
  const a1 = c.conv2d(c.input, { out: 2, kernel: 3, stride: 2, padding: 1 }, "a");
  const a2 = c.conv2d(c.input, { out: 2, kernel: 2, stride: 2, padding: 0 }, "b");
  assert.throws(() => symbolicCost(c.build(c.concat([a1, a2], "cat"))), /"cat": concat of maps/);
});
