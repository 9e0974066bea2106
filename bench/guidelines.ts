/**
 * The ShuffleNet V2 guideline micro-networks (Tables 1-4, ARM channel
 * counts, batch 1, 56x56; lib/models/sv2_guidelines.ts) with the paper's
 * measured speeds beside them, so our images/s can be set next to the
 * paper's and the orderings compared.
 *
 * @module
 */

import type { Knobs } from "../lib/models/registry.ts";

/** One configuration of a guideline table and what the paper measured for it. */
export interface GuidelineConfig {
  table: string;
  config: string;
  model: string;
  knobs: Knobs;
  /** Paper, ARM (Snapdragon 810, batch 1), images/s. */
  paperArm: number;
  /** Paper, GPU (GTX 1080Ti, batch 8, GPU channel counts), batches/s. */
  paperGpu: number;
}

// Figures: ShuffleNet V2 (Ma et al., ECCV 2018, arXiv 1807.11164), Tables 1-4,
// as transcribed in shared/reference/published-figures.md.
/** Every ARM configuration of Tables 1-4 in table order, with the paper's speeds. */
export const GUIDELINE_CONFIGS: readonly GuidelineConfig[] = [
  // Table 1 (G1): c1:c2 of two 1x1 convs at fixed FLOPs.
  ...([["1:1", 76.2, 1480], ["1:2", 72.9, 1296], ["1:6", 69.1, 876], ["1:12", 57.6, 748]] as const)
    .map(([ratio, arm, gpu]) => ({
      table: "Table 1 (G1: equal channel width minimizes MAC)",
      config: `c1:c2 = ${ratio}`,
      model: "sv2_g1",
      knobs: { ratio, platform: "arm" },
      paperArm: arm,
      paperGpu: gpu,
    })),
  // Table 2 (G2): groups of 1x1 convs at fixed FLOPs.
  ...([[1, 40.0, 2451], [2, 35.0, 1725], [4, 32.9, 1026], [8, 27.8, 634]] as const).map((
    [groups, arm, gpu],
  ) => ({
    table: "Table 2 (G2: excessive group convolution increases MAC)",
    config: `g = ${groups}`,
    model: "sv2_g2",
    knobs: { groups, platform: "arm" },
    paperArm: arm,
    paperGpu: gpu,
  })),
  // Table 3 (G3): fragments in series / parallel at fixed FLOPs.
  ...([
    ["1", 40.2, 2446],
    ["2-series", 38.6, 1790],
    ["4-series", 38.4, 752],
    ["2-parallel", 33.4, 1537],
    ["4-parallel", 35.0, 691],
  ] as const).map(([fragments, arm, gpu]) => ({
    table: "Table 3 (G3: network fragmentation reduces parallelism)",
    config: `${fragments} fragment${fragments === "1" ? "" : "s"}`,
    model: "sv2_g3",
    knobs: { fragments, platform: "arm" },
    paperArm: arm,
    paperGpu: gpu,
  })),
  // Table 4 (G4): ReLU and shortcut of a ResNet bottleneck removed.
  ...([
    ["on", "on", 56.7, 2427],
    ["on", "off", 61.9, 2647],
    ["off", "on", 57.3, 2672],
    ["off", "off", 66.3, 2842],
  ] as const).map(([relu, shortcut, arm, gpu]) => ({
    table: "Table 4 (G4: element-wise operations are non-negligible)",
    config: `ReLU ${relu}, shortcut ${shortcut}`,
    model: "sv2_g4",
    knobs: { relu, shortcut, platform: "arm" },
    paperArm: arm,
    paperGpu: gpu,
  })),
];
