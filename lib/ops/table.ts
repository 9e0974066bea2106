/**
 * The op table: every op kind's {@link OpDef} record, typed
 * `{ [K in OpKind]: OpDef<K> }` so a kind missing a stage does not compile,
 * and the entry points every stage walks it through.
 *
 * @module
 */

import type { OpAttrs, OpKind, ParamSpec, Shape } from "./core.ts";
import { ShapeError } from "./core.ts";
import type { Access, OpDef, OpTable } from "./def.ts";
import {
  abs,
  clip,
  elu,
  erf,
  exp,
  hardsigmoid,
  hardswish,
  leakyRelu,
  log,
  neg,
  prelu,
  reciprocal,
  relu,
  relu6,
  sigmoid,
  silu,
  softmax,
  softplus,
  sqrt,
  tanh,
} from "./activation.ts";
import { add, div, max, min, mul, pow, sub } from "./binary.ts";
import { conv2d, convTranspose2d, linear, matmul } from "./conv.ts";
import {
  channelShuffle,
  concat,
  constOp,
  dropout,
  flatten,
  gather,
  pad,
  reshape,
  slice,
  split,
  transpose,
} from "./layout.ts";
import { affine, batchNorm, instanceNorm, layerNorm } from "./norm.ts";
import { resize } from "./resize.ts";
import { avgPool, globalAvgPool, globalMaxPool, maxPool, reduce } from "./pool.ts";

/** Every op kind's record, in catalog order. */
export const OP_DEFS: OpTable = {
  conv2d,
  batch_norm: batchNorm,
  relu,
  relu6,
  clip,
  hardswish,
  hardsigmoid,
  sigmoid,
  add,
  mul,
  concat,
  split,
  channel_shuffle: channelShuffle,
  max_pool: maxPool,
  avg_pool: avgPool,
  global_avg_pool: globalAvgPool,
  flatten,
  linear,
  dropout,
  softmax,
  transpose,
  reshape,
  slice,
  gather,
  sub,
  div,
  pow,
  max,
  min,
  exp,
  log,
  tanh,
  sqrt,
  reciprocal,
  neg,
  abs,
  erf,
  softplus,
  elu,
  leaky_relu: leakyRelu,
  silu,
  prelu,
  affine,
  const: constOp,
  pad,
  global_max_pool: globalMaxPool,
  reduce,
  resize,
  matmul,
  conv_transpose2d: convTranspose2d,
  layer_norm: layerNorm,
  instance_norm: instanceNorm,
};

/**
 * The record of one op kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { opDef } from "./table.ts";
 * const mm = opDef("matmul");
 * const attrs = {};
 * const shape = mm.shape("attn", attrs, [[2, 4, 8], [8, 3]]);
 * assert.deepEqual(shape, [2, 4, 3]);
 * // MAdds = batch x M x K x N
 * const work = mm.cost({ kind: "matmul", attrs, inputShapes: [[2, 4, 8], [8, 3]], shape });
 * assert.equal(work.madds, 2 * 4 * 8 * 3);
 * ```
 */
export function opDef<K extends OpKind>(kind: K): OpDef<K> {
  return OP_DEFS[kind] as unknown as OpDef<K>;
}

/** Every op kind, in catalog order. */
export const OP_KINDS: readonly OpKind[] = Object.keys(OP_DEFS) as OpKind[];

/**
 * The op kinds whose records declare one of `classes` as their
 * {@link Access}, in catalog order: the sets the analyses use, derived from
 * the table so a new kind is classified where it is defined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kindsWithAccess } from "./table.ts";
 * const views = kindsWithAccess("view");
 * assert.deepEqual([...views].sort(), ["dropout", "flatten", "reshape"]);
 * assert.ok(kindsWithAccess("pointwise", "normalize").has("layer_norm"));
 * ```
 */
export function kindsWithAccess(...classes: Access[]): ReadonlySet<OpKind> {
  return new Set(OP_KINDS.filter((k) => classes.includes(OP_DEFS[k].access)));
}

/**
 * The six activations specialized kernels fuse into the op before them
 * (shape preserved, one input); codegen keeps its own copy of this list.
 * Every other unary kind is `"pointwise"` too (see {@link kindsWithAccess}).
 */
export const UNARY_ELEMENTWISE: ReadonlySet<OpKind> = new Set<OpKind>([
  "relu",
  "relu6",
  "clip",
  "hardswish",
  "hardsigmoid",
  "sigmoid",
]);

/** The parameter tensors an op with these attrs owns (PyTorch layouts). */
export function paramSpecs<K extends OpKind>(kind: K, attrs: OpAttrs[K]): ParamSpec[] {
  return opDef(kind).params(attrs);
}

/**
 * The shape rule of every op: output shape from input shapes, or a
 * {@link ShapeError} that names the node and says what was expected (the
 * attrs are checked first: a `RangeError` from {@link checkAttrs}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inferNodeShape } from "./table.ts";
 * const attrs = {
 *   inChannels: 3, outChannels: 24, kernel: [3, 3], stride: [2, 2],
 *   padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1, bias: false,
 * } as const;
 * assert.deepEqual(inferNodeShape("conv1", "conv2d", attrs, [[1, 3, 224, 224]]), [1, 24, 112, 112]);
 * ```
 */
export function inferNodeShape<K extends OpKind>(
  node: string,
  kind: K,
  attrs: OpAttrs[K],
  inputs: readonly Shape[],
): Shape {
  const def = opDef(kind);
  if (def === undefined) throw new ShapeError(node, `unknown op kind "${kind}"`);
  const arity = def.arity;
  if (typeof arity === "number") {
    if (inputs.length !== arity) {
      throw new ShapeError(node, `${kind} takes ${arity} input(s), got ${inputs.length}`);
    }
  } else if (inputs.length < arity.min) {
    throw new ShapeError(
      node,
      `${kind} takes at least ${arity.min === 1 ? "one input" : `${arity.min} inputs`}`,
    );
  }
  // Builders and importers call this without validateGraph: check the attrs first.
  def.check(node, attrs);
  return def.shape(node, attrs, inputs);
}

/**
 * Checks the attrs of one node on their own (sizes positive, groups dividing
 * channels, ...); shape-dependent checks live in {@link inferNodeShape}.
 * Throws a `RangeError` that names the node and the expected values.
 */
export function checkAttrs<K extends OpKind>(node: string, kind: K, attrs: OpAttrs[K]): void {
  const def = opDef(kind);
  if (def === undefined) {
    throw new RangeError(
      `Invalid "${node}": unknown op kind "${kind}", expected one of ${OP_KINDS.join(", ")}`,
    );
  }
  def.check(node, attrs);
}
