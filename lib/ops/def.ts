/**
 * What an op is: one {@link OpDef} record per op kind holds every stage the
 * toolkit runs on it (attribute checks, shape rule, parameter tensors, cost,
 * symbolic cost, reference kernel). The table in `table.ts` is typed
 * `{ [K in OpKind]: OpDef<K> }`, so a kind that lacks a stage does not compile.
 *
 * @module
 */

import type { OpAttrs, OpKind, ParamSpec, Shape } from "./core.ts";
import type { Dim, Poly, SymTensor } from "./poly.ts";

/** A node as the op records see it (structurally the graph's `Node<K>`). */
export interface OpNode<K extends OpKind = OpKind> {
  name: string;
  kind: K;
  attrs: OpAttrs[K];
  inputs: string[];
}

/** FLOPs beyond 2 x MAdds, itemized (see the header of lib/analysis/cost.ts). */
export interface FlopItems {
  /** 1 per output element of a conv/linear with bias. */
  bias: number;
  /** Normalization: BatchNorm scale and shift, layer/instance norm statistics. */
  bn: number;
  /** Unary activations and math functions. */
  activation: number;
  /** Binary element-wise ops, affine, softmax. */
  elementwise: number;
  /** Pooling windows and reductions. */
  pooling: number;
}

/** FLOPs itemized; `total` is the sum of the other fields. */
export interface FlopCount extends FlopItems {
  total: number;
  /** 2 x MAdds of conv, linear and matmul. */
  maddsX2: number;
}

/** What the cost rule of an op sees. */
export interface CostArgs<K extends OpKind = OpKind> {
  kind: K;
  attrs: OpAttrs[K];
  inputShapes: readonly Shape[];
  shape: Shape;
}

/**
 * The work of one node. MAC defaults to every input element read, every
 * output element written and every parameter element read; `"view"` costs
 * nothing (a reinterpretation of the same buffer), `{ input }` overrides the
 * elements read (a slice reads only its part).
 */
export interface Work {
  madds: number;
  flops: Partial<FlopItems>;
  mac?: "view" | { input: number };
}

/** What the symbolic rule of an op sees. */
export interface SymbolicArgs<K extends OpKind = OpKind> {
  node: OpNode<K>;
  /** Symbolic input tensors, in input order. */
  ins: SymTensor[];
  /** Channels are `int(A*c)` atoms (MobileNet V1's width rule). */
  width: boolean;
  /** A channel count `c` of the alpha = 1 graph: `int(A*c)` in width mode, else `c`. */
  ch(c: number): Poly;
  /** Whether this node produces the classes (its outputs stay fixed in width mode). */
  classifier: boolean;
  /** Output H and W of a window over input 0; records the domain and period. */
  window(
    kernel: readonly [number, number],
    stride: readonly [number, number],
    pads: readonly [number, number, number, number],
    dilation: readonly [number, number],
    ceil: boolean,
  ): { h: Dim; w: Dim };
  /** Output H and W of a transposed conv over input 0; records the domain. */
  transposed(
    kernel: readonly [number, number],
    stride: readonly [number, number],
    pads: readonly [number, number, number, number],
    dilation: readonly [number, number],
    outputPadding: readonly [number, number],
  ): { h: Dim; w: Dim };
}

/** The symbolic figures of one node; MAC follows the same rule as {@link Work}. */
export interface SymbolicWork {
  out: SymTensor;
  params: Poly;
  madds: Poly;
  /** Stored non-parameter elements the node reads (BatchNorm running stats). */
  buffers?: Poly;
  mac?: "view" | { input: Poly };
}

/** What a reference kernel gets: the node, its input data and shapes, its output shape. */
export interface KernelArgs<K extends OpKind = OpKind> {
  node: OpNode<K>;
  inputs: Float32Array[];
  inputShapes: Shape[];
  /** Output shape, from shape inference. */
  shape: Shape;
  /** Parameter tensors keyed `<node>.<name>`, checked before any kernel runs. */
  weights: ReadonlyMap<string, Float32Array>;
}

/** A reference kernel: returns a fresh output array of `numel(shape)` elements. */
export type Kernel<K extends OpKind = OpKind> = (args: KernelArgs<K>) => Float32Array;

/**
 * How an op touches memory, for the analyses that reason by class rather than
 * by kind (ShuffleNet V2's G4 in lib/analysis/guidelines.ts; views and
 * in-place ops in lib/analysis/memory.ts):
 *
 * - `"pointwise"`: each output element reads only the input elements at its
 *   own (broadcast) position and per-channel parameters: activations, math
 *   functions, broadcasting binaries, BatchNorm, affine, PReLU. A few FLOPs per
 *   element moved (G4's element-wise ops); the output may overwrite an input
 *   of its shape; it can run as an epilogue of the op that makes its input.
 * - `"normalize"`: per-slice statistics, then a pointwise map (layer and
 *   instance norm, softmax). Element-wise for G4 (no MAdds, a constant number
 *   of FLOPs per element) and may run in place (a statistics pass, then a
 *   write pass over the same slice), but needs its whole slice first, so it
 *   does not fuse into its producer.
 * - `"view"`: the output is the input's buffer reinterpreted (flatten,
 *   reshape, dropout at inference): no data moves, MAC 0.
 * - `"stored"`: no inputs, the output is parameter data the file stores
 *   (`const`): no activation buffer.
 * - `"general"`: everything else (windows, reductions, matmul, data movement).
 */
export type Access = "pointwise" | "normalize" | "view" | "stored" | "general";

/** How many inputs an op takes: exactly `n`, or at least `min`. */
export type Arity = number | { min: number };

/** Every stage of one op kind, side by side. */
export interface OpDef<K extends OpKind> {
  /** One line: what the op computes. */
  summary: string;
  arity: Arity;
  /** How the op touches memory (see {@link Access}). */
  access: Access;
  /**
   * Attribute checks on their own (sizes positive, groups dividing channels);
   * throws a `RangeError` naming the node. Shape-dependent checks live in `shape`.
   */
  check(node: string, attrs: OpAttrs[K]): void;
  /** Output shape from input shapes, or a `ShapeError` naming the node and what was expected. */
  shape(node: string, attrs: OpAttrs[K], inputs: readonly Shape[]): Shape;
  /** The parameter tensors the op owns (PyTorch layouts); `[]` for none. */
  params(attrs: OpAttrs[K]): ParamSpec[];
  /** MAdds, FLOPs and MAC in the conventions of lib/analysis/cost.ts. */
  cost(args: CostArgs<K>): Work;
  /** The same figures as polynomials of H, W (and alpha); throws `SymbolicError` where not expressible. */
  symbolic(args: SymbolicArgs<K>): SymbolicWork;
  /** The reference kernel: the living definition of what the op computes. */
  reference: Kernel<K>;
  /** Channel-like attrs, in a fixed order, compared by the width rule (absent: none). */
  widthFields?(attrs: OpAttrs[K]): number[];
}

/** The whole catalog's type: a record for every kind. */
export type OpTable = { [K in OpKind]: OpDef<K> };
