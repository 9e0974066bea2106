/**
 * Ops that move data without arithmetic: concat, split, slice, gather,
 * transpose, reshape, flatten, channel shuffle, dropout (the identity at
 * inference). Any rank 1..5; an axis may count from the end (`-1`).
 * No FLOPs; MAC reads what the op reads (a split, slice or gather only its
 * part) and writes the output; reshape, flatten and dropout are views of the
 * same buffer and cost nothing.
 *
 * @module
 */

import { formatShape, numel, type PadMode, ShapeError } from "./core.ts";
import type { OpDef, SymbolicWork } from "./def.ts";
import {
  constant,
  type Dim,
  dimPoly,
  elements,
  mul,
  sameDim,
  shiftDim,
  sum,
  SymbolicError,
  type SymTensor,
} from "./poly.ts";
import { need4d, nonNegative, param, positive } from "./_util.ts";
import { around, axisOf, checkRank, forEachIndex, resolveAxis, strides } from "./_tensor.ts";

const none = (out: SymTensor, mac?: SymbolicWork["mac"]): SymbolicWork => ({
  out,
  params: constant(0),
  madds: constant(0),
  ...(mac ? { mac } : {}),
});

function notExpressible(node: string, why: string): never {
  throw new SymbolicError(`Cannot express "${node}": ${why}`);
}

/** Rank of a symbolic tensor: 4 for a feature map, 2 for features. */
const symRank = (t: SymTensor) => (t.h === undefined ? 2 : 4);

/** Copies `[outer, part, inner]` blocks of `x` into `y` at axis offset `at` of `[outer, size, inner]`. */
function copyBlock(
  x: Float32Array,
  y: Float32Array,
  outer: number,
  part: number,
  size: number,
  inner: number,
  at: number,
): void {
  for (let o = 0; o < outer; o++) {
    y.set(x.subarray(o * part * inner, (o + 1) * part * inner), (o * size + at) * inner);
  }
}

/** Inputs stacked along `axis`, in input order. */
export const concat: OpDef<"concat"> = {
  summary: "concatenation along axis",
  arity: { min: 1 },
  access: "general",
  check() {},
  shape(node, a, inputs) {
    for (const s of inputs) checkRank(node, "input", s);
    const first = inputs[0];
    const axis = resolveAxis(node, "concat axis", a.axis, first.length);
    let size = 0;
    for (const s of inputs) {
      if (s.length !== first.length || s.some((d, i) => i !== axis && d !== first[i])) {
        throw new ShapeError(
          node,
          `concat of mismatched shapes ${
            inputs.map(formatShape).join(", ")
          } along axis ${axis}: every other axis must agree`,
        );
      }
      size += s[axis];
    }
    return first.map((d, i) => (i === axis ? size : d));
  },
  params: () => [],
  cost: () => ({ madds: 0, flops: {} }),
  symbolic({ node, ins }) {
    const x = ins[0];
    if (axisOf(node.attrs.axis, symRank(x)) !== 1) {
      notExpressible(node.name, "concat along an axis other than the channels");
    }
    for (const t of ins) {
      if (!sameDim(t.h, x.h) || !sameDim(t.w, x.w)) {
        notExpressible(
          node.name,
          "concat of maps whose sizes are different expressions of H and W",
        );
      }
    }
    return none({ ...x, c: sum(ins.map((t) => t.c)) });
  },
  reference({ node, inputs, inputShapes, shape }) {
    const axis = axisOf(node.attrs.axis, shape.length);
    const [outer, size, inner] = around(shape, axis);
    const y = new Float32Array(numel(shape));
    let at = 0;
    for (let k = 0; k < inputs.length; k++) {
      const part = inputShapes[k][axis];
      copyBlock(inputs[k], y, outer, part, size, inner, at);
      at += part;
    }
    return y;
  },
};

