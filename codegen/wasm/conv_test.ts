/**
 * The register-blocked general conv kernel (codegen/wasm/conv.ts) on edge
 * shapes, against the reference executor with NaN-prefilled outputs
 * (codegen/_testing.ts): rows narrower than a vector (widths 1 and 3), widths
 * and heights not a multiple of the pixel block (5, 7, 13, 15), output
 * channels not a multiple of the channel block, strides 1, 2 and 3 (the phase
 * split of the input copy), padding 0, 1 and 2 and asymmetric, kernels 1, 3,
 * 5 and 7, rectangular kernels, dilation, groups, the 3-channel stride-2
 * stem, rows long enough that the copy loops, and every tuning candidate.
 *
 * Most cases end in an activation that keeps negative values (none,
 * hardswish, clip): after a ReLU a kernel that left an output at the zero the
 * module's memory starts with would still match the reference there.
 */

import assert from "node:assert/strict";
import { GraphBuilder, type Tensor } from "../../lib/ir/builder.ts";
import type { Graph } from "../../lib/ir/graph.ts";
import type { Pads } from "../../lib/ir/ops.ts";
import { randomWeights } from "../../lib/runtime/weights.ts";
import { differential, TOL } from "../_testing.ts";
import { compile, type CompileOptions, loadModule } from "../compile.ts";
import { runReferenceOutputs } from "../../lib/runtime/reference.ts";
import { maxAbs, maxAbsDiff, randomInput } from "../../lib/runtime/tensor.ts";
import { kernelName } from "../spec.ts";
import { CONV_BLOCKINGS, convBlocking, convScratch } from "./conv.ts";

type Act = "none" | "hardswish" | "clip" | "relu";

interface Case {
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: number | [number, number];
  s: number | [number, number];
  p: number | Pads;
  d?: number;
  g?: number;
  act?: Act;
}

function activate(b: GraphBuilder, y: Tensor, act: Act): Tensor {
  if (act === "hardswish") return b.hardswish(y);
  if (act === "clip") return b.clip(y, -0.5, 0.75);
  if (act === "relu") return b.relu(y);
  return y;
}

function convGraph(c: Case): Graph {
  const b = new GraphBuilder("conv", [1, c.cin, c.h, c.w]);
  const y = b.conv2d(b.input, {
    out: c.cout,
    kernel: c.k,
    stride: c.s,
    padding: c.p,
    dilation: c.d ?? 1,
    groups: c.g ?? 1,
  });
  return b.build(activate(b, b.batchNorm(y), c.act ?? "none"));
}

async function conv(graph: Graph, options: CompileOptions = { target: "wasm" }) {
  const { compiled } = await differential(graph, 5, options);
  assert.deepEqual(compiled.fallbacks, [], "every step runs a WebAssembly kernel");
  assert.deepEqual(compiled.plan.steps.map((s) => s.spec.family), ["conv"]);
  return compiled;
}

