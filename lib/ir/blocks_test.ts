import assert from "node:assert/strict";
import { GraphBuilder, type Tensor } from "./builder.ts";
import {
  bneck,
  convBnAct,
  depthwiseSeparable,
  fire,
  invertedResidual,
  makeDivisible,
  shuffleV1Unit,
  shuffleV2Unit,
  squeezeExcite,
  stage,
} from "./blocks.ts";
import type { Graph } from "./graph.ts";
import { inferShapes } from "../analysis/shapes.ts";
import { estimateCost, sumCosts } from "../analysis/cost.ts";

function graphOf(shape: number[], body: (b: GraphBuilder, x: Tensor) => Tensor): Graph {
  const b = new GraphBuilder("t", shape);
  return b.build(body(b, b.input));
}

function totals(g: Graph) {
  return sumCosts(estimateCost(inferShapes(g)));
}

function names(g: Graph): string[] {
  return g.nodes.map((n) => n.name);
}

Deno.test("makeDivisible() matches torchvision's _make_divisible", () => {
  assert.equal(makeDivisible(32 * 1.4, 8), 48); // 44.8 -> int(48.8) // 8 * 8 = 48
  assert.equal(makeDivisible(16 * 0.35, 8), 8); // 5.6 -> min_value 8
  assert.equal(makeDivisible(32 * 0.35, 8), 16); // 11.2 -> 8, but 8 < 0.9 * 11.2, so + 8
  assert.equal(makeDivisible(72 * 0.75, 8), 56); // 54 -> int(58) // 8 * 8 = 56
  assert.equal(makeDivisible(1280, 8), 1280);
});

Deno.test("convBnAct() names conv, bn and activation as Sequential children 0, 1, 2", () => {
  const g = graphOf(
    [1, 16, 10, 10],
    (b, x) =>
      b.scope(
        "features",
        () => convBnAct(b, x, { out: 32, kernel: 5, stride: 2, act: "hardswish", bnEps: 1e-3 }),
      ),
  );
  assert.deepEqual(names(g), ["features.0.0", "features.0.1", "features.0.2"]);
  assert.deepEqual(g.nodes.map((n) => n.kind), ["conv2d", "batch_norm", "hardswish"]);
  const conv = g.nodes[0];
  assert.ok(conv.kind === "conv2d");
  assert.deepEqual(conv.attrs.padding, [2, 2, 2, 2]); // (5 - 1) / 2
  assert.equal(conv.attrs.bias, false);
  assert.ok(g.nodes[1].kind === "batch_norm" && g.nodes[1].attrs.eps === 1e-3);
  assert.deepEqual(g.scopes, [{ path: "features.0", kind: "block", type: "conv_bn_act" }]);
  assert.deepEqual(inferShapes(g).shapes.get("features.0.2"), [1, 32, 5, 5]);
});

Deno.test("convBnAct() with act none ends at the BatchNorm", () => {
  const g = graphOf([1, 8, 4, 4], (b, x) => convBnAct(b, x, { out: 8, kernel: 1, act: "none" }));
  assert.deepEqual(names(g), ["0.0", "0.1"]);
});

Deno.test("fire() concatenates the 1x1 and 3x3 expands; every conv has a bias", () => {
  const g = graphOf(
    [1, 96, 54, 54],
    (b, x) => fire(b, x, { squeeze: 16, expand1x1: 64, expand3x3: 64 }, "fire"),
  );
  assert.deepEqual(names(g), [
    "fire.squeeze",
    "fire.squeeze_activation",
    "fire.expand1x1",
    "fire.expand1x1_activation",
    "fire.expand3x3",
    "fire.expand3x3_activation",
    "fire.concat",
  ]);
  const t = totals(g);
  // squeeze 96x16 + 16, expand1x1 16x64 + 64, expand3x3 16x9x64 + 64
  assert.equal(t.params.total, 96 * 16 + 16 + 16 * 64 + 64 + 16 * 9 * 64 + 64);
  assert.equal(t.madds, 54 * 54 * (96 * 16 + 16 * 64 + 16 * 9 * 64));
  assert.deepEqual(inferShapes(g).shapes.get("fire.concat"), [1, 128, 54, 54]);
});

