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
 * - tfjs, which loads from a graph: building the zoo graph and its seeded
 *   weights is left out, the rest counted (the reference executor, an
 *   oracle rather than a runtime to ship, is not measured).
 *
 * The first process per runtime is untimed: it fills Deno's caches for the
 * files it loads (dependency analysis, V8's code cache), as a user's first
 * run does once, so the timed runs see what every later run sees. That
 * first, cold run's time is kept too (`coldMs`). The timed runs go
 * round-robin over the runtimes; the figure is their median.
 *
 * Run directly, it times given files the same way, side by side:
 *
 * ```sh
 * deno run -A bench/first_result.ts --runs 7 build/mobilenetv1.gen.js mobilenetv1.onnx
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { compile } from "../codegen/compile.ts";
import { EXIT, guard, UsageError } from "../lib/_io.ts";
import { exportOnnx } from "../interop/onnx_export.ts";
import type { Graph } from "../lib/ir/graph.ts";
import type { Knobs } from "../lib/models/registry.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import type { FirstResultRequest } from "./first_result_child.ts";
import { generatedSetup } from "./peers/factories.ts";
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
  const generated = generatedSetup(runtime);
  if (generated) {
    const { target, threads } = generated;
    const { source } = compile(m.graph, m.weights, {
      target,
      emit: "js",
      wasm: target === "wasm" ? { threads } : undefined,
    });
    await Deno.writeTextFile(`${stem}.gen.js`, source);
    return { runtime, request: { kind: "module", path: `${stem}.gen.js` } };
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
    args: ["run", "-A", fileURLToPath(CHILD), JSON.stringify(job.request)],
    cwd: fileURLToPath(ROOT),
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

const HELP = `Usage: deno run -A bench/first_result.ts [options] FILE...

Times the first result of each FILE the way \`deno task bench\` does: fresh
\`deno run\` processes, one untimed (Deno's caches cold for a new file) and
then --runs timed ones, round-robin over the files; prints each file's median
wall time from process start to the first output, its timed runs and the
cold one, and the machine's load average.

FILE: a generated module (.js or .ts; run on an input of its inputShape),
or an .onnx file run in onnxruntime-node.

Options:
  --runs N             timed processes per file (default 5)
  --input-shape S      the .onnx files' input shape (default 1x3x224x224)
  -h, --help           this help
`;

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

/** The command line: times the given files; returns an exit code. */
export function main(args: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parseArgs({
      args,
      options: {
        runs: { type: "string", default: "5" },
        "input-shape": { type: "string", default: "1x3x224x224" },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: true,
    });
    if (values.help) {
      console.log(HELP);
      return EXIT.ok;
    }
    const runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) {
      throw new UsageError(`Invalid --runs "${values.runs}": expected a positive integer`);
    }
    const inputShape = values["input-shape"]!.split("x").map(Number);
    if (!inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new UsageError(
        `Invalid --input-shape "${values["input-shape"]}": expected sizes like 1x3x224x224`,
      );
    }
    if (positionals.length === 0) throw new UsageError("Expected at least one FILE (see --help)");
    const jobs = positionals.map((file): FirstResultJob => {
      let path: string;
      try {
        path = Deno.realPathSync(file);
      } catch {
        throw new UsageError(`Cannot read "${file}": no such file`);
      }
      if (/\.onnx$/i.test(path)) {
        return { runtime: file, request: { kind: "onnx", flavor: "ort-node", path, inputShape } };
      }
      if (/\.(js|mjs|ts)$/.test(path)) return { runtime: file, request: { kind: "module", path } };
      throw new UsageError(`Cannot time "${file}": expected a .js, .ts or .onnx file`);
    });
    console.log(`load average before: ${loadAverage()}`);
    const figures = await firstResults(jobs, runs, (l) => console.error(l));
    for (const [i, f] of figures.entries()) {
      console.log(
        f.ms === undefined
          ? `${jobs[i].runtime}: failed: ${f.error}`
          : `${jobs[i].runtime}: median ${f.ms.toFixed(0)} ms (runs ${
            f.runs.map((r) => r.toFixed(0)).join(" ")
          }; cold ${f.coldMs?.toFixed(0)} ms)`,
      );
    }
    console.log(`load average after: ${loadAverage()}`);
    return figures.every((f) => f.ms !== undefined) ? EXIT.ok : EXIT.failed;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
