/**
 * First result: the wall time from process start to the first output, the
 * same way for every runtime, as a user's program sees it. Each sample is a
 * fresh `deno run` process (bench/first_result_child.ts) that imports the
 * runtime, loads the model from what a user ships and runs one inference:
 *
 * - our generated modules: the `--emit js` file, written beforehand (the
 *   module import, its weights decode, WebAssembly compile and the first
 *   inference are counted; generating the source is not, as for a user);
 * - onnxruntime-node and onnxruntime-web: the `.onnx` file, written beforehand
 *   (package import, native library or WebAssembly load, session creation,
 *   first inference; exporting the ONNX is not counted);
 * - tfjs and the reference executor, which load from a graph: building the
 *   zoo graph and its seeded weights is left out, the rest counted.
 *
 * The first process per runtime is untimed: it fills Deno's caches for the
 * files it loads (dependency analysis, V8's code cache), as a user's first
 * run does once, so the timed runs see what every later run sees. That
 * first, cold run's time is kept too (`coldMs`). The timed runs go
 * round-robin over the runtimes; the figure is their median.
 *
 * @module
 */

import { compile } from "../codegen/compile.ts";
import { exportOnnx } from "../interop/onnx_export.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { numel } from "../lib/ir/ops.ts";
import type { Knobs } from "../lib/models/registry.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import type { FirstResultRequest } from "./first_result_child.ts";
import { median } from "./stats.ts";

/** One runtime's first-result requests and where its figures go. */
export interface FirstResultJob {
  runtime: string;
  request: FirstResultRequest;
}

/** A runtime's first-result figures, ms since its process started. */
export interface FirstResultFigures {
  /** Median of the timed runs (caches warm). */
  ms?: number;
  /** The untimed first run (the caches of a new artifact cold). */
  coldMs?: number;
  /** Every timed run. */
  runs: number[];
  error?: string;
}

/** The zoo model a job loads: its name and knobs, graph and seeded weights. */
export interface FirstResultModel {
  model: string;
  knobs: Knobs;
  graph: Graph;
  weights: Weights;
}

/**
 * The first-result job of `runtime` on `m`, its artifact (a generated
 * module's `--emit js` file, an `.onnx` file) written into `dir`; undefined
 * for the reference executor, an oracle rather than a runtime to ship,
 * whose first result is not measured.
 */
export async function firstResultJob(
  runtime: string,
  m: FirstResultModel,
  dir: string,
): Promise<FirstResultJob | undefined> {
  const stem = `${dir}/${m.model}.${runtime}`;
  if (runtime === "reference") return undefined;
  if (runtime.startsWith("generated")) {
    const target = runtime === "generated" ? "ts" : "wasm";
    const threads = runtime === "generated-wasm-2t" ? 2 : 1;
    const { source } = compile(m.graph, m.weights, {
      target,
      emit: "js",
      wasm: target === "wasm" ? { threads } : undefined,
    });
    await Deno.writeTextFile(`${stem}.gen.js`, source);
    const inputLength = numel(m.graph.inputs[0].shape);
    return { runtime, request: { kind: "module", path: `${stem}.gen.js`, inputLength } };
  }
  if (runtime === "ort-node" || runtime === "ort-web") {
    await Deno.writeFile(`${stem}.onnx`, exportOnnx(m.graph, m.weights));
    const inputShape = [...m.graph.inputs[0].shape];
    return {
      runtime,
      request: { kind: "onnx", flavor: runtime, path: `${stem}.onnx`, inputShape },
    };
  }
  return { runtime, request: { kind: "build", runtime, model: m.model, knobs: { ...m.knobs } } };
}

const CHILD = new URL("./first_result_child.ts", import.meta.url);
const ROOT = new URL("../", import.meta.url);

/** One child process: its `ms`, or an error naming the runtime. */
async function sampleOnce(job: FirstResultJob): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD.pathname, JSON.stringify(job.request)],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
    throw new Error(err || `exit code ${out.code}`);
  }
  const ms = (JSON.parse(text) as { ms: number }).ms;
  if (!(ms > 0)) throw new Error(`Unexpected first-result reply "${text}"`);
  return ms;
}

/**
 * Measures every job's first result: one untimed (cold) process each, then
 * `runs` timed rounds, round-robin over the jobs. A job whose process fails
 * gets the error and no figure.
 */
export async function firstResults(
  jobs: readonly FirstResultJob[],
  runs: number,
  log: (line: string) => void,
): Promise<FirstResultFigures[]> {
  const figures: FirstResultFigures[] = jobs.map(() => ({ runs: [] }));
  for (const [i, job] of jobs.entries()) {
    try {
      figures[i].coldMs = await sampleOnce(job);
    } catch (e) {
      figures[i].error = e instanceof Error ? e.message : String(e);
      log(`  ${job.runtime}: first result failed: ${figures[i].error}`);
    }
  }
  for (let r = 0; r < runs; r++) {
    for (const [i, job] of jobs.entries()) {
      if (figures[i].error) continue;
      try {
        figures[i].runs.push(await sampleOnce(job));
      } catch (e) {
        figures[i].error = e instanceof Error ? e.message : String(e);
        log(`  ${job.runtime}: first result failed: ${figures[i].error}`);
      }
    }
  }
  for (const f of figures) {
    if (!f.error && f.runs.length > 0) f.ms = median(f.runs);
  }
  return figures;
}