Deno.test("depthwiseSeparable() costs h*w*(9*c + c*c') MAdds (MobileNet V1 eq. 5)", () => {
  const g = graphOf([1, 32, 112, 112], (b, x) => depthwiseSeparable(b, x, { out: 64 }, "ds"));
  assert.deepEqual(names(g), ["ds.dw.0", "ds.dw.1", "ds.dw.2", "ds.pw.0", "ds.pw.1", "ds.pw.2"]);
  const t = totals(g);
  assert.equal(t.madds, 112 * 112 * (9 * 32 + 32 * 64));
  assert.equal(t.params.weights, 9 * 32 + 32 * 64);
  assert.equal(t.params.bn, 2 * 32 + 2 * 64);
  assert.deepEqual(g.scopes, [{ path: "ds", kind: "block", type: "depthwise_separable" }]);
});

Deno.test("depthwiseSeparable() at stride 2 halves H and W in the depthwise conv", () => {
  const g = graphOf([1, 64, 112, 112], (b, x) => depthwiseSeparable(b, x, { out: 128, stride: 2 }));
  assert.deepEqual(inferShapes(g).shapes.get(g.outputs[0].node), [1, 128, 56, 56]);
});

Deno.test("invertedResidual() follows torchvision's layout and MobileNetV2's block cost", () => {
  const g = graphOf(
    [1, 24, 56, 56],
    (b, x) => invertedResidual(b, x, { out: 24, stride: 1, expandRatio: 6 }, "features.3"),
  );
  assert.deepEqual(names(g), [
    "features.3.conv.0.0",
    "features.3.conv.0.1",
    "features.3.conv.0.2",
    "features.3.conv.1.0",
    "features.3.conv.1.1",
    "features.3.conv.1.2",
    "features.3.conv.2",
    "features.3.conv.3",
    "features.3.add",
  ]);
  // Paper sec. 3.3: h*w*d'*t*(d' + k^2 + d'') with d' = d'' = 24, t = 6, k = 3.
  assert.equal(totals(g).madds, 56 * 56 * 24 * 6 * (24 + 9 + 24));
  const relu6 = g.nodes.filter((n) => n.kind === "relu6").length;
  assert.equal(relu6, 2); // the projection is linear
});

Deno.test("invertedResidual() with expand ratio 1 has no expand conv and no add at stride 2", () => {
  const g = graphOf(
    [1, 32, 112, 112],
    (b, x) => invertedResidual(b, x, { out: 16, stride: 1, expandRatio: 1 }, "features.1"),
  );
  assert.deepEqual(names(g), [
    "features.1.conv.0.0",
    "features.1.conv.0.1",
    "features.1.conv.0.2",
    "features.1.conv.1",
    "features.1.conv.2",
  ]);
  const g2 = graphOf(
    [1, 16, 112, 112],
    (b, x) => invertedResidual(b, x, { out: 24, stride: 2, expandRatio: 6 }, "features.2"),
  );
  assert.ok(!names(g2).includes("features.2.add"));
  assert.deepEqual(inferShapes(g2).shapes.get(g2.outputs[0].node), [1, 24, 56, 56]);
});

Deno.test("squeezeExcite() has torchvision's SqueezeExcitation params: 2 biased 1x1 convs", () => {
  const g = graphOf([1, 72, 28, 28], (b, x) => squeezeExcite(b, x, { squeeze: 24 }, "se"));
  const t = totals(g);
  assert.equal(t.params.total, 72 * 24 + 24 + 24 * 72 + 72); // fc1 weight + bias, fc2 weight + bias
  assert.equal(t.madds, 72 * 24 + 24 * 72); // on a 1x1 map
  const gate = g.nodes.find((n) => n.name === "se.scale_activation");
  assert.ok(gate?.kind === "hardsigmoid");
  assert.deepEqual(gate.attrs, { alpha: 1 / 6, beta: 0.5 });
  assert.deepEqual(g.nodes.at(-1)?.inputs, ["input", "se.scale_activation"]);
});

