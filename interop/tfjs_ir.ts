/**
 * What both TensorFlow.js readers (graph models, layers models) share: a
 * builder that turns NHWC tensors into IR nodes.
 *
 * Layout: tfjs tensors are NHWC; the IR's conv and pool ops are NCHW. Each
 * value the builder hands out records its IR shape and whether a 4-D tensor is
 * held as NCHW (`nchw: true`, the file's `[N, H, W, C]` stored as
 * `[N, C, H, W]`). A graph input of rank 4 is followed by a `transpose` to
 * NCHW, a graph output is transposed back before it leaves, and shape ops that
 * need the file's own order (reshape, strided slice, ...) get the tensor back
 * in NHWC through {@link TfjsBuilder.plain}. Axes given in the file's order
 * map to IR axes through {@link TfjsBuilder.axis}. So the caller feeds and
 * receives exactly what tfjs takes and returns.
 *
 * Names: a TF node `block_1/expand/Conv2D` becomes the module path
 * `block_1.expand.Conv2D`, so `--depth` sums per block.
 *
 * @module
 */

import type { AnyNode, Graph, Scope } from "../lib/ir/graph.ts";
import { inferNodeShape, type OpAttrs, type OpKind, type Shape } from "../lib/ir/ops.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import { TfjsImportError, TfjsInputShapeError } from "./tfjs_weights.ts";
import { type Built, runPasses } from "./tfjs_passes.ts";

/** Every kind the readers may emit: the IR's own. */
export type Kind = OpKind;
/** The attrs of `K`. */
export type AttrsOf<K extends Kind> = OpAttrs[K];

/** A tensor in the graph being built. */
export interface Val {
  /** The IR node (or graph input) that holds it. */
  ref: string;
  /** Its IR shape (`[N, C, H, W]` when `nchw`). */
  shape: Shape;
  /** A 4-D tensor whose file layout is NHWC, held as NCHW. */
  nchw: boolean;
}

/** NHWC position of each NCHW axis (`[N, C, H, W]` reads `[0, 3, 1, 2]` of the file's tensor). */
export const TO_NCHW = [0, 3, 1, 2] as const;
/** NCHW position of each NHWC axis. */
export const TO_NHWC = [0, 2, 3, 1] as const;

/** Permutes `shape` by `perm`: `out[i] = shape[perm[i]]`. */
export function permute<T>(shape: readonly T[], perm: readonly number[]): T[] {
  return perm.map((p) => shape[p]);
}

/**
 * Moves the data of a row-major tensor of `shape` into the order `perm`
 * (output axis `i` is input axis `perm[i]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { transposeData } from "./tfjs_ir.ts";
 * // A TF conv filter [kh=1, kw=1, in=2, out=3] as PyTorch's [out, in, kh, kw].
 * const hwio = [1, 2, 3, 4, 5, 6]; // in 0: out 0..2 = 1, 2, 3; in 1: 4, 5, 6
 * assert.deepEqual([...transposeData(hwio, [1, 1, 2, 3], [3, 2, 0, 1])], [1, 4, 2, 5, 3, 6]);
 * ```
 */
