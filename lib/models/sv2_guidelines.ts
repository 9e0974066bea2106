/**
 * The micro-networks of the ShuffleNet V2 guideline experiments (Ma et al.,
 * arXiv 1807.11164, sec. 2, Tables 1-4): a 56x56 feature map through a block
 * stacked 10 times, one table per guideline, each with the GPU and the ARM
 * channel counts of the paper. FLOPs stay (nearly) fixed across a table while
 * MAC and structure change, so `analyze` and `guidelines` show what the paper
 * measured as speed.
 *
 * What the paper leaves open, and what we chose:
 * - No BatchNorm anywhere, and no ReLU except in Table 4 (the paper names
 *   none for Tables 1-3; the experiments isolate one variable each).
 * - Table 3 gives one width c per platform. Parallel blocks split the output:
 *   n convs c -> c/n, concatenated, so FLOPs are exactly those of one c -> c
 *   conv. Series blocks chain n convs of width round(c / sqrt(n)), so FLOPs
 *   stay within 1.2% (the whole network then has that width).
 * - Table 4's ResNet bottleneck: 1x1 4c -> c, 3x3 c -> c, 1x1 c -> 4c with
 *   c = 32 (ResNet's expansion 4), ReLU after each conv and after the add.
 *
 * @module
 */

import { GraphBuilder, type Tensor } from "../ir/builder.ts";
import type { Graph } from "../ir/graph.ts";
import type { Knobs, KnobSpec, ModelDef } from "./registry.ts";

/** Spatial size of every guideline experiment (paper sec. 2). */
export const SV2_GUIDELINE_SIZE = 56;
/** Number of stacked blocks (paper sec. 2: "stacked by 10 building blocks"). */
export const SV2_GUIDELINE_BLOCKS = 10;

/** Table 1 (G1): (c1, c2) per ratio on GPU and on ARM. */
export const SV2_G1_CHANNELS = {
  gpu: { "1:1": [128, 128], "1:2": [90, 180], "1:6": [52, 312], "1:12": [36, 432] },
  arm: { "1:1": [32, 32], "1:2": [22, 44], "1:6": [13, 78], "1:12": [9, 108] },
} as const;

/**
 * Table 2 (G2): channels c per number of groups on GPU and on ARM. The paper
 * prints c = 180 for g = 8 on ARM, which 8 groups cannot divide; we use 184,
 * the nearest multiple of 8 (FLOPs +3.3% against g = 1 instead of -1.1%).
 */
export const SV2_G2_CHANNELS = {
  gpu: { 1: 128, 2: 180, 4: 256, 8: 360 },
  arm: { 1: 64, 2: 90, 4: 128, 8: 184 },
} as const;

/** Table 3 (G3): width c on GPU and on ARM. */
export const SV2_G3_CHANNELS = { gpu: 128, arm: 64 } as const;

/** Table 4 (G4): bottleneck width c of the ResNet unit (4c outside), both platforms. */
export const SV2_G4_CHANNELS = { gpu: 32, arm: 32 } as const;

/** Table 3's block structures. */
export const SV2_G3_FRAGMENTS = [
  "1",
  "2-series",
  "4-series",
  "2-parallel",
  "4-parallel",
] as const;

type Platform = "gpu" | "arm";

const platformKnob: KnobSpec = {
  name: "platform",
  description: "channel counts of the paper's GPU or ARM experiment",
  type: "string",
  default: "gpu",
  choices: ["gpu", "arm"],
  published: ["gpu", "arm"],
};

function stack(
  name: string,
  knobs: Knobs,
  inChannels: number,
  type: string,
  body: (b: GraphBuilder, x: Tensor) => Tensor,
): Graph {
  const s = SV2_GUIDELINE_SIZE;
  const b = new GraphBuilder(name, [1, inChannels, s, s], { ...knobs });
  let x = b.input;
  b.scope("blocks", () => {
    for (let i = 0; i < SV2_GUIDELINE_BLOCKS; i++) {
      x = b.scope(String(i), () => body(b, x), "block", type);
    }
  });
  return b.build(x);
}

