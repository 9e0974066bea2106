/**
 * MobileNetV2 (arXiv 1801.04381), exactly as torchvision/models/mobilenetv2.py
 * builds it: a 3x3/s2 conv-BN-ReLU6 stem of 32 channels, the inverted
 * residual blocks of paper Table 2, a 1x1 conv-BN-ReLU6 to 1280 channels
 * (widened for a width above 1, never narrowed), global average pooling,
 * dropout 0.2 and a linear classifier. Every channel count is
 * `make_divisible(c * width, 8)`.
 *
 * Table 2 rows (t expansion, c channels, n repeats, s first stride):
 * (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1).
 *
 * @module
 */

import { GraphBuilder } from "../ir/builder.ts";
import { convBnAct, invertedResidual, makeDivisible } from "../ir/blocks.ts";
import type { Graph } from "../ir/graph.ts";
import type { Knobs, ModelDef } from "./registry.ts";
import { classesKnob, inputShape, resolutionKnob } from "./_knobs.ts";

/** Paper Table 2: expansion t, channels c, repeats n, first stride s. */
const SETTING: ReadonlyArray<readonly [t: number, c: number, n: number, s: number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function buildMobileNetV2(knobs: Knobs): Graph {
  const width = knobs.width as number;
  const b = new GraphBuilder("mobilenetv2", inputShape(knobs), { ...knobs });
  const lastChannel = makeDivisible(1280 * Math.max(1, width), 8);
  let x = b.scope("features", () => {
    let x = convBnAct(b, b.input, {
      out: makeDivisible(32 * width, 8),
      kernel: 3,
      stride: 2,
      act: "relu6",
    });
    b.markStage(["0"]);
    let index = 1;
    for (const [t, c, n, s] of SETTING) {
      const out = makeDivisible(c * width, 8);
      for (let i = 0; i < n; i++) {
        x = invertedResidual(b, x, { out, stride: i === 0 ? s : 1, expandRatio: t });
      }
      // One stage per Table 2 row: features.2-3 is (t=6, c=24, n=2, s=2).
      b.markStage(Array.from({ length: n }, (_, i) => String(index + i)));
      index += n;
    }
    x = convBnAct(b, x, { out: lastChannel, kernel: 1, act: "relu6" });
    b.markStage([String(index)]);
    return x;
  });
  x = b.flatten(b.globalAvgPool(x, "avgpool"), "flatten");
  x = b.scope("classifier", () => {
    const y = b.dropout(x, 0.2);
    return b.linear(y, { out: knobs.classes as number });
  });
  return b.build(x);
}

/**
 * MobileNetV2 with `--width` (published 1.4, 1.0, 0.75, 0.5, 0.35) and
 * `--resolution` (published 224, 192, 160, 128, 96).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mobilenetv2 } from "./mobilenetv2.ts";
 * const g = mobilenetv2.build({ width: 1, resolution: 224, classes: 1000 });
 * assert.ok(g.nodes.some((n) => n.name === "features.3.conv.1.0"));
 * assert.equal(g.outputs[0].node, "classifier.1");
 * ```
 */
export const mobilenetv2: ModelDef = {
  name: "mobilenetv2",
  family: "mobilenet",
  summary: "MobileNetV2: inverted residuals with linear bottlenecks",
  source: "arXiv 1801.04381 Table 2; torchvision/models/mobilenetv2.py",
  knobs: [
    {
      name: "width",
      description: "width multiplier (channels make_divisible(c * width, 8))",
      type: "number",
      default: 1,
      published: [1.4, 1, 0.75, 0.5, 0.35],
      min: 0.05,
      max: 4,
    },
    resolutionKnob(1, [224, 192, 160, 128, 96]),
    classesKnob,
  ],
  aliases: { mobilenet_v2: { width: 1 } },
  build: buildMobileNetV2,
};