export function transposeData(
  data: ArrayLike<number>,
  shape: readonly number[],
  perm: readonly number[],
): Float32Array {
  const rank = shape.length;
  const out = new Float32Array(data.length);
  const outShape = permute(shape, perm);
  const inStrides = new Array(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * shape[i + 1];
  const stride = perm.map((p) => inStrides[p]);
  const idx = new Array(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i] * stride[i];
    out[o] = data[src];
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i] < outShape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** The file's (tfjs) shape of a value. */
export function fileShape(v: Val): number[] {
  return v.nchw ? permute(v.shape, TO_NHWC) : [...v.shape];
}

/** A numbered block name and the rest of a Keras layer name: `block_1` + `expand_BN`. */
const BLOCK_NAME = /^([A-Za-z]+(?:_[A-Za-z]+)*_?\d+(?:_\d+)?)_([A-Za-z].*)$/;

/**
 * A module path from a TF node or Keras layer name: `a/b/c:0` -> `a.b.c`, and
 * a leading numbered block split off so `--depth` groups it (`block_1_expand_BN`
 * -> `block_1.expand_BN`, `conv_dw_3_relu` -> `conv_dw_3.relu`). Idempotent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modulePath } from "./tfjs_ir.ts";
 * assert.equal(modulePath("StatefulPartitionedCall/conv2d/Relu:0"), "StatefulPartitionedCall.conv2d.Relu");
 * assert.equal(modulePath("block_16_project_BN"), "block_16.project_BN");
 * assert.equal(modulePath("batch_normalization_1"), "batch_normalization_1");
 * ```
 */
export function modulePath(name: string): string {
  const path = name.replace(/:\d+$/, "").replace(/^[/.]+/, "").replace(/[/:]+/g, ".")
    .replace(/\s+/g, "_").replace(/\.+/g, ".").replace(/\.$/, "");
  if (path === "") return "node";
  const dot = path.indexOf(".");
  const head = dot < 0 ? path : path.slice(0, dot);
  const m = BLOCK_NAME.exec(head);
  return m ? `${m[1]}.${m[2]}${dot < 0 ? "" : path.slice(dot)}` : path;
}

/**
 * The shape of input `name`: `given` (`--input-shape`, checked against the
 * file's static dimensions), else the file's shape with a dynamic batch as 1.
 * A dimension still open is a {@link TfjsInputShapeError} suggesting a shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveInputShape } from "./tfjs_ir.ts";
 * assert.deepEqual(resolveInputShape([-1, 64, 64, 3], undefined, "x", "m.json"), [1, 64, 64, 3]);
 * assert.deepEqual(resolveInputShape([-1, -1, -1, 3], [1, 96, 96, 3], "x", "m.json"), [1, 96, 96, 3]);
 * assert.throws(
 *   () => resolveInputShape([-1, 64, 64, 3], [1, 64, 64, 1], "x", "m.json"),
 *   /--input-shape 1x64x64x1 does not fit input "x" of m\.json \(\[-1, 64, 64, 3\]\): dimension 3 must be 3/,
 * );
 * ```
 */
export function resolveInputShape(
  file: readonly number[] | undefined,
  given: readonly number[] | undefined,
  name: string,
  source: string,
): number[] {
  if (given) {
    const fits = (what: string) =>
      new TfjsInputShapeError(
        `--input-shape ${given.join("x")} does not fit input "${name}" of ${source} ` +
          `([${file!.join(", ")}]): ${what}`,
      );
    if (file && file.length !== given.length) throw fits(`expected rank ${file.length}`);
    const i = file ? file.findIndex((d, k) => d >= 0 && d !== given[k]) : -1;
    if (i >= 0) throw fits(`dimension ${i} must be ${file![i]}`);
    return [...given];
  }
  if (!file) {
    throw new TfjsInputShapeError(
      `Input "${name}" of ${source} has no static shape; give one with --input-shape (NHWC)`,
    );
  }
  const shape = file.map((d, i) => (d < 0 && i === 0 ? 1 : d));
  if (shape.some((d) => d < 0)) {
    throw new TfjsInputShapeError(
      `Input "${name}" of ${source} has dynamic shape [${shape.join(", ")}]; ` +
        `give one with --input-shape, e.g. ${shape.map((d) => (d < 0 ? 224 : d)).join("x")}`,
    );
  }
  return shape;
}

/**
 * Block scopes of an imported graph: every first path segment with a number
 * (`block_3`, `stage2_0`, `conv_dw_1`) over two or more differently named
 * modules (one layer and its activation, `dense_1.MatMul` and
 * `dense_1.MatMul.relu`, is not a block).
 */
export function blockScopes(names: readonly string[]): Scope[] {
  const parts = new Map<string, Set<string>>();
  for (const n of names) {
    const [head, second] = n.split(".");
    if (second === undefined || !/\d/.test(head)) continue;
    parts.set(head, (parts.get(head) ?? new Set()).add(second));
  }
  return [...parts].filter(([, p]) => p.size >= 2).map(([path]) => ({ path, kind: "block" }));
}

/** An imported tfjs model: the IR graph and its weights keyed like a state_dict. */
export interface TfjsImport {
  graph: Graph;
  weights: Weights;
}

/**
 * Builds an IR graph from a tfjs model, one node at a time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TfjsBuilder } from "./tfjs_ir.ts";
 * const b = new TfjsBuilder("m.json");
 * const x = b.input("image", [1, 8, 8, 3]);       // NHWC for the caller
 * assert.deepEqual(x.shape, [1, 3, 8, 8]);          // NCHW inside
 * const y = b.node("relu", {}, [x], "block/relu");
 * b.output("scores", y);
 * const nodes = b.nodeList();
 * assert.deepEqual(nodes.map((n) => [n.name, n.kind]), [
 *   ["image.to_nchw", "transpose"], ["block.relu", "relu"], ["block.relu.to_nhwc", "transpose"],
 * ]);
 * ```
 */
export class TfjsBuilder {
  readonly weights: Weights = new Map();
  readonly inputs: { name: string; shape: number[] }[] = [];
  readonly outputs: { name: string; node: string }[] = [];
  readonly #nodes: Built[] = [];
  readonly #names = new Set<string>();
  readonly #plain = new Map<string, Val>();
  readonly #nchw = new Map<string, Val>();

  /** `source` names the model file in errors. */
  constructor(readonly source: string) {}

  /** A name not used yet: `path`, else `path_1`, `path_2`, ... */
  unique(path: string): string {
    let name = path;
    for (let i = 1; this.#names.has(name); i++) name = `${path}_${i}`;
    this.#names.add(name);
    return name;
  }

  /** A graph input of the file's shape; a 4-D one comes back as NCHW. */
  input(name: string, shape: number[]): Val {
    const ref = this.unique(name);
    this.inputs.push({ name: ref, shape });
    return this.nchw({ ref, shape, nchw: false });
  }

  /**
   * Adds a node of `kind` reading `inputs`, named from `path` (a TF name or a
   * module path), with parameter tensors `params` (keyed by their suffix).
   */
  node<K extends Kind>(
    kind: K,
    attrs: AttrsOf<K>,
    inputs: readonly Val[],
    path: string,
    params: Record<string, Float32Array> = {},
  ): Val {
    const name = this.unique(modulePath(path));
    const shapes = inputs.map((v) => v.shape);
    const shape = inferNodeShape(name, kind, attrs, shapes);
    this.#nodes.push({ name, kind, attrs, inputs: inputs.map((v) => v.ref), rank: shape.length });
    for (const [key, data] of Object.entries(params)) this.weights.set(`${name}.${key}`, data);
    const nchw = kind !== "transpose" && shape.length === 4 && inputs.some((v) => v.nchw);
    return { ref: name, shape, nchw };
  }

  /** The value in the file's layout (a 4-D NCHW value is transposed back to NHWC). */
  plain(v: Val): Val {
    if (!v.nchw) return v;
    const seen = this.#plain.get(v.ref);
    if (seen) return seen;
    const out = { ...this.node("transpose", { perm: [...TO_NHWC] }, [v], `${v.ref}.to_nhwc`) };
    out.nchw = false;
    this.#plain.set(v.ref, out);
    this.#nchw.set(out.ref, v);
    return out;
  }

  /** A 4-D value as NCHW (a value in the file's NHWC layout is transposed). */
  nchw(v: Val): Val {
    if (v.nchw || v.shape.length !== 4) return v;
    const seen = this.#nchw.get(v.ref);
    if (seen) return seen;
    const t = this.node("transpose", { perm: [...TO_NCHW] }, [v], `${v.ref}.to_nchw`);
    const out = { ...t, nchw: true };
    this.#nchw.set(v.ref, out);
    this.#plain.set(out.ref, v);
    return out;
  }

  /** The IR axis of the file's `axis` (negative counts from the end) for value `v`. */
  axis(v: Val, axis: number): number {
    const rank = v.shape.length;
    const a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      throw new TfjsImportError(`Axis ${axis} is out of range for a rank-${rank} tensor`);
    }
    return v.nchw ? TO_NHWC[a] : a;
  }

  /** Marks `v` as the graph output `name`, in the file's layout. */
  output(name: string, v: Val): void {
    this.outputs.push({ name, node: this.plain(v).ref });
  }

  /** The nodes made so far (for tests and passes). */
  nodeList(): readonly Built[] {
    return this.#nodes;
  }

  /**
   * The finished graph: nodes no output reads are dropped and the exact
   * rewrites of `tfjs_passes.ts` run.
   */
  build(name: string, meta: Graph["meta"] = {}): TfjsImport {
    if (this.outputs.length === 0) {
      throw new TfjsImportError(`${this.source} has no outputs`);
    }
    const byName = new Map(this.#nodes.map((n) => [n.name, n]));
    const live = new Set<string>();
    const stack = this.outputs.map((o) => o.node);
    while (stack.length) {
      const n = stack.pop()!;
      if (live.has(n)) continue;
      live.add(n);
      for (const i of byName.get(n)?.inputs ?? []) stack.push(i);
    }
    const nodes = this.#nodes.filter((n) => live.has(n.name));
    for (const key of [...this.weights.keys()]) {
      if (!live.has(key.slice(0, key.lastIndexOf(".")))) this.weights.delete(key);
    }
    runPasses({ nodes, weights: this.weights, outputs: this.outputs });
    const graph = assemble(name, this.inputs, nodes as unknown as AnyNode[], this.outputs, meta);
    return { graph, weights: this.weights };
  }
}

/** The Graph record. */
function assemble(
  name: string,
  inputs: { name: string; shape: number[] }[],
  nodes: AnyNode[],
  outputs: { name: string; node: string }[],
  meta: Graph["meta"],
): Graph {
  const scopes = blockScopes(nodes.map((n) => n.name));
  return { name, inputs, nodes, outputs: outputs.map((o) => ({ ...o })), scopes, meta };
}
