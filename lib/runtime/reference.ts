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
import { formatShape, numel, OP_KINDS, opDef, type OpKind } from "../ir/ops.ts";
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

function checkInput(graph: Graph, input: Float32Array): void {
  if (!(input instanceof Float32Array)) {
    throw new TypeError(
      `Input must be a Float32Array, got ${Object.prototype.toString.call(input)}`,
    );
  }
  const expected = numel(graph.input.shape);
  if (input.length !== expected) {
    throw new TypeError(
      `Input has ${input.length} elements, expected ${
        formatShape(graph.input.shape)
      } = ${expected}`,
    );
  }
}

/**
 * Runs every node of `graph` on `input` (NCHW, the graph input's shape) and
 * returns each node's output by node name, in topological order. The graph is
 * validated and shape-checked, the weights checked (`checkWeights`) and the
 * input length checked before any kernel runs.
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
  input: Float32Array,
): Map<string, Float32Array> {
  const shaped = inferShapes(graph);
  checkWeights(graph, weights);
  checkInput(graph, input);
  const values = new Map<string, Float32Array>([[graph.input.name, input]]);
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
 * Runs `graph` on `input` and returns the data of `graph.output` (for a
 * classifier, `[N, classes]` logits, row-major).
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
 *   /Input has 3 elements, expected 1x1x2x2 = 4/,
 * );
 * ```
 */
export function runReference(graph: Graph, weights: Weights, input: Float32Array): Float32Array {
  const outputs = runReferenceAll(graph, weights, input);
  return outputs.get(graph.output) ?? input.slice();
}
