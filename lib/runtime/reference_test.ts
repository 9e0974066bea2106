import assert from "node:assert/strict";
import fc from "fast-check";
import { inferShapes } from "../analysis/shapes.ts";
import { GraphBuilder, type Tensor } from "../ir/builder.ts";
import type { Graph, Node } from "../ir/graph.ts";
import type { OpAttrs, Shape } from "../ir/ops.ts";
import { generalOpGraph, kindsMissing } from "../../interop/_fixtures.ts";
import { runReference, runReferenceAll, runReferenceOutputs } from "./reference.ts";
import { maxAbsDiff, randomInput } from "./tensor.ts";
import { randomWeights, type Weights } from "./weights.ts";

/** A graph of the ops `build` adds to an input of `shape`. */
function graphOf(shape: Shape, build: (b: GraphBuilder, x: Tensor) => Tensor): Graph {
  const b = new GraphBuilder("t", shape);
  return b.build(build(b, b.input));
}

/** Runs the ops `build` adds on `input` and returns the output as a plain array. */
function run(
  shape: Shape,
  input: number[],
  build: (b: GraphBuilder, x: Tensor) => Tensor,
  weights: Record<string, number[]> = {},
): number[] {
  const w: Weights = new Map(
    Object.entries(weights).map(([k, v]) => [k, new Float32Array(v)]),
  );
  return [...runReference(graphOf(shape, build), w, new Float32Array(input))];
}

/** `0, 1, ..., n - 1`: input values that identify their own position. */
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

function assertClose(actual: number[], expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length, "length");
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `max |diff| ${d} > ${tol}\nactual   ${actual}\nexpected ${expected}`);
}

// ---- conv2d ----

Deno.test("conv2d() is a correlation: a one-hot top-right tap shifts the input left and down", () => {
  // x[r, c] = 4r + c on 4x4; a 3x3 kernel with only w[0, 2] = 1 and no padding
  // gives y[oy, ox] = x[oy + 0, ox + 2] (PyTorch does not flip the kernel).
  const y = run(
    [1, 1, 4, 4],
    iota(16),
    (b, x) => b.conv2d(x, { out: 1, kernel: 3, padding: 0 }, "c"),
    { "c.weight": [0, 0, 1, 0, 0, 0, 0, 0, 0] },
  );
  assert.deepEqual(y, [2, 3, 6, 7]);
});

Deno.test("conv2d() 3x3 stride 2 padding 1 on 4x4 sums the in-bounds part of each window", () => {
  // x[r, c] = 4r + c, all-ones kernel; windows start at rows/cols -1 and 1.
  const y = run(
    [1, 1, 4, 4],
    iota(16),
    (b, x) => b.conv2d(x, { out: 1, kernel: 3, stride: 2, padding: 1, bias: true }, "c"),
    { "c.weight": Array(9).fill(1), "c.bias": [0.5] },
  );
  assert.deepEqual(y, [
    0 + 1 + 4 + 5 + 0.5, // rows 0-1, cols 0-1
    1 + 2 + 3 + 5 + 6 + 7 + 0.5, // rows 0-1, cols 1-3
    4 + 5 + 8 + 9 + 12 + 13 + 0.5, // rows 1-3, cols 0-1
    5 + 6 + 7 + 9 + 10 + 11 + 13 + 14 + 15 + 0.5, // rows 1-3, cols 1-3
  ]);
});

Deno.test("conv2d() weights taps by position: sum of (4ky + kx) * (3ky + kx) over a 3x3 window", () => {
  // x[r, c] = 4r + c, w[ky, kx] = 3ky + kx; y[0, 0] = sum (4ky + kx)(3ky + kx)
  // = 12 sum ky^2 + 7 sum ky kx + sum kx^2 = 12 * 15 + 7 * 9 + 15 = 258, and each
  // step right adds sum w = 36, each step down adds 4 * 36 = 144.
  const y = run(
    [1, 1, 4, 4],
    iota(16),
    (b, x) => b.conv2d(x, { out: 1, kernel: 3, padding: 0 }, "c"),
    { "c.weight": iota(9) },
  );
  assert.deepEqual(y, [258, 258 + 36, 258 + 144, 258 + 144 + 36]);
});

