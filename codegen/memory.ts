/**
 * Static arena planning: every buffer of a kernel plan lives from the first
 * step that touches it to the last, and gets a fixed offset in one
 * `Float32Array` such that buffers alive at the same step never overlap.
 * A step's input and output are both alive at that step, so no kernel ever
 * writes over what it reads.
 *
 * The lower bound is the peak activation memory of the schedule: the largest
 * sum of live buffer sizes over all steps. Placement is greedy first-fit
 * (largest buffer first, and a few other orders; the smallest arena wins),
 * which lands at or near that bound on the zoo.
 *
 * @module
 */

import type { KernelPlan } from "./plan.ts";

/** Lifetime `[first, last]` (step indices, inclusive) of one buffer. */
export interface Lifetime {
  first: number;
  last: number;
}

/** Where each buffer lives, the arena size, and the schedule's peak. */
export interface MemoryPlan {
  /** Arena offset (in floats) of each root. */
  offsets: number[];
  lifetimes: Lifetime[];
  arenaFloats: number;
  /** Largest sum of live buffer sizes at any step (floats); `arenaFloats >= peakFloats`. */
  peakFloats: number;
  /** The step at which the peak occurs. */
  peakStep: number;
}

/** First and last step touching each root. */
export function lifetimes(plan: KernelPlan): Lifetime[] {
  const life: Lifetime[] = plan.roots.map(() => ({ first: Infinity, last: -Infinity }));
  plan.steps.forEach((s, i) => {
    for (const op of [s.x, s.y, s.r]) {
      if (!op || op.root < 0) continue; // the caller's input and output arrays
      const l = life[op.root];
      l.first = Math.min(l.first, i);
      l.last = Math.max(l.last, i);
    }
  });
  return life.map((l) => (l.first === Infinity ? { first: 0, last: -1 } : l));
}

/** Peak of live buffer sizes over the schedule, and where it occurs. */
export function peakMemory(plan: KernelPlan, life: Lifetime[]): { floats: number; step: number } {
  const delta = new Array<number>(plan.steps.length + 1).fill(0);
  life.forEach((l, r) => {
    if (l.last < l.first) return;
    delta[l.first] += plan.roots[r].floats;
    delta[l.last + 1] -= plan.roots[r].floats;
  });
  let live = 0;
  let best = { floats: 0, step: 0 };
  for (let i = 0; i < plan.steps.length; i++) {
    live += delta[i];
    if (live > best.floats) best = { floats: live, step: i };
  }
  return best;
}

function firstFit(
  sizes: number[],
  life: Lifetime[],
  order: number[],
): { offsets: number[]; size: number } {
  const offsets = new Array<number>(sizes.length).fill(-1);
  const placed: number[] = [];
  let size = 0;
  for (const r of order) {
    if (life[r].last < life[r].first) {
      offsets[r] = 0;
      continue;
    }
    const busy = placed
      .filter((q) => life[q].first <= life[r].last && life[r].first <= life[q].last)
      .map((q) => [offsets[q], offsets[q] + sizes[q]] as const)
      .sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [lo, hi] of busy) {
      if (lo - at >= sizes[r]) break;
      at = Math.max(at, hi);
    }
    offsets[r] = at;
    placed.push(r);
    size = Math.max(size, at + sizes[r]);
  }
  return { offsets, size };
}

/**
 * Plans the arena of `plan`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../lib/ir/builder.ts";
 * import { randomWeights } from "../lib/runtime/weights.ts";
 * import { planKernels } from "./plan.ts";
 * import { planMemory } from "./memory.ts";
 * const b = new GraphBuilder("chain", [1, 4, 8, 8]);
 * let x = b.input;
 * for (let i = 0; i < 4; i++) x = b.relu(b.conv2d(x, { out: 4, kernel: 3 }));
 * const g = b.build(x);
 * const m = planMemory(planKernels(g, randomWeights(g, 1)));
 * // a chain needs two ping-pong buffers of 4 x 8 x 8 (the last conv writes the output)
 * assert.equal(m.peakFloats, 2 * 4 * 8 * 8);
 * assert.equal(m.arenaFloats, m.peakFloats);
 * ```
 */
export function planMemory(plan: KernelPlan): MemoryPlan {
  const life = lifetimes(plan);
  const sizes = plan.roots.map((r) => r.floats);
  const ids = sizes.map((_, i) => i);
  const orders = [
    [...ids].sort((a, b) => sizes[b] - sizes[a] || a - b),
    [...ids].sort((a, b) => life[a].first - life[b].first || a - b),
    [...ids].sort((a, b) =>
      (life[b].last - life[b].first) - (life[a].last - life[a].first) || sizes[b] - sizes[a] ||
      a - b
    ),
    [...ids].sort((a, b) =>
      sizes[b] * (life[b].last - life[b].first + 1) -
        sizes[a] * (life[a].last - life[a].first + 1) || a - b
    ),
  ];
  let best = firstFit(sizes, life, orders[0]);
  for (const order of orders.slice(1)) {
    const f = firstFit(sizes, life, order);
    if (f.size < best.size) best = f;
  }
  const peak = peakMemory(plan, life);
  return {
    offsets: best.offsets,
    lifetimes: life,
    arenaFloats: best.size,
    peakFloats: peak.floats,
    peakStep: peak.step,
  };
}
