/**
 * Test support: run a graph through codegen and through the reference
 * executor on the same seeded weights and input, with the output pre-filled
 * with NaN so an element no kernel writes fails the comparison.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Graph } from "../lib/ir/graph.ts";
import { numel } from "../lib/ir/ops.ts";
import type { Knobs } from "../lib/models/registry.ts";
import { zoo } from "../lib/models/zoo.ts";
import { runReferenceOutputs } from "../lib/runtime/reference.ts";
import { argmax, maxAbs, maxAbsDiff, randomInput } from "../lib/runtime/tensor.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { compile, type Compiled, type CompileOptions, loadModule } from "./compile.ts";

/** The tolerance of every differential test: max |gen - ref| <= TOL * max |ref|. */
export const TOL = 1e-4;

/** The outcome of one differential run. */
export interface Differential {
  compiled: Compiled;
  /** max |gen - ref| / max |ref| (0 when both are all zeros). */
  relative: number;
  sameTop1: boolean;
}

/**
 * Compiles `graph` with seeded weights, runs generated and reference on
 * seeded inputs (one per graph input), writing every output into a
 * NaN-prefilled array, and asserts no NaN is left and each output's relative
 * error is within {@link TOL}. `relative` is the worst over the outputs;
 * `sameTop1` compares the primary output. `options` picks the target
 * (TypeScript by default).
 */
export async function differential(
  graph: Graph,
  seed = 1,
  options: CompileOptions = {},
): Promise<Differential> {
  const weights = randomWeights(graph, seed);
  const compiled = compile(graph, weights, options);
  const mod = await loadModule(compiled.source);
  const inputs = Object.fromEntries(
    graph.inputs.map((i, k) => [i.name, randomInput(i.shape, seed + 1000 + k)]),
  );
  const outputs = Object.fromEntries(
    mod.outputNames.map((
      name,
      k,
    ) => [name, new Float32Array(numel(mod.outputShapes[k])).fill(NaN)]),
  );
  mod.inferAllInto(inputs, outputs);
  const reference = runReferenceOutputs(graph, weights, inputs);
  assert.deepEqual(mod.outputNames, graph.outputs.map((o) => o.name), "output names");
  let relative = 0;
  for (const { name } of graph.outputs) {
    const got = outputs[name];
    const want = reference[name];
    assert.equal(got.length, want.length, `output "${name}" length`);
    const unwritten = got.findIndex((v) => Number.isNaN(v));
    const wantNaN = want.findIndex((v) => Number.isNaN(v));
    assert.equal(
      unwritten,
      wantNaN,
      `output "${name}" element ${unwritten} was never written (still NaN)`,
    );
    const scale = maxAbs(want);
    const diff = maxAbsDiff(got, want);
    const r = scale === 0 ? diff : diff / scale;
    assert.ok(
      r <= TOL,
      `output "${name}": max |gen - ref| = ${diff} is ${r} of max |ref| = ${scale}, above ${TOL}`,
    );
    relative = Math.max(relative, r);
  }
  const primary = graph.outputs[0].name;
  return {
    compiled,
    relative,
    sameTop1: argmax(outputs[primary]) === argmax(reference[primary]),
  };
}

/** Reduced resolution of a zoo model: 64, or the model's minimum when that is larger. */
function reduced(name: string): Knobs {
  const spec = zoo.resolve(name).model.knobs.find((k) => k.name === "resolution");
  return spec ? { resolution: Math.max(64, spec.min ?? 0) } : {};
}

/**
 * The zoo cases every codegen target is tested on: each model at reduced
 * resolution (fast), and ShuffleNet V2 1.0 and MobileNet V2 1.0 at 224 as
 * published.
 */
export const ZOO_CASES: readonly { name: string; knobs: Knobs }[] = [
  ...zoo.list().map((m) => ({ name: m.name, knobs: reduced(m.name) })),
  { name: "shufflenetv2", knobs: { width: 1, resolution: 224 } },
  { name: "mobilenetv2", knobs: { width: 1, resolution: 224 } },
];

/** What `deno check` (when asked) and `deno run` printed for a module run alone. */
export interface AloneRun {
  check?: { code: number; stderr: string };
  run: { code: number; stdout: string; stderr: string };
}

/**
 * Writes a generated module alone into an empty temporary directory (no
 * deno.json, no import map) and runs it there with `deno run --no-config`
 * and no permission flag, after `deno check --no-config` when `check` is set.
 */
export async function runAlone(source: string, check = false): Promise<AloneRun> {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-alone-" });
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  try {
    await Deno.writeTextFile(`${dir}/model.gen.ts`, source);
    const result: AloneRun = { run: { code: -1, stdout: "", stderr: "" } };
    if (check) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["check", "--quiet", "--no-config", "model.gen.ts"],
        cwd: dir,
        stderr: "piped",
      }).output();
      result.check = { code: out.code, stderr: text(out.stderr) };
      if (out.code !== 0) return result;
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "model.gen.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    result.run = { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
    return result;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
