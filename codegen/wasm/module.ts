/**
 * The WebAssembly target's module: the same standalone TypeScript module as
 * the TypeScript target (same exports, same entry point, imports nothing),
 * whose kernels are WebAssembly SIMD functions emitted per kernel spec, every
 * size baked in. The activation arena, the weights and one sample's input and
 * output live in the module's `WebAssembly.Memory`:
 *
 * ```
 * [guard 64 KiB][weights, 16-byte aligned per step][arena][input][output][slack]
 * ```
 *
 * The guard keeps every computed address positive when a kernel's base
 * pointer sits before a padded border; the slack covers the last vector
 * loads of a row. A step without a WebAssembly kernel (a family this target
 * does not cover yet, or a case it declines) runs the TypeScript target's
 * kernel on a `Float32Array` view of the same memory, so every plan
 * compiles; {@link WasmModule.fallbacks} names those steps.
 *
 * The kernel code is emitted twice, with `f32x4.relaxed_madd` and with
 * `f32x4.mul` + `f32x4.add`; the module validates the first at load and
 * uses the second where relaxed SIMD is missing.
 *
 * @module
 */

import {
  type CodeBlockWriter,
  IndentationText,
  Project,
  type StatementStructures,
  StructureKind,
  type WriterFunction,
} from "ts-morph";
import { numel } from "../../lib/ir/ops.ts";
import { block, type Emitter } from "../_emit.ts";
import { type MemoryPlan, planMemory } from "../memory.ts";
import { base64Bytes, EMITTERS, entryPrinting, type ModuleInfo } from "../module.ts";
import {
  apiStatements,
  base64ChunksLiteral,
  base64DecoderStatement,
  constant,
  interfaceConstants,
  optionsText,
  sizeConstants,
  sourceString,
  stepMsConstant,
  tableArgs,
  tableStatements,
  tsKernelStatements,
  writeEntryHelpers,
  writeEntryInputs,
  writeEntryReport,
  writeEntryTiming,
  writeHeader,
} from "../_api.ts";
import { callerRoot, CodegenError, type KernelPlan, type Operand } from "../plan.ts";
import {
  type ConvSpec,
  type Family,
  kernelName,
  type KernelSpec,
  type PwconvSpec,
  specKey,
} from "../spec.ts";
import { encodeModule, Fn, type ModuleFunction } from "./binary.ts";
import { KERNEL_PARAMS, type WasmEmitter } from "./_simd.ts";
import { type ConvBlocking, convBlocking, convWasm, convWasmWith } from "./conv.ts";
import { dwconvWasm } from "./depthwise.ts";
import {
  actWasm,
  addWasm,
  affineWasm,
  copyWasm,
  gavgpoolWasm,
  linearWasm,
  mulWasm,
  softmaxWasm,
} from "./elementwise.ts";
import { generalWasm } from "./general.ts";
import { poolWasm } from "./pool.ts";
import { type Blocking, pwBlocking, pwconvWasm, pwconvWasmWith } from "./pointwise.ts";
import {
  ACTIVE_SPINS,
  ASLEEP,
  CLOSED,
  CTRL_SLOTS,
  GEN_MASK,
  LOSSES,
  MAX_SKIP,
  type Part,
  splitStep,
  WAKE_LOSSES,
  WAKE_MS,
  workerSource,
} from "./threads.ts";

/** The WebAssembly emitter of each family that has one. */
export const WASM_EMITTERS: { [F in Family]?: WasmEmitter<Extract<KernelSpec, { family: F }>> } = {
  pwconv: pwconvWasm,
  dwconv: dwconvWasm,
  conv: convWasm,
  maxpool: poolWasm,
  avgpool: poolWasm,
  gavgpool: gavgpoolWasm,
  linear: linearWasm,
  add: addWasm,
  mul: mulWasm,
  act: actWasm,
  affine: affineWasm,
  copy: copyWasm,
  softmax: softmaxWasm,
  general: generalWasm,
};

/** Floats of the guard before the weights (64 KiB). */
const GUARD = 16384;
/** Most 64 KiB pages of a 32-bit WebAssembly memory (4 GiB). */
export const MAX_PAGES = 65536;
/** Floats of slack after the output. */
const SLACK = 64;

/** A step that runs its TypeScript kernel, and why. */
export interface Fallback {
  layers: string[];
  family: Family;
  reason: string;
}

/** The module text and what it is made of. */
export interface WasmModule {
  source: string;
  /** Steps running a TypeScript kernel on the module's memory. */
  fallbacks: Fallback[];
  /** Distinct WebAssembly kernels. */
  wasmKernels: number;
  /** Bytes of one kernel code variant (without weights). */
  codeBytes: number;
  /** Bytes of the module's memory. */
  memoryBytes: number;
  /** Threads the module was generated for. */
  threads: number;
  /** Steps split between the threads. */
  splitSteps: number;
}

