/**
 * The model zoo: every network of the six families under the name a user
 * types (`cli.ts list` shows them), and the list of every published variant
 * (`compare`, the zoo benchmark and the published-figures tests walk it).
 *
 * @module
 */

import { type Knobs, type KnobValue, type ModelDef, Registry } from "./registry.ts";
import { squeezenet1_0, squeezenet1_1 } from "./squeezenet.ts";
import { mobilenetv1 } from "./mobilenetv1.ts";
import { mobilenetv2 } from "./mobilenetv2.ts";
import { mobilenetv3_large, mobilenetv3_small } from "./mobilenetv3.ts";
import { shufflenetv1 } from "./shufflenetv1.ts";
import { shufflenetv2 } from "./shufflenetv2.ts";
import { sv2G1, sv2G2, sv2G3, sv2G4 } from "./sv2_guidelines.ts";

/** Every model of the zoo, in the order `list` prints them. */
export const MODELS: readonly ModelDef[] = [
  squeezenet1_0,
  squeezenet1_1,
  mobilenetv1,
  mobilenetv2,
  mobilenetv3_large,
  mobilenetv3_small,
  shufflenetv1,
  shufflenetv2,
  sv2G1,
  sv2G2,
  sv2G3,
  sv2G4,
];

/**
 * The zoo registry: resolve names and aliases, check knobs, build graphs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zoo } from "./zoo.ts";
 * const g = zoo.build("shufflenet_v2_x0_5");
 * assert.equal(g.name, "shufflenetv2");
 * assert.deepEqual(g.meta, { width: 0.5, resolution: 224, classes: 1000 });
 * assert.throws(() => zoo.build("mobilenetv3_large", { groups: 3 }), /has no knob --groups/);
 * ```
 */
export const zoo: Registry = new Registry([...MODELS]);

/**
 * Published variants as grids: each row is a model and, per knob, the values
 * published together (every combination of them was published). Knobs left
 * out take their defaults. Append rows here to add variants.
 */
export const PUBLISHED_GRIDS: Array<{ name: string; grid: Record<string, readonly KnobValue[]> }> =
  [
    { name: "squeezenet1_0", grid: {} },
    { name: "squeezenet1_1", grid: {} },
    // Paper Tables 6 and 7, and the TF-slim checkpoints (every width at every resolution).
    {
      name: "mobilenetv1",
      grid: { width: [1, 0.75, 0.5, 0.25], resolution: [224, 192, 160, 128] },
    },
    // Official checkpoint table (tensorflow/models research/slim/nets/mobilenet).
    { name: "mobilenetv2", grid: { width: [1.4], resolution: [224] } },
    {
      name: "mobilenetv2",
      grid: { width: [1, 0.75, 0.5, 0.35], resolution: [224, 192, 160, 128, 96] },
    },
    // MobileNetV3 paper Table 3.
    { name: "mobilenetv3_large", grid: { width: [1, 0.75] } },
    { name: "mobilenetv3_small", grid: { width: [1, 0.75] } },
    // ShuffleNet V1 paper Table 2 (every g at 1x, 0.5x, 0.25x), Table 5 and the
    // authors' repository (1.5x and 2x for g = 3 and g = 8).
    { name: "shufflenetv1", grid: { groups: [1, 2, 3, 4, 8], width: [1, 0.5, 0.25] } },
    { name: "shufflenetv1", grid: { groups: [3, 8], width: [1.5, 2] } },
    // ShuffleNet V2 paper Table 5 (torchvision x0_5 ... x2_0).
    { name: "shufflenetv2", grid: { width: [0.5, 1, 1.5, 2] } },
    // ShuffleNet V2 paper Tables 1-4: the guideline micro-networks (GPU and ARM widths).
    { name: "sv2_g1", grid: { ratio: ["1:1", "1:2", "1:6", "1:12"], platform: ["gpu", "arm"] } },
    { name: "sv2_g2", grid: { groups: [1, 2, 4, 8], platform: ["gpu", "arm"] } },
    {
      name: "sv2_g3",
      grid: {
        fragments: ["1", "2-series", "4-series", "2-parallel", "4-parallel"],
        platform: ["gpu", "arm"],
      },
    },
    {
      name: "sv2_g4",
      grid: { relu: ["on", "off"], shortcut: ["on", "off"], platform: ["gpu", "arm"] },
    },
  ];

function expand(grid: Record<string, readonly KnobValue[]>): Knobs[] {
  let out: Knobs[] = [{}];
  for (const [key, values] of Object.entries(grid)) {
    out = out.flatMap((k) => values.map((v) => ({ ...k, [key]: v })));
  }
  return out;
}

/**
 * Every published variant of every model, with complete knob values
 * (defaults filled), in zoo order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { publishedVariants } from "./zoo.ts";
 * const v = publishedVariants();
 * assert.ok(v.some((x) => x.name === "mobilenetv1" && x.knobs.width === 0.5 && x.knobs.resolution === 160));
 * assert.equal(v.filter((x) => x.name === "shufflenetv2").length, 4);
 * ```
 */
export function publishedVariants(): Array<{ name: string; knobs: Knobs }> {
  return PUBLISHED_GRIDS.flatMap(({ name, grid }) =>
    expand(grid).map((k) => ({ name, knobs: zoo.knobsFor(name, k).knobs }))
  );
}
