import assert from "node:assert/strict";
import { GraphBuilder } from "../ir/builder.ts";
import { zoo } from "../models/zoo.ts";
import type { Knobs } from "../models/registry.ts";
import { inferShapes } from "./shapes.ts";
import {
  channelRatio,
  checkGuidelines,
  type Finding,
  type G1Figures,
  g1LowerBound,
  type G2Figures,
  type G3Figures,
  type G4Figures,
} from "./guidelines.ts";

function report(model: string, knobs: Knobs = {}) {
  return checkGuidelines(inferShapes(zoo.build(model, knobs)));
}

function find(findings: Finding[], guideline: string, path: string): Finding {
  const f = findings.find((x) => x.guideline === guideline && x.path === path);
  assert.ok(f, `no ${guideline} finding for "${path}"`);
  return f;
}

Deno.test("channelRatio() normalizes to the smaller side", () => {
  assert.equal(channelRatio(24, 144), "1:6");
  assert.equal(channelRatio(144, 24), "6:1");
  assert.equal(channelRatio(58, 58), "1:1");
  assert.equal(channelRatio(24, 58), "1:2.42");
});

Deno.test("g1LowerBound() is met exactly at c1 = c2 and exceeded otherwise (Eq. 1)", () => {
  const hw = 28 * 28;
  assert.equal(g1LowerBound(hw * 64 * 64, hw), hw * 128 + 64 * 64);
  const b = hw * 32 * 128; // same FLOPs as 64x64, ratio 1:4
  assert.ok(hw * (32 + 128) + 32 * 128 > g1LowerBound(b, hw));
});

Deno.test("checkGuidelines() G1 figures of a 1x1 conv are the paper's formulas", () => {
  const b = new GraphBuilder("t", [1, 24, 56, 56]);
  const g = b.build(b.conv2d(b.input, { out: 144, kernel: 1 }, "expand"));
  const f = checkGuidelines(inferShapes(g)).findings[0];
  assert.equal(f.guideline, "G1");
  const x = f.figures as G1Figures;
  const hw = 56 * 56, B = hw * 24 * 144;
  assert.equal(x.madds, B);
  assert.equal(x.mac, hw * (24 + 144) + 24 * 144); // input + output + weights
  assert.equal(x.macLowerBound, Math.round(2 * Math.sqrt(hw * B) + B / hw));
  assert.equal(
    x.excessPercent,
    Math.round((x.mac / (2 * Math.sqrt(hw * B) + B / hw) - 1) * 1000) / 10,
  );
  assert.equal(f.severity, "warn");
});

Deno.test("checkGuidelines() trips G1 on MobileNetV2's 1:6 expansion convs", () => {
  const r = report("mobilenetv2");
  // features.2 is the first t=6 block: 16 -> 96 at 112x112 (paper Table 2).
  const f = find(r.findings, "G1", "features.2.conv.0.0");
  assert.equal((f.figures as G1Figures).ratio, "1:6");
  assert.equal(f.severity, "warn");
  // The weights c1*c2 sit in MAC and in the bound alike, so the excess shrinks as
  // the map does: every 1:6 conv warns down to 28x28, is at least info at 14x14
  // (96 -> 576: +26.8%), and passes at 7x7 (160 -> 960: +8.6%).
  const sixes = r.findings.filter((x) =>
    x.guideline === "G1" && (x.figures as G1Figures).ratio === "1:6"
  );
  const at = (min: number) => sixes.filter((x) => (x.figures as G1Figures).hw >= min);
  assert.equal(at(28 * 28).length, 6); // features.2 to features.7
  assert.ok(at(28 * 28).every((x) => x.severity === "warn"));
  assert.ok(at(14 * 14).every((x) => x.severity !== "pass"));
  assert.equal(r.summary.G1.severity, "warn");
});

