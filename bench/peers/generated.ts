/**
 * Our generated module (codegen/compile.ts) as a benchmark runner, and its
 * per-layer profile: the profiling build of the module (`compile(..., {
 * profile: true })`, a timer around each kernel call of `inferInto`), so
 * every kernel is timed in place, on its real inputs, in the order and cache
 * state of a real inference.
 *
 * @module
 */

import { estimateCost } from "../../lib/analysis/cost.ts";
import { inferShapes } from "../../lib/analysis/shapes.ts";
import type { Graph } from "../../lib/ir/graph.ts";
import { numel } from "../../lib/ir/ops.ts";
import type { Weights } from "../../lib/runtime/weights.ts";
import { compile, type GeneratedModule, loadModule, type Target } from "../../codegen/compile.ts";
import type { KernelPlan } from "../../codegen/plan.ts";
import type { LayerTiming } from "../results.ts";
import { linearFit, median } from "../stats.ts";
import type { Runner } from "./runner.ts";

/**
 * Imports generated module source through a temporary file. The file starts
 * with `// @ts-nocheck`: codegen's own tests type-check every emitted module,
 * and under `deno test` an import would otherwise type-check megabytes of
 * inlined weights again on every load.
 */
export function importGenerated(
  source: string,
  ext: "ts" | "js" = "ts",
): Promise<GeneratedModule> {
  return loadModule(ext === "ts" ? `// @ts-nocheck\n${source}` : source, ext);
}

/** Compiles `graph` with `weights` for `target` and returns the module's `infer`. */
export async function loadGenerated(
  graph: Graph,
  weights: Weights,
  target: Target = "ts",
): Promise<(input: Float32Array) => Float32Array> {
  const m = await importGenerated(compile(graph, weights, { target }).source);
  return (input) => m.infer(input);
}

/**
 * The generated module as a {@link Runner} (NCHW input, as the module takes
 * it), on `threads` threads (wasm target only; `dispose` stops its workers), imported as its `--emit js` JavaScript (what ships to Node or a
 * browser; no transpile at import). `codegenMs` is the time spent generating
 * the source, which a user of a generated module never pays (the
 * first-result time leaves it out).
 */
export async function generatedRunner(
  graph: Graph,
  weights: Weights,
  target: Target = "ts",
  threads = 1,
): Promise<Runner> {
  // Generating the source is the toolkit's work, not the module's.
  const t0 = performance.now();
  const wasm = target === "wasm" ? { threads } : undefined;
  const { source } = compile(graph, weights, { target, emit: "js", wasm });
  const codegenMs = performance.now() - t0;
  const m = await importGenerated(source, "js");
  const infer = (input: Float32Array) => m.infer(input);
  const threaded = m as GeneratedModule & { dispose?: () => void };
  return {
    name: target === "ts"
      ? "generated"
      : threads > 1
      ? `generated-wasm-${threads}t`
      : "generated-wasm",
    codegenMs,
    prepare: (input) => input,
    run: (prepared) => Promise.resolve(infer(prepared)),
    dispose: () => threaded.dispose?.(),
  };
}

/**
 * MAdds and MAC of each plan step (a fused kernel: conv + folded BN +
 * activation + residual add). MAC counts what the fused kernel moves: the
 * per-node MAC of the folded graph summed over the step's nodes, minus the
 * intermediate tensors the kernel never materializes (written and read once
 * each between two nodes of the step).
 */
export function stepCosts(plan: KernelPlan): { madds: number; mac: number; kind: string }[] {
  const costs = new Map(estimateCost(inferShapes(plan.graph)).map((c) => [c.name, c]));
  return plan.steps.map((s) => {
    let madds = 0;
    let mac = 0;
    s.layers.forEach((name, i) => {
      const c = costs.get(name);
      if (!c) return;
      madds += c.madds;
      mac += c.mac.total;
      if (i < s.layers.length - 1) mac -= 2 * numel(c.shape);
    });
    const spec = s.spec;
    const grouped = spec.family === "pwconv" && spec.groups > 1 ? " (grouped)" : "";
    return { madds, mac, kind: spec.family + grouped };
  });
}

/**
 * Times every kernel of the generated module in place: `repeats`
 * inferences of the module's profiling build, each kernel's median
 * over them. Also fits layer time on MAdds and on MAC.
 */
export async function layerProfile(
  graph: Graph,
  weights: Weights,
  input: Float32Array,
  repeats: number,
  target: Target = "ts",
): Promise<
  { layers: LayerTiming[]; sumMs: number; r2Madds: number; r2Mac: number; r2Both: number }
> {
  const compiled = compile(graph, weights, { profile: true, target });
  const steps = compiled.plan.steps;
  const m = (await importGenerated(compiled.source)) as GeneratedModule & {
    stepMs?: Float64Array;
  };
  const prof = m.stepMs;
  if (!prof || prof.length !== steps.length) {
    throw new Error(
      `The profiling build exports ${prof?.length ?? "no"} step timers, expected ${steps.length}`,
    );
  }
  // Warm up like the whole-module timing: V8 optimizes the kernels one by one.
  const warm = performance.now();
  for (let i = 0; i < 10 || performance.now() - warm < 2000; i++) m.infer(input);
  const samples: number[][] = steps.map(() => []);
  for (let r = 0; r < repeats; r++) {
    prof.fill(0);
    m.infer(input);
    for (let k = 0; k < steps.length; k++) samples[k].push(prof[k]);
  }
  const costs = stepCosts(compiled.plan);
  const layers: LayerTiming[] = steps.map((s, k) => ({
    name: s.layers.join("+"),
    kind: costs[k].kind,
    ms: median(samples[k]),
    madds: costs[k].madds,
    mac: costs[k].mac,
  }));
  const ms = layers.map((l) => l.ms);
  return {
    layers,
    sumMs: ms.reduce((a, b) => a + b, 0),
    r2Madds: linearFit(layers.map((l) => l.madds), ms).r2,
    r2Mac: linearFit(layers.map((l) => l.mac), ms).r2,
    r2Both: fit2(layers.map((l) => l.madds), layers.map((l) => l.mac), ms),
  };
}

/** R^2 of the least-squares fit `y = a + b*x1 + c*x2` (normal equations, 3x3). */
export function fit2(x1: readonly number[], x2: readonly number[], y: readonly number[]): number {
  const n = y.length;
  if (n < 4) return NaN;
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / n;
  const m1 = mean(x1);
  const m2 = mean(x2);
  const my = mean(y);
  let s11 = 0, s22 = 0, s12 = 0, s1y = 0, s2y = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x1[i] - m1;
    const b = x2[i] - m2;
    const c = y[i] - my;
    s11 += a * a;
    s22 += b * b;
    s12 += a * b;
    s1y += a * c;
    s2y += b * c;
    syy += c * c;
  }
  const det = s11 * s22 - s12 * s12;
  if (det === 0 || syy === 0) return NaN;
  const b1 = (s1y * s22 - s2y * s12) / det;
  const b2 = (s2y * s11 - s1y * s12) / det;
  return (b1 * s1y + b2 * s2y) / syy;
}

export { gemmCeiling } from "../codegen_bench.ts";
