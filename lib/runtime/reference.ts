/**
 * The reference executor: the living definition of what every IR op means.
 * One plain kernel per op kind, written for clarity (a direct loop over output
 * elements, sums in float64, flat NCHW index arithmetic), never for speed.
 * Generated kernels, the ONNX export and the BatchNorm fold are all correct
 * when they agree with this file within a stated tolerance.
 *
 * Semantics follow PyTorch (torch.nn.functional) wherever PyTorch has the op;
 * padding may be asymmetric (`[top, left, bottom, right]`), generalizing
 * PyTorch's rule by using the bottom/right padding where PyTorch uses its
 * single padding value.
 *
 * @module
 */

import { inferShapes } from "../analysis/shapes.ts";
import type { Graph, Node } from "../ir/graph.ts";
import { formatShape, numel, type OpKind, type Shape } from "../ir/ops.ts";
import { checkWeights, type Weights } from "./weights.ts";

/** What a reference kernel gets: the node, its input data and shapes, its output shape. */
export interface KernelArgs<K extends OpKind = OpKind> {
  node: Node<K>;
  inputs: Float32Array[];
  inputShapes: Shape[];
  /** Output shape, from shape inference. */
  shape: Shape;
  weights: Weights;
}

/** A reference kernel: returns a fresh output array of `numel(shape)` elements. */
export type Kernel<K extends OpKind = OpKind> = (args: KernelArgs<K>) => Float32Array;

/** A parameter tensor of a node; `checkWeights` ran before any kernel, so it exists. */
function param(weights: Weights, node: Node, name: string): Float32Array {
  return weights.get(`${node.name}.${name}`)!;
}

/** Applies `f` to every element of the single input. */
function elementwise(x: Float32Array, f: (v: number) => number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  return y;
}

const relu6 = (v: number) => Math.min(Math.max(v, 0), 6);

/**
 * `y[n, oc, oy, ox] = bias[oc] + sum over ic, ky, kx of
 * x[n, g * inPerGroup + ic, oy * sh - top + ky * dh, ox * sw - left + kx * dw] *
 * w[oc, ic, ky, kx]`, with `g = floor(oc / outPerGroup)` and out-of-range
 * input positions reading zero (zero padding).
 *
 * The loops run tap by tap (one weight, all output pixels) into a float64
 * plane: the same sum in the same order as a loop per output pixel, but the
 * inner loop walks memory in order, which makes whole networks run in seconds.
 */
function conv2d({ node, inputs: [x], inputShapes: [xs], shape, weights }: KernelArgs<"conv2d">) {
  const a = node.attrs;
  const [batch, inC, inH, inW] = xs;
  const [, outC, outH, outW] = shape;
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [dh, dw] = a.dilation;
  const [top, left] = a.padding;
  const inPerGroup = inC / a.groups;
  const outPerGroup = outC / a.groups;
  const w = param(weights, node, "weight");
  const bias = a.bias ? param(weights, node, "bias") : undefined;
  const y = new Float32Array(numel(shape));
  const acc = new Float64Array(outH * outW);
  for (let n = 0; n < batch; n++) {
    for (let oc = 0; oc < outC; oc++) {
      const g = Math.floor(oc / outPerGroup);
      acc.fill(bias ? bias[oc] : 0);
      for (let ic = 0; ic < inPerGroup; ic++) {
        const xPlane = (n * inC + g * inPerGroup + ic) * inH * inW;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const wv = w[((oc * inPerGroup + ic) * kh + ky) * kw + kx];
            for (let oy = 0; oy < outH; oy++) {
              const iy = oy * sh - top + ky * dh;
              if (iy < 0 || iy >= inH) continue;
              for (let ox = 0; ox < outW; ox++) {
                const ix = ox * sw - left + kx * dw;
                if (ix < 0 || ix >= inW) continue;
                acc[oy * outW + ox] += x[xPlane + iy * inW + ix] * wv;
              }
            }
          }
        }
      }
      y.set(acc, (n * outC + oc) * outH * outW);
    }
  }
  return y;
}

/** `y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]` on channel axis 1. */
function batchNorm({ node, inputs: [x], inputShapes: [xs], weights }: KernelArgs<"batch_norm">) {
  const gamma = param(weights, node, "weight");
  const beta = param(weights, node, "bias");
  const mean = param(weights, node, "running_mean");
  const variance = param(weights, node, "running_var");
  const [batch, channels] = xs;
  const inner = numel(xs) / (batch * channels); // H * W, or 1 for [N, C]
  const y = new Float32Array(x.length);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const scale = gamma[c] / Math.sqrt(variance[c] + node.attrs.eps);
      const base = (n * channels + c) * inner;
      for (let i = 0; i < inner; i++) {
        y[base + i] = (x[base + i] - mean[c]) * scale + beta[c];
      }
    }
  }
  return y;
}

