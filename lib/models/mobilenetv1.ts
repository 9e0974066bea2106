/**
 * MobileNet V1 (arXiv 1704.04861) from paper Table 1: a 3x3/s2 conv of 32
 * channels, 13 depthwise separable blocks, global average pooling and a
 * 1024 -> classes fully connected layer with bias. Every conv is followed by
 * BatchNorm and ReLU. The width multiplier alpha makes every channel count
 * `int(alpha * c)` (paper sec. 3.3). torchvision has no MobileNet V1, so the
 * module paths are ours: `features.0` (stem), `features.1..13` (blocks, each
 * `dw.0..2` and `pw.0..2`), `avgpool`, `flatten`, `fc`.
 *
 * Table 1 prints stride 2 for the last depthwise layer at 7x7; that is a typo
 * (the output stays 7x7), so it is stride 1 here.
 *
 * @module
 */

import { GraphBuilder } from "../ir/builder.ts";
import { convBnAct, depthwiseSeparable, markStagesByResolution } from "../ir/blocks.ts";
import type { Graph } from "../ir/graph.ts";
import type { Knobs, ModelDef } from "./registry.ts";
import { classesKnob, inputShape, resolutionKnob } from "./_knobs.ts";

/** Paper Table 1: output channels and stride of the 13 depthwise separable blocks. */
const BLOCKS: ReadonlyArray<readonly [out: number, stride: number]> = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

function buildMobileNetV1(knobs: Knobs): Graph {
  const alpha = knobs.width as number;
  const ch = (c: number) => Math.floor(alpha * c);
  const b = new GraphBuilder("mobilenetv1", inputShape(knobs), { ...knobs });
  let x = b.scope("features", () => {
    let x = convBnAct(b, b.input, { out: ch(32), kernel: 3, stride: 2 });
    const outputs = [x];
    for (const [out, stride] of BLOCKS) {
      x = depthwiseSeparable(b, x, { out: ch(out), stride });
      outputs.push(x);
    }
    markStagesByResolution(b, outputs);
    return x;
  });
  x = b.flatten(b.globalAvgPool(x, "avgpool"), "flatten");
  return b.build(b.linear(x, { out: knobs.classes as number }, "fc"));
}

/**
 * MobileNet V1 with `--width` alpha (published 1, 0.75, 0.5, 0.25; any value
 * from 1/32, so that the stem keeps at least one channel) and `--resolution`
 * (published 224, 192, 160, 128).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mobilenetv1 } from "./mobilenetv1.ts";
 * const g = mobilenetv1.build({ width: 0.5, resolution: 160, classes: 1000 });
 * assert.equal(g.nodes.find((n) => n.name === "fc")?.kind, "linear");
 * ```
 */
export const mobilenetv1: ModelDef = {
  name: "mobilenetv1",
  family: "mobilenet",
  summary: "MobileNet V1: depthwise separable convolutions with width and resolution multipliers",
  source: "arXiv 1704.04861 Table 1",
  knobs: [
    {
      name: "width",
      description: "width multiplier alpha (channels int(alpha * c))",
      type: "number",
      default: 1,
      published: [1, 0.75, 0.5, 0.25],
      // int(alpha * 32) >= 1 for the stem.
      min: 1 / 32,
      max: 4,
    },
    resolutionKnob(1, [224, 192, 160, 128]),
    classesKnob,
  ],
  aliases: { mobilenet_v1: { width: 1 }, mobilenet: { width: 1 } },
  build: buildMobileNetV1,
};