Deno.test("conv2d() dilation 2 reads every other pixel", () => {
  // x[r, c] = 5r + c on 5x5, 3x3 ones kernel dilated by 2 covers rows and cols
  // {0, 2, 4}: sum = 3 * 5 * (0 + 2 + 4) + 3 * (0 + 2 + 4) = 90 + 18.
  const y = run(
    [1, 1, 5, 5],
    iota(25),
    (b, x) => b.conv2d(x, { out: 1, kernel: 3, dilation: 2, padding: 0 }, "c"),
    { "c.weight": Array(9).fill(1) },
  );
  assert.deepEqual(y, [108]);
});

Deno.test("conv2d() asymmetric padding [top 1, left 0, bottom 0, right 1] pads only those sides", () => {
  const y = run(
    [1, 1, 2, 2],
    [1, 2, 3, 4],
    (b, x) => b.conv2d(x, { out: 1, kernel: 1, padding: [1, 0, 0, 1] }, "c"),
    { "c.weight": [10] },
  );
  // 3x3 output: a zero row on top, a zero column on the right.
  assert.deepEqual(y, [0, 0, 0, 10, 20, 0, 30, 40, 0]);
});

Deno.test("conv2d() sums over input channels and keeps output channels apart", () => {
  // 2 input channels (constant 1 and 2), 2 output channels, 1x1 kernels:
  // y0 = 1 * 1 + 2 * 10, y1 = 1 * 100 + 2 * 1000 + bias 7.
  const y = run(
    [1, 2, 1, 2],
    [1, 1, 2, 2],
    (b, x) => b.conv2d(x, { out: 2, kernel: 1, bias: true }, "c"),
    { "c.weight": [1, 10, 100, 1000], "c.bias": [0, 7] },
  );
  assert.deepEqual(y, [21, 21, 2107, 2107]);
});

/** Runs one node's weights sliced to output channels `[from, to)` and input channels of `x`. */
function sliceConvWeights(
  w: Weights,
  name: string,
  perOut: number,
  from: number,
  to: number,
  into: string,
): Weights {
  return new Map([
    [`${into}.weight`, w.get(`${name}.weight`)!.slice(from * perOut, to * perOut)],
    [`${into}.bias`, w.get(`${name}.bias`)!.slice(from, to)],
  ]);
}

Deno.test("conv2d() depthwise equals a separate single-channel conv per channel", () => {
  const shape = [1, 3, 7, 7];
  const dw = graphOf(
    shape,
    (b, x) => b.conv2d(x, { out: 3, kernel: 3, stride: 2, groups: 3, bias: true }, "dw"),
  );
  const w = randomWeights(dw, 11);
  const x = randomInput(shape, 12);
  const y = runReference(dw, w, x);
  const plane = 4 * 4; // (7 + 2 - 3) / 2 + 1 = 4
  for (let c = 0; c < 3; c++) {
    const single = graphOf(
      [1, 1, 7, 7],
      (b, t) => b.conv2d(t, { out: 1, kernel: 3, stride: 2, bias: true }, "c"),
    );
    const yc = runReference(
      single,
      sliceConvWeights(w, "dw", 9, c, c + 1, "c"),
      x.slice(c * 49, (c + 1) * 49),
    );
    assert.deepEqual(yc, y.slice(c * plane, (c + 1) * plane), `channel ${c}`);
  }
});

Deno.test("conv2d() with groups 2 equals concat of two convs on the channel halves", () => {
  const shape = [2, 4, 5, 6];
  const grouped = graphOf(
    shape,
    (b, x) => b.conv2d(x, { out: 6, kernel: 3, stride: [2, 1], groups: 2, bias: true }, "g"),
  );
  const w = randomWeights(grouped, 3);
  const halves = graphOf(shape, (b, x) => {
    const lo = b.conv2d(
      b.split(x, 0, 2, "s0"),
      { out: 3, kernel: 3, stride: [2, 1], bias: true },
      "c0",
    );
    const hi = b.conv2d(
      b.split(x, 2, 2, "s1"),
      { out: 3, kernel: 3, stride: [2, 1], bias: true },
      "c1",
    );
    return b.concat([lo, hi], "cat");
  });
  const perOut = 2 * 3 * 3; // weight [6, 4 / 2, 3, 3]
  const hw = new Map([
    ...sliceConvWeights(w, "g", perOut, 0, 3, "c0"),
    ...sliceConvWeights(w, "g", perOut, 3, 6, "c1"),
  ]);
  const x = randomInput(shape, 4);
  assert.deepEqual(runReference(halves, hw, x), runReference(grouped, w, x));
});