/** Indices `[offset, offset + size)` of `axis`; reads only its part. */
export const split: OpDef<"split"> = {
  summary: "one part of a split along axis",
  arity: 1,
  access: "general",
  check(node, a) {
    nonNegative(node, "split offset", a.offset);
    positive(node, "split size", a.size);
  },
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    const axis = resolveAxis(node, "split axis", a.axis, x.length);
    if (a.offset + a.size > x[axis]) {
      throw new ShapeError(
        node,
        `split takes indices ${a.offset}..${a.offset + a.size - 1} of axis ${axis}, which has ${
          x[axis]
        }`,
      );
    }
    return x.map((d, i) => (i === axis ? a.size : d));
  },
  params: () => [],
  cost: ({ shape }) => ({ madds: 0, flops: {}, mac: { input: numel(shape) } }),
  symbolic({ node, ins: [x], width }) {
    if (axisOf(node.attrs.axis, symRank(x)) !== 1) {
      notExpressible(node.name, "split along an axis other than the channels");
    }
    if (width) notExpressible(node.name, "in width mode: channel split");
    const out = { ...x, c: constant(node.attrs.size) };
    return none(out, { input: elements(out) });
  },
  reference({ node, inputs: [x], inputShapes: [xs], shape }) {
    const axis = axisOf(node.attrs.axis, xs.length);
    const [outer, inSize, inner] = around(xs, axis);
    const { offset, size } = node.attrs;
    const y = new Float32Array(numel(shape));
    for (let o = 0; o < outer; o++) {
      const from = (o * inSize + offset) * inner;
      y.set(x.subarray(from, from + size * inner), o * size * inner);
    }
    return y;
  },
  widthFields: (a) => [a.offset, a.size],
};

/** Number of indices `start, start + step, ...` before `end`. */
/** Entries `picks[j]` of `axis` of `x` (shape `xs`), in that order: slice and gather. */
function takeAlong(x: Float32Array, xs: readonly number[], axis: number, picks: number[]) {
  const [outer, inSize, inner] = around(xs, axis);
  const k = picks.length;
  const y = new Float32Array(outer * k * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      const from = (o * inSize + picks[j]) * inner;
      y.set(x.subarray(from, from + inner), (o * k + j) * inner);
    }
  }
  return y;
}

function sliceLength(start: number, end: number, step: number): number {
  return Math.max(0, Math.ceil((end - start) / step));
}

/** `x[..., start:end:step, ...]` on one axis (numpy); reads only the elements it keeps. */
export const slice: OpDef<"slice"> = {
  summary: "strided slice of one axis",
  arity: 1,
  access: "general",
  check(node, a) {
    if (!Number.isInteger(a.step) || a.step === 0) {
      throw new RangeError(
        `Invalid "${node}": slice step must be a non-zero integer, got ${a.step}`,
      );
    }
    if (!Number.isInteger(a.start) || !Number.isInteger(a.end)) {
      throw new RangeError(
        `Invalid "${node}": slice start and end must be integers, got ${a.start} and ${a.end}`,
      );
    }
  },
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    const axis = resolveAxis(node, "slice axis", a.axis, x.length);
    const size = x[axis];
    if (a.start < 0 || a.start >= size || a.end < -1 || a.end > size) {
      throw new ShapeError(
        node,
        `slice ${a.start}:${a.end}:${a.step} of axis ${axis} (size ${size}) is not resolved, expected 0 <= start < ${size} and -1 <= end <= ${size}`,
      );
    }
    const length = sliceLength(a.start, a.end, a.step);
    if (length === 0) {
      throw new ShapeError(
        node,
        `slice ${a.start}:${a.end}:${a.step} of axis ${axis} is empty, expected at least one index`,
      );
    }
    return x.map((d, i) => (i === axis ? length : d));
  },
  params: () => [],
  cost: ({ shape }) => ({ madds: 0, flops: {}, mac: { input: numel(shape) } }),
  symbolic({ node, ins: [x], width }) {
    const a = node.attrs;
    if (axisOf(a.axis, symRank(x)) !== 1 || width) {
      notExpressible(node.name, "slice of an axis other than the channels, or in width mode");
    }
    const out = { ...x, c: constant(sliceLength(a.start, a.end, a.step)) };
    return none(out, { input: elements(out) });
  },
  reference({ node, inputs: [x], inputShapes: [xs], shape }) {
    const a = node.attrs;
    const axis = axisOf(a.axis, xs.length);
    const picks = Array.from({ length: shape[axis] }, (_, j) => a.start + j * a.step);
    return takeAlong(x, xs, axis, picks);
  },
};

