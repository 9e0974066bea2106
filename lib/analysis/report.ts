/**
 * The analysis report: what `analyze` prints and what `--json` returns. One
 * function, {@link analyze}, runs the interpreter as named stages
 * (validate and infer shapes -> estimate cost -> aggregate) and returns a
 * plain, JSON-ready object whose schema is named {@link SCHEMA} and documented
 * field by field in the README ("The JSON report").
 *
 * All counts are exact integers; shares are fractions in [0, 1]. The counting
 * conventions are those of `cost.ts` and are repeated in every report
 * (`conventions`) so a JSON file explains itself.
 *
 * @module
 */

import type { AnyNode, Graph, Scope } from "../ir/graph.ts";
import { inScope, pathPrefix } from "../ir/graph.ts";
import type { OpAttrs, OpKind } from "../ir/ops.ts";
import type { Knobs } from "../models/registry.ts";
import {
  type CostTotals,
  estimateCost,
  type FlopCount,
  type NodeCost,
  type ParamCount,
  zeroTotals,
} from "./cost.ts";
import { inferShapes } from "./shapes.ts";

/** Name and version of the report schema; bumped on any incompatible change. */
export const SCHEMA = "lightnets.analysis/1";

/** Element types MAC and activation bytes can be counted in. */
export type Dtype = "float32" | "float16" | "int8";

/** Bytes per element of each {@link Dtype}. */
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  float32: 4,
  float16: 2,
  int8: 1,
};

/** Every {@link Dtype}, for help texts and argument checks. */
export const DTYPES: readonly Dtype[] = Object.keys(DTYPE_BYTES) as Dtype[];

/** Options of {@link analyze}. */
export interface AnalyzeOptions {
  /** Element type for MAC and activation bytes (default `float32`). */
  dtype?: Dtype;
  /** Path segments kept in `groups` (default 1: top-level modules). */
  depth?: number;
  /** Model name to report (default `graph.name`). */
  model?: string;
  /** Knob values to report (default `graph.meta`). */
  knobs?: Knobs;
}

/** Memory access cost in elements, itemized, and in bytes of the report's dtype. */
export interface MacReport {
  /** input + output + params. */
  elements: number;
  /** Input feature maps read. */
  input: number;
  /** Output feature map written. */
  output: number;
  /** Parameter tensors read (weights, bias, BatchNorm gamma/beta/mean/var). */
  params: number;
  /** `elements` x bytes per element of the dtype. */
  bytes: number;
}

/** The figures every row of a report carries (a layer, a group, a stage, an op type). */
export interface Figures {
  params: ParamCount;
  /** BatchNorm running mean and variance: stored, not learnable. */
  buffers: number;
  madds: number;
  flops: FlopCount;
  mac: MacReport;
  /** Output elements (sum of the outputs of the nodes summed). */
  activations: number;
}

/** One node of the graph. */
export interface LayerReport extends Figures {
  /** Module path, e.g. `stage2.0.branch2.3`. */
  path: string;
  /** Op kind of the IR, e.g. `conv2d`. */
  op: OpKind;
  /** Resource class (see {@link layerType}), e.g. `dwconv 3x3`, `conv1x1`, `fc`. */
  type: string;
  /** The op's attributes, as in the IR (lib/ir/ops.ts). */
  attrs: OpAttrs[OpKind];
  inputShapes: number[][];
  outputShape: number[];
}

/** A sum over the layers under one module path. */
export interface SubtotalReport extends Figures {
  path: string;
  /** Block or stage type when the model names one, e.g. `inverted_residual`. */
  type?: string;
  /** Number of layers summed. */
  layers: number;
  /** Output shape of the last layer of the group, in topological order. */
  outputShape: number[];
  /** Stages only: the module paths the stage covers when they are not under `path`. */
  members?: string[];
}

/** Shares of the model totals, as fractions in [0, 1]. */
export interface Shares {
  madds: number;
  flops: number;
  mac: number;
  /** Of all learnable parameters (torchvision's convention). */
  params: number;
  /** Of conv and FC weights only (the papers' convention: MobileNet V1 Table 2). */
  weights: number;
}

/** A sum over every layer of one resource class. */
export interface OpTypeReport extends Figures {
  type: string;
  /** Number of layers of this type. */
  layers: number;
  share: Shares;
}

