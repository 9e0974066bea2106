/**
 * SqueezeNet 1.0 and 1.1, exactly as torchvision/models/squeezenet.py builds
 * them (arXiv 1602.07360; 1.1 from the DeepScale/SqueezeNet repository):
 * every conv has a bias, max pools use ceil mode, the classifier is dropout,
 * a 1x1 conv to the classes, ReLU and global average pooling.
 *
 * | version | stem | pools after | Fire (squeeze, expand1x1, expand3x3) |
 * |---|---|---|---|
 * | 1.0 | 7x7/2, 96 | conv1, fire4, fire8 | (16,64,64) x2, (32,128,128) x2, (48,192,192) x2, (64,256,256) x2 |
 * | 1.1 | 3x3/2, 64 | conv1, fire3, fire5 | same Fire modules |
 *
 * @module
 */

import { GraphBuilder, type Tensor } from "../ir/builder.ts";
import { fire, type FireOptions, markStagesByResolution } from "../ir/blocks.ts";
import type { Graph } from "../ir/graph.ts";
import type { Knobs, ModelDef } from "./registry.ts";
import { classesKnob, inputShape, resolutionKnob } from "./_knobs.ts";

const FIRES: FireOptions[] = [
  { squeeze: 16, expand1x1: 64, expand3x3: 64 },
  { squeeze: 16, expand1x1: 64, expand3x3: 64 },
  { squeeze: 32, expand1x1: 128, expand3x3: 128 },
  { squeeze: 32, expand1x1: 128, expand3x3: 128 },
  { squeeze: 48, expand1x1: 192, expand3x3: 192 },
  { squeeze: 48, expand1x1: 192, expand3x3: 192 },
  { squeeze: 64, expand1x1: 256, expand3x3: 256 },
  { squeeze: 64, expand1x1: 256, expand3x3: 256 },
];

function buildSqueezeNet(name: string, version: "1_0" | "1_1", knobs: Knobs): Graph {
  const b = new GraphBuilder(name, inputShape(knobs), { ...knobs });
  const pool = (x: Tensor) => b.maxPool(x, { kernel: 3, stride: 2, ceilMode: true });
  // Fire indices (0-based into FIRES) after which torchvision puts a max pool.
  const poolAfter = version === "1_0" ? [2, 6] : [1, 3];
  let x = b.scope("features", () => {
    let x = version === "1_0"
      ? b.conv2d(b.input, { out: 96, kernel: 7, stride: 2, padding: 0, bias: true })
      : b.conv2d(b.input, { out: 64, kernel: 3, stride: 2, padding: 0, bias: true });
    const outputs = [x];
    outputs.push(x = b.relu(x));
    outputs.push(x = pool(x));
    FIRES.forEach((f, i) => {
      x = fire(b, x, f);
      outputs.push(x);
      if (poolAfter.includes(i)) outputs.push(x = pool(x));
    });
    markStagesByResolution(b, outputs);
    return x;
  });
  x = b.scope("classifier", () => {
    let y = b.dropout(x, 0.5);
    y = b.conv2d(y, { out: knobs.classes as number, kernel: 1, bias: true });
    return b.globalAvgPool(b.relu(y));
  });
  return b.build(b.flatten(x, "flatten"));
}

function squeezeNetDef(version: "1_0" | "1_1"): ModelDef {
  const name = `squeezenet${version}`;
  return {
    name,
    family: "squeezenet",
    summary: version === "1_0"
      ? "SqueezeNet 1.0: Fire modules, AlexNet accuracy with 1.25M parameters"
      : "SqueezeNet 1.1: SqueezeNet 1.0 with 2.4x less computation",
    source: "arXiv 1602.07360; torchvision/models/squeezenet.py" +
      (version === "1_1" ? "; DeepScale/SqueezeNet SqueezeNet_v1.1" : ""),
    // torchvision's meta says min_size 21 (1.0) and 17 (1.1): PyTorch lets a
    // ceil-mode pool window overhang a 2x2 map entirely; our shape rule rejects
    // a window larger than its padded input, so the smallest inputs are 29 and 25.
    knobs: [resolutionKnob(version === "1_0" ? 29 : 25, [224]), classesKnob],
    aliases: version === "1_0" ? { squeezenet: {} } : {},
    build: (knobs) => buildSqueezeNet(name, version, knobs),
  };
}

/**
 * SqueezeNet 1.0 (torchvision `squeezenet1_0`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { squeezenet1_0 } from "./squeezenet.ts";
 * const g = squeezenet1_0.build({ resolution: 224, classes: 1000 });
 * assert.equal(g.nodes.find((n) => n.name === "features.3.expand3x3")?.kind, "conv2d");
 * ```
 */
export const squeezenet1_0: ModelDef = squeezeNetDef("1_0");

/** SqueezeNet 1.1 (torchvision `squeezenet1_1`). */
export const squeezenet1_1: ModelDef = squeezeNetDef("1_1");
