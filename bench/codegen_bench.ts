/**
 * Codegen benchmark: the generated ShuffleNet V2 1.0 and MobileNet V2 1.0 at
 * 224 (batch 1, one thread) against the reference executor and a
 * register-blocked GEMM of similar size (the scalar-JS ceiling), all in the
 * same process and run, plus the time codegen itself takes and the time per
 * kernel family.
 *
 * `deno run -A bench/codegen_bench.ts [--quick] [--json] [--models a,b]`
 *
 * GFLOP/s counts FLOPs as lib/analysis/cost.ts does (2 x MAdds plus
 * element-wise work), so a network's figure is comparable with the GEMM's
 * (2 x M x N x K per product).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { estimateCost, sumCosts } from "../lib/analysis/cost.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import { zoo } from "../lib/models/zoo.ts";
import { runReference } from "../lib/runtime/reference.ts";
import { maxAbs, maxAbsDiff, randomInput } from "../lib/runtime/tensor.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { compile, loadModule } from "../codegen/compile.ts";

/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One register blocking of the GEMM ceiling: outputs x pixels, and the reduction loop's direction. */
interface Blocking {
  ob: number;
  pb: number;
  /** Count the reduction loop down to zero instead of up to `k`. */
  down: boolean;
}

/**
 * `y[o][p] = sum_c w[o][c] * x[c][p]` (a pointwise conv as a GEMM: `m` output
 * channels, `k` input channels, `n` pixels), register-blocked `ob` outputs x
 * `pb` pixels with `w` packed per block so the reduction reads it
 * contiguously. Returns the kernel; the blocking is a parameter so the
 * ceiling takes the best of several.
 */
function blockedGemm(m: number, n: number, k: number, b: Blocking) {
  const { ob, pb } = b;
  const lines: string[] = [];
  const js = Array.from({ length: ob }, (_, j) => j);
  const qs = Array.from({ length: pb }, (_, q) => q);
  lines.push(`for (let o = 0; o + ${ob} <= ${m}; o += ${ob}) {`);
  lines.push(`  for (let p = 0; p + ${pb} <= ${n}; p += ${pb}) {`);
  lines.push(`    let ${js.flatMap((j) => qs.map((q) => `a${j}_${q} = 0`)).join(", ")};`);
  lines.push(`    let xi = p, wi = o * ${k};`);
  lines.push(
    b.down ? `    for (let c = ${k}; c > 0; c--) {` : `    for (let c = 0; c < ${k}; c++) {`,
  );
  lines.push(`      const ${qs.map((q) => `x${q} = x[xi + ${q}]`).join(", ")};`);
  for (const j of js) {
    lines.push(`      const w${j} = w[wi + ${j}];`);
    lines.push(`      ${qs.map((q) => `a${j}_${q} += w${j} * x${q};`).join(" ")}`);
  }
  lines.push(`      xi += ${n}; wi += ${ob};`);
  lines.push("    }");
  for (const j of js) {
    for (const q of qs) lines.push(`    y[(o + ${j}) * ${n} + p + ${q}] = a${j}_${q};`);
  }
  lines.push("  }");
  lines.push("}");
  return new Function("x", "w", "y", lines.join("\n")) as (
    x: Float32Array,
    w: Float32Array,
    y: Float32Array,
  ) => void;
}

/**
 * The blockings the ceiling tries. 3x4 and 4x3 keep 12 accumulators plus the
 * loaded operands within the 16 float registers of x86-64; 2x4 and 2x6 use
 * fewer, 4x4 spills. Measured on this machine class (interleaved, median of 25
 * rounds): 3x4 and 4x3 within 2% of each other and fastest, 4x4 4%, 3x8 and
 * 4x8 7-12%, 2x4 10-23% slower; unrolling the reduction by 2 or 4 was 8-30%
 * slower (the loads of every step are hoisted and spill); counting the
 * reduction down won 6-16% in one process and lost in another, so both run.
 */
