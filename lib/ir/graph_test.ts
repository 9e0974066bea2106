import assert from "node:assert/strict";
import { type Graph, GraphError, validateGraph } from "./graph.ts";
import { GraphBuilder } from "./builder.ts";
import { inferShapes } from "../analysis/shapes.ts";

/** `a` + `b` read by a relu; outputs are both the sum and the relu. */
function twoInTwoOut(): Graph {
  const b = new GraphBuilder("two", [1, 3, 4, 4]);
  const y = b.addInput("y", [1, 3, 4, 4]);
  const sum = b.add("add", {}, [b.input, y], "sum");
  return b.build({ sum, act: b.relu(sum, "act") });
}

Deno.test("GraphBuilder.build() names a single output after its node", () => {
  const b = new GraphBuilder("one", [1, 3, 4, 4]);
  const g = b.build(b.relu(b.input, "r"));
  assert.deepEqual(g.inputs, [{ name: "input", shape: [1, 3, 4, 4] }]);
  assert.deepEqual(g.outputs, [{ name: "r", node: "r" }]);
});

Deno.test("GraphBuilder.build() keeps several inputs and named outputs in order", () => {
  const g = twoInTwoOut();
  assert.deepEqual(g.inputs.map((i) => i.name), ["input", "y"]);
  assert.deepEqual(g.outputs, [{ name: "sum", node: "sum" }, { name: "act", node: "act" }]);
  const shaped = inferShapes(g);
  assert.deepEqual(shaped.shapes.get("y"), [1, 3, 4, 4]);
  assert.deepEqual(shaped.shapes.get("act"), [1, 3, 4, 4]);
});

Deno.test("GraphBuilder.addInput() refuses a name already taken", () => {
  const b = new GraphBuilder("t", [1, 2]);
  assert.throws(() => b.addInput("input", [1, 2]), /Invalid input name "input"/);
});

Deno.test("validateGraph() rejects duplicate input and output names", () => {
  const g = twoInTwoOut();
  assert.throws(
    () => validateGraph({ ...g, inputs: [g.inputs[0], { ...g.inputs[1], name: "input" }] }),
    (e) => e instanceof GraphError && e.message === 'Duplicate input name "input"',
  );
  assert.throws(
    () => validateGraph({ ...g, outputs: [g.outputs[0], { name: "sum", node: "act" }] }),
    (e) => e instanceof GraphError && e.message === 'Duplicate output name "sum"',
  );
});

Deno.test("validateGraph() rejects an output reading neither a node nor an input", () => {
  const g = twoInTwoOut();
  assert.throws(
    () => validateGraph({ ...g, outputs: [{ name: "boxes", node: "head" }] }),
    /Graph output "boxes" reads "head", which is not a node of the graph or one of its inputs \("input", "y"\)/,
  );
});

Deno.test("validateGraph() accepts an output that is a graph input, and a node named like an output", () => {
  const g = twoInTwoOut();
  // Output names are the caller's names, not node names: "act" may name the sum.
  const ok = { ...g, outputs: [{ name: "echo", node: "y" }, { name: "act", node: "sum" }] };
  assert.equal(validateGraph(ok).length, 2);
});

Deno.test("validateGraph() rejects a graph without inputs or outputs, and a node named as an input", () => {
  const g = twoInTwoOut();
  assert.throws(() => validateGraph({ ...g, inputs: [] }), /Graph "two" has no input/);
  assert.throws(() => validateGraph({ ...g, outputs: [] }), /Graph "two" has no output/);
  const clash = { ...g, nodes: g.nodes.map((n) => n.name === "act" ? { ...n, name: "y" } : n) };
  assert.throws(() => validateGraph(clash), /Invalid node name "y"/);
});