/**
 * Max or average pooling, as PyTorch's CPU kernels do it. A window starts at
 * `o * stride - padBegin` and is clipped to the padded input
 * (`<= size + padEnd`, which only bites in ceil mode); max takes the largest
 * input element inside it (padding never wins), average divides the sum of
 * the input elements inside it by the clipped window size when
 * `countIncludePad`, else by the number of input elements it covers.
 */
function pool2d(
  { node, inputs: [x], inputShapes: [xs], shape }: KernelArgs<"max_pool" | "avg_pool">,
) {
  const a = node.attrs;
  const isMax = node.kind === "max_pool";
  const [batch, channels, inH, inW] = xs;
  const [, , outH, outW] = shape;
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [top, left, bottom, right] = a.padding;
  const y = new Float32Array(numel(shape));
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const plane = (n * channels + c) * inH * inW;
      for (let oy = 0; oy < outH; oy++) {
        const y0 = oy * sh - top;
        const y1 = Math.min(y0 + kh, inH + bottom);
        for (let ox = 0; ox < outW; ox++) {
          const x0 = ox * sw - left;
          const x1 = Math.min(x0 + kw, inW + right);
          const windowSize = (y1 - y0) * (x1 - x0);
          let acc = isMax ? -Infinity : 0;
          let covered = 0;
          for (let iy = Math.max(y0, 0); iy < Math.min(y1, inH); iy++) {
            for (let ix = Math.max(x0, 0); ix < Math.min(x1, inW); ix++) {
              const v = x[plane + iy * inW + ix];
              acc = isMax ? Math.max(acc, v) : acc + v;
              covered++;
            }
          }
          const out = isMax ? acc : acc / (a.countIncludePad ? windowSize : covered);
          y[((n * channels + c) * outH + oy) * outW + ox] = out;
        }
      }
    }
  }
  return y;
}

/** Mean over H and W of each `(n, c)` plane. */
function globalAvgPool({ inputs: [x], inputShapes: [xs] }: KernelArgs<"global_avg_pool">) {
  const [batch, channels, h, w] = xs;
  const y = new Float32Array(batch * channels);
  for (let p = 0; p < batch * channels; p++) {
    let sum = 0;
    for (let i = 0; i < h * w; i++) sum += x[p * h * w + i];
    y[p] = sum / (h * w);
  }
  return y;
}

/** `y[n, o] = bias[o] + sum_i x[n, i] * w[o, i]` (PyTorch layout `[out, in]`). */
function linear({ node, inputs: [x], shape, weights }: KernelArgs<"linear">) {
  const { inFeatures, outFeatures } = node.attrs;
  const w = param(weights, node, "weight");
  const bias = node.attrs.bias ? param(weights, node, "bias") : undefined;
  const batch = shape[0];
  const y = new Float32Array(batch * outFeatures);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outFeatures; o++) {
      let acc = bias ? bias[o] : 0;
      for (let i = 0; i < inFeatures; i++) acc += x[n * inFeatures + i] * w[o * inFeatures + i];
      y[n * outFeatures + o] = acc;
    }
  }
  return y;
}

/** Element-wise sum of two equally shaped tensors. */
function add({ inputs: [a, b] }: KernelArgs<"add">) {
  const y = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}

/** `y[n, c, h, w] = x[n, c, h, w] * s[n, c]`, the scale broadcast over H and W. */
function mul({ inputs: [x, s], inputShapes: [xs] }: KernelArgs<"mul">) {
  const [batch, channels, h, w] = xs;
  const y = new Float32Array(x.length);
  for (let p = 0; p < batch * channels; p++) {
    for (let i = 0; i < h * w; i++) y[p * h * w + i] = x[p * h * w + i] * s[p];
  }
  return y;
}

/** Inputs stacked along channels, in input order, per batch item. */
function concat({ inputs, inputShapes, shape }: KernelArgs<"concat">) {
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
}

/** Channels `[offset, offset + channels)` of each batch item. */
function split({ node, inputs: [x], inputShapes: [xs], shape }: KernelArgs<"split">) {
  const [batch, inC, h, w] = xs;
  const { offset, channels } = node.attrs;
  const y = new Float32Array(numel(shape));
  for (let n = 0; n < batch; n++) {
    const from = (n * inC + offset) * h * w;
    y.set(x.subarray(from, from + channels * h * w), n * channels * h * w);
  }
  return y;
}

