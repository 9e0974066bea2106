/**
 * `deno task bench`: our generated modules against the reference executor,
 * tfjs (CPU and WASM) and ONNX Runtime (node and web) on the six networks of
 * bench/suite.ts, then per-layer timing, the ShuffleNet V2 guideline networks
 * and the real third-party models of bench/real.ts; writes BENCHMARKS.md, its
 * SVG charts and bench/results.json.
 *
 * Progress goes to stderr; `--json` prints the results on stdout.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { EXIT, guard, UsageError, writeFileAtomic } from "../lib/_io.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import { estimateCost, sumCosts } from "../lib/analysis/cost.ts";
import { zoo } from "../lib/models/zoo.ts";
import { randomInput } from "../lib/runtime/tensor.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { runReference } from "../lib/runtime/reference.ts";
import { GUIDELINE_CONFIGS } from "./guidelines.ts";
import { loadAverage, machineInfo } from "./machine.ts";
import { ortVersion } from "./peers/ort.ts";
import { tfjsInfo, useTfjsBackend } from "./peers/tfjs.ts";
import { gemmCeiling, layerProfile, loadGenerated } from "./peers/generated.ts";
import { isRuntime, RUNTIMES } from "./peers/factories.ts";
import { writeReport } from "./report.ts";
import { simdPeak } from "../codegen/wasm/peak.ts";
import type {
  BenchResults,
  GuidelineResult,
  LayerProfile,
  ModelResult,
  ThreadsPattern,
} from "./results.ts";
import { measureThreads } from "./threads_bench.ts";

/** Zoo models whose one- and two-thread modules are also timed back to back. */
const THREADS_MODELS = ["shufflenetv2", "mobilenetv2"];
import { linearFit, median, summarize } from "./stats.ts";
import { BENCH_MODELS, benchModel, INPUT_SEED, prepareModel, WEIGHT_SEED } from "./suite.ts";
import { checkOutput, DEFAULT_TOLERANCE } from "./timing.ts";
import { benchRealModels, REAL_MODELS, type RealModelResult, selectRealModels } from "./real.ts";

const HELP = `Usage: deno task bench [options]

Benchmarks six networks at 224x224, batch 1, one thread (ShuffleNetV2 1.0,
MobileNetV2 1.0, MobileNetV1 1.0, MobileNetV3-Small, SqueezeNet 1.1 and
ShuffleNet V1 1x g=3) in our generated module, our reference executor,
tfjs-cpu, tfjs-wasm, onnxruntime-node and onnxruntime-web; times the generated
module layer by layer; runs the ShuffleNet V2 guideline networks; then the
real third-party models (ONNX files and tfjs model.json from pinned npm
packages) in our generated wasm module against onnxruntime-node/-web or
tfjs-wasm on the same file; writes BENCHMARKS.md and bench/*.svg.

Options:
  --quick              few runs (warm-up 1, 5 timed), for a smoke check
  --runs N             timed runs per runtime (default 30; quick 5)
  --warmup N           untimed runs per runtime first, at least (default 5, and at
                       least 2 s of them; quick 1)
  --first-runs N       timed fresh processes per runtime for the first-result
                       column, after one untimed one (default 3; quick 1; 0 skips)
  --models a,b         zoo models to run (default: all six; e.g. shufflenetv2)
  --runtimes a,b       runtimes to run (default: ${RUNTIMES.join(",")})
  --tolerance X        max|a-b| / max|ref| accepted (default ${DEFAULT_TOLERANCE})
  --no-layers          skip per-layer timing
  --no-guidelines      skip the ShuffleNet V2 guideline networks
  --no-threads         skip the one-against-two-threads patterns (run after the
                       zoo on ShuffleNetV2 and MobileNetV2 when both
                       generated-wasm and generated-wasm-2t are runtimes)
  --no-real            skip the real third-party models
  --real-only          only the real third-party models (no zoo, layers,
                       guidelines or ceilings; the latency charts are kept)
  --real-models a,b    real models to run, by file name without extension
                       (default: all ${REAL_MODELS.length}; e.g. fr_eye,iris)
  --real-budget MS     timed-round budget per real model: rounds = budget /
                       one round's time, between 3 and --runs (default 3000;
                       quick 300)
  --real-ts            also time the TypeScript target (generated) on them
  --out FILE           report path (default BENCHMARKS.md)
  --results FILE       results path (default bench/results.json)
  --json               print the results as JSON on stdout
  --render FILE        only rewrite the report and charts from a results file
                       (e.g. bench/results.json), without running anything
  -h, --help           this help

Needs -A (onnxruntime-node loads a native library through FFI).
`;

