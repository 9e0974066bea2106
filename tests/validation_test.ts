/**
 * One test per bad input named in the foundation issue. Each builds a graph
 * by hand (the builder would refuse most of them while building), runs it
 * through `analyze()`, and checks that the error names the node path and
 * says what was expected.
 */
import assert from "node:assert/strict";
import type { AnyNode, Graph } from "../lib/ir/graph.ts";
import { GraphError } from "../lib/ir/graph.ts";
import { GraphBuilder } from "../lib/ir/builder.ts";
import { type Conv2dAttrs, ShapeError } from "../lib/ir/ops.ts";
import { analyze } from "../lib/analysis/report.ts";

function graph(nodes: AnyNode[], inputShape = [1, 24, 28, 28]): Graph {
  return {
    name: "bad",
    inputs: [{ name: "input", shape: inputShape }],
    nodes,
    outputs: [{ name: "output", node: nodes[nodes.length - 1].name }],
    scopes: [],
    meta: {},
  };
}

function conv(name: string, input: string, attrs: Partial<Conv2dAttrs>): AnyNode {
  return {
    name,
    kind: "conv2d",
    inputs: [input],
    attrs: {
      inChannels: 24,
      outChannels: 24,
      kernel: [3, 3],
      stride: [1, 1],
      padding: [1, 1, 1, 1],
      dilation: [1, 1],
      groups: 1,
      bias: false,
      ...attrs,
    },
  };
}

Deno.test("analyze() rejects a channel mismatch, naming the node and the expected channels", () => {
  const g = graph([conv("stage2.0.branch2.0", "input", { inChannels: 32, outChannels: 64 })]);
  assert.throws(() => analyze(g), (e) => {
    assert.ok(e instanceof ShapeError);
    assert.equal(
      e.message,
      'Cannot infer shape of "stage2.0.branch2.0": input has 24 channels, expected 32',
    );
    return true;
  });
});

Deno.test("analyze() rejects conv groups that do not divide the channels", () => {
  const g = graph([conv("stage3.1.conv1", "input", { groups: 5 })]);
  assert.throws(() => analyze(g), (e) => {
    assert.ok(e instanceof RangeError);
    assert.equal(
      e.message,
      'Invalid "stage3.1.conv1": groups 5 must divide inChannels 24 and outChannels 24',
    );
    return true;
  });
});

Deno.test("analyze() rejects shuffle groups that do not divide the channels", () => {
  const g = graph([{
    name: "stage2.0.shuffle",
    kind: "channel_shuffle",
    inputs: ["input"],
    attrs: { groups: 5 },
  }]);
  assert.throws(
    () => analyze(g),
    (e) => {
      assert.ok(e instanceof ShapeError);
      assert.equal(
        e.message,
        'Cannot infer shape of "stage2.0.shuffle": shuffle groups 5 do not divide 24 channels;' +
          " expected a divisor of 24",
      );
      return true;
    },
  );
});

Deno.test("analyze() rejects a kernel larger than the padded input", () => {
  const g = graph([conv("conv1.0", "input", { kernel: [7, 7], padding: [0, 0, 0, 0] })], [
    1,
    24,
    5,
    5,
  ]);
  assert.throws(() => analyze(g), (e) => {
    assert.ok(e instanceof ShapeError);
    assert.equal(
      e.message,
      'Cannot infer shape of "conv1.0": kernel window 7x7 is larger than the padded input 5x5',
    );
    return true;
  });
  const pool = graph([{
    name: "maxpool",
    kind: "max_pool",
    inputs: ["input"],
    attrs: {
      kernel: [3, 3],
      stride: [2, 2],
      padding: [0, 0, 0, 0],
      ceilMode: false,
      countIncludePad: true,
    },
  }], [1, 24, 2, 2]);
  assert.throws(
    () => analyze(pool),
    /Cannot infer shape of "maxpool": pooling window 3x3 is larger than the padded input 2x2/,
  );
});