Deno.test("checkGuidelines() passes G1 and G2 on every ShuffleNet V2 unit after the stem", () => {
  for (const width of [0.5, 1, 1.5, 2]) {
    const r = report("shufflenetv2", { width });
    // stage2.0 reads the 24-channel stem and widens it to half the stage width
    // (24 -> 88 at 1.5x: 21% above the bound); every other unit keeps c_in = c_out.
    const units = r.findings.filter((f) =>
      (f.guideline === "G1" || f.guideline === "G2") && f.path.startsWith("stage") &&
      !f.path.startsWith("stage2.0.")
    );
    assert.ok(units.length > 30);
    for (const f of units) assert.equal(f.severity, "pass", `${width}x ${f.path}: ${f.message}`);
    assert.equal(r.summary.G2.checked, 0); // no grouped convs besides depthwise
  }
});

Deno.test("checkGuidelines() G2 factor is Eq. 2 against g = 1 at equal FLOPs", () => {
  const b = new GraphBuilder("t", [1, 240, 28, 28]);
  const g = b.build(b.conv2d(b.input, { out: 60, kernel: 1, groups: 3 }, "gconv"));
  const f = find(checkGuidelines(inferShapes(g)).findings, "G2", "gconv");
  const x = f.figures as G2Figures;
  const hw = 28 * 28, B = hw * 240 * 60 / 3;
  assert.equal(x.mac, hw * 240 + B * 3 / 240 + B / hw); // Eq. 2 with g = 3
  assert.equal(x.macAtG1, hw * 240 + B / 240 + B / hw); // Eq. 2 with g = 1
  assert.equal(x.factor, Math.round((x.mac / x.macAtG1) * 1000) / 1000);
});

Deno.test("checkGuidelines() scores ShuffleNet V1 g=8 worse on G2 than g=1", () => {
  const g1 = report("shufflenetv1", { groups: 1 }).summary.G2;
  const g8 = report("shufflenetv1", { groups: 8 }).summary.G2;
  assert.equal(g1.severity, "pass");
  assert.equal(g1.figures.extraMacShare, 0);
  assert.ok((g8.figures.extraMacShare as number) > 0.05);
  assert.ok((g8.figures.maxFactor as number) > 1.4);
  assert.equal(g8.severity, "warn");
  const g3 = report("shufflenetv1", { groups: 3 }).summary.G2;
  assert.ok((g3.figures.extraMacShare as number) < (g8.figures.extraMacShare as number));
});

Deno.test("checkGuidelines() G3 counts ops, branches and depth of ShuffleNet V2 units", () => {
  const r = report("shufflenetv2");
  // Stride 2: branch1 (dw, 1x1) beside branch2 (1x1, dw, 1x1).
  const down = find(r.findings, "G3", "stage2.0").figures as G3Figures;
  assert.deepEqual(
    [down.fragmentedOps, down.parallelBranches, down.longestPath],
    [5, 2, 3],
  );
  // Stride 1: the identity half has no op; branch2 is 3 ops in series.
  const unit = find(r.findings, "G3", "stage2.1").figures as G3Figures;
  assert.deepEqual([unit.fragmentedOps, unit.parallelBranches, unit.longestPath], [3, 1, 3]);
  // SqueezeNet Fire: squeeze, then expand1x1 beside expand3x3.
  const fire = find(report("squeezenet1_0").findings, "G3", "features.3").figures as G3Figures;
  assert.deepEqual([fire.fragmentedOps, fire.parallelBranches, fire.longestPath], [3, 2, 2]);
});

Deno.test("checkGuidelines() G4 shares count ReLU, add, BN and depthwise conv", () => {
  const b = new GraphBuilder("t", [1, 8, 10, 10]);
  const y = b.scope(
    "blk",
    () => {
      const c = b.conv2d(b.input, { out: 8, kernel: 1 }, "pw");
      const d = b.conv2d(c, { out: 8, kernel: 3, groups: 8 }, "dw");
      const n = b.batchNorm(d, "bn");
      const r = b.relu(n, "relu");
      return b.addTensors(r, b.input, "add");
    },
    "block",
    "test",
  );
  const rep = checkGuidelines(inferShapes(b.build(y)));
  const f = find(rep.findings, "G4", "blk").figures as G4Figures;
  const e = 800; // elements of one 8x10x10 map
  const pw = 2 * e + 64, dw = 2 * e + 72, bn = 2 * e + 4 * 8, relu = 2 * e, add = 3 * e;
  assert.equal(f.elementwiseMac, dw + bn + relu + add);
  assert.equal(f.mac, pw + dw + bn + relu + add);
  assert.equal(f.maddsShare, Math.round((e * 9 / (e * 8 + e * 9)) * 1e4) / 1e4);
  // Fused: BN and ReLU vanish, the add keeps reading its second input.
  assert.equal(f.macShareIfFused, Math.round(((dw + e) / (pw + dw + e)) * 1e4) / 1e4);
  assert.deepEqual(rep.summary.G4.figures, { ...f });
});

