/**
 * Graph lowering: turns a (BatchNorm-folded) graph into a list of kernel
 * steps, each one kernel call on one sample (or on the whole tensors when
 * some op mixes samples), as four target-independent passes:
 *
 * 0. `classify`: shapes, dropout aliases, uses, the batch, and what each node
 *    becomes: a view (reshape, flatten, a channel split), a placed forwarder
 *    (a channel concat or shuffle), a specialized kernel, or a general one
 *    (emit_general.ts) where no specialized family fits.
 * 1. `fuse`: a conv/linear/add/affine head absorbs the activation that alone
 *    reads it; a conv also absorbs the residual `add` that alone reads it (and
 *    the activation after that add), run at the add's position so both
 *    operands exist. A node two heads read alone joins the first.
 * 2. `placeTensors`, walking backwards: a `concat` or `channel_shuffle` has no
 *    kernel. It asks each input to be written straight into its slot of the
 *    result buffer: a concat hands out channel slices, a shuffle hands out
 *    every g-th channel. A kernel that produces the input accepts when the
 *    slot is affine (channel `c` at `offset + c * stride`; contiguous for a
 *    general kernel), or whatever the slot when it is a 1x1 conv (its kernel
 *    takes a per-channel offset table). A split the concat only forwards
 *    (ShuffleNet V2's pass-through half) places the tensor it splits instead:
 *    the forwarded channels at their slots, the other channels in slots the
 *    concat's kernel-written inputs overwrite only after those channels were
 *    read. Only an input no kernel produces (a graph input, a tensor already
 *    placed elsewhere) is copied. A concat whose inputs begin a later concat
 *    is the front of that concat's buffer (DenseNet), and a reshape asked for
 *    a slot passes the request to the kernel behind it (detection heads).
 *    Each graph output a kernel produces is written straight into the
 *    caller's array.
 * 3. `schedule`, in topological order: views cost nothing, `dropout` is the
 *    identity, every group becomes its steps; an output not yet in the
 *    caller's array (a graph input, a view, a second name) is copied there.
 *
 * Buffers ("roots") are planned into one arena by memory.ts; the graph inputs
 * and outputs are read and written in place in the caller's arrays.
 *
 * @module
 */

import { inferShapes } from "../lib/analysis/shapes.ts";
import type { AnyNode, Graph, Node } from "../lib/ir/graph.ts";
import { numel, type OpKind, paramSpecs, type Shape } from "../lib/ir/ops.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import { packConv } from "./emit_conv.ts";
import { packDwconv } from "./emit_depthwise.ts";
import { packAffine } from "./emit_elementwise.ts";
import { packLinear } from "./emit_linear.ts";
import { packPwconv } from "./emit_pointwise.ts";
import { sampleShape } from "./emit_general.ts";
import {
  type Act,
  type Epilogue,
  type KernelSpec,
  NO_ACT,
  type OffsetTables,
  type Window,
} from "./spec.ts";

/** Root id of the caller's (first) input array. */
export const INPUT_ROOT = -1;
/** Root id of the caller's (first) output array. */
export const OUTPUT_ROOT = -2;

/** Root id of the caller's array for graph input `k` (`inputRoot(0)` is {@link INPUT_ROOT}). */
export function inputRoot(k: number): number {
  return -1 - 2 * k;
}

/** Root id of the caller's array for graph output `k` (`outputRoot(0)` is {@link OUTPUT_ROOT}). */
export function outputRoot(k: number): number {
  return -2 - 2 * k;
}

/**
 * Which caller array a negative root id names: `{ io: "input", k }` or
 * `{ io: "output", k }`; undefined for an arena root (`>= 0`).
 */
export function callerRoot(root: number): { io: "input" | "output"; k: number } | undefined {
  if (root >= 0) return undefined;
  return -root % 2 === 1
    ? { io: "input", k: (-root - 1) / 2 }
    : { io: "output", k: (-root - 2) / 2 };
}

/** Where a kernel argument starts: a root and an element offset in it (per sample). */
export interface Operand {
  root: number;
  off: number;
}

/** One kernel call. */
export interface Step {
  spec: KernelSpec;
  x: Operand;
  y: Operand;
  /** Residual, second addend or scale, when the kernel reads one. */
  r?: Operand;
  /** Packed weights in the layout of the spec's emitter. */
  weights?: Float32Array;
  /** Channel offset tables the kernel reads (a pointwise spec with `xtable` / `ytable`). */
  tables?: OffsetTables;
  /** The graph nodes this step computes (fused), in order. */
  layers: string[];
}

/** A buffer of the arena: its size in floats (one sample). */
export interface Root {
  floats: number;
  /** The tensor it was made for (for comments). */
  tensor: string;
}

/** A graph input or output as the caller sees it: its name, full shape and root id. */
export interface PlanTensor {
  name: string;
  shape: Shape;
  /** {@link inputRoot}(k) or {@link outputRoot}(k). */
  root: number;
}

/** The lowered graph: steps in execution order and the buffers they use. */
export interface KernelPlan {
  graph: Graph;
  /** Shape of the first input (`inputs[0].shape`). */
  inputShape: Shape;
  /** Shape of the primary output (`outputs[0].shape`). */
  outputShape: Shape;
  /** Every graph input, in graph order; input `k` lives in root `inputRoot(k)`. */
  inputs: PlanTensor[];
  /** Every graph output, in graph order; output `k` is written to root `outputRoot(k)`. */
  outputs: PlanTensor[];
  /**
   * Samples per call: the steps run once per sample, on per-sample offsets.
   * 1 when some tensor's leading dimension is not the batch.
   */
  batch: number;
  steps: Step[];
  roots: Root[];
  /** How many copy steps placement could not avoid, and why (for reports). */
  copies: { tensor: string; reason: string }[];
}

/** Channel `c` of a tensor starts at `offs[c]` in `root`; a channel holds `plane` elements. */
interface Place {
  root: number;
  offs: number[];
  plane: number;
}

