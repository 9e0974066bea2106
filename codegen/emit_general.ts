/**
 * The general kernel family: one kernel per layer for any op kind, with every
 * shape, stride and index bound baked in as a literal, over dense row-major
 * tensors of any rank. Codegen uses it for the ops (or the shapes) no
 * specialized family covers: broadcasting binaries, softmax on any axis,
 * concat and split on any axis, a layer whose leading dimension is not the
 * batch, and every op without a family of its own. Codegen's summary names
 * the layers that used it.
 *
 * The body of each op kind lives in {@link GENERAL_KERNELS}, a table keyed
 * by `OpKind`: a new kind without an entry there is a type error. Element-wise
 * unary ops are one expression each ({@link UNARY_EXPRESSIONS}), binary ones
 * one expression over two broadcast operands ({@link BINARY_EXPRESSIONS}).
 *
 * Operands: `x` is the first input, `r` the second (when the op reads two),
 * `y` the output, each at a per-call offset (`xo`, `ro`, `yo`); parameters are
 * packed in `w` from `wo`, one after the other in the order of the op's
 * parameter list, at the offsets in `spec.params`.
 *
 * @module
 */

import type { CodeBlockWriter } from "ts-morph";
import type {
  CoordinateTransformation,
  NearestMode,
  OpAttrs,
  OpKind,
  Shape,
} from "../lib/ir/ops.ts";
import { nearestIndex as nearestOf, sourceCoordinate } from "../lib/ops/resize.ts";
import { block, type Emitter } from "./_emit.ts";
import type { GeneralSpec } from "./spec.ts";

/** Writes one op kind's kernel body for `spec` (attrs typed by kind). */
export type GeneralBody<K extends OpKind> = (
  s: GeneralSpec & { attrs: OpAttrs[K] },
  w: CodeBlockWriter,
) => void;

/** A number as a literal, also for infinities; negative ones parenthesized. */
export function num(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "(-Infinity)";
  return n < 0 || Object.is(n, -0) ? `(${n})` : String(n);
}

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Drops dimensions of size 1 and merges each dimension into the one outside
 * it where every index moves alike (the outer step is the inner step times
 * the inner size): the same positions in the same order, in fewer loops (two
 * tensors of one shape: a single loop).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeDims, stridesOf } from "./emit_general.ts";
 * // NHWC [1, 8, 8, 3] read as NCHW [1, 3, 8, 8]: H and W move alike in both, so they merge
 * const x = [0, 1, 24, 3]; // input strides of output axes N, C, H, W
 * assert.deepEqual(mergeDims([1, 3, 8, 8], [x, stridesOf([1, 3, 8, 8])]), {
 *   dims: [3, 64],
 *   steps: [[1, 3], [64, 1]],
 * });
 * ```
 */
export function mergeDims(
  dims: readonly number[],
  steps: readonly (readonly number[])[],
): { dims: number[]; steps: number[][] } {
  const out: number[] = [];
  const st: number[][] = steps.map(() => []);
  dims.forEach((n, d) => {
    if (n === 1) return;
    const last = out.length - 1;
    if (last >= 0 && steps.every((s, k) => st[k][last] === s[d] * n)) {
      out[last] *= n;
      steps.forEach((s, k) => (st[k][last] = s[d]));
      return;
    }
    out.push(n);
    steps.forEach((s, k) => st[k].push(s[d]));
  });
  return { dims: out, steps: st };
}

/**
 * Writes loops over `dims` (outermost first, merged by {@link mergeDims}).
 * Index `k` starts at `bases[k]` and moves `steps[k][d]` per step of
 * dimension `d`; `body` receives each index's expression at the innermost
 * level.
 */
export function nest(
  w: CodeBlockWriter,
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  bases: readonly string[],
  body: (index: string[]) => void,
  tag = "",
): void {
  const { dims, steps } = mergeDims(shape, strides);
  const level = (d: number, index: string[]) => {
    if (d === dims.length) {
      body(index);
      return;
    }
    const i = `i${tag}${d}`;
    block(w, `for (let ${i} = 0; ${i} < ${dims[d]}; ${i}++)`, () => {
      const next = index.map((base, k) => {
        const step = steps[k][d];
        if (step === 0) return base;
        const v = `q${tag}${k}_${d}`;
        w.writeLine(`const ${v} = ${base} + ${step === 1 ? i : `${i} * ${step}`};`);
        return v;
      });
      level(d + 1, next);
    });
  };
  level(0, [...bases]);
}

/** Steps of a tensor of shape `from` read at the positions of `to` (numpy broadcasting). */
export function broadcastSteps(from: readonly number[], to: readonly number[]): number[] {
  const s = stridesOf(from);
  const lead = to.length - from.length;
  return to.map((_, d) => {
    const k = d - lead;
    return k < 0 || from[k] === 1 ? 0 : s[k];
  });
}

/** `y[i] = f(x[i])` over every element, `f` one expression of `v`. */
function unary(expr: (v: string) => string): GeneralBody<OpKind> {
  return (s, w) => {
    block(w, `for (let i = 0; i < ${size(s.ys)}; i++)`, () => {
      w.writeLine("const v = x[xo + i];");
      w.writeLine(`y[yo + i] = ${expr("v")};`);
    });
  };
}

/** An error function accurate to 1.2e-7 (Numerical Recipes' erfc, Chebyshev fit). */
const ERF = "const erf = (t: number) => { const z = Math.abs(t); const u = 1 / (1 + 0.5 * z); " +
  "const r = u * Math.exp(-z * z - 1.26551223 + u * (1.00002368 + u * (0.37409196 + u * " +
  "(0.09678418 + u * (-0.18628806 + u * (0.27886807 + u * (-1.13520398 + u * (1.48851587 + " +
  "u * (-0.82215223 + u * 0.17087277))))))))); return t >= 0 ? 1 - r : r - 1; };";

/**
 * One expression per element-wise unary kind, of the input value `v` (attrs
 * baked in). A kind listed here compiles through {@link unary}.
 */
export const UNARY_EXPRESSIONS: Record<string, (v: string, a: Record<string, number>) => string> = {
  relu: (v) => `Math.max(${v}, 0)`,
  relu6: (v) => `Math.min(Math.max(${v}, 0), 6)`,
  clip: (v, a) => `Math.min(Math.max(${v}, ${num(a.min)}), ${num(a.max)})`,
  hardswish: (v) => `${v} * Math.min(Math.max(${v} + 3, 0), 6) / 6`,
  hardsigmoid: (v, a) => `Math.min(Math.max(${num(a.alpha)} * ${v} + ${num(a.beta)}, 0), 1)`,
  sigmoid: (v) => `1 / (1 + Math.exp(-${v}))`,
  exp: (v) => `Math.exp(${v})`,
  log: (v) => `Math.log(${v})`,
  tanh: (v) => `Math.tanh(${v})`,
  sqrt: (v) => `Math.sqrt(${v})`,
  reciprocal: (v) => `1 / ${v}`,
  neg: (v) => `-${v}`,
  abs: (v) => `Math.abs(${v})`,
  erf: (v) => `erf(${v})`,
  softplus: (v) => `(${v} > 20 ? ${v} : Math.log1p(Math.exp(${v})))`,
  elu: (v, a) => `(${v} > 0 ? ${v} : ${num(a.alpha)} * (Math.exp(${v}) - 1))`,
  leaky_relu: (v, a) => `(${v} >= 0 ? ${v} : ${num(a.alpha)} * ${v})`,
  silu: (v) => `${v} / (1 + Math.exp(-${v}))`,
  dropout: (v) => v,
};

/** One expression per broadcasting binary kind, of the operands `a` and `b`. */
export const BINARY_EXPRESSIONS: Record<string, (a: string, b: string) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / ${b}`,
  pow: (a, b) => `Math.pow(${a}, ${b})`,
  max: (a, b) => `Math.max(${a}, ${b})`,
  min: (a, b) => `Math.min(${a}, ${b})`,
};