Deno.test("conv2d() on a batch of 2 equals running each item alone", () => {
  const build = (b: GraphBuilder, x: Tensor) =>
    b.conv2d(x, { out: 5, kernel: 3, stride: 2, padding: [0, 1, 2, 1], bias: true }, "c");
  const g2 = graphOf([2, 3, 7, 6], build);
  const g1 = graphOf([1, 3, 7, 6], build);
  const w = randomWeights(g2, 5);
  const x = randomInput([2, 3, 7, 6], 6);
  const y = runReference(g2, w, x);
  const half = y.length / 2;
  assert.deepEqual(runReference(g1, w, x.slice(0, 126)), y.slice(0, half));
  assert.deepEqual(runReference(g1, w, x.slice(126)), y.slice(half));
});

// ---- batch_norm and activations ----

Deno.test("batch_norm() applies (x - mean) / sqrt(var + eps) * gamma + beta per channel", () => {
  // eps 1 so the roots are exact: channel 0 sqrt(3 + 1) = 2, channel 1 sqrt(0 + 1) = 1.
  const y = run(
    [1, 2, 1, 2],
    [5, -1, 4, 2],
    (b, x) => b.batchNorm(x, "bn", 1),
    {
      "bn.weight": [2, 0.5],
      "bn.bias": [1, -1],
      "bn.running_mean": [1, 2],
      "bn.running_var": [3, 0],
    },
  );
  assert.deepEqual(y, [
    (5 - 1) / 2 * 2 + 1,
    (-1 - 1) / 2 * 2 + 1,
    (4 - 2) / 1 * 0.5 - 1,
    (2 - 2) / 1 * 0.5 - 1,
  ]);
});

Deno.test("relu(), relu6() and clip() clamp at their bounds", () => {
  const x = [-2, 0, 3, 7];
  assert.deepEqual(run([1, 4], x, (b, t) => b.relu(t)), [0, 0, 3, 7]);
  assert.deepEqual(run([1, 4], x, (b, t) => b.relu6(t)), [0, 0, 3, 6]);
  assert.deepEqual(run([1, 4], x, (b, t) => b.clip(t, -1, 4)), [-1, 0, 3, 4]);
});

Deno.test("hardswish() is x * relu6(x + 3) / 6: 0 at -3 and 0, x at 3 and above", () => {
  const y = run([1, 6], [-4, -3, 0, 1, 3, 5], (b, t) => b.hardswish(t));
  assertClose(y, [0, 0, 0, 1 * 4 / 6, 3, 5]);
});

Deno.test("hardsigmoid() is clip(alpha * x + beta, 0, 1)", () => {
  // torchvision's alpha 1/6, beta 1/2: 0 at -3, 1/2 at 0, 1 from 3 on.
  assertClose(run([1, 5], [-4, -3, 0, 1.5, 3], (b, t) => b.hardsigmoid(t)), [0, 0, 0.5, 0.75, 1]);
  // ONNX's default alpha 0.2, beta 0.5: 0.2 * 1 + 0.5.
  assertClose(run([1, 1], [1], (b, t) => b.hardsigmoid(t, "h", 0.2, 0.5)), [0.7]);
});

Deno.test("sigmoid() is 1 / (1 + exp(-x))", () => {
  assertClose(run([1, 3], [0, Math.log(3), -Math.log(3)], (b, t) => b.sigmoid(t)), [
    0.5,
    3 / 4, // 1 / (1 + 1/3)
    1 / 4,
  ]);
});

// ---- element-wise binary, channel plumbing ----

Deno.test("add() sums element-wise and mul() broadcasts [N, C, 1, 1] over H and W", () => {
  const sum = run([1, 1, 1, 3], [1, 2, 3], (b, x) => b.addTensors(x, b.relu(x, "r")));
  assert.deepEqual(sum, [2, 4, 6]);
  // x: 2 channels of 2 pixels; scale = global mean per channel (1.5 and 10).
  const prod = run([1, 2, 1, 2], [1, 2, 10, 10], (b, x) => b.mul(x, b.globalAvgPool(x, "s")));
  assert.deepEqual(prod, [1 * 1.5, 2 * 1.5, 10 * 10, 10 * 10]);
});

