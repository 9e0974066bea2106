/**
 * Activation memory: how much memory the feature maps of a network need when
 * it runs, in two views.
 *
 * 1. {@link peakMemory}: the nodes run one at a time in the graph's
 *    topological order; a tensor is allocated when its node runs and freed
 *    after its last reader (the graph input is live until its last reader, the
 *    graph output until the end). The peak is the largest sum of live tensors
 *    while one node runs (its inputs and its output are live together).
 *    Ops whose record declares access `"view"` (`flatten`, `reshape`, so also
 *    a squeeze or unsqueeze, and `dropout`) share their input's buffer in
 *    every mode (their MAC is 0 in lib/analysis/cost.ts too); a `"stored"`
 *    op (`const`) is parameter data and holds no activation buffer. With
 *    `inPlace: true`, the zero-copy and in-place opportunities codegen uses
 *    are taken too:
 *    - `split` is a view of its input (the input stays live while it is);
 *    - `concat` inputs computed by a real op are written straight into their
 *      slice of the concat buffer, which is allocated when the first of them
 *      runs (an input that is a view, the graph input, or feeds two concats is
 *      copied);
 *    - element-wise ops (access `"pointwise"`: activations, math functions,
 *      BatchNorm, affine, PReLU, the broadcasting binaries; and `"normalize"`:
 *      layer and instance norm, softmax, which read their slice's statistics
 *      before writing it) write over an input of their output's shape when
 *      this op is that input's last reader and the input owns its buffer alone
 *      (never over the graph input).
 * 2. {@link materializedMemory}: MobileNetV2 (arXiv 1801.04381) sec. 5.1 and
 *    Table 3. The paper bounds inference memory by the largest total size of
 *    the tensors an op reads and writes (sec. 5.1), treats a bottleneck block
 *    as a single op whose inner tensors are disposable (computed slice by
 *    slice), and reports per spatial resolution the largest tensor that must be
 *    materialized, at 16 bits per element. Here a tensor must be materialized
 *    when it crosses a block boundary: it is read outside the block that makes
 *    it, made outside any block, or is the graph output. The graph input is
 *    given, not materialized. The table's "first layer trick" (the paper's
 *    caption: the stem conv of MobileNetV2 and ShuffleNet is fused into the
 *    next op) drops the output of the first conv and of its block, or of the
 *    element-wise ops right after it when it is in no block
 *    (`fuseFirstLayer`, on by default).
 *
 * All sizes are in elements (batch included) and in bytes at
 * `bytesPerElement` (4 for float32; the Table 3 view defaults to 2).
 *
 * @module
 */

import type { AnyNode } from "../ir/graph.ts";
import { numel, type Shape } from "../ir/ops.ts";
import { kindsWithAccess } from "../ops/table.ts";
import type { ShapedGraph } from "./shapes.ts";

/** Options of {@link peakMemory}. */
export interface PeakMemoryOptions {
  /** Take codegen's zero-copy split/concat and in-place element-wise ops. Default `false`. */
  inPlace?: boolean;
  /** Bytes per element; default 4 (float32). */
  bytesPerElement?: number;
}

/** Live memory while one node runs. */
export interface LiveStep {
  node: string;
  liveElements: number;
  /** Live buffers, each named by the tensor that allocated it (its size is that tensor's). */
  buffers: string[];
}

/** The result of {@link peakMemory}. */
export interface PeakMemory {
  inPlace: boolean;
  peakElements: number;
  peakBytes: number;
  /** The node during whose run the peak happens (the first such node). */
  peakNode: string;
  /** Tensors whose buffers are live at the peak (a buffer is named by its first tensor). */
  liveAtPeak: string[];
  /** Live elements while each node runs, in execution order. */
  steps: LiveStep[];
}

const VIEW_KINDS = kindsWithAccess("view");
const STORED_KINDS = kindsWithAccess("stored");
const IN_PLACE_KINDS = kindsWithAccess("pointwise", "normalize");
// The element-wise ops the first-layer trick folds into the stem conv.
const POINTWISE_KINDS = kindsWithAccess("pointwise");

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

interface Buffer {
  name: string;
  elements: number;
  /** Tensors that still hold this buffer (not yet past their last reader). */
  holders: Set<string>;
}

/**
 * Peak live activation memory in topological order, with the node where it
 * happens; see the module doc for the two modes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { inferShapes } from "./shapes.ts";
 * import { peakMemory } from "./memory.ts";
 * const b = new GraphBuilder("t", [1, 8, 4, 4]); // 128 elements
 * const c = b.conv2d(b.input, { out: 16, kernel: 1 }, "conv"); // 256
 * const g = b.build(b.relu(c, "relu"));
 * const naive = peakMemory(inferShapes(g));
 * assert.equal(naive.peakElements, 256 + 256); // relu reads conv and writes a new map
 * assert.equal(naive.peakNode, "relu");
 * const fused = peakMemory(inferShapes(g), { inPlace: true });
 * assert.equal(fused.peakElements, 128 + 256); // conv: input + output; relu runs in place
 * ```
 */
