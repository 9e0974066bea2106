/**
 * Assembles the standalone inference module with ts-morph: every declaration
 * (constants, kernels, `infer`) is a structure with its name, parameters,
 * return type and docs; only bodies are written imperatively with the writer.
 *
 * The module imports nothing. Weights are embedded as base64 of float32
 * little-endian, decoded once at load. Every identifier is generated (kernel
 * names from specs, fixed names elsewhere); names from the graph (model and
 * layer paths) only appear inside string literals and comments, escaped by
 * {@link sourceString} so no quote, `*\/`, backtick, newline or other
 * line terminator can end them early.
 *
 * @module
 */

import { sanitize } from "../lib/_text.ts";
import { imageEntrySource } from "../interop/image_entry.ts";
import {
  type CodeBlockWriter,
  IndentationText,
  Project,
  type StatementStructures,
  StructureKind,
  VariableDeclarationKind,
} from "ts-morph";
import { numel } from "../lib/ir/ops.ts";
import { block, type Emitter, kernelParams } from "./_emit.ts";
import { convEmitter } from "./emit_conv.ts";
import { dwconvEmitter } from "./emit_depthwise.ts";
import {
  actEmitter,
  addEmitter,
  affineEmitter,
  copyEmitter,
  mulEmitter,
  softmaxEmitter,
} from "./emit_elementwise.ts";
import { linearEmitter } from "./emit_linear.ts";
import { pwconvEmitter } from "./emit_pointwise.ts";
import { gavgpoolEmitter, poolEmitter } from "./emit_pool.ts";
import type { MemoryPlan } from "./memory.ts";
import { INPUT_ROOT, type KernelPlan, type Operand, OUTPUT_ROOT, sampleSizes } from "./plan.ts";
import { type Family, kernelName, type KernelSpec, offsetTable, specKey } from "./spec.ts";

/** The emitter of every kernel family; a family missing here is a type error. */
export const EMITTERS = {
  pwconv: pwconvEmitter,
  dwconv: dwconvEmitter,
  conv: convEmitter,
  maxpool: poolEmitter,
  avgpool: poolEmitter,
  gavgpool: gavgpoolEmitter,
  linear: linearEmitter,
  add: addEmitter,
  mul: mulEmitter,
  act: actEmitter,
  affine: affineEmitter,
  copy: copyEmitter,
  softmax: softmaxEmitter,
} satisfies { [F in Family]: Emitter<Extract<KernelSpec, { family: F }>> };

function emitterOf(spec: KernelSpec): Emitter<KernelSpec> {
  return EMITTERS[spec.family] as Emitter<KernelSpec>;
}

/**
 * A string as a double-quoted TypeScript literal that is also safe inside a
 * `//` or block comment: only printable ASCII stays, `"`, `\` and `/` are
 * escaped (so `*\/` cannot close a comment), everything else becomes `\uXXXX`
 * (so no newline, U+2028 or U+2029 can end a line comment).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sourceString } from "./module.ts";
 * const hostile = 'a"b*\/`c\n\u2028é';
 * const lit = sourceString(hostile);
 * assert.equal(lit, '"a\\"b*\\/`c\\u000a\\u2028\\u00e9"');
 * assert.equal(JSON.parse(lit.replaceAll("\\/", "/")), hostile);
 * ```
 */
export function sourceString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    if (ch === '"' || ch === "\\" || ch === "/") out += "\\" + ch;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else out += "\\u" + code.toString(16).padStart(4, "0");
  }
  return out + '"';
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Base64 (RFC 4648, padded) of the float32 little-endian bytes of `data`. */
export function base64Floats(data: Float32Array): string {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  return base64Bytes(bytes);
}

/** Base64 (RFC 4648, padded) of `bytes`. */
export function base64Bytes(bytes: Uint8Array): string {
  const table = new TextEncoder().encode(BASE64);
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = table[n >> 18];
    out[o++] = table[(n >> 12) & 63];
    out[o++] = table[(n >> 6) & 63];
    out[o++] = table[n & 63];
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i] << 16) | (rest === 2 ? bytes[i + 1] << 8 : 0);
    out[o++] = table[n >> 18];
    out[o++] = table[(n >> 12) & 63];
    out[o++] = rest === 2 ? table[(n >> 6) & 63] : 61; // "="
    out[o++] = 61;
  }
  return new TextDecoder().decode(out);
}

/** What the header and the exported figures say about the model. */
export interface ModuleInfo {
  /** Model name as the user typed it. */
  model: string;
  /** Options (knobs, weights source), printed in the header in this order. */
  options: [string, string | number | boolean][];
  cost: { madds: number; flops: number; params: number };
  /** Time every kernel call into an exported `stepMs` (for benchmarks; off by default). */
  profile?: boolean;
}

