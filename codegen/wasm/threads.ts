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
 *   contiguous, `[bias, taps]`);
 * - general conv (one group) and linear: output channels in whole register
 *   blocks (an output's sum runs over the same inputs in the same order
 *   whatever block it sits in; the packed weights are per block);
 * - max/average pooling and the plane kernels (add, mul, act, copy): channels.
 *
 * Steps smaller than {@link MIN_SPLIT_WORK} (a split would cost more than it
 * saves), grouped general convs, affine and global average pooling steps, and
 * every step running a TypeScript kernel, run on the main thread only.
 *
 * @module
 */

import type {
  ActSpec,
  AddSpec,
  ConvSpec,
  CopySpec,
  DwconvSpec,
  KernelSpec,
  LinearSpec,
  MulSpec,
  PoolSpec,
  PwconvSpec,
} from "../spec.ts";
import { convBlocking } from "./conv.ts";
import { LINEAR_OB } from "./elementwise.ts";
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

/**
 * Multiply-adds (or element operations) below which a step runs whole on the
 * main thread: a split costs a dispatch and a barrier, about a microsecond
 * each when the worker is spinning, more when it has to be woken; a step this
 * small takes a few microseconds in all.
 */
export const MIN_SPLIT_WORK = 16384;

/**
 * A split into ranges of `c` channels (each channel independent, its data at
 * a fixed stride per operand), or undefined when a part would be empty or the
 * step is too small to pay for the barrier.
 */
function byChannels(
  c: number,
  n: number,
  work: number,
  strides: { x: number; y: number; w?: number; r?: number },
  spec: (c: number) => KernelSpec,
): Part[] | undefined {
  if (c < n || work < MIN_SPLIT_WORK) return undefined;
  const b = bounds(c, n);
  return b.slice(1).map((e, k) => ({
    spec: spec(e - b[k]),
    dx: b[k] * strides.x,
    dy: b[k] * strides.y,
    dw: b[k] * (strides.w ?? 0),
    dr: b[k] * (strides.r ?? 0),
  }));
}

/**
 * A split into ranges of output channels made of whole blocks of `ob` (the
 * packed weights are per block: `[bias(ob)][k][ob]`, so a part starting on a
 * block boundary reads its weights `c0 * (1 + k)` floats in), the last part
 * taking the partial block.
 */
function byBlocks(
  cout: number,
  ob: number,
  k: number,
  n: number,
  work: number,
  ycs: number,
  spec: (cout: number) => KernelSpec,
  rcs = 0,
): Part[] | undefined {
  const blocks = Math.ceil(cout / ob);
  if (blocks < n || work < MIN_SPLIT_WORK) return undefined;
  const b = bounds(blocks, n).map((x) => Math.min(cout, x * ob));
  return b.slice(1).map((e, j) => ({
    spec: spec(e - b[j]),
    dx: 0,
    dy: b[j] * ycs,
    dw: b[j] * (1 + k),
    dr: b[j] * rcs,
  }));
}

/** Outputs of a sliding window step times its taps. */
const windowWork = (c: number, s: { win: { oh: number; ow: number; kernel: readonly number[] } }) =>
  c * s.win.oh * s.win.ow * s.win.kernel[0] * s.win.kernel[1];

const SPLITS: { [F in KernelSpec["family"]]?: (s: never, n: number) => Part[] | undefined } = {
  pwconv: (s: PwconvSpec, n) => {
    // A part keeps its parent's pixel block, and a kernel covers its last pixels with
    // vectors that overlap the block before them: a part of fewer pixels than one block
    // would store before its own first pixel, into another thread's part or another
    // channel's plane. Every part holds at least the largest block any blocking uses.
    if (s.h < n || s.h * s.w < 4) return undefined;
    if ((s.cin / s.groups) * s.cout * s.h * s.w < MIN_SPLIT_WORK) return undefined;
    const b = bounds(s.h, n);
    if (b.some((r, k) => k > 0 && (r - b[k - 1]) * s.w < MAX_PIXEL_BLOCK)) return undefined;
    return b.slice(1).map((r, k) => {
      const off = b[k] * s.w;
      return { spec: { ...s, h: r - b[k] }, dx: off, dy: off, dw: 0, dr: off };
    });
  },
  dwconv: (s: DwconvSpec, n) => {
    const taps = s.win.kernel[0] * s.win.kernel[1];
    return byChannels(
      s.c,
      n,
      windowWork(s.c, s),
      { x: s.xcs, y: s.ycs, w: 1 + taps, r: s.rcs },
      (c) => ({ ...s, c }),
    );
  },
  conv: (s: ConvSpec, n) => {
    // Output channels in blocks of the kernel's register block; each output channel's sum
    // runs over the same inputs and taps in the same order whatever block it sits in.
    if (s.groups !== 1) return undefined;
    const k = s.cin * s.win.kernel[0] * s.win.kernel[1];
    return byBlocks(
      s.cout,
      convBlocking(s).ob,
      k,
      n,
      windowWork(s.cout * s.cin, s),
      s.ycs,
      (cout) => ({
        ...s,
        cout,
        ygs: cout * s.ycs,
      }),
      s.rcs,
    );
  },
  maxpool: (s: PoolSpec, n) => poolSplit(s, n),
  avgpool: (s: PoolSpec, n) => poolSplit(s, n),
  linear: (s: LinearSpec, n) =>
    byBlocks(s.cout, LINEAR_OB, s.cin, n, s.cout * s.cin, s.ycs, (cout) => ({ ...s, cout })),
  add: (s: AddSpec, n) =>
    byChannels(s.c, n, s.c * s.hw, { x: s.xcs, y: s.ycs, r: s.rcs }, (c) => ({ ...s, c })),
  mul: (s: MulSpec, n) =>
    byChannels(s.c, n, s.c * s.hw, { x: s.xcs, y: s.ycs, r: s.scs }, (c) => ({ ...s, c })),
  act: (s: ActSpec, n) =>
    byChannels(s.c, n, s.c * s.hw, { x: s.xcs, y: s.ycs }, (c) => ({ ...s, c })),
  copy: (s: CopySpec, n) =>
    byChannels(s.c, n, s.c * s.hw, { x: s.xcs, y: s.ycs }, (c) => ({ ...s, c })),
};