Deno.test("analyze() rejects non-positive sizes, naming the node and the attribute", () => {
  for (
    const [attrs, message] of [
      [{ outChannels: 0 }, 'Invalid "features.0.0": outChannels must be a positive integer, got 0'],
      [{ kernel: [0, 3] }, 'Invalid "features.0.0": kernel size must be a positive integer, got 0'],
      [{ stride: [1, -2] }, 'Invalid "features.0.0": stride must be a positive integer, got -2'],
      [
        { padding: [-1, 0, 0, 0] },
        'Invalid "features.0.0": padding must be a non-negative integer, got -1',
      ],
    ] as const
  ) {
    const g = graph([conv("features.0.0", "input", attrs as Partial<Conv2dAttrs>)]);
    assert.throws(() => analyze(g), (e) => {
      assert.ok(e instanceof RangeError);
      assert.equal(e.message, message);
      return true;
    });
  }
  const linear = graph([{
    name: "classifier.1",
    kind: "linear",
    inputs: ["input"],
    attrs: { inFeatures: 24, outFeatures: 0, bias: true },
  }], [1, 24]);
  assert.throws(
    () => analyze(linear),
    /^RangeError: Invalid "classifier.1": outFeatures must be a positive integer, got 0$/,
  );
  const input = graph([conv("conv", "input", {})], [1, 24, 0, 28]);
  assert.throws(
    () => analyze(input),
    /^RangeError: Invalid shape \[1, 24, 0, 28\] of input "input": every dimension must be a positive integer$/,
  );
});

Deno.test("analyze() rejects concat and add of mismatched shapes", () => {
  const b = new GraphBuilder("ok", [1, 24, 28, 28]);
  const half = b.conv2d(b.input, { out: 24, kernel: 3, stride: 2 }, "down");
  const base = b.build(half).nodes;
  const concat = graph([...base, {
    name: "stage2.0.concat",
    kind: "concat",
    inputs: ["input", "down"],
    attrs: { axis: 1 },
  }]);
  assert.throws(() => analyze(concat), (e) => {
    assert.ok(e instanceof ShapeError);
    assert.equal(
      e.message,
      'Cannot infer shape of "stage2.0.concat": concat of mismatched shapes 1x24x28x28, ' +
        "1x24x14x14 along axis 1: every other axis must agree",
    );
    return true;
  });
  const add = graph([...base, {
    name: "features.3.add",
    kind: "add",
    inputs: ["input", "down"],
    attrs: {},
  }]);
  assert.throws(() => analyze(add), (e) => {
    assert.ok(e instanceof ShapeError);
    assert.equal(
      e.message,
      'Cannot infer shape of "features.3.add": add of shapes 1x24x28x28 and 1x24x14x14 ' +
        "that do not broadcast: axis 2 of the result is 28 vs 14, expected equal sizes or 1",
    );
    return true;
  });
});

Deno.test("analyze() rejects a cycle, naming the nodes on it", () => {
  const g = graph([
    { name: "block.relu", kind: "relu", inputs: ["block.add"], attrs: {} },
    { name: "block.add", kind: "add", inputs: ["input", "block.relu"], attrs: {} },
  ]);
  assert.throws(() => analyze(g), (e) => {
    assert.ok(e instanceof GraphError);
    assert.equal(
      e.message,
      'Graph has a cycle through "block.relu", "block.add"; expected a directed acyclic graph',
    );
    return true;
  });
});

Deno.test("analyze() rejects a dangling input, naming the reader and the missing name", () => {
  const g = graph([{
    name: "stage4.0.branch1.2",
    kind: "relu",
    inputs: ["stage4.0.branch1.9"],
    attrs: {},
  }]);
  assert.throws(() => analyze(g), (e) => {
    assert.ok(e instanceof GraphError);
    assert.equal(
      e.message,
      'Node "stage4.0.branch1.2" reads "stage4.0.branch1.9", which is not a node of the graph' +
        ' or its input "input"',
    );
    return true;
  });
});