/** ONNX Gather with constant indices: entry `j` of `axis` is input index `indices[j]`. */
export const gather: OpDef<"gather"> = {
  summary: "gather constant indices along axis",
  arity: 1,
  access: "general",
  check(node, a) {
    if (a.indices.length === 0 || a.indices.some((i) => !Number.isInteger(i))) {
      throw new RangeError(
        `Invalid "${node}": gather indices must be a non-empty list of integers, got [${
          a.indices.join(", ")
        }]`,
      );
    }
    if (a.scalarIndex && a.indices.length !== 1) {
      throw new RangeError(
        `Invalid "${node}": a scalar gather index takes one index, got ${a.indices.length}`,
      );
    }
  },
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    const axis = resolveAxis(node, "gather axis", a.axis, x.length);
    for (const i of a.indices) {
      if (i < -x[axis] || i >= x[axis]) {
        throw new ShapeError(
          node,
          `gather index ${i} is out of range for axis ${axis} of size ${
            x[axis]
          }, expected ${-x[axis]}..${x[axis] - 1}`,
        );
      }
    }
    const out = x.map((d, i) => (i === axis ? a.indices.length : d));
    if (a.scalarIndex) out.splice(axis, 1);
    if (out.length === 0) {
      throw new ShapeError(node, `gather of a scalar index from a 1-D tensor gives a 0-D tensor`);
    }
    return out;
  },
  params: () => [],
  cost: ({ shape }) => ({ madds: 0, flops: {}, mac: { input: numel(shape) } }),
  symbolic({ node, ins: [x], width }) {
    const a = node.attrs;
    if (axisOf(a.axis, symRank(x)) !== 1 || a.scalarIndex || width) {
      notExpressible(node.name, "gather on an axis other than the channels");
    }
    const out = { ...x, c: constant(a.indices.length) };
    return none(out, { input: elements(out) });
  },
  reference({ node, inputs: [x], inputShapes: [xs] }) {
    const a = node.attrs;
    const axis = axisOf(a.axis, xs.length);
    const inSize = xs[axis];
    return takeAlong(x, xs, axis, a.indices.map((i) => (i < 0 ? i + inSize : i)));
  },
};

/** numpy transpose: output axis `i` is input axis `perm[i]`. */
export const transpose: OpDef<"transpose"> = {
  summary: "permutation of axes",
  arity: 1,
  access: "general",
  check(node, a) {
    const sorted = [...a.perm].sort((x, y) => x - y);
    if (sorted.some((v, i) => v !== i)) {
      throw new RangeError(
        `Invalid "${node}": perm [${a.perm.join(", ")}] must be a permutation of 0..${
          a.perm.length - 1
        }`,
      );
    }
  },
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    if (a.perm.length !== x.length) {
      throw new ShapeError(
        node,
        `perm [${a.perm.join(", ")}] has ${a.perm.length} axes, expected ${x.length} for input ${
          formatShape(x)
        }`,
      );
    }
    return a.perm.map((p) => x[p]);
  },
  params: () => [],
  cost: () => ({ madds: 0, flops: {} }),
  // Only permutes: the sizes stay those of [N, C, H, W] (or [N, F]), in the
  // order `perm` records, so the element count is the input's polynomial.
  symbolic({ node, ins: [x] }) {
    const q = node.attrs.perm;
    const r = symRank(x);
    if (q.length !== r) notExpressible(node.name, `a rank-${q.length} transpose`);
    const before = x.perm ?? q.map((_, i) => i);
    const perm = q.map((i) => before[i]);
    const { perm: _moved, ...inOrder } = x;
    return none(perm.every((v, i) => v === i) ? inOrder : { ...inOrder, perm });
  },
  reference({ node, inputs: [x], inputShapes: [xs], shape }) {
    const xStrides = strides(xs);
    const read = node.attrs.perm.map((p) => xStrides[p]);
    const y = new Float32Array(numel(shape));
    forEachIndex(shape, [read], (o, [i]) => {
      y[o] = x[i];
    });
    return y;
  },
};

function symbolicFlat(node: string, x: SymTensor, n: number, f: number): SymbolicWork {
  // [N, C, H, W] or [N, F] seen as [N, everything else]: the flatten of a feature map.
  if (x.n !== n) notExpressible(node, `reshape to [${n}, ${f}] does not keep the batch axis`);
  return none({ n, c: mul(x.c, mul(dimPoly(x.h, "H"), dimPoly(x.w, "W"))) }, "view");
}

