/**
 * The general kernel family against the reference executor: every op kind
 * compiled with `generalOnly` (no specialized family, no fusion, no views),
 * on edge shapes (odd sizes, stride 2, groups, asymmetric padding, ceil
 * mode, batch 2), rank-1/3/5 tensors, and graphs whose leading dimension is
 * not the batch. Outputs are NaN-prefilled (codegen/_testing.ts).
 */
import assert from "node:assert/strict";
import { GraphBuilder, type Tensor } from "../lib/ir/builder.ts";
import { OP_KINDS } from "../lib/ir/ops.ts";
import { differential } from "./_testing.ts";
import { GENERAL_KERNELS } from "./emit_general.ts";
import { generalOpGraph } from "../interop/_fixtures.ts";

const general = { generalOnly: true };

/** A graph touching every op kind of the zoo, at batch `n`. */
function everyKind(n: number): { graph: ReturnType<GraphBuilder["build"]>; kinds: Set<string> } {
  const b = new GraphBuilder(`every_${n}`, [n, 6, 9, 7]);
  const x = b.input;
  const conv = b.conv2d(x, { out: 8, kernel: 3, stride: 2, padding: [1, 0, 2, 1], bias: true });
  const grouped = b.conv2d(conv, { out: 8, kernel: [1, 3], groups: 2, dilation: [1, 2] }, "grp");
  const dw = b.conv2d(grouped, { out: 8, kernel: 3, groups: 8, padding: 1 }, "dw");
  const bn = b.add("batch_norm", { channels: 8, eps: 1e-3 }, [dw], "bn");
  const acts: Tensor[] = [
    b.relu(bn, "relu"),
    b.relu6(bn, "relu6"),
    b.add("clip", { min: -0.25, max: 0.5 }, [bn], "clip"),
    b.add("hardswish", {}, [bn], "hswish"),
    b.add("hardsigmoid", { alpha: 0.2, beta: 0.5 }, [bn], "hsig"),
    b.add("sigmoid", {}, [bn], "sig"),
  ];
  const sum = b.addTensors(acts[0], acts[1], "sum");
  const se = b.mul(sum, b.globalAvgPool(acts[2], "se_pool"), "se");
  const cat = b.concat([se, acts[3], acts[4], acts[5]], "cat");
  const shuffled = b.channelShuffle(cat, 4, "shuffle");
  const half = b.split(shuffled, 8, 16, "half");
  const mp = b.maxPool(half, { kernel: 2, stride: 2, ceilMode: true }, "mp");
  const ap = b.avgPool(half, { kernel: 2, stride: 2, padding: 1, countIncludePad: false }, "ap");
  const ap2 = b.avgPool(half, { kernel: 3, stride: 1, padding: 1 }, "ap2");
  const gap = b.globalAvgPool(b.concat([mp, ap], "pools"), "gap");
  const fc = b.linear(b.flatten(gap, "flat"), { out: 5, bias: true }, "fc");
  const drop = b.add("dropout", { p: 0.2 }, [fc], "drop");
  const graph = b.build({ probs: b.softmax(drop, "softmax"), map: ap2 });
  return { graph, kinds: new Set(graph.nodes.map((node) => node.kind)) };
}

Deno.test("every op kind has a general kernel (the table is keyed by OpKind)", () => {
  assert.deepEqual(Object.keys(GENERAL_KERNELS).sort(), [...OP_KINDS].sort());
});

Deno.test("the general family alone computes every op kind like the reference executor", async () => {
  for (const n of [1, 2]) {
    const { graph, kinds } = everyKind(n);
    assert.equal(kinds.size, 20);
    const r = await differential(graph, 3 + n, general);
    assert.ok(r.compiled.plan.steps.every((s) => s.spec.family === "general"));
    assert.equal(r.compiled.plan.batch, n);
  }
});

Deno.test("the specialized plan of the same graph agrees and names no general layer", async () => {
  const { graph } = everyKind(2);
  const r = await differential(graph, 9);
  assert.deepEqual(r.compiled.generalLayers, []);
});

