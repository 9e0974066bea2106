/**
 * Test graphs shared by the interop tests, small enough to run in
 * milliseconds: `everyOpGraph` uses every op kind of the classic CNNs (the
 * kinds the zoo builds), `generalOpGraph` every other kind; together they
 * cover `OP_KINDS` (checked by {@link kindsMissing}).
 *
 * @module
 */

import { GraphBuilder } from "../lib/ir/builder.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { OP_KINDS, type OpKind } from "../lib/ir/ops.ts";

/** The op kinds of the classic CNNs, which {@link everyOpGraph} uses. */
export const CNN_KINDS: readonly OpKind[] = [
  "conv2d",
  "batch_norm",
  "relu",
  "relu6",
  "clip",
  "hardswish",
  "hardsigmoid",
  "sigmoid",
  "add",
  "mul",
  "concat",
  "split",
  "channel_shuffle",
  "max_pool",
  "avg_pool",
  "global_avg_pool",
  "flatten",
  "linear",
  "dropout",
  "softmax",
];

/** Op kinds of {@link OP_KINDS} that none of `graphs` uses. */
export function kindsMissing(...graphs: Graph[]): OpKind[] {
  const kinds = new Set(graphs.flatMap((g) => g.nodes.map((n) => n.kind)));
  return OP_KINDS.filter((k) => !kinds.has(k));
}

/**
 * A network on an `[N, 3, 6, 8]` input with every op kind beyond the classic
 * CNNs' (general axes, broadcasting, shape ops, math functions), each fed
 * values inside its domain (logs and roots of positive values).
 */
export function generalOpGraph(batch = 1): Graph {
  const b = new GraphBuilder("general_ops", [batch, 3, 6, 8]);
  const t = b.transpose(b.input, [0, 2, 3, 1], "nhwc"); // [N, 6, 8, 3]
  const r = b.reshape(t, [batch, 6, 24], "rows");
  const s = b.slice(r, 2, 22, 0, -3, "backwards"); // indices 22, 19, ..., 1: [N, 6, 8]
  const g = b.gather(s, 1, [5, 0, -2], false, "pick"); // [N, 3, 8]
  const mx = b.binary("max", g, b.gather(s, 1, [1], false, "row"), "max"); // [N, 1, 8] broadcast
  const mn = b.binary("min", mx, b.gather(g, 2, [0], false, "col"), "min"); // [N, 3, 1] broadcast
  const sm = b.softmax(mn, "softmax_last", -1);
  const e = b.unary("exp", b.unary("tanh", mn, "tanh"), "exp"); // in [1/e, e]
  const d = b.binary("div", sm, e, "div");
  const p = b.binary("pow", e, b.unary("neg", d, "neg"), "pow");
  const lg = b.unary("log", b.unary("softplus", p, "softplus"), "log");
  const sq = b.unary("sqrt", b.unary("abs", lg, "abs"), "sqrt");
  const rc = b.unary("reciprocal", e, "reciprocal");
  const er = b.unary("erf", b.binary("sub", sq, rc, "sub"), "erf");
  const act = b.unary("silu", b.leakyRelu(b.elu(er, 0.7, "elu"), 0.2, "leaky"), "silu");
  const one = b.reshape(b.gather(s, 1, [3], true, "scalar_pick"), [batch, 1, 8], "one_row");
  const cat = b.concat([act, sq, one], "cat_rows", 1); // [N, 7, 8]
  const part = b.split(cat, 1, 3, "part", 1); // [N, 3, 8]
  // A feature-map branch: pads of every mode, per-channel parameters, pools and reductions.
  let m = b.pad(b.input, [0, 0, 1, 2, 0, 0, 2, 1], "reflect", 0, "pad_reflect"); // [N, 3, 9, 11]
  m = b.pad(m, [0, 1, 0, 0, 0, 0, 1, 0], "edge", 0, "pad_edge"); // [N, 4, 10, 11]
  m = b.pad(m, [0, 0, 1, 1, 0, 0, 1, 1], "constant", 0.5, "pad_constant"); // [N, 4, 12, 13]
  m = b.affine(b.affine(b.prelu(m, "prelu"), 4, "affine"), 1, "affine_scalar");
  const pooled = b.binary(
    "add",
    b.globalMaxPool(m, "gmax"),
    b.reduce(m, "mean", [2, 3], true, "mean_hw"),
    "pooled",
  ); // [N, 4, 1, 1]
  const shifted = b.binary("add", pooled, b.constant([1, 4, 1, 1], "const"), "shifted");
  const rowMax = b.reduce(b.reduce(m, "sum", [-1], false, "sum_w"), "max", [2], true, "max_h");
  const summary = b.binary("sub", b.reshape(shifted, [batch, 4, 1], "pooled_rows"), rowMax, "d");
  let mixed = b.binary("add", part, b.gather(summary, 1, [0, 1, 2], false, "first3"), "mixed");
  // Resizes, a transposed conv and the norms on the map; attention-like matmuls on the rows.
  const near = b.resize(m, [batch, 4, 18, 20], {
    coordinateTransformation: "half_pixel",
    nearestMode: "round_prefer_ceil",
  }, "up_nearest");
  const lin = b.resize(near, [batch, 4, 7, 9], {
    mode: "linear",
    coordinateTransformation: "pytorch_half_pixel",
  }, "down_linear");
  const corners = b.resize(lin, [batch, 4, 10, 10], {
    mode: "linear",
    coordinateTransformation: "align_corners",
  }, "up_corners");
  const deconv = b.convTranspose2d(corners, {
    out: 6,
    kernel: 3,
    stride: 2,
    padding: [1, 0, 1, 1],
    outputPadding: 1,
    groups: 2,
    bias: true,
  }, "deconv"); // [N, 6, 20, 21]
  const peaks = b.reduce(b.instanceNorm(deconv, "inorm"), "max", [2, 3], false, "peaks");
  const scores = b.matmul(part, b.transpose(part, [0, 2, 1], "part_t"), "scores"); // [N, 3, 3]
  const attended = b.matmul(b.layerNorm(scores, "ln"), part, "attended"); // [N, 3, 8]
  mixed = b.binary("add", mixed, attended, "mixed_attended");
  const peak3 = b.gather(b.reshape(peaks, [batch, 6, 1], "peak_rows"), 1, [0, 2, 4], false, "p3");
  mixed = b.binary("add", mixed, peak3, "mixed_peaks");
  return b.build(b.flatten(mixed, "flat_last", 2));
}

