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

import { imageEntrySource } from "../../interop/image_entry.ts";
import {
  type CodeBlockWriter,
  IndentationText,
  Project,
  type StatementStructures,
  StructureKind,
  VariableDeclarationKind,
  type WriterFunction,
} from "ts-morph";
import { numel } from "../../lib/ir/ops.ts";
import { block, type Emitter, kernelParams } from "../_emit.ts";
import { type MemoryPlan, planMemory } from "../memory.ts";
import { base64Bytes, EMITTERS, type ModuleInfo, sourceString } from "../module.ts";
import { INPUT_ROOT, type KernelPlan, type Operand, OUTPUT_ROOT, sampleSizes } from "../plan.ts";
import { type Family, kernelName, type KernelSpec, offsetTable, specKey } from "../spec.ts";
import { encodeModule, Fn, type ModuleFunction } from "./binary.ts";
import { KERNEL_PARAMS, type WasmEmitter } from "./_simd.ts";
import { convWasm } from "./conv.ts";
import { dwconvWasm } from "./depthwise.ts";
import {
  actWasm,
  addWasm,
  affineWasm,
  copyWasm,
  gavgpoolWasm,
  linearWasm,
  mulWasm,
} from "./elementwise.ts";
import { poolWasm } from "./pool.ts";
import { pwconvWasm } from "./pointwise.ts";

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
};

/** Floats of the guard before the weights (64 KiB). */
const GUARD = 16384;
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
}