function unaryOf(kind: string): GeneralBody<OpKind> {
  const f = UNARY_EXPRESSIONS[kind];
  return (s, w) => {
    if (kind === "erf") w.writeLine(ERF);
    unary((v) => f(v, s.attrs as Record<string, number>))(s, w);
  };
}

/** Numpy-broadcasting binary: `y[i] = f(x[bx(i)], r[br(i)])`. */
function binaryOf(kind: string): GeneralBody<OpKind> {
  const f = BINARY_EXPRESSIONS[kind];
  return (s, w) => {
    const [a, b] = s.xs;
    nest(
      w,
      s.ys,
      [broadcastSteps(a, s.ys), broadcastSteps(b, s.ys), stridesOf(s.ys)],
      ["xo", "ro", "yo"],
      ([xi, ri, yi]) => w.writeLine(`y[${yi}] = ${f(`x[${xi}]`, `r[${ri}]`)};`),
    );
  };
}

/** A dense copy of all elements (reshape, flatten, dropout, identity). */
const copyAll: GeneralBody<OpKind> = (s, w) => {
  block(w, `for (let i = 0; i < ${size(s.ys)}; i++)`, () => w.writeLine("y[yo + i] = x[xo + i];"));
};

/** `[outer, n, inner]` around `axis` of `shape`. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [size(shape.slice(0, axis)), shape[axis], size(shape.slice(axis + 1))];
}

/** Normalizes a possibly negative axis. */
function axisOf(axis: number | undefined, rank: number, fallback = 1): number {
  const a = axis ?? fallback;
  return a < 0 ? a + rank : a;
}

/** Softmax over `axis` (max-subtracted, sums in float64). */
const softmax: GeneralBody<OpKind> = (s, w) => {
  const axis = axisOf((s.attrs as { axis?: number }).axis, s.ys.length);
  const [outer, n, inner] = around(s.ys, axis);
  block(w, `for (let o = 0; o < ${outer}; o++)`, () => {
    block(w, `for (let j = 0; j < ${inner}; j++)`, () => {
      w.writeLine(`const b = o * ${n * inner} + j;`);
      w.writeLine("let m = -Infinity;");
      w.writeLine(`for (let k = 0; k < ${n}; k++) m = Math.max(m, x[xo + b + k * ${inner}]);`);
      w.writeLine("let sum = 0;");
      block(w, `for (let k = 0; k < ${n}; k++)`, () => {
        w.writeLine(`const e = Math.exp(x[xo + b + k * ${inner}] - m);`);
        w.writeLine(`y[yo + b + k * ${inner}] = e;`);
        w.writeLine("sum += e;");
      });
      w.writeLine(`for (let k = 0; k < ${n}; k++) y[yo + b + k * ${inner}] /= sum;`);
    });
  });
};

