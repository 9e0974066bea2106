/**
 * Test graphs shared by the interop tests: one network that uses every op
 * kind of the IR, small enough to run in milliseconds.
 *
 * @module
 */

import { GraphBuilder } from "../lib/ir/builder.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { OP_KINDS } from "../lib/ir/ops.ts";

/** A 32x32 network with every op kind (checked: throws if one is missing). */
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
  const missing = OP_KINDS.filter((k) => !kinds.has(k));
  if (missing.length) throw new Error(`everyOpGraph misses ${missing.join(", ")}`);
  return g;
}
