/**
 * The 128-bit SIMD peak of this engine and machine: a WebAssembly loop of
 * independent f32x4 multiply-adds on registers (no memory traffic), the
 * ceiling every WebAssembly kernel is measured against.
 *
 * @module
 */

import { encodeModule, Fn, hasRelaxedSimd, I32, V128 } from "./binary.ts";
import { madd } from "./_simd.ts";

/** Independent accumulators: enough to cover the multiply-add latency on two ports. */
const CHAINS = 12;

/**
 * GFLOP/s of `iterations` x {@link CHAINS} f32x4 multiply-adds (8 flops each),
 * best of `repeats` timings; relaxed (fused) where the engine has it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { simdPeak } from "./peak.ts";
 * const p = simdPeak(10_000, 2);
 * assert.ok(p.gflops > 0);
 * ```
 */
export function simdPeak(
  iterations = 2_000_000,
  repeats = 5,
): { gflops: number; relaxed: boolean; description: string } {
  const relaxed = hasRelaxedSimd();
  const f = new Fn([I32]);
  const acc = Array.from({ length: CHAINS }, () => f.local(V128));
  const a = f.local(V128);
  const b = f.local(V128);
  f.v128Const([1, 1, 1, 1]).localSet(a).v128Const([1e-7, 1e-7, 1e-7, 1e-7]).localSet(b);
  f.loop();
  for (const c of acc) madd(f, { relaxed }, a, b, c);
  f.localGet(0).i32Const(1).i32Sub().localTee(0).brIf(0);
  f.end();
  // Keep the sums observable: store their total at address 0.
  f.i32Const(0);
  f.localGet(acc[0]);
  for (const c of acc.slice(1)) f.localGet(c).f32x4Add();
  f.v128Store(0);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = encodeModule([{ fn: f, export: "run" }], { memoryPages: 1 });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const run = exports.run as (n: number) => void;
  run(1000);
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    run(iterations);
    best = Math.min(best, performance.now() - t0);
  }
  const flops = iterations * CHAINS * 8;
  return {
    gflops: flops / (best * 1e6),
    relaxed,
    description: `${CHAINS} independent f32x4 ${relaxed ? "relaxed_madd" : "mul + add"} chains`,
  };
}
