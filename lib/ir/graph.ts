/**
 * The graph: a DAG of named nodes. A node's name is its module path
 * (`stage2.0.branch2.1`, dot-separated like PyTorch's `named_modules`), so
 * every figure can be summed per block, per stage and per model, and weights
 * are keyed like a PyTorch state_dict (`stage2.0.branch2.1.weight`).
 *
 * @module
 */

import { checkAttrs, type OpAttrs, type OpKind, type Shape } from "./ops.ts";

/** One op application. `inputs` name other nodes or the graph input. */
export interface Node<K extends OpKind = OpKind> {
  name: string;
  kind: K;
  attrs: OpAttrs[K];
  inputs: string[];
}

/** A node of any kind, discriminated on `kind`. */
export type AnyNode = { [K in OpKind]: Node<K> }[OpKind];

/** What a scope groups: a network stage, or one block (unit) inside it. */
export type ScopeKind = "stage" | "block";

/** A named module path that reports sum over (`stage3`, `stage3.0`). */
export interface Scope {
  path: string;
  kind: ScopeKind;
  /** Block type, e.g. `fire`, `inverted_residual`, `shufflenetv2_unit`. */
  type?: string;
  /**
   * Module paths the scope covers when they are not under `path`: torchvision
   * numbers MobileNet layers flat (`features.2`, `features.3`), so the stage
   * `features.2-3` lists them here.
   */
  members?: string[];
}

/**
 * Whether the node at `path` belongs to `scope` (under its path, or under one
 * of its members).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inScope } from "./graph.ts";
 * const stage = { path: "features.2-3", kind: "stage" as const, members: ["features.2", "features.3"] };
 * assert.ok(inScope("features.3.conv.0.0", stage));
 * assert.ok(!inScope("features.30", stage));
 * ```
 */
export function inScope(path: string, scope: Scope): boolean {
  const under = (p: string) => path === p || path.startsWith(p + ".");
  return scope.members ? scope.members.some(under) : under(scope.path);
}

/** A whole network. Nodes are stored in a topological order. */
export interface Graph {
  /** Model name and variant, e.g. `shufflenetv2` with `meta.width = 1`. */
  name: string;
  input: { name: string; shape: Shape };
  nodes: AnyNode[];
  output: string;
  scopes: Scope[];
  /** The knobs the model was built with (width, resolution, groups, ...). */
  meta: Record<string, string | number | boolean>;
}

/** Thrown for a graph whose structure is broken (names, edges, cycles). */
export class GraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GraphError";
  }
}

/**
 * Checks the structure of a graph and returns its nodes in a topological
 * order: unique names, no dangling inputs, no cycles, a known output, valid
 * attrs on every node. Shape checks come later (analysis/shapes.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateGraph } from "./graph.ts";
 * const g = {
 *   name: "tiny", input: { name: "input", shape: [1, 3, 8, 8] }, output: "r",
 *   scopes: [], meta: {},
 *   nodes: [{ name: "r", kind: "relu" as const, attrs: {}, inputs: ["missing"] }],
 * };
 * assert.throws(() => validateGraph(g), /"r" reads "missing", which is not a node/);
 * ```
 */
export function validateGraph(graph: Graph): AnyNode[] {
  const byName = new Map<string, AnyNode>();
  for (const node of graph.nodes) {
    if (node.name === "" || node.name === graph.input.name) {
      throw new GraphError(
        `Invalid node name "${node.name}": names must be non-empty and differ from the input "${graph.input.name}"`,
      );
    }
    if (byName.has(node.name)) throw new GraphError(`Duplicate node name "${node.name}"`);
    byName.set(node.name, node);
  }
  for (const d of graph.input.shape) {
    if (!Number.isInteger(d) || d <= 0) {
      throw new RangeError(
        `Invalid shape [${
          graph.input.shape.join(", ")
        }] of input "${graph.input.name}": every dimension must be a positive integer`,
      );
    }
  }
  for (const node of graph.nodes) {
    for (const inp of node.inputs) {
      if (inp !== graph.input.name && !byName.has(inp)) {
        throw new GraphError(
          `Node "${node.name}" reads "${inp}", which is not a node of the graph or its input "${graph.input.name}"`,
        );
      }
    }
    checkAttrs(node.name, node.kind, node.attrs);
  }
  if (!byName.has(graph.output) && graph.output !== graph.input.name) {
    throw new GraphError(`Graph output "${graph.output}" is not a node of the graph`);
  }
  // Kahn's algorithm, stable in the stored order so reports follow definition order.
  const indegree = new Map<string, number>();
  const readers = new Map<string, string[]>();
  for (const node of graph.nodes) {
    const deps = new Set(node.inputs.filter((i) => i !== graph.input.name));
    indegree.set(node.name, deps.size);
    for (const d of deps) {
      const r = readers.get(d);
      if (r) r.push(node.name);
      else readers.set(d, [node.name]);
    }
  }
  const order: AnyNode[] = [];
  const ready = graph.nodes.filter((n) => indegree.get(n.name) === 0).map((n) => n.name);
  const position = new Map(graph.nodes.map((n, i) => [n.name, i]));
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const name = ready.shift()!;
    order.push(byName.get(name)!);
    for (const r of readers.get(name) ?? []) {
      const left = indegree.get(r)! - 1;
      indegree.set(r, left);
      if (left === 0) ready.push(r);
    }
  }
  if (order.length !== graph.nodes.length) {
    const stuck = graph.nodes.filter((n) => indegree.get(n.name)! > 0).map((n) => `"${n.name}"`);
    throw new GraphError(
      `Graph has a cycle through ${
        stuck.slice(0, 5).join(", ")
      }; expected a directed acyclic graph`,
    );
  }
  return order;
}

/** Nodes that read each node (and the graph input), in node order. */
export function consumers(graph: Graph): Map<string, AnyNode[]> {
  const out = new Map<string, AnyNode[]>();
  for (const node of graph.nodes) {
    for (const inp of new Set(node.inputs)) {
      const list = out.get(inp);
      if (list) list.push(node);
      else out.set(inp, [node]);
    }
  }
  return out;
}

/** The first `depth` dot-separated segments of a path (`stage2.0.branch2` at 2 is `stage2.0`). */
export function pathPrefix(path: string, depth: number): string {
  return path.split(".").slice(0, depth).join(".");
}
