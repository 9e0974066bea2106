/**
 * Binary element-wise ops.
 *
 * @module
 */

import { formatShape, numel, ShapeError } from "./core.ts";
import type { OpDef } from "./def.ts";
import { constant, sameDim, samePoly, SymbolicError } from "./poly.ts";
import { need4d, sameShape } from "./_util.ts";

/** Element-wise sum of two tensors of equal shape (residual shortcut); 1 FLOP per element. */
export const add: OpDef<"add"> = {
  summary: "a + b",
  arity: 2,
  check() {},
  shape(node, _a, [a, b]) {
    if (!sameShape(a, b)) {
      throw new ShapeError(
        node,
        `add of mismatched shapes ${formatShape(a)} and ${formatShape(b)}, expected equal shapes`,
      );
    }
    return a;
  },
  params: () => [],
  cost: ({ shape }) => ({ madds: 0, flops: { elementwise: numel(shape) } }),
  symbolic({ node, ins: [x, y] }) {
    if (!sameDim(y.h, x.h) || !sameDim(y.w, x.w) || !samePoly(y.c, x.c)) {
      throw new SymbolicError(
        `Cannot express "${node.name}": add of tensors whose sizes are different expressions`,
      );
    }
    return { out: x, params: constant(0), madds: constant(0) };
  },
  reference({ inputs: [a, b] }) {
    const y = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
    return y;
  },
};

/** `x * s` with `s` of shape `[N, C, 1, 1]` broadcast over H and W (squeeze-excite); 1 FLOP per element. */
export const mul: OpDef<"mul"> = {
  summary: "x * s, s [N, C, 1, 1] broadcast over H and W",
  arity: 2,
  check() {},
  shape(node, _a, [x, s]) {
    need4d(node, x);
    need4d(node, s, "scale");
    if (s[0] !== x[0] || s[1] !== x[1] || s[2] !== 1 || s[3] !== 1) {
      throw new ShapeError(
        node,
        `scale has shape ${formatShape(s)}, expected ${x[0]}x${x[1]}x1x1 to broadcast over ${
          formatShape(x)
        }`,
      );
    }
    return x;
  },
  params: () => [],
  cost: ({ shape }) => ({ madds: 0, flops: { elementwise: numel(shape) } }),
  symbolic: ({ ins: [x] }) => ({ out: x, params: constant(0), madds: constant(0) }),
  reference({ inputs: [x, s], inputShapes: [xs] }) {
    const [batch, channels, h, w] = xs;
    const y = new Float32Array(x.length);
    for (let p = 0; p < batch * channels; p++) {
      for (let i = 0; i < h * w; i++) y[p * h * w + i] = x[p * h * w + i] * s[p];
    }
    return y;
  },
};
