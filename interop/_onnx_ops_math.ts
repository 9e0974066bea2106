/**
 * ONNX converters of element-wise math: activations, arithmetic with numpy
 * broadcasting (constants as scale_shift drafts or `const` nodes), n-ary
 * Sum/Mean/Max/Min, Softmax, reductions, and activations written as chains
 * of IR ops (Selu, Mish, Gelu, LpNormalization).
 *
 * @module
 */

import type { OpAttrs } from "../lib/ir/ops.ts";
import { type ConstTensor, dtypeName } from "./onnx_proto.ts";
import { axesOf, broadcastShape } from "./_onnx_fold.ts";
import { type Computed, isConst, type Value } from "./_onnx_draft.ts";
import {
  channelVector,
  constant,
  constNode,
  type ConvertContext,
  type Converter,
  dyn,
  f32,
  irShape,
  niceFloat,
  normAxis,
  numel,
  type OnnxNode,
  optConst,
  shapeOfValue,
} from "./_onnx_convert_base.ts";

/** Relu: a clip at 0 (merged with following bounds, lowered to relu or relu6). */
export const relu: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  ctx.emit(n, n.outputs[0], "clip", { min: 0, max: Infinity }, [x.ref], x.shape);
};

/** A clip of input 0 between two bounds (float64 recovered from float32). */
export function clipWith(ctx: ConvertContext, n: OnnxNode, min: number, max: number): void {
  const x = dyn(n, 0);
  const a = { min: niceFloat(min), max: niceFloat(max) };
  ctx.emit(n, n.outputs[0], "clip", a, [x.ref], x.shape);
}

/** Clip before opset 11: bounds are attributes. */
export const clipV1: Converter = (ctx, n) =>
  clipWith(ctx, n, n.attrs.float("min", -Infinity), n.attrs.float("max", Infinity));

/** Clip since opset 11: bounds are optional inputs. */
export const clipV11: Converter = (ctx, n) => {
  const lo = optConst(n, 1, "min");
  const hi = optConst(n, 2, "max");
  clipWith(ctx, n, lo ? lo.data[0] : -Infinity, hi ? hi.data[0] : Infinity);
};

/** Sigmoid and HardSwish: one input, no attributes. */
export function unary(kind: "sigmoid" | "hardswish"): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    ctx.emit(n, n.outputs[0], kind, {}, [x.ref], x.shape);
  };
}

/** HardSigmoid with its alpha and beta (ONNX defaults 0.2, 0.5). */
export const hardSigmoid: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const a: OpAttrs["hardsigmoid"] = {
    alpha: niceFloat(n.attrs.float("alpha", 0.2)),
    beta: niceFloat(n.attrs.float("beta", 0.5)),
  };
  ctx.emit(n, n.outputs[0], "hardsigmoid", a, [x.ref], x.shape);
};

/** Binary op kinds with numpy broadcasting, by ONNX op type. */
export const BINARY = {
  Add: "add",
  Sub: "sub",
  Mul: "mul",
  Div: "div",
  Pow: "pow",
  Max: "max",
  Min: "min",
} as const;

/** ONNX binary op types with a broadcasting IR kind. */
export type BinaryOp = keyof typeof BINARY;

/**
 * Add/Sub/Mul/Div/Pow/Max/Min. A scalar or per-channel constant operand of
 * Add/Sub/Mul/Div (and Div by it) is a scale_shift, merged with its
 * neighbours and lowered to `affine`; a scalar bound of Max/Min is a clip;
 * Add of equal shapes is the residual `add`; anything else is a broadcasting
 * binary op whose stored operands become `const` nodes.
 */