interface Group {
  head: AnyNode;
  act: Act;
  add?: AnyNode;
  residual?: string;
  act2: Act;
  layers: string[];
  tail: string;
}

/** Thrown when the plan meets an op or shape codegen does not support. */
export class CodegenError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "CodegenError";
  }
}

/** The activations specialized kernels apply (standalone or fused as an epilogue). */
const ACT_KINDS: ReadonlySet<OpKind> = new Set<OpKind>([
  "relu",
  "relu6",
  "clip",
  "hardswish",
  "hardsigmoid",
  "sigmoid",
]);

/** Options of {@link planKernels}. */
export interface PlanOptions {
  /**
   * Compile every layer with the general kernel family, without fusion,
   * placement or views (for testing the general kernels on every op kind).
   */
  generalOnly?: boolean;
}

/** An axis attribute (possibly negative, possibly absent: then `fallback`) as a dimension index. */
function axisAttr(node: AnyNode, rank: number, fallback = 1): number {
  const a = (node.attrs as { axis?: number }).axis ?? fallback;
  return a < 0 ? a + rank : a;
}

/**
 * The layers of `plan` that run a general kernel, in step order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../lib/ir/builder.ts";
 * import { generalLayers, planKernels } from "./plan.ts";
 * const b = new GraphBuilder("t", [1, 4, 3, 5]);
 * const t = b.transpose(b.relu(b.input, "act"), [0, 2, 1, 3], "t");
 * const plan = planKernels(b.build(t), new Map());
 * // relu has a specialized kernel; no family transposes
 * assert.deepEqual(generalLayers(plan), ["t"]);
 * ```
 */
export function generalLayers(plan: KernelPlan): string[] {
  const out = new Set<string>();
  for (const s of plan.steps) if (s.spec.family === "general") s.layers.forEach((l) => out.add(l));
  return [...out];
}

function actOf(node: AnyNode): Act {
  switch (node.kind) {
    case "relu":
    case "relu6":
    case "hardswish":
    case "sigmoid":
      return { kind: node.kind };
    case "clip":
      return { kind: "clip", min: node.attrs.min, max: node.attrs.max };
    case "hardsigmoid":
      return { kind: "hardsigmoid", alpha: node.attrs.alpha, beta: node.attrs.beta };
    default:
      throw new CodegenError(`"${node.name}" (${node.kind}) is not an activation`);
  }
}

function affineStride(p: Place): number | undefined {
  if (p.offs.length === 1) return p.plane;
  const s = p.offs[1] - p.offs[0];
  if (s < p.plane) return undefined;
  for (let i = 2; i < p.offs.length; i++) if (p.offs[i] - p.offs[i - 1] !== s) return undefined;
  return s;
}

/**
 * `{ cs, gs }` when the channels of `p` form `groups` equal chunks, each
 * affine with stride `cs`, chunk starts `gs` apart: what a group conv writes
 * when a channel shuffle follows it (ShuffleNet V1).
 */
function groupLayout(p: Place, groups: number): { cs: number; gs: number } | undefined {
  const n = p.offs.length / groups;
  if (!Number.isInteger(n)) return undefined;
  const cs = n > 1 ? p.offs[1] - p.offs[0] : p.plane;
  const gs = groups > 1 ? p.offs[n] - p.offs[0] : n * cs;
  if (cs < p.plane) return undefined;
  for (let g = 0; g < groups; g++) {
    for (let k = 0; k < n; k++) {
      if (p.offs[g * n + k] !== p.offs[0] + g * gs + k * cs) return undefined;
    }
  }
  return { cs, gs };
}

/** A 1x1, stride 1, unpadded, ungrouped conv: its kernel takes per-channel offset tables. */
function pointwiseHead(node: AnyNode | undefined): boolean {
  if (node?.kind !== "conv2d") return false;
  const a = node.attrs;
  return a.groups === 1 && a.kernel[0] === 1 && a.kernel[1] === 1 && a.stride[0] === 1 &&
    a.stride[1] === 1 && a.padding.every((p) => p === 0);
}

function dense(root: number, channels: number, plane: number, off = 0): Place {
  return { root, offs: Array.from({ length: channels }, (_, c) => off + c * plane), plane };
}

/**
 * Channels and plane size of one sample of `shape` (`[N, F]` is F channels of
 * 1 element, `[N, C, D, H, W]` C channels of D x H x W). A tensor whose
 * sample is not one item along axis 0 (a rank-1 tensor, or any tensor when
 * the plan runs the whole batch at once) is one channel of all its elements.
 */
function chw(shape: Shape, batch: number): { c: number; plane: number } {
  // A tensor that does not lead with the batch (a broadcast constant) is whole in every call.
  const sample = shape[0] === batch ? numel(shape) / batch : numel(shape);
  if (shape.length < 2 || shape[0] !== batch) return { c: 1, plane: sample };
  return { c: shape[1], plane: sample / shape[1] };
}

function samePlace(a: Place, b: Place): boolean {
  return a.root === b.root && a.plane === b.plane && a.offs.length === b.offs.length &&
    a.offs.every((o, c) => o === b.offs[c]);
}

