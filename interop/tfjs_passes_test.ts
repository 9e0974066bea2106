import assert from "node:assert/strict";
import {
  type Built,
  foldBiasAdds,
  foldZeroPads,
  fuseChannelShuffles,
  lowerLoneAffines,
  mergeAffines,
  type PassGraph,
  simplifyClips,
} from "./tfjs_passes.ts";

const f = (...v: number[]) => Float32Array.from(v);
const conv = (name: string, input: string, bias = false): Built => ({
  name,
  kind: "conv2d",
  attrs: {
    inChannels: 2,
    outChannels: 2,
    kernel: [3, 3],
    stride: [2, 2],
    padding: [0, 0, 0, 0],
    dilation: [1, 1],
    groups: 1,
    bias,
  },
  inputs: [input],
});

Deno.test("tfjs passes: Mul then Add of per-channel constants is one affine", () => {
  const g: PassGraph = {
    nodes: [
      { name: "bn.Mul", kind: "affine", attrs: { channels: 2 }, inputs: ["x"] },
      { name: "bn", kind: "affine", attrs: { channels: 2 }, inputs: ["bn.Mul"] },
    ],
    weights: new Map([
      ["bn.Mul.weight", f(2, 3)],
      ["bn.Mul.bias", f(0, 0)],
      ["bn.weight", f(1, 1)],
      ["bn.bias", f(0.5, -1)],
    ]),
    outputs: [{ name: "y", node: "bn" }],
  };
  mergeAffines(g);
  assert.deepEqual(g.nodes.map((n) => [n.name, n.inputs]), [["bn", ["x"]]]);
  // (x * w1 + b1) * w2 + b2 = x * w1 w2 + (b1 w2 + b2)
  assert.deepEqual([...g.weights.get("bn.weight")!], [2, 3]);
  assert.deepEqual([...g.weights.get("bn.bias")!], [0.5, -1]);
  assert.deepEqual([...g.weights.keys()].sort(), ["bn.bias", "bn.weight"]);
});

Deno.test("tfjs passes: an add-only affine after a bias-less conv becomes its bias", () => {
  const g: PassGraph = {
    nodes: [conv("c", "x"), {
      name: "c.add",
      kind: "affine",
      attrs: { channels: 1 },
      inputs: ["c"],
    }],
    weights: new Map([["c.weight", new Float32Array(36)], ["c.add.weight", f(1)], [
      "c.add.bias",
      f(0.25),
    ]]),
    outputs: [{ name: "out", node: "c.add" }],
  };
  foldBiasAdds(g);
  assert.deepEqual(g.nodes.map((n) => n.name), ["c"]);
  assert.equal(g.nodes[0].attrs.bias, true);
  // A scalar shift is the same bias on every output channel.
  assert.deepEqual([...g.weights.get("c.bias")!], [0.25, 0.25]);
  assert.deepEqual(g.outputs, [{ name: "out", node: "c" }]);
});

Deno.test("tfjs passes: a conv read by two nodes keeps its separate bias add", () => {
  const g: PassGraph = {
    nodes: [
      conv("c", "x"),
      { name: "a", kind: "affine", attrs: { channels: 1 }, inputs: ["c"] },
      { name: "r", kind: "relu", attrs: {}, inputs: ["c"] },
    ],
    weights: new Map([["c.weight", new Float32Array(36)], ["a.weight", f(1)], ["a.bias", f(1)]]),
    outputs: [{ name: "a", node: "a" }, { name: "r", node: "r" }],
  };
  foldBiasAdds(g);
  assert.equal(g.nodes.length, 3);
});

Deno.test("tfjs passes: a zero pad of H and W before a conv becomes its padding", () => {
  const g: PassGraph = {
    nodes: [
      {
        name: "pad",
        kind: "pad",
        attrs: { pads: [0, 0, 0, 0, 0, 0, 1, 1], mode: "constant", value: 0 },
        inputs: ["x"],
      },
      conv("dw", "pad"),
    ],
    weights: new Map(),
    outputs: [{ name: "y", node: "dw" }],
  };
  foldZeroPads(g);
  assert.deepEqual(g.nodes.map((n) => [n.name, n.inputs]), [["dw", ["x"]]]);
  // IR pads are [top, left, bottom, right]; Keras' ZeroPadding2D(((0, 1), (0, 1))).
  assert.deepEqual(g.nodes[0].attrs.padding, [0, 0, 1, 1]);
});

Deno.test("tfjs passes: a channel pad or a reflect pad stays a pad", () => {
  for (
    const attrs of [
      { pads: [0, 0, 0, 0, 0, 4, 0, 0], mode: "constant", value: 0 },
      { pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: "reflect", value: 0 },
    ]
  ) {
    const g: PassGraph = {
      nodes: [{ name: "pad", kind: "pad", attrs, inputs: ["x"] }, conv("c", "pad")],
      weights: new Map(),
      outputs: [{ name: "y", node: "c" }],
    };
    foldZeroPads(g);
    assert.equal(g.nodes.length, 2);
  }
});

