/**
 * How long the interpreter takes over the whole zoo: every published variant
 * (`publishedVariants()`), in-process. Target: under 100 ms for all variants.
 *
 *   deno bench bench/analyze_bench.ts
 *
 * Three figures: building the graphs, analyzing prebuilt graphs, and both
 * (what `analyze` does per model, minus printing).
 *
 * @module
 */

import { analyze } from "../lib/analysis/report.ts";
import { publishedVariants, zoo } from "../lib/models/zoo.ts";

const variants = publishedVariants();
const graphs = variants.map((v) => zoo.build(v.name, v.knobs));
const layers = graphs.reduce((a, g) => a + g.nodes.length, 0);
const label = `${variants.length} variants, ${layers} layers`;

Deno.bench(`build + analyze every published variant (${label})`, {
  group: "zoo",
  baseline: true,
}, () => {
  for (const v of variants) analyze(zoo.build(v.name, v.knobs));
});

Deno.bench(`analyze every published variant, graphs prebuilt (${label})`, { group: "zoo" }, () => {
  for (const g of graphs) analyze(g);
});

Deno.bench(`build every published variant (${label})`, { group: "zoo" }, () => {
  for (const v of variants) zoo.build(v.name, v.knobs);
});