const BLOCKINGS: Blocking[] = [
  { ob: 3, pb: 4, down: true },
  { ob: 3, pb: 4, down: false },
  { ob: 4, pb: 3, down: true },
  { ob: 4, pb: 4, down: true },
  { ob: 2, pb: 6, down: true },
  { ob: 2, pb: 4, down: true },
];

/**
 * The scalar-JS ceiling: the best GFLOP/s of several register-blocked GEMMs
 * (see `BLOCKINGS`) of a typical pointwise-layer size (ShuffleNet V2 stage 3:
 * 116 x 116 channels x 28 x 28 pixels, 21 MFLOP), timed in this process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gemmCeiling } from "./codegen_bench.ts";
 * const c = gemmCeiling(true);
 * assert.ok(c.gflops > 0 && Number.isFinite(c.gflops));
 * assert.match(c.description, /GEMM 116x784x116/);
 * ```
 */
export function gemmCeiling(quick: boolean): { gflops: number; description: string } {
  const g = gemmSampler(quick);
  const samples = Array.from({ length: quick ? 3 : 7 }, () => g.sample());
  return { gflops: median(samples), description: g.description };
}

/**
 * The GEMM ceiling as a sampler: picks the best blocking once, then each
 * `sample()` times a few products and returns GFLOP/s, so a benchmark can
 * interleave ceiling samples with its own runs and compare within the same
 * seconds of machine load. The blockings are compared in interleaved rounds
 * (each round times every one), so a burst of load from another process
 * cannot make a slow blocking win.
 */
export function gemmSampler(quick: boolean): { sample(): number; description: string } {
  const [m, n, k] = [116, 784, 116];
  const x = randomInput([k, n], 1);
  const w = randomInput([m, k], 2);
  const y = new Float32Array(m * n);
  const flops = 2 * m * n * k;
  const reps = 3;
  const timeOnce = (f: ReturnType<typeof blockedGemm>) => {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f(x, w, y);
    return flops * reps / (performance.now() - t0) / 1e6;
  };
  const candidates = BLOCKINGS.map((b) => ({
    b,
    f: blockedGemm(m, n, k, b),
    gflops: [] as number[],
  }));
  for (const c of candidates) {
    for (let i = 0; i < (quick ? 5 : 40); i++) c.f(x, w, y); // warm-up: let the JIT optimize
  }
  for (let round = 0; round < (quick ? 3 : 15); round++) {
    for (const c of candidates) c.gflops.push(timeOnce(c.f));
  }
  const best = candidates.reduce((a, c) => median(c.gflops) > median(a.gflops) ? c : a);
  const { ob, pb, down } = best.b;
  return {
    sample: () => timeOnce(best.f),
    description: `register-blocked GEMM ${m}x${n}x${k} (best block ${ob}x${pb} outputs x pixels${
      down ? ", reduction counting down" : ""
    }), ${(flops / 1e6).toFixed(1)} MFLOP`,
  };
}

/**
 * Runs `f` until V8 has optimized every kernel: each kernel runs once per
 * inference, and a large unrolled function only reaches TurboFan after many
 * calls (measured here: MobileNet V2 ran about 2x slower after 4 warm-up
 * inferences than after 150). At least 100 runs (20 when quick), at most 30 s.
 */
function warmUp(f: () => void, quick: boolean): void {
  const t0 = performance.now();
  for (let i = 0; i < (quick ? 20 : 100) && performance.now() - t0 < 30_000; i++) f();
}

/** One model's figures. */
export interface CodegenBenchRow {
  model: string;
  knobs: Record<string, number>;
  flops: number;
  codegenMs: number;
  generatedMs: number;
  generatedGflops: number;
  referenceMs: number;
  /** GEMM ceiling (GFLOP/s), median of samples taken between the timed inferences. */
  ceilingGflops: number;
  /** Generated GFLOP/s over the GEMM ceiling's. */
  ofCeiling: number;
  maxRelDiff: number;
  /** Milliseconds per kernel family in one inference (profiling build). */
  families: Record<string, number>;
}

