/**
 * Cost of every node, with the counting conventions stated once here (and in
 * the README and `CONVENTIONS` of report.ts). Each op's rule lives in its
 * record in lib/ops/; this file sums what the records say.
 *
 * - **MAdds** (multiply-adds, one multiply-accumulate counts once; what every
 *   paper of these families reports, even where it prints "FLOPs"): conv2d =
 *   output elements x (inChannels / groups) x kh x kw; conv_transpose2d =
 *   input elements x (outChannels / groups) x kh x kw; linear = N x in x out;
 *   matmul = batch x M x K x N. Nothing else has MAdds.
 * - **FLOPs** = 2 x MAdds plus the element-wise work, itemized: `bias` (1 per
 *   output element of a conv/linear with bias), `bn` (BatchNorm 2 per element:
 *   scale and shift; layer_norm and instance_norm 8: mean 1, variance 3,
 *   normalize 2, scale and shift 2), `activation` (per element: relu 1,
 *   relu6/clip 2, hardsigmoid 4, hardswish 5, sigmoid 4, silu 5, prelu 2,
 *   leaky_relu 2, elu 4, softplus 3, and 1 per elementary function: exp, log,
 *   tanh, sqrt, reciprocal, neg, abs, erf), `elementwise` (the broadcasting
 *   binaries add, sub, mul, div, pow, max, min 1 per output element; affine 2
 *   per element; softmax 3 per element; resize: nearest 0, linear 3 per 1-D
 *   interpolation, 2^k - 1 of them per output element over k resized axes,
 *   so bilinear 9), `pooling` (max: kh*kw - 1 comparisons, avg: kh*kw per
 *   output; global avg: 1 per input element; global max, reduce sum and
 *   reduce max: input - output elements; reduce mean: input elements).
 * - **MAC** (memory access cost, ShuffleNet V2 sec. 2): elements read and
 *   written = input tensors + output tensor + parameter tensors (weights, bias,
 *   BatchNorm gamma/beta/mean/var, slopes, affine constants), assuming
 *   everything fits in cache. `split`, `slice` and `gather` read only what
 *   they keep. `flatten`, `reshape`, `dropout` and `const` are views and cost
 *   0 (a constant is counted where it is read). Bytes = elements x bytes per
 *   element of the dtype.
 * - **Params**: `weights` (conv and FC kernels: the papers' convention, as in
 *   MobileNet V1's 4.2M; also PReLU slopes, affine scales and stored `const`
 *   tensors), `bias` (conv/FC biases, affine shifts), `bn` (gamma and beta of
 *   BatchNorm, LayerNorm, InstanceNorm); `total` = weights + bias + bn (torchvision's num_params). BatchNorm
 *   running stats are `buffers`, never parameters.
 *
 * @module
 */

import type { AnyNode } from "../ir/graph.ts";
import { numel, opDef, type OpKind, paramSpecs, type Shape } from "../ir/ops.ts";
import type { FlopCount } from "../ops/def.ts";
import type { ShapedGraph, ShapedNode } from "./shapes.ts";

export type { FlopCount, FlopItems } from "../ops/def.ts";

/** Parameter counts by role; `total` is torchvision's num_params. */
export interface ParamCount {
  total: number;
  weights: number;
  bias: number;
  bn: number;
}

/** Memory access cost in elements, itemized; `total` = input + output + params. */
export interface MacCount {
  total: number;
  input: number;
  output: number;
  params: number;
}

/** Every figure of one node. All counts are exact integers. */
export interface NodeCost {
  name: string;
  kind: OpKind;
  inputShapes: Shape[];
  shape: Shape;
  params: ParamCount;
  /** BatchNorm running mean and variance (stored, not learnable). */
  buffers: number;
  madds: number;
  flops: FlopCount;
  mac: MacCount;
  /** Output elements (activation size of this node). */
  activations: number;
}

/** A sum of node costs (a block, a stage, an op type or the model). */
export interface CostTotals {
  params: ParamCount;
  buffers: number;
  madds: number;
  flops: FlopCount;
  mac: MacCount;
  activations: number;
}