/** Options of {@link emitWasmModule}. */
export interface WasmModuleOptions {
  /**
   * The register blocking of each pointwise kernel, by its TypeScript kernel
   * name (`kernelName(spec)`); missing ones take {@link pwBlocking}. `--tune`
   * fills it from timings (codegen/wasm/tune.ts).
   */
  pwBlocking?: ReadonlyMap<string, Blocking>;
  /**
   * The register blocking of each general conv kernel, by its TypeScript
   * kernel name; missing ones take {@link convBlocking}.
   */
  convBlocking?: ReadonlyMap<string, ConvBlocking>;
  /**
   * Threads (default 1): with N > 1 the module's memory is shared, N - 1
   * workers run their part of each split step (codegen/wasm/threads.ts), and
   * the module runs on one thread where shared memory or workers are missing.
   */
  threads?: number;
}

function tsEmitterOf(spec: KernelSpec): Emitter<KernelSpec> {
  return EMITTERS[spec.family] as Emitter<KernelSpec>;
}

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/**
 * Emits the WebAssembly target's module text for `plan` and `memory`.
 * Deterministic, like the TypeScript target.
 */
export function emitWasmModule(
  plan: KernelPlan,
  planned: MemoryPlan,
  info: ModuleInfo,
  wasmOptions: WasmModuleOptions = {},
): WasmModule {
  const tuned = wasmOptions.pwBlocking;
  const threads = wasmOptions.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new CodegenError(`Invalid threads ${threads}: expected an integer >= 1`);
  }
  // A part of a split pointwise or conv step keeps its parent's blocking (it reads the same
  // packed weights).
  const forced = new Map<KernelSpec, Blocking>();
  const forcedConv = new Map<KernelSpec, ConvBlocking>();
  const baseBlocking = (s: PwconvSpec) => tuned?.get(kernelName(s)) ?? pwBlocking(s);
  const baseConv = (s: ConvSpec) =>
    forcedConv.get(s) ?? wasmOptions.convBlocking?.get(kernelName(s)) ?? convBlocking(s);
  const emitters = {
    ...WASM_EMITTERS,
    pwconv: pwconvWasmWith((s) => forced.get(s) ?? baseBlocking(s)),
    conv: convWasmWith(baseConv),
  };
  const wasmEmitterOf = (spec: KernelSpec) =>
    emitters[spec.family] as WasmEmitter<KernelSpec> | undefined;
  // Every buffer 16-byte aligned (sizes rounded up to 4 floats, then planned the
  // same way), so the vectors of planes whose size is a multiple of 4 never
  // straddle a cache line.
  const aligned = planMemory({
    ...plan,
    roots: plan.roots.map((r) => ({ ...r, floats: align4(r.floats) })),
  });
  const memory = { ...aligned, peakFloats: planned.peakFloats, peakStep: planned.peakStep };
  const inputLengths = plan.inputs.map((i) => numel(i.shape));
  const outputLengths = plan.outputs.map((o) => numel(o.shape));
  const sampleIns = inputLengths.map((n) => n / plan.batch);
  const sampleOuts = outputLengths.map((n) => n / plan.batch);
  const oneInput = plan.inputs.length === 1;

  // Which steps run WebAssembly, their kernel names and packed weights.
  const fallbacks: Fallback[] = [];
  const chosen = plan.steps.map((step) => {
    const e = wasmEmitterOf(step.spec);
    const reason = e ? e.unsupported?.(step.spec) : `no WebAssembly ${step.spec.family} kernel yet`;
    if (!e || reason !== undefined) {
      fallbacks.push({ layers: step.layers, family: step.spec.family, reason: reason! });
      return {
        wasm: undefined,
        name: kernelName(step.spec),
        weights: step.weights,
        parts: undefined as (Part & { name: string; slot: number })[] | undefined,
      };
    }
    const parts = splitStep(step.spec, threads);
    if (parts && step.spec.family === "pwconv") {
      for (const p of parts) forced.set(p.spec, baseBlocking(step.spec));
    }
    if (parts && step.spec.family === "conv") {
      // threads.ts cuts a conv's output channels at multiples of the default blocking's
      // channels: the parent and its parts run the default blocking (packed per block).
      const b = convBlocking(step.spec);
      forcedConv.set(step.spec, b);
      for (const p of parts) forcedConv.set(p.spec, b);
    }
    // A step's offset tables follow its packed weights: the call passes them with `w`.
    const weights = step.weights && e.pack
      ? e.pack(step.spec, step.weights, step.tables)
      : step.weights;
    const nameOf = (spec: KernelSpec) => kernelName(spec) + (e.variant?.(spec) ?? "");
    return {
      wasm: e,
      name: nameOf(step.spec),
      weights,
      // Part j of a step using scratch has scratch area j (parts run at the same time).
      parts: parts?.map((p, j) => ({
        ...p,
        name: nameOf(p.spec) + (e.scratch && j > 0 ? `_s${j}` : ""),
        slot: e.scratch ? j : 0,
      })),
    };
  });
  const splitSteps = chosen.filter((c) => c.parts).length;

  // Memory layout (floats).
  const weightAt: number[] = [];
  let at = GUARD;
  for (const c of chosen) {
    weightAt.push(at);
    at = align4(at + (c.weights?.length ?? 0));
  }
  const weightEnd = at;
  const weightCount = plan.steps.reduce((n, s) => n + (s.weights?.length ?? 0), 0);
  const arenaAt = weightEnd;
  // One sample of each input, then of each output.
  let ioAt = align4(arenaAt + memory.arenaFloats);
  const inputAt = sampleIns.map((n) => {
    const a = ioAt;
    ioAt = align4(ioAt + n);
    return a;
  });
  const outputAt = sampleOuts.map((n) => {
    const a = ioAt;
    ioAt = align4(ioAt + n);
    return a;
  });
  // Scratch areas, reused by every kernel that asks for one (steps run one after another):
  // one per part of the most split step using scratch, each sized for the largest need.
  const scratchFloats = align4(Math.max(
    0,
    ...plan.steps.map((step, i) => chosen[i].wasm?.scratch?.(step.spec) ?? 0),
  ));
  const scratchAreas = Math.max(
    1,
    ...chosen.map((c) => (c.wasm?.scratch ? c.parts?.length ?? 1 : 1)),
  );
  const scratchAt = ioAt;
  ioAt = align4(ioAt + scratchAreas * scratchFloats);
  // The threads' control block (Int32 slots, codegen/wasm/threads.ts) after the slack.
  const ctrlAt = ioAt + SLACK;
  // Then one slot that is 1 while an inference runs (the threads spin longer then).
  const activeAt = ctrlAt + CTRL_SLOTS * Math.max(0, threads - 1);
  const totalFloats = activeAt + (threads > 1 ? 1 : 0);
  const pages = Math.ceil((totalFloats * 4) / 65536);
  if (pages > MAX_PAGES) {
    throw new CodegenError(
      `Cannot generate the wasm target: weights, arena and one sample need ${
        totalFloats * 4
      } bytes of memory, above WebAssembly's ${MAX_PAGES * 65536} (use --target ts)`,
    );
  }
  const constBytes = new Uint8Array((weightEnd - GUARD) * 4);
  const constView = new DataView(constBytes.buffer);
  chosen.forEach((c, i) => {
    const base = (weightAt[i] - GUARD) * 4;
    c.weights?.forEach((v, k) => constView.setFloat32(base + 4 * k, v, true));
  });

  const addr = (op: Operand | undefined): number => {
    if (!op) return 0;
    const caller = callerRoot(op.root);
    if (caller) return (caller.io === "input" ? inputAt : outputAt)[caller.k] + op.off;
    return arenaAt + memory.offsets[op.root] + op.off;
  };

  // Kernels, deduplicated by name.
  const wasmKernels = new Map<
    string,
    { spec: KernelSpec; key: string; e: WasmEmitter<KernelSpec>; slot: number }
  >();
  const tsKernels = new Map<string, { spec: KernelSpec; key: string }>();
  const register = (
    name: string,
    spec: KernelSpec,
    e: WasmEmitter<KernelSpec> | undefined,
    slot = 0,
  ) => {
    const key = specKey(spec);
    const seen = (e ? wasmKernels : tsKernels).get(name);
    if (seen && seen.key !== key) {
      throw new Error(
        `Kernel name "${name}" is shared by two different specs: ${seen.key} and ${key}`,
      );
    }
    if (seen) return;
    if (e) wasmKernels.set(name, { spec, key, e, slot });
    else tsKernels.set(name, { spec, key });
  };
  plan.steps.forEach((step, i) => {
    const c = chosen[i];
    if (c.parts) { for (const p of c.parts) register(p.name, p.spec, c.wasm, p.slot); }
    else register(c.name, step.spec, c.wasm);
  });
  const code = (relaxed: boolean, shared = false) => {
    const funcs: ModuleFunction[] = [];
    for (const [name, { spec, e, slot }] of wasmKernels) {
      const f = new Fn([...KERNEL_PARAMS]);
      e.body(spec, f, { relaxed, scratch: 4 * (scratchAt + slot * scratchFloats) });
      funcs.push({ fn: f, export: name });
    }
    return encodeModule(funcs, { memoryPages: pages, shared, maxPages: pages });
  };
  const relaxedCode = code(true);
  const plainCode = code(false);
  const threaded = threads > 1;
  const relaxedShared = threaded ? code(true, true) : relaxedCode;
  const plainShared = threaded ? code(false, true) : plainCode;
  const probe = new Fn([]).v128Const([0, 0, 0, 0]).v128Const([0, 0, 0, 0])
    .v128Const([0, 0, 0, 0]).f32x4RelaxedMadd().drop();
  const probeCode = encodeModule([{ fn: probe }], { memoryPages: 1 });

  const options = optionsText(info.options);
  // The base64 literals are top-level constants, first: the engine scans a
  // multi-megabyte literal once there, while a function returning it is
  // scanned again when first called (about 0.2 s for MobileNetV2's weights).
  // The weights are in chunks (`base64ChunksLiteral`), decoded straight into
  // the memory.
  const statements: (StatementStructures | WriterFunction)[] = [
    constant(
      "WEIGHTS",
      "readonly string[]",
      placeholder("weights"),
      "The packed weights, float32 little-endian as laid out in memory, as base64 in chunks.",
      false,
    ),
    constant(
      "RELAXED_CODE",
      "string",
      placeholder("relaxed"),
      "The kernels' WebAssembly binary with relaxed SIMD, base64.",
      false,
    ),
    constant(
      "PLAIN_CODE",
      "string",
      placeholder("plain"),
      "The kernels' WebAssembly binary without relaxed SIMD, base64.",
      false,
    ),
    ...(threaded
      ? [
        constant(
          "RELAXED_SHARED_CODE",
          "string",
          placeholder("relaxedShared"),
          "The kernels with relaxed SIMD on a shared memory, base64.",
          false,
        ),
        constant(
          "PLAIN_SHARED_CODE",
          "string",
          placeholder("plainShared"),
          "The kernels without relaxed SIMD on a shared memory, base64.",
          false,
        ),
      ]
      : []),
    ...interfaceConstants(plan, info.model, info.cost),
    constant("target", "string", '"wasm"', "The codegen target: WebAssembly SIMD kernels."),
    ...sizeConstants(
      memory,
      weightCount,
      "Bytes of the activation arena (one sample), inside the module's WebAssembly memory.",
    ),
    constant(
      "memoryBytes",
      "number",
      String(pages * 65536),
      "Bytes of the module's WebAssembly memory (weights, arena, one sample's input and output).",
    ),
    base64DecoderStatement(),
    {
      kind: StructureKind.Function,
      name: "bytesOf",
      parameters: [{ name: "b64", type: "string" }, { name: "length", type: "number" }],
      returnType: "Uint8Array<ArrayBuffer>",
      docs: ["Decodes base64 into a new array of `length` bytes."],
      statements: (w) => {
        w.writeLine("const out = new Uint8Array(length);");
        w.writeLine("decodeBase64Chunks([b64], out);");
        w.writeLine("return out;");
      },
    },
    constant("t0", "number", "performance.now()", "Load start.", false),
    ...(threaded
      ? [
        constant(
          "nodeThreads",
          "NodeThreads | undefined",
          'await (async () => { try { const name = "node:worker_threads"; return (await import(name)) as NodeThreads; } catch { return undefined; } })()',
          "`node:worker_threads` where the platform has it (Deno, Node, Bun): its workers, unlike Web Workers, can be unref()'d, so they never keep the process alive. Imported by a computed name, so a browser or a bundler never resolves it.",
          false,
        ),
      ]
      : []),
    constant(
      "threads",
      "number",
      threaded
        ? `(() => { try { if (typeof SharedArrayBuffer !== "function" || (!nodeThreads && typeof Worker !== "function")) return 1; new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }); return ${threads}; } catch { return 1; } })()`
        : "1",
      threaded
        ? `Threads the kernels run on: ${threads} (generated with --threads ${threads}), or 1 where shared memory or workers are missing.`
        : "Threads the kernels run on (generated without --threads).",
    ),
    constant(
      "memory",
      "WebAssembly.Memory",
      threaded
        ? `threads > 1 ? new WebAssembly.Memory({ initial: ${pages}, maximum: ${pages}, shared: true }) : new WebAssembly.Memory({ initial: ${pages} })`
        : `new WebAssembly.Memory({ initial: ${pages} })`,
      "The module's memory: weights, arena, input and output.",
      false,
    ),
    constant(
      "M",
      "Float32Array",
      "new Float32Array(memory.buffer)",
      "Float view of the memory.",
      false,
    ),
    constant(
      "relaxed",
      "boolean",
      `WebAssembly.validate(bytesOf("${base64Bytes(probeCode)}", ${probeCode.length}))`,
      "Whether this engine has relaxed SIMD (`f32x4.relaxed_madd`).",
    ),
    constant(
      "CODE",
      "Uint8Array<ArrayBuffer>",
      threaded
        ? `threads > 1 ? (relaxed ? bytesOf(RELAXED_SHARED_CODE, ${relaxedShared.length}) : bytesOf(PLAIN_SHARED_CODE, ${plainShared.length})) : relaxed ? bytesOf(RELAXED_CODE, ${relaxedCode.length}) : bytesOf(PLAIN_CODE, ${plainCode.length})`
        : `relaxed ? bytesOf(RELAXED_CODE, ${relaxedCode.length}) : bytesOf(PLAIN_CODE, ${plainCode.length})`,
      "The kernels' binary this engine and memory take.",
      false,
    ),
    constant(
      "MODULE",
      "WebAssembly.Module",
      "new WebAssembly.Module(CODE)",
      "The compiled kernels; the workers instantiate this same module, so they share its optimized code instead of compiling and tiering up their own copy.",
      false,
    ),
    constant(
      "K",
      "Record<string, (x: number, y: number, w: number, r: number) => void>",
      `new WebAssembly.Instance(MODULE, { env: { memory } }).exports as Record<string, (x: number, y: number, w: number, r: number) => void>`,
      "The WebAssembly kernels (arguments: byte addresses of input, output, weights, second tensor).",
      false,
    ),
  ];

  statements.push(
    ...tableStatements(
      plan.steps.filter((_, i) => !chosen[i].wasm),
      tsEmitterOf,
      "Channel offsets (an argument of a TypeScript kernel).",
    ),
    ...tsKernelStatements(
      [...tsKernels].map(([name, { spec }]) => [name, spec]),
      tsEmitterOf,
      { kernel: (d) => d + " (TypeScript kernel on the module's memory)." },
    ),
  );

  // Byte addresses of a part's kernel call.
  const partArgs = (i: number, p: Part) => {
    const step = plan.steps[i];
    return [
      addr(step.x) + p.dx,
      addr(step.y) + p.dy,
      step.weights ? weightAt[i] + p.dw : 0,
      step.r ? addr(step.r) + p.dr : 0,
    ].map((a) => a * 4);
  };
  if (threaded) {
    // Each worker's kernel call per step index (null where it has no part), with the step's label.
    const jobs = Array.from(
      { length: threads - 1 },
      (_, k) =>
        chosen.map((c, i) =>
          c.parts
            ? [
              c.parts[k + 1].name,
              ...partArgs(i, c.parts[k + 1]),
              `step ${i} (${plan.steps[i].layers.join(", ")})`,
            ]
            : null
        ),
    );
    statements.push(
      constant(
        "WORKER_SOURCE",
        "string",
        JSON.stringify(workerSource()),
        "The workers' body (plain JavaScript for both worker kinds, codegen/wasm/threads.ts).",
        false,
      ),
      constant(
        "JOBS",
        "readonly (readonly [string, number, number, number, number, string] | null)[][]",
        JSON.stringify(jobs),
        "Each worker's kernel call (name, byte addresses, step label) per step index, null where it has none.",
        false,
      ),
      constant(
        "I",
        "Int32Array",
        "new Int32Array(memory.buffer)",
        "Int32 view of the memory (the threads' control block).",
        false,
      ),
      (w: CodeBlockWriter) => {
        w.writeLine(
          "/** The part of `node:worker_threads` the module uses (typed here: the module imports nothing). */",
        );
        w.writeLine(
          'type NodeThreads = { Worker: new (source: string, options: { eval: true }) => { postMessage(m: unknown): void; unref(): void; on(event: "error", f: (e: unknown) => void): void; terminate(): unknown } };',
        );
        w.writeLine("/** The workers, once started (`terminate()` is all `dispose` needs). */");
        w.writeLine("const workers: ({ terminate(): unknown } | undefined)[] = [];");
        w.writeLine("/** The last generation handed to each worker. */");
        w.writeLine(`const lastGen: number[] = new Array(${threads - 1}).fill(0);`);
        w.writeLine(
          "/** Whether the workers have been started (or the module disposed: it never starts them then). */",
        );
        w.writeLine("let started = false;");
        w.writeLine("/** Whether the workers run (started, not disposed). */");
        w.writeLine("let live = false;");
        w.writeLine(
          "/** Whether split steps are handed to the workers in this inference (see `join`). */",
        );
        w.writeLine("let parallel = false;");
        w.writeLine(
          "/** Parts of the workers' the main thread ran in a row (they were not claimed in time). */",
        );
        w.writeLine("let lost = 0;");
        w.writeLine(
          "/** Whether a worker has run a part of its own in this inference (it is awake). */",
        );
        w.writeLine("let awake = false;");
        w.writeLine(
          "/** Whether this inference went on alone (see `join`); then the next `skip` run alone too, `skip` doubling (up to MAX_SKIP) while it keeps happening. A worker that was still waking up (`wakeMiss`) gets one more chance first: after a long idle gap a quiet machine's idle core can take a millisecond to wake, and putting the worker back to sleep for the next inferences would make every later wake just as slow. */",
        );
        w.writeLine(
          "let alone = false, skip = 0, backoff = 0, wakeMiss = false, lastWakeMiss = false;",
        );
        w.writeLine(
          "/** `Atomics.pause` where the engine has it (a polite spin: it frees the core's pipeline). */",
        );
        w.writeLine(
          'const pause: () => void = typeof (Atomics as { pause?: () => void }).pause === "function" ? (Atomics as unknown as { pause: () => void }).pause : () => {};',
        );
        w.writeLine(
          "/** Inferences run so far (the workers start by the second one at the latest). */",
        );
        w.writeLine("let inferences = 0;");
        w.writeLine(
          "/** Whether `Atomics.wait` may block this thread (not a browser's main thread). */",
        );
        w.writeLine("let canWait = true;");
        w.writeLine(
          `const CTRL = ${ctrlAt}, ACTIVE = ${activeAt}, SLOTS = ${CTRL_SLOTS}, CLOSED = ${CLOSED}, SPINS = ${ACTIVE_SPINS}, GEN_MASK = ${GEN_MASK}, LOSSES = ${LOSSES}, WAKE_LOSSES = ${WAKE_LOSSES}, MAX_SKIP = ${MAX_SKIP}, ASLEEP = ${ASLEEP}, WAKE_MS = ${WAKE_MS};`,
        );
        w.writeLine(
          "/** Starts the workers, once: `node:worker_threads` ones, unref()'d, where the platform has them, else module Web Workers (they live as long as the page). A worker that fails to start never claims a part, so the main thread runs its parts. */",
        );
        block(w, "function startWorkers(): void", () => {
          w.writeLine("if (started) return;");
          w.writeLine("started = true;");
          block(w, "for (let k = 0; k < lastGen.length; k++)", () => {
            w.writeLine(
              "const data = { memory, code: MODULE as WebAssembly.Module | Uint8Array, jobs: JOBS[k], ctrl: CTRL, active: ACTIVE, k, seen: lastGen[k] };",
            );
            block(w, "if (nodeThreads)", () => {
              w.writeLine(
                "const worker = new nodeThreads.Worker(WORKER_SOURCE, { eval: true });",
              );
              w.writeLine('worker.on("error", () => {});');
              w.writeLine("worker.unref();");
              w.writeLine(
                "// An engine that cannot send a compiled module to a worker gets the bytes.",
              );
              w.writeLine(
                "try { worker.postMessage(data); } catch { data.code = CODE; worker.postMessage(data); }",
              );
              w.writeLine("workers[k] = worker;");
            });
            block(w, "else", () => {
              w.writeLine(
                'const worker = new Worker("data:text/javascript," + encodeURIComponent(WORKER_SOURCE), { type: "module" });',
              );
              w.writeLine("worker.onerror = (e) => e.preventDefault();");
              w.writeLine(
                "try { worker.postMessage(data); } catch { data.code = CODE; worker.postMessage(data); }",
              );
              w.writeLine("workers[k] = worker;");
            });
          });
          w.writeLine("live = true;");
        });
        w.writeLine("/** Hands step `i` to every worker: its job, then a new generation. */");
        block(w, "function dispatch(i: number): void", () => {
          block(w, "for (let k = 0; k < lastGen.length; k++)", () => {
            w.writeLine("const gen = CTRL + SLOTS * k, next = (lastGen[k] + 1) & GEN_MASK;");
            w.writeLine("lastGen[k] = next;");
            w.writeLine("Atomics.store(I, gen + 1, i);");
            w.writeLine("Atomics.store(I, gen, next);");
            w.writeLine("Atomics.notify(I, gen);");
          });
        });
        w.writeLine(
          "/** Runs each worker's part of step `i` that it has not claimed yet, then waits (spin, then `Atomics.wait`) for the parts the workers took; throws, once every part has finished, if one of them threw. */",
        );
        block(w, "function join(i: number): void", () => {
          w.writeLine("let error: unknown;");
          block(w, "for (let k = 0; k < lastGen.length; k++)", () => {
            w.writeLine("const base = CTRL + SLOTS * k, g = lastGen[k], p = (g - 1) & GEN_MASK;");
            block(w, "if (Atomics.compareExchange(I, base + 3, p, g) === p)", () => {
              w.writeLine("const j = JOBS[k][i]!;");
              w.writeLine("try { K[j[0]](j[1], j[2], j[3], j[4]); } catch (e) { error ??= e; }");
              w.writeLine(
                "// The worker is not getting a core (another process has it): finish this inference",
              );
              w.writeLine(
                "// here alone, the worker back asleep, rather than compete with it for the cores.",
              );
              block(w, "if (++lost >= (awake ? LOSSES : WAKE_LOSSES))", () => {
                w.writeLine("parallel = false;");
                w.writeLine("alone = true;");
                w.writeLine("wakeMiss = !awake;");
                w.writeLine("Atomics.store(I, ACTIVE, 0);");
              });
              w.writeLine("continue;");
            });
            w.writeLine("lost = 0;");
            w.writeLine("awake = true;");
            w.writeLine("let spins = 0;");
            block(
              w,
              "for (let v = Atomics.load(I, base + 2); v !== g; v = Atomics.load(I, base + 2))",
              () => {
                w.writeLine("if (spins < SPINS || !canWait) { spins++; pause(); continue; }");
                w.writeLine("try { Atomics.wait(I, base + 2, v, 50); } catch { canWait = false; }");
              },
            );
            block(w, "if (Atomics.load(I, base + 4) === g && error === undefined)", () => {
              w.writeLine("const j = JOBS[k][i]!;");
              w.writeLine(
                'error = new Error(`Worker ${k + 1} failed in ${j[5]}: its kernel "${j[0]}" threw; this inference has no result`);',
              );
            });
          });
          w.writeLine("if (error !== undefined) throw error;");
        });
        w.writeLine(
          "// The workers start on the first event-loop turn after load, or at the second inference if",
        );
        w.writeLine(
          "// that comes first: creating one blocks this thread (tens of ms in Deno) and it needs longer",
        );
        w.writeLine(
          "// than a first inference to boot, so the first inference runs every part here.",
        );
        w.writeLine("if (threads > 1) setTimeout(startWorkers, 0);");
        w.writeLine("else started = true;");
      },
    );
  }
  statements.push({
    kind: StructureKind.Function,
    name: "dispose",
    isExported: true,
    parameters: [],
    returnType: "void",
    docs: [
      "Stops the worker threads now; later inferences run every part on the main thread, with the same outputs. Not needed for a script to exit (the workers never keep it alive where `node:worker_threads` exists); frees them in a browser. Without threads, does nothing.",
    ],
    statements: (w) => {
      if (!threaded) return;
      w.writeLine("started = true;");
      w.writeLine("live = false;");
      w.writeLine("parallel = false;");
      block(w, "for (let k = 0; k < lastGen.length; k++)", () => {
        w.writeLine("Atomics.store(I, CTRL + SLOTS * k, CLOSED);");
        w.writeLine("Atomics.notify(I, CTRL + SLOTS * k);");
        w.writeLine("workers[k]?.terminate();");
        w.writeLine("workers[k] = undefined;");
      });
    },
  });

  const writeSteps = (w: CodeBlockWriter) => {
    if (info.profile) w.writeLine("let t = 0;");
    plan.steps.forEach((step, i) => {
      const c = chosen[i];
      w.writeLine(`// ${step.layers.map(sourceString).join(", ")}`);
      if (info.profile) w.writeLine("t = performance.now();");
      if (c.parts) {
        const call = (p: Part & { name: string }) => `K.${p.name}(${partArgs(i, p).join(", ")});`;
        block(w, "if (parallel)", () => {
          w.writeLine(`dispatch(${i});`);
          w.writeLine(`try { ${call(c.parts![0])} } finally { join(${i}); }`);
        });
        block(w, "else", () => c.parts!.forEach((p) => w.writeLine(call(p))));
      } else if (c.wasm) {
        const args = [addr(step.x), addr(step.y), step.weights ? weightAt[i] : 0, addr(step.r)];
        w.writeLine(`K.${c.name}(${args.map((a) => a * 4).join(", ")});`);
      } else {
        const e = tsEmitterOf(step.spec);
        const args = ["M", String(addr(step.x)), "M", String(addr(step.y))];
        if (e.weighted) args.push("M", String(weightAt[i]));
        if (e.second(step.spec)) args.push("M", String(addr(step.r)));
        args.push(...tableArgs(step, e));
        w.writeLine(`${c.name}(${args.join(", ")});`);
      }
      if (info.profile) w.writeLine(`stepMs[${i}] += performance.now() - t;`);
    });
  };
  if (info.profile) statements.push(stepMsConstant(plan.steps.length));

  statements.push(
    (w: CodeBlockWriter) => {
      w.writeLine(
        `decodeBase64Chunks(WEIGHTS, new Uint8Array(memory.buffer, ${
          GUARD * 4
        }, ${constBytes.length}));`,
      );
    },
    constant(
      "loadMs",
      "number",
      "performance.now() - t0",
      "Milliseconds the module took to load once the engine had parsed its source: weights decoded into memory, kernels compiled and instantiated.",
    ),
    {
      kind: StructureKind.Function,
      name: "run",
      parameters: [{ name: "inputs", type: "Float32Array[]" }, {
        name: "outputs",
        type: "Float32Array[]",
      }],
      returnType: "void",
      docs: [
        "Runs every kernel on checked arrays, in graph order of inputs and outputs: each sample's inputs are copied into the module's memory and its outputs out of it.",
      ],
      statements: (w) => {
        const samples = () =>
          block(w, `for (let n = 0; n < ${plan.batch}; n++)`, () => {
            plan.inputs.forEach((_, k) => {
              const n = sampleIns[k];
              w.writeLine(
                `M.set(inputs[${k}].subarray(n * ${n}, (n + 1) * ${n}), ${inputAt[k]});`,
              );
            });
            writeSteps(w);
            plan.outputs.forEach((_, k) => {
              const n = sampleOuts[k];
              w.writeLine(
                `outputs[${k}].set(M.subarray(${outputAt[k]}, ${outputAt[k] + n}), n * ${n});`,
              );
            });
          });
        if (!threaded) return samples();
        w.writeLine("if (!started && ++inferences > 1) startWorkers();");
        w.writeLine(
          "// A worker that missed its parts in the last inference was not getting a core; waking it",
        );
        w.writeLine(
          "// again now would take this thread's core (the scheduler runs the woken thread here when",
        );
        w.writeLine(
          "// the other core is busy), so the next inferences run alone, fewer as it recovers.",
        );
        w.writeLine("parallel = live && skip === 0;");
        w.writeLine("if (skip > 0) skip--;");
        w.writeLine("alone = false;");
        w.writeLine("wakeMiss = false;");
        w.writeLine("lost = 0;");
        w.writeLine("awake = false;");
        w.writeLine(
          "// The workers spin while this inference runs; a sleeping one is woken now, so it is up",
        );
        w.writeLine(
          "// by the first split step; this thread blocks until it reports it runs (at most WAKE_MS),",
        );
        w.writeLine("// so the scheduler can put the two on separate cores.");
        block(w, "if (parallel)", () => {
          w.writeLine("Atomics.store(I, ACTIVE, 1);");
          block(w, "for (let k = 0; k < lastGen.length; k++)", () => {
            w.writeLine("const base = CTRL + SLOTS * k;");
            w.writeLine("if (Atomics.load(I, base + 5) !== ASLEEP) continue;");
            w.writeLine("Atomics.notify(I, base);");
            w.writeLine(
              "if (canWait) try { Atomics.wait(I, base + 5, ASLEEP, WAKE_MS); } catch { canWait = false; }",
            );
          });
        });
        w.write("try ").inlineBlock(samples);
        w.write(" finally ").inlineBlock(() => {
          w.writeLine("Atomics.store(I, ACTIVE, 0);");
          w.writeLine(
            "if (alone && !(wakeMiss && !lastWakeMiss)) skip = backoff = Math.min(MAX_SKIP, 2 * backoff + 1);",
          );
          w.writeLine("else if (parallel && !alone) backoff = 0;");
          w.writeLine("lastWakeMiss = alone && wakeMiss;");
        });
        w.newLine();
      },
    },
    ...apiStatements(plan),
  );

  const mainBlock = (w: CodeBlockWriter) => {
    writeEntryHelpers(w, [
      "// values), the time per inference, the load time, the first inference's and when the",
      "// first output came (ms since the runtime started, performance.now(): that includes",
      "// parsing this file, which loadMs cannot see); --json prints the same as JSON; --help",
      "// lists the options.",
    ]);
    const printing = entryPrinting(plan, info);
    block(w, "if (import.meta.main)", () => {
      writeEntryInputs(w, {
        printedModel: printing.printedModel,
        sampleOut: sampleOuts[0],
        oneInput,
      });
      w.writeLine("const f0 = performance.now();");
      w.writeLine("const outputs = inferAll(input);");
      w.writeLine("const firstMs = performance.now() - f0;");
      w.writeLine("const firstResultMs = performance.now();");
      writeEntryTiming(w, {
        why: "Warm up (the engine tiers hot kernels up in the background), then time.",
        runs: 20,
        ms: 2000,
      }, printing.probabilities);
      writeEntryReport(w, {
        jsonFields:
          "target, msPerInference: ms, runs, threads, loadMs, firstInferenceMs: firstMs, firstResultMs",
        randomNote: printing.randomNote,
        timingLine:
          'console.log(`${ms.toFixed(2)} ms/inference (${runs} runs, ${threads === 1 ? "one thread" : `${threads} threads`}, WebAssembly SIMD${relaxed ? " relaxed" : ""}); load ${loadMs.toFixed(1)} ms, first inference ${firstMs.toFixed(1)} ms, first output ${firstResultMs.toFixed(0)} ms after start`);',
      });
      w.writeLine(
        "// Stop the workers (in a browser or without node:worker_threads they keep running).",
      );
      w.writeLine("dispose();");
    });
  };

  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces },
  });
  const file = project.createSourceFile("module.ts", {
    leadingTrivia: (w) =>
      writeHeader(w, {
        model: info.model,
        options: `${options || "(none)"} target=wasm`,
        steps: plan.steps.length,
        kernels:
          `${wasmKernels.size} WebAssembly kernels, ${tsKernels.size} TypeScript kernels (fallback)`,
        memory,
        weightCount,
      }),
    statements: [...statements, mainBlock],
  });
  let text = file.getFullText();
  const fill = (key: string, value: string, literal = `"${value}"`) => {
    const p = placeholder(key);
    const i = text.lastIndexOf(p);
    text = text.slice(0, i) + literal + text.slice(i + p.length);
  };
  fill("weights", "", base64ChunksLiteral(base64Bytes(constBytes)));
  fill("relaxed", base64Bytes(relaxedCode));
  fill("plain", base64Bytes(plainCode));
  if (threaded) {
    fill("relaxedShared", base64Bytes(relaxedShared));
    fill("plainShared", base64Bytes(plainShared));
  }
  return {
    source: text,
    fallbacks,
    wasmKernels: wasmKernels.size,
    codeBytes: relaxedCode.length,
    memoryBytes: pages * 65536,
    threads,
    splitSteps,
  };
}

function placeholder(key: string): string {
  return `"@${key}@"`;
}