/**
 * One input of a concat written into its slice of the output: `spec.part`
 * says where along the axis it starts.
 */
const concatPart: GeneralBody<OpKind> = (s, w) => {
  const part = s.part!;
  const xs = s.xs[0];
  const ystr = stridesOf(s.ys);
  nest(
    w,
    xs,
    [stridesOf(xs), ystr],
    ["xo", `yo + ${part.offset * ystr[part.axis]}`],
    ([xi, yi]) => w.writeLine(`y[${yi}] = x[${xi}];`),
  );
};

/** Elements `[start, end)` by `step` of one axis (split is a slice with step 1). */
function sliceCopy(
  s: GeneralSpec,
  w: CodeBlockWriter,
  axis: number,
  start: number,
  step: number,
): void {
  const xstr = stridesOf(s.xs[0]);
  const steps = xstr.map((v, d) => (d === axis ? v * step : v));
  nest(
    w,
    s.ys,
    [steps, stridesOf(s.ys)],
    [`xo + ${start * xstr[axis]}`, "yo"],
    ([xi, yi]) => w.writeLine(`y[${yi}] = x[${xi}];`),
  );
}

/** A permutation of the axes: output axis `d` is input axis `perm[d]`. */
function permute(s: GeneralSpec, w: CodeBlockWriter, perm: readonly number[]): void {
  const xstr = stridesOf(s.xs[0]);
  nest(
    w,
    s.ys,
    [perm.map((p) => xstr[p]), stridesOf(s.ys)],
    ["xo", "yo"],
    ([xi, yi]) => w.writeLine(`y[${yi}] = x[${xi}];`),
  );
}

/** ShuffleNet's shuffle as a permutation of `[N, g, C / g, rest]` into `[N, C / g, g, rest]`. */
const channelShuffle: GeneralBody<"channel_shuffle"> = (s, w) => {
  const [n, c] = s.xs[0];
  const g = s.attrs.groups;
  const rest = size(s.xs[0].slice(2));
  const inner = { ...s, xs: [[n, g, c / g, rest]], ys: [n, c / g, g, rest] };
  permute(inner, w, [0, 2, 1, 3]);
};

/** Offset of each packed parameter (from `wo`). */
function p(s: GeneralSpec, name: string): string {
  const at = s.params[name];
  if (at === undefined) throw new RangeError(`General kernel "${s.op}" has no parameter "${name}"`);
  return at === 0 ? "wo" : `wo + ${at}`;
}

/** Direct convolution, NCHW, any groups, padding, stride, dilation. */
const conv2d: GeneralBody<"conv2d"> = (s, w) => {
  const a = s.attrs;
  const [n, cin, h, wd] = s.xs[0];
  const [, cout, oh, ow] = s.ys;
  const [kh, kw] = a.kernel;
  const ipg = cin / a.groups;
  const opg = cout / a.groups;
  block(w, `for (let b = 0; b < ${n}; b++)`, () => {
    block(w, `for (let oc = 0; oc < ${cout}; oc++)`, () => {
      w.writeLine(`const g = Math.floor(oc / ${opg});`);
      block(w, `for (let oy = 0; oy < ${oh}; oy++)`, () => {
        block(w, `for (let ox = 0; ox < ${ow}; ox++)`, () => {
          w.writeLine(`let acc = ${a.bias ? `w[${p(s, "bias")} + oc]` : "0"};`);
          block(w, `for (let ic = 0; ic < ${ipg}; ic++)`, () => {
            w.writeLine(`const xc = xo + (b * ${cin} + g * ${ipg} + ic) * ${h * wd};`);
            w.writeLine(`const wc = ${p(s, "weight")} + (oc * ${ipg} + ic) * ${kh * kw};`);
            block(w, `for (let ky = 0; ky < ${kh}; ky++)`, () => {
              w.writeLine(
                `const iy = oy * ${a.stride[0]} - ${a.padding[0]} + ky * ${a.dilation[0]};`,
              );
              w.writeLine(`if (iy < 0 || iy >= ${h}) continue;`);
              block(w, `for (let kx = 0; kx < ${kw}; kx++)`, () => {
                w.writeLine(
                  `const ix = ox * ${a.stride[1]} - ${a.padding[1]} + kx * ${a.dilation[1]};`,
                );
                w.writeLine(`if (ix < 0 || ix >= ${wd}) continue;`);
                w.writeLine(`acc += x[xc + iy * ${wd} + ix] * w[wc + ky * ${kw} + kx];`);
              });
            });
          });
          w.writeLine(`y[yo + ((b * ${cout} + oc) * ${oh} + oy) * ${ow} + ox] = acc;`);
        });
      });
    });
  });
};

