import assert from "node:assert/strict";
import { GraphBuilder } from "../ir/builder.ts";
import { shuffleV2Unit } from "../ir/blocks.ts";
import { zoo } from "../models/zoo.ts";
import { inferShapes } from "./shapes.ts";
import { materializedMemory, peakMemory } from "./memory.ts";

Deno.test("peakMemory() frees a tensor after its last reader and keeps the input while read", () => {
  const b = new GraphBuilder("t", [1, 4, 8, 8]); // 256 elements
  const a = b.conv2d(b.input, { out: 8, kernel: 1 }, "a"); // 512
  const c = b.conv2d(a, { out: 2, kernel: 1 }, "c"); // 128
  const d = b.conv2d(b.input, { out: 2, kernel: 1 }, "d"); // 128, reads the input last
  const g = b.build(b.concat([c, d], "cat")); // 256
  const m = peakMemory(inferShapes(g));
  assert.deepEqual(m.steps.map((s) => s.liveElements), [
    256 + 512, // a: input (read again by d) + a
    256 + 512 + 128, // c: input + a + c
    256 + 128 + 128, // d: a is freed after c
    128 + 128 + 256, // cat: the input is freed after d
  ]);
  assert.equal(m.peakElements, 896);
  assert.equal(m.peakNode, "c");
  assert.equal(m.peakBytes, 896 * 4);
  // Zero-copy: c and d write into the concat buffer, allocated when c runs.
  const z = peakMemory(inferShapes(g), { inPlace: true });
  assert.deepEqual(z.steps.map((s) => s.liveElements), [768, 256 + 512 + 256, 256 + 256, 256]);
});

Deno.test("peakMemory() counts flatten and dropout as views in every mode", () => {
  const b = new GraphBuilder("t", [1, 16, 1, 1]);
  const f = b.flatten(b.input, "flat");
  const g = b.build(b.linear(b.dropout(f, 0.2, "drop"), { out: 10 }, "fc"));
  assert.equal(peakMemory(inferShapes(g)).peakElements, 16 + 10);
});

Deno.test("peakMemory() takes views, stored constants and in-place kinds from the op records", () => {
  const b = new GraphBuilder("t", [1, 4, 8, 8]); // 256 elements
  const c = b.conv2d(b.input, { out: 8, kernel: 1 }, "conv"); // 512
  const s = b.unary("silu", c, "silu"); // 512, may overwrite conv
  const k = b.constant([1, 8, 8, 8], "k"); // stored data: no activation buffer
  const d = b.binary("sub", s, k, "sub"); // 512, may overwrite silu
  const r = b.reshape(d, [1, 8, 64], "squeeze"); // a view of sub
  const n = b.layerNorm(r, "ln"); // 512, over the last 64: may overwrite sub
  const g = b.build(
    b.conv2d(b.reshape(n, [1, 8, 8, 8], "unsqueeze"), { out: 2, kernel: 1 }, "out"),
  );
  const naive = peakMemory(inferShapes(g));
  assert.deepEqual(naive.steps.map((x) => x.liveElements), [
    256 + 512, // conv: input + output
    512 + 512, // silu reads conv, writes a new map
    512, // k: parameter data, nothing allocated
    512 + 512, // sub reads silu (and the stored k)
    512, // squeeze: a view of sub
    512 + 512, // ln
    512, // unsqueeze: a view of ln
    512 + 128, // out
  ]);
  const z = peakMemory(inferShapes(g), { inPlace: true });
  // silu, sub and ln each write over the buffer of their dying input: one map all along.
  assert.deepEqual(z.steps.map((x) => x.liveElements), [768, 512, 512, 512, 512, 512, 512, 640]);
  assert.equal(z.peakElements, 256 + 512);
  assert.deepEqual(z.liveAtPeak, ["input", "conv"]);
  // Table 3's view: the stored constant is no activation to materialize.
  const m = materializedMemory(inferShapes(g), { fuseFirstLayer: false });
  assert.ok(m.rows.every((row) => row.tensor !== "k"));
});

Deno.test("peakMemory() in place: split as view, concat slices, element-wise over a dying input", () => {
  // One stride-1 ShuffleNet V2 unit on 1x116x28x28 (torchvision shufflenetv2 layout).
  const b = new GraphBuilder("t", [1, 116, 28, 28]);
  const g = b.build(shuffleV2Unit(b, b.input, { out: 116, stride: 1 }, "unit"));
  const half = 58 * 28 * 28, full = 2 * half;
  const naive = peakMemory(inferShapes(g));
  // Naive: the splits copy their halves, so input + split1 + split2 while split2 runs.
  assert.equal(naive.peakElements, full + half + half);
  assert.equal(naive.peakNode, "unit.split2");
  const z = peakMemory(inferShapes(g), { inPlace: true });
  // In place: the splits alias the input, which stays live until the concat
  // reads split1. BN and ReLU run over their conv's buffer, except the last
  // ReLU, which writes straight into its slice of the concat buffer.
  assert.deepEqual(z.liveAtPeak, ["input", "unit.branch2.5", "unit.concat"]);
  assert.equal(z.peakElements, full + half + full);
  assert.equal(z.peakNode, "unit.branch2.7");
  // The depthwise conv: input + first conv's buffer + its own output.
  const dw = z.steps.find((s) => s.node === "unit.branch2.3")!;
  assert.equal(dw.liveElements, full + half + half);
  // The shuffle is a copy: concat + shuffle (the input died at the concat).
  assert.equal(z.steps.at(-1)!.liveElements, full + full);
});