function log(line: string): void {
  console.error(line);
}

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`Invalid --${name} "${v}": expected a positive integer`);
  }
  return n;
}

/** Runs the whole benchmark; returns an exit code. */
export function main(args: string[]): Promise<number> {
  return guard(async () => {
    const { values } = parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        runs: { type: "string" },
        warmup: { type: "string" },
        "first-runs": { type: "string" },
        models: { type: "string" },
        runtimes: { type: "string" },
        tolerance: { type: "string" },
        "no-layers": { type: "boolean", default: false },
        "no-guidelines": { type: "boolean", default: false },
        "no-threads": { type: "boolean", default: false },
        "no-real": { type: "boolean", default: false },
        "real-only": { type: "boolean", default: false },
        "real-models": { type: "string" },
        "real-budget": { type: "string" },
        "real-ts": { type: "boolean", default: false },
        results: { type: "string", default: "bench/results.json" },
        out: { type: "string", default: "BENCHMARKS.md" },
        json: { type: "boolean", default: false },
        render: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(HELP);
      return EXIT.ok;
    }
    if (values.render !== undefined) {
      let saved: BenchResults;
      try {
        saved = JSON.parse(await Deno.readTextFile(values.render));
      } catch (e) {
        throw new UsageError(
          `Cannot read results "${values.render}": ${e instanceof Error ? e.message : e}`,
        );
      }
      const written = await writeReport(saved, values.out!);
      log(`bench: wrote ${written.join(", ")} from ${values.render}`);
      return EXIT.ok;
    }
    const quick = values.quick!;
    const runs = positiveInt("runs", values.runs, quick ? 5 : 30);
    const warmup = positiveInt("warmup", values.warmup, quick ? 1 : 5);
    const firstRuns = values["first-runs"] === "0"
      ? 0
      : positiveInt("first-runs", values["first-runs"], quick ? 1 : 3);
    // At least 2 s of untimed runs per runtime: the generated modules reach
    // steady speed after about 8 inferences (V8 optimizes kernel by kernel).
    const warmupMs = quick ? 0 : 2000;
    const tolerance = values.tolerance === undefined ? DEFAULT_TOLERANCE : Number(values.tolerance);
    if (!(tolerance > 0)) {
      throw new UsageError(`Invalid --tolerance "${values.tolerance}": expected a positive number`);
    }
    const realOnly = values["real-only"]!;
    if (realOnly && values["no-real"]) {
      throw new UsageError("--real-only and --no-real exclude each other");
    }
    let realModels: typeof REAL_MODELS = values["no-real"] ? [] : REAL_MODELS;
    if (values["real-models"] !== undefined) {
      try {
        realModels = selectRealModels(values["real-models"].split(","));
      } catch (e) {
        throw new UsageError(e instanceof Error ? e.message : String(e));
      }
    }
    const realBudget = positiveInt("real-budget", values["real-budget"], quick ? 300 : 3000);
    const models = realOnly ? [] : values.models
      ? values.models.split(",").map((name) => {
        const spec = BENCH_MODELS.find((m) => m.model === name);
        if (!spec) {
          throw new UsageError(
            `Unknown benchmark model "${name}"; expected one of ${
              BENCH_MODELS.map((m) => m.model).join(", ")
            }`,
          );
        }
        return spec;
      })
      : [...BENCH_MODELS];
    const runtimes = values.runtimes ? values.runtimes.split(",") : [...RUNTIMES];
    for (const r of runtimes) {
      if (!isRuntime(r)) {
        throw new UsageError(
          `Unknown runtime "${r}"; expected one of ${RUNTIMES.join(", ")}`,
        );
      }
    }
    const doLayers = !values["no-layers"] && !realOnly;
    const doGuidelines = !values["no-guidelines"] && !realOnly;
    const command = ["deno task bench", ...args].join(" ");
    const missing: string[] = [];

    if (models.length > 0) {
      log(
        `bench: ${models.length} model(s), runtimes ${
          runtimes.join(", ")
        }; warm-up ${warmup}, ${runs} timed runs`,
      );
    }
    const machine = machineInfo();
    await useTfjsBackend("wasm");
    const tfw = tfjsInfo();
    await useTfjsBackend("cpu");
    const versions: Record<string, string> = {
      "@tensorflow/tfjs-core / tfjs-backend-cpu / tfjs-backend-wasm": tfw.version,
      "tfjs-wasm flags": `SIMD ${tfw.wasmSimd ? "on" : "off"}, threads ${
        tfw.wasmThreads ? "on" : "off"
      }`,
    };
    for (const flavor of ["ort-node", "ort-web"] as const) {
      if (!runtimes.includes(flavor)) continue;
      try {
        versions[flavor === "ort-node" ? "onnxruntime-node" : "onnxruntime-web"] = await ortVersion(
          flavor,
        );
      } catch (e) {
        missing.push(`${flavor}: cannot load (${e instanceof Error ? e.message : e})`);
      }
    }

    // The ceiling is measured before the models and again after each one, so
    // the percentage uses a figure taken under the same load as the models.
    const ceilingSamples: number[] = [];
    let ceilingDescription = "";
    const loadAverages: number[] = [];
    const peakSamples: number[] = [];
    let peakDescription = "";
    const measureCeiling = () => {
      const load = loadAverage();
      if (Number.isFinite(load)) loadAverages.push(load);
      if (runtimes.includes("generated-wasm")) {
        const p = simdPeak(quick ? 200_000 : 2_000_000);
        peakSamples.push(p.gflops);
        peakDescription = p.description;
        log(`  SIMD peak ${p.gflops.toFixed(2)} GFLOP/s (${p.description})`);
      }
      try {
        const c = gemmCeiling(quick);
        ceilingSamples.push(c.gflops);
        ceilingDescription = c.description;
        log(`  GEMM ceiling ${c.gflops.toFixed(2)} GFLOP/s (${c.description})`);
      } catch (e) {
        if (ceilingSamples.length === 0 && !ceilingDescription) {
          missing.push(`GEMM ceiling: ${e instanceof Error ? e.message : e}`);
          ceilingDescription = "failed";
        }
      }
    };
    if (models.length > 0) {
      log("bench: register-blocked GEMM ceiling");
      measureCeiling();
    }

    const results: ModelResult[] = [];
    const layers: LayerProfile[] = [];
    for (const spec of models) {
      log(`bench: ${spec.label}: reference output, loading runtimes`);
      const m = prepareModel(spec);
      const r = await benchModel(m, runtimes, {
        warmup,
        warmupMs,
        runs,
        firstRuns,
        tolerance,
        log,
      });
      results.push(r);
      for (const rt of r.runtimes) {
        if (rt.timing) {
          log(
            `  ${rt.runtime.padEnd(10)} median ${rt.timing.medianMs.toFixed(2)} ms, min ${
              rt.timing.minMs.toFixed(2)
            } ms`,
          );
        } else missing.push(`${spec.label} on ${rt.runtime}: ${rt.error ?? "not timed"}`);
      }
      measureCeiling();
      const gen = r.runtimes.find((x) => x.runtime === "generated");
      if (doLayers && gen?.timing) {
        log(`bench: ${spec.label}: per-layer timing of the generated module`);
        try {
          const p = await layerProfile(m.graph, m.weights, m.input, quick ? 5 : 30);
          layers.push({
            model: spec.model,
            label: spec.label,
            ...p,
            wholeMs: gen.timing.medianMs,
          });
        } catch (e) {
          missing.push(
            `${spec.label}: per-layer timing failed: ${e instanceof Error ? e.message : e}`,
          );
        }
      }
      const wasm = r.runtimes.find((x) => x.runtime === "generated-wasm");
      if (doLayers && wasm?.timing) {
        log(`bench: ${spec.label}: per-layer timing of the generated wasm module`);
        try {
          const p = await layerProfile(m.graph, m.weights, m.input, quick ? 5 : 30, "wasm");
          layers.push({
            model: spec.model,
            label: `${spec.label} (wasm)`,
            ...p,
            wholeMs: wasm.timing.medianMs,
          });
        } catch (e) {
          missing.push(
            `${spec.label}: per-layer timing of the wasm module failed: ${
              e instanceof Error ? e.message : e
            }`,
          );
        }
      }
    }

    const ceiling: BenchResults["ceiling"] = ceilingSamples.length
      ? {
        gflops: median(ceilingSamples),
        description: ceilingDescription,
        samples: ceilingSamples,
      }
      : undefined;

    let zooFit: BenchResults["zooFit"];
    const timedGen = results.flatMap((m) => {
      const g = m.runtimes.find((r) => r.runtime === "generated");
      return g?.timing ? [{ m, ms: g.timing.medianMs }] : [];
    });
    if (timedGen.length >= 3) {
      const fm = linearFit(timedGen.map((t) => t.m.madds), timedGen.map((t) => t.ms));
      const fc = linearFit(timedGen.map((t) => t.m.mac), timedGen.map((t) => t.ms));
      zooFit = { r2Madds: fm.r2, r2Mac: fc.r2, n: timedGen.length };
    }

    // The round robin above leaves each module idle while the other runtimes run;
    // two threads are also timed back to back, where a woken worker is on its core.
    const threads: ThreadsPattern[] = [];
    const threadModels = models.filter((m) => THREADS_MODELS.includes(m.model));
    if (
      !values["no-threads"] && threadModels.length > 0 &&
      runtimes.includes("generated-wasm") && runtimes.includes("generated-wasm-2t")
    ) {
      for (const spec of threadModels) {
        log(`bench: ${spec.label}: one thread against two, back to back and with idle gaps`);
        try {
          threads.push(
            ...await measureThreads(spec.model, {
              rounds: quick ? 3 : 20,
              burst: 20,
              settle: 10,
              gaps: [50, 200],
              warmupMs: quick ? 200 : 2000,
            }),
          );
        } catch (e) {
          missing.push(`${spec.label}: threads patterns: ${e instanceof Error ? e.message : e}`);
        }
      }
    }

    const guidelines: GuidelineResult[] = [];
    if (doGuidelines && runtimes.includes("generated")) {
      log("bench: ShuffleNet V2 guideline networks through codegen");
      try {
        guidelines.push(...await benchGuidelines(quick ? 3 : 15, warmup, tolerance));
      } catch (e) {
        missing.push(`Guideline networks: ${e instanceof Error ? e.message : e}`);
      }
    }

    let real: RealModelResult[] | undefined;
    if (realModels.length > 0) {
      log(`bench: ${realModels.length} real third-party model(s)`);
      const load = loadAverage();
      if (Number.isFinite(load)) loadAverages.push(load);
      real = await benchRealModels(realModels, {
        warmup,
        // Less than the zoo's 2 s: the 20 files would take 2 minutes to warm alone.
        warmupMs: quick ? 0 : 500,
        runs,
        budgetMs: realBudget,
        tsTarget: values["real-ts"],
        log,
      });
      for (const m of real) {
        if (m.error) missing.push(`Real model ${m.file}: ${m.error}`);
        for (const r of m.runtimes) {
          if (r.error) missing.push(`Real model ${m.file} on ${r.runtime}: ${r.error}`);
        }
      }
      const after = loadAverage();
      if (Number.isFinite(after)) loadAverages.push(after);
    }

    const out: BenchResults = {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command,
      quick,
      warmup,
      warmupMs,
      runs,
      firstRuns,
      tolerance,
      machine,
      versions,
      ...(ceiling ? { ceiling } : {}),
      ...(peakSamples.length
        ? {
          simdPeak: {
            gflops: Math.max(...peakSamples),
            description: peakDescription,
            samples: peakSamples,
          },
        }
        : {}),
      models: results,
      ...(threads.length ? { threads } : {}),
      layers,
      ...(zooFit ? { zooFit } : {}),
      guidelines,
      ...(real ? { real } : {}),
      loadAverages,
      missing,
    };
    const written = await writeReport(out, values.out!);
    await writeFileAtomic(values.results!, JSON.stringify(out, null, 2) + "\n");
    log(`bench: wrote ${[...written, values.results!].join(", ")}`);
    if (values.json) console.log(JSON.stringify(out, null, 2));
    return EXIT.ok;
  });
}