function wasmEmitterOf(spec: KernelSpec): WasmEmitter<KernelSpec> | undefined {
  return WASM_EMITTERS[spec.family] as WasmEmitter<KernelSpec> | undefined;
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
): WasmModule {
  // Every buffer 16-byte aligned (sizes rounded up to 4 floats, then planned the
  // same way), so the vectors of planes whose size is a multiple of 4 never
  // straddle a cache line.
  const aligned = planMemory({
    ...plan,
    roots: plan.roots.map((r) => ({ ...r, floats: align4(r.floats) })),
  });
  const memory = { ...aligned, peakFloats: planned.peakFloats, peakStep: planned.peakStep };
  const { input: sampleIn, output: sampleOut } = sampleSizes(plan);
  const inputLength = numel(plan.inputShape);
  const outputLength = numel(plan.outputShape);

  // Which steps run WebAssembly, their kernel names and packed weights.
  const fallbacks: Fallback[] = [];
  const chosen = plan.steps.map((step) => {
    const e = wasmEmitterOf(step.spec);
    const reason = e ? e.unsupported(step.spec) : `no WebAssembly ${step.spec.family} kernel yet`;
    if (!e || reason !== undefined) {
      fallbacks.push({ layers: step.layers, family: step.spec.family, reason: reason! });
      return { wasm: undefined, name: kernelName(step.spec), weights: step.weights };
    }
    const weights = step.weights && e.pack ? e.pack(step.spec, step.weights) : step.weights;
    return { wasm: e, name: kernelName(step.spec) + (e.variant?.(step.spec) ?? ""), weights };
  });

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
  const inputAt = align4(arenaAt + memory.arenaFloats);
  const outputAt = align4(inputAt + sampleIn);
  const totalFloats = outputAt + align4(sampleOut) + SLACK;
  const pages = Math.ceil((totalFloats * 4) / 65536);
  const constBytes = new Uint8Array((weightEnd - GUARD) * 4);
  const constView = new DataView(constBytes.buffer);
  chosen.forEach((c, i) => {
    const base = (weightAt[i] - GUARD) * 4;
    c.weights?.forEach((v, k) => constView.setFloat32(base + 4 * k, v, true));
  });

  const addr = (op: Operand | undefined): number => {
    if (!op) return 0;
    if (op.root === INPUT_ROOT) return inputAt + op.off;
    if (op.root === OUTPUT_ROOT) return outputAt + op.off;
    return arenaAt + memory.offsets[op.root] + op.off;
  };

  // Kernels, deduplicated by name.
  const wasmKernels = new Map<
    string,
    { spec: KernelSpec; key: string; e: WasmEmitter<KernelSpec> }
  >();
  const tsKernels = new Map<string, { spec: KernelSpec; key: string }>();
  plan.steps.forEach((step, i) => {
    const c = chosen[i];
    const key = specKey(step.spec);
    const seen = (c.wasm ? wasmKernels : tsKernels).get(c.name);
    if (seen && seen.key !== key) {
      throw new Error(
        `Kernel name "${c.name}" is shared by two different specs: ${seen.key} and ${key}`,
      );
    }
    if (seen) return;
    if (c.wasm) wasmKernels.set(c.name, { spec: step.spec, key, e: c.wasm });
    else tsKernels.set(c.name, { spec: step.spec, key });
  });
  const code = (relaxed: boolean) => {
    const funcs: ModuleFunction[] = [];
    for (const [name, { spec, e }] of wasmKernels) {
      const f = new Fn([...KERNEL_PARAMS]);
      e.body(spec, f, { relaxed });
      funcs.push({ fn: f, export: name });
    }
    return encodeModule(funcs, { memoryPages: pages });
  };
  const relaxedCode = code(true);
  const plainCode = code(false);
  const probe = new Fn([]).v128Const([0, 0, 0, 0]).v128Const([0, 0, 0, 0])
    .v128Const([0, 0, 0, 0]).f32x4RelaxedMadd().drop();
  const probeCode = encodeModule([{ fn: probe }], { memoryPages: 1 });

  const shape = (s: readonly number[]) => `[${s.join(", ")}]`;
  const options = info.options.map(([k, v]) =>
    `${k}=${typeof v === "string" ? sourceString(v) : v}`
  ).join(" ");
  const constant = (
    name: string,
    type: string,
    initializer: string,
    doc: string,
    exported = true,
  ): StatementStructures => ({
    kind: StructureKind.VariableStatement,
    isExported: exported,
    declarationKind: VariableDeclarationKind.Const,
    declarations: [{ name, type, initializer }],
    docs: [doc],
  });
  const statements: (StatementStructures | WriterFunction)[] = [
    constant(
      "model",
      "string",
      sourceString(info.model),
      "The model this module was generated from.",
    ),
    constant("target", "string", '"wasm"', "The codegen target: WebAssembly SIMD kernels."),
    constant(
      "inputShape",
      "readonly number[]",
      shape(plan.inputShape),
      "Input shape `[N, C, H, W]` (NCHW, float32).",
    ),
    constant("outputShape", "readonly number[]", shape(plan.outputShape), "Output shape."),
    constant(
      "cost",
      "{ readonly madds: number; readonly flops: number; readonly params: number }",
      `{ madds: ${info.cost.madds}, flops: ${info.cost.flops}, params: ${info.cost.params} }`,
      "Cost of the source graph per lightnets' analysis (`madds` = multiply-adds; `flops` = 2 x madds + element-wise work; `params` = learnable parameters).",
    ),
    constant(
      "arenaBytes",
      "number",
      String(memory.arenaFloats * 4),
      "Bytes of the activation arena (one sample), inside the module's WebAssembly memory.",
    ),
    constant(
      "peakActivationBytes",
      "number",
      String(memory.peakFloats * 4),
      "Peak bytes of live activations of this schedule (the arena's lower bound).",
    ),
    constant(
      "weightCount",
      "number",
      String(weightCount),
      "Number of float32 weights (BatchNorm folded, packed per kernel).",
    ),
    constant(
      "memoryBytes",
      "number",
      String(pages * 65536),
      "Bytes of the module's WebAssembly memory (weights, arena, one sample's input and output).",
    ),
    {
      kind: StructureKind.Function,
      name: "fromBase64",
      parameters: [{ name: "b64", type: "string" }, { name: "into", type: "Uint8Array" }],
      returnType: "void",
      docs: ["Decodes base64 into `into`, checking the length."],
      statements: (w) => {
        w.writeLine(
          "const native = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;",
        );
        block(w, "if (native)", () => {
          w.writeLine("const bytes = native(b64);");
          w.writeLine(
            "if (bytes.length !== into.length) throw new Error(`Embedded data holds ${bytes.length} bytes, expected ${into.length}`);",
          );
          w.writeLine("into.set(bytes);");
          w.writeLine("return;");
        });
        w.writeLine("const bin = atob(b64);");
        w.writeLine(
          "if (bin.length !== into.length) throw new Error(`Embedded data holds ${bin.length} bytes, expected ${into.length}`);",
        );
        w.writeLine("for (let i = 0; i < bin.length; i++) into[i] = bin.charCodeAt(i);");
      },
    },
    {
      kind: StructureKind.Function,
      name: "bytesOf",
      parameters: [{ name: "b64", type: "string" }, { name: "length", type: "number" }],
      returnType: "Uint8Array<ArrayBuffer>",
      docs: ["Decodes base64 into a new array of `length` bytes."],
      statements: (w) => {
        w.writeLine("const out = new Uint8Array(length);");
        w.writeLine("fromBase64(b64, out);");
        w.writeLine("return out;");
      },
    },
    constant("t0", "number", "performance.now()", "Load start.", false),
    constant(
      "memory",
      "WebAssembly.Memory",
      `new WebAssembly.Memory({ initial: ${pages} })`,
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
      "K",
      "Record<string, (x: number, y: number, w: number, r: number) => void>",
      `new WebAssembly.Instance(new WebAssembly.Module(relaxed ? bytesOf(relaxedCode(), ${relaxedCode.length}) : bytesOf(plainCode(), ${plainCode.length})), { env: { memory } }).exports as Record<string, (x: number, y: number, w: number, r: number) => void>`,
      "The WebAssembly kernels (arguments: byte addresses of input, output, weights, second tensor).",
      false,
    ),
  ];

  const tables = new Map<string, string>();
  for (const { spec } of tsKernels.values()) {
    for (const t of tsEmitterOf(spec).tables?.(spec) ?? []) {
      const name = offsetTable(t);
      const text = t.join(", ");
      const seen = tables.get(name);
      if (seen !== undefined && seen !== text) {
        throw new Error(`Two different channel offset tables share the name "${name}"`);
      }
      if (seen !== undefined) continue;
      tables.set(name, text);
      statements.push(
        constant(name, "Int32Array", `new Int32Array([${text}])`, "Channel offsets.", false),
      );
    }
  }
  for (const [name, { spec }] of tsKernels) {
    const e = tsEmitterOf(spec);
    statements.push({
      kind: StructureKind.Function,
      name,
      parameters: kernelParams(e.weighted, e.second(spec)).map((p) => ({
        name: p.name,
        type: p.type,
      })),
      returnType: "void",
      docs: [e.describe(spec) + " (TypeScript kernel on the module's memory)."],
      statements: (w: CodeBlockWriter) => e.body(spec, w),
    });
  }

  const checkArg = (w: CodeBlockWriter, arg: string, length: number, what: string) => {
    block(w, `if (!(${arg} instanceof Float32Array) || ${arg}.length !== ${length})`, () => {
      w.writeLine(
        `const got = ${arg} instanceof Float32Array ? \`\${${arg}.length} elements\` : Object.prototype.toString.call(${arg});`,
      );
      w.writeLine(
        `throw new TypeError(\`${what} must be a Float32Array of ${length} elements (${
          plan[what === "Input" ? "inputShape" : "outputShape"].join("x")
        }), got \${got}\`);`,
      );
    });
  };

  const writeSteps = (w: CodeBlockWriter) => {
    if (info.profile) w.writeLine("let t = 0;");
    plan.steps.forEach((step, i) => {
      const c = chosen[i];
      w.writeLine(`// ${step.layers.map(sourceString).join(", ")}`);
      if (info.profile) w.writeLine("t = performance.now();");
      if (c.wasm) {
        const args = [addr(step.x), addr(step.y), step.weights ? weightAt[i] : 0, addr(step.r)];
        w.writeLine(`K.${c.name}(${args.map((a) => a * 4).join(", ")});`);
      } else {
        const e = tsEmitterOf(step.spec);
        const args = ["M", String(addr(step.x)), "M", String(addr(step.y))];
        if (e.weighted) args.push("M", String(weightAt[i]));
        if (e.second(step.spec)) args.push("M", String(addr(step.r)));
        w.writeLine(`${c.name}(${args.join(", ")});`);
      }
      if (info.profile) w.writeLine(`stepMs[${i}] += performance.now() - t;`);
    });
  };
  if (info.profile) {
    statements.push(
      constant(
        "stepMs",
        "Float64Array",
        `new Float64Array(${plan.steps.length})`,
        "Milliseconds spent in each kernel call so far (profiling build).",
      ),
    );
  }

  statements.push(
    {
      kind: StructureKind.Function,
      name: "weightsBase64",
      parameters: [],
      returnType: "string",
      docs: ["The packed weights, base64 of float32 little-endian, as laid out in memory."],
      statements: (w) => w.writeLine(placeholder("weights")),
    },
    {
      kind: StructureKind.Function,
      name: "relaxedCode",
      parameters: [],
      returnType: "string",
      docs: ["The kernels' WebAssembly binary with relaxed SIMD, base64."],
      statements: (w) => w.writeLine(placeholder("relaxed")),
    },
    {
      kind: StructureKind.Function,
      name: "plainCode",
      parameters: [],
      returnType: "string",
      docs: ["The kernels' WebAssembly binary without relaxed SIMD, base64."],
      statements: (w) => w.writeLine(placeholder("plain")),
    },
    (w: CodeBlockWriter) => {
      w.writeLine(
        `fromBase64(weightsBase64(), new Uint8Array(memory.buffer, ${
          GUARD * 4
        }, ${constBytes.length}));`,
      );
    },
    constant(
      "loadMs",
      "number",
      "performance.now() - t0",
      "Milliseconds the module took to load: weights decoded into memory, kernels compiled.",
    ),
    {
      kind: StructureKind.Function,
      name: "inferInto",
      isExported: true,
      parameters: [{ name: "input", type: "Float32Array" }, {
        name: "output",
        type: "Float32Array",
      }],
      returnType: "void",
      docs: [
        "Runs the model on `input` (NCHW, `inputShape`) and writes `outputShape` values into `output`; allocates nothing.",
      ],
      statements: (w) => {
        checkArg(w, "input", inputLength, "Input");
        checkArg(w, "output", outputLength, "Output");
        block(w, `for (let n = 0; n < ${plan.batch}; n++)`, () => {
          w.writeLine(`M.set(input.subarray(n * ${sampleIn}, (n + 1) * ${sampleIn}), ${inputAt});`);
          writeSteps(w);
          w.writeLine(
            `output.set(M.subarray(${outputAt}, ${outputAt + sampleOut}), n * ${sampleOut});`,
          );
        });
      },
    },
    {
      kind: StructureKind.Function,
      name: "infer",
      isExported: true,
      parameters: [{ name: "input", type: "Float32Array" }],
      returnType: "Float32Array",
      docs: [
        "Runs the model on `input` (NCHW, `inputShape`) and returns a new array of `outputShape` values. Throws a `TypeError` on a wrong type or length.",
      ],
      statements: (w) => {
        w.writeLine(`const output = new Float32Array(${outputLength});`);
        w.writeLine("inferInto(input, output);");
        w.writeLine("return output;");
      },
    },
  );

  const mainBlock = (w: CodeBlockWriter) => {
    w.write(imageEntrySource()).blankLine();
    w.writeLine("// Run directly: a seeded input (mulberry32, seed 42, uniform in [-1, 1]) or");
    w.writeLine("// --image FILE (see imageInputFromOptions), the top-5 outputs of sample 0 and");
    w.writeLine("// the time per inference; --help lists the options.");
    block(w, "if (import.meta.main)", () => {
      w.writeLine("const options = entryOptions(Deno.args, model, inputShape);");
      w.writeLine(
        `const fromImage = await imageInputFromOptions(options, inputShape, ${sampleOut});`,
      );
      w.writeLine(`const input = new Float32Array(${inputLength});`);
      w.writeLine("if (fromImage) input.set(fromImage.input);");
      w.writeLine("let s = 42;");
      block(w, "for (let i = 0; !fromImage && i < input.length; i++)", () => {
        w.writeLine("s = (s + 0x6d2b79f5) >>> 0;");
        w.writeLine("let t = s;");
        w.writeLine("t = Math.imul(t ^ (t >>> 15), t | 1);");
        w.writeLine("t ^= t + Math.imul(t ^ (t >>> 7), t | 61);");
        w.writeLine("input[i] = -1 + 2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296);");
      });
      w.writeLine("const f0 = performance.now();");
      w.writeLine("const output = infer(input);");
      w.writeLine("const firstMs = performance.now() - f0;");
      w.writeLine("const w0 = performance.now();");
      w.writeLine(
        "for (let i = 0; i < 10 && performance.now() - w0 < 2000; i++) inferInto(input, output);",
      );
      w.writeLine("let runs = 0;");
      w.writeLine("const t1 = performance.now();");
      block(w, "while (runs < 5 || (performance.now() - t1 < 1000 && runs < 100))", () => {
        w.writeLine("inferInto(input, output);");
        w.writeLine("runs++;");
      });
      w.writeLine("const ms = (performance.now() - t1) / runs;");
      w.writeLine(
        `const scores = Array.from(output.subarray(0, ${sampleOut}), (v, i) => ({ i, v }));`,
      );
      w.writeLine("scores.sort((a, b) => b.v - a.v || a.i - b.i);");
      w.writeLine("// Softmax probabilities, as `cli run` prints them.");
      w.writeLine("const max = scores[0].v;");
      w.writeLine("const sum = scores.reduce((acc, { v }) => acc + Math.exp(v - max), 0);");
      w.writeLine("console.log(`${model}: top-5 of sample 0`);");
      block(w, "for (const { i, v } of scores.slice(0, 5))", () => {
        w.writeLine("const label = fromImage?.labels?.[i];");
        w.writeLine("const p = Math.exp(v - max) / sum;");
        w.writeLine(
          'console.log(`  class ${String(i).padStart(4)}  ${v.toFixed(6)}  p=${p.toFixed(4)}${label !== undefined ? `  ${label}` : ""}`);',
        );
      });
      w.writeLine(
        'console.log(`${ms.toFixed(2)} ms/inference (${runs} runs, one thread, WebAssembly SIMD${relaxed ? " relaxed" : ""}); load ${loadMs.toFixed(1)} ms, first inference ${firstMs.toFixed(1)} ms`);',
      );
    });
  };

  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces },
  });
  const file = project.createSourceFile("module.ts", {
    leadingTrivia: (w) => {
      w.writeLine(`// DO NOT EDIT - generated by lightnets from ${sourceString(info.model)}`);
      w.writeLine(`// Options: ${options || "(none)"} target=wasm`);
      w.writeLine(
        `// ${plan.steps.length} kernel calls, ${wasmKernels.size} WebAssembly kernels, ${tsKernels.size} TypeScript kernels (fallback), arena ${
          memory.arenaFloats * 4
        } bytes (peak ${memory.peakFloats * 4}), ${weightCount} weights.`,
      );
      w.writeLine(
        "// Standalone: imports nothing. Run it with `deno run <this file> [--help]`, or",
      );
      w.writeLine("// `deno run -A <this file> --image cat.jpg` (loads pngjs / jpeg-js from npm).");
      w.blankLine();
    },
    statements: [...statements, mainBlock],
  });
  let text = file.getFullText();
  const fill = (key: string, value: string) => {
    const p = placeholder(key);
    const i = text.lastIndexOf(p);
    text = text.slice(0, i) + `return "${value}";` + text.slice(i + p.length);
  };
  fill("weights", base64Bytes(constBytes));
  fill("relaxed", base64Bytes(relaxedCode));
  fill("plain", base64Bytes(plainCode));
  return {
    source: text,
    fallbacks,
    wasmKernels: wasmKernels.size,
    codeBytes: relaxedCode.length,
    memoryBytes: pages * 65536,
  };
}

function placeholder(key: string): string {
  return `return "@${key}@";`;
}
