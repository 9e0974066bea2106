/**
 * `--threads 2` against one thread, as `deno task bench` drives them: each
 * module (`generated-wasm`, `generated-wasm-2t`) in its own bench worker
 * (bench/worker.ts), timed inside it, interleaved round-robin in one process.
 * Two patterns: back to back (`--burst` timed inferences per request after 10
 * untimed ones), and one
 * inference per request with an idle gap before each (drawn from `--gaps`,
 * like the bench's round robin over eight runtimes leaves the others idle).
 *
 * ```sh
 * deno run -A bench/threads_bench.ts shufflenetv2 mobilenetv2 --rounds 40
 * ```
 *
 * Prints, per model and pattern, the median ms of each and the ratio
 * one thread / two threads (above 1: two threads are faster). `--inline`
 * imports both modules into this thread instead and alternates single
 * inferences, with idle gaps of 0, 5 and 100 ms before each: what an
 * application calling `infer()` in a loop or now and then sees.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { zoo } from "../lib/models/zoo.ts";
import { randomInput } from "../lib/runtime/tensor.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { generatedRunner } from "./peers/generated.ts";
import { RemoteRuntime } from "./remote.ts";
import { INPUT_SEED, WEIGHT_SEED } from "./seeds.ts";
import type { ThreadsPattern } from "./results.ts";

const HELP = `Usage: deno run -A bench/threads_bench.ts [model...] [options]

Times generated-wasm against generated-wasm-2t (zoo models at 224, default
shufflenetv2 and mobilenetv2), each in its own bench worker, interleaved.

Options:
  --rounds N     rounds per pattern (default 30)
  --burst N      timed inferences per request in the back-to-back pattern, after
                 10 untimed ones (default 20)
  --gaps A,B     idle gap range before each request in ms (default 50,200)
  --inline       both modules in this thread, alternating, gaps of 0, 5 and 100 ms
  -h, --help     this text`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    throw new RangeError(`Invalid --${name} "${v}": expected a number >= 0`);
  }
  return n;
}

/** How {@link measureThreads} drives the two modules. */
export interface ThreadsOptions {
  rounds: number;
  /** Timed inferences per request in the back-to-back pattern. */
  burst: number;
  /**
   * Untimed inferences before them in each request: the first ones after the
   * other module's request wake a sleeping worker (the gap pattern's case).
   */
  settle: number;
  /** Idle gap range before each single inference, ms. */
  gaps: [number, number];
  /** Untimed time per module first, ms. */
  warmupMs: number;
}

/**
 * Times `generated-wasm` against `generated-wasm-2t` on a zoo model at 224,
 * each in its own bench worker, interleaved, in both patterns.
 */
export async function measureThreads(
  model: string,
  options: ThreadsOptions,
): Promise<ThreadsPattern[]> {
  const { rounds, burst, settle, gaps: [gapMin, gapMax] } = options;
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const remotes: RemoteRuntime[] = [];
  try {
    for (const r of ["generated-wasm", "generated-wasm-2t"]) {
      remotes.push((await RemoteRuntime.load(r, model, {})).remote);
    }
    // Warm both up (kernels tiered up, workers started).
    for (const remote of remotes) {
      const t0 = performance.now();
      while (performance.now() - t0 < options.warmupMs) await remote.time(5);
    }
    const patterns: [string, (k: number) => Promise<number[]>][] = [
      ["back to back", async (k) => (await remotes[k].time(burst + settle)).slice(settle)],
      [`gap ${gapMin}-${gapMax} ms`, async (k) => {
        const gap = gapMin + random() * (gapMax - gapMin);
        await new Promise((resolve) => setTimeout(resolve, gap));
        return remotes[k].time(1);
      }],
    ];
    const out: ThreadsPattern[] = [];
    for (const [pattern, request] of patterns) {
      const ms: number[][] = remotes.map(() => []);
      for (let r = 0; r < rounds; r++) {
        for (let j = 0; j < remotes.length; j++) {
          const k = (j + r) % remotes.length;
          ms[k].push(...await request(k));
        }
      }
      out.push({ model, pattern, oneMs: median(ms[0]), twoMs: median(ms[1]), n: ms[0].length });
    }
    return out;
  } finally {
    for (const remote of remotes) await remote.close();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      rounds: { type: "string" },
      burst: { type: "string" },
      gaps: { type: "string" },
      inline: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const rounds = Math.max(1, Math.round(positive("rounds", values.rounds, 30)));
  const burst = Math.max(1, Math.round(positive("burst", values.burst, 20)));
  const [gapMin, gapMax] = (values.gaps ?? "50,200").split(",").map((g) => positive("gaps", g, 0));
  const models = positionals.length > 0 ? positionals : ["shufflenetv2", "mobilenetv2"];
  console.log(`load: ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  for (const model of models) {
    if (values.inline) {
      await inline(model, rounds);
      continue;
    }
    const found = await measureThreads(model, {
      rounds,
      burst,
      settle: 10,
      gaps: [gapMin, gapMax],
      warmupMs: 2000,
    });
    for (const p of found) {
      console.log(
        `${model} 224, ${p.pattern}: 1 thread ${p.oneMs.toFixed(2)} ms, 2 threads ${
          p.twoMs.toFixed(2)
        } ms, ratio ${(p.oneMs / p.twoMs).toFixed(2)}x (medians of ${p.n})`,
      );
    }
  }
  console.log(`load: ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
}

/** Both modules imported here, single inferences alternating, after idle gaps of 0, 5, 100 ms. */
async function inline(model: string, rounds: number): Promise<void> {
  const graph = zoo.build(model, {});
  const weights = randomWeights(graph, WEIGHT_SEED);
  const input = randomInput(graph.inputs[0].shape, INPUT_SEED);
  const runners = [
    await generatedRunner(graph, weights, "wasm", 1),
    await generatedRunner(graph, weights, "wasm", 2),
  ];
  try {
    // Warm up about 2 s (kernels tiered up, the workers started).
    const t0 = performance.now();
    while (performance.now() - t0 < 2000) for (const r of runners) await r.run(input);
    for (const gap of [0, 5, 100]) {
      const ms: number[][] = runners.map(() => []);
      for (let i = 0; i < rounds * 2; i++) {
        const k = i % 2;
        if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap));
        const t = performance.now();
        await runners[k].run(input);
        ms[k].push(performance.now() - t);
      }
      const [one, two] = ms.map(median);
      console.log(
        `${model} 224, inline, gap ${gap} ms: 1 thread ${one.toFixed(2)} ms, 2 threads ${
          two.toFixed(2)
        } ms, ratio ${(one / two).toFixed(2)}x (medians of ${rounds})`,
      );
    }
  } finally {
    for (const r of runners) await r.dispose?.();
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