Deno.test("concat() stacks channels per batch item and split() takes them back", () => {
  // N = 2, a: 1 channel, b: 2 channels, 1 pixel each. Item n of the output
  // is [a[n], b[n, 0], b[n, 1]].
  const g = graphOf([2, 3, 1, 1], (b, x) => {
    const a = b.split(x, 0, 1, "a");
    const rest = b.split(x, 1, 2, "rest");
    return b.concat([rest, a], "cat");
  });
  const out = runReferenceAll(g, new Map(), new Float32Array([0, 1, 2, 10, 11, 12]));
  assert.deepEqual([...out.get("a")!], [0, 10]);
  assert.deepEqual([...out.get("rest")!], [1, 2, 11, 12]);
  assert.deepEqual([...out.get("cat")!], [1, 2, 0, 11, 12, 10]);
});

Deno.test("channel_shuffle() C=6, g=2 maps output channels to inputs [0, 3, 1, 4, 2, 5]", () => {
  // view(N, 2, 3, H, W).transpose(1, 2): output channel i * 2 + j = input j * 3 + i.
  assert.deepEqual(run([1, 6, 1, 1], iota(6), (b, x) => b.channelShuffle(x, 2)), [
    0,
    3,
    1,
    4,
    2,
    5,
  ]);
  // g = 3 on C = 6: output i * 3 + j = input j * 2 + i; batch 2, 2 pixels per plane.
  const y = run([2, 6, 1, 2], iota(24), (b, x) => b.channelShuffle(x, 3));
  const order = [0, 2, 4, 1, 3, 5];
  const expected = [0, 1].flatMap((n) =>
    order.flatMap((c) => [(n * 6 + c) * 2, (n * 6 + c) * 2 + 1])
  );
  assert.deepEqual(y, expected);
});

// ---- pooling ----

Deno.test("max_pool() 2x2 stride 2 on 5x5: floor mode drops the last row and column", () => {
  // x[r, c] = 5r + c; the max of a window is its bottom-right element.
  const y = run([1, 1, 5, 5], iota(25), (b, x) => b.maxPool(x, { kernel: 2 }));
  assert.deepEqual(y, [6, 8, 16, 18]);
});

Deno.test("max_pool() 2x2 stride 2 on 5x5 in ceil mode adds clipped windows at the edge", () => {
  // 3x3 output; the windows starting at row/col 4 see only that row/col.
  const y = run([1, 1, 5, 5], iota(25), (b, x) => b.maxPool(x, { kernel: 2, ceilMode: true }));
  assert.deepEqual(y, [6, 8, 9, 16, 18, 19, 21, 23, 24]);
});

Deno.test("max_pool() padding never wins, even over negative inputs", () => {
  // 3x3 stride 2 padding 1 on a 2x2 all-negative input: one window, max -1.
  const y = run(
    [1, 1, 2, 2],
    [-4, -3, -2, -1],
    (b, x) => b.maxPool(x, { kernel: 3, stride: 2, padding: 1 }),
  );
  assert.deepEqual(y, [-1]);
});

Deno.test("avg_pool() 3x3 padding 1: count_include_pad divides by 9, else by covered pixels", () => {
  // x = 1..9 on 3x3. Corner window covers 1+2+4+5 = 12 (4 pixels), top edge
  // window 1+2+3+4+5+6 = 21 (6 pixels), center 45 (9 pixels).
  const x = iota(9).map((i) => i + 1);
  const incl = run([1, 1, 3, 3], x, (b, t) => b.avgPool(t, { kernel: 3, stride: 1, padding: 1 }));
  assertClose(incl, [12 / 9, 21 / 9, 16 / 9, 27 / 9, 45 / 9, 33 / 9, 24 / 9, 39 / 9, 28 / 9]);
  const excl = run(
    [1, 1, 3, 3],
    x,
    (b, t) => b.avgPool(t, { kernel: 3, stride: 1, padding: 1, countIncludePad: false }),
  );
  assertClose(excl, [12 / 4, 21 / 6, 16 / 4, 27 / 6, 45 / 9, 33 / 6, 24 / 4, 39 / 6, 28 / 4]);
});

