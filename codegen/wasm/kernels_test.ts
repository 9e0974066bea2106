/**
 * Every WebAssembly kernel family on edge shapes, against the reference
 * executor with the output pre-filled with NaN (codegen/_testing.ts): planes
 * not a multiple of the pixel block or of four, channels not a multiple of
 * the register block, stride 2, asymmetric padding, groups, 5x5 windows,
 * planes too narrow for a vector, fused residual adds. Each case also checks
 * that the step ran a WebAssembly kernel, not the TypeScript fallback.
 */

import assert from "node:assert/strict";
import { GraphBuilder, type Tensor } from "../../lib/ir/builder.ts";
import type { Graph } from "../../lib/ir/graph.ts";
import type { Pads } from "../../lib/ir/ops.ts";
import { differential } from "../_testing.ts";
import { compile, loadModule } from "../compile.ts";
import { kernelName } from "../spec.ts";
import { randomWeights } from "../../lib/runtime/weights.ts";
import { PW_BLOCKINGS } from "./pointwise.ts";
import { tuneWasm } from "./tune.ts";
import { emitWasmModule } from "./module.ts";
import { planKernels } from "../plan.ts";
import { planMemory } from "../memory.ts";
import type { Family } from "../spec.ts";

async function wasm(graph: Graph, families: Family[]): Promise<void> {
  const { compiled } = await differential(graph, 3, { target: "wasm" });
  assert.deepEqual(compiled.fallbacks, [], "every step runs a WebAssembly kernel");
  assert.deepEqual(compiled.plan.steps.map((s) => s.spec.family), families);
}

// pwconv: 3 x 12 blocks (planes >= 12 pixels), 6 x 8 (8-11), 8 x 4 (4-7) or
// 32 channels per pixel (1-3 pixels, squeeze-excite), an
// overlapping last block, output channels off the block, cache tiles (17 x 19
// pixels of 64 channels is 3 tiles and a partial one), groups, residual.
const PW: { cin: number; cout: number; groups: number; h: number; w: number }[] = [
  { cin: 5, cout: 7, groups: 1, h: 5, w: 3 },
  { cin: 9, cout: 13, groups: 1, h: 2, w: 3 },
  { cin: 64, cout: 6, groups: 1, h: 17, w: 19 },
  { cin: 12, cout: 18, groups: 3, h: 7, w: 7 },
  { cin: 4, cout: 4, groups: 1, h: 1, w: 4 },
  { cin: 40, cout: 21, groups: 1, h: 1, w: 1 }, // squeeze-excite: a matrix-vector product
  { cin: 6, cout: 36, groups: 2, h: 1, w: 3 },
  // 49 pixels: the last vector of 10 blocks of 3 outputs runs 4 blocks at a time (2 groups,
  // then 2 blocks), the 31st output's block alone
  { cin: 9, cout: 31, groups: 1, h: 7, w: 7 },
  // 1-3 pixels: two full blocks of 32 outputs and one of 6, 37 inputs (4x unroll, 1 left)
  { cin: 37, cout: 70, groups: 1, h: 1, w: 2 },
];
for (const c of PW) {
  Deno.test(`wasm pwconv ${JSON.stringify(c)} matches the reference`, async () => {
    const b = new GraphBuilder("pw", [1, c.cin, c.h, c.w]);
    const y = b.conv2d(b.input, { out: c.cout, kernel: 1, groups: c.groups, bias: true });
    await wasm(b.build(b.relu6(b.batchNorm(y))), ["pwconv"]);
  });
}

Deno.test("wasm pwconv: a fused residual add, hardswish before and relu after it", async () => {
  // 6 x 5 pixels (register blocks) and 1 x 3 (the matrix-vector kernel, 35 outputs)
  for (const [c, h, w] of [[7, 6, 5], [35, 1, 3]]) {
    const b = new GraphBuilder("res", [1, c, h, w]);
    const y = b.hardswish(b.batchNorm(b.conv2d(b.input, { out: c, kernel: 1 })));
    await wasm(b.build(b.relu(b.addTensors(b.input, y))), ["pwconv"]);
  }
});

// dwconv: stride 1 and 2 with odd sizes, asymmetric padding, 5x5 (weights
// splatted from memory), planes too narrow for a vector, vertical stride only.
const DW: { c: number; h: number; w: number; k: number; s: number; p: Pads }[] = [
  { c: 3, h: 7, w: 9, k: 3, s: 2, p: [1, 1, 1, 1] },
  { c: 4, h: 8, w: 13, k: 3, s: 1, p: [1, 1, 1, 1] },
  { c: 5, h: 11, w: 19, k: 5, s: 2, p: [2, 2, 2, 2] },
  { c: 2, h: 6, w: 11, k: 3, s: 2, p: [0, 1, 1, 0] },
  { c: 3, h: 3, w: 3, k: 3, s: 1, p: [1, 1, 1, 1] },
  { c: 2, h: 5, w: 14, k: 5, s: 1, p: [2, 2, 2, 2] },
];
for (const c of DW) {
  Deno.test(`wasm dwconv ${JSON.stringify(c)} matches the reference`, async () => {
    const b = new GraphBuilder("dw", [1, c.c, c.h, c.w]);
    const y = b.conv2d(b.input, {
      out: c.c,
      kernel: c.k,
      stride: c.s,
      padding: c.p,
      groups: c.c,
    });
    await wasm(b.build(b.relu(b.batchNorm(y))), ["dwconv"]);
  });
}