/** Max or average pooling, NCHW (PyTorch's window rule, as the reference executor). */
function pool(max: boolean): GeneralBody<"max_pool" | "avg_pool"> {
  return (s, w) => {
    const a = s.attrs;
    const [n, c, h, wd] = s.xs[0];
    const [, , oh, ow] = s.ys;
    const [top, left, bottom, right] = a.padding;
    block(w, `for (let pl = 0; pl < ${n * c}; pl++)`, () => {
      block(w, `for (let oy = 0; oy < ${oh}; oy++)`, () => {
        w.writeLine(`const y0 = oy * ${a.stride[0]} - ${top};`);
        w.writeLine(`const y1 = Math.min(y0 + ${a.kernel[0]}, ${h + bottom});`);
        block(w, `for (let ox = 0; ox < ${ow}; ox++)`, () => {
          w.writeLine(`const x0 = ox * ${a.stride[1]} - ${left};`);
          w.writeLine(`const x1 = Math.min(x0 + ${a.kernel[1]}, ${wd + right});`);
          w.writeLine(`let acc = ${max ? "-Infinity" : "0"};`);
          w.writeLine("let covered = 0;");
          block(w, `for (let iy = Math.max(y0, 0); iy < Math.min(y1, ${h}); iy++)`, () => {
            block(w, `for (let ix = Math.max(x0, 0); ix < Math.min(x1, ${wd}); ix++)`, () => {
              w.writeLine(`const v = x[xo + pl * ${h * wd} + iy * ${wd} + ix];`);
              w.writeLine(max ? "acc = Math.max(acc, v);" : "acc += v;");
              w.writeLine("covered++;");
            });
          });
          const count = a.countIncludePad || max ? "(y1 - y0) * (x1 - x0)" : "covered";
          w.writeLine(
            `y[yo + (pl * ${oh} + oy) * ${ow} + ox] = ${max ? "acc" : `acc / (${count})`};`,
          );
        });
      });
    });
  };
}

/** Mean (or max) over everything after the first two axes, per `(n, c)`. */
function globalPool(max: boolean): GeneralBody<OpKind> {
  return (s, w) => {
    const planes = s.xs[0][0] * s.xs[0][1];
    const plane = size(s.xs[0].slice(2));
    block(w, `for (let pl = 0; pl < ${planes}; pl++)`, () => {
      w.writeLine(`let acc = ${max ? "-Infinity" : "0"};`);
      block(w, `for (let i = 0; i < ${plane}; i++)`, () => {
        w.writeLine(`const v = x[xo + pl * ${plane} + i];`);
        w.writeLine(max ? "acc = Math.max(acc, v);" : "acc += v;");
      });
      w.writeLine(`y[yo + pl] = ${max ? "acc" : `acc / ${plane}`};`);
    });
  };
}

/** `y = x W^T + b` on `[N, F]`. */
const linear: GeneralBody<"linear"> = (s, w) => {
  const a = s.attrs;
  const rows = size(s.xs[0]) / a.inFeatures;
  block(w, `for (let b = 0; b < ${rows}; b++)`, () => {
    block(w, `for (let o = 0; o < ${a.outFeatures}; o++)`, () => {
      w.writeLine(`let acc = ${a.bias ? `w[${p(s, "bias")} + o]` : "0"};`);
      w.writeLine(`const wr = ${p(s, "weight")} + o * ${a.inFeatures};`);
      w.writeLine(`const xr = xo + b * ${a.inFeatures};`);
      w.writeLine(`for (let i = 0; i < ${a.inFeatures}; i++) acc += x[xr + i] * w[wr + i];`);
      w.writeLine(`y[yo + b * ${a.outFeatures} + o] = acc;`);
    });
  });
};

/** Inference BatchNorm over axis 1: `(x - mean) / sqrt(var + eps) * weight + bias`. */
const batchNorm: GeneralBody<"batch_norm"> = (s, w) => {
  const [outer, c, inner] = around(s.xs[0], 1);
  block(w, `for (let o = 0; o < ${outer}; o++)`, () => {
    block(w, `for (let ch = 0; ch < ${c}; ch++)`, () => {
      w.writeLine(
        `const scale = w[${p(s, "weight")} + ch] / Math.sqrt(w[${p(s, "running_var")} + ch] + ${
          num(s.attrs.eps)
        });`,
      );
      w.writeLine(`const mean = w[${p(s, "running_mean")} + ch];`);
      w.writeLine(`const shift = w[${p(s, "bias")} + ch];`);
      w.writeLine(`const b = (o * ${c} + ch) * ${inner};`);
      block(w, `for (let i = 0; i < ${inner}; i++)`, () => {
        w.writeLine("y[yo + b + i] = (x[xo + b + i] - mean) * scale + shift;");
      });
    });
  });
};

/** The split part as a slice of axis 1 (or the contract's `axis`). */
const split: GeneralBody<"split"> = (s, w) => {
  const a = s.attrs as unknown as { axis?: number; offset: number };
  sliceCopy(s, w, axisOf(a.axis, s.xs[0].length), a.offset, 1);
};

/** numpy `x[start:end:step]` on one axis. */
const slice: GeneralBody<"slice"> = (s, w) => {
  const a = s.attrs;
  sliceCopy(s, w, axisOf(a.axis, s.xs[0].length), a.start, a.step);
};