/** Zero totals, to sum into. */
export function zeroTotals(): CostTotals {
  return {
    params: { total: 0, weights: 0, bias: 0, bn: 0 },
    buffers: 0,
    madds: 0,
    flops: { total: 0, maddsX2: 0, bias: 0, bn: 0, activation: 0, elementwise: 0, pooling: 0 },
    mac: { total: 0, input: 0, output: 0, params: 0 },
    activations: 0,
  };
}

/** Adds `c` into `into` (mutates and returns `into`). */
export function addCost(into: CostTotals, c: CostTotals): CostTotals {
  into.params.total += c.params.total;
  into.params.weights += c.params.weights;
  into.params.bias += c.params.bias;
  into.params.bn += c.params.bn;
  into.buffers += c.buffers;
  into.madds += c.madds;
  for (const k of Object.keys(into.flops) as (keyof FlopCount)[]) into.flops[k] += c.flops[k];
  for (const k of Object.keys(into.mac) as (keyof MacCount)[]) into.mac[k] += c.mac[k];
  into.activations += c.activations;
  return into;
}

/** Sums a list of node costs. */
export function sumCosts(costs: Iterable<CostTotals>): CostTotals {
  const t = zeroTotals();
  for (const c of costs) addCost(t, c);
  return t;
}

function countParams(node: AnyNode): { params: ParamCount; buffers: number } {
  const params: ParamCount = { total: 0, weights: 0, bias: 0, bn: 0 };
  let buffers = 0;
  for (const spec of paramSpecs(node.kind, node.attrs)) {
    const n = numel(spec.shape);
    if (spec.role === "buffer") buffers += n;
    else {
      params[spec.role === "weight" ? "weights" : spec.role] += n;
      params.total += n;
    }
  }
  return { params, buffers };
}

/** MAdds, FLOPs and MAC of a node, from its op record's cost rule (lib/ops/). */
function workOf(s: ShapedNode, paramElements: number): Pick<NodeCost, "madds" | "flops" | "mac"> {
  const { node, shape, inputShapes } = s;
  const work = opDef(node.kind).cost({ kind: node.kind, attrs: node.attrs, inputShapes, shape });
  const items = work.flops;
  const flops: FlopCount = {
    total: 0,
    maddsX2: 2 * work.madds,
    bias: items.bias ?? 0,
    bn: items.bn ?? 0,
    activation: items.activation ?? 0,
    elementwise: items.elementwise ?? 0,
    pooling: items.pooling ?? 0,
  };
  flops.total = flops.maddsX2 + flops.bias + flops.bn + flops.activation + flops.elementwise +
    flops.pooling;
  if (work.mac === "view") {
    return { madds: work.madds, flops, mac: { total: 0, input: 0, output: 0, params: 0 } };
  }
  const output = numel(shape);
  const input = work.mac?.input ?? inputShapes.reduce((a, x) => a + numel(x), 0);
  const mac = { total: input + output + paramElements, input, output, params: paramElements };
  return { madds: work.madds, flops, mac };
}

/**
 * The cost of one shaped node.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { inferShapes } from "./shapes.ts";
 * import { nodeCost } from "./cost.ts";
 * const b = new GraphBuilder("t", [1, 24, 56, 56]);
 * const g = b.build(b.conv2d(b.input, { out: 144, kernel: 1 }, "pw"));
 * const c = nodeCost(inferShapes(g).nodes[0]);
 * assert.equal(c.madds, 56 * 56 * 24 * 144); // h*w*c1*c2
 * assert.equal(c.mac.total, 56 * 56 * (24 + 144) + 24 * 144); // read input + write output + weights
 * ```
 */
export function nodeCost(s: ShapedNode): NodeCost {
  const { params, buffers } = countParams(s.node);
  return {
    name: s.node.name,
    kind: s.node.kind,
    inputShapes: s.inputShapes,
    shape: s.shape,
    params,
    buffers,
    ...workOf(s, params.total + buffers),
    activations: numel(s.shape),
  };
}

/** The cost of every node of a shaped graph, in its topological order. */
export function estimateCost(shaped: ShapedGraph): NodeCost[] {
  return shaped.nodes.map(nodeCost);
}

/** MAC in bytes for a dtype of `bytesPerElement` (4 for float32, 2 for float16). */
export function macBytes(mac: MacCount, bytesPerElement: number): number {
  return mac.total * bytesPerElement;
}