/** The same row-major data read with another shape: a view. */
export const reshape: OpDef<"reshape"> = {
  summary: "reinterpret with a new shape (a view)",
  arity: 1,
  access: "view",
  check(node, a) {
    if (a.shape.length < 1 || a.shape.length > 5) {
      throw new RangeError(
        `Invalid "${node}": reshape target [${a.shape.join(", ")}] must have 1 to 5 axes`,
      );
    }
    a.shape.forEach((d) => positive(node, "reshape dimension (resolved, no -1 or 0)", d));
  },
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    if (numel(a.shape) !== numel(x)) {
      throw new ShapeError(
        node,
        `cannot reshape ${formatShape(x)} (${numel(x)} elements) to ${formatShape(a.shape)} (${
          numel(a.shape)
        } elements), expected the same number of elements`,
      );
    }
    return [...a.shape];
  },
  params: () => [],
  cost: () => ({ madds: 0, flops: {}, mac: "view" }),
  symbolic({ node, ins: [x] }) {
    const s = node.attrs.shape;
    if (s.length === 2) return symbolicFlat(node.name, x, s[0], s[1]);
    notExpressible(node.name, `reshape to [${s.join(", ")}] (only [N, F] is expressible)`);
  },
  reference: ({ inputs: [x] }) => x.slice(),
};

/** ONNX Flatten: `[prod(dims before axis), prod(dims from axis on)]`, a view. */
export const flatten: OpDef<"flatten"> = {
  summary: "flatten to 2-D around axis (a view)",
  arity: 1,
  access: "view",
  check() {},
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    const r = x.length;
    if (!Number.isInteger(a.axis) || a.axis < -r || a.axis > r) {
      throw new ShapeError(
        node,
        `flatten axis ${a.axis} is out of range for a rank-${r} tensor, expected ${-r}..${r}`,
      );
    }
    const axis = a.axis < 0 ? a.axis + r : a.axis;
    return [numel(x.slice(0, axis)), numel(x.slice(axis))];
  },
  params: () => [],
  cost: () => ({ madds: 0, flops: {}, mac: "view" }),
  symbolic({ node, ins: [x] }) {
    const r = symRank(x);
    const axis = node.attrs.axis < 0 ? node.attrs.axis + r : node.attrs.axis;
    if (axis !== 1) notExpressible(node.name, `flatten at axis ${axis} (only axis 1 is)`);
    return symbolicFlat(node.name, x, x.n, 0);
  },
  // Row-major data already is the flattened layout.
  reference: ({ inputs: [x] }) => x.slice(),
};

/**
 * PyTorch's `x.view(N, g, C / g, H, W).transpose(1, 2).reshape(N, C, H, W)`:
 * output channel `i * g + j` is input channel `j * (C / g) + i`.
 */
export const channelShuffle: OpDef<"channel_shuffle"> = {
  summary: "ShuffleNet channel shuffle",
  arity: 1,
  access: "general",
  check: (node, a) => positive(node, "shuffle groups", a.groups),
  shape(node, a, [x]) {
    need4d(node, x);
    if (x[1] % a.groups !== 0) {
      throw new ShapeError(
        node,
        `shuffle groups ${a.groups} do not divide ${x[1]} channels; expected a divisor of ${x[1]}`,
      );
    }
    return x;
  },
  params: () => [],
  cost: () => ({ madds: 0, flops: {} }),
  symbolic: ({ ins: [x] }) => none(x),
  reference({ node, inputs: [x], inputShapes: [xs] }) {
    const [batch, channels, h, w] = xs;
    const g = node.attrs.groups;
    const perGroup = channels / g;
    const plane = h * w;
    const y = new Float32Array(x.length);
    for (let n = 0; n < batch; n++) {
      for (let i = 0; i < perGroup; i++) {
        for (let j = 0; j < g; j++) {
          const from = (n * channels + j * perGroup + i) * plane;
          y.set(x.subarray(from, from + plane), (n * channels + i * g + j) * plane);
        }
      }
    }
    return y;
  },
  widthFields: (a) => [a.groups],
};

/** Dropout: the identity at inference, a view costing nothing. */
export const dropout: OpDef<"dropout"> = {
  summary: "identity at inference",
  arity: 1,
  access: "view",
  check() {},
  shape: (_node, _a, [x]) => x,
  params: () => [],
  cost: () => ({ madds: 0, flops: {}, mac: "view" }),
  symbolic: ({ ins: [x] }) => none(x, "view"),
  reference: ({ inputs: [x] }) => x.slice(),
};

/** A symbolic tensor of a fixed `[N, C, H, W]` or `[N, F]` shape. */
function fixedTensor(node: string, shape: readonly number[]): SymTensor {
  if (shape.length === 2) return { n: shape[0], c: constant(shape[1]) };
  if (shape.length === 4) {
    return { n: shape[0], c: constant(shape[1]), h: { value: shape[2] }, w: { value: shape[3] } };
  }
  notExpressible(node, `a rank-${shape.length} tensor`);
}