Deno.test("avg_pool() in ceil mode divides edge windows by their clipped size", () => {
  // x[r, c] = 5r + c, 2x2 stride 2 ceil: the last column window covers only
  // col 4 (PyTorch clips it to the input + padding, so the divisor is 2, not 4).
  const y = run([1, 1, 5, 5], iota(25), (b, x) => b.avgPool(x, { kernel: 2, ceilMode: true }));
  assertClose(y, [
    (0 + 1 + 5 + 6) / 4,
    (2 + 3 + 7 + 8) / 4,
    (4 + 9) / 2,
    (10 + 11 + 15 + 16) / 4,
    (12 + 13 + 17 + 18) / 4,
    (14 + 19) / 2,
    (20 + 21) / 2,
    (22 + 23) / 2,
    24 / 1,
  ]);
});

Deno.test("avg_pool() ceil mode with padding counts the padding row but not past it", () => {
  // All-ones 4x4, 3x3 stride 2 padding 1 ceil: output 3x3 (span 4 + 2 - 3 = 3,
  // ceil(3 / 2) + 1). Window 0 spans -1..1 (size 3, 2 input rows); window 2
  // starts at 3 and is clipped at 4 + 1 = 5 (size 2, 1 input row).
  const ones = Array(16).fill(1);
  const y = run(
    [1, 1, 4, 4],
    ones,
    (b, x) => b.avgPool(x, { kernel: 3, stride: 2, padding: 1, ceilMode: true }),
  );
  const size = [3, 3, 2]; // clipped window size per output position
  const covered = [2, 3, 1]; // input pixels inside it
  const expected = [0, 1, 2].flatMap((r) =>
    [0, 1, 2].map((c) => (covered[r] * covered[c]) / (size[r] * size[c]))
  );
  assertClose(y, expected);
  const excl = run(
    [1, 1, 4, 4],
    ones,
    (b, x) =>
      b.avgPool(x, { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  );
  assertClose(excl, Array(9).fill(1));
});

Deno.test("global_avg_pool() averages each plane; flatten() keeps NCHW order", () => {
  const y = run([2, 2, 1, 2], [1, 3, 10, 20, -1, -3, 0, 4], (b, x) => b.globalAvgPool(x));
  assert.deepEqual(y, [2, 15, -2, 2]);
  assert.deepEqual(run([1, 2, 1, 2], [1, 2, 3, 4], (b, x) => b.flatten(x)), [1, 2, 3, 4]);
});

// ---- classifier head ----

Deno.test("linear() uses PyTorch's [out, in] weight layout", () => {
  // N = 2 rows [1, 2] and [3, 4]; w rows [1, 0] and [1, 1]; bias [0, 10].
  const y = run(
    [2, 2],
    [1, 2, 3, 4],
    (b, x) => b.linear(x, { out: 2 }, "fc"),
    { "fc.weight": [1, 0, 1, 1], "fc.bias": [0, 10] },
  );
  assert.deepEqual(y, [1, 1 + 2 + 10, 3, 3 + 4 + 10]);
});

Deno.test("dropout() is the identity at inference", () => {
  const x = randomInput([2, 3, 4, 4], 9);
  const g = graphOf([2, 3, 4, 4], (b, t) => b.dropout(t, 0.5));
  assert.deepEqual(runReference(g, new Map(), x), x);
});

Deno.test("softmax() normalizes each row, and over channels of NCHW", () => {
  // exp(0) : exp(ln 2) = 1 : 2; a row at 1000 (exact in float32) must not
  // overflow: exp(0) : exp(1) = 1 : e.
  assertClose(run([2, 2], [0, Math.log(2), 1000, 1001], (b, x) => b.softmax(x)), [
    1 / 3,
    2 / 3,
    1 / (1 + Math.E),
    Math.E / (1 + Math.E),
  ]);
  // [1, 2, 1, 2]: channel 0 = [0, 0], channel 1 = [ln 3, 0]; per pixel.
  assertClose(run([1, 2, 1, 2], [0, 0, Math.log(3), 0], (b, x) => b.softmax(x)), [
    1 / 4,
    1 / 2,
    3 / 4,
    1 / 2,
  ]);
});

// ---- errors ----

Deno.test("runReference() rejects a wrong input length with the expected shape", () => {
  const g = graphOf([1, 3, 224, 224], (b, x) => b.relu(x));
  assert.throws(
    () => runReference(g, new Map(), new Float32Array(100)),
    (e) =>
      e instanceof TypeError &&
      e.message === 'Input "input" has 100 elements, expected 1x3x224x224 = 150528',
  );
});

Deno.test("runReference() names a missing weight", () => {
  const g = graphOf([1, 1, 2, 2], (b, x) => b.conv2d(x, { out: 1, kernel: 1 }, "c"));
  assert.throws(() => runReference(g, new Map(), new Float32Array(4)), /Missing weight "c.weight"/);
});

Deno.test("runReferenceAll() returns every node's output and never writes the input", () => {
  const g = graphOf([1, 2, 3, 3], (b, x) => {
    const y = b.batchNorm(b.conv2d(x, { out: 2, kernel: 3 }, "c"), "bn");
    return b.addTensors(b.relu(y, "r"), x, "sum");
  });
  const x = randomInput([1, 2, 3, 3], 1);
  const copy = x.slice();
  const all = runReferenceAll(g, randomWeights(g, 2), x);
  assert.deepEqual([...all.keys()], ["c", "bn", "r", "sum"]);
  assert.deepEqual(x, copy);
  assert.deepEqual(all.get("sum"), runReference(g, randomWeights(g, 2), x));
});

// ---- properties: the kernels against independent formulations ----

/**
 * conv2d as the textbook loop: one output pixel at a time, taps in (ic, ky, kx)
 * order. The kernel runs tap-major for speed; the float64 sums happen in the
 * same order, so the results must be identical.
 */
function naiveConv(
  x: Float32Array,
  [batch, inC, inH, inW]: Shape,
  a: OpAttrs["conv2d"],
  [, outC, outH, outW]: Shape,
  w: Float32Array,
  bias: Float32Array | undefined,
): Float32Array {
  const y = new Float32Array(batch * outC * outH * outW);
  const cin = inC / a.groups;
  const cout = outC / a.groups;
  for (let n = 0; n < batch; n++) {
    for (let oc = 0; oc < outC; oc++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let acc = bias ? bias[oc] : 0;
          for (let ic = 0; ic < cin; ic++) {
            const c = Math.floor(oc / cout) * cin + ic;
            for (let ky = 0; ky < a.kernel[0]; ky++) {
              for (let kx = 0; kx < a.kernel[1]; kx++) {
                const iy = oy * a.stride[0] - a.padding[0] + ky * a.dilation[0];
                const ix = ox * a.stride[1] - a.padding[1] + kx * a.dilation[1];
                const inside = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
                if (!inside) continue;
                const wv = w[((oc * cin + ic) * a.kernel[0] + ky) * a.kernel[1] + kx];
                acc += x[((n * inC + c) * inH + iy) * inW + ix] * wv;
              }
            }
          }
          y[((n * outC + oc) * outH + oy) * outW + ox] = acc;
        }
      }
    }
  }
  return y;
}