export function arithmetic(op: BinaryOp): Converter {
  return (ctx, n) => {
    const [a, b] = n.inputs;
    if (!a || !b || n.inputs.length !== 2) {
      throw new RangeError(`${op} with ${n.inputs.length} inputs; lightnets supports two`);
    }
    const out = n.outputs[0];
    if (!isConst(a) && !isConst(b)) {
      const same = a.shape.join() === b.shape.join();
      if (op === "Add" && same) return void ctx.emit(n, out, "add", {}, [a.ref, b.ref], a.shape);
      const isScale = (s: number[], x: number[]) =>
        s.length === 4 && x.length === 4 && s[0] === x[0] && s[1] === x[1] && s[2] === 1 &&
        s[3] === 1;
      if (op === "Mul" && !same && (isScale(b.shape, a.shape) || isScale(a.shape, b.shape))) {
        const [x, sc] = isScale(b.shape, a.shape) ? [a, b] : [b, a];
        return void ctx.emit(n, out, "mul", {}, [x.ref, sc.ref], x.shape);
      }
      return broadcastBinary(ctx, n, op);
    }
    if (isConst(a) && isConst(b)) throw new RangeError("unexpected constant operands");
    const constFirst = isConst(a);
    const x = (constFirst ? b : a) as Computed;
    const c = (constFirst ? a : b) as { const: ConstTensor };
    const v = channelVector(c.const, x.shape);
    if (v && broadcastShape(x.shape, c.const.dims, op).join() === x.shape.join()) {
      if (op === "Max" || op === "Min") {
        if (v.length === 1) {
          const [lo, hi] = op === "Max" ? [v[0], Infinity] : [-Infinity, v[0]];
          return clipWith(ctx, { ...n, inputs: [x] }, lo, hi);
        }
      } else if (op !== "Pow" && !(op === "Div" && constFirst)) {
        let ss: { scale: number[]; shift: number[] };
        if (op === "Add") ss = { scale: [1], shift: v };
        else if (op === "Mul") ss = { scale: v, shift: [0] };
        else if (op === "Sub") {
          ss = constFirst ? { scale: [-1], shift: v } : { scale: [1], shift: v.map((t) => -t) };
        } else ss = { scale: v.map((t) => 1 / t), shift: [0] };
        return void ctx.emit(n, out, "scale_shift", ss, [x.ref], x.shape);
      }
    }
    broadcastBinary(ctx, n, op);
  };
}

/** A binary op whose operands are computed or stored tensors (constants become `const` nodes). */
export function broadcastBinary(ctx: ConvertContext, n: OnnxNode, op: BinaryOp): void {
  const refs = n.inputs.slice(0, 2).map((v, i) => (isConst(v) ? constNode(ctx, n, i) : v!.ref));
  const shapes = n.inputs.slice(0, 2).map((v) => (isConst(v) ? v.const.dims : v!.shape));
  const shape = broadcastShape(shapes[0], shapes[1], op);
  const kind = op === "Mul" && shapes[0].join() === shapes[1].join() ? "mul_same" : BINARY[op];
  ctx.emit(n, n.outputs[0], kind, {}, refs, shape);
}

/** Sum/Mean/Max/Min of any number of inputs: a chain of binary ops (Mean then scales by 1/n). */
export function variadic(op: "Sum" | "Mean" | "Max" | "Min"): Converter {
  const binary = op === "Max"
    ? arithmetic("Max")
    : op === "Min"
    ? arithmetic("Min")
    : arithmetic("Add");
  return (ctx, n) => {
    if (n.inputs.length === 2 && op !== "Mean") return binary(ctx, n);
    if (n.inputs.length === 1 && op !== "Mean") return ctx.alias(n.outputs[0], dyn(n, 0));
    const out = n.outputs[0];
    let acc: Value = n.inputs[0]!;
    let accName = n.inputNames[0];
    const last = op === "Mean" ? n.inputs.length : n.inputs.length - 1;
    for (let i = 1; i < n.inputs.length; i++) {
      const ref = i === last ? out : `${out}#${i}`;
      binary(ctx, {
        ...n,
        inputs: [acc, n.inputs[i]],
        inputNames: [accName, n.inputNames[i]],
        outputs: [ref],
      });
      acc = { ref, shape: broadcastShape(shapeOfValue(acc), shapeOfValue(n.inputs[i]!), op) };
      accName = ref;
    }
    if (op === "Mean") {
      const x = acc as Computed;
      const k = 1 / n.inputs.length;
      ctx.emit(n, out, "scale_shift", { scale: [k], shift: [0] }, [x.ref], x.shape);
    }
  };
}

/** An activation written as a chain of element-wise steps on `x` (Selu, Mish, Gelu). */
export function composite(
  build: (n: OnnxNode) => ({ kind: "scale_shift"; attrs: { scale: number[]; shift: number[] } } | {
    kind: "elu" | "softplus" | "tanh" | "erf" | "mul_x";
    attrs?: { alpha: number };
  })[],
): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    const steps = build(n);
    let prev = x.ref;
    steps.forEach((st, k) => {
      const ref = k === steps.length - 1 ? n.outputs[0] : `${n.outputs[0]}#${k}`;
      if (st.kind === "mul_x") ctx.emit(n, ref, "mul_same", {}, [x.ref, prev], x.shape);
      else if (st.kind === "scale_shift") {
        ctx.emit(n, ref, "scale_shift", st.attrs, [prev], x.shape);
      } else if (st.kind === "elu") ctx.emit(n, ref, "elu", st.attrs!, [prev], x.shape);
      else ctx.emit(n, ref, st.kind, {}, [prev], x.shape);
      prev = ref;
    });
  };
}

