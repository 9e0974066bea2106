import assert from "node:assert/strict";
import { GraphBuilder } from "../ir/builder.ts";
import { mobilenetv1 } from "../models/mobilenetv1.ts";
import { analyze, CONVENTIONS, DTYPE_BYTES, layerType, SCHEMA } from "./report.ts";

/** A two-stage toy: stem conv-bn-relu, then a residual block and a classifier. */
function toy() {
  const b = new GraphBuilder("toy", [1, 3, 16, 16], { width: 1 });
  let x = b.input;
  x = b.scope(
    "stem",
    () => b.relu(b.batchNorm(b.conv2d(x, { out: 8, kernel: 3, stride: 2 }))),
    "stage",
  );
  x = b.scope("stage2", () =>
    b.scope(
      undefined,
      () => {
        const y = b.relu(b.batchNorm(b.conv2d(x, { out: 8, kernel: 3, groups: 8 })));
        return b.addTensors(x, b.conv2d(y, { out: 8, kernel: 1 }));
      },
      "block",
      "residual",
    ), "stage");
  x = b.flatten(b.globalAvgPool(x, "pool"), "flatten");
  return b.build(b.linear(x, { out: 10 }, "fc"));
}

Deno.test("analyze() reports the schema, model, knobs, input and conventions", () => {
  const r = analyze(toy());
  assert.equal(r.schema, SCHEMA);
  assert.equal(r.schema, "lightnets.analysis/1");
  assert.equal(r.model, "toy");
  assert.deepEqual(r.knobs, { width: 1 });
  assert.deepEqual(r.input, [1, 3, 16, 16]);
  assert.equal(r.dtype, "float32");
  assert.deepEqual(r.conventions, CONVENTIONS);
  const named = analyze(toy(), { model: "toy_v2", knobs: { width: 2 } });
  assert.equal(named.model, "toy_v2");
  assert.deepEqual(named.knobs, { width: 2 });
});

Deno.test("analyze() reports per-layer shapes, params, MAdds and MAC", () => {
  const r = analyze(toy());
  const stem = r.layers.find((l) => l.path === "stem.0")!;
  assert.equal(stem.op, "conv2d");
  assert.equal(stem.type, "conv 3x3");
  assert.deepEqual(stem.inputShapes, [[1, 3, 16, 16]]);
  assert.deepEqual(stem.outputShape, [1, 8, 8, 8]);
  assert.equal(stem.params.weights, 8 * 3 * 3 * 3); // out x in x kh x kw
  assert.equal(stem.madds, 8 * 8 * 8 * 3 * 3 * 3); // output elements x in x kh x kw
  assert.equal(stem.mac.elements, 3 * 16 * 16 + 8 * 8 * 8 + 8 * 3 * 3 * 3); // read + write + weights
  assert.equal(stem.mac.bytes, 4 * stem.mac.elements); // float32
  const dw = r.layers.find((l) => l.path === "stage2.0.0")!;
  assert.equal(dw.type, "dwconv 3x3");
  assert.equal(dw.madds, 8 * 8 * 8 * 1 * 3 * 3); // in / groups = 1
  const fc = r.layers.find((l) => l.path === "fc")!;
  assert.equal(fc.type, "fc");
  assert.deepEqual(fc.params, { total: 8 * 10 + 10, weights: 8 * 10, bias: 10, bn: 0 });
});

Deno.test("analyze() totals equal the sum of the layers", () => {
  const r = analyze(toy());
  const sum = (f: (l: (typeof r.layers)[number]) => number) =>
    r.layers.reduce((a, l) => a + f(l), 0);
  assert.equal(r.totals.madds, sum((l) => l.madds));
  assert.equal(r.totals.flops.total, sum((l) => l.flops.total));
  assert.equal(r.totals.mac.elements, sum((l) => l.mac.elements));
  assert.equal(r.totals.params.total, sum((l) => l.params.total));
  assert.equal(r.totals.params.bn, 2 * 8 + 2 * 8); // two BatchNorms of 8 channels: gamma + beta
  assert.equal(r.totals.buffers, 2 * 8 + 2 * 8); // and their running mean + var
  assert.equal(r.totals.activations.elements, sum((l) => l.activations));
  assert.deepEqual(r.totals.activations.largest, {
    path: "stem.0",
    elements: 8 * 8 * 8,
    bytes: 4 * 8 * 8 * 8,
  });
});

