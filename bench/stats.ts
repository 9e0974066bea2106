/**
 * The statistics every benchmark table uses: order statistics of timing
 * samples, throughput, and the coefficient of determination of a linear fit
 * (how well MAdds or MAC predict time).
 *
 * @module
 */

/** Summary of timing samples in milliseconds. */
export interface TimingSummary {
  /** Number of timed runs. */
  runs: number;
  medianMs: number;
  minMs: number;
  meanMs: number;
  /** Median absolute deviation from the median (robust spread), ms. */
  madMs: number;
}

/**
 * Median of a non-empty list (mean of the two middle values for even length).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { median } from "./stats.ts";
 * assert.equal(median([5, 1, 3]), 3);
 * assert.equal(median([4, 1, 3, 2]), 2.5); // (2 + 3) / 2
 * ```
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("Cannot take the median of an empty list");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Median, min, mean and median absolute deviation of timing samples (ms).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarize } from "./stats.ts";
 * const s = summarize([10, 12, 11, 30]);
 * assert.equal(s.medianMs, 11.5); // (11 + 12) / 2; the outlier 30 does not move it
 * assert.equal(s.minMs, 10);
 * assert.equal(s.meanMs, 63 / 4);
 * ```
 */
export function summarize(samplesMs: readonly number[]): TimingSummary {
  if (samplesMs.length === 0) throw new RangeError("Cannot summarize zero timing samples");
  const med = median(samplesMs);
  return {
    runs: samplesMs.length,
    medianMs: med,
    minMs: Math.min(...samplesMs),
    meanMs: samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length,
    madMs: median(samplesMs.map((x) => Math.abs(x - med))),
  };
}

/**
 * Throughput in GFLOP/s for `madds` multiply-adds done in `ms` milliseconds,
 * counting one multiply-add as 2 FLOPs (the definition).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gflops } from "./stats.ts";
 * // 300M MAdds in 100 ms: 2 * 3e8 / 0.1 s = 6e9 FLOP/s
 * assert.equal(gflops(300e6, 100), 6);
 * ```
 */
export function gflops(madds: number, ms: number): number {
  return (2 * madds) / (ms * 1e6);
}

/** A least-squares line `y = slope * x + intercept` and its R^2. */
export interface LinearFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination: 1 - SS_res / SS_tot (NaN if y is constant or n < 2). */
  r2: number;
  n: number;
}

/**
 * Ordinary least-squares fit of `ys` on `xs` with its R^2 (for a
 * one-variable fit, the square of Pearson's correlation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linearFit } from "./stats.ts";
 * const exact = linearFit([1, 2, 3], [3, 5, 7]); // y = 2x + 1
 * assert.equal(exact.slope, 2);
 * assert.equal(exact.intercept, 1);
 * assert.equal(exact.r2, 1);
 * // residuals -1/6, 1/3, -1/6 around y = 1.5x + 1/6: SS_res = 1/6, SS_tot = 14/3
 * const noisy = linearFit([1, 2, 3], [1.5, 3.5, 4.5]);
 * assert.ok(Math.abs(noisy.r2 - (1 - (1 / 6) / (14 / 3))) < 1e-12);
 * ```
 */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit {
  if (xs.length !== ys.length) {
    throw new RangeError(`Cannot fit ${xs.length} x values against ${ys.length} y values`);
  }
  const n = xs.length;
  if (n < 2) return { slope: NaN, intercept: NaN, r2: NaN, n };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const slope = sxx === 0 ? NaN : sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = sxx === 0 || syy === 0 ? NaN : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2, n };
}

/**
 * Spearman's rank correlation (ties get their average rank): whether two
 * orderings agree, e.g. our images/s against the paper's across configurations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spearman } from "./stats.ts";
 * assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
 * assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
 * ```
 */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  const rank = (v: readonly number[]) => {
    const idx = v.map((x, i) => ({ x, i })).sort((a, b) => a.x - b.x);
    const r = new Array<number>(v.length);
    for (let k = 0; k < idx.length;) {
      let j = k;
      while (j + 1 < idx.length && idx[j + 1].x === idx[k].x) j++;
      for (let t = k; t <= j; t++) r[idx[t].i] = (k + j) / 2 + 1;
      k = j + 1;
    }
    return r;
  };
  const fit = linearFit(rank(xs), rank(ys));
  if (Number.isNaN(fit.r2)) return NaN;
  return Math.sign(fit.slope) * Math.sqrt(fit.r2);
}
