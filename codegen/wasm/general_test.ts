/**
 * The WebAssembly general kernels (codegen/wasm/general.ts) on edge shapes,
 * against the reference executor with NaN-prefilled outputs
 * (codegen/_testing.ts): runs shorter than a vector (1-3 elements), runs not
 * a multiple of four (the overlapping last vector), every unary kind, PReLU
 * with per-channel and shared slopes, every broadcast pattern of the
 * binaries (per-channel, scalar, trailing, leading, either operand the
 * smaller), linear on row counts and output counts off the 4 x 8 block.
 * Each case is compiled with `generalOnly` (every op a general step) and
 * checks that no step fell back to a TypeScript kernel.
 */

import assert from "node:assert/strict";
import { GraphBuilder } from "../../lib/ir/builder.ts";
import type { Graph } from "../../lib/ir/graph.ts";
import { differential } from "../_testing.ts";

async function wasmGeneral(graph: Graph, seed = 3): Promise<void> {
  const { compiled } = await differential(graph, seed, { target: "wasm", generalOnly: true });
  assert.deepEqual(compiled.fallbacks, [], "every step runs a WebAssembly kernel");
  // (a view written to a graph output is a plane copy)
  const other = compiled.plan.steps.filter((s) => !["general", "copy"].includes(s.spec.family));
  assert.deepEqual(other, []);
}

/** 1, 3 elements (scalar lanes), 4 (one vector), 7 and 105 (an overlapping last vector). */
const SHAPES = [[1, 1, 1, 1], [1, 3, 1, 1], [1, 1, 2, 2], [1, 7, 1, 1], [1, 3, 5, 7]];

const UNARY = [
  "exp",
  "erf",
  "sigmoid",
  "tanh",
  "silu",
  "relu",
  "relu6",
  "hardswish",
  "neg",
  "abs",
] as const;

for (const kind of UNARY) {
  Deno.test(`wasm general ${kind} on 1 to 105 elements matches the reference`, async () => {
    for (const shape of SHAPES) {
      const b = new GraphBuilder(kind, shape);
      // Through a random scale and shift, so the inputs are not only in [-1, 1].
      const y = b.unary(kind, b.affine(b.input, 1));
      await wasmGeneral(b.build(y));
    }
  });
}

Deno.test("wasm general elu, leaky_relu, clip, hardsigmoid, sqrt, reciprocal, log, softplus", async () => {
  for (const shape of SHAPES) {
    const b = new GraphBuilder("attrs", shape);
    const e = b.elu(b.input, 0.7);
    const l = b.leakyRelu(b.input, 0.2);
    const c = b.clip(b.input, -0.25, 0.5);
    const h = b.hardsigmoid(b.input, undefined, 0.3, 0.4);
    // sqrt, reciprocal and log of e^x: defined everywhere
    const one = b.unary("exp", b.input);
    const s = b.unary("sqrt", one);
    const r = b.unary("reciprocal", one);
    const log = b.unary("log", one);
    const sp = b.unary("softplus", b.affine(b.input, 1));
    await wasmGeneral(b.build({ e, l, c, h, s, r, log, sp }));
  }
});

Deno.test("wasm general prelu: a slope per channel and one shared, rank 2 to 4", async () => {
  for (const shape of [[1, 5, 3, 3], [1, 3, 1, 2], [1, 4, 7], [1, 7], [1, 2, 1, 1]]) {
    const b = new GraphBuilder("prelu", shape);
    await wasmGeneral(b.build({ per: b.prelu(b.input, "per"), one: b.prelu(b.input, "one", 1) }));
  }
});

// [x shape, r shape]: same shape, per-channel, scalar, trailing, spatial-only, rank-1,
// x the smaller one, both broadcast (an outer product).
const BROADCASTS: [number[], number[]][] = [
  [[1, 3, 5, 7], [1, 3, 5, 7]],
  [[1, 4, 5, 6], [1, 4, 1, 1]],
  [[1, 4, 5, 6], [1, 1, 1, 1]],
  [[1, 4, 5, 6], [1, 4, 5, 1]],
  [[1, 4, 5, 6], [1, 1, 5, 6]],
  [[1, 4, 5, 7], [7]],
  [[1, 3, 1, 1], [1, 3, 2, 5]],
  [[1, 3, 1], [1, 1, 6]],
  [[1, 2, 1, 1], [1, 2, 1, 1]],
];

for (const kind of ["add", "sub", "mul", "div", "max", "min", "pow"] as const) {
  Deno.test(`wasm general ${kind} with every broadcast pattern matches the reference`, async () => {
    for (const [xs, rs] of BROADCASTS) {
      const b = new GraphBuilder(kind, xs);
      // The second operand is computed from a second graph input of its own shape.
      const r = b.addInput("r", rs);
      // div: a divisor away from 0 (e^r); pow: a positive base (e^x, any exponent).
      const rr = kind === "div" ? b.unary("exp", r) : r;
      const x = kind === "pow" ? b.unary("exp", b.input) : b.input;
      await wasmGeneral(b.build(b.binary(kind, x, rr)));
    }
  });
}

