/**
 * Our generated module (codegen/compile.ts) as a benchmark runner, and its
 * per-layer profile: the emitted source with a timer around each kernel call
 * of `inferInto`, so every kernel is timed in place, on its real inputs, in
 * the order and cache state of a real inference.
 *
 * @module
 */

import { estimateCost } from "../../lib/analysis/cost.ts";
import { inferShapes } from "../../lib/analysis/shapes.ts";
import type { Graph } from "../../lib/ir/graph.ts";
import { numel } from "../../lib/ir/ops.ts";
import type { Weights } from "../../lib/runtime/weights.ts";
import { compile, type GeneratedModule } from "../../codegen/compile.ts";
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
export async function importGenerated(source: string): Promise<GeneratedModule> {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-bench-" });
  const path = `${dir}/model.gen.ts`;
  try {
    await Deno.writeTextFile(path, `// @ts-nocheck\n${source}`);
    return (await import(new URL(`file://${path}`).href)) as GeneratedModule;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Compiles `graph` with `weights` and returns the module's `infer`. */
export async function loadGenerated(
  graph: Graph,
  weights: Weights,
): Promise<(input: Float32Array) => Float32Array> {
  const m = await importGenerated(compile(graph, weights).source);
  return (input) => m.infer(input);
}

/** The generated module as a {@link Runner} (NCHW input, as the module takes it). */
export async function generatedRunner(graph: Graph, weights: Weights): Promise<Runner> {
  const infer = await loadGenerated(graph, weights);
  return {
    name: "generated",
    prepare: (input) => input,
    run: (prepared) => Promise.resolve(infer(prepared)),
    dispose: () => {},
  };
}

const PROFILE_ARRAY = "__lightnetsBenchProfile";

/**
 * Wraps each kernel call of the module's `inferInto` in a timer that adds
 * its wall time to `__lightnetsBenchProfile[k]` (k = call index), and exports
 * that array. Throws if the number of calls found differs from `expected`
 * (the plan's step count), so a change of the emitted layout cannot go
 * unnoticed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { instrumentSource } from "./generated.ts";
 * const src = [
 *   "export function inferInto(input: Float32Array, output: Float32Array): void {",
 *   "  for (let n = 0; n < 1; n++) {",
 *   "    // \"conv\"",
 *   "    f32_conv_k3(input, 0, A, 0, W, 0);",
 *   "  }",
 *   "}",
 * ].join("\n");
 * const out = instrumentSource(src, 1);
 * assert.match(out, /__lightnetsBenchProfile\[0\] \+= performance\.now\(\) - t0;/);
 * assert.throws(() => instrumentSource(src, 2), /found 1 kernel calls, expected 2/);
 * ```
 */
export function instrumentSource(source: string, expected: number): string {
  const lines = source.split("\n");
  const start = lines.findIndex((l) => l.startsWith("export function inferInto("));
  if (start < 0) throw new Error("Cannot profile the module: no inferInto function found");
  let end = start + 1;
  while (end < lines.length && lines[end] !== "}") end++;
  let k = 0;
  for (let i = start + 1; i < end; i++) {
    const m = lines[i].match(/^(\s*)(f32_\w+\(.*\);)\s*$/);
    if (!m) continue;
    lines[i] = `${m[1]}{ const t0 = performance.now(); ${
      m[2]
    } ${PROFILE_ARRAY}[${k}] += performance.now() - t0; }`;
    k++;
  }
  if (k !== expected) {
    throw new Error(
      `Cannot profile the module: found ${k} kernel calls, expected ${expected} (one per plan step)`,
    );
  }
  lines.push(`export const ${PROFILE_ARRAY} = new Float64Array(${k});`, "");
  return lines.join("\n");
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
 * inferences of an instrumented copy of the module, each kernel's median
 * over them. Also fits layer time on MAdds and on MAC.
 */
export async function layerProfile(
  graph: Graph,
  weights: Weights,
  input: Float32Array,
  repeats: number,
): Promise<
  { layers: LayerTiming[]; sumMs: number; r2Madds: number; r2Mac: number; r2Both: number }
> {
  const compiled = compile(graph, weights);
  const steps = compiled.plan.steps;
  const source = instrumentSource(compiled.source, steps.length);
  const m = (await importGenerated(source)) as GeneratedModule & {
    [PROFILE_ARRAY]: Float64Array;
  };
  const prof = m[PROFILE_ARRAY];
  for (let i = 0; i < 3; i++) m.infer(input);
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

/** The scalar-JS ceiling: a register-blocked GEMM of similar size, in this process. */
export function gemmCeiling(_quick: boolean): { gflops: number; description: string } {
  throw new Error("bench/codegen_bench.ts does not export the GEMM ceiling yet");
}
