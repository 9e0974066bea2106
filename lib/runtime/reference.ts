/**
 * The reference executor: the living definition of what every IR op means.
 * One plain kernel per op kind, written for clarity (a direct loop over output
 * elements, sums in float64, flat NCHW index arithmetic), never for speed.
 * Generated kernels, the ONNX export and the BatchNorm fold are all correct
 * when they agree with this file within a stated tolerance.
 *
 * Semantics follow PyTorch (torch.nn.functional) wherever PyTorch has the op;
 * padding may be asymmetric (`[top, left, bottom, right]`), generalizing
 * PyTorch's rule by using the bottom/right padding where PyTorch uses its
 * single padding value.
 *
 * @module
 */

import { inferShapes } from "../analysis/shapes.ts";
import type { Graph } from "../ir/graph.ts";
import { formatShape, numel, OP_KINDS, opDef, type OpKind, type Shape } from "../ir/ops.ts";
import type { Kernel } from "../ops/def.ts";
import { checkWeights, type Weights } from "./weights.ts";

export type { Kernel, KernelArgs } from "../ops/def.ts";

/**
 * The reference kernel of every op kind, taken from its op record
 * (lib/ops/); a kind missing there is a type error. Each returns a fresh
 * array and never writes its inputs.
 */
export const REFERENCE_KERNELS: { readonly [K in OpKind]: Kernel<K> } = Object.fromEntries(
  OP_KINDS.map((k) => [k, opDef(k).reference]),
) as { [K in OpKind]: Kernel<K> };

function checkInput(name: string, shape: Shape, input: unknown): asserts input is Float32Array {
  if (!(input instanceof Float32Array)) {
    throw new TypeError(
      `Input "${name}" must be a Float32Array, got ${Object.prototype.toString.call(input)}`,
    );
  }
  const expected = numel(shape);
  if (input.length !== expected) {
    throw new TypeError(
      `Input "${name}" has ${input.length} elements, expected ${formatShape(shape)} = ${expected}`,
    );
  }
}

/**
 * Matches `inputs` (a Float32Array for a one-input graph, else a record keyed
 * by input name) to the graph's inputs: every input given, no unknown name,
 * each the length of its shape.
 */
function bindInputs(
  graph: Graph,
  inputs: Float32Array | Record<string, Float32Array>,
): Map<string, Float32Array> {
  if (inputs instanceof Float32Array) {
    if (graph.inputs.length !== 1) {
      throw new TypeError(
        `Graph "${graph.name}" has ${graph.inputs.length} inputs (${
          graph.inputs.map((i) => `"${i.name}"`).join(", ")
        }); pass a record keyed by input name`,
      );
    }
    const [only] = graph.inputs;
    checkInput(only.name, only.shape, inputs);
    return new Map([[only.name, inputs]]);
  }
  const known = new Set(graph.inputs.map((i) => i.name));
  for (const name of Object.keys(inputs)) {
    if (!known.has(name)) {
      throw new TypeError(
        `Unknown input "${name}"; the graph's inputs are ${
          [...known].map((n) => `"${n}"`).join(", ")
        }`,
      );
    }
  }
  const bound = new Map<string, Float32Array>();
  for (const { name, shape } of graph.inputs) {
    if (!Object.hasOwn(inputs, name)) throw new TypeError(`Missing input "${name}"`);
    const data = inputs[name];
    checkInput(name, shape, data);
    bound.set(name, data);
  }
  return bound;
}

