/**
 * The shape of one benchmark run's results, as written to bench/results.json
 * and read by the report writer (so a report can be rebuilt without rerunning).
 *
 * @module
 */

import type { MachineInfo } from "./machine.ts";
import type { TimingSummary } from "./stats.ts";
import type { Check } from "./timing.ts";
import type { RealModelResult } from "./real.ts";

/** One runtime on one model. */
export interface RuntimeResult {
  runtime: string;
  /** Output compared with the reference executor's; absent if the runtime failed to load. */
  check?: Check;
  /** Present only when the check passed. */
  timing?: TimingSummary;
  /** `2 * MAdds / median time`. */
  gflopsMedian?: number;
  /** Median time of this runtime / median time of the generated module. */
  ratioToGenerated?: number;
  /**
   * Wall time from process start to the first output, ms, median of fresh
   * processes with Deno's caches warm (bench/first_result.ts): imports,
   * backend init, session creation or module import and compilation, one
   * inference (not codegen or ONNX export). Absent for the reference executor.
   */
  firstResultMs?: number;
  /** The same in the first process, Deno's caches of a new artifact cold. */
  firstResultColdMs?: number;
  /** Why it was not timed (load error, failed check). */
  error?: string;
}

/** One model of the zoo and how every runtime did on it. */
export interface ModelResult {
  /** Zoo name and knobs, e.g. `shufflenetv2` `{ width: 1 }`. */
  model: string;
  knobs: Record<string, string | number | boolean>;
  /** Display label, e.g. `ShuffleNetV2 1.0`. */
  label: string;
  inputShape: number[];
  madds: number;
  /** Memory access cost of the unfolded graph, elements (lib/analysis/cost.ts). */
  mac: number;
  params: number;
  runtimes: RuntimeResult[];
}

/** One layer (kernel call) of a generated module, timed alone. */
export interface LayerTiming {
  /** Graph node(s) the kernel computes, e.g. `features.1.conv.0.0+features.1.conv.0.2`. */
  name: string;
  kind: string;
  ms: number;
  madds: number;
  mac: number;
}

/** Per-layer profile of one generated module. */
export interface LayerProfile {
  model: string;
  label: string;
  layers: LayerTiming[];
  /** Sum of layer times (ms) against the whole-module median. */
  sumMs: number;
  wholeMs: number;
  r2Madds: number;
  r2Mac: number;
  /** Fit of time on MAdds and MAC together (two regressors). */
  r2Both?: number;
}

/** One ShuffleNet V2 guideline configuration run through codegen. */
export interface GuidelineResult {
  table: string;
  config: string;
  madds: number;
  mac: number;
  medianMs: number;
  imagesPerSec: number;
  /** The paper's ARM images/s (ShuffleNet V2, Tables 1-4), when published. */
  paperArm?: number;
  paperGpu?: number;
}

/** Everything one `deno task bench` run measured. */
/**
 * `generated-wasm` against `generated-wasm-2t` in one access pattern
 * (bench/threads_bench.ts): medians of single inferences, same model, same run.
 */
export interface ThreadsPattern {
  model: string;
  /** "back to back" (bursts of inferences) or "gap A-B ms" (idle time before each). */
  pattern: string;
  oneMs: number;
  twoMs: number;
  /** Timed inferences behind each median. */
  n: number;
}

export interface BenchResults {
  date: string;
  command: string;
  quick: boolean;
  warmup: number;
  /** Minimum untimed time per runtime before timing, ms. */
  warmupMs?: number;
  runs: number;
  /** Timed fresh processes per runtime behind each first result (absent in older results). */
  firstRuns?: number;
  tolerance: number;
  machine: MachineInfo;
  versions: Record<string, string>;
  /** Register-blocked GEMM measured in the same process (scalar-JS ceiling). */
  ceiling?: {
    /** Median of the measurements, GFLOP/s (2 x M x N x K per product). */
    gflops: number;
    description: string;
    /** Every measurement: one before the models and one after each, as load drifts. */
    samples: number[];
  };
  /**
   * 128-bit SIMD peak of this engine (codegen/wasm/peak.ts), measured beside
   * the scalar ceiling: the limit of the WebAssembly target. `gflops` is the
   * best sample (load only lowers a peak).
   */
  simdPeak?: { gflops: number; description: string; samples: number[] };
  models: ModelResult[];
  /** One thread against two, back to back and with idle gaps (absent when not run). */
  threads?: ThreadsPattern[];
  layers: LayerProfile[];
  /** R^2 of whole-network generated time against MAdds and MAC across the zoo. */
  zooFit?: { r2Madds: number; r2Mac: number; n: number };
  guidelines: GuidelineResult[];
  /** The real third-party models (bench/real.ts); absent when the run skipped them. */
  real?: RealModelResult[];
  /** 1-minute load averages sampled before the models and after each (other processes). */
  loadAverages?: number[];
  /** Parts that could not run, in words. */
  missing: string[];
}
