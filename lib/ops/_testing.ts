/**
 * Helpers for the op records' tests: run one op on given data, read one
 * node's cost.
 *
 * @module
 */

import { inferShapes } from "../analysis/shapes.ts";
import { type NodeCost, nodeCost } from "../analysis/cost.ts";
import { GraphBuilder, type Tensor } from "../ir/builder.ts";
import type { Graph } from "../ir/graph.ts";
import type { Shape } from "./core.ts";
import { runReferenceAll } from "../runtime/reference.ts";

/** A one-input graph whose output is what `body` builds from the input. */
export function graphOf(shape: Shape, body: (b: GraphBuilder, x: Tensor) => Tensor): Graph {
  const b = new GraphBuilder("t", shape);
  return b.build(body(b, b.input));
}

/** Output data and shape of the graph's last node on `data`. */
export function run(
  g: Graph,
  data: number[],
  weights: Map<string, Float32Array> = new Map(),
): { y: number[]; shape: Shape } {
  const out = runReferenceAll(g, weights, Float32Array.from(data));
  const last = g.nodes[g.nodes.length - 1].name;
  return { y: [...out.get(last)!], shape: inferShapes(g).shapes.get(last)! };
}

/** The cost of the node named `name`. */
export function costOf(g: Graph, name: string): NodeCost {
  return nodeCost(inferShapes(g).nodes.find((s) => s.node.name === name)!);
}

/** `0, 1, 2, ..., n - 1`. */
export function iota(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