Deno.test("tfjs passes: max(x, 0), relu and min(., 6) in a chain are one relu6", () => {
  const g: PassGraph = {
    nodes: [
      { name: "m", kind: "clip", attrs: { min: 0, max: Infinity }, inputs: ["x"] },
      { name: "r", kind: "relu", attrs: {}, inputs: ["m"] },
      { name: "six", kind: "clip", attrs: { min: -Infinity, max: 6 }, inputs: ["r"] },
    ],
    weights: new Map(),
    outputs: [{ name: "y", node: "six" }],
  };
  simplifyClips(g);
  // max(x, 0), relu again, then min(., 6): one relu6 of x.
  assert.deepEqual(g.nodes.map((n) => [n.name, n.kind, n.inputs]), [["six", "relu6", ["x"]]]);
});

Deno.test("tfjs passes: min(x, 6) then max(., 0) (Keras' clip_by_value order) is relu6", () => {
  const g: PassGraph = {
    nodes: [
      { name: "min", kind: "clip", attrs: { min: -Infinity, max: 6 }, inputs: ["x"] },
      { name: "act", kind: "clip", attrs: { min: 0, max: Infinity }, inputs: ["min"] },
      { name: "lo", kind: "clip", attrs: { min: -1, max: 0.5 }, inputs: ["act"] },
    ],
    weights: new Map(),
    outputs: [{ name: "y", node: "lo" }, { name: "a", node: "act" }],
  };
  simplifyClips(g);
  // "act" is an output, so "lo" keeps reading it: clip(-1, 0.5) stays a clip.
  assert.deepEqual(g.nodes.map((n) => [n.name, n.kind, n.inputs, n.attrs]), [
    ["act", "relu6", ["x"], {}],
    ["lo", "clip", ["act"], { min: -1, max: 0.5 }],
  ]);
});

Deno.test("tfjs passes: NHWC reshape-transpose-reshape between layout transposes is one channel_shuffle", () => {
  const t = (name: string, input: string, perm: number[]): Built => ({
    name,
    kind: "transpose",
    attrs: { perm },
    inputs: [input],
  });
  const g: PassGraph = {
    nodes: [
      conv("c", "x"),
      t("c.to_nhwc", "c", [0, 2, 3, 1]),
      { name: "r1", kind: "reshape", attrs: { shape: [1, 4, 4, 2, 3] }, inputs: ["c.to_nhwc"] },
      t("swap", "r1", [0, 1, 2, 4, 3]),
      { name: "shuffle", kind: "reshape", attrs: { shape: [1, 4, 4, 6] }, inputs: ["swap"] },
      t("shuffle.to_nchw", "shuffle", [0, 3, 1, 2]),
      { name: "dw", kind: "relu", attrs: {}, inputs: ["shuffle.to_nchw"] },
    ],
    weights: new Map(),
    outputs: [{ name: "y", node: "dw" }],
  };
  fuseChannelShuffles(g);
  assert.deepEqual(g.nodes.map((n) => [n.name, n.kind, n.inputs]), [
    ["c", "conv2d", ["x"]],
    ["shuffle", "channel_shuffle", ["c"]],
    ["dw", "relu", ["shuffle"]],
  ]);
  // [N, H, W, g, C/g] with g = 2 groups of 3 channels.
  assert.deepEqual(g.nodes[1].attrs, { groups: 2 });
});

Deno.test("tfjs passes: a scale-only or shift-only affine is mul/add with a const of the stored values", () => {
  const g: PassGraph = {
    nodes: [
      { name: "s", kind: "affine", attrs: { channels: 3 }, inputs: ["x"], rank: 4 },
      { name: "t", kind: "affine", attrs: { channels: 1 }, inputs: ["s"], rank: 4 },
      { name: "both", kind: "affine", attrs: { channels: 1 }, inputs: ["t"], rank: 4 },
    ],
    weights: new Map([
      ["s.weight", f(2, 3, 4)],
      ["s.bias", f(0, 0, 0)],
      ["t.weight", f(1)],
      ["t.bias", f(0.5)],
      ["both.weight", f(2)],
      ["both.bias", f(1)],
    ]),
    outputs: [{ name: "y", node: "both" }],
  };
  lowerLoneAffines(g);
  assert.deepEqual(g.nodes.map((n) => [n.name, n.kind, n.inputs, n.attrs]), [
    ["s.const", "const", [], { shape: [1, 3, 1, 1] }],
    ["s", "mul", ["x", "s.const"], {}],
    ["t.const", "const", [], { shape: [1] }],
    ["t", "add", ["s", "t.const"], {}],
    ["both", "affine", ["t"], { channels: 1 }],
  ]);
  // The file stored 3 scales and 1 shift: that is what the const nodes hold.
  assert.deepEqual([...g.weights.get("s.const.value")!], [2, 3, 4]);
  assert.deepEqual([...g.weights.get("t.const.value")!], [0.5]);
  assert.ok(!g.weights.has("s.weight") && !g.weights.has("t.bias"));
});