/** A 32x32 network with every op kind of the classic CNNs (checked: throws if one is missing). */
export function everyOpGraph(batch = 1, size = 32): Graph {
  const b = new GraphBuilder("every_op", [batch, 3, size, size], { resolution: size });
  let x = b.scope("stem", () => {
    let y = b.conv2d(b.input, { out: 16, kernel: 3, stride: 2 });
    y = b.batchNorm(y);
    return b.relu6(y);
  }, "stage");
  x = b.scope(
    "block",
    () => {
      let y = b.conv2d(x, { out: 16, kernel: 3, groups: 16 }, "dw");
      y = b.batchNorm(y, "dw_bn");
      y = b.hardswish(y, "act");
      const s = b.scope("se", () => {
        let t = b.globalAvgPool(y, "pool");
        t = b.conv2d(t, { out: 8, kernel: 1, bias: true }, "fc1");
        t = b.relu(t, "relu");
        t = b.conv2d(t, { out: 16, kernel: 1, bias: true }, "fc2");
        return b.hardsigmoid(t, "gate");
      });
      const scaled = b.mul(y, s, "scale");
      const left = b.split(scaled, 0, 8, "left");
      let right = b.split(scaled, 8, 8, "right");
      right = b.conv2d(right, { out: 8, kernel: 1 }, "pw");
      right = b.batchNorm(right, "pw_bn");
      right = b.relu(right, "pw_relu");
      const cat = b.concat([left, right], "cat");
      const shuffled = b.channelShuffle(cat, 2, "shuffle");
      return b.addTensors(shuffled, scaled, "residual");
    },
    "block",
    "test_block",
  );
  x = b.clip(x, -1, 4, "clip");
  x = b.maxPool(x, { kernel: 3, stride: 2, padding: 1 }, "maxpool");
  x = b.avgPool(
    x,
    { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false },
    "avgpool",
  );
  x = b.conv2d(x, { out: 32, kernel: 3, groups: 4, bias: true }, "grouped");
  x = b.sigmoid(x, "sigmoid");
  x = b.flatten(b.globalAvgPool(x, "gap"), "flatten");
  x = b.dropout(x, 0.2, "dropout");
  x = b.linear(x, { out: 10 }, "fc");
  const g = b.build(b.softmax(x, "softmax"));
  const kinds = new Set(g.nodes.map((n) => n.kind));
  const missing = CNN_KINDS.filter((k) => !kinds.has(k));
  if (missing.length) throw new Error(`everyOpGraph misses ${missing.join(", ")}`);
  return g;
}
