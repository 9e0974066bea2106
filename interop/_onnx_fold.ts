/**
 * Constant folding for the ONNX importer: evaluates the ops of shape
 * computations (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as torch
 * exports them) and of constant arithmetic on tensors known at import time.
 * Integers are held exactly in float64; floats are rounded to float32 after
 * every op, as ONNX Runtime computes them.
 *
 * @module
 */

import type { AttrRead, ConstTensor } from "./onnx_proto.ts";

/** Ops that only make sense on constants (shape computations). */
export const CONSTANT_ONLY_OPS: ReadonlySet<string> = new Set([
  "Constant",
  "Shape",
  "Size",
  "ConstantOfShape",
  "Range",
  "Expand",
  "Equal",
  "Less",
  "Greater",
  "Where",
  "Floor",
  "Ceil",
]);

/**
 * Ops {@link foldConstant} can evaluate when every input is a constant: the
 * constant-only ops plus those that also run on activations.
 */
export const FOLDABLE_OPS: ReadonlySet<string> = new Set([
  ...CONSTANT_ONLY_OPS,
  "Identity",
  "Cast",
  "Unsqueeze",
  "Squeeze",
  "Concat",
  "Slice",
  "Reshape",
  "Flatten",
  "Transpose",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Max",
  "Min",
  "Pow",
  "Gather",
  "Neg",
  "Abs",
  "Sqrt",
  "Reciprocal",
  "Relu",
  "Sigmoid",
  "Tanh",
  "Exp",
  "Log",
  "Clip",
  "Split",
]);

/** Numeric attribute or a default. */
export function intAttr(attrs: Map<string, AttrRead>, name: string, dflt: number): number {
  const v = attrs.get(name);
  return typeof v === "number" ? v : dflt;
}

/** Integer-list attribute, or undefined. */
export function intsAttr(attrs: Map<string, AttrRead>, name: string): number[] | undefined {
  const v = attrs.get(name);
  if (Array.isArray(v)) return v;
  if (typeof v === "number") return [v];
  return undefined;
}

