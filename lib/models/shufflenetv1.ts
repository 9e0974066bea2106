/**
 * ShuffleNet V1 (arXiv 1707.01083) from paper Table 1 and the authors' code
 * (megvii-model/ShuffleNet-Series, ShuffleNetV1/network.py and blocks.py): a
 * 3x3/s2 conv-BN-ReLU stem (`conv1`), a 3x3/s2 max pool, stages 2-4 of 4 / 8
 * / 4 ShuffleNet units (the first of each at stride 2, with an average-pooled
 * shortcut concatenated), global average pooling and a fully connected layer
 * without bias (`fc`, as in the authors' code).
 *
 * Output channels of stages 2 / 3 / 4 at 1x (Table 1), multiplied by the
 * scale factor s (`--width`):
 *
 * | g | stage2 | stage3 | stage4 |
 * |---|---|---|---|
 * | 1 | 144 | 288 | 576 |
 * | 2 | 200 | 400 | 800 |
 * | 3 | 240 | 480 | 960 |
 * | 4 | 272 | 544 | 1088 |
 * | 8 | 384 | 768 | 1536 |
 *
 * Details the paper leaves open, taken from the authors' code:
 * - the bottleneck has out / 4 channels (rounded down to a multiple of g, which
 *   changes nothing for the published g = 3 and g = 8 models);
 * - stage 2's first 1x1 conv is not grouped (its input, the stem, is narrow);
 * - no ReLU after the depthwise conv; at stride 2 the main branch makes
 *   out - in channels;
 * - the stem width: 24 at 1x and 1.5x, 48 at 2x, and at 0.5x 12 for g = 3 but
 *   16 for g = 8 (so that out - in of the first unit is a multiple of g). Our
 *   rule: 24 at 1.5x, else 24 * s but at least 12, rounded up until out - in
 *   of the first unit is a multiple of g. It gives the authors' values, and at
 *   0.25x (which they do not publish) a stem of 12 that reproduces Table 2's
 *   13 MFLOPs (a stem of 6 would give 11).
 *
 * torchvision has no ShuffleNet V1; module paths follow ShuffleNet V2's
 * (`conv1`, `maxpool`, `stage2.0`, ..., `fc`) with the authors' names inside a
 * unit (`branch_main_1`, `branch_main_2`, `branch_proj`), so the authors'
 * `features.i` maps to `stageS.j` in order.
 *
 * @module
 */

import { GraphBuilder } from "../ir/builder.ts";
import { convBnAct, shuffleV1Unit, stage } from "../ir/blocks.ts";
import type { Graph } from "../ir/graph.ts";
import { KnobError, type Knobs, type ModelDef } from "./registry.ts";
import { classesKnob, inputShape, resolutionKnob } from "./_knobs.ts";

/** Paper Table 1: output channels of stages 2, 3, 4 at 1x, by groups. */
const CHANNELS: Record<number, readonly [number, number, number]> = {
  1: [144, 288, 576],
  2: [200, 400, 800],
  3: [240, 480, 960],
  4: [272, 544, 1088],
  8: [384, 768, 1536],
};
const REPEATS = [4, 8, 4] as const;

/** The stem width for `groups` and scale `width` when stage 2 has `stage2` channels (see above). */
export function shuffleV1StemChannels(groups: number, width: number, stage2: number): number {
  // megvii-model/ShuffleNet-Series ShuffleNetV1/network.py, stage_out_channels[1].
  if (width === 1.5) return 24;
  let stem = Math.max(12, Math.round(24 * width));
  while ((stage2 - stem) % groups !== 0) stem++;
  return stem;
}

function buildShuffleNetV1(knobs: Knobs): Graph {
  const g = knobs.groups as number;
  const s = knobs.width as number;
  const outs = CHANNELS[g].map((c) => Math.round(c * s));
  for (const c of outs) {
    if (c % g !== 0 || c < 4 * g) {
      throw new KnobError(
        `Invalid --width ${s} for "shufflenetv1" with --groups ${g}: stage width ${c} is not a multiple of ${g} with room for a bottleneck`,
      );
    }
  }
  const b = new GraphBuilder("shufflenetv1", inputShape(knobs), { ...knobs });
  const stem = shuffleV1StemChannels(g, s, outs[0]);
  let x = convBnAct(b, b.input, { out: stem, kernel: 3, stride: 2 }, "conv1");
  x = b.maxPool(x, { kernel: 3, stride: 2, padding: 1 }, "maxpool");
  outs.forEach((out, i) => {
    // Bottleneck = out / 4, a multiple of g so the group convs divide it.
    const mid = Math.floor(out / 4 / g) * g;
    x = stage(b, `stage${i + 2}`, () => {
      let y = x;
      for (let j = 0; j < REPEATS[i]; j++) {
        y = shuffleV1Unit(b, y, {
          out,
          stride: j === 0 ? 2 : 1,
          groups: g,
          mid,
          groupFirst: !(i === 0 && j === 0),
        });
      }
      return y;
    });
  });
  x = b.flatten(b.globalAvgPool(x, "globalpool"), "flatten");
  return b.build(b.linear(x, { out: knobs.classes as number, bias: false }, "fc"));
}

/**
 * ShuffleNet V1 with `--groups` 1, 2, 3, 4, 8 and `--width` (scale factor) 0.25,
 * 0.5, 1, 1.5, 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shufflenetv1 } from "./shufflenetv1.ts";
 * const g = shufflenetv1.build({ groups: 3, width: 1, resolution: 224, classes: 1000 });
 * assert.ok(g.nodes.some((n) => n.name === "stage3.0.branch_proj"));
 * ```
 */
export const shufflenetv1: ModelDef = {
  name: "shufflenetv1",
  family: "shufflenet",
  summary: "ShuffleNet V1: pointwise group convolutions with channel shuffle",
  source:
    "arXiv 1707.01083 Table 1; megvii-model/ShuffleNet-Series ShuffleNetV1/network.py, blocks.py",
  knobs: [
    {
      name: "groups",
      description: "groups of the 1x1 convolutions",
      type: "number",
      default: 3,
      published: [1, 2, 3, 4, 8],
      choices: [1, 2, 3, 4, 8],
    },
    {
      name: "width",
      description: "scale factor s of every channel count (complexity about s^2)",
      type: "number",
      default: 1,
      published: [0.25, 0.5, 1, 1.5, 2],
      choices: [0.25, 0.5, 1, 1.5, 2],
    },
    resolutionKnob(1, [224]),
    classesKnob,
  ],
  aliases: { shufflenet_v1: { groups: 3, width: 1 }, shufflenet: { groups: 3, width: 1 } },
  build: buildShuffleNetV1,
};