/** Whether channel `c` of `p` starts `c * plane` after channel 0: one contiguous run. */
function contiguous(p: Place): boolean {
  return p.offs.every((o, c) => o === p.offs[0] + c * p.plane);
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Samples the plan runs one at a time: the first input's leading dimension
 * when every tensor shares it and no op mixes samples (an axis attribute
 * pointing at 0, a permutation moving it, a matmul of rank 2); else 1 (the
 * whole tensors at once).
 */
function batchOf(graph: Graph, nodes: { node: AnyNode; inputShapes: Shape[]; shape: Shape }[]) {
  const b = graph.inputs[0].shape[0];
  if (b === 1) return 1;
  const ok = (s: Shape) => s.length >= 2 && s[0] === b;
  if (!graph.inputs.every((i) => ok(i.shape))) return 1;
  // A constant every sample reads alike: only broadcasting binaries read it, and it has no
  // batch axis (fewer dimensions than their output, or 1 along the batch axis).
  const readers = new Map<string, AnyNode[]>();
  for (const { node } of nodes) {
    for (const i of node.inputs) readers.set(i, [...(readers.get(i) ?? []), node]);
  }
  const shapeOf = new Map(nodes.map((n) => [n.node.name, n.shape]));
  const outputs = new Set(graph.outputs.map((o) => o.node));
  const shared = new Set(
    nodes.filter(({ node, shape }) =>
      (node.kind as string) === "const" && !outputs.has(node.name) &&
      (readers.get(node.name) ?? []).every((r) => {
        const out = shapeOf.get(r.name)!;
        return BROADCASTING.has(r.kind) && ok(out) &&
          (shape.length < out.length || (shape.length === out.length && shape[0] === 1));
      })
    ).map(({ node }) => node.name),
  );
  for (const { node, inputShapes, shape } of nodes) {
    if (shared.has(node.name)) continue;
    const own = inputShapes.filter((_, k) => !shared.has(node.inputs[k]));
    if (!ok(shape) || !own.every(ok)) return 1;
    if (own.some((s) => s.length !== shape.length) && node.inputs.length > 1) return 1;
    const a = node.attrs as Record<string, unknown>;
    const rank = inputShapes[0]?.length ?? shape.length;
    const zero = (v: unknown) => v === 0 || v === -rank;
    if (zero(a.axis)) return 1;
    if (Array.isArray(a.axes) && a.axes.some(zero)) return 1;
    if (Array.isArray(a.perm) && a.perm[0] !== 0) return 1;
    if (Array.isArray(a.pads) && a.pads.length === 2 * rank && (a.pads[0] || a.pads[rank])) {
      return 1;
    }
    if ((node.kind as string) === "matmul" && rank < 3) return 1;
  }
  return b;
}

/** Binary ops that broadcast numpy-style. */
const BROADCASTING: ReadonlySet<OpKind> = new Set<OpKind>([
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "max",
  "min",
]);

/**
 * Lowers `graph` (with `weights`, BatchNorms already folded where possible)
 * into kernel steps. Throws a {@link CodegenError} naming the node for an
 * unsupported case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../lib/ir/builder.ts";
 * import { randomWeights } from "../lib/runtime/weights.ts";
 * import { planKernels } from "./plan.ts";
 * const b = new GraphBuilder("t", [1, 8, 6, 6]);
 * const y = b.relu(b.conv2d(b.input, { out: 8, kernel: 1, bias: true }, "pw"), "act");
 * const g = b.build(b.addTensors(y, b.input, "add"));
 * const plan = planKernels(g, randomWeights(g, 1));
 * // conv, relu and the residual add become one kernel
 * assert.deepEqual(plan.steps.map((s) => s.layers), [["pw", "act", "add"]]);
 * ```
 */
export function planKernels(
  graph: Graph,
  weights: Weights,
  options: PlanOptions = {},
): KernelPlan {
  const ctx = classify(graph, options);
  const groups = fuse(ctx);
  const roots: Root[] = [];
  const newRoot = (floats: number, tensor: string) => {
    roots.push({ floats, tensor });
    return roots.length - 1;
  };
  const placement = placeTensors(ctx, groups, newRoot);
  const steps = schedule(ctx, groups, placement, newRoot, weights);
  const { shapes, batch } = ctx;
  const { copies } = placement;
  const inputs = graph.inputs.map((i, k) => ({ name: i.name, shape: i.shape, root: inputRoot(k) }));
  const outputs = graph.outputs.map((o, k) => ({
    name: o.name,
    shape: shapes.get(o.node)!,
    root: outputRoot(k),
  }));
  return {
    graph,
    inputShape: inputs[0].shape,
    outputShape: outputs[0].shape,
    inputs,
    outputs,
    batch,
    steps,
    roots,
    copies,
  };
}

/** What every pass reads: the shaped graph, its aliases and uses, and how each node lowers. */
interface PlanContext {
  graph: Graph;
  shapes: Map<string, Shape>;
  /** Nodes in topological order. */
  order: AnyNode[];
  byName: Map<string, AnyNode>;
  inputNames: Set<string>;
  /** Samples per call (see {@link KernelPlan.batch}). */
  batch: number;
  /** A tensor's name through dropouts (the identity). */
  resolve: (t: string) => string;
  /** The (resolved) tensor of each graph output, in output order. */
  outTensors: string[];
  outputSet: Set<string>;
  /** The nodes reading each (resolved) tensor. */
  uses: Map<string, AnyNode[]>;
  /** The one node reading `t`, unless `t` is an output or has several readers. */
  soleReader: (t: string) => AnyNode | undefined;
  /** A reshape or flatten: a view of a dense run. */
  isView: (n: AnyNode) => boolean;
  /** A concat or shuffle whose inputs are written into its slots (no kernel). */
  isPlaced: (n: AnyNode) => boolean;
  /** A split on the channels: a view of its input's channels. */
  isSplitView: (n: AnyNode | undefined) => n is Node<"split">;
  /** Whether a specialized kernel family computes `n` (else the general family does). */
  special: (n: AnyNode) => boolean;
}

/** Pass 0: shapes, aliases, uses, and what each node becomes. */
function classify(graph: Graph, options: PlanOptions): PlanContext {
  const generalOnly = options.generalOnly ?? false;
  const shaped = inferShapes(graph);
  const shapes = shaped.shapes;
  const order = shaped.nodes.map((s) => s.node);
  const byName = new Map(order.map((n) => [n.name, n]));
  const inputNames = new Set(graph.inputs.map((i) => i.name));
  const batch = batchOf(graph, shaped.nodes);

  // Dropout is the identity: readers read its input.
  const alias = new Map<string, string>();
  const resolve = (t: string): string => alias.get(t) ?? t;
  for (const n of order) if (n.kind === "dropout") alias.set(n.name, resolve(n.inputs[0]));
  const outTensors = graph.outputs.map((o) => resolve(o.node));
  const outputSet = new Set(outTensors);

  // What each node becomes: a view, a placement, or a kernel (specialized or general).
  const shapeOf = (t: string) => shapes.get(resolve(t))!;
  /** A tensor whose sample is `[1, C, ...]`: its channels can be placed one by one. */
  const channelled = (s: Shape) => s.length >= 2 && s[0] === batch;
  const isView = (n: AnyNode) => n.kind === "flatten" || n.kind === "reshape";
  const isPlaced = (n: AnyNode) =>
    !generalOnly && channelled(shapes.get(n.name)!) &&
    ((n.kind === "concat" && axisAttr(n, shapes.get(n.name)!.length) === 1) ||
      n.kind === "channel_shuffle");
  const isSplitView = (n: AnyNode | undefined): n is Node<"split"> =>
    n?.kind === "split" && !generalOnly && channelled(shapeOf(n.inputs[0])) &&
    axisAttr(n, shapeOf(n.inputs[0]).length) === 1;
  /** Whether a specialized kernel family computes `n` (else the general family does). */
  const special = (n: AnyNode): boolean => {
    if (generalOnly) return false;
    const ins = n.inputs.map(shapeOf);
    const out = shapes.get(n.name)!;
    if (![...ins, out].every(channelled)) return false;
    switch (n.kind) {
      case "conv2d":
      case "max_pool":
      case "avg_pool":
      case "global_avg_pool":
        return out.length === 4 && ins[0].length === 4;
      case "linear":
        return out.length === 2 && ins[0].length === 2;
      case "batch_norm":
      case "affine":
        return true;
      case "add":
        return ins.every((s) => sameShape(s, out));
      case "mul":
        return out.length === 4 && sameShape(ins[0], out) && ins[1].length === 4 &&
          ins[1][1] === out[1] && ins[1][2] === 1 && ins[1][3] === 1;
      case "softmax":
        return axisAttr(n, out.length) === 1;
      default:
        return ACT_KINDS.has(n.kind);
    }
  };

  const uses = new Map<string, AnyNode[]>();
  for (const n of order) {
    if (n.kind === "dropout") continue;
    for (const i of new Set(n.inputs.map(resolve))) {
      const list = uses.get(i) ?? [];
      list.push(n);
      uses.set(i, list);
    }
  }
  const soleReader = (t: string): AnyNode | undefined => {
    const u = uses.get(t);
    return !outputSet.has(t) && u?.length === 1 ? u[0] : undefined;
  };

  return {
    graph,
    shapes,
    order,
    byName,
    inputNames,
    batch,
    resolve,
    outTensors,
    outputSet,
    uses,
    soleReader,
    isView,
    isPlaced,
    isSplitView,
    special,
  };
}

/**
 * Pass 1, fusion: a conv/linear/add/affine head absorbs the activation that
 * alone reads it, a conv also the residual add (and the activation after it).
 * Groups are keyed by their tail, where they run.
 */
function fuse(ctx: PlanContext): Map<string, Group> {
  const {
    shapes,
    order,
    resolve,
    soleReader,
    isView,
    isPlaced,
    isSplitView,
    special,
  } = ctx;
  // 1. Fusion.
  const groups = new Map<string, Group>();
  const member = new Set<string>();
  for (const node of order) {
    if (member.has(node.name) || node.kind === "dropout") continue;
    if (isView(node) || isPlaced(node) || isSplitView(node)) continue;
    const g: Group = {
      head: node,
      act: NO_ACT,
      act2: NO_ACT,
      layers: [node.name],
      tail: node.name,
    };
    member.add(node.name);
    const absorb = (n: AnyNode) => {
      member.add(n.name);
      g.layers.push(n.name);
      g.tail = n.name;
    };
    const canAct = special(node) &&
      ["conv2d", "linear", "add", "batch_norm", "affine"].includes(node.kind);
    // A node two producers read alone (`add(conv(x), conv(y))`) joins the first group only.
    const free = (n: AnyNode | undefined) => n && !member.has(n.name) ? n : undefined;
    let next = free(soleReader(node.name));
    if (canAct && next && ACT_KINDS.has(next.kind) && special(next)) {
      g.act = actOf(next);
      absorb(next);
      next = free(soleReader(g.tail));
    }
    if (special(node) && node.kind === "conv2d" && next?.kind === "add" && special(next)) {
      const ins = next.inputs.map(resolve);
      const other = ins[0] === g.tail ? ins[1] : ins[0];
      if (other !== g.tail && sameShape(shapes.get(other)!, shapes.get(g.tail)!)) {
        g.add = next;
        g.residual = other;
        absorb(next);
        next = free(soleReader(g.tail));
        if (next && ACT_KINDS.has(next.kind) && special(next)) {
          g.act2 = actOf(next);
          absorb(next);
        }
      }
    }
    groups.set(g.tail, g);
  }
  return groups;
}

/** Where each tensor lives, and the copies placement could not avoid. */
interface Placement {
  /** Places asked of producers by a concat, a shuffle or the caller's output arrays. */
  requested: Map<string, Place>;
  /** Copies each concat or shuffle runs at its position. */
  pending: Map<string, { from: string; to: Place }[]>;
  copies: { tensor: string; reason: string }[];
  /** The place of every tensor computed so far (placed forwarders first). */
  place: Map<string, Place>;
}

/**
 * Pass 2, placement, walking backwards: a concat or shuffle asks each input
 * to be written into its slot; outputs are written into the caller's arrays.
 */
function placeTensors(
  ctx: PlanContext,
  groups: Map<string, Group>,
  newRoot: (floats: number, tensor: string) => number,
): Placement {
  const {
    shapes,
    order,
    byName,
    inputNames,
    batch,
    resolve,
    outTensors,
    outputSet,
    uses,
    isView,
    isPlaced,
    isSplitView,
    special,
  } = ctx;
  const position = new Map(order.map((n, i) => [n.name, i]));
  const groupOfHead = new Map([...groups.values()].map((g) => [g.head.name, g]));

  // 2. Placement requests, backwards.
  const requested = new Map<string, Place>();
  const pending = new Map<string, { from: string; to: Place }[]>();
  const copies: { tensor: string; reason: string }[] = [];
  const isForwarder = (t: string) => {
    const n = byName.get(t);
    return n !== undefined && isPlaced(n);
  };
  // Each output a kernel or forwarder produces is written straight into the caller's array
  // (the first output naming a tensor; a second one gets a copy at the end).
  outTensors.forEach((t, k) => {
    if (requested.has(t) || !(groups.has(t) || isForwarder(t))) return;
    const { c, plane } = chw(shapes.get(t)!, batch);
    requested.set(t, dense(outputRoot(k), c, plane));
  });
  /**
   * Places a split `t` that a concat only forwards by placing the tensor it
   * splits: its channels at their slots `want` in the concat, the tensor's
   * other channels in the slots a kernel of the same concat writes later
   * (`written`), once every reader of those channels has run. Then nothing is
   * copied: the split's channels are written once, where they end up.
   */
  const passThrough = (
    t: string,
    want: Place,
    written: { tail: string; offs: number[] }[],
  ): boolean => {
    const split = byName.get(t);
    if (split?.kind !== "split" || !isSplitView(split) || uses.get(t)?.length !== 1) return false;
    const x = resolve(split.inputs[0]);
    if (requested.has(x) || outputSet.has(x) || !(isForwarder(x) || groups.has(x))) return false;
    const readers = uses.get(x) ?? [];
    const c = shapes.get(x)![1];
    const offs = new Array<number>(c).fill(-1);
    for (let k = 0; k < split.attrs.size; k++) offs[split.attrs.offset + k] = want.offs[k];
    const free = written.flatMap((w) => w.offs);
    const firstWrite = Math.min(...written.map((w) => position.get(w.tail)!));
    let next = 0;
    for (const r of readers) {
      if (r.kind !== "split" || !isSplitView(r) || outputSet.has(r.name)) return false;
      if (r.name === t) continue;
      const { offset, size: channels } = r.attrs;
      for (const u of uses.get(r.name) ?? []) {
        const g = groupOfHead.get(u.name);
        if (!g || position.get(g.tail)! >= firstWrite) return false;
      }
      for (let k = offset; k < offset + channels; k++) {
        if (offs[k] !== -1 || next === free.length) return false;
        offs[k] = free[next++];
      }
      const slice = {
        root: want.root,
        offs: offs.slice(offset, offset + channels),
        plane: want.plane,
      };
      const readsAny = (uses.get(r.name) ?? []).every((u) =>
        pointwiseHead(u) && resolve(u.inputs[0]) === r.name
      );
      if (affineStride(slice) === undefined && !readsAny) return false;
    }
    if (offs.some((o) => o < 0)) return false;
    const p = { root: want.root, offs, plane: want.plane };
    const head = groups.get(x)?.head;
    if (head && affineStride(p) === undefined && !pointwiseHead(head)) return false;
    requested.set(x, p);
    return true;
  };
  /**
   * A reshape or flatten asked for a contiguous slot (a detection head's
   * `concat(reshape(transpose(conv)))`): the kernel or forwarder behind the
   * view writes the slot itself, densely, and the view reads it there.
   */
  const throughView = (t: string, want: Place): boolean => {
    const view = byName.get(t);
    if (!view || !isView(view) || outputSet.has(t) || !contiguous(want)) return false;
    const x = resolve(view.inputs[0]);
    if (requested.has(x) || outputSet.has(x)) return false;
    const { c, plane } = chw(shapes.get(x)!, batch);
    const p = dense(want.root, c, plane, want.offs[0]);
    if (isForwarder(x)) {
      requested.set(x, p);
      return true;
    }
    const head = groups.get(x)?.head;
    if (!head) return throughView(x, p);
    // A specialized kernel writes any affine layout; a general one any contiguous one. (Not
    // listed in `written`: its channels are not the concat's, so no split reuses them.)
    requested.set(x, p);
    return true;
  };
  const place = new Map<string, Place>();
  const concats: AnyNode[] = [];
  /**
   * The place of a concat whose inputs begin a concat placed already (a later
   * one: DenseNet's `concat(x0..xk)` then `concat(x0..xk, xk+1)`): the front of
   * that concat's place, so both hand out the same slots and nothing is copied.
   */
  const prefixOf = (node: AnyNode): Place | undefined => {
    if (node.kind !== "concat" || outputSet.has(node.name)) return undefined;
    const ins = node.inputs.map(resolve);
    for (const later of concats) {
      const more = later.inputs.map(resolve);
      if (more.length <= ins.length || !ins.every((t, k) => t === more[k])) continue;
      const q = place.get(later.name)!;
      return { root: q.root, offs: q.offs.slice(0, shapes.get(node.name)![1]), plane: q.plane };
    }
    return undefined;
  };
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    if (!isPlaced(node)) continue;
    const { c, plane } = chw(shapes.get(node.name)!, batch);
    const p = requested.get(node.name) ?? prefixOf(node) ??
      dense(newRoot(c * plane, node.name), c, plane);
    place.set(node.name, p);
    if (node.kind === "concat") concats.push(node);
    const parts: { t: string; p: Place }[] = [];
    if (node.kind === "concat") {
      let at = 0;
      for (const inp of node.inputs) {
        const t = resolve(inp);
        const ci = shapes.get(t)![1];
        parts.push({ t, p: { root: p.root, offs: p.offs.slice(at, at + ci), plane } });
        at += ci;
      }
    } else if (node.kind === "channel_shuffle") {
      const gs = node.attrs.groups;
      const per = c / gs;
      const offs = Array.from(
        { length: c },
        (_, ch) => p.offs[(ch % per) * gs + Math.floor(ch / per)],
      );
      parts.push({ t: resolve(node.inputs[0]), p: { root: p.root, offs, plane } });
    }
    const list: { from: string; to: Place }[] = [];
    const written: { tail: string; offs: number[] }[] = [];
    const views: { t: string; p: Place }[] = [];
    const copy = (t: string, want: Place) => {
      list.push({ from: t, to: want });
      const why = inputNames.has(t)
        ? "a graph input"
        : requested.has(t) || outputSet.has(t)
        ? "already placed for another reader"
        : groups.has(t)
        ? "its slot is not affine"
        : `a ${byName.get(t)?.kind} view`;
      copies.push({ tensor: t, reason: `${why}, copied into "${node.name}"` });
    };
    for (const { t, p: want } of parts) {
      // Already asked for exactly this slot (DenseNet: the same input of nested concats).
      if (requested.has(t) && samePlace(requested.get(t)!, want)) continue;
      const head = groups.get(t)?.head;
      const convGroups = head?.kind === "conv2d" && head.attrs.groups > 1 &&
          head.attrs.groups < head.attrs.inChannels
        ? head.attrs.groups
        : 0;
      const writable = head && !special(head)
        ? contiguous(want)
        : affineStride(want) !== undefined || pointwiseHead(head) ||
          (convGroups > 0 && groupLayout(want, convGroups) !== undefined);
      const accepts = !requested.has(t) && !outputSet.has(t) &&
        (isForwarder(t) || (groups.has(t) && writable));
      if (accepts) {
        requested.set(t, want);
        if (groups.has(t)) written.push({ tail: t, offs: want.offs });
      } else if (isSplitView(byName.get(t))) views.push({ t, p: want });
      else if (!throughView(t, want)) copy(t, want);
    }
    for (const { t, p: want } of views) if (!passThrough(t, want, written)) copy(t, want);
    pending.set(node.name, list);
  }
  return { requested, pending, copies, place };
}