Deno.test("rank-1, rank-3 and rank-5 tensors compile (general where no family fits)", async () => {
  const b1 = new GraphBuilder("rank1", [7]);
  const g1 = b1.build(b1.add("hardswish", {}, [b1.relu6(b1.input, "a")], "b"));
  const r1 = await differential(g1, 1);
  assert.deepEqual(r1.compiled.generalLayers, ["a", "b"]);

  const b3 = new GraphBuilder("rank3", [2, 5, 3]);
  const s3 = b3.add("sigmoid", {}, [b3.input], "s");
  const g3 = b3.build({ sum: b3.addTensors(s3, b3.input, "sum"), s: s3 });
  await differential(g3, 2);
  await differential(g3, 2, general);

  const b5 = new GraphBuilder("rank5", [1, 3, 2, 3, 5]);
  const r5 = b5.relu(b5.input, "r");
  const g5 = b5.build({ sm: b5.softmax(r5, "sm"), sum: b5.addTensors(r5, b5.input, "sum") });
  await differential(g5, 3);
  await differential(g5, 3, general);
});

function elementwise() {
  const b = new GraphBuilder("elementwise", [2, 3, 4, 5]);
  const other = b.addInput("other", [3, 1, 5]);
  const x = b.input;
  const pos = b.unary("exp", x, "exp");
  const outputs: Record<string, Tensor> = {
    log: b.unary("log", pos, "log"),
    sqrt: b.unary("sqrt", pos, "sqrt"),
    tanh: b.unary("tanh", x, "tanh"),
    recip: b.unary("reciprocal", pos, "recip"),
    neg: b.unary("neg", x, "neg"),
    abs: b.unary("abs", x, "abs"),
    erf: b.unary("erf", b.binary("mul", x, pos, "spread"), "erf"),
    softplus: b.unary("softplus", b.binary("mul", pos, pos, "big"), "softplus"),
    silu: b.unary("silu", x, "silu"),
    elu: b.elu(x, 0.7, "elu"),
    leaky: b.leakyRelu(x, 0.1, "leaky"),
    sub: b.binary("sub", x, other, "sub"),
    div: b.binary("div", x, b.unary("exp", other, "exp_other"), "div"),
    pow: b.binary("pow", pos, other, "pow"),
    max: b.binary("max", other, x, "max"),
    min: b.binary("min", x, other, "min"),
    add: b.addTensors(other, x, "add"),
    mul: b.binary("mul", x, other, "mul"),
  };
  return b.build(outputs);
}

Deno.test("unary and broadcasting binary kinds: rank 4 with a rank-3 second input, batch 2", async () => {
  const g = elementwise();
  const r = await differential(g, 11);
  // The batch does not lead every tensor (the second input is rank 3): whole tensors at once.
  assert.equal(r.compiled.plan.batch, 1);
  assert.ok(r.compiled.generalLayers.includes("pow"));
  await differential(g, 12, general);
});

function shapeKinds() {
  const b = new GraphBuilder("shapes", [1, 2, 3, 4, 5]);
  const x = b.input;
  const t = b.transpose(x, [0, 3, 1, 4, 2], "t"); // [1, 4, 2, 5, 3]
  const r = b.reshape(t, [1, 8, 15], "r");
  const back = b.slice(r, 2, 13, -1, -3, "back"); // 13, 10, 7, 4, 1
  const picked = b.gather(r, 1, [7, -1, 0, 3], false, "picked"); // [1, 4, 15]
  const row = b.gather(r, 2, [2], true, "row"); // [1, 8]
  const cat = b.concat([back, b.slice(picked, 2, 0, 5, 1, "head")], "cat", 1); // [1, 12, 5]
  const parts = b.concat([r, r], "parts", 2); // [1, 8, 30]
  const mid = b.split(parts, 7, 16, "mid", 2); // [1, 8, 16]
  return b.build({
    sm: b.softmax(mid, "sm", -1),
    sm1: b.softmax(t, "sm1", 3),
    flat: b.flatten(t, "flat", 3),
    cat,
    row,
    picked,
  });
}