const hw = (max: number) => fc.tuple(fc.integer({ min: 1, max }), fc.integer({ min: 1, max }));

Deno.test("conv2d() equals the per-pixel textbook loop on random shapes and attrs", () => {
  const arb = fc.record({
    batch: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cinPerGroup: fc.integer({ min: 1, max: 3 }),
    coutPerGroup: fc.integer({ min: 1, max: 3 }),
    size: hw(9),
    kernel: hw(4),
    stride: hw(3),
    dilation: hw(2),
    padding: fc.tuple(...Array.from({ length: 4 }, () => fc.integer({ min: 0, max: 2 }))),
    bias: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1000 }),
  });
  fc.assert(
    fc.property(arb, (p) => {
      const shape = [p.batch, p.groups * p.cinPerGroup, p.size[0], p.size[1]];
      const effH = p.dilation[0] * (p.kernel[0] - 1) + 1;
      const effW = p.dilation[1] * (p.kernel[1] - 1) + 1;
      fc.pre(effH <= p.size[0] + p.padding[0] + p.padding[2]);
      fc.pre(effW <= p.size[1] + p.padding[1] + p.padding[3]);
      const g = graphOf(shape, (b, x) =>
        b.conv2d(x, {
          out: p.groups * p.coutPerGroup,
          kernel: p.kernel,
          stride: p.stride,
          dilation: p.dilation,
          padding: p.padding as [number, number, number, number],
          groups: p.groups,
          bias: p.bias,
        }, "c"));
      const w = randomWeights(g, p.seed);
      const x = randomInput(shape, p.seed + 1);
      const node = g.nodes[0] as Node<"conv2d">;
      const outShape = inferShapes(g).shapes.get("c")!;
      const expected = naiveConv(
        x,
        shape,
        node.attrs,
        outShape,
        w.get("c.weight")!,
        w.get("c.bias"),
      );
      assert.deepEqual(runReference(g, w, x), expected);
    }),
    { numRuns: 150, seed: 20261129 },
  );
});

