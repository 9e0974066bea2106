/**
 * The main thread's handle on a runtime loaded in its own worker
 * (bench/worker.ts): load, time, close, one request at a time.
 *
 * @module
 */

import type { Knobs } from "../lib/models/registry.ts";
import type { WorkerReply, WorkerRequest } from "./worker.ts";

/** A runtime with one model loaded in a dedicated worker. */
export class RemoteRuntime {
  readonly #worker: Worker;
  #pending: ((r: WorkerReply) => void) | undefined;
  #closed = false;

  private constructor(readonly runtime: string) {
    this.#worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const resolve = this.#pending;
      this.#pending = undefined;
      resolve?.(e.data);
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const resolve = this.#pending;
      this.#pending = undefined;
      resolve?.({ type: "error", message: e.message });
    };
  }

  #ask(req: WorkerRequest): Promise<WorkerReply> {
    if (this.#pending) throw new Error(`Worker "${this.runtime}" is busy`);
    return new Promise((resolve) => {
      this.#pending = resolve;
      this.#worker.postMessage(req);
    });
  }

  /**
   * Starts a worker, loads the zoo model `model` with `knobs` into `runtime`
   * (seeded weights and input) and returns it with its first output.
   * Rejects with the worker's error message if loading or the first run fails.
   */
  static async load(
    runtime: string,
    model: string,
    knobs: Knobs,
  ): Promise<{ remote: RemoteRuntime; output: Float32Array }> {
    const remote = new RemoteRuntime(runtime);
    const r = await remote.#ask({ type: "load", runtime, model, knobs });
    if (r.type !== "loaded") {
      remote.terminate();
      throw new Error(r.type === "error" ? r.message : `unexpected reply "${r.type}"`);
    }
    return { remote, output: r.output };
  }

  /** `n` timed inferences, timed inside the worker (ms each). */
  async time(n: number): Promise<number[]> {
    const r = await this.#ask({ type: "time", n });
    if (r.type !== "times") {
      throw new Error(r.type === "error" ? r.message : `unexpected reply "${r.type}"`);
    }
    return r.ms;
  }

  /** Disposes the runtime and ends the worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#ask({ type: "close" });
    } finally {
      this.terminate();
    }
  }

  /** Ends the worker at once. */
  terminate(): void {
    this.#closed = true;
    this.#worker.terminate();
  }
}
