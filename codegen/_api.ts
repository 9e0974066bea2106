/**
 * What every target's generated module shares, written once: the public API
 * (`model`, input/output names and shapes, `cost`, `bindInputs`, `inferInto`,
 * `inferAllInto`, `inferAll`, `infer`), its argument checks, the TypeScript
 * kernels with their offset tables, and the seeded inputs of the entry point.
 * A target passes only what differs (how `run` reaches its kernels, its own
 * constants, its entry point's timing and printing).
 *
 * @module
 */

import {
  type CodeBlockWriter,
  type StatementStructures,
  StructureKind,
  VariableDeclarationKind,
} from "ts-morph";
import { imageEntrySource } from "../interop/image_entry.ts";
import { numel } from "../lib/ir/ops.ts";
import { block, type Emitter, kernelParams, type TableParam } from "./_emit.ts";
import type { MemoryPlan } from "./memory.ts";
import { OUTPUT_SUMMARY_SOURCE } from "./_summary.ts";
import type { KernelPlan, Step } from "./plan.ts";
import { type KernelSpec, offsetTable } from "./spec.ts";

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

/**
 * A graph's input or output name as the key of a record lookup
 * (`input["..."]`). Always a quoted, escaped literal, never an identifier or
 * a template: a name from a hostile file (a quote, a backtick, `${`, a line
 * terminator, `__proto__`) reaches the text only as the string it is.
 */
const keyLiteral = sourceString;

/** A `const` declaration with its type and doc comment (exported unless `exported` is false). */
export function constant(
  name: string,
  type: string,
  initializer: string,
  doc: string,
  exported = true,
): StatementStructures {
  return {
    kind: StructureKind.VariableStatement,
    isExported: exported,
    declarationKind: VariableDeclarationKind.Const,
    declarations: [{ name, type, initializer }],
    docs: [doc],
  };
}

const shape = (s: readonly number[]) => `[${s.join(", ")}]`;
const names = (ts: { name: string }[]) => `[${ts.map((t) => sourceString(t.name)).join(", ")}]`;
const shapes = (ts: { shape: readonly number[] }[]) =>
  `[${ts.map((t) => shape(t.shape)).join(", ")}]`;

/** The `Options:` header line's text: `key=value` pairs, strings as escaped literals. */
export function optionsText(options: [string, string | number | boolean][]): string {
  return options.map(([k, v]) => `${k}=${typeof v === "string" ? sourceString(v) : v}`).join(
    " ",
  );
}

/** A profiling build's `stepMs`: milliseconds spent in each of `steps` kernel calls so far. */
export function stepMsConstant(steps: number): StatementStructures {
  return constant(
    "stepMs",
    "Float64Array",
    `new Float64Array(${steps})`,
    "Milliseconds spent in each kernel call so far (profiling build).",
  );
}

/**
 * The exported size constants: `arenaBytes` (`arenaDoc` says where the arena
 * lives for the target), `peakActivationBytes` and `weightCount`.
 */
export function sizeConstants(
  memory: MemoryPlan,
  weightCount: number,
  arenaDoc: string,
): StatementStructures[] {
  return [
    constant("arenaBytes", "number", String(memory.arenaFloats * 4), arenaDoc),
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
  ];
}

/**
 * The exported constants describing the model's interface: `model`, the first
 * input's and output's shapes, every input's and output's name and shape, and
 * the analysis' `cost`.
 */
export function interfaceConstants(
  plan: KernelPlan,
  model: string,
  cost: { madds: number; flops: number; params: number },
): StatementStructures[] {
  return [
    constant("model", "string", sourceString(model), "The model this module was generated from."),
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
      `{ madds: ${cost.madds}, flops: ${cost.flops}, params: ${cost.params} }`,
      "Cost of the source graph per lightnets' analysis (`madds` = multiply-adds; `flops` = 2 x madds + element-wise work; `params` = learnable parameters).",
    ),
  ];
}

/** The table a step passes for a kernel's table parameter. */
function stepTable(step: Step, param: TableParam): number[] {
  const t = param === "xt" ? step.tables?.x : step.tables?.y;
  if (!t) throw new Error(`A step of "${step.layers[0]}" has no table for its kernel's "${param}"`);
  return t;
}

/**
 * The arguments a TypeScript kernel call passes for its offset tables: the
 * module-level constants {@link tableStatements} declares.
 */
export function tableArgs(step: Step, e: Emitter<KernelSpec>): string[] {
  return (e.tables?.(step.spec) ?? []).map((p) => offsetTable(stepTable(step, p)));
}

/**
 * The channel offset tables the TypeScript kernel calls of `steps` pass, each
 * declared once as a module-level `Int32Array` named by its contents.
 */
