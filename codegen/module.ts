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
import { OUTPUT_SUMMARY_SOURCE } from "./_summary.ts";
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
import { generalEmitter } from "./emit_general.ts";
import type { MemoryPlan } from "./memory.ts";
import { callerRoot, type KernelPlan, type Operand } from "./plan.ts";
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
  general: generalEmitter,
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

/**
 * What a generated module's entry point prints beside its outputs, shared by
 * both targets: the model name as a sanitized literal (a name from a hostile
 * file cannot drive the terminal), which outputs end in a Softmax (printed
 * as the probabilities they are), and the line saying the weights are random.
 */
export function entryPrinting(
  plan: KernelPlan,
  info: ModuleInfo,
): { printedModel: string; probabilities: string; randomNote?: string } {
  const kindOf = (node: string) => plan.graph.nodes.find((n) => n.name === node)?.kind;
  const option = (key: string) => info.options.find(([k]) => k === key)?.[1];
  const randomNote = option("weights") === "random"
    ? `console.log(${
      sourceString(
        `  (random weights, seed ${
          option("seed") ?? 0
        }: an untrained model, so these classes mean nothing)`,
      )
    });`
    : undefined;
  return {
    printedModel: sourceString(sanitize(info.model)),
    probabilities: JSON.stringify(plan.graph.outputs.map((o) => kindOf(o.node) === "softmax")),
    randomNote,
  };
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

/** Variable names of caller array `k` and its per-sample base: `input`/`xb`, `input1`/`xb1`, ... */
function callerVars(io: "input" | "output", k: number): [string, string] {
  const suffix = k === 0 ? "" : String(k);
  return [io + suffix, (io === "input" ? "xb" : "ob") + suffix];
}

function operand(op: Operand, memory: MemoryPlan): [string, string] {
  const caller = callerRoot(op.root);
  if (caller) {
    const [array, base] = callerVars(caller.io, caller.k);
    return [array, op.off === 0 ? base : `${base} + ${op.off}`];
  }
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

  const inputLengths = plan.inputs.map((i) => numel(i.shape));
  const outputLengths = plan.outputs.map((o) => numel(o.shape));
  const inputLength = inputLengths[0];
  const sampleOut = outputLengths[0] / plan.batch;
  const oneInput = plan.inputs.length === 1;
  const oneOutput = plan.outputs.length === 1;
  const shape = (s: readonly number[]) => `[${s.join(", ")}]`;
  const names = (ts: { name: string }[]) => `[${ts.map((t) => sourceString(t.name)).join(", ")}]`;
  const shapes = (ts: { shape: readonly number[] }[]) =>
    `[${ts.map((t) => shape(t.shape)).join(", ")}]`;
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
      "Shape of the first input (row-major float32, in the source model's layout).",
    ),
    constant(
      "outputShape",
      "readonly number[]",
      shape(plan.outputShape),
      "Shape of the first (primary) output.",
    ),
    constant(
      "inputNames",
      "readonly string[]",
      names(plan.inputs),
      "Names of the inputs, in order (the keys `inferAll` takes when there are several).",
    ),
    constant(
      "inputShapes",
      "readonly (readonly number[])[]",
      shapes(plan.inputs),
      "Shape of each input, in the order of `inputNames`.",
    ),
    constant(
      "outputNames",
      "readonly string[]",
      names(plan.outputs),
      "Names of the outputs, in order (the keys of what `inferAll` returns).",
    ),
    constant(
      "outputShapes",
      "readonly (readonly number[])[]",
      shapes(plan.outputs),
      "Shape of each output, in the order of `outputNames`.",
    ),
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

  const checkArg = (
    w: CodeBlockWriter,
    arg: string,
    length: number,
    what: string,
    dims: readonly number[],
  ) => {
    block(w, `if (!(${arg} instanceof Float32Array) || ${arg}.length !== ${length})`, () => {
      w.writeLine(
        `const got = ${arg} instanceof Float32Array ? \`\${${arg}.length} elements\` : Object.prototype.toString.call(${arg});`,
      );
      const text = `${what} must be a Float32Array of ${length} elements (${dims.join("x")}), got `;
      w.writeLine(`throw new TypeError(${sourceString(text)} + got);`);
    });
  };
  // Error wording: a one-input module says "Input", a several-input one names the input.
  const inputWhat = (k: number) =>
    oneInput ? "Input" : `Input ${JSON.stringify(plan.inputs[k].name)}`;
  const outputWhat = (k: number) =>
    oneOutput ? "Output" : `Output ${JSON.stringify(plan.outputs[k].name)}`;
  const inputType = oneInput
    ? "Float32Array | Record<string, Float32Array>"
    : "Record<string, Float32Array>";
  const keyLiteral = sourceString;

  statements.push(
    {
      kind: StructureKind.Function,
      name: "run",
      parameters: [{ name: "inputs", type: "Float32Array[]" }, {
        name: "outputs",
        type: "Float32Array[]",
      }],
      returnType: "void",
      docs: ["Runs every kernel on checked arrays, in graph order of inputs and outputs."],
      statements: (w) => {
        plan.inputs.forEach((_, k) => {
          const [array] = callerVars("input", k);
          w.writeLine(`const ${array} = inputs[${k}];`);
        });
        plan.outputs.forEach((_, k) => {
          const [array] = callerVars("output", k);
          w.writeLine(`const ${array} = outputs[${k}];`);
        });
        block(w, `for (let n = 0; n < ${plan.batch}; n++)`, () => {
          plan.inputs.forEach((_, k) => {
            w.writeLine(
              `const ${callerVars("input", k)[1]} = n * ${inputLengths[k] / plan.batch};`,
            );
          });
          plan.outputs.forEach((_, k) => {
            w.writeLine(
              `const ${callerVars("output", k)[1]} = n * ${outputLengths[k] / plan.batch};`,
            );
          });
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
      name: "bindInputs",
      parameters: [{ name: "input", type: inputType }],
      returnType: "Float32Array[]",
      docs: ["Checks the caller's input(s) and returns them in the order of `inputNames`."],
      statements: (w) => {
        if (oneInput) {
          block(
            w,
            'if (!(input instanceof Float32Array) && input !== null && typeof input === "object" && !Array.isArray(input))',
            () => {
              w.writeLine(
                `input = (input as Record<string, Float32Array>)[${
                  keyLiteral(plan.inputs[0].name)
                }];`,
              );
            },
          );
          checkArg(w, "input", inputLength, "Input", plan.inputs[0].shape);
          w.writeLine("return [input];");
          return;
        }
        block(
          w,
          'if (input === null || typeof input !== "object" || input instanceof Float32Array)',
          () => {
            w.writeLine(
              `throw new TypeError(\`Expected a record of ${plan.inputs.length} inputs keyed by name (\${inputNames.map((n) => JSON.stringify(n)).join(", ")})\`);`,
            );
          },
        );
        block(w, "for (const key of Object.keys(input))", () => {
          block(w, "if (!inputNames.includes(key))", () => {
            w.writeLine(
              'throw new TypeError(`Unknown input ${JSON.stringify(key)}; expected ${inputNames.map((n) => JSON.stringify(n)).join(", ")}`);',
            );
          });
        });
        plan.inputs.forEach((inp, k) => {
          const v = `x${k}`;
          w.writeLine(`const ${v} = input[${keyLiteral(inp.name)}];`);
          checkArg(w, v, inputLengths[k], inputWhat(k), inp.shape);
        });
        w.writeLine(`return [${plan.inputs.map((_, k) => `x${k}`).join(", ")}];`);
      },
    },
    constant(
      "scratch",
      "Float32Array[]",
      `[${
        plan.outputs.map((
          _,
          k,
        ) => (k === 0 ? "new Float32Array(0)" : `new Float32Array(${outputLengths[k]})`)).join(", ")
      }]`,
      "Where `inferInto` writes the outputs after the first.",
      false,
    ),
    {
      kind: StructureKind.Function,
      name: "inferInto",
      isExported: true,
      parameters: [{ name: "input", type: inputType }, {
        name: "output",
        type: "Float32Array",
      }],
      returnType: "void",
      docs: [
        "Runs the model on `input` and writes the first output (`outputShape`) into `output`; allocates nothing.",
      ],
      statements: (w) => {
        w.writeLine("const inputs = bindInputs(input);");
        checkArg(w, "output", outputLengths[0], outputWhat(0), plan.outputs[0].shape);
        w.writeLine("scratch[0] = output;");
        w.writeLine("run(inputs, scratch);");
      },
    },
    {
      kind: StructureKind.Function,
      name: "inferAllInto",
      isExported: true,
      parameters: [{ name: "input", type: inputType }, {
        name: "outputs",
        type: "Record<string, Float32Array>",
      }],
      returnType: "void",
      docs: [
        "Runs the model on `input` and writes every output into `outputs` (keyed by `outputNames`, each of its `outputShapes` size); allocates nothing.",
      ],
      statements: (w) => {
        w.writeLine("const inputs = bindInputs(input);");
        plan.outputs.forEach((o, k) => {
          w.writeLine(`const y${k} = outputs[${keyLiteral(o.name)}];`);
          checkArg(w, `y${k}`, outputLengths[k], outputWhat(k), o.shape);
        });
        w.writeLine(`run(inputs, [${plan.outputs.map((_, k) => `y${k}`).join(", ")}]);`);
      },
    },
    {
      kind: StructureKind.Function,
      name: "inferAll",
      isExported: true,
      parameters: [{ name: "input", type: inputType }],
      returnType: "Record<string, Float32Array>",
      docs: [
        oneInput
          ? "Runs the model on `input` (a Float32Array of `inputShape`) and returns every output in a new array, keyed by `outputNames`."
          : "Runs the model on `input` (a record of Float32Arrays keyed by `inputNames`) and returns every output in a new array, keyed by `outputNames`.",
      ],
      statements: (w) => {
        w.writeLine("const inputs = bindInputs(input);");
        w.writeLine(
          "const outputs = outputShapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));",
        );
        w.writeLine("run(inputs, outputs);");
        w.writeLine('// Own properties even for a name like "__proto__".');
        w.writeLine("return Object.fromEntries(outputNames.map((name, k) => [name, outputs[k]]));");
      },
    },
    {
      kind: StructureKind.Function,
      name: "infer",
      isExported: true,
      parameters: [{ name: "input", type: inputType }],
      returnType: "Float32Array",
      docs: [
        "Runs the model on `input` and returns a new array of the first output (`outputShape`). Throws a `TypeError` on a wrong type or length.",
      ],
      statements: (w) => {
        w.writeLine(`const output = new Float32Array(${outputLengths[0]});`);
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
    w.write(OUTPUT_SUMMARY_SOURCE).blankLine();
    w.writeLine(
      "// Run directly: seeded inputs (mulberry32, seed 42 + input index, uniform in [-1, 1])",
    );
    w.writeLine(
      "// or --image FILE for the first input (see imageInputFromOptions), then each output",
    );
    w.writeLine(
      "// (top-5 of sample 0 for an [N, K] output, else shape, min/max/mean and the first",
    );
    w.writeLine(
      "// values) and the time per inference; --json prints the same as JSON; --help lists",
    );
    w.writeLine("// the options.");
    block(w, "if (import.meta.main)", () => {
      w.writeLine('const json = Deno.args.includes("--json");');
      const printing = entryPrinting(plan, info);
      w.writeLine(`const printedModel = ${printing.printedModel};`);
      w.writeLine(
        'const options = entryOptions(Deno.args.filter((a) => a !== "--json"), printedModel, inputShape);',
      );
      w.writeLine(
        `const fromImage = await imageInputFromOptions(options, inputShape, ${sampleOut});`,
      );
      block(w, "const inputs = inputShapes.map((shape, k) =>", () => {
        w.writeLine("const data = new Float32Array(shape.reduce((a, b) => a * b, 1));");
        block(w, "if (k === 0 && fromImage)", () => {
          w.writeLine("data.set(fromImage.input);");
          w.writeLine("return data;");
        });
        w.writeLine("let s = 42 + k;");
        block(w, "for (let i = 0; i < data.length; i++)", () => {
          w.writeLine("s = (s + 0x6d2b79f5) >>> 0;");
          w.writeLine("let t = s;");
          w.writeLine("t = Math.imul(t ^ (t >>> 15), t | 1);");
          w.writeLine("t ^= t + Math.imul(t ^ (t >>> 7), t | 61);");
          w.writeLine("data[i] = -1 + 2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296);");
        });
        w.writeLine("return data;");
      });
      w.write(");").newLine();
      w.writeLine(
        oneInput
          ? "const input = inputs[0];"
          : "const input = Object.fromEntries(inputNames.map((n, k) => [n, inputs[k]]));",
      );
      w.writeLine("const outputs = inferAll(input);");
      // Each kernel runs once per inference; V8 needs many calls before a large
      // unrolled function reaches its optimizing tier, so warm up for long.
      w.writeLine(
        "// Warm up until the JIT has optimized every kernel (up to 60 runs or 5 s), then time.",
      );
      w.writeLine("const w0 = performance.now();");
      w.writeLine(
        "for (let i = 0; i < 60 && performance.now() - w0 < 5000; i++) inferAllInto(input, outputs);",
      );
      w.writeLine("let runs = 0;");
      w.writeLine("const t0 = performance.now();");
      block(w, "while (runs < 5 || (performance.now() - t0 < 1000 && runs < 100))", () => {
        w.writeLine("inferAllInto(input, outputs);");
        w.writeLine("runs++;");
      });
      w.writeLine("const ms = (performance.now() - t0) / runs;");
      w.writeLine(
        `const summaries = outputNames.map((name, k) => summarizeOutput(name, outputShapes[k], outputs[name], fromImage?.labels, ${printing.probabilities}[k]));`,
      );
      block(w, "if (json)", () => {
        w.writeLine(
          "console.log(JSON.stringify({ model, outputs: summaries, msPerInference: ms, runs }, null, 2));",
        );
      });
      block(w, "else", () => {
        w.writeLine(
          'const header = (s: OutputSummary) => outputNames.length === 1 ? `${printedModel}: ` : `output ${JSON.stringify(s.name)} [${s.shape.join(", ")}]: `;',
        );
        w.writeLine(
          "for (const line of summaries.flatMap((s) => formatOutputSummary(s, header(s)))) console.log(line);",
        );
        if (printing.randomNote) w.writeLine(printing.randomNote);
        w.writeLine(
          "console.log(`${ms.toFixed(2)} ms/inference (${runs} runs, one thread)`);",
        );
      });
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