/** Times one model: codegen, generated (median), reference, per-family profile. */
export async function benchModel(
  name: string,
  knobs: Record<string, number>,
  gemm: { sample(): number },
  quick: boolean,
): Promise<CodegenBenchRow> {
  const graph = zoo.build(name, knobs);
  const weights = randomWeights(graph, 0);
  const flops = sumCosts(estimateCost(inferShapes(graph))).flops.total;
  const input = randomInput(graph.inputs[0].shape, 42);

  const t0 = performance.now();
  const compiled = compile(graph, weights, { model: name });
  const codegenMs = performance.now() - t0;

  const mod = await loadModule(compiled.source);
  const out = mod.infer(input);
  warmUp(() => mod.inferInto(input, out), quick);
  // Inferences alternate with ceiling samples, so both see the same load.
  const times: number[] = [];
  const ceilings: number[] = [];
  for (let i = 0; i < (quick ? 5 : 30); i++) {
    const t = performance.now();
    mod.inferInto(input, out);
    times.push(performance.now() - t);
    ceilings.push(gemm.sample());
  }
  const generatedMs = median(times);
  const ceiling = median(ceilings);

  const tr = performance.now();
  const ref = runReference(graph, weights, input);
  const referenceMs = performance.now() - tr;

  // Per-family time from a build with a timer around every kernel call.
  const prof = await loadModule(compile(graph, weights, { model: name, profile: true }).source);
  const stepMs = (prof as unknown as { stepMs: Float64Array }).stepMs;
  const pout = prof.infer(input);
  warmUp(() => prof.inferInto(input, pout), quick);
  stepMs.fill(0);
  const runs = quick ? 3 : 10;
  for (let i = 0; i < runs; i++) prof.inferInto(input, pout);
  const families: Record<string, number> = {};
  compiled.plan.steps.forEach((s, i) => {
    families[s.spec.family] = (families[s.spec.family] ?? 0) + stepMs[i] / runs;
  });

  const generatedGflops = flops / generatedMs / 1e6;
  return {
    model: name,
    knobs,
    flops,
    codegenMs,
    generatedMs,
    generatedGflops,
    referenceMs,
    ceilingGflops: ceiling,
    ofCeiling: generatedGflops / ceiling,
    maxRelDiff: maxAbsDiff(out, ref) / maxAbs(ref),
    families,
  };
}

const DEFAULT_MODELS = ["shufflenetv2", "mobilenetv2"];

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      models: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno run -A bench/codegen_bench.ts [--quick] [--json] [--models shufflenetv2,mobilenetv2]",
    );
    Deno.exit(0);
  }
  const quick = values.quick ?? false;
  const gemm = gemmSampler(quick);
  const rows: CodegenBenchRow[] = [];
  for (const name of values.models?.split(",") ?? DEFAULT_MODELS) {
    rows.push(await benchModel(name, { width: 1, resolution: 224 }, gemm, quick));
  }
  if (values.json) {
    console.log(JSON.stringify({ ceiling: gemm.description, rows }, null, 2));
  } else {
    console.log(`Ceiling: ${gemm.description}, sampled between the timed inferences`);
    for (const r of rows) {
      console.log(
        `${r.model} 1.0 @224: generated ${r.generatedMs.toFixed(1)} ms (${
          r.generatedGflops.toFixed(2)
        } GFLOP/s, ${(100 * r.ofCeiling).toFixed(0)}% of the ceiling's ${
          r.ceilingGflops.toFixed(2)
        }), reference ${r.referenceMs.toFixed(0)} ms (${
          (r.referenceMs / r.generatedMs).toFixed(0)
        }x), codegen ${r.codegenMs.toFixed(0)} ms, max rel diff ${r.maxRelDiff.toExponential(1)}`,
      );
      const fam = Object.entries(r.families).sort((a, b) => b[1] - a[1]);
      console.log(`  per family: ${fam.map(([f, ms]) => `${f} ${ms.toFixed(2)} ms`).join(", ")}`);
    }
  }
}
