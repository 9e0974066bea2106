/**
 * TensorFlow.js peer: the same network built from tfjs ops (NHWC, as tfjs
 * models run) with our weights, on the pure-JS CPU backend or the WASM
 * backend (SIMD, one thread).
 *
 * What a tfjs user would write: BatchNorm folded into the convolution before
 * it (lib/runtime/fold.ts, as the tfjs converter does), convolutions as
 * `tf.fused.conv2d` / `tf.fused.depthwiseConv2d` with the bias and a following
 * ReLU / ReLU6 / sigmoid fused in, grouped convolutions as one conv per group
 * on channel slices joined by concat (tfjs has no `groups`), channel shuffle as
 * reshape-transpose-reshape, and the classifier as a fused matMul.
 *
 * Layouts: PyTorch conv weights `[O, I/g, kh, kw]` become tfjs filters
 * `[kh, kw, I/g, O]` (`[kh, kw, C, multiplier]` for depthwise); linear
 * weights `[out, in]` become `[in, out]`; the NCHW input is transposed to NHWC
 * once, outside the timed call.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import * as tfc from "@tensorflow/tfjs-converter";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type { AnyNode, Graph } from "../../lib/ir/graph.ts";
import { type Conv2dAttrs, formatShape, type Pads, type Pool2dAttrs } from "../../lib/ir/ops.ts";
import { inferShapes } from "../../lib/analysis/shapes.ts";
import type { Weights } from "../../lib/runtime/weights.ts";
import { foldBatchNorm } from "../../lib/runtime/fold.ts";
import type { GraphModelJson } from "../../interop/tfjs_graph.ts";
import type { Runner } from "./runner.ts";

/** The two tfjs backends we compare against. */
export type TfjsBackend = "cpu" | "wasm";

let wasmPathsSet = false;

/**
 * Activates a tfjs backend: `cpu`, or `wasm` with its `.wasm` files read from
 * the npm package's `dist/` folder, SIMD on and threads off (its pthread
 * workers cannot start under Deno).
 */
export async function useTfjsBackend(backend: TfjsBackend): Promise<void> {
  // Production mode, as a deployment runs: no per-op correctness checks, no console banners.
  if (!tf.env().getBool("PROD")) tf.enableProdMode();
  if (backend === "wasm" && !wasmPathsSet) {
    const dist = new URL("./", import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
    if (dist.protocol !== "file:") {
      throw new Error(
        `Cannot load the tfjs WASM binaries from "${dist.href}": expected a file URL`,
      );
    }
    setWasmPaths(decodeURIComponent(dist.pathname));
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    wasmPathsSet = true;
  }
  if (tf.getBackend() !== backend) {
    if (!(await tf.setBackend(backend))) {
      throw new Error(`Cannot start the tfjs "${backend}" backend`);
    }
  }
  await tf.ready();
}

/** Versions and flags of the tfjs build in use, for the report. */
export function tfjsInfo(): { version: string; wasmSimd: boolean; wasmThreads: boolean } {
  return {
    version: tf.version_core,
    wasmSimd: tf.env().getBool("WASM_HAS_SIMD_SUPPORT"),
    wasmThreads: tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT"),
  };
}

type Act = "linear" | "relu" | "relu6" | "sigmoid";
const FUSABLE: Partial<Record<AnyNode["kind"], Act>> = {
  relu: "relu",
  relu6: "relu6",
  sigmoid: "sigmoid",
};

/** OIHW weights of one conv group -> HWIO (`[kh, kw, I/g, O/g]`). */
function hwio(w: Float32Array, a: Conv2dAttrs, group: number): Float32Array {
  const [kh, kw] = a.kernel;
  const ig = a.inChannels / a.groups;
  const og = a.outChannels / a.groups;
  const out = new Float32Array(kh * kw * ig * og);
  for (let o = 0; o < og; o++) {
    for (let i = 0; i < ig; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          out[((y * kw + x) * ig + i) * og + o] =
            w[(((group * og + o) * ig + i) * kh + y) * kw + x];
        }
      }
    }
  }
  return out;
}

/** Depthwise `[C*m, 1, kh, kw]` -> tfjs `[kh, kw, C, m]` (output channel c*m + j in both). */
function depthwiseFilter(w: Float32Array, a: Conv2dAttrs): Float32Array {
  const [kh, kw] = a.kernel;
  const c = a.inChannels;
  const m = a.outChannels / c;
  const out = new Float32Array(kh * kw * c * m);
  for (let ch = 0; ch < c; ch++) {
    for (let j = 0; j < m; j++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          out[((y * kw + x) * c + ch) * m + j] = w[((ch * m + j) * kh + y) * kw + x];
        }
      }
    }
  }
  return out;
}

function symmetric(p: Pads): boolean {
  return p[0] === p[1] && p[1] === p[2] && p[2] === p[3];
}