/** `sv2_g1`: two 1x1 convs c1 -> c2 -> c1 per block (Table 1, G1). */
export const sv2G1: ModelDef = {
  name: "sv2_g1",
  family: "shufflenetv2_guidelines",
  summary: "ShuffleNet V2 Table 1 (G1): blocks of two 1x1 convs c1->c2->c1 at fixed FLOPs",
  source: "ShuffleNet V2 (arXiv 1807.11164) sec. 2, Table 1",
  knobs: [
    {
      name: "ratio",
      description: "c1:c2 of the two 1x1 convs",
      type: "string",
      default: "1:1",
      choices: ["1:1", "1:2", "1:6", "1:12"],
      published: ["1:1", "1:2", "1:6", "1:12"],
    },
    platformKnob,
  ],
  build(knobs) {
    const [c1, c2] =
      SV2_G1_CHANNELS[knobs.platform as Platform][knobs.ratio as keyof typeof SV2_G1_CHANNELS.gpu];
    return stack("sv2_g1", knobs, c1, "g1_block", (b, x) => {
      const y = b.conv2d(x, { out: c2, kernel: 1 }, "conv1");
      return b.conv2d(y, { out: c1, kernel: 1 }, "conv2");
    });
  },
};

/** `sv2_g2`: one 1x1 group conv c -> c per block (Table 2, G2). */
export const sv2G2: ModelDef = {
  name: "sv2_g2",
  family: "shufflenetv2_guidelines",
  summary: "ShuffleNet V2 Table 2 (G2): 10 stacked 1x1 group convs at fixed FLOPs",
  source: "ShuffleNet V2 (arXiv 1807.11164) sec. 2, Table 2",
  knobs: [
    {
      name: "groups",
      description: "groups of every 1x1 conv",
      type: "number",
      default: 1,
      integer: true,
      choices: [1, 2, 4, 8],
      published: [1, 2, 4, 8],
    },
    platformKnob,
  ],
  build(knobs) {
    const g = knobs.groups as 1 | 2 | 4 | 8;
    const c = SV2_G2_CHANNELS[knobs.platform as Platform][g];
    return stack(
      "sv2_g2",
      knobs,
      c,
      "g2_block",
      (b, x) => b.conv2d(x, { out: c, kernel: 1, groups: g }, "conv"),
    );
  },
};

/** Width of each conv of a Table 3 block, and the network's width. */
export function sv2G3Widths(
  fragments: (typeof SV2_G3_FRAGMENTS)[number],
  c: number,
): { width: number; conv: number; n: number; parallel: boolean } {
  const [count, arrangement] = fragments.split("-");
  const n = Number(count);
  const parallel = arrangement === "parallel";
  if (parallel) return { width: c, conv: c / n, n, parallel };
  const w = Math.round(c / Math.sqrt(n));
  return { width: w, conv: w, n, parallel };
}

/** `sv2_g3`: 1 to 4 1x1 convs in series or in parallel per block (Table 3, G3). */
export const sv2G3: ModelDef = {
  name: "sv2_g3",
  family: "shufflenetv2_guidelines",
  summary: "ShuffleNet V2 Table 3 (G3): 1-4 fragments in series or parallel at fixed FLOPs",
  source: "ShuffleNet V2 (arXiv 1807.11164) sec. 2, Table 3 and appendix Fig. 1",
  knobs: [
    {
      name: "fragments",
      description: "fragments per block and their arrangement",
      type: "string",
      default: "1",
      choices: SV2_G3_FRAGMENTS,
      published: SV2_G3_FRAGMENTS,
    },
    platformKnob,
  ],
  build(knobs) {
    const c = SV2_G3_CHANNELS[knobs.platform as Platform];
    const w = sv2G3Widths(knobs.fragments as (typeof SV2_G3_FRAGMENTS)[number], c);
    return stack("sv2_g3", knobs, w.width, "g3_block", (b, x) => {
      if (!w.parallel) {
        let y = x;
        for (let i = 0; i < w.n; i++) y = b.conv2d(y, { out: w.conv, kernel: 1 }, `conv${i + 1}`);
        return y;
      }
      const parts: Tensor[] = [];
      for (let i = 0; i < w.n; i++) {
        parts.push(b.conv2d(x, { out: w.conv, kernel: 1 }, `conv${i + 1}`));
      }
      return b.concat(parts, "concat");
    });
  },
};