/**
 * Runs every node of `graph` on `input` (a Float32Array for a one-input
 * graph, else a record keyed by input name; row-major, each input's shape)
 * and returns each node's output by node name, in topological order. The
 * graph is validated and shape-checked, the weights checked (`checkWeights`)
 * and the inputs checked before any kernel runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { runReferenceAll } from "./reference.ts";
 * const b = new GraphBuilder("t", [1, 2, 1, 2]);
 * const g = b.build(b.relu6(b.channelShuffle(b.input, 2, "shuffle"), "act"));
 * const out = runReferenceAll(g, new Map(), new Float32Array([-1, 7, 3, 4]));
 * // channel 0 = [-1, 7], channel 1 = [3, 4]; with 2 groups of 1 the order is unchanged
 * assert.deepEqual([...out.get("shuffle")!], [-1, 7, 3, 4]);
 * assert.deepEqual([...out.get("act")!], [0, 6, 3, 4]);
 * ```
 */
export function runReferenceAll(
  graph: Graph,
  weights: Weights,
  input: Float32Array | Record<string, Float32Array>,
): Map<string, Float32Array> {
  const shaped = inferShapes(graph);
  checkWeights(graph, weights);
  const values = bindInputs(graph, input);
  const outputs = new Map<string, Float32Array>();
  for (const { node, inputShapes, shape } of shaped.nodes) {
    // The table is keyed by kind, so this kernel matches this node's attrs.
    const kernel = REFERENCE_KERNELS[node.kind] as Kernel;
    const inputs = node.inputs.map((name) => values.get(name)!);
    const out = kernel({ node, inputs, inputShapes, shape, weights });
    values.set(node.name, out);
    outputs.set(node.name, out);
  }
  return outputs;
}

/**
 * Runs `graph` on `inputs` (a Float32Array for a one-input graph, else a
 * record keyed by input name) and returns every graph output keyed by its
 * output name. An output that is a graph input is returned as a copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { runReferenceOutputs } from "./reference.ts";
 * const b = new GraphBuilder("t", [1, 2]);
 * const y = b.addInput("y", [1, 2]);
 * const sum = b.add("add", {}, [b.input, y], "sum");
 * const g = b.build({ sum, relu: b.relu(sum, "relu") });
 * const out = runReferenceOutputs(g, new Map(), {
 *   input: new Float32Array([1, -5]),
 *   y: new Float32Array([2, 3]),
 * });
 * assert.deepEqual([...out.sum], [3, -2]);
 * assert.deepEqual([...out.relu], [3, 0]);
 * ```
 */
export function runReferenceOutputs(
  graph: Graph,
  weights: Weights,
  inputs: Float32Array | Record<string, Float32Array>,
): Record<string, Float32Array> {
  const values = runReferenceAll(graph, weights, inputs);
  const given = bindInputs(graph, inputs);
  // fromEntries defines own properties, so an output named "__proto__" is one too.
  return Object.fromEntries(
    graph.outputs.map(({ name, node }) => [name, values.get(node) ?? given.get(node)!.slice()]),
  );
}

/**
 * Runs `graph` on `input` and returns the data of its primary output
 * (`graph.outputs[0]`; for a classifier, `[N, classes]` logits, row-major).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { runReference } from "./reference.ts";
 * const b = new GraphBuilder("t", [1, 1, 2, 2]);
 * const g = b.build(b.linear(b.flatten(b.input, "flat"), { out: 1 }, "fc"));
 * const w = new Map([
 *   ["fc.weight", new Float32Array([1, 2, 3, 4])],
 *   ["fc.bias", new Float32Array([0.5])],
 * ]);
 * // 1*1 + 2*1 + 3*1 + 4*1 + 0.5
 * assert.deepEqual([...runReference(g, w, new Float32Array([1, 1, 1, 1]))], [10.5]);
 * assert.throws(
 *   () => runReference(g, w, new Float32Array(3)),
 *   /Input "input" has 3 elements, expected 1x1x2x2 = 4/,
 * );
 * ```
 */
export function runReference(
  graph: Graph,
  weights: Weights,
  input: Float32Array | Record<string, Float32Array>,
): Float32Array {
  const outputs = runReferenceAll(graph, weights, input);
  const primary = graph.outputs[0].node;
  const out = outputs.get(primary);
  if (out) return out;
  return bindInputs(graph, input).get(primary)!.slice();
}