Deno.test("peakMemory() of MobileNet V1 peaks at the first pointwise conv", () => {
  const m = peakMemory(inferShapes(zoo.build("mobilenetv1")));
  // pw.0 output and its BN output, both 64x112x112 (nothing else is live).
  assert.equal(m.peakElements, 2 * 64 * 112 * 112);
  assert.equal(m.peakNode, "features.1.pw.1");
  const z = peakMemory(inferShapes(zoo.build("mobilenetv1")), { inPlace: true });
  assert.equal(z.peakElements, (32 + 64) * 112 * 112); // dw output + pw output
  assert.equal(z.peakNode, "features.1.pw.0");
});

// MobileNetV2 paper (arXiv 1801.04381) Table 3: the max number of channels and
// memory (16-bit floats) that must be materialized at each spatial resolution.
// The paper's "K" is 1000 bytes and its figures have two significant digits.
function kb(bytes: number): number {
  return bytes / 1000;
}

Deno.test("materializedMemory() matches MobileNetV2 Table 3 for MobileNet V1: 1600K", () => {
  const m = materializedMemory(inferShapes(zoo.build("mobilenetv1")));
  assert.equal(m.max.bytes, 64 * 112 * 112 * 2); // features.1 output, 64 channels at 112x112
  assert.equal(m.max.resolution, "112x112");
  assert.ok(Math.abs(kb(m.max.bytes) / 1600 - 1) < 0.01); // Table 3: 1600K
  assert.deepEqual(m.rows.map((r) => r.channels), [64, 128, 256, 512, 1024, 1024]); // Table 3 column
});

Deno.test("materializedMemory() matches MobileNetV2 Table 3 for MobileNetV2: 400K", () => {
  const m = materializedMemory(inferShapes(zoo.build("mobilenetv2")));
  // The stem's 32 channels are fused into the first bottleneck (the caption's
  // first-layer trick), so the first bottleneck's 16 channels are the max.
  assert.equal(m.max.bytes, 16 * 112 * 112 * 2);
  assert.ok(Math.abs(kb(m.max.bytes) / 400 - 1) < 0.01); // Table 3: 400K
  const unfused = materializedMemory(inferShapes(zoo.build("mobilenetv2")), {
    fuseFirstLayer: false,
  });
  assert.equal(unfused.max.bytes, 32 * 112 * 112 * 2); // the stem output
});

Deno.test("materializedMemory() for ShuffleNet (2x, g=3) against Table 3's 600K", () => {
  const m = materializedMemory(inferShapes(zoo.build("shufflenetv1", { groups: 3, width: 2 })));
  // The 56x56 row agrees with the paper (48 channels, 300K): the 2x stem after maxpool.
  assert.deepEqual(m.rows[0], {
    resolution: "56x56",
    channels: 48,
    elements: 48 * 56 * 56,
    bytes: 48 * 56 * 56 * 2,
    tensor: "maxpool",
  });
  // Our max is stage 2's 480 channels at 28x28 (ShuffleNet V1 Table 1: g=3 has
  // 240 at 1x, so 480 at 2x): 752,640 bytes. Table 3 prints 400 channels / 600K
  // for that row, which are g=2's widths (200 at 1x); 400*28*28*2 = 627,200.
  // So we reproduce the paper's rule, not its ShuffleNet figure: 753K vs 600K.
  assert.equal(m.max.bytes, 480 * 28 * 28 * 2);
  assert.equal(m.max.resolution, "28x28");
  assert.ok(kb(m.max.bytes) / 600 > 1.2);
  // With g=2's widths the same rule lands within 5% of the printed 600K.
  const g2 = materializedMemory(inferShapes(zoo.build("shufflenetv1", { groups: 2, width: 2 })));
  assert.equal(g2.max.bytes, 400 * 28 * 28 * 2);
  assert.ok(Math.abs(kb(g2.max.bytes) / 600 - 1) < 0.05);
});

Deno.test("materializedMemory() counts only block boundaries of MobileNetV2's inverted residuals", () => {
  const m = materializedMemory(inferShapes(zoo.build("mobilenetv2")));
  // The 6x expanded tensors (e.g. 96x112x112) never appear: they are inside blocks.
  for (const r of m.rows) assert.ok(!r.tensor.includes(".conv.0"), r.tensor);
  const r14 = m.rows.find((r) => r.resolution === "14x14")!;
  assert.equal(r14.channels, 96); // the (6, 96, 3, 1) stage's output
});

Deno.test("peakMemory() counts a reshape as a view of its input, as flatten", () => {
  const b = new GraphBuilder("t", [1, 4, 2, 2]); // 16 elements
  const relu = b.relu(b.input, "relu");
  const rows = b.reshape(relu, [1, 16], "rows");
  const cols = b.reshape(relu, [16, 1], "cols");
  const g = b.build(b.binary("add", rows, cols, "outer")); // [16, 16]: 256
  // At "outer": the relu buffer (read through both views) and the 256 written; were the
  // reshapes copies, two more 16-element buffers would be live.
  assert.equal(peakMemory(inferShapes(g)).peakElements, 16 + 256);
});
