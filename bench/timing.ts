/**
 * Checking and timing runners fairly: every runner's output is compared with
 * the oracle (our reference executor) before it is timed, and timed runs are
 * interleaved round-robin (the order rotating each round) so that load from
 * other processes on a shared machine hits every runtime alike.
 *
 * @module
 */

import { argmax, maxAbsDiff, relativeError } from "../lib/runtime/tensor.ts";
import type { Runner } from "./peers/runner.ts";
import { summarize, type TimingSummary } from "./stats.ts";

/** Default relative tolerance: `max|a - b| <= 1e-3 * max|b|` (float32, different summation orders). */
export const DEFAULT_TOLERANCE = 1e-3;

/** How one runtime's output compares with the oracle's. */
export interface Check {
  ok: boolean;
  top1: number;
  expectedTop1: number;
  maxAbsDiff: number;
  /** `maxAbsDiff / max|expected|`. */
  relError: number;
  tolerance: number;
  /** Why the check failed (or the error the runtime threw), if it did. */
  reason?: string;
}

/**
 * Compares `actual` with `expected`: same top-1 class and relative error at
 * most `tolerance`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkOutput } from "./timing.ts";
 * const ref = new Float32Array([0.1, 2, -1]);
 * assert.equal(checkOutput(new Float32Array([0.1, 2.0001, -1]), ref).ok, true);
 * const wrong = checkOutput(new Float32Array([3, 2, -1]), ref);
 * assert.equal(wrong.ok, false);
 * assert.match(wrong.reason!, /top-1 0, expected 1/);
 * ```
 */
export function checkOutput(
  actual: Float32Array,
  expected: Float32Array,
  tolerance = DEFAULT_TOLERANCE,
): Check {
  const expectedTop1 = argmax(expected);
  if (actual.length !== expected.length) {
    return {
      ok: false,
      top1: -1,
      expectedTop1,
      maxAbsDiff: NaN,
      relError: NaN,
      tolerance,
      reason: `output has ${actual.length} values, expected ${expected.length}`,
    };
  }
  const top1 = argmax(actual);
  const diff = maxAbsDiff(actual, expected);
  const rel = relativeError(actual, expected);
  const reasons: string[] = [];
  if (top1 !== expectedTop1) reasons.push(`top-1 ${top1}, expected ${expectedTop1}`);
  if (!(rel <= tolerance)) {
    reasons.push(`relative error ${rel.toExponential(2)} above ${tolerance.toExponential(0)}`);
  }
  return {
    ok: reasons.length === 0,
    top1,
    expectedTop1,
    maxAbsDiff: diff,
    relError: rel,
    tolerance,
    ...(reasons.length ? { reason: reasons.join("; ") } : {}),
  };
}

/** Options of {@link timeRoundRobin}. */
export interface TimingOptions {
  /** Untimed runs per runtime first, at least (JIT tiers, caches, lazy init). */
  warmup: number;
  /**
   * Keep warming each runtime until it has also spent this long (ms) in
   * untimed runs: V8 optimizes a generated module's many kernels only after a
   * few inferences, while a slow runtime needs few runs (default 0).
   */
  warmupMs?: number;
  /** Timed runs per runtime. */
  runs: number;
  /** Called after each round with the number of rounds done. */
  onRound?: (done: number, total: number) => void;
}

/** Upper bound on warm-up runs of one runtime, however fast it is. */
export const MAX_WARMUP_RUNS = 1000;

/** Runs one inference and resolves to its wall time in ms. */
export type Timer = () => Promise<number>;

/** A {@link Timer} for an in-process runner on a prepared input. */
export function timerOf(runner: Runner, prepared: Float32Array): Timer {
  return async () => {
    const t0 = performance.now();
    await runner.run(prepared);
    return performance.now() - t0;
  };
}

/**
 * Times every runtime `runs` times, round-robin: round `r` runs each runtime
 * once, starting at runtime `r mod n`. Returns per-runtime samples (ms) and
 * their summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timeRoundRobin } from "./timing.ts";
 * const order: string[] = [];
 * const timer = (name: string) => () => {
 *   order.push(name);
 *   return Promise.resolve(name === "a" ? 1 : 2);
 * };
 * const r = await timeRoundRobin([timer("a"), timer("b")], { warmup: 0, runs: 2 });
 * assert.deepEqual(order, ["a", "b", "b", "a"]); // the start rotates each round
 * assert.deepEqual(r.summaries.map((s) => s.medianMs), [1, 2]);
 * ```
 */
export async function timeRoundRobin(
  timers: readonly Timer[],
  options: TimingOptions,
): Promise<{ samples: number[][]; summaries: TimingSummary[] }> {
  const n = timers.length;
  const warmupMs = options.warmupMs ?? 0;
  for (let i = 0; i < n; i++) {
    let spent = 0;
    for (let w = 0; w < MAX_WARMUP_RUNS && (w < options.warmup || spent < warmupMs); w++) {
      spent += await timers[i]();
    }
  }
  const samples: number[][] = timers.map(() => []);
  for (let r = 0; r < options.runs; r++) {
    for (let k = 0; k < n; k++) {
      const i = (r + k) % n;
      samples[i].push(await timers[i]());
    }
    options.onRound?.(r + 1, options.runs);
  }
  return { samples, summaries: samples.map((s) => summarize(s)) };
}