/**
 * Pass 3, schedule, in topological order: views and placed forwarders cost
 * nothing (or their pending copies), every group becomes its kernel steps;
 * outputs not yet in the caller's arrays are copied there last.
 */
function schedule(
  ctx: PlanContext,
  groups: Map<string, Group>,
  placement: Placement,
  newRoot: (floats: number, tensor: string) => number,
  weights: Weights,
): Step[] {
  const {
    graph,
    shapes,
    order,
    batch,
    resolve,
    outTensors,
    isView,
    isPlaced,
    isSplitView,
    special,
  } = ctx;
  const { requested, pending, copies, place } = placement;
  // 3. Forward: steps.
  const steps: Step[] = [];
  graph.inputs.forEach((input, k) => {
    const { c, plane } = chw(input.shape, batch);
    place.set(input.name, dense(inputRoot(k), c, plane));
  });

  const emitCopy = (from: Place, to: Place, layer: string) => {
    // One copy step per run where both sides are affine.
    let start = 0;
    const n = from.offs.length;
    while (start < n) {
      let end = start + 1;
      const xs = end < n ? from.offs[end] - from.offs[start] : from.plane;
      const ys = end < n ? to.offs[end] - to.offs[start] : to.plane;
      while (
        end < n && from.offs[end] - from.offs[end - 1] === xs &&
        to.offs[end] - to.offs[end - 1] === ys && xs >= from.plane && ys >= to.plane
      ) end++;
      const c = end - start;
      steps.push({
        spec: {
          family: "copy",
          c,
          hw: from.plane,
          xcs: c > 1 ? xs : from.plane,
          ycs: c > 1 ? ys : to.plane,
        },
        x: { root: from.root, off: from.offs[start] },
        y: { root: to.root, off: to.offs[start] },
        layers: [layer],
      });
      start = end;
    }
  };
  /**
   * The place of `t`, copied to a dense buffer first if it is not affine and
   * the reader takes no offset table (`mapped`).
   */
  const readable = (
    t: string,
    layer: string,
    mapped = false,
  ): { op: Operand; stride: number; place: Place; map?: number[] } => {
    let p = place.get(t)!;
    let stride = affineStride(p);
    if (stride === undefined && mapped) {
      const map = p.offs.map((o) => o - p.offs[0]);
      return { op: { root: p.root, off: p.offs[0] }, stride: p.plane, place: p, map };
    }
    if (stride === undefined) {
      const q = dense(newRoot(p.offs.length * p.plane, t), p.offs.length, p.plane);
      emitCopy(p, q, layer);
      copies.push({ tensor: t, reason: `read by "${layer}" in a non-affine layout` });
      p = q;
      stride = p.plane;
    }
    return { op: { root: p.root, off: p.offs[0] }, stride, place: p };
  };

  /** The place of `t` as one contiguous run (copied there first when it is not). */
  const denseRead = (t: string, layer: string): Operand => {
    const r = readable(t, layer);
    let q = r.place;
    if (!contiguous(q)) {
      q = dense(newRoot(q.offs.length * q.plane, t), q.offs.length, q.plane);
      emitCopy(r.place, q, layer);
      copies.push({ tensor: t, reason: `read by "${layer}" from a strided layout` });
    }
    return { root: q.root, off: q.offs[0] };
  };

  for (const node of order) {
    if (node.kind === "dropout") continue;
    if (isSplitView(node)) {
      const p = place.get(resolve(node.inputs[0]))!;
      const { offset, size: channels } = node.attrs;
      place.set(node.name, {
        root: p.root,
        offs: p.offs.slice(offset, offset + channels),
        plane: p.plane,
      });
      continue;
    }
    if (isView(node)) {
      // Row-major data reinterpreted: the same run of elements, channels as the new shape has.
      const x = denseRead(resolve(node.inputs[0]), node.name);
      const { c, plane } = chw(shapes.get(node.name)!, batch);
      place.set(node.name, dense(x.root, c, plane, x.off));
      continue;
    }
    if (isPlaced(node)) {
      for (const { from, to } of pending.get(node.name)!) {
        emitCopy(readable(from, node.name).place, to, node.name);
      }
      continue;
    }
    const g = groups.get(node.name);
    if (!g) continue; // absorbed into a group that runs at its tail
    const outS = shapes.get(g.tail)!;
    const { c: oc, plane: oplane } = chw(outS, batch);
    const yp = requested.get(g.tail) ?? dense(newRoot(oc * oplane, g.tail), oc, oplane);
    place.set(g.tail, yp);
    const convGroups = g.head.kind === "conv2d" ? g.head.attrs.groups : 1;
    const stride = affineStride(yp);
    const layout = stride !== undefined
      ? { cs: stride, gs: (oc / convGroups) * stride }
      : groupLayout(yp, convGroups) ??
        { cs: oplane, gs: oc * oplane, map: yp.offs.map((o) => o - yp.offs[0]) };
    const y: Operand = { root: yp.root, off: yp.offs[0] };
    if (!special(g.head)) {
      if (!contiguous(yp)) {
        throw new CodegenError(`"${node.name}" cannot write a strided layout`);
      }
      steps.push(...lowerGeneral(g.head, y, denseRead, shapes, weights, resolve, batch));
      continue;
    }
    steps.push(...lowerGroup(g, y, layout, readable, shapes, weights, resolve, batch));
  }

  outTensors.forEach((t, k) => {
    const p = place.get(t);
    if (!p) throw new CodegenError(`Graph output "${graph.outputs[k].name}" was never computed`);
    if (p.root !== outputRoot(k)) {
      emitCopy(p, dense(outputRoot(k), p.offs.length, p.plane), t);
    }
  });
  return steps;
}