const CASES: Case[] = [
  // SqueezeNet 1.1's stem at a small size: 3 channels, stride 2, no padding, odd width.
  { cin: 3, cout: 64, h: 31, w: 31, k: 3, s: 2, p: 0, act: "relu" },
  // Fire expand3x3: pad 1, stride 1, widths off the block, channels off the block.
  { cin: 16, cout: 13, h: 13, w: 13, k: 3, s: 1, p: 1 },
  { cin: 8, cout: 6, h: 5, w: 21, k: 3, s: 1, p: 1 }, // one block of 6 vectors, the last overlapping
  { cin: 4, cout: 5, h: 3, w: 27, k: 3, s: 1, p: 1 }, // 7 vectors: a block and 1 split 4 + 3
  { cin: 3, cout: 3, h: 2, w: 55, k: 3, s: 1, p: 1 }, // 14 vectors: 6, then 6 + 2 split 4 + 4
  { cin: 5, cout: 7, h: 15, w: 15, k: 3, s: 1, p: 1, act: "hardswish" },
  { cin: 4, cout: 6, h: 7, w: 5, k: 3, s: 2, p: 1, act: "clip" },
  // Rows narrower than a vector (lane stores), and a 1-pixel plane.
  { cin: 3, cout: 5, h: 3, w: 3, k: 3, s: 1, p: 1 },
  { cin: 2, cout: 9, h: 1, w: 1, k: 3, s: 1, p: 1 },
  { cin: 3, cout: 4, h: 5, w: 1, k: [3, 1], s: 1, p: [1, 0, 1, 0] },
  { cin: 2, cout: 3, h: 4, w: 3, k: 3, s: 1, p: 0 },
  // Kernels 1, 5 and 7 with padding 0 and 2, odd sizes, stride 2.
  { cin: 6, cout: 9, h: 9, w: 17, k: 1, s: 2, p: 0 },
  { cin: 4, cout: 5, h: 13, w: 15, k: 5, s: 1, p: 2 },
  { cin: 3, cout: 8, h: 15, w: 13, k: 5, s: 2, p: 2, act: "hardswish" },
  { cin: 3, cout: 10, h: 15, w: 15, k: 7, s: 2, p: 3 },
  { cin: 2, cout: 3, h: 7, w: 7, k: 7, s: 1, p: 0 },
  // Asymmetric padding and a rectangular kernel, as importers produce.
  { cin: 3, cout: 5, h: 6, w: 12, k: [1, 5], s: 1, p: [0, 2, 0, 2] },
  { cin: 5, cout: 4, h: 8, w: 11, k: 3, s: 2, p: [0, 1, 1, 0] },
  // Stride 3 (three column phases, copied element by element), dilation 2, groups.
  { cin: 3, cout: 4, h: 13, w: 14, k: 3, s: 3, p: 1 },
  { cin: 4, cout: 6, h: 11, w: 13, k: 3, s: 1, p: 2, d: 2 },
  { cin: 4, cout: 6, h: 9, w: 10, k: 3, s: 1, p: 1, g: 2 },
  { cin: 6, cout: 9, h: 7, w: 9, k: 3, s: 2, p: 1, g: 3, act: "clip" },
  // Rows long enough that the copy and the zero rows loop (more than 8 vectors).
  { cin: 2, cout: 5, h: 5, w: 45, k: 3, s: 1, p: 1 },
  { cin: 2, cout: 5, h: 6, w: 75, k: 3, s: 2, p: 2 },
];

for (const c of CASES) {
  Deno.test(`wasm conv ${JSON.stringify(c)} matches the reference`, async () => {
    await conv(convGraph(c));
  });
}

Deno.test("wasm conv: a fused residual add, hardswish before and relu after it", async () => {
  const b = new GraphBuilder("res", [1, 7, 9, 13]);
  const y = b.hardswish(b.batchNorm(b.conv2d(b.input, { out: 7, kernel: 3, padding: 1 })));
  await conv(b.build(b.relu6(b.addTensors(b.input, y))));
});

Deno.test("wasm conv: consecutive convs share the scratch, each zeroing its own padding", async () => {
  // Each conv's zero columns and rows sit where the one before left input values
  // (a fresh module's memory is zero, so a single conv cannot show a missing zero).
  const b = new GraphBuilder("chain", [1, 3, 14, 14]);
  let y = b.hardswish(b.conv2d(b.input, { out: 4, kernel: 3, padding: 0 })); // 12x12
  y = b.hardswish(b.conv2d(y, { out: 5, kernel: 3, padding: 1 })); // 12x12
  y = b.hardswish(b.conv2d(y, { out: 4, kernel: 3, stride: 2, padding: 2 })); // 7x7
  y = b.conv2d(y, { out: 3, kernel: 5, padding: 2 }); // 7x7
  const { compiled } = await differential(b.build(y), 6, { target: "wasm" });
  assert.deepEqual(compiled.fallbacks, []);
  assert.deepEqual(compiled.plan.steps.map((s) => s.spec.family), ["conv", "conv", "conv", "conv"]);
});

Deno.test("wasm conv: every tuning candidate blocking matches the reference", async () => {
  // 13 columns: one full block and overlapping last vectors in every blocking.
  const g = convGraph({ cin: 5, cout: 11, h: 7, w: 13, k: 3, s: 1, p: 1, act: "clip" });
  const name = kernelName(compile(g, randomWeights(g, 1), { target: "wasm" }).plan.steps[0].spec);
  for (const blocking of CONV_BLOCKINGS) {
    const compiled = await conv(g, {
      target: "wasm",
      wasm: { convBlocking: new Map([[name, blocking]]) },
    });
    assert.match(compiled.source, new RegExp(`_b${blocking.ob}x${4 * blocking.pv}\\(`));
  }
});