/** ONNX Gather with constant indices: whole rows of `axis` picked from a baked table. */
const gather: GeneralBody<"gather"> = (s, w) => {
  const xs = s.xs[0];
  const axis = axisOf(s.attrs.axis, xs.length, 0);
  const [outer, n, inner] = around(xs, axis);
  const indices = s.attrs.indices.map((i) => (i < 0 ? i + n : i));
  const k = indices.length;
  w.writeLine(`const idx = [${indices.join(", ")}];`);
  block(w, `for (let o = 0; o < ${outer}; o++)`, () => {
    block(w, `for (let j = 0; j < ${k}; j++)`, () => {
      w.writeLine(`const src = xo + (o * ${n} + idx[j]) * ${inner};`);
      w.writeLine(`const dst = yo + (o * ${k} + j) * ${inner};`);
      w.writeLine(`for (let i = 0; i < ${inner}; i++) y[dst + i] = x[src + i];`);
    });
  });
};

/** numpy transpose: output axis `d` is input axis `perm[d]`. */
const transpose: GeneralBody<"transpose"> = (s, w) => permute(s, w, s.attrs.perm);

/** `x >= 0 ? x : slope * x`, the slope per channel of axis 1 (one shared slope when 1). */
export const prelu: GeneralBody<OpKind> = (s, w) => {
  const { channels } = s.attrs as { channels: number };
  const [outer, c, inner] = s.xs[0].length >= 2 ? around(s.xs[0], 1) : [1, 1, size(s.xs[0])];
  block(w, `for (let o = 0; o < ${outer}; o++)`, () => {
    block(w, `for (let ch = 0; ch < ${c}; ch++)`, () => {
      w.writeLine(`const a = w[${p(s, "weight")}${channels === 1 ? "" : " + ch"}];`);
      w.writeLine(`const b = (o * ${c} + ch) * ${inner};`);
      block(w, `for (let i = 0; i < ${inner}; i++)`, () => {
        w.writeLine("const v = x[xo + b + i];");
        w.writeLine("y[yo + b + i] = v >= 0 ? v : a * v;");
      });
    });
  });
};

/** `x * weight + bias` per channel of axis 1 (one scalar pair when 1). */
export const affine: GeneralBody<OpKind> = (s, w) => {
  const { channels } = s.attrs as { channels: number };
  const [outer, c, inner] = s.xs[0].length >= 2 ? around(s.xs[0], 1) : [1, 1, size(s.xs[0])];
  const at = channels === 1 ? "" : " + ch";
  block(w, `for (let o = 0; o < ${outer}; o++)`, () => {
    block(w, `for (let ch = 0; ch < ${c}; ch++)`, () => {
      w.writeLine(`const a = w[${p(s, "weight")}${at}];`);
      w.writeLine(`const d = w[${p(s, "bias")}${at}];`);
      w.writeLine(`const b = (o * ${c} + ch) * ${inner};`);
      w.writeLine(`for (let i = 0; i < ${inner}; i++) y[yo + b + i] = x[xo + b + i] * a + d;`);
    });
  });
};

/** A constant tensor: its stored `value`, copied out. */
export const constant: GeneralBody<OpKind> = (s, w) => {
  w.writeLine(
    `for (let i = 0; i < ${size(s.ys)}; i++) y[yo + i] = w[${p(s, "value")} + i];`,
  );
};

/**
 * ONNX Pad (`pads`: begins, then ends): `constant` fills `value`, `reflect`
 * mirrors without repeating the border, `edge` repeats it. Output elements
 * are written in order; each axis maps its output coordinate to the input.
 */
export const pad: GeneralBody<OpKind> = (s, w) => {
  const a = s.attrs as unknown as { pads: readonly number[]; mode: string; value: number };
  const xs = s.xs[0];
  const r = xs.length;
  const xstr = stridesOf(xs);
  w.writeLine("let k = 0;");
  const level = (d: number, index: string, inside: string) => {
    if (d === r) {
      const read = `x[${index}]`;
      w.writeLine(
        `y[yo + k++] = ${inside === "" ? read : `${inside} ? ${read} : ${num(a.value)}`};`,
      );
      return;
    }
    const begin = a.pads[d];
    const n = xs[d];
    block(w, `for (let o${d} = 0; o${d} < ${s.ys[d]}; o${d}++)`, () => {
      const padded = begin > 0 || a.pads[d + r] > 0;
      w.writeLine(padded ? `let c${d} = o${d} - ${begin};` : `const c${d} = o${d};`);
      let nextInside = inside;
      if (padded) {
        if (a.mode === "edge") w.writeLine(`c${d} = Math.min(Math.max(c${d}, 0), ${n - 1});`);
        else if (a.mode === "reflect") {
          if (n === 1) w.writeLine(`c${d} = 0;`);
          else {
            const period = 2 * (n - 1);
            w.writeLine(`c${d} = ((c${d} % ${period}) + ${period}) % ${period};`);
            w.writeLine(`if (c${d} >= ${n}) c${d} = ${period} - c${d};`);
          }
        } else {
          w.writeLine(`const in${d} = c${d} >= 0 && c${d} < ${n};`);
          nextInside = inside === "" ? `in${d}` : `${inside} && in${d}`;
          w.writeLine(`if (!in${d}) c${d} = 0;`);
        }
      }
      w.writeLine(`const x${d} = ${index} + c${d}${xstr[d] === 1 ? "" : ` * ${xstr[d]}`};`);
      level(d + 1, `x${d}`, nextInside);
    });
  };
  // The constant case reads a clamped position and discards it outside the input.
  level(0, "xo", "");
};