export function tableStatements(
  steps: Iterable<Step>,
  emitterOf: (spec: KernelSpec) => Emitter<KernelSpec>,
  doc: string,
): StatementStructures[] {
  const statements: StatementStructures[] = [];
  const tables = new Map<string, string>();
  for (const step of steps) {
    for (const p of emitterOf(step.spec).tables?.(step.spec) ?? []) {
      const t = stepTable(step, p);
      const name = offsetTable(t);
      const text = t.join(", ");
      const seen = tables.get(name);
      if (seen !== undefined && seen !== text) {
        throw new Error(`Two different channel offset tables share the name "${name}"`);
      }
      if (seen !== undefined) continue;
      tables.set(name, text);
      statements.push(constant(name, "Int32Array", `new Int32Array([${text}])`, doc, false));
    }
  }
  return statements;
}

/**
 * The functions of TypeScript kernels, each named once (`kernels` maps a
 * kernel name to its spec); `describe` turns an emitter's description into
 * the kernel's doc comment.
 */
export function tsKernelStatements(
  kernels: Iterable<[string, KernelSpec]>,
  emitterOf: (spec: KernelSpec) => Emitter<KernelSpec>,
  docs: { kernel: (description: string) => string },
): StatementStructures[] {
  const statements: StatementStructures[] = [];
  for (const [name, spec] of kernels) {
    const e = emitterOf(spec);
    statements.push({
      kind: StructureKind.Function,
      name,
      parameters: kernelParams(e.weighted, e.second(spec), e.tables?.(spec)).map((p) => ({
        name: p.name,
        type: p.type,
      })),
      returnType: "void",
      docs: [docs.kernel(e.describe(spec))],
      statements: (w: CodeBlockWriter) => e.body(spec, w),
    });
  }
  return statements;
}

/**
 * The public entry functions every target exports around its own
 * `run(inputs, outputs)`: `bindInputs` (checks the caller's arrays), the
 * `scratch` outputs of `inferInto`, then `inferInto`, `inferAllInto`,
 * `inferAll` and `infer`. Every argument is checked for type and length
 * with an error naming the input or output.
 */
export function apiStatements(plan: KernelPlan): StatementStructures[] {
  const inputLengths = plan.inputs.map((i) => numel(i.shape));
  const outputLengths = plan.outputs.map((o) => numel(o.shape));
  const oneInput = plan.inputs.length === 1;
  const oneOutput = plan.outputs.length === 1;
  // Error wording: a one-input module says "Input", a several-input one names the input.
  const inputWhat = (k: number) =>
    oneInput ? "Input" : `Input ${JSON.stringify(plan.inputs[k].name)}`;
  const outputWhat = (k: number) =>
    oneOutput ? "Output" : `Output ${JSON.stringify(plan.outputs[k].name)}`;
  const inputType = oneInput
    ? "Float32Array | Record<string, Float32Array>"
    : "Record<string, Float32Array>";

  return [
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
          checkArg(w, "input", inputLengths[0], "Input", plan.inputs[0].shape);
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
          w.writeLine(`const x${k} = input[${keyLiteral(inp.name)}];`);
          checkArg(w, `x${k}`, inputLengths[k], inputWhat(k), inp.shape);
        });
        w.writeLine(`return [${plan.inputs.map((_, k) => `x${k}`).join(", ")}];`);
      },
    },
    constant(
      "scratch",
      "Float32Array[]",
      `[${
        outputLengths.map((n, k) => (k === 0 ? "new Float32Array(0)" : `new Float32Array(${n})`))
          .join(", ")
      }]`,
      "Where `inferInto` writes the outputs after the first.",
      false,
    ),
    {
      kind: StructureKind.Function,
      name: "inferInto",
      isExported: true,
      parameters: [{ name: "input", type: inputType }, { name: "output", type: "Float32Array" }],
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
  ];
}

/** Writes the check that `arg` is a Float32Array of `length` elements, naming it by `what`. */
function checkArg(
  w: CodeBlockWriter,
  arg: string,
  length: number,
  what: string,
  dims: readonly number[],
): void {
  block(w, `if (!(${arg} instanceof Float32Array) || ${arg}.length !== ${length})`, () => {
    w.writeLine(
      `const got = ${arg} instanceof Float32Array ? \`\${${arg}.length} elements\` : Object.prototype.toString.call(${arg});`,
    );
    const text = `${what} must be a Float32Array of ${length} elements (${dims.join("x")}), got `;
    w.writeLine(`throw new TypeError(${sourceString(text)} + got);`);
  });
}

/**
 * Writes the module's leading comment: the do-not-edit line naming the model,
 * the options (`options`, already formatted), the kernel calls, `kernels`
 * (e.g. `"12 kernels"`), arena and weight counts, and how to run it.
 */
