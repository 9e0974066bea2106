/**
 * The graph: a DAG of named nodes. A node's name is its module path
 * (`stage2.0.branch2.1`, dot-separated like PyTorch's `named_modules`), so
 * every figure can be summed per block, per stage and per model, and weights
 * are keyed like a PyTorch state_dict (`stage2.0.branch2.1.weight`).
 *
 * @module
 */

import { checkAttrs, type OpAttrs, type OpKind, type Shape } from "./ops.ts";

/** One op application. `inputs` name other nodes or graph inputs. */
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

/** A graph input: the name nodes read it by, and its shape. */
export interface GraphInput {
  name: string;
  shape: Shape;
}

/**
 * A graph output: `name` is what the caller sees (an ONNX file's output
 * name; a zoo model's output node name), `node` the node or graph input that
 * produces it.
 */
export interface GraphOutput {
  name: string;
  node: string;
}

/** A whole network. Nodes are stored in a topological order. */
export interface Graph {
  /** Model name and variant, e.g. `shufflenetv2` with `meta.width = 1`. */
  name: string;
  /** At least one; zoo models have one, named `input`. */
  inputs: GraphInput[];
  nodes: AnyNode[];
  /** At least one; `outputs[0]` is the primary output (what `infer` returns). */
  outputs: GraphOutput[];
  scopes: Scope[];
  /** The knobs the model was built with (width, resolution, groups, ...). */
  meta: Record<string, string | number | boolean>;
}

/**
 * The first graph input (the only one of a zoo model).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { primaryInput, primaryOutput } from "./graph.ts";
 * const b = new GraphBuilder("t", [1, 3, 4, 4]);
 * const mask = b.addInput("mask", [1, 3, 4, 4]);
 * const g = b.build({ scores: b.relu(b.input, "r"), mask });
 * assert.deepEqual(primaryInput(g), { name: "input", shape: [1, 3, 4, 4] });
 * assert.equal(primaryOutput(g), "r"); // the node behind output "scores"
 * ```
 */
export function primaryInput(graph: Graph): GraphInput {
  return graph.inputs[0];
}

/** The node (or graph input) that produces the primary output. */
export function primaryOutput(graph: Graph): string {
  return graph.outputs[0].node;
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
 * order: unique node, input and output names, no dangling inputs, no cycles,
 * outputs that name a node or an input, valid attrs on every node. Shape
 * checks come later (analysis/shapes.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateGraph } from "./graph.ts";
 * const g = {
 *   name: "tiny", inputs: [{ name: "input", shape: [1, 3, 8, 8] }],
 *   outputs: [{ name: "r", node: "r" }], scopes: [], meta: {},
 *   nodes: [{ name: "r", kind: "relu" as const, attrs: {}, inputs: ["missing"] }],
 * };
 * assert.throws(() => validateGraph(g), /"r" reads "missing", which is not a node/);
 * ```
 */
export function validateGraph(graph: Graph): AnyNode[] {
  if (graph.inputs.length === 0) throw new GraphError(`Graph "${graph.name}" has no input`);
  if (graph.outputs.length === 0) throw new GraphError(`Graph "${graph.name}" has no output`);
  const inputNames = new Set<string>();
  for (const input of graph.inputs) {
    if (input.name === "") throw new GraphError(`Invalid input name "": names must be non-empty`);
    if (inputNames.has(input.name)) throw new GraphError(`Duplicate input name "${input.name}"`);
    inputNames.add(input.name);
    for (const d of input.shape) {
      if (!Number.isInteger(d) || d <= 0) {
        throw new RangeError(
          `Invalid shape [${
            input.shape.join(", ")
          }] of input "${input.name}": every dimension must be a positive integer`,
        );
      }
    }
  }
  const inputsPhrase = inputNames.size === 1
    ? `its input "${graph.inputs[0].name}"`
    : `one of its inputs (${[...inputNames].map((n) => `"${n}"`).join(", ")})`;
  const byName = new Map<string, AnyNode>();
  for (const node of graph.nodes) {
    if (node.name === "" || inputNames.has(node.name)) {
      throw new GraphError(
        `Invalid node name "${node.name}": names must be non-empty and differ from ${inputsPhrase}`,
      );
    }
    if (byName.has(node.name)) throw new GraphError(`Duplicate node name "${node.name}"`);
    byName.set(node.name, node);
  }
  for (const node of graph.nodes) {
    for (const inp of node.inputs) {
      if (!inputNames.has(inp) && !byName.has(inp)) {
        throw new GraphError(
          `Node "${node.name}" reads "${inp}", which is not a node of the graph or ${inputsPhrase}`,
        );
      }
    }
    checkAttrs(node.name, node.kind, node.attrs);
  }
  const outputNames = new Set<string>();
  for (const output of graph.outputs) {
    if (output.name === "") throw new GraphError(`Invalid output name "": names must be non-empty`);
    if (outputNames.has(output.name)) {
      throw new GraphError(`Duplicate output name "${output.name}"`);
    }
    outputNames.add(output.name);
    if (!byName.has(output.node) && !inputNames.has(output.node)) {
      throw new GraphError(
        `Graph output "${output.name}" reads "${output.node}", which is not a node of the graph or ${inputsPhrase}`,
      );
    }
  }
  // Kahn's algorithm, stable in the stored order so reports follow definition order.
  const indegree = new Map<string, number>();
  const readers = new Map<string, string[]>();
  for (const node of graph.nodes) {
    const deps = new Set(node.inputs.filter((i) => !inputNames.has(i)));
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

/** Nodes that read each node (and each graph input), in node order. */
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
