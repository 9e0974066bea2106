/**
 * `--tune`: picks each pointwise layer's register blocking by timing the
 * candidates on this machine. For each candidate blocking, the whole model is
 * generated with every pointwise kernel in that blocking (profiling build),
 * run, and each step timed in place (best of `runs`); each kernel then takes
 * the candidate with the lowest time summed over the steps that call it. The
 * default (no tuning) is deterministic: {@link pwBlocking}.
 *
 * @module
 */

import type { Graph } from "../../lib/ir/graph.ts";
import type { Weights } from "../../lib/runtime/weights.ts";
import { randomInput } from "../../lib/runtime/tensor.ts";
import { compile, loadModule } from "../compile.ts";
import { kernelName, type PwconvSpec } from "../spec.ts";
import { type Blocking, PW_BLOCKINGS, pwBlocking, pwCandidates } from "./pointwise.ts";

/** What tuning chose and measured. */
export interface Tuning {
  /** The blocking of each pointwise kernel, by TypeScript kernel name. */
  pwBlocking: Map<string, Blocking>;
  /** Summed best step times of the default blocking and of the chosen ones, ms. */
  defaultMs: number;
  tunedMs: number;
}

/**
 * Times the pointwise blocking candidates of `graph` (with `weights`) and
 * returns the fastest per kernel. `runs` inferences per candidate (after
 * `runs` warm-up ones); `log` reports progress.
 */
export async function tuneWasm(
  graph: Graph,
  weights: Weights,
  runs = 15,
  log: (line: string) => void = () => {},
): Promise<Tuning> {
  const key = (b: Blocking) => `${b.ob}x${4 * b.pv}`;
  // kernel name -> candidate key -> summed best time
  const times = new Map<string, Map<string, number>>();
  const specs = new Map<string, PwconvSpec>();
  let defaultMs = 0;
  for (const cand of PW_BLOCKINGS) {
    const choice = new Map<string, Blocking>();
    const compiled0 = compile(graph, weights, { target: "wasm" });
    for (const step of compiled0.plan.steps) {
      if (step.spec.family !== "pwconv") continue;
      const name = kernelName(step.spec);
      specs.set(name, step.spec);
      const ok = pwCandidates(step.spec).some((b) => key(b) === key(cand));
      choice.set(name, ok ? cand : pwBlocking(step.spec));
    }
    const c = compile(graph, weights, {
      target: "wasm",
      profile: true,
      wasm: { pwBlocking: choice },
    });
    const m = (await loadModule(c.source)) as unknown as {
      stepMs: Float64Array;
      inferAll(x: Float32Array | Record<string, Float32Array>): unknown;
    };
    const inputs = Object.fromEntries(
      graph.inputs.map((i, k) => [i.name, randomInput(i.shape, 1 + k)]),
    );
    for (let i = 0; i < runs; i++) m.inferAll(inputs);
    const best = new Float64Array(c.plan.steps.length).fill(Infinity);
    for (let i = 0; i < runs; i++) {
      m.stepMs.fill(0);
      m.inferAll(inputs);
      m.stepMs.forEach((t, k) => (best[k] = Math.min(best[k], t)));
    }
    c.plan.steps.forEach((step, k) => {
      if (step.spec.family !== "pwconv") return;
      const name = kernelName(step.spec);
      if (key(choice.get(name)!) !== key(cand)) return;
      const per = times.get(name) ?? new Map<string, number>();
      per.set(key(cand), (per.get(key(cand)) ?? 0) + best[k]);
      times.set(name, per);
      if (key(cand) === key(pwBlocking(step.spec))) defaultMs += best[k];
    });
    log(`tune: pointwise blocking ${key(cand)} timed`);
  }
  const pw = new Map<string, Blocking>();
  let tunedMs = 0;
  for (const [name, per] of times) {
    const [bestKey, ms] = [...per].sort((a, b) => a[1] - b[1])[0];
    tunedMs += ms;
    pw.set(name, pwCandidates(specs.get(name)!).find((b) => key(b) === bestKey)!);
  }
  return { pwBlocking: pw, defaultMs, tunedMs };
}