Deno.test("shape kinds on rank 5 and rank 3: transpose, reshape, slice, gather, any-axis concat/split/softmax", async () => {
  const g = shapeKinds();
  await differential(g, 21);
  await differential(g, 22, general);
});

Deno.test("ops across the batch axis run on whole tensors; batch-2 ops off axis 0 run per sample", async () => {
  const b = new GraphBuilder("axis0", [2, 3, 4]);
  const t = b.transpose(b.input, [1, 0, 2], "t"); // [3, 2, 4]
  const cat = b.concat([b.input, b.relu(b.input, "r")], "cat", 0); // [4, 3, 4]
  const g = b.build({ t: b.unary("tanh", t, "tt"), cat, sm: b.softmax(cat, "sm", 0) });
  const r = await differential(g, 31);
  assert.equal(r.compiled.plan.batch, 1);

  const b2 = new GraphBuilder("per_sample", [2, 3, 4]);
  const t2 = b2.transpose(b2.input, [0, 2, 1], "t"); // [2, 4, 3]
  const g2 = b2.build({ t: t2, sm: b2.softmax(t2, "sm", 2), s: b2.slice(t2, 1, 1, 4, 2, "s") });
  const r2 = await differential(g2, 32);
  assert.equal(r2.compiled.plan.batch, 2);
});

/** prelu, affine, const, pad, global_max_pool and reduce on rank 3 to 5, broadcasting a const. */
function parameterized(n: number) {
  const b = new GraphBuilder(`params_${n}`, [n, 4, 5, 3]);
  const x = b.input;
  const k = b.constant([1, 4, 1, 3], "k");
  const rank5 = b.reshape(x, [n, 2, 2, 5, 3], "rank5");
  const rank3 = b.reshape(x, [n, 4, 15], "rank3");
  return b.build({
    prelu: b.prelu(x, "prelu"),
    shared: b.prelu(rank3, "shared", 1),
    affine: b.affine(rank5, 2, "affine"),
    scalar: b.affine(x, 1, "scalar"),
    fused: b.relu6(b.affine(x, 4, "per_channel"), "fused"),
    sum: b.binary("add", x, k, "sum"),
    padc: b.pad(x, [0, 1, 2, 0, 0, 0, 1, 3], "constant", -0.5, "padc"),
    padr: b.pad(rank3, [0, 0, 2, 0, 1, 3], "reflect", 0, "padr"),
    pade: b.pad(rank5, [0, 1, 0, 2, 1, 0, 0, 1, 3, 2], "edge", 0, "pade"),
    gmax: b.globalMaxPool(x, "gmax"),
    gmax5: b.globalMaxPool(rank5, "gmax5"),
    mean: b.reduce(x, "mean", [1, -1], true, "mean"),
    rsum: b.reduce(rank5, "sum", [2, 4], false, "rsum"),
    rmax: b.reduce(rank3, "max", [2], false, "rmax"),
  });
}

Deno.test("prelu, affine, const, pad, global_max_pool and reduce at batch 1 and 2", async () => {
  // A per-channel affine map takes the affine family and its activation.
  const fused = await differential(parameterized(1), 49);
  const step = fused.compiled.plan.steps.find((s) => s.layers.includes("per_channel"))!;
  assert.deepEqual([step.spec.family, step.layers], ["affine", ["per_channel", "fused"]]);
  for (const n of [1, 2]) {
    await differential(parameterized(n), 50 + n);
    await differential(parameterized(n), 60 + n, general);
  }
});

Deno.test("resize, matmul, conv_transpose2d, layer_norm and instance_norm (the interop fixture of the general kinds)", async () => {
  for (const n of [1, 2]) await differential(generalOpGraph(n), 70 + n, general);
});

Deno.test("the graphs of this file cover every op kind of the catalog", () => {
  const kinds = new Set(
    [everyKind(1).graph, elementwise(), shapeKinds(), parameterized(1), generalOpGraph(1)].flatMap((
      g,
    ) => g.nodes.map((n) => n.kind)),
  );
  assert.deepEqual(OP_KINDS.filter((k) => !kinds.has(k)), []);
});