export function peakMemory(shaped: ShapedGraph, options: PeakMemoryOptions = {}): PeakMemory {
  const inPlace = options.inPlace ?? false;
  const bytes = options.bytesPerElement ?? 4;
  const { graph, nodes } = shaped;
  const index = new Map(nodes.map((s, i) => [s.node.name, i]));
  const lastUse = new Map<string, number>();
  nodes.forEach((s, i) => {
    for (const inp of s.node.inputs) lastUse.set(inp, i);
  });
  for (const o of graph.outputs) lastUse.set(o.node, Infinity);
  const outputNodes = new Set(graph.outputs.map((o) => o.node));
  const inputNames = new Set(graph.inputs.map((i) => i.name));

  // Concat inputs that are written into their slice of the concat buffer.
  const placedIn = new Map<string, string>(); // producer -> concat
  if (inPlace) {
    const concatReaders = new Map<string, number>();
    for (const s of nodes) {
      if (s.node.kind !== "concat") continue;
      for (const inp of s.node.inputs) concatReaders.set(inp, (concatReaders.get(inp) ?? 0) + 1);
    }
    for (const s of nodes) {
      if (s.node.kind !== "concat") continue;
      const seen = new Set<string>();
      for (const inp of s.node.inputs) {
        const p = index.get(inp);
        if (p === undefined || seen.has(inp)) continue; // graph input
        seen.add(inp);
        const kind = nodes[p].node.kind;
        if (VIEW_KINDS.has(kind) || STORED_KINDS.has(kind) || kind === "split") continue;
        if (concatReaders.get(inp) !== 1 || outputNodes.has(inp)) continue;
        placedIn.set(inp, s.node.name);
      }
    }
  }

  const bufferOf = new Map<string, Buffer>();
  const live = new Set<Buffer>();
  const alloc = (name: string, elements: number, holders: string[]): Buffer => {
    const buf: Buffer = { name, elements, holders: new Set(holders) };
    live.add(buf);
    return buf;
  };
  const hold = (tensor: string, buf: Buffer) => {
    buf.holders.add(tensor);
    bufferOf.set(tensor, buf);
  };
  const release = (tensor: string) => {
    const buf = bufferOf.get(tensor);
    if (!buf) return;
    buf.holders.delete(tensor);
    if (buf.holders.size === 0) live.delete(buf);
  };
  const liveElements = () => {
    let t = 0;
    for (const b of live) t += b.elements;
    return t;
  };

  for (const input of graph.inputs) {
    hold(input.name, alloc(input.name, numel(input.shape), []));
    if (!lastUse.has(input.name)) release(input.name);
  }

  const steps: LiveStep[] = [];
  let peak = -1;
  let peakNode = "";
  let liveAtPeak: string[] = [];
  nodes.forEach((s, i) => {
    const node: AnyNode = s.node;
    const out = node.name;
    const size = numel(s.shape);
    if (STORED_KINDS.has(node.kind)) {
      // Parameter data: read where it is used, no activation buffer.
    } else if (VIEW_KINDS.has(node.kind) || (inPlace && node.kind === "split")) {
      hold(out, bufferOf.get(node.inputs[0])!);
    } else if (inPlace && placedIn.has(out)) {
      const concat = placedIn.get(out)!;
      let buf = bufferOf.get(concat);
      if (!buf) {
        buf = alloc(concat, numel(nodes[index.get(concat)!].shape), []);
        hold(concat, buf); // the concat output holds its buffer until it dies
      }
      hold(out, buf);
    } else if (inPlace && node.kind === "concat" && bufferOf.has(out)) {
      // Every placed input already wrote its slice; the rest are copied in now.
    } else {
      let reuse: Buffer | undefined;
      if (inPlace && IN_PLACE_KINDS.has(node.kind)) {
        node.inputs.forEach((inp, j) => {
          const buf = bufferOf.get(inp);
          if (
            reuse || !buf || inputNames.has(inp) || lastUse.get(inp) !== i ||
            !sameShape(s.inputShapes[j], s.shape) || buf.holders.size !== 1 ||
            node.inputs.indexOf(inp) !== node.inputs.lastIndexOf(inp)
          ) return;
          reuse = buf;
        });
      }
      hold(out, reuse ?? alloc(out, size, []));
    }
    const now = liveElements();
    const buffers = [...live].map((b) => b.name);
    steps.push({ node: out, liveElements: now, buffers });
    if (now > peak) {
      peak = now;
      peakNode = out;
      liveAtPeak = buffers;
    }
    for (const inp of new Set(node.inputs)) if (lastUse.get(inp) === i) release(inp);
    if (!lastUse.has(out)) release(out);
  });
  return {
    inPlace,
    peakElements: peak,
    peakBytes: peak * bytes,
    peakNode,
    liveAtPeak,
    steps,
  };
}

