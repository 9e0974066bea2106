/**
 * `--tune`: picks each pointwise and general conv layer's register blocking
 * by timing the candidates on this machine. Candidate run `i` generates the
 * whole model with every pointwise kernel in the `i`-th pointwise blocking
 * and every general conv kernel in the `i`-th conv blocking (profiling
 * build), runs it, and times each step in place (best of `runs`); each
 * kernel then takes the candidate with the lowest time summed over the steps
 * that call it. The default (no tuning) is deterministic: {@link pwBlocking}
 * and {@link convBlocking}.
 *
 * @module
 */

import type { Graph } from "../../lib/ir/graph.ts";
import type { Weights } from "../../lib/runtime/weights.ts";
import { randomInput } from "../../lib/runtime/tensor.ts";
import { compile, loadModule } from "../compile.ts";
import {
  type ConvSpec,
  type Family,
  kernelName,
  type KernelSpec,
  type PwconvSpec,
} from "../spec.ts";
import { type Blocking, PW_BLOCKINGS, pwBlocking, pwCandidates } from "./pointwise.ts";
import { CONV_BLOCKINGS, type ConvBlocking, convBlocking, convCandidates } from "./conv.ts";

/** What tuning chose and measured. */
export interface Tuning {
  /** The blocking of each pointwise kernel, by TypeScript kernel name. */
  pwBlocking: Map<string, Blocking>;
  /** The blocking of each general conv kernel, by TypeScript kernel name. */
  convBlocking: Map<string, ConvBlocking>;
  /** Summed best step times of the default blocking and of the chosen ones, ms. */
  defaultMs: number;
  tunedMs: number;
}

/** A tuned family: its candidates in run order, those a spec takes, and its default. */
interface Tuned<S, B> {
  all: readonly B[];
  candidates(s: S): B[];
  fallback(s: S): B;
}

const TUNED = {
  pwconv: {
    all: PW_BLOCKINGS,
    candidates: pwCandidates,
    fallback: pwBlocking,
  } satisfies Tuned<PwconvSpec, Blocking>,
  conv: {
    all: CONV_BLOCKINGS,
    candidates: convCandidates,
    fallback: convBlocking,
  } satisfies Tuned<ConvSpec, ConvBlocking>,
};

type AnyBlocking = { ob: number; pv: number };
const key = (b: AnyBlocking) => `${b.ob}x${4 * b.pv}`;

function tunedOf(spec: KernelSpec): Tuned<KernelSpec, AnyBlocking> | undefined {
  const family: Family = spec.family;
  return family === "pwconv" || family === "conv"
    ? TUNED[family] as unknown as Tuned<KernelSpec, AnyBlocking>
    : undefined;
}

/**
 * Times the pointwise and general conv blocking candidates of `graph` (with
 * `weights`) and returns the fastest per kernel. `runs` inferences per
 * candidate (after `runs` warm-up ones); `log` reports progress.
 */
export async function tuneWasm(
  graph: Graph,
  weights: Weights,
  runs = 15,
  log: (line: string) => void = () => {},
): Promise<Tuning> {
  // kernel name -> candidate key -> summed best time
  const times = new Map<string, Map<string, number>>();
  const specs = new Map<string, KernelSpec>();
  let defaultMs = 0;
  const rounds = Math.max(TUNED.pwconv.all.length, TUNED.conv.all.length);
  const compiled0 = compile(graph, weights, { target: "wasm" });
  for (let i = 0; i < rounds; i++) {
    // The blocking each kernel runs in this round: the round's candidate where the
    // kernel takes it, else its default (timed, but not as a candidate).
    const choice = new Map<string, AnyBlocking>();
    const candidate = new Map<string, boolean>();
    for (const step of compiled0.plan.steps) {
      const t = tunedOf(step.spec);
      if (!t) continue;
      const name = kernelName(step.spec);
      specs.set(name, step.spec);
      const cand = t.all[i];
      const ok = cand !== undefined && t.candidates(step.spec).some((b) => key(b) === key(cand));
      choice.set(name, ok ? cand : t.fallback(step.spec));
      candidate.set(name, ok);
    }
    const pick = (family: Family) =>
      new Map([...choice].filter(([n]) => specs.get(n)!.family === family));
    const c = compile(graph, weights, {
      target: "wasm",
      profile: true,
      wasm: {
        pwBlocking: pick("pwconv"),
        convBlocking: pick("conv"),
      },
    });
    const m = (await loadModule(c.source)) as unknown as {
      stepMs: Float64Array;
      inferAll(x: Float32Array | Record<string, Float32Array>): unknown;
    };
    const inputs = Object.fromEntries(
      graph.inputs.map((inp, k) => [inp.name, randomInput(inp.shape, 1 + k)]),
    );
    for (let r = 0; r < runs; r++) m.inferAll(inputs);
    const best = new Float64Array(c.plan.steps.length).fill(Infinity);
    for (let r = 0; r < runs; r++) {
      m.stepMs.fill(0);
      m.inferAll(inputs);
      m.stepMs.forEach((t, k) => (best[k] = Math.min(best[k], t)));
    }
    c.plan.steps.forEach((step, k) => {
      const t = tunedOf(step.spec);
      if (!t) return;
      const name = kernelName(step.spec);
      if (!candidate.get(name)) return;
      const b = choice.get(name)!;
      const per = times.get(name) ?? new Map<string, number>();
      per.set(key(b), (per.get(key(b)) ?? 0) + best[k]);
      times.set(name, per);
      if (key(b) === key(t.fallback(step.spec))) defaultMs += best[k];
    });
    const names = [TUNED.pwconv.all[i], TUNED.conv.all[i]]
      .map((b, f) => b && `${f === 0 ? "pointwise" : "conv"} ${key(b)}`)
      .filter(Boolean);
    log(`tune: blocking ${names.join(", ")} timed`);
  }
  const pw = new Map<string, Blocking>();
  const conv = new Map<string, ConvBlocking>();
  let tunedMs = 0;
  for (const [name, per] of times) {
    const [bestKey, ms] = [...per].sort((a, b) => a[1] - b[1])[0];
    tunedMs += ms;
    const spec = specs.get(name)!;
    const b = tunedOf(spec)!.candidates(spec).find((c) => key(c) === bestKey)!;
    (spec.family === "pwconv" ? pw : conv).set(name, b);
  }
  return { pwBlocking: pw, convBlocking: conv, defaultMs, tunedMs };
}
