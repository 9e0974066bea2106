/**
 * lightnets: lightweight CNNs (SqueezeNet, MobileNet V1/V2/V3, ShuffleNet
 * V1/V2) as data, and an interpreter that computes every layer's shape,
 * parameters, multiply-adds, FLOPs and memory access cost.
 *
 * The pipeline: build a {@link Graph} (from the {@link zoo} or with a
 * {@link GraphBuilder}), then {@link analyze} it (validate, infer shapes,
 * estimate cost, aggregate) and print the report with {@link formatReport}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyze, formatReport, zoo } from "./mod.ts";
 *
 * const report = analyze(zoo.build("mobilenetv1", { width: 1, resolution: 224 }));
 * // MobileNet V1 paper, Table 7: 1.0 MobileNet-224 has 569M MAdds and 4.2M weights.
 * assert.equal(Math.round(report.totals.madds / 1e6), 569);
 * assert.equal(Math.round(report.totals.params.weights / 1e5) / 10, 4.2);
 * // Table 2: 1x1 convolutions hold 94.86% of the MAdds.
 * assert.equal(report.byOpType[0].type, "conv1x1");
 * assert.equal((100 * report.byOpType[0].share.madds).toFixed(2), "94.86");
 * assert.match(formatReport(report, "table"), /^ {2}MAdds +568,740,352 +569M/m);
 * ```
 *
 * @module
 */

// The IR: ops, graphs, the builder.
export type {
  Conv2dAttrs,
  HW,
  OpAttrs,
  OpKind,
  Pads,
  ParamRole,
  ParamSpec,
  Shape,
} from "./lib/ir/ops.ts";
export {
  formatShape,
  inferNodeShape,
  numel,
  OP_KINDS,
  paramSpecs,
  ShapeError,
} from "./lib/ir/ops.ts";
export type { AnyNode, Graph, Node, Scope, ScopeKind } from "./lib/ir/graph.ts";
export { consumers, GraphError, pathPrefix, validateGraph } from "./lib/ir/graph.ts";
export { GraphBuilder } from "./lib/ir/builder.ts";
export type { Conv2dOptions, LinearOptions, PoolOptions, Tensor } from "./lib/ir/builder.ts";

// The zoo.
export type { Knobs, KnobSpec, KnobValue, ModelDef } from "./lib/models/registry.ts";
export { KnobError, Registry, UnknownModelError } from "./lib/models/registry.ts";
export { publishedVariants, zoo } from "./lib/models/zoo.ts";

// The interpreter and its report.
export type { ShapedGraph, ShapedNode } from "./lib/analysis/shapes.ts";
export { inferShapes } from "./lib/analysis/shapes.ts";
export type { CostTotals, FlopCount, MacCount, NodeCost, ParamCount } from "./lib/analysis/cost.ts";
export { estimateCost, nodeCost } from "./lib/analysis/cost.ts";
export type {
  AnalysisReport,
  AnalyzeOptions,
  Dtype,
  LayerReport,
  OpTypeReport,
  SubtotalReport,
} from "./lib/analysis/report.ts";
export {
  aggregate,
  analyze,
  CONVENTIONS,
  DTYPE_BYTES,
  layerType,
  SCHEMA,
} from "./lib/analysis/report.ts";
export type { Format, FormatOptions } from "./lib/analysis/format.ts";
export { formatCount, formatReport, FORMATS } from "./lib/analysis/format.ts";
