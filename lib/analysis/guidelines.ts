/**
 * The four practical guidelines of ShuffleNet V2 (Ma et al., arXiv 1807.11164,
 * sec. 2) as measured findings on a shaped graph:
 *
 * - **G1** equal channel width minimizes memory access cost (MAC). For a 1x1
 *   conv with c1 inputs, c2 outputs on an h x w map, FLOPs B = h*w*c1*c2 and
 *   MAC = h*w*(c1 + c2) + c1*c2 >= 2*sqrt(h*w*B) + B/(h*w) (Eq. 1), with
 *   equality at c1 = c2. Every ungrouped 1x1 conv gets its excess over that
 *   bound.
 * - **G2** excessive group convolution increases MAC. At fixed FLOPs B and
 *   input c1, MAC = h*w*c1 + B*g/c1 + B/(h*w) (Eq. 2). Every grouped conv with
 *   1 < groups < channels gets its MAC against the same layer with g = 1 and
 *   the same FLOPs (output width divided by g), as a factor.
 * - **G3** network fragmentation reduces parallelism. Per block: fragmented
 *   operators (convolutions and poolings, the paper's count: NASNet-A 13,
 *   ResNet 2-3), parallel branches (the largest set of those operators of
 *   which none depends on another) and operators on the longest path.
 * - **G4** element-wise operations are not negligible: every op whose record
 *   declares its access `"pointwise"` (activations and unary math functions,
 *   the broadcasting binaries add/sub/mul/div/pow/max/min, PReLU, affine,
 *   unfused BatchNorm) or `"normalize"` (layer and instance norm, softmax: no
 *   MAdds, a constant number of FLOPs per element), conv bias (fused: only its
 *   parameter reads), and depthwise conv (which the paper counts as
 *   element-wise for its high MAC/FLOPs ratio). Per block and per model: their
 *   share of MAC against their share of MAdds and FLOPs.
 *
 * MAC is counted in elements, batch included, as in lib/analysis/cost.ts.
 * The thresholds are constants below, each with the experiment of the paper
 * that motivates it.
 *
 * @module
 */

import type { AnyNode } from "../ir/graph.ts";
import { numel, opDef } from "../ir/ops.ts";
import { estimateCost, type NodeCost } from "./cost.ts";
import type { ShapedGraph } from "./shapes.ts";

/** A guideline of ShuffleNet V2 sec. 2. */
export type GuidelineId = "G1" | "G2" | "G3" | "G4";
/** How far a layer or block is from a guideline: `pass`, `info` (worth knowing), `warn` (costly). */
export type Severity = "pass" | "info" | "warn";

/** Every guideline, in order. */
export const GUIDELINES: readonly GuidelineId[] = ["G1", "G2", "G3", "G4"];

/**
 * Thresholds of the severities, with the measurement of the paper behind each.
 */
export const THRESHOLDS = {
  /**
   * G1 excess of MAC over the Eq. 1 bound, in percent. Ignoring weights, the
   * excess is (1 + r) / (2 sqrt(r)) - 1 for a ratio 1:r: 6% at 1:2, 43% at 1:6,
   * 88% at 1:12. Table 1 (GPU) ran 1:2 at 88% of 1:1's speed, 1:6 at 59% and
   * 1:12 at 51%. So up to 10% (about 1:2.2) passes, 30% (about 1:4.5) and
   * above warns.
   */
  g1InfoPercent: 10,
  g1WarnPercent: 30,
  /**
   * G2 factor MAC(g) / MAC(g = 1) at equal FLOPs. Table 2's g = 2 network has
   * 1.40x the MAC of g = 1 (c 128 -> 180 at 56x56) and ran 1.42x slower on
   * GPU: from 1.4 a layer warns; from 1.1 it is worth knowing.
   */
  g2InfoFactor: 1.1,
  g2WarnFactor: 1.4,
  /**
   * G3 fragmented operators per block: ResNet's 2-3 pass; from 4 (Table 3's
   * 4-fragment-series block ran at 31% of the 1-fragment speed on GPU) it is
   * worth knowing; from 7 (half of NASNet-A's 13) it warns.
   */
  g3InfoOps: 4,
  g3WarnOps: 7,
  /**
   * G3 parallel branches per block: 2 pass (ShuffleNet V2's own stride-2
   * unit); 3 is worth knowing; 4 (Table 3's 4-fragment-parallel block, 28% of
   * the 1-fragment speed on GPU) warns.
   */
  g3InfoBranches: 3,
  g3WarnBranches: 4,
  /**
   * G4 share of a block's MAC spent in element-wise ops: from 25% worth
   * knowing, from 50% a warning (Fig. 2 of the paper: element-wise ops take a
   * large part of the run time of ShuffleNet V1 and MobileNetV2 on GPU).
   */
  g4InfoShare: 0.25,
  g4WarnShare: 0.5,
} as const;