function padNhwc(x: tf.Tensor4D, p: Pads, value = 0): tf.Tensor4D {
  if (p.every((v) => v === 0)) return x;
  return tf.pad(x, [[0, 0], [p[0], p[2]], [p[1], p[3]], [0, 0]], value);
}

/** NCHW data -> NHWC data. */
export function nchwToNhwc(data: Float32Array, shape: readonly number[]): Float32Array {
  const [n, c, h, w] = shape;
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h * w; i++) {
        out[(b * h * w + i) * c + ch] = data[(b * c + ch) * h * w + i];
      }
    }
  }
  return out;
}

type Step = (env: Map<string, tf.Tensor>) => tf.Tensor;

/**
 * Builds the network from tfjs ops on the active backend and returns a
 * runner taking NCHW input (transposed once per call outside the timing of
 * {@link Runner.run} via {@link Runner.prepare}).
 */
export async function tfjsRunner(
  graph: Graph,
  weights: Weights,
  backend: TfjsBackend,
): Promise<Runner> {
  await useTfjsBackend(backend);
  const folded = foldBatchNorm(graph, weights);
  const g = folded.graph;
  const wts = folded.weights;
  const shaped = inferShapes(g);
  const readers = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const fusedInto = new Map<string, string>(); // activation node -> conv/linear it is fused into
  const actOf = new Map<string, Act>();
  for (const n of g.nodes) {
    if (n.kind !== "conv2d" && n.kind !== "linear") continue;
    if (n.name === g.outputs[0].node || readers.get(n.name) !== 1) continue;
    const next = g.nodes.find((m) => m.inputs.includes(n.name));
    const act = next && FUSABLE[next.kind];
    if (next && act) {
      fusedInto.set(next.name, n.name);
      actOf.set(n.name, act);
    }
  }
  const kept: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    kept.push(t);
    return t;
  };
  const param = (key: string): Float32Array => {
    const v = wts.get(key);
    if (!v) throw new RangeError(`Missing weight "${key}" for the tfjs ${backend} network`);
    return v;
  };

  const steps: { name: string; step: Step }[] = [];
  for (const s of shaped.nodes) {
    const n = s.node;
    const inp = (env: Map<string, tf.Tensor>, i = 0) => env.get(n.inputs[i])!;
    if (fusedInto.has(n.name)) {
      const src = fusedInto.get(n.name)!;
      steps.push({ name: n.name, step: (env) => env.get(src)! });
      continue;
    }
    switch (n.kind) {
      case "conv2d": {
        const a = n.attrs;
        const act = actOf.get(n.name) ?? "linear";
        const bias = a.bias ? keep(tf.tensor1d(param(`${n.name}.bias`))) : undefined;
        const w = param(`${n.name}.weight`);
        const strides: [number, number] = [a.stride[0], a.stride[1]];
        const dilations: [number, number] = [a.dilation[0], a.dilation[1]];
        const sym = symmetric(a.padding);
        const pad = sym ? a.padding[0] : 0;
        const prepad = (x: tf.Tensor4D) => (sym ? x : padNhwc(x, a.padding));
        if (a.groups === 1) {
          const filter = keep(tf.tensor4d(hwio(w, a, 0), [
            a.kernel[0],
            a.kernel[1],
            a.inChannels,
            a.outChannels,
          ]));
          steps.push({
            name: n.name,
            step: (env) =>
              tf.fused.conv2d({
                x: prepad(inp(env) as tf.Tensor4D),
                filter,
                strides,
                pad,
                dilations,
                bias,
                activation: act,
              }),
          });
        } else if (a.groups === a.inChannels) {
          const filter = keep(tf.tensor4d(depthwiseFilter(w, a), [
            a.kernel[0],
            a.kernel[1],
            a.inChannels,
            a.outChannels / a.inChannels,
          ]));
          steps.push({
            name: n.name,
            step: (env) =>
              tf.fused.depthwiseConv2d({
                x: prepad(inp(env) as tf.Tensor4D),
                filter,
                strides,
                pad,
                dilations,
                bias,
                activation: act,
              }),
          });
        } else {
          // No `groups` in tfjs: one conv per channel slice, joined along channels.
          const ig = a.inChannels / a.groups;
          const og = a.outChannels / a.groups;
          const filters = Array.from(
            { length: a.groups },
            (_, gi) => keep(tf.tensor4d(hwio(w, a, gi), [a.kernel[0], a.kernel[1], ig, og])),
          );
          const biases = bias
            ? Array.from({ length: a.groups }, (_, gi) => keep(tf.slice(bias, gi * og, og)))
            : [];
          steps.push({
            name: n.name,
            step: (env) => {
              const x = prepad(inp(env) as tf.Tensor4D);
              const parts = tf.split(x, a.groups, 3);
              return tf.concat(
                parts.map((p, gi) =>
                  tf.fused.conv2d({
                    x: p as tf.Tensor4D,
                    filter: filters[gi],
                    strides,
                    pad,
                    dilations,
                    bias: bias ? biases[gi] : undefined,
                    activation: act,
                  })
                ),
                3,
              );
            },
          });
        }
        break;
      }
      case "batch_norm": {
        // Only reached when no conv precedes it (fold.ts folds the rest).
        const gamma = param(`${n.name}.weight`);
        const beta = param(`${n.name}.bias`);
        const mean = param(`${n.name}.running_mean`);
        const variance = param(`${n.name}.running_var`);
        const c = n.attrs.channels;
        const scale = new Float32Array(c);
        const shift = new Float32Array(c);
        for (let i = 0; i < c; i++) {
          scale[i] = gamma[i] / Math.sqrt(variance[i] + n.attrs.eps);
          shift[i] = beta[i] - mean[i] * scale[i];
        }
        const sc = keep(tf.tensor1d(scale));
        const sh = keep(tf.tensor1d(shift));
        steps.push({ name: n.name, step: (env) => tf.add(tf.mul(inp(env), sc), sh) });
        break;
      }
      case "relu":
        steps.push({ name: n.name, step: (env) => tf.relu(inp(env)) });
        break;
      case "relu6":
        steps.push({ name: n.name, step: (env) => tf.relu6(inp(env)) });
        break;
      case "clip": {
        const { min, max } = n.attrs;
        steps.push({ name: n.name, step: (env) => tf.clipByValue(inp(env), min, max) });
        break;
      }
      case "hardswish":
        // x * relu6(x + 3) / 6 (torchvision's Hardswish)
        steps.push({
          name: n.name,
          step: (env) => {
            const x = inp(env);
            return tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6));
          },
        });
        break;
      case "hardsigmoid": {
        const { alpha, beta } = n.attrs;
        steps.push({
          name: n.name,
          step: (env) => tf.clipByValue(tf.add(tf.mul(inp(env), alpha), beta), 0, 1),
        });
        break;
      }
      case "sigmoid":
        steps.push({ name: n.name, step: (env) => tf.sigmoid(inp(env)) });
        break;
      case "add":
        steps.push({ name: n.name, step: (env) => tf.add(inp(env, 0), inp(env, 1)) });
        break;
      case "mul":
        steps.push({ name: n.name, step: (env) => tf.mul(inp(env, 0), inp(env, 1)) });
        break;
      case "concat":
        steps.push({
          name: n.name,
          step: (env) => tf.concat(n.inputs.map((i) => env.get(i)!), 3),
        });
        break;
      case "split": {
        const { offset, size: channels } = n.attrs;
        steps.push({
          name: n.name,
          step: (env) => tf.slice(inp(env), [0, 0, 0, offset], [-1, -1, -1, channels]),
        });
        break;
      }
      case "channel_shuffle": {
        const g = n.attrs.groups;
        const [nb, c, h, w] = s.shape;
        steps.push({
          name: n.name,
          step: (env) =>
            tf.reshape(
              tf.transpose(tf.reshape(inp(env), [nb, h, w, g, c / g]), [0, 1, 2, 4, 3]),
              [nb, h, w, c],
            ),
        });
        break;
      }
      case "max_pool":
      case "avg_pool":
        steps.push({ name: n.name, step: poolStep(n.kind, n.attrs, n.inputs[0]) });
        break;
      case "global_avg_pool":
        steps.push({ name: n.name, step: (env) => tf.mean(inp(env), [1, 2], true) });
        break;
      case "flatten": {
        const x = s.inputShapes[0];
        const flat = x.slice(1).reduce((a, b) => a * b, 1);
        // NHWC -> NCHW first so features come in PyTorch's order (free when H = W = 1).
        const spatial = x.length === 4 && x[2] * x[3] > 1;
        steps.push({
          name: n.name,
          step: (env) =>
            tf.reshape(
              spatial ? tf.transpose(inp(env), [0, 3, 1, 2]) : inp(env),
              [x[0], flat],
            ),
        });
        break;
      }
      case "linear": {
        const a = n.attrs;
        const w = param(`${n.name}.weight`);
        const wt = new Float32Array(w.length);
        for (let o = 0; o < a.outFeatures; o++) {
          for (let i = 0; i < a.inFeatures; i++) {
            wt[i * a.outFeatures + o] = w[o * a.inFeatures + i];
          }
        }
        const b = tf.tensor2d(wt, [a.inFeatures, a.outFeatures]);
        keep(b);
        const bias = a.bias ? keep(tf.tensor1d(param(`${n.name}.bias`))) : undefined;
        const act = actOf.get(n.name) ?? "linear";
        steps.push({
          name: n.name,
          step: (env) => tf.fused.matMul({ a: inp(env) as tf.Tensor2D, b, bias, activation: act }),
        });
        break;
      }
      case "dropout":
        steps.push({ name: n.name, step: (env) => inp(env) });
        break;
      case "softmax":
        steps.push({ name: n.name, step: (env) => tf.softmax(inp(env)) });
        break;
      default:
        // The peer times the zoo's CNNs; the general ops have no tfjs step here.
        throw new Error(`The tfjs peer has no op for "${(n as AnyNode).kind}"`);
    }
  }

  const inShape = g.inputs[0].shape;
  const nhwcShape: [number, number, number, number] = [
    inShape[0],
    inShape[2],
    inShape[3],
    inShape[1],
  ];
  const expected = shaped.shapes;
  const forward = (x: Float32Array, checkShapes: boolean): Float32Array => {
    const out = tf.tidy(() => {
      const env = new Map<string, tf.Tensor>([[g.inputs[0].name, tf.tensor4d(x, nhwcShape)]]);
      for (const { name, step } of steps) {
        const t = step(env);
        env.set(name, t);
        if (checkShapes) checkShape(name, t.shape, expected.get(name)!);
      }
      return env.get(g.outputs[0].node)!;
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  };
  forward(new Float32Array(nhwcShape.reduce((a, b) => a * b, 1)), true);
  return {
    name: backend === "cpu" ? "tfjs-cpu" : "tfjs-wasm",
    prepare: (input) => nchwToNhwc(input, inShape),
    run: async (prepared) => {
      await useTfjsBackend(backend);
      return forward(prepared, false);
    },
    dispose: () => {
      for (const t of kept) t.dispose();
    },
  };
}

function poolStep(kind: "max_pool" | "avg_pool", a: Pool2dAttrs, input: string): Step {
  const k: [number, number] = [a.kernel[0], a.kernel[1]];
  const s: [number, number] = [a.stride[0], a.stride[1]];
  const rounding = a.ceilMode ? "ceil" : undefined;
  if (kind === "max_pool") {
    // tfjs skips padding in max pooling, as PyTorch does (padding acts as -inf).
    if (symmetric(a.padding)) {
      return (env) => tf.maxPool(env.get(input) as tf.Tensor4D, k, s, a.padding[0], rounding);
    }
    return (env) =>
      tf.maxPool(padNhwc(env.get(input) as tf.Tensor4D, a.padding, -Infinity), k, s, 0, rounding);
  }
  // tfjs averages over the valid part of a window; PyTorch's default counts the zero padding.
  if (a.countIncludePad) {
    return (env) =>
      tf.avgPool(padNhwc(env.get(input) as tf.Tensor4D, a.padding), k, s, 0, rounding);
  }
  if (!symmetric(a.padding)) {
    throw new RangeError(
      `The tfjs peer cannot express avg_pool with asymmetric padding [${
        a.padding.join(", ")
      }] and countIncludePad false`,
    );
  }
  return (env) => tf.avgPool(env.get(input) as tf.Tensor4D, k, s, a.padding[0], rounding);
}

function checkShape(name: string, nhwc: readonly number[], nchw: readonly number[]): void {
  const want = nchw.length === 4 ? [nchw[0], nchw[2], nchw[3], nchw[1]] : [...nchw];
  if (nhwc.length !== want.length || nhwc.some((d, i) => d !== want[i])) {
    throw new TypeError(
      `The tfjs peer computes shape ${formatShape(nhwc)} for "${name}", expected ${
        formatShape(want)
      } (NHWC)`,
    );
  }
}

/**
 * tfjs-converter's own model over the files of a `model.json` (its weight
 * shards read from the same folder), through an IO handler: the oracle our
 * reader and generated modules are compared with.
 */
export async function loadTfjsGraphModel(
  path: string,
): Promise<{ model: tfc.GraphModel; json: GraphModelJson }> {
  const json = JSON.parse(await Deno.readTextFile(path));
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const groups = json.weightsManifest as {
    paths: string[];
    weights: tf.io.WeightsManifestEntry[];
  }[];
  const shards = await Promise.all(
    groups.flatMap((g) => g.paths.map((p) => Deno.readFile(dir + p))),
  );
  const model = await tfc.loadGraphModel({
    load: () =>
      Promise.resolve({
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: groups.flatMap((g) => g.weights),
        weightData: tf.io.concatenateArrayBuffers(shards.map((s) => s.slice().buffer)),
      }),
  });
  return { model, json };
}

/** The tfjs tensor name of an output our reader names (a signature key -> `Identity:0`). */
export function tfjsOutputName(json: GraphModelJson, output: string): string {
  const sig = json.signature ?? json.userDefinedMetadata?.signature;
  return sig?.outputs?.[output]?.name ?? output;
}