// conv: the stem (3 -> 10 channels, off the channel block, stride 2), a
// grouped 3x3, a 1x5 kernel, a stride-2 1x1 (not pointwise), a narrow input;
// conv_test.ts has the general conv kernel's edge shapes.
const CONV: {
  cin: number;
  cout: number;
  g: number;
  h: number;
  w: number;
  k: [number, number];
  s: number;
  p: Pads;
}[] = [
  { cin: 3, cout: 10, g: 1, h: 13, w: 15, k: [3, 3], s: 2, p: [1, 1, 1, 1] },
  { cin: 4, cout: 6, g: 2, h: 9, w: 10, k: [3, 3], s: 1, p: [1, 1, 1, 1] },
  { cin: 3, cout: 5, g: 1, h: 6, w: 12, k: [1, 5], s: 1, p: [0, 2, 0, 2] },
  { cin: 6, cout: 9, g: 1, h: 9, w: 17, k: [1, 1], s: 2, p: [0, 0, 0, 0] },
  { cin: 2, cout: 3, g: 1, h: 4, w: 3, k: [3, 3], s: 1, p: [0, 0, 0, 0] },
];
for (const c of CONV) {
  Deno.test(`wasm conv ${JSON.stringify(c)} matches the reference`, async () => {
    const b = new GraphBuilder("conv", [1, c.cin, c.h, c.w]);
    const y = b.conv2d(b.input, {
      out: c.cout,
      kernel: c.k,
      stride: c.s,
      padding: c.p,
      groups: c.g,
    });
    await wasm(b.build(b.relu(b.batchNorm(y))), ["conv"]);
  });
}

Deno.test("wasm pooling: max 3x3/2 ceil mode, average excluding and including padding", async () => {
  const pools = (b: GraphBuilder): Tensor => {
    const m = b.maxPool(b.input, { kernel: 3, stride: 2, padding: 1, ceilMode: true });
    const a = b.avgPool(m, { kernel: 3, stride: 1, padding: 1, countIncludePad: false });
    return b.avgPool(a, { kernel: 2, stride: 2, padding: 1, countIncludePad: true });
  };
  const b = new GraphBuilder("pool", [1, 3, 17, 22]);
  await wasm(b.build(pools(b)), ["maxpool", "avgpool", "avgpool"]);
});

Deno.test("wasm element-wise: add, squeeze-excite scale, hardswish, unfolded BatchNorm, global pool, linear", async () => {
  const b = new GraphBuilder("ew", [1, 6, 5, 7]);
  const a = b.batchNorm(b.input); // no conv before it: an affine step
  const s = b.hardsigmoid(b.globalAvgPool(a));
  const m = b.mul(a, s);
  const t = b.hardswish(b.addTensors(m, b.input));
  const fc = b.linear(b.flatten(b.globalAvgPool(t)), { out: 21 });
  await wasm(b.build(fc), ["affine", "gavgpool", "act", "mul", "add", "gavgpool", "linear"]);
});

Deno.test("wasm module API: two inputs, four outputs (an input echoed, a flatten view), errors", async () => {
  const b = new GraphBuilder("multi", [1, 3, 6, 6]);
  const y = b.addInput("second", [1, 3, 6, 6]);
  const feat = b.relu(b.conv2d(b.input, { out: 4, kernel: 3, bias: true }, "feat"), "feat_act");
  const other = b.conv2d(y, { out: 4, kernel: 1, bias: true }, "other");
  const sum = b.addTensors(feat, other, "sum");
  const logits = b.linear(b.flatten(b.globalAvgPool(sum, "gap"), "flat"), { out: 5 }, "fc");
  const g = b.build({ logits, features: feat, echo: y, flat: b.flatten(sum, "flat_sum") });
  const { compiled } = await differential(g, 5, { target: "wasm" });
  const mod = await loadModule(compiled.source);
  assert.deepEqual(mod.inputNames, ["input", "second"]);
  assert.deepEqual(mod.outputNames, ["logits", "features", "echo", "flat"]);
  assert.deepEqual(mod.outputShapes, [[1, 5], [1, 4, 6, 6], [1, 3, 6, 6], [1, 144]]);
  const inputs = { input: new Float32Array(108).fill(0.5), second: new Float32Array(108) };
  assert.deepEqual([...mod.infer(inputs)], [...mod.inferAll(inputs).logits]);
  assert.throws(() => mod.infer(new Float32Array(108)), /record of 2 inputs keyed by name/);
  assert.throws(() => mod.infer({ input: inputs.input }), /Input "second" must be a Float32Array/);
});