/** Options of {@link materializedMemory}. */
export interface MaterializedOptions {
  /** Bytes per element; default 2 (the paper's 16-bit floats). */
  bytesPerElement?: number;
  /** Do not materialize the first conv's output (Table 3's caption). Default `true`. */
  fuseFirstLayer?: boolean;
}

/** The largest materialized tensor at one spatial resolution. */
export interface MaterializedRow {
  /** `HxW` (`1x1` for pooled and flattened features). */
  resolution: string;
  /** Channels (features) of the largest tensor. */
  channels: number;
  elements: number;
  bytes: number;
  /** The node that makes the tensor. */
  tensor: string;
}

/** MobileNetV2 Table 3's view of a model: one row per resolution and the maximum. */
export interface MaterializedMemory {
  rows: MaterializedRow[];
  max: MaterializedRow;
}

/**
 * The largest tensor that must be materialized at each spatial resolution
 * (MobileNetV2 paper sec. 5.1, Table 3); see the module doc.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zoo } from "../models/zoo.ts";
 * import { inferShapes } from "./shapes.ts";
 * import { materializedMemory } from "./memory.ts";
 * const m = materializedMemory(inferShapes(zoo.build("mobilenetv2")));
 * // The first bottleneck's 16 channels at 112x112, 16 bits each: the paper's "400K".
 * assert.equal(m.max.bytes, 16 * 112 * 112 * 2);
 * ```
 */
export function materializedMemory(
  shaped: ShapedGraph,
  options: MaterializedOptions = {},
): MaterializedMemory {
  const bytes = options.bytesPerElement ?? 2;
  const fuseFirst = options.fuseFirstLayer ?? true;
  const { graph, nodes } = shaped;
  const blocks = graph.scopes.filter((s) => s.kind === "block").map((s) => s.path);
  const blockSet = new Set(blocks);
  const blockOf = (name: string): string | undefined => {
    const parts = name.split(".");
    for (let d = 1; d < parts.length; d++) {
      const p = parts.slice(0, d).join(".");
      if (blockSet.has(p)) return p;
    }
    return undefined;
  };
  const byName = new Map(nodes.map((s) => [s.node.name, s]));
  // A view stands for the tensor it aliases.
  const source = (name: string): string => {
    let s = byName.get(name);
    while (s && VIEW_KINDS.has(s.node.kind)) {
      name = s.node.inputs[0];
      s = byName.get(name);
    }
    return name;
  };
  // The first layer: the first conv's block, or the conv and the element-wise
  // ops right after it when it is in no block.
  const firstLayer = new Set<string>();
  const first = nodes.find((s) => s.node.kind === "conv2d");
  if (fuseFirst && first) {
    const blk = blockOf(first.node.name);
    if (blk !== undefined) {
      for (const s of nodes) if (blockOf(s.node.name) === blk) firstLayer.add(s.node.name);
    } else {
      let cur = first;
      firstLayer.add(cur.node.name);
      for (;;) {
        const next = nodes.filter((s) => s.node.inputs.includes(cur.node.name));
        if (
          next.length !== 1 || !POINTWISE_KINDS.has(next[0].node.kind) ||
          next[0].node.inputs.length !== 1
        ) break;
        cur = next[0];
        firstLayer.add(cur.node.name);
      }
    }
  }
  const outputSources = new Set(graph.outputs.map((o) => source(o.node)));
  const inputNames = new Set(graph.inputs.map((i) => i.name));
  const materialized = new Set<string>(outputSources);
  for (const s of nodes) {
    const reader = blockOf(s.node.name);
    for (const inp of s.node.inputs) {
      const src = source(inp);
      const maker = byName.get(src);
      if (inputNames.has(src) || (maker && STORED_KINDS.has(maker.node.kind))) continue;
      const block = blockOf(src);
      if (block === undefined || block !== reader) materialized.add(src);
    }
  }
  for (const t of firstLayer) if (!outputSources.has(t)) materialized.delete(t);
  const best = new Map<string, MaterializedRow>();
  const order: string[] = [];
  for (const s of nodes) {
    if (!materialized.has(s.node.name)) continue;
    const shape = s.shape;
    const resolution = shape.length === 4 ? `${shape[2]}x${shape[3]}` : "1x1";
    const elements = numel(shape);
    const row: MaterializedRow = {
      resolution,
      channels: shape[1],
      elements,
      bytes: elements * bytes,
      tensor: s.node.name,
    };
    const prev = best.get(resolution);
    if (!prev) order.push(resolution);
    if (!prev || elements > prev.elements) best.set(resolution, row);
  }
  const area = (r: string) => r.split("x").map(Number).reduce((a, b) => a * b, 1);
  const rows = order.map((r) => best.get(r)!).sort((a, b) =>
    area(b.resolution) - area(a.resolution)
  );
  const max = rows.reduce((a, b) => (b.bytes > a.bytes ? b : a), rows[0]);
  return { rows, max };
}