Deno.test("bneck() nests its squeeze-excite at block.2 and marks only the outer block", () => {
  const g = graphOf([1, 24, 56, 56], (b, x) =>
    bneck(
      b,
      x,
      { kernel: 5, expanded: 72, out: 40, se: true, act: "relu", stride: 2 },
      "features.4",
    ));
  assert.deepEqual(g.scopes, [{ path: "features.4", kind: "block", type: "bneck" }]);
  const se = g.nodes.find((n) => n.name === "features.4.block.2.fc1");
  // torchvision: squeeze channels = make_divisible(72 // 4, 8) = 24
  assert.ok(se?.kind === "conv2d" && se.attrs.outChannels === 24);
  const dw = g.nodes.find((n) => n.name === "features.4.block.1.0");
  assert.ok(dw?.kind === "conv2d" && dw.attrs.groups === 72 && dw.attrs.kernel[0] === 5);
  assert.deepEqual(dw.attrs.padding, [2, 2, 2, 2]);
  assert.ok(g.nodes.filter((n) => n.kind === "batch_norm").every((n) => n.attrs.eps === 1e-3));
  assert.ok(names(g).includes("features.4.block.3.1"));
  assert.ok(!names(g).includes("features.4.block.3.2")); // linear projection
  assert.ok(!names(g).includes("features.4.add"));
});

Deno.test("bneck() without expansion starts at the depthwise conv and adds the input back", () => {
  const g = graphOf(
    [1, 16, 112, 112],
    (b, x) =>
      bneck(b, x, { kernel: 3, expanded: 16, out: 16, se: false, act: "relu", stride: 1 }, "f.1"),
  );
  assert.equal(names(g)[0], "f.1.block.0.0");
  const first = g.nodes[0];
  assert.ok(first.kind === "conv2d" && first.attrs.groups === 16);
  assert.equal(g.outputs[0].node, "f.1.add");
});

Deno.test("shuffleV1Unit() at stride 2 concatenates an avg-pooled shortcut", () => {
  const g = graphOf(
    [1, 240, 28, 28],
    (b, x) => shuffleV1Unit(b, x, { out: 480, stride: 2, groups: 3, mid: 120 }, "u"),
  );
  assert.deepEqual(names(g), [
    "u.branch_main_1.0",
    "u.branch_main_1.1",
    "u.branch_main_1.2",
    "u.shuffle",
    "u.branch_main_1.3",
    "u.branch_main_1.4",
    "u.branch_main_2.0",
    "u.branch_main_2.1",
    "u.branch_proj",
    "u.concat",
    "u.relu",
  ]);
  const s = inferShapes(g).shapes;
  assert.deepEqual(s.get("u.branch_main_2.1"), [1, 240, 14, 14]); // out - in
  assert.deepEqual(s.get("u.branch_proj"), [1, 240, 14, 14]);
  assert.deepEqual(s.get("u.relu"), [1, 480, 14, 14]);
  // No ReLU between the depthwise conv and the second group conv.
  assert.deepEqual(g.nodes.find((n) => n.name === "u.branch_main_2.0")?.inputs, [
    "u.branch_main_1.4",
  ]);
});

Deno.test("shuffleV1Unit() at stride 1 costs hw(2cm/g + 9m) MAdds (ShuffleNet sec. 3.2)", () => {
  const [c, m, g, h] = [240, 60, 3, 28];
  const gr = graphOf(
    [1, c, h, h],
    (b, x) => shuffleV1Unit(b, x, { out: c, stride: 1, groups: g, mid: m }, "u"),
  );
  assert.equal(totals(gr).madds, h * h * (2 * c * m / g + 9 * m));
  assert.equal(gr.outputs[0].node, "u.relu");
  assert.ok(names(gr).includes("u.add"));
  const shuffle = gr.nodes.find((n) => n.name === "u.shuffle");
  assert.ok(shuffle?.kind === "channel_shuffle" && shuffle.attrs.groups === 3);
});