/** Totals of the model. */
export interface TotalsReport extends Omit<Figures, "mac" | "activations"> {
  mac: MacReport & { dtype: Dtype };
  activations: {
    /** Sum of the output elements of every node (views included). */
    elements: number;
    bytes: number;
    /** The largest single output tensor. */
    largest: { path: string; elements: number; bytes: number };
  };
}

/** What {@link analyze} returns; plain data, stable under {@link SCHEMA}. */
export interface AnalysisReport {
  schema: typeof SCHEMA;
  model: string;
  knobs: Knobs;
  /** Input shape `[N, C, H, W]`. */
  input: number[];
  dtype: Dtype;
  /** Path segments of `groups`. */
  depth: number;
  /** How each figure is counted, in words. */
  conventions: Conventions;
  totals: TotalsReport;
  /** Every node, in topological (definition) order. */
  layers: LayerReport[];
  /** Subtotals per path prefix of `depth` segments, in order of first layer. */
  groups: SubtotalReport[];
  /** Subtotals per scope the model marks as a stage, in order. */
  stages: SubtotalReport[];
  /** Subtotals per resource class, most MAdds first (MobileNet V1 Table 2 view). */
  byOpType: OpTypeReport[];
}

/** The counting conventions, as stated in lib/analysis/cost.ts. */
export interface Conventions {
  madds: string;
  flops: string;
  mac: string;
  params: string;
  activations: string;
}

/** The conventions every report carries (kept in step with cost.ts and the README). */
export const CONVENTIONS: Readonly<Conventions> = {
  madds: "Multiply-adds (one multiply-accumulate counts once, as the papers count " +
    "'FLOPs'): conv2d = output elements x (in_channels / groups) x kh x kw; " +
    "conv_transpose2d = input elements x (out_channels / groups) x kh x kw; " +
    "linear = N x in x out; matmul = batch x M x K x N; no other op has MAdds",
  flops: "2 x MAdds plus element-wise work, itemized: bias 1 per output element, " +
    "BatchNorm 2 and layer/instance norm 8 per element; activations per element: relu 1, relu6/clip 2, " +
    "hardsigmoid 4, hardswish 5, sigmoid 4, silu 5, prelu 2, leaky_relu 2, elu 4, " +
    "softplus 3, 1 per elementary function (exp, log, tanh, sqrt, reciprocal, neg, abs, " +
    "erf); binary add/sub/mul/div/pow/max/min 1 per output element, affine 2 and " +
    "softmax 3 per element, linear resize 3 x (2^k - 1) per output element over k " +
    "resized axes (nearest 0); max pool kh*kw-1 and avg pool kh*kw per output, global avg " +
    "pool 1 per input element, global max pool and reduce sum/max input - output " +
    "elements, reduce mean input elements",
  mac: "Memory access cost (ShuffleNet V2 sec. 2): elements read and written = input " +
    "tensors + output tensor + parameter tensors (BatchNorm running stats " +
    "included), assuming everything fits in cache; split, slice and gather read only " +
    "what they keep; flatten, reshape, dropout and const are views and cost 0; " +
    "bytes = elements x dtype size",
  params: "weights = conv and FC kernels (the papers' convention), PReLU slopes, " +
    "affine scales and stored constants; bias = conv/FC biases and affine shifts; bn = " +
    "gamma and beta of BatchNorm, LayerNorm and InstanceNorm; total = weights + " +
    "bias + bn (torchvision's num_params); BatchNorm running mean/var are buffers, not parameters",
  activations: "Output elements of each node; totals sum every node's output and " +
    "name the largest single tensor",
};

/**
 * The resource class of a node, the rows of MobileNet V1's Table 2:
 * `conv1x1` (pointwise, ungrouped), `conv kxk` (full conv), `dwconv kxk`
 * (depthwise: one group per input channel), `gconv kxk` (other grouped
 * convs), `fc` (linear); any other op is its kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layerType } from "./report.ts";
 * const conv = (groups: number, k: number) => ({
 *   name: "c", kind: "conv2d" as const, inputs: ["input"],
 *   attrs: { inChannels: 32, outChannels: 32, kernel: [k, k] as const, stride: [1, 1] as const,
 *     padding: [0, 0, 0, 0] as const, dilation: [1, 1] as const, groups, bias: false },
 * });
 * assert.equal(layerType(conv(1, 1)), "conv1x1");
 * assert.equal(layerType(conv(32, 3)), "dwconv 3x3");
 * assert.equal(layerType(conv(4, 1)), "gconv 1x1");
 * assert.equal(layerType(conv(1, 3)), "conv 3x3");
 * ```
 */
