/**
 * BatchNorm folding: a `batch_norm` that directly follows a `conv2d` (and is
 * that conv's only reader) is an affine map per output channel, so it can be
 * baked into the conv's weight and bias. Shared by codegen and ONNX export.
 *
 * @module
 */

import { type AnyNode, consumers, type Graph, type Node } from "../ir/graph.ts";
import { checkWeights, type Weights } from "./weights.ts";

/** A graph with its BatchNorms folded, the new weights, and which node replaced which. */
export interface FoldResult {
  graph: Graph;
  weights: Weights;
  /** Removed BatchNorm name -> the conv whose output now carries its value. */
  folded: Map<string, string>;
}

/**
 * Folds every `batch_norm` whose input is a `conv2d` read by nothing else
 * (standard, grouped, depthwise or pointwise alike) into that conv:
 * with `s[c] = gamma[c] / sqrt(var[c] + eps)`,
 * `w'[c, ...] = w[c, ...] * s[c]` and `b'[c] = (b[c] - mean[c]) * s[c] + beta[c]`
 * (`b = 0` for a conv without bias; the folded conv always has one). The
 * BatchNorm node disappears and its readers (and the graph output) read the
 * conv instead. Other BatchNorms stay. The inputs are not modified; the
 * result shares the untouched weight arrays with `weights`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { foldBatchNorm } from "./fold.ts";
 * const b = new GraphBuilder("t", [1, 1, 1, 1]);
 * const g = b.build(b.relu(b.batchNorm(b.conv2d(b.input, { out: 1, kernel: 1 }, "c"), "bn"), "r"));
 * const w = new Map([
 *   ["c.weight", new Float32Array([2])],
 *   ["bn.weight", new Float32Array([3])],
 *   ["bn.bias", new Float32Array([1])],
 *   ["bn.running_mean", new Float32Array([0.5])],
 *   ["bn.running_var", new Float32Array([3])], // eps 1e-5: s = 3 / sqrt(3 + 1e-5)
 * ]);
 * const f = foldBatchNorm(g, w);
 * assert.deepEqual(f.graph.nodes.map((n) => n.name), ["c", "r"]);
 * assert.deepEqual(f.graph.nodes[1].inputs, ["c"]);
 * const s = 3 / Math.sqrt(3 + 1e-5);
 * assert.ok(Math.abs(f.weights.get("c.weight")![0] - 2 * s) < 1e-6);
 * assert.ok(Math.abs(f.weights.get("c.bias")![0] - ((0 - 0.5) * s + 1)) < 1e-6);
 * ```
 */
export function foldBatchNorm(graph: Graph, weights: Weights): FoldResult {
  checkWeights(graph, weights);
  const readers = consumers(graph);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const out: Weights = new Map(weights);
  const folded = new Map<string, string>();
  const foldedConvs = new Map<string, Node<"conv2d">>();

  for (const bn of graph.nodes) {
    if (bn.kind !== "batch_norm") continue;
    const conv = byName.get(bn.inputs[0]);
    if (conv?.kind !== "conv2d") continue;
    const convReaders = readers.get(conv.name) ?? [];
    if (convReaders.length !== 1 || graph.outputs.some((o) => o.node === conv.name)) continue;

    const gamma = weights.get(`${bn.name}.weight`)!;
    const beta = weights.get(`${bn.name}.bias`)!;
    const mean = weights.get(`${bn.name}.running_mean`)!;
    const variance = weights.get(`${bn.name}.running_var`)!;
    const w = weights.get(`${conv.name}.weight`)!;
    const b = conv.attrs.bias ? weights.get(`${conv.name}.bias`)! : undefined;
    const outC = conv.attrs.outChannels;
    // Weight layout [out, in / groups, kh, kw]: each output channel owns one
    // contiguous run, whatever the groups.
    const perOut = w.length / outC;
    const newW = new Float32Array(w.length);
    const newB = new Float32Array(outC);
    for (let c = 0; c < outC; c++) {
      const s = gamma[c] / Math.sqrt(variance[c] + bn.attrs.eps);
      for (let i = 0; i < perOut; i++) newW[c * perOut + i] = w[c * perOut + i] * s;
      newB[c] = ((b ? b[c] : 0) - mean[c]) * s + beta[c];
    }
    out.set(`${conv.name}.weight`, newW);
    out.set(`${conv.name}.bias`, newB);
    for (const key of ["weight", "bias", "running_mean", "running_var"]) {
      out.delete(`${bn.name}.${key}`);
    }
    folded.set(bn.name, conv.name);
    foldedConvs.set(conv.name, { ...conv, attrs: { ...conv.attrs, bias: true } });
  }

  const rename = (name: string) => folded.get(name) ?? name;
  const nodes: AnyNode[] = [];
  for (const node of graph.nodes) {
    if (folded.has(node.name)) continue;
    const replaced = foldedConvs.get(node.name) ?? node;
    nodes.push({ ...replaced, inputs: replaced.inputs.map(rename) } as AnyNode);
  }
  return {
    graph: {
      ...graph,
      nodes,
      outputs: graph.outputs.map((o) => ({ name: o.name, node: rename(o.node) })),
    },
    weights: out,
    folded,
  };
}