Deno.test("wasm module: batch 2 runs each sample through the module's memory", async () => {
  const b = new GraphBuilder("batch", [2, 4, 5, 5]);
  const c = b.conv2d(b.input, { out: 4, kernel: 3, bias: true }, "c");
  const d = b.relu(b.conv2d(c, { out: 4, kernel: 1, bias: true }, "d"), "d_act");
  const r = await differential(b.build({ last: d, mid: c }), 7, { target: "wasm" });
  assert.equal(r.compiled.plan.batch, 2);
});

Deno.test("wasm pwconv: every tuning candidate blocking matches the reference", async () => {
  const b = new GraphBuilder("pwb", [1, 9, 5, 7]); // 35 pixels: a partial tail in every blocking
  const y = b.conv2d(b.input, { out: 11, kernel: 1, bias: true }, "pw");
  const g = b.build(
    b.relu(b.addTensors(b.hardswish(y), b.conv2d(b.input, { out: 11, kernel: 1 }))),
  );
  const probe = compile(g, randomWeights(g, 1), { target: "wasm" });
  const names = probe.plan.steps.map((s) => kernelName(s.spec));
  for (const blocking of PW_BLOCKINGS) {
    const choice = new Map(names.map((n) => [n, blocking]));
    const { compiled } = await differential(g, 4, { target: "wasm", wasm: { pwBlocking: choice } });
    assert.match(compiled.source, new RegExp(`_b${blocking.ob}x${4 * blocking.pv}\\(`));
  }
});

Deno.test("wasm --tune picks one candidate per pointwise and conv kernel and the result stays correct", async () => {
  const b = new GraphBuilder("tune", [1, 8, 6, 6]);
  const pw = b.relu(b.conv2d(b.input, { out: 12, kernel: 1, bias: true }, "pw"));
  const g = b.build(b.conv2d(pw, { out: 6, kernel: 3, padding: 1, bias: true }, "conv"));
  const t = await tuneWasm(g, randomWeights(g, 3), 2);
  assert.equal(t.pwBlocking.size, 1);
  assert.equal(t.convBlocking.size, 1);
  assert.ok(t.tunedMs <= t.defaultMs, `${t.tunedMs} > ${t.defaultMs}`);
  await differential(g, 3, {
    target: "wasm",
    wasm: { pwBlocking: t.pwBlocking, convBlocking: t.convBlocking },
  });
});

Deno.test("a step without a wasm kernel runs its TypeScript kernel on the module's memory, named in fallbacks", async () => {
  const b = new GraphBuilder("soft", [1, 5, 3, 4]);
  const y = b.relu(b.conv2d(b.input, { out: 6, kernel: 1, bias: true }, "pw"), "act");
  const g = b.build(
    b.conv2d(b.gather(y, 1, [0, 2, 5], false, "pick"), { out: 3, kernel: 3, padding: 1 }, "head"),
  );
  const { compiled } = await differential(g, 2, { target: "wasm" });
  assert.deepEqual(compiled.fallbacks, [{
    layers: ["pick"],
    family: "general",
    reason: "no WebAssembly gather kernel yet",
  }]);
});

Deno.test("a plan whose memory exceeds WebAssembly's 4 GiB is a clear codegen error", () => {
  const b = new GraphBuilder("huge", [1, 4, 6, 6]);
  const g = b.build(
    b.relu(b.conv2d(b.relu(b.conv2d(b.input, { out: 4, kernel: 1 })), { out: 4, kernel: 1 })),
  );
  const plan = planKernels(g, randomWeights(g, 1));
  assert.ok(plan.roots.length > 0);
  plan.roots[0].floats = 2 ** 30; // 4 GiB of floats for one buffer
  const info = { model: "huge", options: [], cost: { madds: 0, flops: 0, params: 0 } };
  assert.throws(
    () => emitWasmModule(plan, planMemory(plan), info),
    /Cannot generate the wasm target: .* bytes of memory, above WebAssembly's 4294967296 \(use --target ts\)/,
  );
});

Deno.test("wasm pwconv: a -0 bias and zero products give +0, as IEEE max(-0, 0) and the reference do", async () => {
  // relu(-0 + sum of (-1 * +0)) = relu(-0) = +0; without the ReLU the packed +0 bias gives +0 too.
  for (const relu of [true, false]) {
    const b = new GraphBuilder("negzero", [1, 3, 4, 5]);
    const y = b.conv2d(b.input, { out: 5, kernel: 1, bias: true }, "c");
    const g = b.build(relu ? b.relu(y) : y);
    const weights = new Map([
      ["c.weight", new Float32Array(15).fill(-1)],
      ["c.bias", new Float32Array(5).fill(-0)],
    ]);
    const m = await loadModule(compile(g, weights, { target: "wasm" }).source);
    const out = m.infer(new Float32Array(60));
    assert.ok(out.every((v) => Object.is(v, 0)), `relu=${relu}: ${[...out.slice(0, 4)]}`);
  }
});