Deno.test("analyze() counts MAC and activation bytes in the chosen dtype", () => {
  for (const dtype of ["float32", "float16", "int8"] as const) {
    const r = analyze(toy(), { dtype });
    assert.equal(r.totals.mac.dtype, dtype);
    assert.equal(r.totals.mac.bytes, DTYPE_BYTES[dtype] * r.totals.mac.elements);
    assert.equal(r.totals.activations.bytes, DTYPE_BYTES[dtype] * r.totals.activations.elements);
    for (const l of r.layers) assert.equal(l.mac.bytes, DTYPE_BYTES[dtype] * l.mac.elements);
  }
  assert.equal(DTYPE_BYTES.float16, 2);
  assert.throws(
    () => analyze(toy(), { dtype: "float64" as "float32" }),
    /Invalid dtype "float64": expected one of float32, float16, int8/,
  );
});

Deno.test("analyze() groups layers by path prefix of the chosen depth", () => {
  const r1 = analyze(toy());
  assert.equal(r1.depth, 1);
  assert.deepEqual(r1.groups.map((g) => g.path), ["stem", "stage2", "pool", "flatten", "fc"]);
  const stage2 = r1.groups.find((g) => g.path === "stage2")!;
  assert.equal(stage2.type, "stage");
  assert.equal(stage2.layers, 5);
  assert.deepEqual(stage2.outputShape, [1, 8, 8, 8]);
  const r2 = analyze(toy(), { depth: 2 });
  const block = r2.groups.find((g) => g.path === "stage2.0")!;
  assert.equal(block.type, "residual");
  assert.equal(block.madds, 8 * 8 * 8 * 9 + 8 * 8 * 8 * 8); // dw 3x3 + pointwise 8 -> 8
  assert.throws(
    () => analyze(toy(), { depth: 0 }),
    /Invalid depth "0": expected a positive integer/,
  );
});

Deno.test("analyze() sums the scopes marked as stages", () => {
  const r = analyze(toy());
  assert.deepEqual(r.stages.map((s) => [s.path, s.layers]), [["stem", 3], ["stage2", 5]]);
  assert.equal(r.stages[0].madds, 8 * 8 * 8 * 27);
});

Deno.test("layerType() classifies grouped convs that are not depthwise as gconv", () => {
  const b = new GraphBuilder("g", [1, 12, 4, 4]);
  const g = b.build(b.conv2d(b.input, { out: 24, kernel: 1, groups: 3 }, "g"));
  assert.equal(layerType(g.nodes[0]), "gconv 1x1");
  const b2 = new GraphBuilder("m", [1, 12, 4, 4]);
  const g2 = b2.build(b2.conv2d(b2.input, { out: 24, kernel: 3, groups: 12 }, "dwx2"));
  assert.equal(layerType(g2.nodes[0]), "dwconv 3x3"); // depth multiplier 2 is still depthwise
});

Deno.test("analyze() byOpType reproduces MobileNet V1 1.0-224 resource per layer type", () => {
  const r = analyze(mobilenetv1.build({ width: 1, resolution: 224, classes: 1000 }));
  const row = (type: string) => {
    const t = r.byOpType.find((o) => o.type === type);
    assert.ok(t, `no row "${type}" in ${r.byOpType.map((o) => o.type).join(", ")}`);
    return t;
  };
  const pct = (f: number) => Math.round(f * 10000) / 100;
  // MobileNet V1 (arXiv 1704.04861) Table 2, "Resource per layer type": Mult-Adds % / Parameters %.
  // The paper's parameters are conv and FC weights only, so compare share.weights.
  assert.equal(pct(row("conv1x1").share.madds), 94.86);
  assert.equal(pct(row("conv1x1").share.weights), 74.59);
  assert.equal(pct(row("dwconv 3x3").share.madds), 3.06);
  assert.equal(pct(row("dwconv 3x3").share.weights), 1.06);
  // Table 2 prints 1.19% for "Conv 3x3" Mult-Adds: a transposition of 1.91%. The first conv has
  // 112*112*32*3*3*3 = 10.84M MAdds of 568.7M = 1.906%, and only 1.91 makes the four rows sum
  // to 100% (94.86 + 3.06 + 1.91 + 0.18 = 100.01; with 1.19 they sum to 99.29).
  assert.equal(pct(row("conv 3x3").share.madds), 1.91);
  assert.equal(pct(row("conv 3x3").share.weights), 0.02);
  assert.equal(pct(row("fc").share.madds), 0.18);
  assert.equal(pct(row("fc").share.weights), 24.33);
  assert.equal(row("conv1x1").layers, 13);
  assert.equal(row("dwconv 3x3").layers, 13);
  assert.equal(r.byOpType[0].type, "conv1x1"); // sorted by MAdds, most first
  const sum = r.byOpType.reduce((a, o) => a + o.share.madds, 0);
  assert.ok(Math.abs(sum - 1) < 1e-12);
});

Deno.test("analyze() report survives a JSON round trip unchanged", () => {
  const r = analyze(toy());
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});