export function writeHeader(
  w: CodeBlockWriter,
  h: {
    model: string;
    options: string;
    steps: number;
    kernels: string;
    memory: MemoryPlan;
    weightCount: number;
  },
): void {
  w.writeLine(`// DO NOT EDIT - generated by lightnets from ${sourceString(h.model)}`);
  w.writeLine(`// Options: ${h.options}`);
  w.writeLine(
    `// ${h.steps} kernel calls, ${h.kernels}, arena ${h.memory.arenaFloats * 4} bytes (peak ${
      h.memory.peakFloats * 4
    }), ${h.weightCount} weights.`,
  );
  w.writeLine("// Standalone: imports nothing. Run it with `deno run <this file> [--help]`, or");
  w.writeLine("// `deno run -A <this file> --image cat.jpg` (loads pngjs / jpeg-js from npm).");
  w.blankLine();
}

/**
 * Writes the entry point's helpers (image reader, output summaries) and the
 * comment saying what running the module directly does; `rest` finishes that
 * comment from "values)" on, with what the target times and prints.
 */
export function writeEntryHelpers(w: CodeBlockWriter, rest: string[]): void {
  w.write(imageEntrySource()).blankLine();
  w.write(OUTPUT_SUMMARY_SOURCE).blankLine();
  w.writeLine(
    "// Run directly: seeded inputs (mulberry32, seed 42 + input index, uniform in [-1, 1])",
  );
  w.writeLine(
    "// or --image FILE for the first input (see imageInputFromOptions), then each output",
  );
  w.writeLine("// (top-5 of sample 0 for an [N, K] output, else shape, min/max/mean and the first");
  for (const line of rest) w.writeLine(line);
}

/**
 * Writes the start of the entry point (inside `if (import.meta.main)`): the
 * `--json` flag, `printedModel` (a literal from `entryPrinting`), the options,
 * the first input from `--image` when given (`sampleOut`: floats of one
 * sample of the first output, for the label check), every other input seeded
 * (mulberry32, seed 42 + input index, uniform in [-1, 1]), then `input` as
 * `inferAll` takes it.
 */
export function writeEntryInputs(
  w: CodeBlockWriter,
  e: { printedModel: string; sampleOut: number; oneInput: boolean },
): void {
  w.writeLine('const json = Deno.args.includes("--json");');
  w.writeLine(`const printedModel = ${e.printedModel};`);
  w.writeLine(
    'const options = entryOptions(Deno.args.filter((a) => a !== "--json"), printedModel, inputShape);',
  );
  w.writeLine(
    `const fromImage = await imageInputFromOptions(options, inputShape, ${e.sampleOut});`,
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
    e.oneInput
      ? "const input = inputs[0];"
      : "const input = Object.fromEntries(inputNames.map((n, k) => [n, inputs[k]]));",
  );
}

/**
 * Writes the entry point's timing and summaries (after `const outputs =
 * inferAll(input)`): warm up for at most `warmup.runs` runs or `warmup.ms`
 * milliseconds (`warmup.why` says why that long), then time 5 to 100 runs
 * (at least 5, up to 1 s) into `ms` and `runs`, and summarize each output into
 * `summaries` (`probabilities`: from `entryPrinting`).
 */
export function writeEntryTiming(
  w: CodeBlockWriter,
  warmup: { why: string; runs: number; ms: number },
  probabilities: string,
): void {
  w.writeLine(`// ${warmup.why}`);
  w.writeLine("const w0 = performance.now();");
  w.writeLine(
    `for (let i = 0; i < ${warmup.runs} && performance.now() - w0 < ${warmup.ms}; i++) inferAllInto(input, outputs);`,
  );
  w.writeLine("let runs = 0;");
  w.writeLine("const t0 = performance.now();");
  block(w, "while (runs < 5 || (performance.now() - t0 < 1000 && runs < 100))", () => {
    w.writeLine("inferAllInto(input, outputs);");
    w.writeLine("runs++;");
  });
  w.writeLine("const ms = (performance.now() - t0) / runs;");
  w.writeLine(
    `const summaries = outputNames.map((name, k) => summarizeOutput(name, outputShapes[k], outputs[name], fromImage?.labels, ${probabilities}[k]));`,
  );
}

/**
 * Writes the entry point's report (after {@link writeEntryTiming}): with
 * `--json`, one object of `jsonFields` (a comma-separated list of the
 * entry's variables, after `model` and `outputs`); else each output's summary
 * lines (headed by the model's printed name for one output, by the output's
 * name and shape for several), the random-weights note where there is one,
 * and `timingLine` (a statement that prints the time per inference).
 */
