/**
 * The one interface every runtime under test implements, so the harness can
 * check, warm up and time them all the same way, round-robin.
 *
 * @module
 */

/** A network loaded in one runtime, ready to run batch-1 inference. */
export interface Runner {
  /** Short runtime name used in tables: `generated`, `reference`, `tfjs-cpu`, ... */
  name: string;
  /**
   * Turns our NCHW float32 input into what {@link Runner.run} takes (e.g.
   * NHWC for tfjs). Called once, outside the timed region: a runtime's own
   * input layout is a given, not work it does per inference.
   */
  prepare(input: Float32Array): Float32Array;
  /** One inference on a prepared input; resolves to the `[1, classes]` scores. */
  run(prepared: Float32Array): Promise<Float32Array>;
  /** Milliseconds of loading that are not the runtime's (generating a module's source). */
  codegenMs?: number;
  /** Frees what the runtime holds (tensors, sessions). */
  dispose(): void | Promise<void>;
}
