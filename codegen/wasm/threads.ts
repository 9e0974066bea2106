/**
 * `--threads N` on the WebAssembly target: how a step is pre-split between
 * threads at codegen time, and the worker body the generated module embeds.
 *
 * A split step runs one part per thread, each part a kernel of its own with
 * its sizes baked in. Every output element is computed by exactly one part
 * with the instruction sequence the unsplit kernel uses for it, so 1 and N
 * threads give bitwise identical outputs:
 *
 * - pointwise: output rows (a pixel's sum runs over the input channels in the
 *   same order whatever the pixel block; parts keep the parent's blocking so
 *   they read the same packed weights);
 * - depthwise: channels (each channel is independent; its weights are
 *   contiguous, `[bias, taps]`).
 *
 * Other steps, and every step running a TypeScript kernel, run on the main
 * thread only.
 *
 * @module
 */

import type { DwconvSpec, KernelSpec, PwconvSpec } from "../spec.ts";
import { PW_BLOCKINGS } from "./pointwise.ts";

/** Pixels of the largest pointwise block, default or tuned (4 pixels per vector). */
const MAX_PIXEL_BLOCK = Math.max(...PW_BLOCKINGS.map((b) => 4 * b.pv));

/** One thread's part of a split step: its spec and element offsets from the step's operands. */
export interface Part {
  spec: KernelSpec;
  dx: number;
  dy: number;
  dw: number;
  dr: number;
}

/** Boundaries `round(k * total / n)` for k = 0..n. */
function bounds(total: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, k) => Math.round((k * total) / n));
}

const SPLITS: { [F in KernelSpec["family"]]?: (s: never, n: number) => Part[] | undefined } = {
  pwconv: (s: PwconvSpec, n) => {
    // A part keeps its parent's pixel block, and a kernel covers its last pixels with
    // vectors that overlap the block before them: a part of fewer pixels than one block
    // would store before its own first pixel, into another thread's part or another
    // channel's plane. Every part holds at least the largest block any blocking uses.
    if (s.h < n || s.h * s.w < 4) return undefined;
    const b = bounds(s.h, n);
    if (b.some((r, k) => k > 0 && (r - b[k - 1]) * s.w < MAX_PIXEL_BLOCK)) return undefined;
    return b.slice(1).map((r, k) => {
      const off = b[k] * s.w;
      return { spec: { ...s, h: r - b[k] }, dx: off, dy: off, dw: 0, dr: off };
    });
  },
  dwconv: (s: DwconvSpec, n) => {
    if (s.c < n) return undefined;
    const taps = s.win.kernel[0] * s.win.kernel[1];
    const b = bounds(s.c, n);
    return b.slice(1).map((c, k) => ({
      spec: { ...s, c: c - b[k] },
      dx: b[k] * s.xcs,
      dy: b[k] * s.ycs,
      dw: b[k] * (1 + taps),
      dr: b[k] * s.rcs,
    }));
  },
};

/**
 * The parts of a WebAssembly step on `n` threads, or undefined when it runs
 * whole on the main thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitStep } from "./threads.ts";
 * import { epilogue } from "../spec.ts";
 * const spec = {
 *   family: "pwconv" as const, cin: 8, cout: 8, groups: 1, ygs: 8 * 49, h: 7, w: 7,
 *   epi: epilogue({ kind: "relu" }), rcs: 49, xcs: 49, ycs: 49,
 * };
 * const parts = splitStep(spec, 2)!;
 * // Rows 0-3 and 4-6 (round(7 / 2) = 4): the second part starts 4 rows of 7 pixels in.
 * assert.deepEqual(parts.map((p) => [(p.spec as typeof spec).h, p.dy]), [[4, 0], [3, 28]]);
 * ```
 */
export function splitStep(spec: KernelSpec, n: number): Part[] | undefined {
  const split = SPLITS[spec.family] as
    | ((s: KernelSpec, n: number) => Part[] | undefined)
    | undefined;
  return n > 1 && split ? split(spec, n) : undefined;
}

/**
 * Int32 slots per worker in the control block: generation, job (step
 * index), done (the last generation it finished), claim (the last generation
 * whose part someone took: the worker, or the main thread when the worker had
 * not started it by the time the main thread finished its own part), failed
 * (the last generation whose part threw in the worker).
 */
export const CTRL_SLOTS = 5;
/** Generations count modulo 2^30 (never {@link CLOSED}). */
export const GEN_MASK = 0x3fffffff;
/** A worker's generation slot holds this once the module is disposed: the worker exits. */
export const CLOSED = -1;
/** Spins before `Atomics.wait` (a few microseconds). */
export const SPINS = 2000;

/**
 * The worker body: plain JavaScript that runs both as a `node:worker_threads`
 * worker (evaluated source, CommonJS: it takes its messages from
 * `require("node:worker_threads").parentPort`) and as a module Web Worker
 * loaded from a data URL (`self.onmessage`).
 *
 * It receives `{ memory, code, jobs, ctrl, k, seen }`: the shared memory, the
 * kernels' binary, its kernel call per step index (`[name, x, y, w, r, label]`,
 * byte addresses, or null), the control block's Int32 index, its worker
 * number and the generation it starts from. It spins then waits (without a
 * timeout: it lives as long as the module) on its generation slot, claims the
 * generation (a compare-exchange the main thread may win first: then the main
 * thread runs the part, so a descheduled or not yet started worker never
 * holds up a step), runs the step the main thread wrote in its job slot, and
 * publishes the generation in its done slot. A part that throws (a kernel
 * trap) publishes the generation in its failed slot before its done slot, so
 * the main thread wakes and throws instead of waiting forever. It exits when
 * its generation slot holds {@link CLOSED} (`dispose()`).
 */
export function workerSource(): string {
  return [
    "const start = (d) => {",
    "  const { memory, code, jobs, ctrl, k } = d;",
    "  let seen = d.seen;",
    "  const K = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory } }).exports;",
    "  const I = new Int32Array(memory.buffer);",
    `  const gen = ctrl + ${CTRL_SLOTS} * k, job = gen + 1, done = gen + 2, claim = gen + 3, failed = gen + 4;`,
    "  for (;;) {",
    "    let g = Atomics.load(I, gen);",
    `    for (let s = 0; g === seen && s < ${SPINS}; s++) g = Atomics.load(I, gen);`,
    "    if (g === seen) {",
    "      Atomics.wait(I, gen, seen);",
    "      continue;",
    "    }",
    `    if (g === ${CLOSED}) break;`,
    "    seen = g;",
    `    const p = (g - 1) & ${GEN_MASK};`,
    "    if (Atomics.compareExchange(I, claim, p, g) !== p) continue;",
    "    try {",
    "      const j = jobs[Atomics.load(I, job)];",
    "      K[j[0]](j[1], j[2], j[3], j[4]);",
    "    } catch {",
    "      Atomics.store(I, failed, g);",
    "    }",
    "    Atomics.store(I, done, g);",
    "    Atomics.notify(I, done);",
    "  }",
    '  if (typeof close === "function") close();',
    "};",
    'if (typeof require === "function") require("node:worker_threads").parentPort.once("message", start);',
    "else self.onmessage = (e) => start(e.data);",
  ].join("\n");
}