/**
 * Pooling through an explicitly padded plane, the way the PyTorch docs
 * describe it: pad, slide the window in padded coordinates, clip the window
 * to the padded plane (ceil mode), then take max over real pixels, or the sum
 * divided by the clipped window (count_include_pad) or the real-pixel count.
 */
function paddedPool(
  plane: number[][],
  a: OpAttrs["max_pool"],
  isMax: boolean,
  [outH, outW]: number[],
): number[] {
  const [top, left, bottom, right] = a.padding;
  const h = plane.length + top + bottom;
  const w = plane[0].length + left + right;
  const padded: (number | null)[][] = Array.from(
    { length: h },
    (_, r) => Array.from({ length: w }, (_, c) => plane[r - top]?.[c - left] ?? null),
  );
  const out: number[] = [];
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const cells: (number | null)[] = [];
      for (let r = oy * a.stride[0]; r < Math.min(oy * a.stride[0] + a.kernel[0], h); r++) {
        for (let c = ox * a.stride[1]; c < Math.min(ox * a.stride[1] + a.kernel[1], w); c++) {
          cells.push(padded[r][c]);
        }
      }
      const real = cells.filter((v): v is number => v !== null);
      if (isMax) out.push(Math.max(...real));
      else {
        const sum = real.reduce((s, v) => s + v, 0);
        out.push(sum / (a.countIncludePad ? cells.length : real.length));
      }
    }
  }
  return out;
}

Deno.test("max_pool() and avg_pool() equal pooling over an explicitly padded plane", () => {
  const arb = fc.record({
    size: hw(9),
    kernel: hw(4),
    stride: hw(3),
    pad: fc.tuple(...Array.from({ length: 4 }, () => fc.integer({ min: 0, max: 2 }))),
    ceilMode: fc.boolean(),
    countIncludePad: fc.boolean(),
    isMax: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1000 }),
  });
  fc.assert(
    fc.property(arb, (p) => {
      // PyTorch's limits: padding at most half the kernel; we apply it per side.
      const padding = p.pad.map((v, i) => Math.min(v, Math.floor(p.kernel[i % 2] / 2))) as [
        number,
        number,
        number,
        number,
      ];
      fc.pre(p.kernel[0] <= p.size[0] + padding[0] + padding[2]);
      fc.pre(p.kernel[1] <= p.size[1] + padding[1] + padding[3]);
      const shape = [2, 2, p.size[0], p.size[1]];
      const opts = { ...p, padding };
      const g = graphOf(
        shape,
        (b, x) => p.isMax ? b.maxPool(x, opts, "p") : b.avgPool(x, opts, "p"),
      );
      const x = randomInput(shape, p.seed);
      const node = g.nodes[0] as Node<"max_pool">;
      const [, , outH, outW] = inferShapes(g).shapes.get("p")!;
      const expected: number[] = [];
      const planeSize = p.size[0] * p.size[1];
      for (let k = 0; k < 4; k++) {
        const plane = Array.from(
          { length: p.size[0] },
          (
            _,
            r,
          ) => [...x.subarray(k * planeSize + r * p.size[1], k * planeSize + (r + 1) * p.size[1])],
        );
        expected.push(...paddedPool(plane, node.attrs, p.isMax, [outH, outW]));
      }
      assertClose([...runReference(g, new Map(), x)], expected);
    }),
    { numRuns: 200, seed: 20261129 },
  );
});