/** Selu: `gamma * elu(x, alpha)`. */
export const selu = composite((n) => [
  { kind: "elu", attrs: { alpha: niceFloat(n.attrs.float("alpha", 1.67326319217681884765625)) } },
  {
    kind: "scale_shift",
    attrs: { scale: [niceFloat(n.attrs.float("gamma", 1.05070102214813232421875))], shift: [0] },
  },
]);

/** Mish: `x * tanh(softplus(x))`. */
export const mish = composite(() => [{ kind: "softplus" }, { kind: "tanh" }, { kind: "mul_x" }]);

/** Gelu (exact, opset 20): `x * (1 + erf(x / sqrt(2))) / 2`. */
export const gelu: Converter = (ctx, n) => {
  if (n.attrs.string("approximate", "none") !== "none") {
    ctx.issue(`${n.label} uses the tanh approximation; lightnets reads the exact Gelu`);
    return;
  }
  composite(() => [
    { kind: "scale_shift", attrs: { scale: [Math.SQRT1_2], shift: [0] } },
    { kind: "erf" },
    { kind: "scale_shift", attrs: { scale: [0.5], shift: [0.5] } },
    { kind: "mul_x" },
  ])(ctx, n);
};

/** Element-wise ops of one input with no parameters. */
export function elementwise(
  kind: "tanh" | "exp" | "log" | "sqrt" | "reciprocal" | "neg" | "abs" | "erf" | "softplus",
): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    ctx.emit(n, n.outputs[0], kind, {}, [x.ref], x.shape);
  };
}

/** Elu and LeakyRelu keep their alpha (ONNX defaults 1 and 0.01). */
export function withAlpha(kind: "elu" | "leaky_relu", dflt: number): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    const a = { alpha: niceFloat(n.attrs.float("alpha", dflt)) };
    ctx.emit(n, n.outputs[0], kind, a, [x.ref], x.shape);
  };
}

/** PRelu: the slopes are a parameter, one per channel (axis 1) or one shared. */
export const prelu: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const slope = constant(n, 1, "slope");
  const v = channelVector(slope, x.shape);
  if (!v) {
    ctx.issue(
      `${n.label} has slopes of shape [${slope.dims.join(", ")}] for an input of shape [${
        x.shape.join(", ")
      }]; lightnets supports one slope per channel (axis 1) or one shared slope`,
    );
    return;
  }
  const params = new Map([["weight", f32(v)]]);
  ctx.emit(n, n.outputs[0], "prelu", { channels: v.length }, [x.ref], x.shape, params);
};

/**
 * Softmax (and LogSoftmax, its log). Since opset 13 over one axis; before,
 * over the dims from `axis` on flattened together, which is a reshape to
 * [prod(dims < axis), prod(dims >= axis)], a softmax over axis 1, and a
 * reshape back (a single softmax when every later axis has size 1).
 */
export function softmaxWith(defaultAxis: number, log = false): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    const axis = normAxis(n.attrs.int("axis", defaultAxis), x.shape.length);
    const out = n.outputs[0];
    const steps: { kind: "reshape" | "softmax" | "log"; attrs: object; shape: number[] }[] = [];
    if (defaultAxis === 1 && x.shape.slice(axis + 1).some((d) => d !== 1)) {
      const flat = [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))];
      steps.push({ kind: "reshape", attrs: { shape: flat }, shape: flat });
      steps.push({ kind: "softmax", attrs: { axis: 1 }, shape: flat });
      steps.push({ kind: "reshape", attrs: { shape: [...x.shape] }, shape: [...x.shape] });
    } else steps.push({ kind: "softmax", attrs: { axis }, shape: [...x.shape] });
    if (log) steps.push({ kind: "log", attrs: {}, shape: [...x.shape] });
    let prev = x.ref;
    steps.forEach((st, k) => {
      const ref = k === steps.length - 1 ? out : `${out}#${k}`;
      ctx.emit(n, ref, st.kind, st.attrs as never, [prev], st.shape);
      prev = ref;
    });
  };
}

/**
 * ReduceMean/Sum/Max over constant axes (an attribute before opset 18, an
 * input since; ReduceSum's since 13). The mean over H and W of [N, C, H, W]
 * with kept dims is a global average pool.
 */