/**
 * A tensor the file stores: no inputs, its data the parameter `value` (role
 * `weight`: stored data counts as parameters). A view of that parameter: MAC
 * is counted where it is read.
 */
export const constOp: OpDef<"const"> = {
  summary: "a stored constant tensor",
  arity: 0,
  access: "stored",
  check(node, a) {
    if (a.shape.length < 1 || a.shape.length > 5) {
      throw new RangeError(
        `Invalid "${node}": const shape [${a.shape.join(", ")}] must have 1 to 5 axes`,
      );
    }
    a.shape.forEach((d) => positive(node, "const dimension", d));
  },
  shape: (_node, a) => [...a.shape],
  params: (a) => [{ name: "value", shape: [...a.shape], role: "weight" }],
  cost: () => ({ madds: 0, flops: {}, mac: "view" }),
  symbolic: ({ node }) => ({
    out: fixedTensor(node.name, node.attrs.shape),
    params: constant(numel(node.attrs.shape)),
    madds: constant(0),
    mac: "view",
  }),
  reference: ({ node, weights }) => param(weights, node, "value").slice(),
};

/** Input index read by output index `o` of an axis of size `size` padded by `begin` (`-1`: the fill value). */
function padSource(o: number, begin: number, size: number, mode: PadMode): number {
  const i = o - begin;
  if (i >= 0 && i < size) return i;
  if (mode === "constant") return -1;
  if (mode === "edge") return i < 0 ? 0 : size - 1;
  // reflect: mirror about the border element, which is not repeated.
  return i < 0 ? -i : 2 * (size - 1) - i;
}

/** ONNX Pad (constant, reflect, edge) on any axes. */
export const pad: OpDef<"pad"> = {
  summary: "pad every axis (constant, reflect or edge)",
  arity: 1,
  access: "general",
  check(node, a) {
    a.pads.forEach((p) => nonNegative(node, "pad", p));
    if (!["constant", "reflect", "edge"].includes(a.mode)) {
      throw new RangeError(
        `Invalid "${node}": pad mode "${a.mode}" is not one of constant, reflect, edge`,
      );
    }
    if (!Number.isFinite(a.value)) {
      throw new RangeError(`Invalid "${node}": pad value must be finite, got ${a.value}`);
    }
  },
  shape(node, a, [x]) {
    checkRank(node, "input", x);
    const r = x.length;
    if (a.pads.length !== 2 * r) {
      throw new ShapeError(
        node,
        `pads [${a.pads.join(", ")}] have ${a.pads.length} entries, expected ${
          2 * r
        } (begins then ends of each axis of ${formatShape(x)})`,
      );
    }
    if (a.mode === "reflect") {
      x.forEach((d, i) => {
        if (a.pads[i] > d - 1 || a.pads[r + i] > d - 1) {
          throw new ShapeError(
            node,
            `reflect pads ${a.pads[i]} and ${a.pads[r + i]} of axis ${i} exceed its size ${d} - 1`,
          );
        }
      });
    }
    return x.map((d, i) => d + a.pads[i] + a.pads[r + i]);
  },
  params: () => [],
  cost: () => ({ madds: 0, flops: {} }),
  symbolic({ node, ins: [x] }) {
    const p = node.attrs.pads;
    const r = symRank(x);
    if (p.length !== 2 * r || p[0] !== 0 || p[r] !== 0) {
      notExpressible(node.name, "pad of the batch axis");
    }
    const grow = (d: Dim | undefined, k: number): Dim | undefined =>
      d === undefined ? d : shiftDim(d, k);
    const c = p[1] + p[r + 1];
    const out: SymTensor = {
      n: x.n,
      c: c === 0 ? x.c : sum([x.c, constant(c)]),
      ...(r === 4 ? { h: grow(x.h, p[2] + p[6]), w: grow(x.w, p[3] + p[7]) } : {}),
    };
    return none(out);
  },
  reference({ node, inputs: [x], inputShapes: [xs], shape }) {
    const { pads, mode, value } = node.attrs;
    const r = xs.length;
    const xStrides = strides(xs);
    const y = new Float32Array(numel(shape));
    const idx = new Array<number>(r).fill(0);
    for (let o = 0; o < y.length; o++) {
      let from = 0;
      for (let d = 0; d < r && from >= 0; d++) {
        const i = padSource(idx[d], pads[d], xs[d], mode);
        from = i < 0 ? -1 : from + i * xStrides[d];
      }
      y[o] = from < 0 ? value : x[from];
      for (let d = r - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
    return y;
  },
};