/** Mean, sum or max over `axes` (the others kept in order; `keepDims` only changes the shape). */
export const reduce: GeneralBody<OpKind> = (s, w) => {
  const a = s.attrs as unknown as { op: "mean" | "sum" | "max"; axes: readonly number[] };
  const xs = s.xs[0];
  const axes = new Set(a.axes.map((v) => (v < 0 ? v + xs.length : v)));
  const xstr = stridesOf(xs);
  const kept = xs.map((_, d) => d).filter((d) => !axes.has(d));
  const reduced = xs.map((_, d) => d).filter((d) => axes.has(d));
  const count = size(reduced.map((d) => xs[d]));
  w.writeLine("let k = 0;");
  nest(w, kept.map((d) => xs[d]), [kept.map((d) => xstr[d])], ["xo"], ([base]) => {
    w.writeLine(`let acc = ${a.op === "max" ? "-Infinity" : "0"};`);
    nest(w, reduced.map((d) => xs[d]), [reduced.map((d) => xstr[d])], [base], ([xi]) => {
      w.writeLine(a.op === "max" ? `acc = Math.max(acc, x[${xi}]);` : `acc += x[${xi}];`);
    }, "r");
    w.writeLine(`y[yo + k++] = ${a.op === "mean" ? `acc / ${count}` : "acc"};`);
  }, "k");
};

/**
 * The loop nest of numpy matmul `[..., M, K] x [..., K, N]` (batch axes
 * broadcast, a 1-D operand promoted to a row or a column): `m`, `k`, `n`, the
 * broadcast batch shape and, per batch axis, the element steps of the left
 * operand, the right one and the output. Both targets' kernels walk it.
 */
export function matmulLayout(xs: readonly (readonly number[])[]): {
  m: number;
  k: number;
  n: number;
  batch: number[];
  steps: number[][];
} {
  const [a0, b0] = xs;
  const a = a0.length === 1 ? [1, a0[0]] : a0;
  const b = b0.length === 1 ? [b0[0], 1] : b0;
  const [m, k] = a.slice(-2);
  const n = b[b.length - 1];
  const ab = a.slice(0, -2);
  const bb = b.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const batch = Array.from(
    { length: rank },
    (_, d) => Math.max(ab[d - (rank - ab.length)] ?? 1, bb[d - (rank - bb.length)] ?? 1),
  );
  const steps = [
    broadcastSteps(ab, batch).map((v) => v * m * k),
    broadcastSteps(bb, batch).map((v) => v * k * n),
    stridesOf(batch).map((v) => v * m * n),
  ];
  return { m, k, n, batch, steps };
}

/** numpy matmul: `[..., M, K] x [..., K, N]`, batch axes broadcast, 1-D operands promoted. */
export const matmul: GeneralBody<OpKind> = (s, w) => {
  const { m, k, n, batch, steps } = matmulLayout(s.xs);
  nest(w, batch, steps, ["xo", "ro", "yo"], ([xb, rb, yb]) => {
    block(w, `for (let i = 0; i < ${m}; i++)`, () => {
      block(w, `for (let j = 0; j < ${n}; j++)`, () => {
        w.writeLine("let acc = 0;");
        w.writeLine(
          `for (let t = 0; t < ${k}; t++) acc += x[${xb} + i * ${k} + t] * r[${rb} + t * ${n} + j];`,
        );
        w.writeLine(`y[${yb} + i * ${n} + j] = acc;`);
      });
    });
  });
};

/** Mean and variance (biased) of `count` elements from `base`, into `mean` and `inv`. */
function moments(w: CodeBlockWriter, base: string, count: number, eps: number): void {
  w.writeLine("let sum = 0;");
  w.writeLine(`for (let i = 0; i < ${count}; i++) sum += x[${base} + i];`);
  w.writeLine(`const mean = sum / ${count};`);
  w.writeLine("let sq = 0;");
  block(w, `for (let i = 0; i < ${count}; i++)`, () => {
    w.writeLine(`const d = x[${base} + i] - mean;`);
    w.writeLine("sq += d * d;");
  });
  w.writeLine(`const inv = 1 / Math.sqrt(sq / ${count} + ${num(eps)});`);
}

/** LayerNorm over the axes from `axis` on, weight and bias over those axes. */
export const layerNorm: GeneralBody<OpKind> = (s, w) => {
  const a = s.attrs as unknown as { axis: number; eps: number };
  const xs = s.xs[0];
  const axis = axisOf(a.axis, xs.length);
  const rows = size(xs.slice(0, axis));
  const count = size(xs.slice(axis));
  block(w, `for (let row = 0; row < ${rows}; row++)`, () => {
    w.writeLine(`const b = row * ${count};`);
    moments(w, "xo + b", count, a.eps);
    block(w, `for (let i = 0; i < ${count}; i++)`, () => {
      w.writeLine(
        `y[yo + b + i] = (x[xo + b + i] - mean) * inv * w[${p(s, "weight")} + i] + w[${
          p(s, "bias")
        } + i];`,
      );
    });
  });
};

