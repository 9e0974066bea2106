/**
 * One runtime in its own worker (own isolate, heap and JIT state, own copy
 * of tfjs), so runtimes timed in one process do not slow each other: tfjs's
 * CPU and WASM backends share one engine and measurably slow each other down
 * when switched back and forth in one isolate. The main thread drives the
 * workers one at a time, so each runtime still has one thread to itself.
 *
 * Protocol (main -> worker -> main):
 * - `{ type: "load", runtime, model, knobs }` -> `{ type: "loaded", output }`:
 *   builds the zoo model with the benchmark's seeded weights and input, loads
 *   it, runs it once and returns the output for checking (the first-result
 *   time is measured in fresh processes instead, bench/first_result.ts);
 * - `{ type: "time", n }` -> `{ type: "times", ms }`: `n` timed inferences;
 * - `{ type: "close" }` -> `{ type: "closed" }`;
 * - any failure -> `{ type: "error", message }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { zoo } from "../lib/models/zoo.ts";
import type { Knobs } from "../lib/models/registry.ts";
import { randomInput } from "../lib/runtime/tensor.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { createRunner, isRuntime } from "./peers/factories.ts";
import type { Runner } from "./peers/runner.ts";
import { INPUT_SEED, WEIGHT_SEED } from "./seeds.ts";

/** A request to the worker. */
export type WorkerRequest =
  | { type: "load"; runtime: string; model: string; knobs: Knobs }
  | { type: "time"; n: number }
  | { type: "close" };

/** A reply from the worker. */
export type WorkerReply =
  | { type: "loaded"; output: Float32Array }
  | { type: "times"; ms: number[] }
  | { type: "closed" }
  | { type: "error"; message: string };

let runner: Runner | undefined;
let prepared: Float32Array | undefined;

function reply(r: WorkerReply): void {
  self.postMessage(r);
}

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const req = e.data;
  try {
    if (req.type === "load") {
      if (!isRuntime(req.runtime)) throw new RangeError(`Unknown runtime "${req.runtime}"`);
      const graph = zoo.build(req.model, req.knobs);
      const weights = randomWeights(graph, WEIGHT_SEED);
      const input = randomInput(graph.inputs[0].shape, INPUT_SEED);
      runner = await createRunner(req.runtime, graph, weights);
      prepared = runner.prepare(input);
      const output = await runner.run(prepared);
      reply({ type: "loaded", output });
    } else if (req.type === "time") {
      if (!runner || !prepared) throw new Error("Nothing loaded to time");
      const ms: number[] = [];
      for (let i = 0; i < req.n; i++) {
        const t0 = performance.now();
        await runner.run(prepared);
        ms.push(performance.now() - t0);
      }
      reply({ type: "times", ms });
    } else {
      await runner?.dispose();
      reply({ type: "closed" });
      self.close();
    }
  } catch (err) {
    reply({
      type: "error",
      message: err instanceof Error ? err.message.split("\n")[0] : String(err),
    });
  }
};