export function layerType(node: AnyNode): string {
  if (node.kind === "linear") return "fc";
  if (node.kind !== "conv2d") return node.kind;
  const a = node.attrs;
  const k = `${a.kernel[0]}x${a.kernel[1]}`;
  if (a.groups === 1) return k === "1x1" ? "conv1x1" : `conv ${k}`;
  if (a.groups === a.inChannels && a.outChannels % a.inChannels === 0) return `dwconv ${k}`;
  return `gconv ${k}`;
}

/**
 * Analyzes a graph: checks its structure, infers every shape, costs every
 * node and sums the costs per group, stage, op type and model. Throws the
 * `GraphError`, `ShapeError` or `RangeError` of the first bad node.
 *
 * @param graph The network, e.g. `zoo.build("shufflenetv2")`.
 * @param options dtype for bytes, depth of `groups`, model name and knobs to report.
 * @returns A JSON-ready {@link AnalysisReport}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { analyze } from "./report.ts";
 * const b = new GraphBuilder("tiny", [1, 3, 8, 8]);
 * const y = b.scope("stem", () => b.relu(b.conv2d(b.input, { out: 4, kernel: 3 })), "stage");
 * const report = analyze(b.build(y));
 * assert.equal(report.totals.madds, 8 * 8 * 4 * 3 * 3 * 3); // output elements x in x kh x kw
 * assert.equal(report.totals.mac.bytes, 4 * report.totals.mac.elements); // float32
 * assert.deepEqual(report.stages.map((s) => s.path), ["stem"]);
 * ```
 */
export function analyze(graph: Graph, options: AnalyzeOptions = {}): AnalysisReport {
  const shaped = inferShapes(graph); // validateGraph, then each op's shape rule
  const costs = estimateCost(shaped);
  return aggregate(graph, costs, options);
}

/** Sums node costs into the report (the last stage of {@link analyze}). */
export function aggregate(
  graph: Graph,
  costs: readonly NodeCost[],
  options: AnalyzeOptions = {},
): AnalysisReport {
  const dtype = options.dtype ?? "float32";
  const bytes = DTYPE_BYTES[dtype];
  if (bytes === undefined) {
    throw new RangeError(`Invalid dtype "${dtype}": expected one of ${DTYPES.join(", ")}`);
  }
  const depth = options.depth ?? 1;
  if (!Number.isInteger(depth) || depth < 1) {
    throw new RangeError(`Invalid depth "${depth}": expected a positive integer`);
  }
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  const layers = costs.map((c) => layerReport(c, nodes.get(c.name)!, bytes));
  const total = sumInto(zeroTotals(), costs);

  let largest = { path: graph.inputs[0].name, elements: 0 };
  for (const c of costs) {
    if (c.activations > largest.elements) largest = { path: c.name, elements: c.activations };
  }
  const totals: TotalsReport = {
    params: total.params,
    buffers: total.buffers,
    madds: total.madds,
    flops: total.flops,
    mac: { ...macReport(total, bytes), dtype },
    activations: {
      elements: total.activations,
      bytes: total.activations * bytes,
      largest: { ...largest, bytes: largest.elements * bytes },
    },
  };

  return {
    schema: SCHEMA,
    model: options.model ?? graph.name,
    knobs: { ...(options.knobs ?? graph.meta) },
    input: [...graph.inputs[0].shape],
    dtype,
    depth,
    conventions: { ...CONVENTIONS },
    totals,
    layers,
    groups: subtotals(costs, (c) => pathPrefix(c.name, depth), graph.scopes, bytes),
    stages: stageTotals(costs, graph.scopes, bytes),
    byOpType: opTypeTotals(layers, costs, total, bytes),
  };
}

function layerReport(c: NodeCost, node: AnyNode, bytes: number): LayerReport {
  return {
    path: c.name,
    op: c.kind,
    type: layerType(node),
    attrs: node.attrs,
    inputShapes: c.inputShapes.map((s) => [...s]),
    outputShape: [...c.shape],
    params: c.params,
    buffers: c.buffers,
    madds: c.madds,
    flops: c.flops,
    mac: macReport(c, bytes),
    activations: c.activations,
  };
}