/** Figures of a G1 finding (one ungrouped 1x1 conv). */
export interface G1Figures {
  cIn: number;
  cOut: number;
  /** `c_in:c_out` normalized to the smaller side, e.g. `1:6` or `6:1`. */
  ratio: string;
  /** N * h * w of the output map (the paper's h*w, batch included). */
  hw: number;
  /** FLOPs B of the paper = multiply-adds. */
  madds: number;
  /** Input map + output map + weights, in elements (bias excluded: Eq. 1 has none). */
  mac: number;
  /** 2*sqrt(h*w*B) + B/(h*w), in elements. */
  macLowerBound: number;
  /** (mac - macLowerBound) / macLowerBound in percent. */
  excessPercent: number;
}

/** Figures of a G2 finding (one grouped, not depthwise, conv). */
export interface G2Figures {
  groups: number;
  cIn: number;
  cOut: number;
  kernel: string;
  madds: number;
  /** Input map + output map + weights, in elements. */
  mac: number;
  /** The same layer with g = 1 and the same FLOPs (output width c_out / g). */
  macAtG1: number;
  /** mac / macAtG1. */
  factor: number;
}

/** Figures of a G3 finding (one block). */
export interface G3Figures {
  type: string;
  /** Every node of the block, views and element-wise ops included. */
  nodes: number;
  /** Convolutions and poolings (the paper's fragmented operators). */
  fragmentedOps: number;
  /** Largest set of fragmented operators none of which depends on another. */
  parallelBranches: number;
  /** Fragmented operators on the longest path through the block. */
  longestPath: number;
}

/** Figures of a G4 finding (one block) and of the G4 model summary. */
export interface G4Figures {
  /** MAC of element-wise ops (pointwise and normalize ops, depthwise conv, bias reads). */
  elementwiseMac: number;
  mac: number;
  /** elementwiseMac / mac. */
  macShare: number;
  /** MAdds of element-wise ops (depthwise convs only) / all MAdds. */
  maddsShare: number;
  /** Element-wise FLOPs (pointwise and normalize ops, bias, depthwise 2*MAdds) / all FLOPs. */
  flopsShare: number;
  /**
   * The MAC share left if BN were folded into the conv and pointwise ops
   * (activations, bias, add, ...) fused into their producer (what codegen does
   * for its activations and adds): depthwise convs, normalizations, the other
   * inputs of binary ops and the parameters of pointwise ops remain.
   */
  macShareIfFused: number;
}

interface FindingBase<G extends GuidelineId, F> {
  guideline: G;
  severity: Severity;
  /** Module path of the layer (G1, G2) or block (G3, G4). */
  path: string;
  figures: F;
  /** One line with the numbers. */
  message: string;
  /** One line: what to change. */
  suggestion: string;
}

/** One measured finding. */
export type Finding =
  | FindingBase<"G1", G1Figures>
  | FindingBase<"G2", G2Figures>
  | FindingBase<"G3", G3Figures>
  | FindingBase<"G4", G4Figures>;

/** The model-level summary of one guideline. */
export interface GuidelineSummary {
  guideline: GuidelineId;
  /** The worst severity among the findings (`pass` when there are none). */
  severity: Severity;
  /** Number of layers or blocks checked. */
  checked: number;
  counts: Record<Severity, number>;
  /** Model-level figures (see {@link checkGuidelines}). */
  figures: Record<string, number | string>;
  /** One line with the numbers. */
  text: string;
}

/** Every finding of a model plus one summary per guideline. */
export interface GuidelineReport {
  model: string;
  findings: Finding[];
  summary: Record<GuidelineId, GuidelineSummary>;
}

const RANK: Record<Severity, number> = { pass: 0, info: 1, warn: 2 };

function worst(a: Severity, b: Severity): Severity {
  return RANK[a] >= RANK[b] ? a : b;
}

