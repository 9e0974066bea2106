/**
 * Ops that move data without arithmetic: concatenation, slicing, channel
 * shuffle, flatten, dropout (the identity at inference).
 *
 * @module
 */

import { formatShape, numel, ShapeError } from "./core.ts";
import type { OpDef } from "./def.ts";
import { constant, dimPoly, elements, mul, sameDim, sum, SymbolicError } from "./poly.ts";
import { need4d, nonNegative, positive } from "./_util.ts";

/** Inputs stacked along channels, in input order, per batch item. */
export const concat: OpDef<"concat"> = {
  summary: "concatenation along channels",
  arity: { min: 1 },
  check() {},
  shape(node, _a, inputs) {
    for (const s of inputs) need4d(node, s);
    const [n, , h, w] = inputs[0];
    let c = 0;
    for (const s of inputs) {
      if (s[0] !== n || s[2] !== h || s[3] !== w) {
        throw new ShapeError(
          node,
          `concat of mismatched shapes ${
            inputs.map(formatShape).join(", ")
          }: N, H and W must agree`,
        );
      }
      c += s[1];
    }
    return [n, c, h, w];
  },
  params: () => [],
  cost: () => ({ madds: 0, flops: {} }),
  symbolic({ node, ins }) {
    const x = ins[0];
    for (const t of ins) {
      if (!sameDim(t.h, x.h) || !sameDim(t.w, x.w)) {
        throw new SymbolicError(
          `Cannot express "${node.name}": concat of maps whose sizes are different expressions of H and W`,
        );
      }
    }
    return { out: { ...x, c: sum(ins.map((t) => t.c)) }, params: constant(0), madds: constant(0) };
  },
  reference({ inputs, inputShapes, shape }) {
    const [batch, , h, w] = shape;
    const y = new Float32Array(numel(shape));
    let offset = 0;
    for (let n = 0; n < batch; n++) {
      for (let k = 0; k < inputs.length; k++) {
        const part = inputShapes[k][1] * h * w;
        y.set(inputs[k].subarray(n * part, (n + 1) * part), offset);
        offset += part;
      }
    }
    return y;
  },
};

/** Channels `[offset, offset + channels)` of each batch item; reads only its slice. */
export const split: OpDef<"split"> = {
  summary: "one part of a channel split",
  arity: 1,
  check(node, a) {
    nonNegative(node, "split offset", a.offset);
    positive(node, "split channels", a.channels);
  },
  shape(node, a, [x]) {
    need4d(node, x);
    if (a.offset + a.channels > x[1]) {
      throw new ShapeError(
        node,
        `split takes channels ${a.offset}..${a.offset + a.channels - 1} of an input with ${
          x[1]
        } channels`,
      );
    }
    return [x[0], a.channels, x[2], x[3]];
  },
  params: () => [],
  cost: ({ shape }) => ({ madds: 0, flops: {}, mac: { input: numel(shape) } }),
  symbolic({ node, ins: [x], width }) {
    if (width) {
      throw new SymbolicError(`Cannot express "${node.name}" in width mode: channel split`);
    }
    const out = { ...x, c: constant(node.attrs.channels) };
    return { out, params: constant(0), madds: constant(0), mac: { input: elements(out) } };
  },
  reference({ node, inputs: [x], inputShapes: [xs], shape }) {
    const [batch, inC, h, w] = xs;
    const { offset, channels } = node.attrs;
    const y = new Float32Array(numel(shape));
    for (let n = 0; n < batch; n++) {
      const from = (n * inC + offset) * h * w;
      y.set(x.subarray(from, from + channels * h * w), n * channels * h * w);
    }
    return y;
  },
  widthFields: (a) => [a.offset, a.channels],
};

/**
 * PyTorch's `x.view(N, g, C / g, H, W).transpose(1, 2).reshape(N, C, H, W)`:
 * output channel `i * g + j` is input channel `j * (C / g) + i`.
 */
export const channelShuffle: OpDef<"channel_shuffle"> = {
  summary: "ShuffleNet channel shuffle",
  arity: 1,
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
  symbolic: ({ ins: [x] }) => ({ out: x, params: constant(0), madds: constant(0) }),
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

/** `[N, ...]` to `[N, F]`: a view of the same row-major data, costing nothing. */
export const flatten: OpDef<"flatten"> = {
  summary: "[N, C, H, W] to [N, C*H*W] (a view)",
  arity: 1,
  check() {},
  shape: (_node, _a, [x]) => [x[0], numel(x) / x[0]],
  params: () => [],
  cost: () => ({ madds: 0, flops: {}, mac: "view" }),
  symbolic: ({ ins: [x] }) => ({
    out: { n: x.n, c: mul(x.c, mul(dimPoly(x.h, "H"), dimPoly(x.w, "W"))) },
    params: constant(0),
    madds: constant(0),
    mac: "view",
  }),
  // Row-major data already is the flattened layout.
  reference: ({ inputs: [x] }) => x.slice(),
};

/** Dropout: the identity at inference, a view costing nothing. */
export const dropout: OpDef<"dropout"> = {
  summary: "identity at inference",
  arity: 1,
  check() {},
  shape: (_node, _a, [x]) => x,
  params: () => [],
  cost: () => ({ madds: 0, flops: {}, mac: "view" }),
  symbolic: ({ ins: [x] }) => ({ out: x, params: constant(0), madds: constant(0), mac: "view" }),
  reference: ({ inputs: [x] }) => x.slice(),
};