/**
 * PyTorch's `x.view(N, g, C / g, H, W).transpose(1, 2).reshape(N, C, H, W)`:
 * output channel `i * g + j` is input channel `j * (C / g) + i`.
 */
function channelShuffle(
  { node, inputs: [x], inputShapes: [xs] }: KernelArgs<"channel_shuffle">,
) {
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
}

/**
 * Softmax over axis 1 (features of `[N, F]`, channels of `[N, C, H, W]`),
 * shifted by the maximum so `exp` cannot overflow.
 */
function softmax({ inputs: [x], inputShapes: [xs] }: KernelArgs<"softmax">) {
  const [batch, channels] = xs;
  const inner = numel(xs) / (batch * channels);
  const y = new Float32Array(x.length);
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < inner; i++) {
      const at = (c: number) => (n * channels + c) * inner + i;
      let max = -Infinity;
      for (let c = 0; c < channels; c++) max = Math.max(max, x[at(c)]);
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += Math.exp(x[at(c)] - max);
      for (let c = 0; c < channels; c++) y[at(c)] = Math.exp(x[at(c)] - max) / sum;
    }
  }
  return y;
}

/**
 * The reference kernel of every op kind; a kind missing here is a type error.
 * Each returns a fresh array and never writes its inputs.
 */
export const REFERENCE_KERNELS = {
  conv2d,
  batch_norm: batchNorm,
  relu: ({ inputs: [x] }) => elementwise(x, (v) => Math.max(v, 0)),
  relu6: ({ inputs: [x] }) => elementwise(x, relu6),
  clip: ({ node, inputs: [x] }) =>
    elementwise(x, (v) => Math.min(Math.max(v, node.attrs.min), node.attrs.max)),
  hardswish: ({ inputs: [x] }) => elementwise(x, (v) => v * relu6(v + 3) / 6),
  hardsigmoid: ({ node, inputs: [x] }) =>
    elementwise(x, (v) => Math.min(Math.max(node.attrs.alpha * v + node.attrs.beta, 0), 1)),
  sigmoid: ({ inputs: [x] }) => elementwise(x, (v) => 1 / (1 + Math.exp(-v))),
  add,
  mul,
  concat,
  split,
  channel_shuffle: channelShuffle,
  max_pool: pool2d,
  avg_pool: pool2d,
  global_avg_pool: globalAvgPool,
  // Row-major NCHW data already is the flattened [N, C * H * W] layout.
  flatten: ({ inputs: [x] }) => x.slice(),
  linear,
  // Inference: dropout is the identity.
  dropout: ({ inputs: [x] }) => x.slice(),
  softmax,
} satisfies { [K in OpKind]: Kernel<K> };

function checkInput(name: string, shape: Shape, input: unknown): asserts input is Float32Array {
  if (!(input instanceof Float32Array)) {
    throw new TypeError(
      `Input "${name}" must be a Float32Array, got ${Object.prototype.toString.call(input)}`,
    );
  }
  const expected = numel(shape);
  if (input.length !== expected) {
    throw new TypeError(
      `Input "${name}" has ${input.length} elements, expected ${formatShape(shape)} = ${expected}`,
    );
  }
}

/**
 * Matches `inputs` (a Float32Array for a one-input graph, else a record keyed
 * by input name) to the graph's inputs: every input given, no unknown name,
 * each the length of its shape.
 */
function bindInputs(
  graph: Graph,
  inputs: Float32Array | Record<string, Float32Array>,
): Map<string, Float32Array> {
  if (inputs instanceof Float32Array) {
    if (graph.inputs.length !== 1) {
      throw new TypeError(
        `Graph "${graph.name}" has ${graph.inputs.length} inputs (${
          graph.inputs.map((i) => `"${i.name}"`).join(", ")
        }); pass a record keyed by input name`,
      );
    }
    const [only] = graph.inputs;
    checkInput(only.name, only.shape, inputs);
    return new Map([[only.name, inputs]]);
  }
  const known = new Set(graph.inputs.map((i) => i.name));
  for (const name of Object.keys(inputs)) {
    if (!known.has(name)) {
      throw new TypeError(
        `Unknown input "${name}"; the graph's inputs are ${
          [...known].map((n) => `"${n}"`).join(", ")
        }`,
      );
    }
  }
  const bound = new Map<string, Float32Array>();
  for (const { name, shape } of graph.inputs) {
    if (!Object.hasOwn(inputs, name)) throw new TypeError(`Missing input "${name}"`);
    const data = inputs[name];
    checkInput(name, shape, data);
    bound.set(name, data);
  }
  return bound;
}

