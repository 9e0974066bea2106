/**
 * ShuffleNet V2 (arXiv 1807.11164, Table 5), exactly as
 * torchvision/models/shufflenetv2.py builds it: a 3x3/s2 conv-BN-ReLU stem of
 * 24 channels (`conv1`), a 3x3/s2 max pool, stages 2-4 of 4 / 8 / 4 units
 * (the first of each at stride 2), a 1x1 conv-BN-ReLU (`conv5`), global
 * average pooling and a linear classifier (`fc`).
 *
 * | width | stage2 | stage3 | stage4 | conv5 |
 * |---|---|---|---|---|
 * | 0.5x | 48 | 96 | 192 | 1024 |
 * | 1x | 116 | 232 | 464 | 1024 |
 * | 1.5x | 176 | 352 | 704 | 1024 |
 * | 2x | 244 | 488 | 976 | 2048 |
 *
 * @module
 */

import { GraphBuilder } from "../ir/builder.ts";
import { convBnAct, shuffleV2Unit, stage } from "../ir/blocks.ts";
import type { Graph } from "../ir/graph.ts";
import type { Knobs, ModelDef } from "./registry.ts";
import { classesKnob, inputShape, resolutionKnob } from "./_knobs.ts";

/** Table 5 channels: stage2, stage3, stage4, conv5, by width. */
const CHANNELS: Record<string, readonly [number, number, number, number]> = {
  "0.5": [48, 96, 192, 1024],
  "1": [116, 232, 464, 1024],
  "1.5": [176, 352, 704, 1024],
  "2": [244, 488, 976, 2048],
};
const REPEATS = [4, 8, 4] as const;

function buildShuffleNetV2(knobs: Knobs): Graph {
  const [c2, c3, c4, c5] = CHANNELS[String(knobs.width)];
  const b = new GraphBuilder("shufflenetv2", inputShape(knobs), { ...knobs });
  let x = convBnAct(b, b.input, { out: 24, kernel: 3, stride: 2 }, "conv1");
  x = b.maxPool(x, { kernel: 3, stride: 2, padding: 1 }, "maxpool");
  [c2, c3, c4].forEach((out, i) => {
    x = stage(b, `stage${i + 2}`, () => {
      let y = x;
      for (let j = 0; j < REPEATS[i]; j++) {
        y = shuffleV2Unit(b, y, { out, stride: j === 0 ? 2 : 1 });
      }
      return y;
    });
  });
  x = convBnAct(b, x, { out: c5, kernel: 1 }, "conv5");
  x = b.flatten(b.globalAvgPool(x, "globalpool"), "flatten");
  return b.build(b.linear(x, { out: knobs.classes as number }, "fc"));
}

/**
 * ShuffleNet V2 with `--width` 0.5, 1, 1.5 or 2 (torchvision
 * `shufflenet_v2_x0_5` ... `shufflenet_v2_x2_0`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shufflenetv2 } from "./shufflenetv2.ts";
 * const g = shufflenetv2.build({ width: 1, resolution: 224, classes: 1000 });
 * assert.ok(g.nodes.some((n) => n.name === "stage2.0.branch2.3"));
 * ```
 */
export const shufflenetv2: ModelDef = {
  name: "shufflenetv2",
  family: "shufflenet",
  summary: "ShuffleNet V2: channel split and shuffle, designed by the G1-G4 guidelines",
  source: "arXiv 1807.11164 Table 5; torchvision/models/shufflenetv2.py",
  knobs: [
    {
      name: "width",
      description: "channel multiplier (Table 5 channel counts)",
      type: "number",
      default: 1,
      published: [0.5, 1, 1.5, 2],
      choices: [0.5, 1, 1.5, 2],
    },
    resolutionKnob(1, [224]),
    classesKnob,
  ],
  aliases: {
    shufflenet_v2: { width: 1 },
    shufflenet_v2_x0_5: { width: 0.5 },
    shufflenet_v2_x1_0: { width: 1 },
    shufflenet_v2_x1_5: { width: 1.5 },
    shufflenet_v2_x2_0: { width: 2 },
  },
  build: buildShuffleNetV2,
};
