/**
 * MobileNetV3 Large and Small (arXiv 1905.02244, Tables 1 and 2), exactly as
 * torchvision/models/mobilenetv3.py builds them: a 3x3/s2 conv-BN-h-swish stem,
 * the bneck rows below, a 1x1 conv-BN-h-swish to 6x the last bneck's
 * channels, global average pooling, then Linear (1280 Large / 1024 Small),
 * h-swish, dropout 0.2 and Linear to the classes. BatchNorm eps is 0.001;
 * squeeze-excite squeezes to `make_divisible(exp // 4, 8)` with a hard-sigmoid
 * gate; every channel count is `make_divisible(c * width, 8)`.
 *
 * @module
 */

import { GraphBuilder } from "../ir/builder.ts";
import { bneck, convBnAct, makeDivisible, markStagesByResolution } from "../ir/blocks.ts";
import type { Graph } from "../ir/graph.ts";
import type { Knobs, KnobSpec, ModelDef } from "./registry.ts";
import { classesKnob, inputShape, resolutionKnob } from "./_knobs.ts";

type Row = readonly [
  input: number,
  kernel: number,
  expanded: number,
  out: number,
  se: boolean,
  act: "RE" | "HS",
  stride: number,
];

/** Paper Table 1 (Large); torchvision `_mobilenet_v3_conf("mobilenet_v3_large")`. */
const LARGE: readonly Row[] = [
  [16, 3, 16, 16, false, "RE", 1],
  [16, 3, 64, 24, false, "RE", 2],
  [24, 3, 72, 24, false, "RE", 1],
  [24, 5, 72, 40, true, "RE", 2],
  [40, 5, 120, 40, true, "RE", 1],
  [40, 5, 120, 40, true, "RE", 1],
  [40, 3, 240, 80, false, "HS", 2],
  [80, 3, 200, 80, false, "HS", 1],
  [80, 3, 184, 80, false, "HS", 1],
  [80, 3, 184, 80, false, "HS", 1],
  [80, 3, 480, 112, true, "HS", 1],
  [112, 3, 672, 112, true, "HS", 1],
  [112, 5, 672, 160, true, "HS", 2],
  [160, 5, 960, 160, true, "HS", 1],
  [160, 5, 960, 160, true, "HS", 1],
];

/** Paper Table 2 (Small); torchvision `_mobilenet_v3_conf("mobilenet_v3_small")`. */
const SMALL: readonly Row[] = [
  [16, 3, 16, 16, true, "RE", 2],
  [16, 3, 72, 24, false, "RE", 2],
  [24, 3, 88, 24, false, "RE", 1],
  [24, 5, 96, 40, true, "HS", 2],
  [40, 5, 240, 40, true, "HS", 1],
  [40, 5, 240, 40, true, "HS", 1],
  [40, 5, 120, 48, true, "HS", 1],
  [48, 5, 144, 48, true, "HS", 1],
  [48, 5, 288, 96, true, "HS", 2],
  [96, 5, 576, 96, true, "HS", 1],
  [96, 5, 576, 96, true, "HS", 1],
];

const BN_EPS = 0.001;

function buildMobileNetV3(
  name: string,
  rows: readonly Row[],
  lastChannel: number,
  knobs: Knobs,
): Graph {
  const width = knobs.width as number;
  const adjust = (c: number) => makeDivisible(c * width, 8);
  const b = new GraphBuilder(name, inputShape(knobs), { ...knobs });
  let x = b.scope("features", () => {
    let x = convBnAct(b, b.input, {
      out: adjust(rows[0][0]),
      kernel: 3,
      stride: 2,
      act: "hardswish",
      bnEps: BN_EPS,
    });
    const outputs = [x];
    for (const [, kernel, expanded, out, se, act, stride] of rows) {
      x = bneck(b, x, {
        kernel,
        expanded: adjust(expanded),
        out: adjust(out),
        se,
        act: act === "HS" ? "hardswish" : "relu",
        stride,
        bnEps: BN_EPS,
      });
      outputs.push(x);
    }
    x = convBnAct(b, x, { out: 6 * x.shape[1], kernel: 1, act: "hardswish", bnEps: BN_EPS });
    markStagesByResolution(b, [...outputs, x]);
    return x;
  });
  x = b.flatten(b.globalAvgPool(x, "avgpool"), "flatten");
  x = b.scope("classifier", () => {
    let y = b.linear(x, { out: adjust(lastChannel) });
    y = b.dropout(b.hardswish(y), 0.2);
    return b.linear(y, { out: knobs.classes as number });
  });
  return b.build(x);
}

const widthKnob: KnobSpec = {
  name: "width",
  description: "width multiplier (channels make_divisible(c * width, 8))",
  type: "number",
  default: 1,
  published: [1, 0.75],
  min: 0.05,
  max: 4,
};

/**
 * MobileNetV3-Large (torchvision `mobilenet_v3_large`), `--width` 1.0 or 0.75
 * published.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mobilenetv3_large } from "./mobilenetv3.ts";
 * const g = mobilenetv3_large.build({ width: 1, resolution: 224, classes: 1000 });
 * assert.ok(g.nodes.some((n) => n.name === "features.4.block.2.fc1"));
 * ```
 */
export const mobilenetv3_large: ModelDef = {
  name: "mobilenetv3_large",
  family: "mobilenet",
  summary: "MobileNetV3-Large: NAS-found bnecks with squeeze-excite and h-swish",
  source: "arXiv 1905.02244 Table 1; torchvision/models/mobilenetv3.py",
  knobs: [widthKnob, resolutionKnob(1, [224]), classesKnob],
  aliases: { mobilenet_v3_large: { width: 1 } },
  build: (knobs) => buildMobileNetV3("mobilenetv3_large", LARGE, 1280, knobs),
};

/** MobileNetV3-Small (torchvision `mobilenet_v3_small`), `--width` 1.0 or 0.75 published. */
export const mobilenetv3_small: ModelDef = {
  name: "mobilenetv3_small",
  family: "mobilenet",
  summary: "MobileNetV3-Small: the low-resource MobileNetV3",
  source: "arXiv 1905.02244 Table 2; torchvision/models/mobilenetv3.py",
  knobs: [widthKnob, resolutionKnob(1, [224]), classesKnob],
  aliases: { mobilenet_v3_small: { width: 1 } },
  build: (knobs) => buildMobileNetV3("mobilenetv3_small", SMALL, 1024, knobs),
};