/** One graph with every op kind, so batch independence is checked for all of them. */
function everyOpGraph(batch: number): Graph {
  const b = new GraphBuilder("every_op", [batch, 6, 9, 8]);
  let x = b.conv2d(b.input, { out: 8, kernel: 3, stride: 2, padding: [1, 0, 1, 1] }, "conv");
  x = b.relu(b.batchNorm(x, "bn"), "relu");
  const l = b.relu6(b.split(x, 0, 4, "split_l"), "relu6");
  const r = b.clip(b.split(x, 4, 4, "split_r"), -0.5, 0.5, "clip");
  x = b.channelShuffle(b.concat([l, r], "concat"), 4, "shuffle");
  const s = b.hardsigmoid(b.globalAvgPool(x, "se_pool"), "hsig");
  x = b.addTensors(b.mul(x, s, "mul"), b.hardswish(x, "hswish"), "add");
  x = b.sigmoid(b.maxPool(x, { kernel: 3, stride: 2, padding: 1, ceilMode: true }, "max"), "sig");
  x = b.avgPool(x, { kernel: 2, stride: 1, countIncludePad: false }, "avg");
  x = b.dropout(b.flatten(x, "flat"), 0.2, "drop");
  return b.build(b.softmax(b.linear(x, { out: 5 }, "fc"), "softmax"));
}

for (const [label, build] of [["classic", everyOpGraph], ["general", generalOpGraph]] as const) {
  Deno.test(`runReference() on a batch of 2 equals each item alone, ${label} op kinds`, () => {
    batchIndependent(build(2), build(1));
  });
}

Deno.test("the two batch-independence graphs use every op kind", () => {
  assert.deepEqual(kindsMissing(everyOpGraph(1), generalOpGraph(1)), []);
});

function batchIndependent(g2: Graph, g1: Graph): void {
  const w = randomWeights(g2, 21);
  const x = randomInput(g2.inputs[0].shape, 22);
  const all2 = runReferenceAll(g2, w, x);
  const half = x.length / 2;
  const a = runReferenceAll(g1, w, x.slice(0, half));
  const b = runReferenceAll(g1, w, x.slice(half));
  const constants = new Set(g2.nodes.filter((n) => n.kind === "const").map((n) => n.name));
  for (const [name, y] of all2) {
    if (constants.has(name)) continue; // stored data, not a batch
    const n = y.length / 2;
    assert.deepEqual(a.get(name), y.slice(0, n), `"${name}" item 0`);
    assert.deepEqual(b.get(name), y.slice(n), `"${name}" item 1`);
  }
}

Deno.test("runReferenceOutputs() binds inputs by name and returns each output by its name", () => {
  const b = new GraphBuilder("t", [1, 3]);
  const y = b.addInput("y", [1, 3]);
  const sum = b.add("add", {}, [b.input, y], "sum");
  const g = b.build({ logits: sum, act: b.relu(sum, "act"), echo: y });
  const x = new Float32Array([1, -2, 3]);
  const yv = new Float32Array([-4, 1, 0.5]);
  const out = runReferenceOutputs(g, new Map(), { input: x, y: yv });
  // logits = x + y elementwise; act = max(logits, 0); echo is a copy of y.
  assert.deepEqual([...out.logits], [-3, -1, 3.5]);
  assert.deepEqual([...out.act], [0, 0, 3.5]);
  assert.deepEqual([...out.echo], [-4, 1, 0.5]);
  assert.notEqual(out.echo, yv);
  assert.deepEqual(Object.keys(out), ["logits", "act", "echo"]);
  assert.deepEqual([...runReference(g, new Map(), { input: x, y: yv })], [-3, -1, 3.5]);
});

Deno.test("runReferenceOutputs() names a missing, unknown or misshapen input", () => {
  const b = new GraphBuilder("t", [1, 3]);
  const y = b.addInput("y", [1, 3]);
  const g = b.build(b.add("add", {}, [b.input, y], "sum"));
  const x = new Float32Array(3);
  assert.throws(() => runReferenceOutputs(g, new Map(), x), /has 2 inputs \("input", "y"\)/);
  assert.throws(() => runReferenceOutputs(g, new Map(), { input: x }), /Missing input "y"/);
  assert.throws(
    () => runReferenceOutputs(g, new Map(), { input: x, y: x, z: x }),
    /Unknown input "z"; the graph's inputs are "input", "y"/,
  );
  assert.throws(
    () => runReferenceOutputs(g, new Map(), { input: x, y: new Float32Array(2) }),
    /Input "y" has 2 elements, expected 1x3 = 3/,
  );
});
