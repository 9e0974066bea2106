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
 * The reference executor runs a graph with plain loops: the definition every
 * generated kernel and ONNX runtime is tested against.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { argmax, foldBatchNorm, randomInput, randomWeights, runReference, zoo } from "./mod.ts";
 *
 * const graph = zoo.build("mobilenetv1", { width: 0.25, resolution: 32, classes: 10 });
 * const weights = randomWeights(graph, 0);
 * const x = randomInput(graph.inputs[0].shape, 42);
 * const logits = runReference(graph, weights, x);
 * assert.equal(logits.length, 10);
 * // Folding BatchNorm into the convs changes the graph, not what it computes.
 * const folded = foldBatchNorm(graph, weights);
 * assert.equal(argmax(runReference(folded.graph, folded.weights, x)), argmax(logits));
 * ```
 *
 * Two parts load heavier dependencies and are imported by path, so that this
 * module needs no permission: `codegen/compile.ts` (`compile`, `loadModule`;
 * ts-morph, which needs `--allow-env`) and `interop/onnx_export.ts` /
 * `interop/onnx_import.ts` (`exportOnnx`, `importOnnx`; protobufjs).
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
  checkAttrs,
  formatShape,
  inferNodeShape,
  numel,
  OP_KINDS,
  opDef,
  paramSpecs,
  ShapeError,
} from "./lib/ir/ops.ts";
export type { OpDef, OpTable, Work } from "./lib/ops/def.ts";
export { OP_DEFS } from "./lib/ops/table.ts";
export type {
  AnyNode,
  Graph,
  GraphInput,
  GraphOutput,
  Node,
  Scope,
  ScopeKind,
} from "./lib/ir/graph.ts";
export {
  consumers,
  GraphError,
  pathPrefix,
  primaryInput,
  primaryOutput,
  validateGraph,
} from "./lib/ir/graph.ts";
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

// ShuffleNet V2 guidelines G1-G4, activation memory, symbolic cost, charts.
export type {
  Finding,
  G1Figures,
  G2Figures,
  G3Figures,
  G4Figures,
  GuidelineId,
  GuidelineReport,
  GuidelineSummary,
  Severity,
} from "./lib/analysis/guidelines.ts";
export {
  channelRatio,
  checkGuidelines,
  g1LowerBound,
  GUIDELINES,
  THRESHOLDS,
} from "./lib/analysis/guidelines.ts";
export type {
  LiveStep,
  MaterializedMemory,
  MaterializedOptions,
  MaterializedRow,
  PeakMemory,
  PeakMemoryOptions,
} from "./lib/analysis/memory.ts";
export { materializedMemory, peakMemory } from "./lib/analysis/memory.ts";
export type {
  Atom,
  Env,
  Poly,
  SymbolicCost,
  SymbolicLayer,
  SymbolicOptions,
} from "./lib/analysis/symbolic.ts";
export {
  evaluate,
  evaluatePeak,
  formatPoly,
  onMultiples,
  symbolicCost,
  SymbolicError,
  symbolicJson,
  widthRuleHolds,
} from "./lib/analysis/symbolic.ts";
export type { LayerShare, ScatterPoint } from "./lib/analysis/charts.ts";
export { escapeXml, layerSharesSvg, scatterSvg, stackSvg } from "./lib/analysis/charts.ts";
export {
  SV2_GUIDELINE_MODELS,
  sv2G1,
  sv2G2,
  sv2G3,
  sv2G4,
  sv2GuidelineVariants,
} from "./lib/models/sv2_guidelines.ts";

// The reference executor and weights (state_dict keys).
export type { Weights } from "./lib/runtime/weights.ts";
export { checkWeights, randomWeights } from "./lib/runtime/weights.ts";
export type { FoldResult } from "./lib/runtime/fold.ts";
export { foldBatchNorm } from "./lib/runtime/fold.ts";
export { runReference, runReferenceAll, runReferenceOutputs } from "./lib/runtime/reference.ts";
export { argmax, maxAbs, maxAbsDiff, randomInput, topK } from "./lib/runtime/tensor.ts";