Deno.test("wasm general linear: rows and outputs off the 4 x 8 block, with and without bias", async () => {
  for (const [rows, nin, nout] of [[1, 7, 5], [3, 5, 8], [5, 9, 13], [9, 4, 17], [4, 3, 3]]) {
    for (const bias of [true, false]) {
      const b = new GraphBuilder("linear", [1, rows * nin]);
      const x = b.reshape(b.input, [rows, nin]);
      await wasmGeneral(b.build(b.linear(x, { out: nout, bias })));
    }
  }
});

// [input shape, pads (begins, then ends)]: spatial (TF SAME, asymmetric), channels only,
// every axis, a row shorter than a vector, rank 3.
const PADS: [number[], number[]][] = [
  [[1, 3, 5, 7], [0, 0, 1, 2, 0, 0, 2, 1]],
  [[1, 3, 5, 7], [0, 0, 0, 0, 0, 4, 0, 0]],
  [[1, 2, 3, 4], [0, 1, 2, 1, 0, 1, 1, 2]],
  [[1, 2, 3, 2], [0, 0, 1, 1, 0, 0, 1, 1]],
  [[1, 4, 6], [0, 0, 3, 0, 2, 5]],
  [[1, 5, 1, 9], [0, 0, 0, 0, 0, 0, 0, 0]],
];

for (const mode of ["constant", "edge", "reflect"] as const) {
  Deno.test(`wasm general pad ${mode}: spatial, channel, every axis, short rows, rank 3`, async () => {
    for (const [shape, pads] of PADS) {
      // reflect needs pads below each axis' size
      if (mode === "reflect" && pads.some((p, i) => p > shape[i % shape.length] - 1)) continue;
      const b = new GraphBuilder("pad", shape);
      await wasmGeneral(b.build(b.pad(b.input, pads, mode, mode === "constant" ? -1.5 : 0)));
    }
  });
}

Deno.test("wasm general transpose: NCHW <-> NHWC, swaps, rank 3, odd sizes", async () => {
  const cases: [number[], number[]][] = [
    [[1, 3, 5, 7], [0, 2, 3, 1]],
    [[1, 5, 7, 3], [0, 3, 1, 2]],
    [[1, 3, 5, 7], [0, 2, 1, 3]],
    [[1, 3, 5, 7], [0, 1, 3, 2]],
    [[1, 6, 9], [0, 2, 1]],
    [[1, 2, 2, 2], [0, 3, 2, 1]],
  ];
  for (const [shape, perm] of cases) {
    const b = new GraphBuilder("transpose", shape);
    await wasmGeneral(b.build(b.transpose(b.input, perm)));
  }
});

Deno.test("wasm general conv_transpose2d (kernel = stride): 2x2, 3x3, 1x2, rows under a vector", async () => {
  // [input shape, out channels, kernel = stride, bias]
  const cases: [number[], number, [number, number], boolean][] = [
    [[1, 5, 3, 6], 3, [2, 2], true],
    [[1, 4, 2, 3], 2, [2, 2], false],
    [[1, 3, 3, 5], 4, [3, 3], true],
    [[1, 2, 4, 9], 1, [1, 2], true],
  ];
  for (const [shape, out, k, bias] of cases) {
    const b = new GraphBuilder("deconv", shape);
    const y = b.convTranspose2d(b.input, { out, kernel: k, stride: k, bias });
    await wasmGeneral(b.build(y));
  }
  // Overlapping windows keep the TypeScript kernel, named with the reason.
  const b = new GraphBuilder("deconv", [1, 2, 3, 3]);
  const g = b.build(b.convTranspose2d(b.input, { out: 2, kernel: 3, stride: 2 }, "up"));
  const { compiled } = await differential(g, 3, { target: "wasm", generalOnly: true });
  assert.deepEqual(compiled.fallbacks, [{
    layers: ["up"],
    family: "general",
    reason: "overlapping windows (kernel != stride)",
  }]);
});

Deno.test("wasm general softmax: last axis of 3 to 13, middle and channel axes with odd planes", async () => {
  // [shape, axis]: inner 1 with n < 4, n = 4, n off a vector; inner 21 (five vectors and a
  // lane), inner 4, inner 3 (lanes only).
  const cases: [number[], number][] = [
    [[1, 2, 3], 2],
    [[1, 3, 4], -1],
    [[1, 2, 13], 2],
    [[1, 2, 5, 7], 3],
    [[1, 5, 3, 7], 1],
    [[1, 3, 2, 2], 1],
    [[1, 2, 4, 3], 2],
  ];
  for (const [shape, axis] of cases) {
    const b = new GraphBuilder("softmax", shape);
    // A random scale and shift per channel: logits beyond [-1, 1].
    await wasmGeneral(b.build(b.softmax(b.affine(b.input, shape[1]), undefined, axis)));
  }
});