Deno.test("checkGuidelines() G4 counts every pointwise and normalize kind from its op record", () => {
  const b = new GraphBuilder("t", [1, 8, 10, 10]);
  const y = b.scope(
    "blk",
    () => {
      const c = b.conv2d(b.input, { out: 8, kernel: 1 }, "pw");
      const p = b.prelu(c, "prelu");
      const a = b.affine(p, 8, "affine");
      const t = b.unary("tanh", a, "tanh");
      const d = b.binary("div", t, b.input, "div");
      return b.instanceNorm(d, "inorm");
    },
    "block",
    "test",
  );
  const rep = checkGuidelines(inferShapes(b.build(y)));
  const f = find(rep.findings, "G4", "blk").figures as G4Figures;
  const e = 800; // elements of one 8x10x10 map
  // MAC = inputs read + output written + parameters read.
  const pw = 2 * e + 8 * 8;
  const prelu = 2 * e + 8; // 8 slopes
  const affine = 2 * e + 2 * 8; // scale and shift per channel
  const tanh = 2 * e;
  const div = 3 * e; // two operands and the output
  const inorm = 2 * e + 2 * 8; // weight and bias per channel
  const ew = prelu + affine + tanh + div + inorm;
  assert.equal(f.elementwiseMac, ew);
  assert.equal(f.mac, pw + ew);
  assert.equal(f.macShare, Math.round((ew / (pw + ew)) * 1e4) / 1e4);
  assert.equal(f.maddsShare, 0); // no depthwise conv: element-wise ops have no MAdds
  // FLOPs: pw 2 x MAdds = 2*8*e; prelu 2, affine 2, tanh 1, div 1, instance norm 8 per element.
  const ewFlops = (2 + 2 + 1 + 1 + 8) * e;
  assert.equal(f.flopsShare, Math.round((ewFlops / (2 * 8 * e + ewFlops)) * 1e4) / 1e4);
  // Fused into the conv's epilogue: prelu and affine still read their parameters, div
  // its second operand; the instance norm needs its whole plane first, so all of it stays.
  const kept = 8 + 2 * 8 + 0 + e + inorm;
  assert.equal(f.macShareIfFused, Math.round((kept / (pw + kept)) * 1e4) / 1e4);
  assert.equal(rep.findings.find((x) => x.guideline === "G4")!.severity, "warn"); // > 50% of MAC
});

Deno.test("checkGuidelines() finds a higher element-wise MAC share in MobileNetV2 than in V1", () => {
  const v1 = report("mobilenetv1").summary.G4.figures;
  const v2 = report("mobilenetv2").summary.G4.figures;
  assert.ok((v2.macShare as number) > (v1.macShare as number));
  assert.ok((v2.maddsShare as number) > (v1.maddsShare as number));
  // Element-wise work is a much larger share of MAC than of MAdds (the point of G4).
  assert.ok((v2.macShare as number) > 5 * (v2.maddsShare as number));
});

Deno.test("checkGuidelines() gives every finding a message and a suggestion", () => {
  const r = report("mobilenetv3_small");
  for (const f of r.findings) {
    assert.ok(f.message.length > 10 && !f.message.includes("NaN"), f.message);
    assert.ok(f.suggestion.length > 10);
  }
  for (const s of Object.values(r.summary)) assert.ok(s.text.length > 10);
});