Deno.test("convScratch() keeps only the padded rows and columns some window reads", () => {
  const g = convGraph({ cin: 16, cout: 64, h: 55, w: 55, k: 3, s: 1, p: 1 });
  const spec = compile(g, randomWeights(g, 1), { target: "wasm" }).plan.steps[0].spec;
  assert.equal(spec.family, "conv");
  const sc = convScratch(spec as Parameters<typeof convScratch>[0]);
  // 55 outputs of a 3-tap window at stride 1: 55 + 3 - 1 = 57 padded rows and columns,
  // one phase, rows rounded up to whole vectors (60 floats).
  assert.deepEqual([sc.rows, sc.len, sc.rowStride], [57, 57, 60]);
  assert.equal(sc.floats, 16 * 57 * 60 + 8); // every input channel, then slack for over-reads
});

Deno.test("wasm conv on 2 threads: each part its own scratch, the default blocking over a tuned one", async () => {
  // 3 x 12 tuned: parts are cut at multiples of the default blocking's channels, so the split
  // step packs and runs the default blocking (2 x 24 on 37-pixel rows); outputs match the
  // reference, bit for bit the single-thread module's with that blocking.
  const g = convGraph({ cin: 5, cout: 21, h: 40, w: 37, k: 3, s: 1, p: 1, act: "clip" });
  const w = randomWeights(g, 7);
  const spec = compile(g, w, { target: "wasm" }).plan.steps[0].spec;
  assert.equal(spec.family, "conv");
  const name = kernelName(spec);
  const def = convBlocking(spec as Parameters<typeof convBlocking>[0]);
  assert.deepEqual(def, { ob: 2, pv: 6 });
  const options = (threads: number, blocking: { ob: number; pv: number }) => ({
    target: "wasm" as const,
    wasm: { threads, convBlocking: new Map([[name, blocking]]) },
  });
  const compiled = compile(g, w, options(2, { ob: 3, pv: 3 }));
  assert.equal(compiled.splitSteps, 1);
  assert.match(compiled.source, /_b2x24_s1\(/); // part 1, scratch area 1
  const two = await loadModule(compiled.source);
  const one = await loadModule(compile(g, w, options(1, def)).source);
  try {
    const x = randomInput(g.inputs[0].shape, 8);
    const want = runReferenceOutputs(g, w, { input: x })[g.outputs[0].name];
    for (let i = 0; i < 10; i++) {
      const got = two.infer(x);
      assert.ok(maxAbsDiff(got, want) <= TOL * maxAbs(want));
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(one.infer(x).buffer));
    }
  } finally {
    (two as unknown as { dispose(): void }).dispose();
  }
});

Deno.test("wasm conv with a fused residual on 2 threads: each part adds its own channels", async () => {
  // A part cut at output channel c reads the residual from channel c too (a part that kept
  // offset 0 added channel 0's residual to channel c's sums).
  const b = new GraphBuilder("residual_split", [1, 16, 16, 16]);
  const y = b.batchNorm(b.conv2d(b.input, { out: 16, kernel: 3, padding: 1 }));
  const g = b.build(b.addTensors(b.input, y));
  const w = randomWeights(g, 3);
  const compiled = compile(g, w, { target: "wasm", wasm: { threads: 2 } });
  assert.equal(compiled.splitSteps, 1);
  assert.equal(compiled.plan.steps[0].spec.family, "conv");
  const m = await loadModule(compiled.source);
  try {
    const x = randomInput(g.inputs[0].shape, 8);
    const want = runReferenceOutputs(g, w, { input: x })[g.outputs[0].name];
    for (let i = 0; i < 10; i++) {
      assert.ok(maxAbsDiff(m.infer(x), want) <= TOL * maxAbs(want), `inference ${i}`);
    }
  } finally {
    (m as unknown as { dispose(): void }).dispose();
  }
});