/**
 * Each guideline configuration compiled, checked against the reference, and
 * timed (the configurations interleaved round-robin like the runtimes).
 */
async function benchGuidelines(
  runs: number,
  warmup: number,
  tolerance: number,
): Promise<GuidelineResult[]> {
  const loaded = [];
  for (const c of GUIDELINE_CONFIGS) {
    const graph = zoo.build(c.model, c.knobs);
    const weights = randomWeights(graph, WEIGHT_SEED);
    const input = randomInput(graph.inputs[0].shape, INPUT_SEED);
    const expected = runReference(graph, weights, input);
    const infer = await loadGenerated(graph, weights);
    const check = checkOutput(infer(input), expected, tolerance);
    if (!check.ok) {
      throw new Error(`generated ${c.model} ${JSON.stringify(c.knobs)}: ${check.reason}`);
    }
    const cost = sumCosts(estimateCost(inferShapes(graph)));
    loaded.push({ c, infer, input, cost, samples: [] as number[] });
  }
  for (let w = 0; w < warmup; w++) for (const l of loaded) l.infer(l.input);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < loaded.length; k++) {
      const l = loaded[(r + k) % loaded.length];
      const t0 = performance.now();
      l.infer(l.input);
      l.samples.push(performance.now() - t0);
    }
  }
  return loaded.map((l) => {
    const med = summarize(l.samples).medianMs;
    return {
      table: l.c.table,
      config: l.c.config,
      madds: l.cost.madds,
      mac: l.cost.mac.total,
      medianMs: med,
      imagesPerSec: 1000 / med,
      paperArm: l.c.paperArm,
      paperGpu: l.c.paperGpu,
    };
  });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