function macReport(c: CostTotals, bytes: number): MacReport {
  const { total, input, output, params } = c.mac;
  return { elements: total, input, output, params, bytes: total * bytes };
}

/** `addCost` of cost.ts with the fields spelled out: this runs once per node and sum. */
function addCost(into: CostTotals, c: CostTotals): CostTotals {
  const p = into.params, f = into.flops, m = into.mac;
  p.total += c.params.total;
  p.weights += c.params.weights;
  p.bias += c.params.bias;
  p.bn += c.params.bn;
  into.buffers += c.buffers;
  into.madds += c.madds;
  f.total += c.flops.total;
  f.maddsX2 += c.flops.maddsX2;
  f.bias += c.flops.bias;
  f.bn += c.flops.bn;
  f.activation += c.flops.activation;
  f.elementwise += c.flops.elementwise;
  f.pooling += c.flops.pooling;
  m.total += c.mac.total;
  m.input += c.mac.input;
  m.output += c.mac.output;
  m.params += c.mac.params;
  into.activations += c.activations;
  return into;
}

function sumInto(into: CostTotals, costs: Iterable<CostTotals>): CostTotals {
  for (const c of costs) addCost(into, c);
  return into;
}

function figures(t: CostTotals, bytes: number): Figures {
  return {
    params: t.params,
    buffers: t.buffers,
    madds: t.madds,
    flops: t.flops,
    mac: macReport(t, bytes),
    activations: t.activations,
  };
}

/** Subtotals keyed by `keyOf`, in order of each key's first node. */
function subtotals(
  costs: readonly NodeCost[],
  keyOf: (c: NodeCost) => string,
  scopes: readonly Scope[],
  bytes: number,
): SubtotalReport[] {
  const acc = new Map<string, { sum: CostTotals; layers: number; last: NodeCost }>();
  for (const c of costs) {
    const key = keyOf(c);
    const entry = acc.get(key);
    if (entry) {
      addCost(entry.sum, c);
      entry.layers++;
      entry.last = c;
    } else acc.set(key, { sum: addCost(zeroTotals(), c), layers: 1, last: c });
  }
  const types = new Map(scopes.map((s) => [s.path, s.type ?? s.kind]));
  return [...acc].map(([path, e]) => {
    const type = types.get(path);
    return {
      path,
      ...(type ? { type } : {}),
      layers: e.layers,
      outputShape: [...e.last.shape],
      ...figures(e.sum, bytes),
    };
  });
}

function stageTotals(
  costs: readonly NodeCost[],
  scopes: readonly Scope[],
  bytes: number,
): SubtotalReport[] {
  const out: SubtotalReport[] = [];
  for (const stage of scopes.filter((s) => s.kind === "stage")) {
    const inside = costs.filter((c) => inScope(c.name, stage));
    if (inside.length === 0) continue;
    const [sub] = subtotals(inside, () => stage.path, [], bytes);
    out.push({
      ...sub,
      ...(stage.type ? { type: stage.type } : {}),
      ...(stage.members ? { members: stage.members } : {}),
    });
  }
  return out;
}

function share(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

function opTypeTotals(
  layers: readonly LayerReport[],
  costs: readonly NodeCost[],
  total: CostTotals,
  bytes: number,
): OpTypeReport[] {
  const byType = new Map<string, { sum: CostTotals; layers: number; first: number }>();
  costs.forEach((c, i) => {
    const type = layers[i].type;
    const entry = byType.get(type);
    if (entry) {
      addCost(entry.sum, c);
      entry.layers++;
    } else byType.set(type, { sum: addCost(zeroTotals(), c), layers: 1, first: i });
  });
  return [...byType]
    .sort(([, a], [, b]) =>
      b.sum.madds - a.sum.madds || b.sum.mac.total - a.sum.mac.total || a.first - b.first
    )
    .map(([type, e]) => ({
      type,
      layers: e.layers,
      ...figures(e.sum, bytes),
      share: {
        madds: share(e.sum.madds, total.madds),
        flops: share(e.sum.flops.total, total.flops.total),
        mac: share(e.sum.mac.total, total.mac.total),
        params: share(e.sum.params.total, total.params.total),
        weights: share(e.sum.params.weights, total.params.weights),
      },
    }));
}