function size(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function strides(dims: readonly number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** A constant with new data of the same kind. */
function make(type: "float" | "int", dims: number[], values: ArrayLike<number>): ConstTensor {
  const data = type === "float" ? new Float32Array(values.length) : new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = values[i];
  return { dims, type, data };
}

/** An int64 constant from numbers. */
export function intConst(dims: number[], values: readonly number[]): ConstTensor {
  return make("int", dims, values);
}

function normAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw new RangeError(`${what}: axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

/** Numpy-style broadcast of two shapes; throws when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[], what: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new RangeError(
        `${what}: shapes [${a.join(", ")}] and [${b.join(", ")}] do not broadcast`,
      );
    }
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Reads `t` broadcast to `dims` as a flat array of values. */
export function broadcastTo(t: ConstTensor, dims: readonly number[]): Float64Array {
  const rank = dims.length;
  const lead = rank - t.dims.length;
  if (lead < 0 || t.dims.some((d, i) => d !== 1 && d !== dims[lead + i])) {
    throw new RangeError(
      `Cannot broadcast a constant of shape [${t.dims.join(", ")}] to [${dims.join(", ")}]`,
    );
  }
  const out = new Float64Array(size(dims));
  const tdims = [...new Array(lead).fill(1), ...t.dims];
  const ts = strides(tdims);
  const os = strides(dims);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    let rem = i;
    for (let d = 0; d < rank; d++) {
      const idx = Math.floor(rem / os[d]);
      rem -= idx * os[d];
      if (tdims[d] !== 1) src += idx * ts[d];
    }
    out[i] = t.data[src];
  }
  return out;
}

function binary(
  a: ConstTensor,
  b: ConstTensor,
  what: string,
  f: (x: number, y: number) => number,
  resultType?: "float" | "int",
): ConstTensor {
  const dims = broadcastShape(a.dims, b.dims, what);
  const x = broadcastTo(a, dims);
  const y = broadcastTo(b, dims);
  const type = resultType ?? (a.type === "float" || b.type === "float" ? "float" : "int");
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], y[i]);
  return make(type, dims, out);
}

function unary(a: ConstTensor, f: (x: number) => number): ConstTensor {
  return make(a.type, a.dims, Array.from(a.data, f));
}

function transpose(t: ConstTensor, perm: number[]): ConstTensor {
  const dims = perm.map((p) => t.dims[p]);
  const is = strides(t.dims);
  const os = strides(dims);
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    let rem = i;
    for (let d = 0; d < dims.length; d++) {
      const idx = Math.floor(rem / os[d]);
      rem -= idx * os[d];
      src += idx * is[perm[d]];
    }
    out[i] = t.data[src];
  }
  return make(t.type, dims, out);
}

/** Target shape of an ONNX Reshape (`0` copies a dimension unless `allowzero`, `-1` is inferred). */
export function reshapeTarget(
  from: readonly number[],
  target: readonly number[],
  allowZero: boolean,
  what: string,
): number[] {
  const dims = target.map((d, i) => (d === 0 && !allowZero ? from[i] : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = size(from);
  const unknown = dims.filter((d) => d === -1).length;
  if (unknown > 1) {
    throw new RangeError(`${what}: reshape target [${target.join(", ")}] has more than one -1`);
  }
  if (unknown === 1) {
    if (known === 0 || total % known !== 0) {
      throw new RangeError(
        `${what}: cannot reshape [${from.join(", ")}] to [${target.join(", ")}]`,
      );
    }
    return dims.map((d) => (d === -1 ? total / known : d));
  }
  if (known !== total) {
    throw new RangeError(
      `${what}: cannot reshape [${from.join(", ")}] (${total} elements) to [${dims.join(", ")}]`,
    );
  }
  return dims;
}

/** Start, end and step of an ONNX Slice on a dimension of size `dim`, clamped like the spec. */
export function sliceRange(start: number, end: number, step: number, dim: number): number[] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
  } else {
    s = clamp(s, 0, dim - 1);
    e = clamp(e, -1, dim - 1);
  }
  const idx: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) idx.push(i);
  return idx;
}

/** The `axes` of Squeeze/Unsqueeze/ReduceMean: an attribute before opset 13 (18 for Reduce*), an input after. */
export function axesOf(
  attrs: Map<string, AttrRead>,
  input: ConstTensor | undefined,
): number[] | undefined {
  if (input) return Array.from(input.data);
  return intsAttr(attrs, "axes");
}

function gather(data: ConstTensor, indices: ConstTensor, axis: number): ConstTensor {
  const a = normAxis(axis, data.dims.length, "Gather");
  const outer = size(data.dims.slice(0, a));
  const inner = size(data.dims.slice(a + 1));
  const n = data.dims[a];
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of indices.data) {
      const k = raw < 0 ? raw + n : raw;
      if (k < 0 || k >= n) {
        throw new RangeError(`Gather: index ${raw} is out of range for size ${n}`);
      }
      for (let i = 0; i < inner; i++) out.push(data.data[(o * n + k) * inner + i]);
    }
  }
  return make(
    data.type,
    [...data.dims.slice(0, a), ...indices.dims, ...data.dims.slice(a + 1)],
    out,
  );
}

function concat(parts: ConstTensor[], axis: number): ConstTensor {
  const rank = parts[0].dims.length;
  const a = normAxis(axis, rank, "Concat");
  const outer = size(parts[0].dims.slice(0, a));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const chunk = size(p.dims.slice(a));
      for (let i = 0; i < chunk; i++) out.push(p.data[o * chunk + i]);
    }
  }
  const dims = [...parts[0].dims];
  dims[a] = parts.reduce((s, p) => s + p.dims[a], 0);
  const type = parts.some((p) => p.type === "float") ? "float" : "int";
  return make(type, dims, out);
}

function slice(t: ConstTensor, starts: number[], ends: number[], axes: number[], steps: number[]) {
  const ranges = t.dims.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((ax, j) => {
    const a = normAxis(ax, t.dims.length, "Slice");
    ranges[a] = sliceRange(starts[j], ends[j], steps[j] ?? 1, t.dims[a]);
  });
  const dims = ranges.map((r) => r.length);
  const st = strides(t.dims);
  const out: number[] = [];
  const walk = (d: number, off: number) => {
    if (d === dims.length) {
      out.push(t.data[off]);
      return;
    }
    for (const i of ranges[d]) walk(d + 1, off + i * st[d]);
  };
  if (size(dims) > 0) walk(0, 0);
  return make(t.type, dims, out);
}

/** Rounds toward zero for ints (ONNX integer Div), plain for floats. */
function divide(type: "float" | "int") {
  return (x: number, y: number) => (type === "int" ? Math.trunc(x / y) : x / y);
}

/**
 * Evaluates one ONNX node whose inputs are all constants (`inputs[i]` is
 * undefined for an omitted optional input; `splitOutputs` is how many
 * outputs an even Split makes). Returns the outputs, or throws a RangeError
 * describing what was wrong.
 */
export function foldConstant(
  opType: string,
  attrs: Map<string, AttrRead>,
  inputs: (ConstTensor | undefined)[],
  splitOutputs = 2,
): ConstTensor[] {
  const [a, b] = inputs;
  const need = (t: ConstTensor | undefined, i: number) => {
    if (!t) throw new RangeError(`${opType} needs input ${i}`);
    return t;
  };
  switch (opType) {
    case "Constant": {
      for (const [k, v] of attrs) {
        if (k === "value" && v && typeof v === "object" && !Array.isArray(v)) return [v];
        if (k === "value_float" && typeof v === "number") return [make("float", [], [v])];
        if (k === "value_floats" && Array.isArray(v)) return [make("float", [v.length], v)];
        if (k === "value_int" && typeof v === "number") return [intConst([], [v])];
        if (k === "value_ints" && Array.isArray(v)) return [intConst([v.length], v)];
      }
      throw new RangeError("Constant has no value, value_float(s) or value_int(s) attribute");
    }
    case "Identity":
      return [need(a, 0)];
    case "Cast": {
      const to = intAttr(attrs, "to", 1);
      const x = need(a, 0);
      // FLOAT, FLOAT16, DOUBLE (and BFLOAT16 = 16) are floats; everything else integer or bool.
      if ([1, 10, 11, 16].includes(to)) return [make("float", x.dims, x.data)];
      if (to === 9) return [make("int", x.dims, Array.from(x.data, (v) => (v !== 0 ? 1 : 0)))];
      return [make("int", x.dims, Array.from(x.data, Math.trunc))];
    }
    case "Shape": {
      const dims = need(a, 0).dims;
      const rank = dims.length;
      let start = intAttr(attrs, "start", 0);
      let end = intAttr(attrs, "end", rank);
      if (start < 0) start += rank;
      if (end < 0) end += rank;
      const d = dims.slice(Math.max(0, start), Math.min(rank, end));
      return [intConst([d.length], d)];
    }
    case "Size":
      return [intConst([], [size(need(a, 0).dims)])];
    case "Gather":
      return [gather(need(a, 0), need(b, 1), intAttr(attrs, "axis", 0))];
    case "Unsqueeze": {
      const x = need(a, 0);
      const axes = axesOf(attrs, b) ?? [];
      const rank = x.dims.length + axes.length;
      const norm = axes.map((ax) => normAxis(ax, rank, "Unsqueeze")).sort((p, q) => p - q);
      const dims = [...x.dims];
      for (const ax of norm) dims.splice(ax, 0, 1);
      return [make(x.type, dims, x.data)];
    }
    case "Squeeze": {
      const x = need(a, 0);
      const axes = axesOf(attrs, b);
      const drop = new Set(
        axes
          ? axes.map((ax) => normAxis(ax, x.dims.length, "Squeeze"))
          : x.dims.flatMap((d, i) => (d === 1 ? [i] : [])),
      );
      return [make(x.type, x.dims.filter((_, i) => !drop.has(i)), x.data)];
    }
    case "Concat":
      return [
        concat(inputs.filter((t): t is ConstTensor => t !== undefined), intAttr(attrs, "axis", 0)),
      ];
    case "Slice": {
      const x = need(a, 0);
      // Opset 10+: starts, ends, axes, steps are inputs; before: attributes.
      const starts = inputs[1] ? Array.from(inputs[1].data) : intsAttr(attrs, "starts") ?? [];
      const ends = inputs[2] ? Array.from(inputs[2].data) : intsAttr(attrs, "ends") ?? [];
      const axes = inputs[3]
        ? Array.from(inputs[3].data)
        : intsAttr(attrs, "axes") ?? starts.map((_, i) => i);
      const steps = inputs[4] ? Array.from(inputs[4].data) : starts.map(() => 1);
      return [slice(x, starts, ends, axes, steps)];
    }
    case "Reshape": {
      const x = need(a, 0);
      const target = Array.from(need(b, 1).data);
      const dims = reshapeTarget(x.dims, target, intAttr(attrs, "allowzero", 0) === 1, "Reshape");
      return [make(x.type, dims, x.data)];
    }
    case "Flatten": {
      const x = need(a, 0);
      const axis = normAxis(intAttr(attrs, "axis", 1), x.dims.length + 1, "Flatten");
      return [make(x.type, [size(x.dims.slice(0, axis)), size(x.dims.slice(axis))], x.data)];
    }
    case "Transpose": {
      const x = need(a, 0);
      const perm = intsAttr(attrs, "perm") ?? x.dims.map((_, i) => x.dims.length - 1 - i);
      return [transpose(x, perm)];
    }
    case "ConstantOfShape": {
      const dims = Array.from(need(a, 0).data);
      const v = attrs.get("value");
      const fill = v && typeof v === "object" && !Array.isArray(v) ? v : make("float", [1], [0]);
      return [make(fill.type, dims, new Float64Array(size(dims)).fill(fill.data[0]))];
    }
    case "Range": {
      const [s, l, d] = [need(a, 0).data[0], need(b, 1).data[0], need(inputs[2], 2).data[0]];
      const n = Math.max(Math.ceil((l - s) / d), 0);
      return [make(a!.type, [n], Array.from({ length: n }, (_, i) => s + i * d))];
    }
    case "Expand": {
      const x = need(a, 0);
      const dims = broadcastShape(x.dims, Array.from(need(b, 1).data), "Expand");
      return [make(x.type, dims, broadcastTo(x, dims))];
    }
    case "Add":
      return [binary(need(a, 0), need(b, 1), opType, (x, y) => x + y)];
    case "Sub":
      return [binary(need(a, 0), need(b, 1), opType, (x, y) => x - y)];
    case "Mul":
      return [binary(need(a, 0), need(b, 1), opType, (x, y) => x * y)];
    case "Div": {
      const type = a?.type === "float" || b?.type === "float" ? "float" : "int";
      return [binary(need(a, 0), need(b, 1), opType, divide(type))];
    }
    case "Max":
    case "Min": {
      const f = opType === "Max" ? Math.max : Math.min;
      let acc = need(a, 0);
      for (const t of inputs.slice(1)) acc = binary(acc, need(t, 1), opType, f);
      return [acc];
    }
    case "Equal":
      return [binary(need(a, 0), need(b, 1), opType, (x, y) => (x === y ? 1 : 0), "int")];
    case "Less":
      return [binary(need(a, 0), need(b, 1), opType, (x, y) => (x < y ? 1 : 0), "int")];
    case "Greater":
      return [binary(need(a, 0), need(b, 1), opType, (x, y) => (x > y ? 1 : 0), "int")];
    case "Where": {
      const cond = need(a, 0);
      const x = need(b, 1);
      const y = need(inputs[2], 2);
      const dims = broadcastShape(broadcastShape(cond.dims, x.dims, opType), y.dims, opType);
      const c = broadcastTo(cond, dims);
      const xv = broadcastTo(x, dims);
      const yv = broadcastTo(y, dims);
      return [make(x.type, dims, Array.from(c, (v, i) => (v ? xv[i] : yv[i])))];
    }
    case "Pow":
      return [binary(need(a, 0), need(b, 1), opType, Math.pow)];
    case "Relu":
      return [unary(need(a, 0), (x) => Math.max(x, 0))];
    case "Sigmoid":
      return [unary(need(a, 0), (x) => 1 / (1 + Math.exp(-x)))];
    case "Tanh":
      return [unary(need(a, 0), Math.tanh)];
    case "Exp":
      return [unary(need(a, 0), Math.exp)];
    case "Log":
      return [unary(need(a, 0), Math.log)];
    case "Clip": {
      // Bounds: inputs since opset 11, attributes before.
      const lo = inputs[1] ? inputs[1].data[0] : attrs.get("min");
      const hi = inputs[2] ? inputs[2].data[0] : attrs.get("max");
      const min = typeof lo === "number" ? lo : -Infinity;
      const max = typeof hi === "number" ? hi : Infinity;
      return [unary(need(a, 0), (x) => Math.min(Math.max(x, min), max))];
    }
    case "Split": {
      const x = need(a, 0);
      const axis = normAxis(intAttr(attrs, "axis", 0), x.dims.length, "Split");
      const dim = x.dims[axis];
      let sizes = b ? Array.from(b.data) : intsAttr(attrs, "split");
      if (!sizes) {
        const parts = intAttr(attrs, "num_outputs", splitOutputs);
        const each = Math.ceil(dim / parts);
        sizes = Array.from({ length: parts }, (_, i) => Math.min(each, dim - i * each));
      }
      let start = 0;
      return sizes.map((size) => {
        const part = slice(x, [start], [start + size], [axis], [1]);
        start += size;
        return part;
      });
    }
    case "Neg":
      return [unary(need(a, 0), (x) => -x)];
    case "Abs":
      return [unary(need(a, 0), Math.abs)];
    case "Sqrt":
      return [unary(need(a, 0), Math.sqrt)];
    case "Reciprocal":
      return [unary(need(a, 0), (x) => 1 / x)];
    case "Floor":
      return [unary(need(a, 0), Math.floor)];
    case "Ceil":
      return [unary(need(a, 0), Math.ceil)];
    default:
      throw new RangeError(`${opType} cannot be evaluated at import time`);
  }
}
