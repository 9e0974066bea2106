/**
 * The model benchmark: for one zoo model, load the network in every runtime
 * (same graph, same weights, same input), check each output against the
 * reference executor, then time the ones that passed, round-robin, each
 * runtime in its own worker (bench/worker.ts).
 *
 * @module
 */

import { inferShapes } from "../lib/analysis/shapes.ts";
import { estimateCost, sumCosts } from "../lib/analysis/cost.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { zoo } from "../lib/models/zoo.ts";
import type { Knobs } from "../lib/models/registry.ts";
import { runReference } from "../lib/runtime/reference.ts";
import { randomInput } from "../lib/runtime/tensor.ts";
import { randomWeights, type Weights } from "../lib/runtime/weights.ts";
import { RemoteRuntime } from "./remote.ts";
import { type FirstResultJob, firstResultJob, firstResults } from "./first_result.ts";
import { INPUT_SEED, WEIGHT_SEED } from "./seeds.ts";
import type { ModelResult, RuntimeResult } from "./results.ts";
import { gflops } from "./stats.ts";
import { checkOutput, timeRoundRobin } from "./timing.ts";

export { INPUT_SEED, WEIGHT_SEED };

/** A zoo model to benchmark. */
export interface ModelSpec {
  model: string;
  knobs: Knobs;
  label: string;
}

/** The six benchmarked networks, all at 224, 1000 classes. */
export const BENCH_MODELS: readonly ModelSpec[] = [
  { model: "shufflenetv2", knobs: { width: 1 }, label: "ShuffleNetV2 1.0" },
  { model: "mobilenetv2", knobs: { width: 1 }, label: "MobileNetV2 1.0" },
  { model: "mobilenetv1", knobs: { width: 1 }, label: "MobileNetV1 1.0" },
  { model: "mobilenetv3_small", knobs: {}, label: "MobileNetV3-Small" },
  { model: "squeezenet1_1", knobs: {}, label: "SqueezeNet 1.1" },
  { model: "shufflenetv1", knobs: { groups: 3, width: 1 }, label: "ShuffleNet V1 1x g=3" },
];

/** A built model with its weights, input and oracle output. */
export interface PreparedModel {
  spec: ModelSpec;
  graph: Graph;
  weights: Weights;
  input: Float32Array;
  expected: Float32Array;
}

/** Builds the graph, seeded weights and input, and the reference output (the oracle). */
export function prepareModel(spec: ModelSpec): PreparedModel {
  const graph = zoo.build(spec.model, spec.knobs);
  const weights = randomWeights(graph, WEIGHT_SEED);
  const input = randomInput(graph.inputs[0].shape, INPUT_SEED);
  const expected = runReference(graph, weights, input);
  return { spec, graph, weights, input, expected };
}

/** Options of {@link benchModel}. */
export interface BenchModelOptions {
  warmup: number;
  /** Minimum untimed time per runtime, ms (see TimingOptions.warmupMs). */
  warmupMs?: number;
  runs: number;
  /** Timed first-result processes per runtime (bench/first_result.ts); 0 skips them. */
  firstRuns: number;
  tolerance: number;
  log: (line: string) => void;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}

/**
 * Loads one model into every runtime (each in its own worker), checks each
 * output against the reference, and times those that match, round-robin. A
 * runtime that fails to load or to match is reported with the reason and not
 * timed.
 */
export async function benchModel(
  m: PreparedModel,
  runtimes: readonly string[],
  options: BenchModelOptions,
): Promise<ModelResult> {
  const cost = sumCosts(estimateCost(inferShapes(m.graph)));
  const results: RuntimeResult[] = [];
  const live: { remote: RemoteRuntime; result: RuntimeResult }[] = [];
  for (const runtime of runtimes) {
    const result: RuntimeResult = { runtime };
    results.push(result);
    let loaded: Awaited<ReturnType<typeof RemoteRuntime.load>>;
    try {
      loaded = await RemoteRuntime.load(runtime, m.spec.model, m.spec.knobs);
    } catch (e) {
      result.error = `failed to load or run: ${errorText(e)}`;
      options.log(`  ${runtime}: ${result.error}`);
      continue;
    }
    result.check = checkOutput(loaded.output, m.expected, options.tolerance);
    if (!result.check.ok) {
      result.error = `wrong output: ${result.check.reason}`;
      options.log(`  ${runtime}: ${result.error}`);
      await loaded.remote.close();
      continue;
    }
    live.push({ remote: loaded.remote, result });
  }
  if (options.firstRuns > 0 && live.length > 0) {
    options.log(`  first result: fresh processes, 1 untimed + ${options.firstRuns} timed each`);
    const dir = await Deno.makeTempDir({ prefix: "lightnets-first-" });
    try {
      const jobs: FirstResultJob[] = [];
      const owners: RuntimeResult[] = [];
      for (const l of live) {
        const job = await firstResultJob(l.result.runtime, { ...m.spec, ...m }, dir);
        if (job) {
          jobs.push(job);
          owners.push(l.result);
        }
      }
      const figures = await firstResults(jobs, options.firstRuns, options.log);
      figures.forEach((f, i) => {
        owners[i].firstResultMs = f.ms;
        owners[i].firstResultColdMs = f.coldMs;
        if (f.ms !== undefined) {
          options.log(
            `  ${owners[i].runtime.padEnd(10)} first result ${f.ms.toFixed(0)} ms (cold ${
              f.coldMs?.toFixed(0)
            } ms)`,
          );
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
  try {
    if (live.length > 0) {
      const t0 = performance.now();
      const { summaries } = await timeRoundRobin(
        live.map((l) => async () => (await l.remote.time(1))[0]),
        {
          warmup: options.warmup,
          warmupMs: options.warmupMs,
          runs: options.runs,
          onRound: (done, total) => {
            if (done === total || done % 10 === 0) {
              options.log(
                `  round ${done}/${total} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
              );
            }
          },
        },
      );
      live.forEach((l, i) => {
        l.result.timing = summaries[i];
        l.result.gflopsMedian = gflops(cost.madds, summaries[i].medianMs);
      });
    }
  } finally {
    for (const l of live) await l.remote.close();
  }
  const gen = results.find((r) => r.runtime === "generated" && r.timing);
  if (gen?.timing) {
    for (const r of results) {
      if (r.timing) r.ratioToGenerated = r.timing.medianMs / gen.timing.medianMs;
    }
  }
  return {
    model: m.spec.model,
    knobs: { ...m.spec.knobs },
    label: m.spec.label,
    inputShape: [...m.graph.inputs[0].shape],
    madds: cost.madds,
    mac: cost.mac.total,
    params: cost.params.total,
    runtimes: results,
  };
}