function grade(value: number, info: number, warn: number): Severity {
  return value >= warn ? "warn" : value >= info ? "info" : "pass";
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** `c_in:c_out` with the smaller side as 1 (`24:144` is `1:6`, `144:24` is `6:1`). */
export function channelRatio(cIn: number, cOut: number): string {
  const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
  if (cIn === cOut) return "1:1";
  const g = gcd(cIn, cOut);
  if (g === Math.min(cIn, cOut)) {
    return cIn < cOut ? `1:${cOut / cIn}` : `${cIn / cOut}:1`;
  }
  return cIn < cOut ? `1:${fmt(cOut / cIn)}` : `${fmt(cIn / cOut)}:1`;
}

/**
 * The G1 lower bound on MAC of a 1x1 conv with FLOPs `madds` over `hw` output
 * positions (ShuffleNet V2 Eq. 1): `2*sqrt(hw*B) + B/hw`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { g1LowerBound } from "./guidelines.ts";
 * // c1 = c2 = 128 at 56x56 meets the bound: MAC = hw*(c1+c2) + c1*c2.
 * const hw = 56 * 56, B = hw * 128 * 128;
 * assert.equal(g1LowerBound(B, hw), hw * 256 + 128 * 128);
 * ```
 */
export function g1LowerBound(madds: number, hw: number): number {
  return 2 * Math.sqrt(hw * madds) + madds / hw;
}

function isDepthwise(n: AnyNode): boolean {
  return n.kind === "conv2d" && n.attrs.groups > 1 && n.attrs.groups === n.attrs.inChannels;
}

const FRAGMENT_KINDS = new Set(["conv2d", "max_pool", "avg_pool", "global_avg_pool", "linear"]);

/** G4's element-wise ops: records whose access is pointwise or normalize. */
function isElementwise(n: AnyNode): boolean {
  const access = opDef(n.kind).access;
  return access === "pointwise" || access === "normalize";
}

/** Element-wise MAC, MAdds and FLOPs of one node (see G4 in the module doc). */
function elementwiseOf(n: AnyNode, c: NodeCost): { mac: number; madds: number; flops: number } {
  if (isDepthwise(n)) return { mac: c.mac.total, madds: c.madds, flops: c.flops.total };
  if (isElementwise(n)) return { mac: c.mac.total, madds: 0, flops: c.flops.total };
  // A conv/linear bias is an AddBias fused into its producer: its reads and its FLOPs.
  return { mac: c.params.bias, madds: 0, flops: c.flops.bias };
}

/**
 * MAC that would remain of an element-wise node if fused as codegen fuses it:
 * BatchNorm folds into the conv before it (nothing remains); a pointwise op
 * runs as its producer's epilogue, still reading its other inputs (an add's
 * shortcut, a mul's scale) and its parameters (PReLU slopes, affine scale and
 * shift); a normalization needs its whole slice first, so all of it remains.
 */
function fusedElementwiseMac(n: AnyNode, c: NodeCost): number {
  if (isDepthwise(n)) return c.mac.total;
  if (n.kind === "batch_norm") return 0;
  switch (opDef(n.kind).access) {
    case "pointwise":
      return c.inputShapes.slice(1).reduce((a, s) => a + numel(s), 0) + c.mac.params;
    case "normalize":
      return c.mac.total;
    default:
      return c.params.bias;
  }
}

function checkG1(n: AnyNode, c: NodeCost): Finding | undefined {
  if (n.kind !== "conv2d") return undefined;
  const a = n.attrs;
  if (a.kernel[0] !== 1 || a.kernel[1] !== 1 || a.groups !== 1) return undefined;
  const [batch, , h, w] = c.shape;
  const hw = batch * h * w;
  const mac = numel(c.inputShapes[0]) + numel(c.shape) + a.inChannels * a.outChannels;
  const bound = g1LowerBound(c.madds, hw);
  const excessPercent = (mac / bound - 1) * 100;
  const severity = grade(excessPercent, THRESHOLDS.g1InfoPercent, THRESHOLDS.g1WarnPercent);
  const ratio = channelRatio(a.inChannels, a.outChannels);
  return {
    guideline: "G1",
    severity,
    path: n.name,
    figures: {
      cIn: a.inChannels,
      cOut: a.outChannels,
      ratio,
      hw,
      madds: c.madds,
      mac,
      macLowerBound: Math.round(bound),
      excessPercent: round(excessPercent, 1),
    },
    message: `1x1 conv ${a.inChannels}->${a.outChannels} (${ratio}) at ${h}x${w}: MAC ${mac} is ${
      round(excessPercent, 1)
    }% above the bound ${Math.round(bound)} at the same FLOPs`,
    suggestion: severity === "pass"
      ? "Channel widths are close to equal; nothing to change"
      : `Bring c_in and c_out closer (ratio ${ratio}); equal widths minimize MAC at equal FLOPs`,
  };
}

function checkG2(n: AnyNode, c: NodeCost): Finding | undefined {
  if (n.kind !== "conv2d") return undefined;
  const a = n.attrs;
  if (!(a.groups > 1 && a.groups < a.inChannels)) return undefined;
  const input = numel(c.inputShapes[0]);
  const output = numel(c.shape);
  const weights = c.params.weights;
  const mac = input + output + weights;
  // g = 1 at equal FLOPs and equal input: output width c_out / g, weights unchanged.
  const macAtG1 = input + output / a.groups + weights;
  const factor = mac / macAtG1;
  const severity = grade(factor, THRESHOLDS.g2InfoFactor, THRESHOLDS.g2WarnFactor);
  const kernel = `${a.kernel[0]}x${a.kernel[1]}`;
  return {
    guideline: "G2",
    severity,
    path: n.name,
    figures: {
      groups: a.groups,
      cIn: a.inChannels,
      cOut: a.outChannels,
      kernel,
      madds: c.madds,
      mac,
      macAtG1: Math.round(macAtG1),
      factor: round(factor, 3),
    },
    message:
      `${kernel} conv ${a.inChannels}->${a.outChannels} with ${a.groups} groups: MAC ${mac} is ${
        round(factor, 2)
      }x the MAC of g=1 at the same FLOPs`,
    suggestion: severity === "pass"
      ? "Grouping costs little MAC here; nothing to change"
      : `Use fewer groups (g=${a.groups}); at equal FLOPs MAC grows with g`,
  };
}

interface BlockInfo {
  path: string;
  type: string;
  nodes: { node: AnyNode; cost: NodeCost }[];
}

/** Longest chain and largest antichain of the fragmented operators of a block. */
function fragmentation(nodes: AnyNode[]): { ops: number; width: number; depth: number } {
  const inBlock = new Map(nodes.map((n, i) => [n.name, i]));
  const frag = nodes.map((n) => FRAGMENT_KINDS.has(n.kind));
  // Ancestor sets among fragmented ops, in topological order (nodes are sorted).
  const anc: Set<number>[] = nodes.map(() => new Set());
  const depth: number[] = nodes.map(() => 0);
  nodes.forEach((n, i) => {
    let d = 0;
    for (const inp of n.inputs) {
      const j = inBlock.get(inp);
      if (j === undefined) continue;
      for (const a of anc[j]) anc[i].add(a);
      if (frag[j]) anc[i].add(j);
      d = Math.max(d, depth[j]);
    }
    depth[i] = d + (frag[i] ? 1 : 0);
  });
  const ops = nodes.map((_, i) => i).filter((i) => frag[i]);
  // Dilworth: largest antichain = ops - maximum matching of the comparability graph.
  const matchOf = new Map<number, number>();
  const tryAugment = (u: number, seen: Set<number>): boolean => {
    for (const v of ops) {
      if (!anc[v].has(u) || seen.has(v)) continue;
      seen.add(v);
      const m = matchOf.get(v);
      if (m === undefined || tryAugment(m, seen)) {
        matchOf.set(v, u);
        return true;
      }
    }
    return false;
  };
  let matching = 0;
  for (const u of ops) if (tryAugment(u, new Set())) matching++;
  return { ops: ops.length, width: ops.length - matching, depth: Math.max(0, ...depth) };
}

function checkG3(b: BlockInfo): Finding {
  const f = fragmentation(b.nodes.map((x) => x.node));
  const severity = worst(
    grade(f.ops, THRESHOLDS.g3InfoOps, THRESHOLDS.g3WarnOps),
    grade(f.width, THRESHOLDS.g3InfoBranches, THRESHOLDS.g3WarnBranches),
  );
  return {
    guideline: "G3",
    severity,
    path: b.path,
    figures: {
      type: b.type,
      nodes: b.nodes.length,
      fragmentedOps: f.ops,
      parallelBranches: f.width,
      longestPath: f.depth,
    },
    message:
      `${b.type}: ${f.ops} fragmented ops (NASNet-A 13, ResNet 2-3), ${f.width} parallel, ${f.depth} on the longest path`,
    suggestion: severity === "pass"
      ? "Few, wide operators; nothing to change"
      : "Merge small parallel or serial operators into fewer, wider ones",
  };
}

function g4Figures(items: { node: AnyNode; cost: NodeCost }[]): G4Figures {
  let mac = 0, madds = 0, flops = 0, ewMac = 0, ewMadds = 0, ewFlops = 0, fused = 0, fusedAll = 0;
  for (const { node, cost } of items) {
    const ew = elementwiseOf(node, cost);
    mac += cost.mac.total;
    madds += cost.madds;
    flops += cost.flops.total;
    ewMac += ew.mac;
    ewMadds += ew.madds;
    ewFlops += ew.flops;
    const keep = fusedElementwiseMac(node, cost);
    fused += keep;
    fusedAll += cost.mac.total - ew.mac + keep;
  }
  return {
    elementwiseMac: ewMac,
    mac,
    macShare: round(mac ? ewMac / mac : 0, 4),
    maddsShare: round(madds ? ewMadds / madds : 0, 4),
    flopsShare: round(flops ? ewFlops / flops : 0, 4),
    macShareIfFused: round(fusedAll ? fused / fusedAll : 0, 4),
  };
}

function checkG4(b: BlockInfo): Finding {
  const f = g4Figures(b.nodes);
  const severity = grade(f.macShare, THRESHOLDS.g4InfoShare, THRESHOLDS.g4WarnShare);
  return {
    guideline: "G4",
    severity,
    path: b.path,
    figures: f,
    message: `element-wise ops take ${pct(f.macShare)} of MAC but ${pct(f.maddsShare)} of MAdds (${
      pct(f.macShareIfFused)
    } of MAC if BN, bias, activations and add were fused)`,
    suggestion: severity === "pass"
      ? "Element-wise work is a small part of this block; nothing to change"
      : "Fold BN into convs and fuse activations and adds into their producers; drop element-wise ops where accuracy allows",
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** Groups nodes by their block scope (outermost block containing them). */
function blocksOf(shaped: ShapedGraph, costs: NodeCost[]): BlockInfo[] {
  const blocks = shaped.graph.scopes.filter((s) => s.kind === "block");
  const byPath = new Map<string, BlockInfo>();
  for (const s of blocks) byPath.set(s.path, { path: s.path, type: s.type ?? "block", nodes: [] });
  shaped.nodes.forEach((s, i) => {
    const parts = s.node.name.split(".");
    for (let d = 1; d < parts.length; d++) {
      const b = byPath.get(parts.slice(0, d).join("."));
      if (b) {
        b.nodes.push({ node: s.node, cost: costs[i] });
        return;
      }
    }
  });
  return [...byPath.values()].filter((b) => b.nodes.length > 0);
}

function summarize(
  id: GuidelineId,
  findings: Finding[],
  figures: Record<string, number | string>,
  text: string,
): GuidelineSummary {
  const counts: Record<Severity, number> = { pass: 0, info: 0, warn: 0 };
  let sev: Severity = "pass";
  for (const f of findings) {
    counts[f.severity]++;
    sev = worst(sev, f.severity);
  }
  return { guideline: id, severity: sev, checked: findings.length, counts, figures, text };
}

/**
 * Checks G1-G4 on a shaped graph: a finding per 1x1 conv (G1), per grouped
 * conv (G2), per block (G3, G4), and a summary per guideline.
 *
 * Summary figures: G1 `macExcessPercent` (sum of MAC over sum of bounds, all
 * 1x1 convs) and the worst layer; G2 `maxFactor` and `extraMacShare` (MAC the
 * grouping adds over g = 1, as a share of the model's MAC; 0 without grouped
 * convs); G3 `blocks`, `maxFragmentedOps`, `maxParallelBranches`,
 * `maxLongestPath`, `meanFragmentedOps`; G4 the {@link G4Figures} of the
 * whole model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { inferShapes } from "./shapes.ts";
 * import { checkGuidelines } from "./guidelines.ts";
 * const b = new GraphBuilder("t", [1, 24, 56, 56]);
 * const g = b.build(b.conv2d(b.input, { out: 144, kernel: 1 }, "expand"));
 * const r = checkGuidelines(inferShapes(g));
 * assert.equal(r.findings[0].guideline, "G1");
 * assert.equal(r.findings[0].severity, "warn"); // 1:6 is ~43% above the bound
 * ```
 */
export function checkGuidelines(
  shaped: ShapedGraph,
  costs: NodeCost[] = estimateCost(shaped),
): GuidelineReport {
  const g1: Finding[] = [];
  const g2: Finding[] = [];
  shaped.nodes.forEach((s, i) => {
    const f1 = checkG1(s.node, costs[i]);
    if (f1) g1.push(f1);
    const f2 = checkG2(s.node, costs[i]);
    if (f2) g2.push(f2);
  });
  const blocks = blocksOf(shaped, costs);
  const g3 = blocks.map(checkG3);
  const g4 = blocks.map(checkG4);
  const modelMac = costs.reduce((a, c) => a + c.mac.total, 0);

  let g1Mac = 0, g1Bound = 0;
  let g1Worst: Finding | undefined;
  for (const f of g1) {
    if (f.guideline !== "G1") continue;
    g1Mac += f.figures.mac;
    g1Bound += f.figures.macLowerBound;
    if (!g1Worst || f.figures.excessPercent > (g1Worst.figures as G1Figures).excessPercent) {
      g1Worst = f;
    }
  }
  const g1Excess = g1Bound ? round((g1Mac / g1Bound - 1) * 100, 1) : 0;
  const g1w = g1Worst?.figures as G1Figures | undefined;

  let g2Extra = 0, g2Max = 1;
  let g2Worst = "";
  for (const f of g2) {
    if (f.guideline !== "G2") continue;
    g2Extra += f.figures.mac - f.figures.macAtG1;
    if (f.figures.factor > g2Max) [g2Max, g2Worst] = [f.figures.factor, f.path];
  }
  const g2Share = round(modelMac ? g2Extra / modelMac : 0, 4);

  const g3f = g3.map((f) => f.figures as G3Figures);
  const maxOps = Math.max(0, ...g3f.map((f) => f.fragmentedOps));
  const maxWidth = Math.max(0, ...g3f.map((f) => f.parallelBranches));
  const maxDepth = Math.max(0, ...g3f.map((f) => f.longestPath));
  const meanOps = g3f.length
    ? round(g3f.reduce((a, f) => a + f.fragmentedOps, 0) / g3f.length, 2)
    : 0;

  const all = shaped.nodes.map((s, i) => ({ node: s.node, cost: costs[i] }));
  const g4m = g4Figures(all);

  const summary: Record<GuidelineId, GuidelineSummary> = {
    G1: summarize(
      "G1",
      g1,
      {
        convs: g1.length,
        macExcessPercent: g1Excess,
        worstLayer: g1Worst?.path ?? "",
        worstRatio: g1w?.ratio ?? "",
        worstExcessPercent: g1w?.excessPercent ?? 0,
      },
      g1.length
        ? `${g1.length} 1x1 convs: MAC ${g1Excess}% above the equal-width bound; worst ${
          g1Worst!.path
        } (${g1w!.ratio}, +${g1w!.excessPercent}%)`
        : "no ungrouped 1x1 convs",
    ),
    G2: summarize(
      "G2",
      g2,
      { convs: g2.length, maxFactor: round(g2Max, 3), worstLayer: g2Worst, extraMacShare: g2Share },
      g2.length
        ? `${g2.length} grouped convs: up to ${round(g2Max, 2)}x the MAC of g=1; grouping adds ${
          pct(g2Share)
        } of the model's MAC`
        : "no grouped convs (besides depthwise)",
    ),
    G3: summarize(
      "G3",
      g3,
      {
        blocks: g3.length,
        maxFragmentedOps: maxOps,
        maxParallelBranches: maxWidth,
        maxLongestPath: maxDepth,
        meanFragmentedOps: meanOps,
      },
      g3.length
        ? `${g3.length} blocks: up to ${maxOps} fragmented ops (mean ${meanOps}), ${maxWidth} parallel, ${maxDepth} in series (NASNet-A 13, ResNet 2-3)`
        : "no blocks",
    ),
    G4: summarize(
      "G4",
      g4,
      { ...g4m },
      `element-wise ops: ${pct(g4m.macShare)} of MAC, ${pct(g4m.maddsShare)} of MAdds, ${
        pct(g4m.flopsShare)
      } of FLOPs (${pct(g4m.macShareIfFused)} of MAC if fused)`,
    ),
  };
  return { model: shaped.graph.name, findings: [...g1, ...g2, ...g3, ...g4], summary };
}