Deno.test("resize tables take float32 coordinates and ties as the reference (and onnxruntime) do", async () => {
  // 5 -> 3 half_pixel: 1.5 / 0.6f - 0.5 is 1.9999998 in float32, so floor reads index 1, not 2.
  const cases = [
    [5, 3, "half_pixel", "floor"],
    [7, 1, "half_pixel", "floor"],
    [7, 2, "asymmetric", "round_prefer_ceil"],
    [7, 4, "asymmetric", "round_prefer_ceil"],
    [7, 8, "asymmetric", "round_prefer_ceil"],
    [11, 13, "tf_half_pixel_for_nn", "round_prefer_floor"],
  ] as const;
  for (const [n, m, coordinateTransformation, nearestMode] of cases) {
    const b = new GraphBuilder("tie", [1, 2, 3, n]);
    const g = b.build(
      b.resize(b.input, [1, 2, 3, m], { coordinateTransformation, nearestMode }, "r"),
    );
    await differential(g, 80 + n + m, general);
  }
});

Deno.test("resize with the file's scales compiles like the reference", async () => {
  const b = new GraphBuilder("scales", [1, 2, 7, 5]);
  const o = {
    mode: "linear" as const,
    coordinateTransformation: "half_pixel" as const,
    scales: [1, 1, 0.5, 1.5],
  };
  await differential(b.build(b.resize(b.input, [1, 2, 3, 7], o, "r")), 90, general);
});

/** matmul, conv_transpose2d, layer_norm, instance_norm and resize (every mode), batch `n`. */
function laterKinds(n: number) {
  const b = new GraphBuilder(`later_${n}`, [n, 4, 5, 6]);
  const x = b.input;
  const right = b.addInput("right", [4, 6, 3]);
  const vec = b.addInput("vec", [6]);
  const ct = (outputPadding: [number, number], name: string) =>
    b.add(
      "conv_transpose2d",
      {
        inChannels: 4,
        outChannels: 6,
        kernel: [3, 2],
        stride: [2, 3],
        padding: [1, 0, 2, 1],
        outputPadding,
        dilation: [1, 2],
        groups: 2,
        bias: true,
      },
      [x],
      name,
    );
  const resize = (
    mode: "nearest" | "linear",
    coordinateTransformation:
      | "half_pixel"
      | "asymmetric"
      | "align_corners"
      | "pytorch_half_pixel"
      | "tf_half_pixel_for_nn",
    nearestMode: "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil",
    hw: [number, number],
    name: string,
  ) =>
    b.add("resize", { mode, coordinateTransformation, nearestMode, outShape: [n, 4, ...hw] }, [
      x,
    ], name);
  return b.build({
    mm: b.add("matmul", {}, [x, right], "mm"),
    mv: b.add("matmul", {}, [x, vec], "mv"),
    vm: b.add("matmul", {}, [vec, b.transpose(x, [0, 1, 3, 2], "xt")], "vm"),
    ct: ct([1, 0], "ct"),
    ln: b.add("layer_norm", { axis: 2, eps: 1e-5, channels: 30 }, [x], "ln"),
    inorm: b.add("instance_norm", { channels: 4, eps: 1e-3 }, [x], "inorm"),
    up: resize("nearest", "asymmetric", "floor", [10, 12], "up"),
    bilinear: resize("linear", "half_pixel", "round_prefer_floor", [7, 9], "bilinear"),
    corners: resize("linear", "align_corners", "round_prefer_floor", [3, 13], "corners"),
    torch: resize("linear", "pytorch_half_pixel", "round_prefer_floor", [1, 4], "torch"),
    near: resize("nearest", "half_pixel", "round_prefer_floor", [8, 4], "near"),
    tf: resize("nearest", "tf_half_pixel_for_nn", "round_prefer_ceil", [3, 9], "tf"),
    ceil: resize("nearest", "align_corners", "ceil", [9, 5], "ceil"),
  });
}

Deno.test("matmul with 1-D operands, grouped dilated conv_transpose2d, norms and every resize mode, batch 1 and 2", async () => {
  for (const n of [1, 2]) {
    await differential(laterKinds(n), 90 + n);
    await differential(laterKinds(n), 95 + n, general);
  }
});