function operand(op: Operand, memory: MemoryPlan): [string, string] {
  if (op.root === INPUT_ROOT) return ["input", op.off === 0 ? "xb" : `xb + ${op.off}`];
  if (op.root === OUTPUT_ROOT) return ["output", op.off === 0 ? "ob" : `ob + ${op.off}`];
  return ["A", String(memory.offsets[op.root] + op.off)];
}

/**
 * Emits the module text for `plan` and `memory`.
 *
 * Deterministic: kernels appear in first-use order, weights in step order,
 * and nothing depends on time, randomness or the file system.
 */
export function emitModule(plan: KernelPlan, memory: MemoryPlan, info: ModuleInfo): string {
  // Kernels, deduplicated by name; two different specs under one name is a bug.
  const kernels = new Map<string, { spec: KernelSpec; key: string }>();
  for (const step of plan.steps) {
    const name = kernelName(step.spec);
    const key = specKey(step.spec);
    const seen = kernels.get(name);
    if (seen && seen.key !== key) {
      throw new Error(
        `Kernel name "${name}" is shared by two different specs: ${seen.key} and ${key}`,
      );
    }
    if (!seen) kernels.set(name, { spec: step.spec, key });
  }
  // Weights, in step order.
  const weightOffsets: number[] = [];
  let weightCount = 0;
  for (const step of plan.steps) {
    weightOffsets.push(weightCount);
    weightCount += step.weights?.length ?? 0;
  }
  const all = new Float32Array(weightCount);
  plan.steps.forEach((s, i) => s.weights && all.set(s.weights, weightOffsets[i]));

  const { input: sampleIn, output: sampleOut } = sampleSizes(plan);
  const inputLength = numel(plan.inputShape);
  const outputLength = numel(plan.outputShape);
  const shape = (s: readonly number[]) => `[${s.join(", ")}]`;
  const options = info.options.map(([k, v]) =>
    `${k}=${typeof v === "string" ? sourceString(v) : v}`
  )
    .join(" ");

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

  const statements: StatementStructures[] = [
    constant(
      "model",
      "string",
      sourceString(info.model),
      "The model this module was generated from.",
    ),
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
      "Bytes of the activation arena (one sample; the input and output live in the caller's arrays).",
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
    {
      kind: StructureKind.Function,
      name: "decodeWeights",
      parameters: [{ name: "b64", type: "string" }, { name: "count", type: "number" }],
      returnType: "Float32Array",
      docs: ["Decodes base64 float32 little-endian weights, checking their count."],
      statements: (w) => {
        w.writeLine("const bin = atob(b64);");
        block(w, "if (bin.length !== count * 4)", () => {
          w.writeLine(
            "throw new Error(`Embedded weights hold ${bin.length} bytes, expected ${count * 4}`);",
          );
        });
        w.writeLine("const bytes = new Uint8Array(bin.length);");
        w.writeLine("for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);");
        w.writeLine("const view = new DataView(bytes.buffer);");
        w.writeLine("const out = new Float32Array(count);");
        w.writeLine("for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);");
        w.writeLine("return out;");
      },
    },
    constant(
      "W",
      "Float32Array",
      `decodeWeights(weightsBase64(), ${weightCount})`,
      "Packed weights.",
      false,
    ),
    constant(
      "A",
      "Float32Array",
      `new Float32Array(${Math.max(1, memory.arenaFloats)})`,
      "The activation arena; every intermediate tensor has a fixed offset in it.",
      false,
    ),
  ];

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
  const tables = new Map<string, string>();
  for (const { spec } of kernels.values()) {
    for (const t of emitterOf(spec).tables?.(spec) ?? []) {
      const name = offsetTable(t);
      const text = t.join(", ");
      const seen = tables.get(name);
      if (seen !== undefined && seen !== text) {
        throw new Error(`Two different channel offset tables share the name "${name}"`);
      }
      if (seen !== undefined) continue;
      tables.set(name, text);
      statements.push(
        constant(
          name,
          "Int32Array",
          `new Int32Array([${text}])`,
          "Channel offsets of a tensor no single stride describes.",
          false,
        ),
      );
    }
  }
  for (const [name, { spec }] of kernels) {
    const e = emitterOf(spec);
    statements.push({
      kind: StructureKind.Function,
      name,
      parameters: kernelParams(e.weighted, e.second(spec)).map((p) => ({
        name: p.name,
        type: p.type,
      })),
      returnType: "void",
      docs: [e.describe(spec) + "."],
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

  statements.push(
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
          w.writeLine(`const xb = n * ${sampleIn};`);
          w.writeLine(`const ob = n * ${sampleOut};`);
          if (info.profile) w.writeLine("let t = 0;");
          plan.steps.forEach((step, i) => {
            const e = emitterOf(step.spec);
            const args = [...operand(step.x, memory), ...operand(step.y, memory)];
            if (e.weighted) args.push("W", String(weightOffsets[i]));
            if (e.second(step.spec)) args.push(...operand(step.r!, memory));
            w.writeLine(`// ${step.layers.map(sourceString).join(", ")}`);
            if (info.profile) w.writeLine("t = performance.now();");
            w.writeLine(`${kernelName(step.spec)}(${args.join(", ")});`);
            if (info.profile) w.writeLine(`stepMs[${i}] += performance.now() - t;`);
          });
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
    {
      kind: StructureKind.Function,
      name: "weightsBase64",
      parameters: [],
      returnType: "string",
      docs: ["The packed weights, base64 of float32 little-endian."],
      // A placeholder keeps the multi-megabyte literal out of ts-morph's parser; it is
      // substituted in the printed text. The quotes make it unforgeable: graph
      // names only reach the text through sourceString, which escapes quotes.
      statements: (w) => w.writeLine(WEIGHTS_PLACEHOLDER),
    },
  );

  const mainBlock = (w: CodeBlockWriter) => {
    w.write(imageEntrySource()).blankLine();
    w.writeLine("// Run directly: a seeded input (mulberry32, seed 42, uniform in [-1, 1]) or");
    w.writeLine("// --image FILE (see imageInputFromOptions), the top-5 outputs of sample 0 and");
    w.writeLine("// the time per inference; --help lists the options.");
    block(w, "if (import.meta.main)", () => {
      // The model name as printed: control characters escaped (lib/_text.ts), so a
      // name from a hostile file cannot drive the terminal.
      w.writeLine(`const printedModel = ${sourceString(sanitize(info.model))};`);
      w.writeLine("const options = entryOptions(Deno.args, printedModel, inputShape);");
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
      w.writeLine("const output = infer(input);");
      // Each kernel runs once per inference; V8 needs many calls before a large
      // unrolled function reaches its optimizing tier, so warm up for long.
      w.writeLine(
        "// Warm up until the JIT has optimized every kernel (up to 60 runs or 5 s), then time.",
      );
      w.writeLine("const w0 = performance.now();");
      w.writeLine(
        "for (let i = 0; i < 60 && performance.now() - w0 < 5000; i++) inferInto(input, output);",
      );
      w.writeLine("let runs = 0;");
      w.writeLine("const t0 = performance.now();");
      block(w, "while (runs < 5 || (performance.now() - t0 < 1000 && runs < 100))", () => {
        w.writeLine("inferInto(input, output);");
        w.writeLine("runs++;");
      });
      w.writeLine("const ms = (performance.now() - t0) / runs;");
      w.writeLine(
        `const scores = Array.from(output.subarray(0, ${sampleOut}), (v, i) => ({ i, v }));`,
      );
      w.writeLine("scores.sort((a, b) => b.v - a.v || a.i - b.i);");
      w.writeLine("// Softmax probabilities, as `cli run` prints them.");
      w.writeLine("const max = scores[0].v;");
      w.writeLine("const sum = scores.reduce((acc, { v }) => acc + Math.exp(v - max), 0);");
      w.writeLine("console.log(`${printedModel}: top-5 of sample 0`);");
      const random = info.options.find(([k]) => k === "weights")?.[1] === "random";
      if (random) {
        const seed = info.options.find(([k]) => k === "seed")?.[1] ?? 0;
        const note =
          `  (random weights, seed ${seed}: an untrained model, so these classes mean nothing)`;
        w.writeLine(`console.log(${sourceString(note)});`);
      }
      block(w, "for (const { i, v } of scores.slice(0, 5))", () => {
        w.writeLine("const label = fromImage?.labels?.[i];");
        w.writeLine("const p = Math.exp(v - max) / sum;");
        w.writeLine(
          'console.log(`  class ${String(i).padStart(4)}  ${v.toFixed(6)}  p=${p.toFixed(4)}${label !== undefined ? `  ${label}` : ""}`);',
        );
      });
      w.writeLine(
        "console.log(`${ms.toFixed(2)} ms/inference (${runs} runs, one thread)`);",
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
      w.writeLine(`// Options: ${options || "(none)"}`);
      w.writeLine(
        `// ${plan.steps.length} kernel calls, ${kernels.size} kernels, arena ${
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
  const text = file.getFullText();
  const at = text.lastIndexOf(WEIGHTS_PLACEHOLDER);
  return text.slice(0, at) + `return "${base64Floats(all)}";` +
    text.slice(at + WEIGHTS_PLACEHOLDER.length);
}

const WEIGHTS_PLACEHOLDER = 'return "@weights@";';