/** InstanceNorm: each `(n, c)` plane normalized, then scaled and shifted per channel. */
export const instanceNorm: GeneralBody<OpKind> = (s, w) => {
  const a = s.attrs as unknown as { eps: number };
  const [n, c] = s.xs[0];
  const plane = size(s.xs[0].slice(2));
  block(w, `for (let pl = 0; pl < ${n * c}; pl++)`, () => {
    w.writeLine(`const ch = pl % ${c};`);
    w.writeLine(`const b = pl * ${plane};`);
    moments(w, "xo + b", plane, a.eps);
    w.writeLine(`const g = w[${p(s, "weight")} + ch] * inv;`);
    w.writeLine(`const h = w[${p(s, "bias")} + ch];`);
    w.writeLine(
      `for (let i = 0; i < ${plane}; i++) y[yo + b + i] = (x[xo + b + i] - mean) * g + h;`,
    );
  });
};

/**
 * Transposed convolution (weight `[Cin, Cout / groups, kh, kw]`): every input
 * element scatters into the outputs it reaches, `oy = iy * sh - top + ky * dh`.
 */
export const convTranspose2d: GeneralBody<OpKind> = (s, w) => {
  const a = s.attrs as unknown as {
    inChannels: number;
    outChannels: number;
    kernel: readonly [number, number];
    stride: readonly [number, number];
    padding: readonly number[];
    dilation: readonly [number, number];
    groups: number;
    bias: boolean;
  };
  const [n, cin, h, wd] = s.xs[0];
  const [, cout, oh, ow] = s.ys;
  const [kh, kw] = a.kernel;
  const ipg = cin / a.groups;
  const opg = cout / a.groups;
  block(w, `for (let b = 0; b < ${n}; b++)`, () => {
    block(w, `for (let oc = 0; oc < ${cout}; oc++)`, () => {
      w.writeLine(`const init = ${a.bias ? `w[${p(s, "bias")} + oc]` : "0"};`);
      w.writeLine(`const yp = yo + (b * ${cout} + oc) * ${oh * ow};`);
      w.writeLine(`for (let i = 0; i < ${oh * ow}; i++) y[yp + i] = init;`);
    });
    block(w, `for (let ic = 0; ic < ${cin}; ic++)`, () => {
      w.writeLine(`const g = Math.floor(ic / ${ipg});`);
      w.writeLine(`const xp = xo + (b * ${cin} + ic) * ${h * wd};`);
      block(w, `for (let j = 0; j < ${opg}; j++)`, () => {
        w.writeLine(`const yp = yo + (b * ${cout} + g * ${opg} + j) * ${oh * ow};`);
        w.writeLine(`const wp = ${p(s, "weight")} + (ic * ${opg} + j) * ${kh * kw};`);
        block(w, `for (let iy = 0; iy < ${h}; iy++)`, () => {
          block(w, `for (let ix = 0; ix < ${wd}; ix++)`, () => {
            w.writeLine(`const v = x[xp + iy * ${wd} + ix];`);
            block(w, `for (let ky = 0; ky < ${kh}; ky++)`, () => {
              w.writeLine(
                `const oy = iy * ${a.stride[0]} - ${a.padding[0]} + ky * ${a.dilation[0]};`,
              );
              w.writeLine(`if (oy < 0 || oy >= ${oh}) continue;`);
              block(w, `for (let kx = 0; kx < ${kw}; kx++)`, () => {
                w.writeLine(
                  `const ox = ix * ${a.stride[1]} - ${a.padding[1]} + kx * ${a.dilation[1]};`,
                );
                w.writeLine(`if (ox < 0 || ox >= ${ow}) continue;`);
                w.writeLine(`y[yp + oy * ${ow} + ox] += v * w[wp + ky * ${kw} + kx];`);
              });
            });
          });
        });
      });
    });
  });
};

/**
 * The input coordinate of output position `o` on an axis resized from `n` to
 * `m`: the op record's rule (lib/ops/resize.ts), so kernel and reference agree.
 */
export function resizeCoordinate(
  mode: string,
  o: number,
  n: number,
  m: number,
  scale?: number,
): number {
  return sourceCoordinate(o, n, m, mode as CoordinateTransformation, scale);
}

/** ONNX nearest rounding of a coordinate, as the op record rounds it. */
export function nearestIndex(mode: string, v: number, n: number): number {
  return nearestOf(v, n, mode as NearestMode);
}

/**
 * Resize (nearest or multi-linear) with every source index and weight
 * computed here and baked into the kernel as tables, one per resized axis.
 */