Deno.test("shuffleV1Unit() leaves the first conv ungrouped when asked and skips shuffle at g=1", () => {
  const g = graphOf(
    [1, 24, 56, 56],
    (b, x) =>
      shuffleV1Unit(b, x, { out: 240, stride: 2, groups: 3, mid: 60, groupFirst: false }, "u"),
  );
  const first = g.nodes[0];
  assert.ok(first.kind === "conv2d" && first.attrs.groups === 1);
  const g1 = graphOf(
    [1, 144, 28, 28],
    (b, x) => shuffleV1Unit(b, x, { out: 144, stride: 1, groups: 1, mid: 36 }, "u"),
  );
  assert.ok(!names(g1).includes("u.shuffle"));
});

Deno.test("shuffleV2Unit() at stride 1 splits channels and passes half through", () => {
  const g = graphOf([1, 116, 28, 28], (b, x) => shuffleV2Unit(b, x, { out: 116, stride: 1 }, "u"));
  const split1 = g.nodes.find((n) => n.name === "u.split1");
  const split2 = g.nodes.find((n) => n.name === "u.split2");
  assert.ok(split1?.kind === "split" && split2?.kind === "split");
  assert.deepEqual(split1.attrs, { axis: 1, offset: 0, size: 58 });
  assert.deepEqual(split2.attrs, { axis: 1, offset: 58, size: 58 });
  assert.deepEqual(g.nodes.find((n) => n.name === "u.concat")?.inputs, [
    "u.split1",
    "u.branch2.7",
  ]);
  const t = totals(g);
  // branch2: two 58x58 1x1 convs and one 3x3 depthwise on 58 channels
  assert.equal(t.madds, 28 * 28 * (2 * 58 * 58 + 9 * 58));
  assert.equal(t.params.weights, 2 * 58 * 58 + 9 * 58);
});

Deno.test("shuffleV2Unit() at stride 2 has torchvision's branch1 and halves H and W", () => {
  const g = graphOf([1, 24, 56, 56], (b, x) => shuffleV2Unit(b, x, { out: 116, stride: 2 }, "u"));
  assert.deepEqual(
    names(g).filter((n) => n.includes("branch1")),
    ["u.branch1.0", "u.branch1.1", "u.branch1.2", "u.branch1.3", "u.branch1.4"],
  );
  assert.deepEqual(inferShapes(g).shapes.get("u.shuffle"), [1, 116, 28, 28]);
  const shuffle = g.nodes.find((n) => n.name === "u.shuffle");
  assert.ok(shuffle?.kind === "channel_shuffle" && shuffle.attrs.groups === 2);
});

Deno.test("shuffleV2Unit() at stride 1 rejects an input that is not out channels wide", () => {
  assert.throws(
    () => graphOf([1, 48, 28, 28], (b, x) => shuffleV2Unit(b, x, { out: 116, stride: 1 }, "u")),
    {
      name: "RangeError",
      message: 'Invalid ShuffleNet V2 unit "u": at stride 1 the input needs 116 channels, got 48',
    },
  );
});

Deno.test("stage() marks a stage and its units as blocks, indexed like a Sequential", () => {
  const g = graphOf([1, 24, 56, 56], (b, x) =>
    stage(b, "stage2", () => {
      let y = shuffleV2Unit(b, x, { out: 48, stride: 2 });
      y = shuffleV2Unit(b, y, { out: 48, stride: 1 });
      return y;
    }));
  assert.deepEqual(g.scopes.map((s) => [s.path, s.kind, s.type]), [
    ["stage2", "stage", "stage"],
    ["stage2.0", "block", "shufflenetv2_unit"],
    ["stage2.1", "block", "shufflenetv2_unit"],
  ]);
});
