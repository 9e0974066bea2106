/**
 * One first-result sample (bench/first_result.ts): run as `deno run -A
 * bench/first_result_child.ts '<json>'` in a fresh process, it loads one
 * runtime the way a user's program would and runs one inference, then prints
 * `{"ms": N}`: `performance.now()` at the first output, the milliseconds
 * since this Deno process's runtime started (its time origin), minus only the
 * toolkit's own work where there is some: building the zoo graph and its
 * seeded weights for the runtimes that load from a graph rather than from a
 * file (tfjs), and generating a module's source when a generated runtime is
 * built from the graph (the runner's `codegenMs`).
 *
 * The request is one of
 * - `{ kind: "module", path }`: a generated module (`--emit js`, or `.ts`),
 *   imported from its file, run on an input of its `inputShape`;
 * - `{ kind: "onnx", flavor, path, inputShape }`: ONNX Runtime (node or
 *   web), imported, a session created from the `.onnx` file;
 * - `{ kind: "build", runtime, model, knobs }`: any runtime of
 *   bench/peers/factories.ts, loaded from the zoo graph.
 *
 * It imports nothing statically, so none of this file's dependencies are
 * loaded before the runtime under test (only `node:url`, a built-in, to turn
 * a module's path into a file URL).
 *
 * @module
 */

import type { Knobs } from "../lib/models/registry.ts";

/** What the child loads and runs. */
export type FirstResultRequest =
  | { kind: "module"; path: string }
  | { kind: "onnx"; flavor: "ort-node" | "ort-web"; path: string; inputShape: number[] }
  | { kind: "build"; runtime: string; model: string; knobs: Knobs };

/** The seeded input of every sample: the same values for every runtime. */
function input(length: number): Float32Array {
  return new Float32Array(length).map((_, i) => Math.sin(i));
}

async function sample(req: FirstResultRequest): Promise<number> {
  if (req.kind === "module") {
    const { pathToFileURL } = await import("node:url");
    const m = await import(pathToFileURL(req.path).href);
    if (!Array.isArray(m.inputShape) || typeof m.infer !== "function") {
      throw new TypeError(
        `Cannot time "${req.path}": not a generated module (expected exports inputShape and infer)`,
      );
    }
    const length = (m.inputShape as number[]).reduce((a, b) => a * b, 1);
    const out: Float32Array = m.infer(input(length));
    const t = performance.now();
    if (!(out instanceof Float32Array)) throw new TypeError("The module returned no Float32Array");
    m.dispose?.();
    return t;
  }
  if (req.kind === "onnx") {
    const { ortRunner } = await import("./peers/ort.ts");
    const bytes = await Deno.readFile(req.path);
    const runner = await ortRunner(req.flavor, bytes, req.inputShape);
    await runner.run(input(req.inputShape.reduce((a, b) => a * b, 1)));
    const t = performance.now();
    await runner.dispose();
    return t;
  }
  const t0 = performance.now();
  const { zoo } = await import("../lib/models/zoo.ts");
  const { randomWeights } = await import("../lib/runtime/weights.ts");
  const { createRunner, isRuntime } = await import("./peers/factories.ts");
  const { WEIGHT_SEED } = await import("./seeds.ts");
  if (!isRuntime(req.runtime)) throw new RangeError(`Unknown runtime "${req.runtime}"`);
  const graph = zoo.build(req.model, req.knobs);
  const weights = randomWeights(graph, WEIGHT_SEED);
  const setupMs = performance.now() - t0;
  const runner = await createRunner(req.runtime, graph, weights);
  const shape = graph.inputs[0].shape;
  await runner.run(runner.prepare(input(shape.reduce((a, b) => a * b, 1))));
  const t = performance.now() - setupMs - (runner.codegenMs ?? 0);
  await runner.dispose();
  return t;
}

if (import.meta.main) {
  try {
    const ms = await sample(JSON.parse(Deno.args[0]) as FirstResultRequest);
    console.log(JSON.stringify({ ms }));
    Deno.exit(0);
  } catch (e) {
    console.error(e instanceof Error ? e.message.split("\n")[0] : String(e));
    Deno.exit(1);
  }
}