function windowOf(
  attrs: {
    kernel: readonly [number, number];
    stride: readonly [number, number];
    padding: readonly [number, number, number, number];
    dilation?: readonly [number, number];
  },
  xs: Shape,
  ys: Shape,
): Window {
  return {
    kernel: [attrs.kernel[0], attrs.kernel[1]],
    stride: [attrs.stride[0], attrs.stride[1]],
    padding: [attrs.padding[0], attrs.padding[1], attrs.padding[2], attrs.padding[3]],
    dilation: attrs.dilation ? [attrs.dilation[0], attrs.dilation[1]] : [1, 1],
    h: xs[2],
    w: xs[3],
    oh: ys[2],
    ow: ys[3],
  };
}

function lowerGroup(
  g: Group,
  y: Operand,
  layout: { cs: number; gs: number; map?: number[] },
  readable: (
    t: string,
    layer: string,
    mapped?: boolean,
  ) => { op: Operand; stride: number; map?: number[] },
  shapes: Map<string, Shape>,
  weights: Weights,
  resolve: (t: string) => string,
  batch: number,
): Step[] {
  const node = g.head;
  const layers = g.layers;
  const ycs = layout.cs;
  const ygs = layout.gs;
  const inputs = node.inputs.map(resolve);
  const xs = shapes.get(inputs[0])!;
  const ys = shapes.get(node.name)!;
  if (xs[0] !== batch || ys[0] !== batch) {
    throw new CodegenError(
      `Cannot generate a kernel for "${node.name}" (${node.kind}): its kernels run one sample at a time, and this graph mixes samples (leading dimensions ${
        xs[0]
      } and ${ys[0]}, batch ${batch})`,
    );
  }
  const x = readable(inputs[0], node.name, pointwiseHead(node));
  if (layout.map && !pointwiseHead(node)) {
    throw new CodegenError(`"${node.name}" cannot write a non-affine channel layout`);
  }
  const w = (suffix: string) => weights.get(`${node.name}.${suffix}`);
  const epi: Epilogue = { act: g.act, residual: g.residual !== undefined, act2: g.act2 };
  const res = g.residual !== undefined ? readable(g.residual, g.add!.name) : undefined;
  const rcs = res?.stride ?? chw(ys, batch).plane;
  const base = { x: x.op, y, layers, ...(res ? { r: res.op } : {}) };
  switch (node.kind) {
    case "conv2d": {
      const a = node.attrs;
      const win = windowOf(a, xs, ys);
      const weight = w("weight")!;
      const bias = a.bias ? w("bias") : undefined;
      const strides = { xcs: x.stride, ycs, rcs };
      const grouped = { ...strides, ygs: a.groups > 1 ? ygs : a.outChannels * ycs };
      if (a.groups === a.inChannels && a.outChannels === a.inChannels && a.groups > 1) {
        const spec = { family: "dwconv" as const, c: a.inChannels, win, epi, ...strides };
        return [{ ...base, spec, weights: packDwconv(spec, weight, bias) }];
      }
      const pointwise = a.kernel[0] === 1 && a.kernel[1] === 1 && a.stride[0] === 1 &&
        a.stride[1] === 1 && a.padding.every((p) => p === 0);
      if (pointwise) {
        const spec = {
          family: "pwconv" as const,
          cin: a.inChannels,
          cout: a.outChannels,
          groups: a.groups,
          h: xs[2],
          w: xs[3],
          epi,
          ...grouped,
          ...(x.map ? { xtable: true as const } : {}),
          ...(layout.map ? { ytable: true as const } : {}),
        };
        const tables = x.map || layout.map ? { tables: { x: x.map, y: layout.map } } : {};
        return [{ ...base, spec, ...tables, weights: packPwconv(spec, weight, bias) }];
      }
      const spec = {
        family: "conv" as const,
        cin: a.inChannels,
        cout: a.outChannels,
        groups: a.groups,
        win,
        epi,
        ...grouped,
      };
      return [{ ...base, spec, weights: packConv(spec, weight, bias) }];
    }
    case "linear": {
      const a = node.attrs;
      const spec = {
        family: "linear" as const,
        cin: a.inFeatures,
        cout: a.outFeatures,
        act: g.act,
        xcs: x.stride,
        ycs,
      };
      return [{
        ...base,
        spec,
        weights: packLinear(spec, w("weight")!, a.bias ? w("bias") : undefined),
      }];
    }
    case "max_pool":
    case "avg_pool": {
      const a = node.attrs;
      const spec = {
        family: node.kind === "max_pool" ? "maxpool" as const : "avgpool" as const,
        c: xs[1],
        win: windowOf(a, xs, ys),
        ceilMode: a.ceilMode,
        countIncludePad: node.kind === "max_pool" ? true : a.countIncludePad,
        xcs: x.stride,
        ycs,
      };
      return [{ ...base, spec }];
    }
    case "global_avg_pool":
      return [{
        ...base,
        spec: { family: "gavgpool", c: xs[1], h: xs[2], w: xs[3], xcs: x.stride, ycs },
      }];
    case "add": {
      const other = readable(inputs[1], node.name);
      const { c, plane } = chw(xs, batch);
      return [{
        ...base,
        r: other.op,
        spec: { family: "add", c, hw: plane, act: g.act, xcs: x.stride, ycs, rcs: other.stride },
      }];
    }
    case "mul": {
      const s = readable(inputs[1], node.name);
      const { c, plane } = chw(xs, batch);
      return [{
        ...base,
        r: s.op,
        spec: { family: "mul", c, hw: plane, xcs: x.stride, ycs, scs: s.stride },
      }];
    }
    case "batch_norm": {
      const { c, plane } = chw(xs, batch);
      return [{
        ...base,
        spec: { family: "affine", c, hw: plane, act: g.act, xcs: x.stride, ycs },
        weights: packAffine(
          c,
          w("weight")!,
          w("bias")!,
          w("running_mean")!,
          w("running_var")!,
          node.attrs.eps,
        ),
      }];
    }
    case "affine": {
      // `x * weight + bias` per channel (one pair for all when the op has 1 channel).
      const { c, plane } = chw(xs, batch);
      const weight = w("weight")!;
      const bias = w("bias")!;
      const packed = new Float32Array(2 * c);
      for (let i = 0; i < c; i++) {
        packed[i] = weight[node.attrs.channels === 1 ? 0 : i];
        packed[c + i] = bias[node.attrs.channels === 1 ? 0 : i];
      }
      return [{
        ...base,
        spec: { family: "affine", c, hw: plane, act: g.act, xcs: x.stride, ycs },
        weights: packed,
      }];
    }
    case "softmax": {
      const { c, plane } = chw(xs, batch);
      return [{ ...base, spec: { family: "softmax", c, hw: plane, xcs: x.stride, ycs } }];
    }
    case "relu":
    case "relu6":
    case "clip":
    case "hardswish":
    case "hardsigmoid":
    case "sigmoid": {
      const { c, plane } = chw(xs, batch);
      return [{
        ...base,
        spec: { family: "act", c, hw: plane, act: actOf(node), xcs: x.stride, ycs },
      }];
    }
    default:
      throw new CodegenError(`Cannot generate a kernel for "${node.name}" (${node.kind})`);
  }
}