/** `sv2_g4`: a ResNet bottleneck with ReLU and/or shortcut removed (Table 4, G4). */
export const sv2G4: ModelDef = {
  name: "sv2_g4",
  family: "shufflenetv2_guidelines",
  summary: "ShuffleNet V2 Table 4 (G4): ResNet bottleneck with ReLU and/or shortcut removed",
  source: "ShuffleNet V2 (arXiv 1807.11164) sec. 2, Table 4",
  knobs: [
    {
      name: "relu",
      description: "ReLU after each conv and after the add",
      type: "string",
      default: "on",
      choices: ["on", "off"],
      published: ["on", "off"],
    },
    {
      name: "shortcut",
      description: "identity shortcut added to the block output",
      type: "string",
      default: "on",
      choices: ["on", "off"],
      published: ["on", "off"],
    },
    platformKnob,
  ],
  build(knobs) {
    const c = SV2_G4_CHANNELS[knobs.platform as Platform];
    const relu = knobs.relu === "on";
    const shortcut = knobs.shortcut === "on";
    return stack("sv2_g4", knobs, 4 * c, "resnet_bottleneck", (b, x) => {
      const act = (t: Tensor, name: string) => (relu ? b.relu(t, name) : t);
      let y = act(b.conv2d(x, { out: c, kernel: 1 }, "conv1"), "relu1");
      y = act(b.conv2d(y, { out: c, kernel: 3 }, "conv2"), "relu2");
      y = b.conv2d(y, { out: 4 * c, kernel: 1 }, "conv3");
      if (shortcut) y = b.addTensors(y, x, "add");
      return act(y, "relu3");
    });
  },
};

/** The four guideline micro-networks, in table order. */
export const SV2_GUIDELINE_MODELS: readonly ModelDef[] = [sv2G1, sv2G2, sv2G3, sv2G4];

/**
 * Every configuration of Tables 1-4 on both platforms, as `[model, knobs]`
 * pairs in table order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sv2GuidelineVariants } from "./sv2_guidelines.ts";
 * const v = sv2GuidelineVariants();
 * assert.equal(v.length, 2 * (4 + 4 + 5 + 4)); // two platforms x Tables 1-4
 * assert.deepEqual(v[0], { model: "sv2_g1", knobs: { ratio: "1:1", platform: "gpu" } });
 * ```
 */
export function sv2GuidelineVariants(): { model: string; knobs: Knobs }[] {
  const out: { model: string; knobs: Knobs }[] = [];
  for (const platform of ["gpu", "arm"]) {
    for (const ratio of ["1:1", "1:2", "1:6", "1:12"]) {
      out.push({ model: "sv2_g1", knobs: { ratio, platform } });
    }
    for (const groups of [1, 2, 4, 8]) out.push({ model: "sv2_g2", knobs: { groups, platform } });
    for (const fragments of SV2_G3_FRAGMENTS) {
      out.push({ model: "sv2_g3", knobs: { fragments, platform } });
    }
    for (const [relu, shortcut] of [["on", "on"], ["on", "off"], ["off", "on"], ["off", "off"]]) {
      out.push({ model: "sv2_g4", knobs: { relu, shortcut, platform } });
    }
  }
  return out;
}