function poolSplit(s: PoolSpec, n: number): Part[] | undefined {
  return byChannels(s.c, n, windowWork(s.c, s), { x: s.xcs, y: s.ycs }, (c) => ({ ...s, c }));
}

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
 *   family: "pwconv" as const, cin: 32, cout: 32, groups: 1, ygs: 32 * 49, h: 7, w: 7,
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
 * (the last generation whose part threw in the worker), state (0 until the
 * worker runs, then {@link RUNNING} or {@link ASLEEP}).
 */
export const CTRL_SLOTS = 6;
/** A worker's state slot while it runs or spins. */
export const RUNNING = 1;
/** A worker's state slot while it blocks in `Atomics.wait` between inferences. */
export const ASLEEP = 2;
/**
 * Milliseconds the main thread waits, as an inference starts, for a sleeping
 * worker it has woken to report it runs. Blocking briefly rather than going
 * on lets the scheduler put the woken worker and the main thread on separate
 * cores: woken while the main thread runs, the worker is often queued on the
 * main thread's own core, and the two then share one core (measured here:
 * ShuffleNetV2 after 5 ms idle gaps, 2 threads 8.8 ms without the wait, as
 * slow as one thread, 5.5 ms with it).
 */
export const WAKE_MS = 1;
/** Generations count modulo 2^30 (never {@link CLOSED}). */
export const GEN_MASK = 0x3fffffff;
/** A worker's generation slot holds this once the module is disposed: the worker exits. */
export const CLOSED = -1;
/** Spins before `Atomics.wait` between inferences (some tens of microseconds). */
export const SPINS = 2000;
/**
 * Spins before `Atomics.wait` while an inference runs (the main thread sets
 * the control block's active slot for its duration): waking a thread from
 * `Atomics.wait` costs tens of microseconds, more than most steps' imbalance,
 * so during an inference both sides spin, up to some milliseconds.
 */
export const ACTIVE_SPINS = 1 << 20;
/**
 * Parts of a worker's in a row the main thread ran itself (the worker had not
 * claimed them when the main thread finished its own) after which the main
 * thread finishes the inference alone: the worker is not getting a core, and
 * spinning against it would only slow the main thread down.
 */
export const LOSSES = 3;
/**
 * The same before the worker has run a part in this inference: it may still be
 * waking up (after an idle gap, tens of microseconds to a millisecond).
 */
export const WAKE_LOSSES = 8;
/**
 * Most inferences run alone after one that went on alone (1, 3, 7, ... while
 * it keeps happening): waking a worker that does not get a core costs the main
 * thread its own (the scheduler runs the woken thread in its place), so the
 * module probes less often while another process holds the other core.
 */
export const MAX_SKIP = 63;

/**
 * The worker body: plain JavaScript that runs both as a `node:worker_threads`
 * worker (evaluated source, CommonJS: it takes its messages from
 * `require("node:worker_threads").parentPort`) and as a module Web Worker
 * loaded from a data URL (`self.onmessage`).
 *
 * It receives `{ memory, code, jobs, ctrl, active, k, seen }`: the shared
 * memory, the compiled kernels (a `WebAssembly.Module` shared with the
 * main thread, or its bytes where the engine cannot send one), its kernel call per step index (`[name, x, y,
 * w, r, label]`, byte addresses, or null), the Int32 index of the control
 * block and of its active slot, its worker number and the generation it
 * starts from. It spins (longer while an inference runs, see
 * {@link ACTIVE_SPINS}) then waits (without a
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
    "  const { memory, code, jobs, ctrl, active, k } = d;",
    "  let seen = d.seen;",
    "  const compiled = code instanceof WebAssembly.Module ? code : new WebAssembly.Module(code);",
    "  const K = new WebAssembly.Instance(compiled, { env: { memory } }).exports;",
    "  const I = new Int32Array(memory.buffer);",
    '  const pause = typeof Atomics.pause === "function" ? Atomics.pause : () => {};',
    `  const gen = ctrl + ${CTRL_SLOTS} * k, job = gen + 1, done = gen + 2, claim = gen + 3, failed = gen + 4, state = gen + 5;`,
    `  Atomics.store(I, state, ${RUNNING});`,
    "  for (;;) {",
    "    let g = Atomics.load(I, gen);",
    `    for (let s = 0; g === seen && (s < ${SPINS} || (s < ${ACTIVE_SPINS} && Atomics.load(I, active) === 1)); s++) {`,
    "      pause();",
    "      g = Atomics.load(I, gen);",
    "    }",
    "    if (g === seen) {",
    `      Atomics.store(I, state, ${ASLEEP});`,
    "      Atomics.wait(I, gen, seen);",
    `      Atomics.store(I, state, ${RUNNING});`,
    "      Atomics.notify(I, state);",
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