export const resize: GeneralBody<OpKind> = (s, w) => {
  const a = s.attrs as unknown as {
    mode: string;
    coordinateTransformation: string;
    nearestMode: string;
    scales?: readonly number[];
  };
  const xs = s.xs[0];
  const xstr = stridesOf(xs);
  const resized = xs.map((n, d) => n !== s.ys[d] || (a.scales?.[d] ?? 1) !== 1);
  const linear = a.mode === "linear";
  xs.forEach((n, d) => {
    if (!resized[d]) return;
    const m = s.ys[d];
    const coords = Array.from(
      { length: m },
      (_, o) => resizeCoordinate(a.coordinateTransformation, o, n, m, a.scales?.[d]),
    );
    if (!linear) {
      const idx = coords.map((v) => nearestIndex(a.nearestMode, v, n) * xstr[d]);
      w.writeLine(`const n${d} = [${idx.join(", ")}];`);
      return;
    }
    const lo: number[] = [];
    const hi: number[] = [];
    const f: number[] = [];
    for (const v of coords) {
      const c = Math.min(Math.max(v, 0), n - 1);
      const i0 = Math.floor(c);
      lo.push(i0 * xstr[d]);
      hi.push(Math.min(i0 + 1, n - 1) * xstr[d]);
      f.push(c - i0);
    }
    w.writeLine(`const l${d} = [${lo.join(", ")}];`);
    w.writeLine(`const h${d} = [${hi.join(", ")}];`);
    w.writeLine(`const f${d} = [${f.join(", ")}];`);
  });
  w.writeLine("let k = 0;");
  const linearAxes = xs.map((_, d) => d).filter((d) => linear && resized[d]);
  const level = (d: number, index: string) => {
    if (d === xs.length) {
      if (linearAxes.length === 0) {
        w.writeLine(`y[yo + k++] = x[${index}];`);
        return;
      }
      // Every corner of the cell: each resized axis picks its low or high neighbour.
      const terms: string[] = [];
      for (let mask = 0; mask < 1 << linearAxes.length; mask++) {
        const offs: string[] = [];
        const weights: string[] = [];
        linearAxes.forEach((ax, bit) => {
          const high = (mask >> bit) & 1;
          offs.push(high ? `h${ax}[o${ax}]` : `l${ax}[o${ax}]`);
          weights.push(high ? `f${ax}[o${ax}]` : `(1 - f${ax}[o${ax}])`);
        });
        terms.push(`${weights.join(" * ")} * x[${index} + ${offs.join(" + ")}]`);
      }
      w.writeLine(`y[yo + k++] = ${terms.join(" + ")};`);
      return;
    }
    block(w, `for (let o${d} = 0; o${d} < ${s.ys[d]}; o${d}++)`, () => {
      let next = index;
      if (!resized[d]) {
        w.writeLine(`const x${d} = ${index} + o${d}${xstr[d] === 1 ? "" : ` * ${xstr[d]}`};`);
        next = `x${d}`;
      } else if (!linear) {
        w.writeLine(`const x${d} = ${index} + n${d}[o${d}];`);
        next = `x${d}`;
      }
      level(d + 1, next);
    });
  };
  level(0, "xo");
};

/**
 * The kernel body of every op kind. Keyed by `OpKind`: a kind without an
 * entry does not compile.
 */
export const GENERAL_KERNELS = {
  conv2d,
  batch_norm: batchNorm,
  relu: unaryOf("relu"),
  relu6: unaryOf("relu6"),
  clip: unaryOf("clip"),
  hardswish: unaryOf("hardswish"),
  hardsigmoid: unaryOf("hardsigmoid"),
  sigmoid: unaryOf("sigmoid"),
  add: binaryOf("add"),
  mul: binaryOf("mul"),
  concat: concatPart,
  split,
  channel_shuffle: channelShuffle,
  max_pool: pool(true),
  avg_pool: pool(false),
  global_avg_pool: globalPool(false),
  flatten: copyAll,
  linear,
  dropout: copyAll,
  softmax,
  transpose,
  reshape: copyAll,
  slice,
  gather,
  sub: binaryOf("sub"),
  div: binaryOf("div"),
  pow: binaryOf("pow"),
  max: binaryOf("max"),
  min: binaryOf("min"),
  exp: unaryOf("exp"),
  log: unaryOf("log"),
  tanh: unaryOf("tanh"),
  sqrt: unaryOf("sqrt"),
  reciprocal: unaryOf("reciprocal"),
  neg: unaryOf("neg"),
  abs: unaryOf("abs"),
  erf: unaryOf("erf"),
  softplus: unaryOf("softplus"),
  elu: unaryOf("elu"),
  leaky_relu: unaryOf("leaky_relu"),
  silu: unaryOf("silu"),
  prelu,
  affine,
  const: constant,
  pad,
  global_max_pool: globalPool(true),
  reduce,
  resize,
  matmul,
  conv_transpose2d: convTranspose2d,
  layer_norm: layerNorm,
  instance_norm: instanceNorm,
} satisfies { [K in OpKind]: GeneralBody<K> };

/** Writes the body of `spec` from {@link GENERAL_KERNELS}. */
export function writeGeneralBody(spec: GeneralSpec, w: CodeBlockWriter): void {
  (GENERAL_KERNELS[spec.op] as GeneralBody<OpKind>)(spec as GeneralSpec & { attrs: never }, w);
}

/** The general emitter: takes packed weights and a second operand only where the op has them. */
export const generalEmitter: Emitter<GeneralSpec> = {
  describe: (s) =>
    `general ${s.op} kernel, ${s.xs.map((x) => `[${x.join(", ")}]`).join(" and ")} to [${
      s.ys.join(", ")
    }]`,
  weighted: true,
  second: (s) => s.xs.length > 1,
  body: writeGeneralBody,
};

/** Sample shape helper for callers: the shape a kernel sees of a tensor. */
export function sampleShape(shape: Shape, batch: number): Shape {
  // A broadcast constant without the batch axis is whole in every call.
  return batch > 1 && shape[0] === batch ? [1, ...shape.slice(1)] : [...shape];
}
