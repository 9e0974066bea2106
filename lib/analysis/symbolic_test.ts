import assert from "node:assert/strict";
import fc from "fast-check";
import { GraphBuilder } from "../ir/builder.ts";
import type { Graph } from "../ir/graph.ts";
import { zoo } from "../models/zoo.ts";
import { estimateCost, sumCosts } from "./cost.ts";
import { peakMemory } from "./memory.ts";
import { inferShapes } from "./shapes.ts";
import {
  add,
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

/**
 * An encoder-decoder tail with the kinds the symbolic rules used to refuse:
 * transposed convs on H/W-dependent maps, a layer norm over C, H and W (its
 * `channels` follow the resolution, so the graph is rebuilt per size), a
 * reduce over C and an NCHW -> NHWC transpose before the output.
 */
function decoder(h: number, w: number): Graph {
  const b = new GraphBuilder("dec", [1, 3, h, w]);
  const down = b.relu(b.conv2d(b.input, { out: 8, kernel: 3, stride: 2, padding: 1 }, "down"));
  // (X - 1)*2 - 1 - 1 + 2 + 1 + 1 = 2*X: twice the encoder's floor((H+1)/2).
  const up = b.convTranspose2d(
    down,
    { out: 4, kernel: 3, stride: 2, padding: 1, outputPadding: 1, bias: true },
    "up",
  );
  const pooled = b.maxPool(up, { kernel: 2, stride: 2 }, "pool"); // back to floor((H+1)/2)
  const up2 = b.convTranspose2d(pooled, { out: 6, kernel: 2, stride: 2, groups: 2 }, "up2");
  const ln = b.layerNorm(up2, "ln", 1);
  const mean = b.reduce(ln, "mean", [1], true, "rmean");
  return b.build(b.sigmoid(b.transpose(mean, [0, 2, 3, 1], "nhwc"), "act"));
}

Deno.test("symbolicCost() expresses transposed convs, layer norm, reduce and transpose in H and W", () => {
  const s = symbolicCost(decoder(40, 40));
  const up = s.layers.find((l) => l.name === "up")!;
  // MAdds = input elements x Cout/groups x kh x kw: 8*floor((H+1)/2)*floor((W+1)/2) * 4*3*3.
  assert.equal(formatPoly(up.madds), "288*floor((H+1)/2)*floor((W+1)/2)");
  // Output 4 x 2*floor((H+1)/2) x 2*floor((W+1)/2).
  assert.equal(formatPoly(up.activations), "16*floor((H+1)/2)*floor((W+1)/2)");
  // LayerNorm over C, H, W: weight and bias of 6 x 2a x 2b each.
  const ln = s.layers.find((l) => l.name === "ln")!;
  assert.equal(formatPoly(ln.params), "48*floor((H+1)/2)*floor((W+1)/2)");
  // The transpose only permutes: same elements as its input, read once and written once.
  const t = s.layers.find((l) => l.name === "nhwc")!;
  const r = s.layers.find((l) => l.name === "rmean")!;
  assert.equal(formatPoly(t.activations), formatPoly(r.activations));
  assert.equal(formatPoly(t.mac), formatPoly(add(r.activations, r.activations)));
  for (const [h, w] of [[37, 50], [64, 29]]) {
    const { costs, totals } = concrete(decoder(h, w));
    const env = { H: h, W: w };
    s.layers.forEach((l, i) => {
      assert.equal(l.name, costs[i].name);
      assert.deepEqual(
        [l.params, l.madds, l.mac, l.activations].map((p) => evaluate(s, p, env)),
        [costs[i].params.total, costs[i].madds, costs[i].mac.total, costs[i].activations],
        `${l.name} at ${h}x${w}`,
      );
    });
    const got = [
      evaluate(s, s.totals.params, env),
      evaluate(s, s.totals.madds, env),
      evaluate(s, s.totals.mac, env),
      evaluate(s, s.totals.activations, env),
      evaluatePeak(s, env),
    ];
    assert.deepEqual(got, totals, `totals at ${h}x${w}`);
  }
});

Deno.test("symbolicCost() of the decoder equals the interpreter on random H x W", () => {
  const s = symbolicCost(decoder(40, 40));
  fc.assert(
    fc.property(
      fc.integer({ min: s.minH, max: 160 }),
      fc.integer({ min: s.minW, max: 160 }),
      (h, w) => {
        const env = { H: h, W: w };
        const got = [s.totals.params, s.totals.madds, s.totals.mac, s.totals.activations].map((
          p,
        ) => evaluate(s, p, env));
        got.push(evaluatePeak(s, env));
        assert.deepEqual(got, concrete(decoder(h, w)).totals);
      },
    ),
    { numRuns: 20, seed: 11, examples: [[s.minH, s.minW], [1, 2]] },
  );
});

Deno.test("symbolicCost() of a matmul head: [N, K] x [K, M] costs N*K*M MAdds", () => {
  const head = (h: number, w: number) => {
    const b = new GraphBuilder("head", [1, 3, h, w]);
    const c = b.conv2d(b.input, { out: 16, kernel: 3, stride: 2, padding: 1 }, "conv");
    const f = b.flatten(b.globalAvgPool(c, "gap"), "flat"); // [1, 16]
    return b.build(b.matmul(f, b.constant([16, 10], "w"), "mm"));
  };
  const s = symbolicCost(head(32, 32));
  assert.equal(formatPoly(s.layers.find((l) => l.name === "mm")!.madds), String(1 * 16 * 10));
  for (const [h, w] of [[32, 32], [45, 19]]) {
    const env = { H: h, W: w };
    const got = [s.totals.params, s.totals.madds, s.totals.mac, s.totals.activations].map((p) =>
      evaluate(s, p, env)
    );
    got.push(evaluatePeak(s, env));
    assert.deepEqual(got, concrete(head(h, w)).totals, `${h}x${w}`);
  }
});

Deno.test("symbolicCost() still refuses what one floor cannot express, naming the layer", () => {
  // A stride-3 pool over 2*floor((H+1)/2): floor((2a + b)/3) is not one floor of H.
  const b = new GraphBuilder("t", [1, 3, 16, 16]);
  const d = b.conv2d(b.input, { out: 4, kernel: 3, stride: 2, padding: 1 }, "down");
  const u = b.convTranspose2d(d, { out: 4, kernel: 2, stride: 2 }, "up");
  assert.throws(
    () => symbolicCost(b.build(b.maxPool(u, { kernel: 3, stride: 3 }, "pool"))),
    (e) => e instanceof SymbolicError && /"pool": a stride-3 window/.test(e.message),
  );
  // A conv cannot read an NHWC map (its channels are no longer on axis 1).
  const c = new GraphBuilder("t", [1, 3, 8, 8]);
  const t = c.transpose(c.input, [0, 2, 3, 1], "nhwc");
  assert.throws(
    () => symbolicCost(c.build(c.conv2d(t, { out: 2, kernel: 1, inChannels: 8 }, "conv"))),
    (e) => e instanceof SymbolicError && /"conv": conv2d of a tensor whose axes/.test(e.message),
  );
});