Deno.test("wasm general copies: split, slice with a step, concat on any axis, shuffle, reshape, const", async () => {
  const b = new GraphBuilder("copies", [1, 6, 5, 7]);
  const x = b.affine(b.input, 6);
  const parts = {
    split: b.split(x, 1, 3, "split"),
    lastAxis: b.split(x, 2, 5, "splitw", 3),
    slice: b.slice(x, 2, 1, 5, 2, "slice"),
    concatH: b.concat([x, b.slice(x, 2, 0, 3, 1)], "concath", 2),
    concatW: b.concat([b.slice(x, 3, 0, 3, 1), x], "concatw", 3),
    shuffle: b.channelShuffle(x, 3, "shuffle"),
    reshape: b.reshape(x, [1, 30, 7], "reshape"),
    flat: b.flatten(x, "flat"),
    konst: b.addTensors(x, b.constant([1, 6, 5, 7], "konst")),
  };
  await wasmGeneral(b.build(parts));
});

Deno.test("wasm general resize nearest: integer upscales (rows under and off a vector), other scales, modes", async () => {
  // [input shape, output shape, coordinate transformation, nearest mode]
  const cases: [number[], number[], string, string][] = [
    [[1, 3, 2, 3], [1, 3, 4, 6], "asymmetric", "floor"],
    [[1, 2, 5, 9], [1, 2, 10, 18], "asymmetric", "floor"],
    [[1, 2, 3, 5], [1, 2, 9, 15], "asymmetric", "floor"],
    [[1, 2, 4, 4], [1, 2, 8, 12], "half_pixel", "round_prefer_floor"],
    [[1, 2, 5, 7], [1, 2, 8, 11], "asymmetric", "floor"],
    [[1, 2, 5, 7], [1, 2, 8, 11], "half_pixel", "round_prefer_ceil"],
    [[1, 2, 8, 9], [1, 2, 3, 5], "align_corners", "round_prefer_floor"],
    [[1, 3, 4, 4], [1, 6, 4, 4], "asymmetric", "floor"],
  ];
  for (const [shape, out, coordinateTransformation, nearestMode] of cases) {
    const b = new GraphBuilder("resize", shape);
    const y = b.resize(b.input, out, {
      coordinateTransformation: coordinateTransformation as "asymmetric",
      nearestMode: nearestMode as "floor",
    });
    await wasmGeneral(b.build(y));
  }
});

Deno.test("wasm softmax family: channels at 1 to 21 positions, the first half of a tensor's channels", async () => {
  for (const [c, h, w] of [[5, 1, 1], [3, 1, 3], [7, 2, 2], [6, 3, 7]]) {
    const b = new GraphBuilder("softmax", [1, 2 * c, h, w]);
    const x = b.relu(b.conv2d(b.input, { out: 2 * c, kernel: 1, bias: true }));
    // Softmax of the first half of the channels: the family reads a slice of x.
    const y = b.softmax(b.split(x, 0, c));
    const { compiled } = await differential(b.build({ y, x }), 4, { target: "wasm" });
    assert.deepEqual(compiled.fallbacks, []);
    assert.ok(compiled.plan.steps.some((s) => s.spec.family === "softmax"));
  }
});

Deno.test("wasm general matmul: batch broadcast, n under and off a vector, rank-1 operands", async () => {
  const cases: [number[], number[]][] = [
    [[1, 2, 5, 3], [1, 2, 3, 7]],
    [[1, 3, 4, 6], [1, 1, 6, 2]],
    [[1, 4, 9], [1, 9, 8]],
    [[1, 3, 5], [5]],
    [[1, 2, 1, 4], [1, 2, 4, 13]],
  ];
  for (const [as, bs] of cases) {
    const b = new GraphBuilder("matmul", as);
    const r = b.addInput("r", bs);
    await wasmGeneral(b.build(b.matmul(b.input, r)));
  }
});

Deno.test("wasm general reduce: mean, sum, max over the last axis, middle axes, all axes", async () => {
  for (const op of ["mean", "sum", "max"] as const) {
    for (
      const [shape, axes] of [
        [[1, 3, 13], [2]],
        [[1, 4, 3], [-1]],
        [[1, 3, 5, 7], [1]],
        [[1, 3, 5, 7], [2, 3]],
        [[1, 2, 4, 4], [1, 2, 3]],
      ] as [number[], number[]][]
    ) {
      const b = new GraphBuilder("reduce", shape);
      await wasmGeneral(b.build(b.reduce(b.input, op, axes)));
    }
  }
});

Deno.test("wasm general layer_norm and instance_norm: counts under, on and off a vector", async () => {
  for (const shape of [[1, 3, 2], [1, 2, 4], [1, 3, 7], [1, 4, 25]]) {
    const b = new GraphBuilder("ln", shape);
    // A random scale and shift per channel first: rows of different means and spreads.
    await wasmGeneral(b.build(b.layerNorm(b.affine(b.input, shape[1]))));
  }
  for (const shape of [[1, 3, 1, 3], [1, 2, 2, 2], [1, 3, 5, 7]]) {
    const b = new GraphBuilder("in", shape);
    await wasmGeneral(b.build(b.instanceNorm(b.affine(b.input, shape[1]))));
  }
  // LayerNorm over the last two axes.
  const b = new GraphBuilder("ln2", [1, 3, 5, 3]);
  await wasmGeneral(b.build(b.layerNorm(b.affine(b.input, 3), undefined, 2)));
});