export function reduce(
  op: "mean" | "sum" | "max" | "min" | "l2" | "sum_square",
): Converter {
  return (ctx, n) => {
    const x = dyn(n, 0);
    if (op === "min" || op === "l2" || op === "sum_square") return reduceComposite(ctx, n, op);
    const given = axesOf(n.attrs.raw, optConst(n, 1, "axes"));
    const all = x.shape.map((_, i) => i);
    const noop = n.attrs.int("noop_with_empty_axes", 0) === 1;
    if ((!given || given.length === 0) && noop) return ctx.alias(n.outputs[0], x);
    const axes = (given && given.length ? given : all).map((a) => normAxis(a, x.shape.length))
      .sort((p, q) => p - q);
    const keepDims = n.attrs.int("keepdims", 1) === 1;
    if (op === "mean" && x.shape.length === 4 && axes.join() === "2,3") {
      const pooled = irShape(n, "global_avg_pool", {}, [x.shape]);
      if (keepDims) return void ctx.emit(n, n.outputs[0], "global_avg_pool", {}, [x.ref], pooled);
      const ref = `${n.outputs[0]}#pooled`;
      ctx.emit(n, ref, "global_avg_pool", {}, [x.ref], pooled);
      const shape = [pooled[0], pooled[1]];
      return void ctx.emit(n, n.outputs[0], "reshape", { shape }, [ref], shape);
    }
    const shape = keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    ctx.emit(n, n.outputs[0], "reduce", { op, axes, keepDims }, [x.ref], shape);
  };
}

/**
 * ReduceMin = -max(-x); ReduceSumSquare = sum(x * x); ReduceL2 = sqrt(sum(x * x)):
 * the element-wise steps around a `reduce` of the IR.
 */
export function reduceComposite(ctx: ConvertContext, n: OnnxNode, op: "min" | "l2" | "sum_square") {
  const x = dyn(n, 0);
  const out = n.outputs[0];
  const pre = `${out}#pre`;
  if (op === "min") ctx.emit(n, pre, "neg", {}, [x.ref], x.shape);
  else ctx.emit(n, pre, "mul_same", {}, [x.ref, x.ref], x.shape);
  const post = op === "min" ? "neg" : op === "l2" ? "sqrt" : undefined;
  const red = post ? `${out}#reduced` : out;
  reduce(op === "min" ? "max" : "sum")(ctx, {
    ...n,
    inputs: [{ ref: pre, shape: x.shape }, ...n.inputs.slice(1)],
    outputs: [red],
  });
  const shape = ctx.producedShape(red);
  if (post && shape) ctx.emit(n, out, post, {}, [red], shape);
}

/** LpNormalization (p = 2): `x / sqrt(sum(x * x))` over `axis`; p = 1 divides by sum |x|. */
export const lpNormalization: Converter = (ctx, n) => {
  const x = dyn(n, 0);
  const p = n.attrs.int("p", 2);
  const axis = normAxis(n.attrs.int("axis", -1), x.shape.length);
  const out = n.outputs[0];
  const kept = x.shape.map((d, i) => (i === axis ? 1 : d));
  if (p === 2) ctx.emit(n, `${out}#sq`, "mul_same", {}, [x.ref, x.ref], x.shape);
  else if (p === 1) ctx.emit(n, `${out}#sq`, "abs", {}, [x.ref], x.shape);
  else throw new RangeError(`p = ${p}; LpNormalization has p 1 or 2`);
  const a = { op: "sum" as const, axes: [axis], keepDims: true };
  ctx.emit(n, `${out}#sum`, "reduce", a, [`${out}#sq`], kept);
  if (p === 2) ctx.emit(n, `${out}#norm`, "sqrt", {}, [`${out}#sum`], kept);
  ctx.emit(n, out, "div", {}, [x.ref, p === 2 ? `${out}#norm` : `${out}#sum`], x.shape);
};

/** Identity: another name for its input. */
export const identity: Converter = (ctx, n) => ctx.alias(n.outputs[0], dyn(n, 0));

/** Cast to FLOAT of a computed tensor is an identity; any other type is reported. */
export const cast: Converter = (ctx, n) => {
  const to = n.attrs.int("to", 1);
  if (to !== 1) {
    ctx.issue(`${n.label} casts an activation to ${dtypeName(to)}; lightnets computes in FLOAT`);
    return;
  }
  ctx.alias(n.outputs[0], dyn(n, 0));
};