/**
 * Runs every node of `graph` on `input` (a Float32Array for a one-input
 * graph, else a record keyed by input name; row-major, each input's shape)
 * and returns each node's output by node name, in topological order. The
 * graph is validated and shape-checked, the weights checked (`checkWeights`)
 * and the inputs checked before any kernel runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { runReferenceAll } from "./reference.ts";
 * const b = new GraphBuilder("t", [1, 2, 1, 2]);
 * const g = b.build(b.relu6(b.channelShuffle(b.input, 2, "shuffle"), "act"));
 * const out = runReferenceAll(g, new Map(), new Float32Array([-1, 7, 3, 4]));
 * // channel 0 = [-1, 7], channel 1 = [3, 4]; with 2 groups of 1 the order is unchanged
 * assert.deepEqual([...out.get("shuffle")!], [-1, 7, 3, 4]);
 * assert.deepEqual([...out.get("act")!], [0, 6, 3, 4]);
 * ```
 */
export function runReferenceAll(
  graph: Graph,
  weights: Weights,
  input: Float32Array | Record<string, Float32Array>,
): Map<string, Float32Array> {
  const shaped = inferShapes(graph);
  checkWeights(graph, weights);
  const values = bindInputs(graph, input);
  const outputs = new Map<string, Float32Array>();
  for (const { node, inputShapes, shape } of shaped.nodes) {
    // The table is keyed by kind, so this kernel matches this node's attrs.
    const kernel = REFERENCE_KERNELS[node.kind] as Kernel;
    const inputs = node.inputs.map((name) => values.get(name)!);
    const out = kernel({ node, inputs, inputShapes, shape, weights });
    values.set(node.name, out);
    outputs.set(node.name, out);
  }
  return outputs;
}

/**
 * Runs `graph` on `inputs` (a Float32Array for a one-input graph, else a
 * record keyed by input name) and returns every graph output keyed by its
 * output name. An output that is a graph input is returned as a copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { runReferenceOutputs } from "./reference.ts";
 * const b = new GraphBuilder("t", [1, 2]);
 * const y = b.addInput("y", [1, 2]);
 * const sum = b.add("add", {}, [b.input, y], "sum");
 * const g = b.build({ sum, relu: b.relu(sum, "relu") });
 * const out = runReferenceOutputs(g, new Map(), {
 *   input: new Float32Array([1, -5]),
 *   y: new Float32Array([2, 3]),
 * });
 * assert.deepEqual([...out.sum], [3, -2]);
 * assert.deepEqual([...out.relu], [3, 0]);
 * ```
 */
export function runReferenceOutputs(
  graph: Graph,
  weights: Weights,
  inputs: Float32Array | Record<string, Float32Array>,
): Record<string, Float32Array> {
  const values = runReferenceAll(graph, weights, inputs);
  const given = bindInputs(graph, inputs);
  const result: Record<string, Float32Array> = {};
  for (const { name, node } of graph.outputs) {
    result[name] = values.get(node) ?? given.get(node)!.slice();
  }
  return result;
}

/**
 * Runs `graph` on `input` and returns the data of its primary output
 * (`graph.outputs[0]`; for a classifier, `[N, classes]` logits, row-major).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { runReference } from "./reference.ts";
 * const b = new GraphBuilder("t", [1, 1, 2, 2]);
 * const g = b.build(b.linear(b.flatten(b.input, "flat"), { out: 1 }, "fc"));
 * const w = new Map([
 *   ["fc.weight", new Float32Array([1, 2, 3, 4])],
 *   ["fc.bias", new Float32Array([0.5])],
 * ]);
 * // 1*1 + 2*1 + 3*1 + 4*1 + 0.5
 * assert.deepEqual([...runReference(g, w, new Float32Array([1, 1, 1, 1]))], [10.5]);
 * assert.throws(
 *   () => runReference(g, w, new Float32Array(3)),
 *   /Input "input" has 3 elements, expected 1x1x2x2 = 4/,
 * );
 * ```
 */
export function runReference(
  graph: Graph,
  weights: Weights,
  input: Float32Array | Record<string, Float32Array>,
): Float32Array {
  const outputs = runReferenceAll(graph, weights, input);
  const primary = graph.outputs[0].node;
  const out = outputs.get(primary);
  if (out) return out;
  return bindInputs(graph, input).get(primary)!.slice();
}