/**
 * Lowers `node` to the general kernel family: one step (a concat: one step
 * per input, each writing its slice), dense operands, parameters packed in
 * the order of the op's parameter list.
 */
function lowerGeneral(
  node: AnyNode,
  y: Operand,
  denseRead: (t: string, layer: string) => Operand,
  shapes: Map<string, Shape>,
  weights: Weights,
  resolve: (t: string) => string,
  batch: number,
): Step[] {
  const inputs = node.inputs.map(resolve);
  const ys = sampleShape(shapes.get(node.name)!, batch);
  const params: Record<string, number> = {};
  const packed: Float32Array[] = [];
  let at = 0;
  for (const spec of paramSpecs(node.kind, node.attrs)) {
    const data = weights.get(`${node.name}.${spec.name}`);
    if (!data) throw new CodegenError(`Missing weight "${node.name}.${spec.name}"`);
    params[spec.name] = at;
    packed.push(data);
    at += data.length;
  }
  const all = new Float32Array(at);
  let o = 0;
  for (const d of packed) {
    all.set(d, o);
    o += d.length;
  }
  const base = { layers: [node.name], ...(at > 0 ? { weights: all } : {}) };
  if (node.kind === "concat") {
    const axis = axisAttr(node, ys.length);
    let offset = 0;
    return inputs.map((t) => {
      const xs = sampleShape(shapes.get(t)!, batch);
      const step: Step = {
        ...base,
        x: denseRead(t, node.name),
        y,
        spec: {
          family: "general",
          op: node.kind,
          attrs: node.attrs,
          xs: [xs],
          ys,
          params,
          part: { axis, offset },
        },
      };
      offset += xs[axis];
      return step;
    });
  }
  const operands = inputs.map((t) => denseRead(t, node.name));
  return [{
    ...base,
    x: operands[0] ?? y,
    y,
    ...(operands.length > 1 ? { r: operands[1] } : {}),
    spec: {
      family: "general",
      op: node.kind,
      attrs: node.attrs,
      xs: inputs.map((t) => sampleShape(shapes.get(t)!, batch)),
      ys,
      params,
    },
  }];
}

/** Per-sample element counts of the input and output. */
export function sampleSizes(plan: KernelPlan): { input: number; output: number } {
  return {
    input: numel(plan.inputShape) / plan.batch,
    output: numel(plan.outputShape) / plan.batch,
  };
}
