/**
 * Shape inference: validates a graph, then walks it in topological order and
 * applies each op's shape rule (lib/ir/ops.ts).
 *
 * @module
 */

import { type AnyNode, type Graph, validateGraph } from "../ir/graph.ts";
import { inferNodeShape, type Shape } from "../ir/ops.ts";

/** Each node in topological order with its input and output shapes. */
export interface ShapedNode {
  node: AnyNode;
  inputShapes: Shape[];
  shape: Shape;
}

/** A graph with every tensor's shape; `shapes` also holds the graph inputs. */
export interface ShapedGraph {
  graph: Graph;
  nodes: ShapedNode[];
  shapes: Map<string, Shape>;
}

/**
 * Validates `graph` and infers every tensor's shape. Throws a `GraphError`,
 * `ShapeError` or `RangeError` naming the first bad node.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { inferShapes } from "./shapes.ts";
 * const b = new GraphBuilder("t", [1, 16, 9, 9]);
 * const g = b.build(b.maxPool(b.input, { kernel: 3, stride: 2, ceilMode: true }, "pool"));
 * assert.deepEqual(inferShapes(g).shapes.get("pool"), [1, 16, 4, 4]);
 * ```
 */
export function inferShapes(graph: Graph): ShapedGraph {
  const order = validateGraph(graph);
  const shapes = new Map<string, Shape>(graph.inputs.map((i) => [i.name, i.shape]));
  const nodes: ShapedNode[] = [];
  for (const node of order) {
    const inputShapes = node.inputs.map((i) => shapes.get(i)!);
    const shape = inferNodeShape(node.name, node.kind, node.attrs, inputShapes);
    shapes.set(node.name, shape);
    nodes.push({ node, inputShapes, shape });
  }
  return { graph, nodes, shapes };
}
