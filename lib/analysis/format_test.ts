import assert from "node:assert/strict";
import { GraphBuilder } from "../ir/builder.ts";
import { mobilenetv1 } from "../models/mobilenetv1.ts";
import { zoo } from "../models/zoo.ts";
import { analyze } from "./report.ts";
import {
  CSV_COLUMNS,
  fitPath,
  formatBytes,
  formatCount,
  formatInteger,
  formatPercent,
  formatReport,
  TABLE_WIDTH,
} from "./format.ts";

function toy() {
  const b = new GraphBuilder("toy", [1, 3, 16, 16], { width: 1 });
  let x = b.input;
  x = b.scope(
    "stem",
    () => b.relu(b.batchNorm(b.conv2d(x, { out: 8, kernel: 3, stride: 2 }))),
    "stage",
  );
  x = b.scope("stage2", () => {
    const y = b.scope(undefined, () => b.conv2d(x, { out: 16, kernel: 1, groups: 4 }), "block");
    return b.scope(undefined, () => b.maxPool(y, { kernel: 2 }), "block");
  }, "stage");
  x = b.flatten(b.globalAvgPool(x, "pool"), "flatten");
  return b.build(b.linear(x, { out: 10 }, "fc"));
}

const mobilenet = () => analyze(mobilenetv1.build({ width: 1, resolution: 224, classes: 1000 }));

Deno.test("formatCount() keeps three significant digits with K, M, G", () => {
  assert.equal(formatCount(0), "0");
  assert.equal(formatCount(999), "999");
  assert.equal(formatCount(1000), "1.00K");
  assert.equal(formatCount(12_345), "12.3K");
  assert.equal(formatCount(123_456), "123K");
  assert.equal(formatCount(999_999), "1.00M"); // rounds up into the next unit, not "1000K"
  assert.equal(formatCount(568_740_352), "569M");
  assert.equal(formatCount(1_152_659_944), "1.15G");
});

Deno.test("formatInteger(), formatBytes() and formatPercent() print exact and rounded units", () => {
  assert.equal(formatInteger(4_231_976), "4,231,976");
  assert.equal(formatInteger(0), "0");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(138_654_272), "139 MB");
  assert.equal(formatBytes(1200), "1.20 kB");
  assert.equal(formatPercent(0.94857), "94.86%");
});

Deno.test("formatReport(table) prints layers, stage subtotals, totals and op types", () => {
  const text = formatReport(analyze(toy()), "table");
  const lines = text.split("\n");
  assert.match(lines[0], /^toy {2}width=1$/);
  assert.match(text, /^path +op +output +params +MAdds +MAdds% +MAC +MAC%$/m);
  assert.match(text, /^stem\.0 +conv 3x3\/s2 +1x8x8x8 +216 +13\.8K/m); // 8*3*3*3 weights, 8*8*8*27 MAdds
  assert.match(text, /^stage2\.0\.0 +gconv 1x1 g4 +1x16x8x8 +32 +2\.05K/m); // 16*(8/4) weights
  assert.match(text, /^stage2\.1\.0 +max_pool 2x2\/s2 +1x16x4x4/m);
  assert.match(text, /^stem total +3 layers +1x8x8x8/m);
  assert.match(text, /^stage2 total +2 layers +1x16x4x4/m);
  assert.match(text, /^ {2}MAdds +16,032 +16\.0K/m); // 8*8*8*27 + 8*8*16*2 + 16*10 (stem, gconv, fc)
  assert.match(text, /^conv 3x3 +1 +13\.8K +86\.23%/m); // 13,824 / 16,032
  for (const line of lines) assert.ok(line.length <= 100, `line longer than 100: "${line}"`);
});

Deno.test("formatReport(table) of MobileNet V1 fits 100 columns and shows exact totals", () => {
  const text = formatReport(mobilenet(), "table");
  for (const line of text.split("\n")) {
    assert.ok(line.length <= 100, `line longer than 100 columns: "${line}"`);
  }
  assert.match(text, /^ {2}MAdds +568,740,352 +569M/m); // paper Table 1/7: 569M
  assert.match(text, /^ {2}params +4,231,976 +4\.23M +weights 4,209,088 \+ bias 1,000/m); // 4.2M
  assert.match(text, /^conv1x1 +13 +539M +94\.86% +3\.14M +74\.59%/m); // Table 2 row
});

Deno.test("formatReport(table) with collapse prints one row per group", () => {
  const r = analyze(mobilenetv1.build({ width: 1, resolution: 224, classes: 1000 }), { depth: 1 });
  const text = formatReport(r, "table", { collapse: true });
  const body = text.split("\n").slice(3, 3 + 2 + r.groups.length);
  assert.deepEqual(
    body.slice(2).map((l) => l.split(/\s+/)[0]),
    r.groups.map((g) => g.path),
  );
  assert.match(text, /collapsed to depth 1/);
});

Deno.test("formatReport(md) prints Markdown tables with bold stage subtotals", () => {
  const text = formatReport(analyze(toy()), "md");
  assert.match(text, /^## toy \(width=1\)$/m);
  assert.match(text, /^\| path \| op \| output \| params \| MAdds \| MAdds % \| MAC \|$/m);
  assert.match(text, /^\| --- \| --- \| ---: \|/m);
  assert.match(text, /^\| \*\*`stem total`\*\* \| 3 layers \|/m);
  assert.match(text, /^\| MAdds \| 16,032 \| 16\.0K \|$/m);
});

Deno.test("formatReport(csv) prints one row per layer with exact integers", () => {
  const r = analyze(toy(), { dtype: "float16" });
  const lines = formatReport(r, "csv").trimEnd().split("\n");
  assert.equal(lines[0], CSV_COLUMNS.join(","));
  assert.equal(lines.length, 1 + r.layers.length);
  const stem = lines[1].split(",");
  const col = (name: (typeof CSV_COLUMNS)[number]) => stem[CSV_COLUMNS.indexOf(name)];
  assert.equal(col("path"), "stem.0");
  assert.equal(col("type"), "conv 3x3");
  assert.equal(col("output_shape"), "1x8x8x8");
  assert.equal(Number(col("madds")), 8 * 8 * 8 * 27);
  assert.equal(Number(col("mac_bytes")), 2 * Number(col("mac_elements"))); // float16
  const collapsed = formatReport(r, "csv", { collapse: true }).trimEnd().split("\n");
  assert.equal(collapsed.length, 1 + r.groups.length);
});

Deno.test("formatReport(json) is the report itself", () => {
  const r = analyze(toy());
  assert.deepEqual(JSON.parse(formatReport(r, "json")), r);
});

Deno.test("fitPath() drops leading segments first, keeping the leaf", () => {
  assert.equal(fitPath("features.3.squeeze", 30), "features.3.squeeze");
  assert.equal(fitPath("features.1.block.2.scale_activation", 30), "~.1.block.2.scale_activation");
  assert.equal(fitPath("a_very_long_single_segment_name", 10), "~ment_name"); // "~" + last 9
});

Deno.test("formatReport(table) fits 100 columns for every zoo model, per layer and collapsed", () => {
  assert.equal(TABLE_WIDTH, 100);
  for (const model of zoo.list()) {
    const graph = zoo.build(model.name);
    for (const depth of [undefined, 1, 2]) {
      const text = formatReport(analyze(graph, { depth }), "table", { collapse: !!depth });
      for (const line of text.split("\n")) {
        assert.ok(line.length <= 100, `${model.name} depth ${depth}: "${line}"`);
      }
    }
  }
});