export function writeEntryReport(
  w: CodeBlockWriter,
  r: { jsonFields: string; randomNote?: string; timingLine: string },
): void {
  block(w, "if (json)", () => {
    w.writeLine(
      `console.log(JSON.stringify({ model, outputs: summaries, ${r.jsonFields} }, null, 2));`,
    );
  });
  block(w, "else", () => {
    w.writeLine(
      'const header = (s: OutputSummary) => outputNames.length === 1 ? `${printedModel}: ` : `output ${JSON.stringify(s.name)} [${s.shape.join(", ")}]: `;',
    );
    w.writeLine(
      "for (const line of summaries.flatMap((s) => formatOutputSummary(s, header(s)))) console.log(line);",
    );
    if (r.randomNote) w.writeLine(r.randomNote);
    w.writeLine(r.timingLine);
  });
}

/**
 * Base64 characters per chunk of an embedded array of chunks: a multiple of 4,
 * so each chunk decodes on its own to 3/4 as many bytes. One multi-megabyte
 * string literal parses about twice as slowly in Deno as the same text in
 * chunks (measured on MobileNetV1's 22 MB: about 250 vs 110 ms without a code
 * cache), and a file of short lines stays readable by editors and diff tools.
 */
export const BASE64_CHUNK = 65536;

/**
 * The text of an array literal holding `b64` (base64) in chunks of
 * {@link BASE64_CHUNK} characters, one per line, for
 * {@link base64DecoderStatement}'s `decodeBase64Chunks`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BASE64_CHUNK, base64ChunksLiteral } from "./_api.ts";
 * const b64 = "QUJD".repeat(BASE64_CHUNK / 4) + "RA==";
 * const lit = base64ChunksLiteral(b64);
 * assert.deepEqual(JSON.parse(lit), [b64.slice(0, BASE64_CHUNK), "RA=="]);
 * assert.equal(base64ChunksLiteral(""), "[]");
 * ```
 */
export function base64ChunksLiteral(b64: string): string {
  if (b64.length === 0) return "[]";
  const lines: string[] = [];
  for (let at = 0; at < b64.length; at += BASE64_CHUNK) {
    lines.push(`"${b64.slice(at, at + BASE64_CHUNK)}"`);
  }
  return `[\n${lines.join(",\n")}\n]`;
}

/**
 * The module's `decodeBase64Chunks(chunks, into)`: decodes the chunks (from
 * {@link base64ChunksLiteral}) straight into `into` (for the WebAssembly
 * target, a view of the module's memory), checking that they fill it
 * exactly. It uses the engine's native decoder where there is one
 * (`Uint8Array.prototype.setFromBase64`: Deno 2, recent browsers; else Node's
 * `Buffer`), else `atob`, so the module runs everywhere; each path gives the
 * same bytes (a test runs each).
 */
export function base64DecoderStatement(): StatementStructures {
  return {
    kind: StructureKind.Function,
    name: "decodeBase64Chunks",
    parameters: [{ name: "chunks", type: "readonly string[]" }, {
      name: "into",
      type: "Uint8Array",
    }],
    returnType: "void",
    docs: [
      "Decodes base64 chunks into `into` (native `setFromBase64` where the engine has it, else Node's `Buffer`, else `atob`), checking that they fill it exactly.",
    ],
    statements: (w) => {
      w.writeLine(
        "const setFrom = (into as unknown as { setFromBase64?: (s: string) => { read: number; written: number } }).setFromBase64;",
      );
      w.writeLine(
        "const buffer = (globalThis as unknown as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;",
      );
      w.writeLine("let at = 0;");
      block(w, "for (const chunk of chunks)", () => {
        block(w, "if (setFrom)", () => {
          w.writeLine("const r = setFrom.call(into.subarray(at), chunk);");
          w.writeLine("at += r.written;");
          w.writeLine("if (r.read === chunk.length) continue;");
          w.writeLine(
            "throw new Error(`Embedded data holds more than the ${into.length} bytes expected`);",
          );
        });
        w.writeLine(
          'const bytes: ArrayLike<number> = buffer ? buffer.from(chunk, "base64") : Uint8Array.from(atob(chunk), (c) => c.charCodeAt(0));',
        );
        block(w, "if (at + bytes.length > into.length)", () => {
          w.writeLine(
            "throw new Error(`Embedded data holds more than the ${into.length} bytes expected`);",
          );
        });
        w.writeLine("into.set(bytes, at);");
        w.writeLine("at += bytes.length;");
      });
      block(w, "if (at !== into.length)", () => {
        w.writeLine(
          "throw new Error(`Embedded data holds ${at} bytes, expected ${into.length}`);",
        );
      });
    },
  };
}
