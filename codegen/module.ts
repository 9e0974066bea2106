/**
 * Assembles the standalone inference module with ts-morph: every declaration
 * (constants, kernels, `infer`) is a structure with its name, parameters,
 * return type and docs; only bodies are written imperatively with the writer.
 *
 * The module imports nothing. Weights are embedded as base64 of float32
 * little-endian in chunks (`_api.ts`'s `base64ChunksLiteral`), a top-level
 * constant decoded once at load. Every identifier is generated (kernel
 * names from specs, fixed names elsewhere); names from the graph (model and
 * layer paths) only appear inside string literals and comments, escaped by
 * {@link sourceString} so no quote, `*\/`, backtick, newline or other
 * line terminator can end them early.
 *
 * @module
 */

import { sanitize } from "../lib/_text.ts";
import {
  type CodeBlockWriter,
  IndentationText,
  Project,
  type StatementStructures,
  StructureKind,
} from "ts-morph";
import { numel } from "../lib/ir/ops.ts";
import { block, type Emitter } from "./_emit.ts";
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
} from "./_api.ts";
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
import { type Family, kernelName, type KernelSpec, specKey } from "./spec.ts";

export { sourceString };

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
  const sampleOut = outputLengths[0] / plan.batch;
  const oneInput = plan.inputs.length === 1;
  const options = optionsText(info.options);

  const statements: StatementStructures[] = [
    // First and top-level: the engine scans the multi-megabyte literal once.
    constant(
      "WEIGHTS",
      "readonly string[]",
      WEIGHTS_PLACEHOLDER,
      "The packed weights, float32 little-endian, as base64 in chunks.",
      false,
    ),
    ...interfaceConstants(plan, info.model, info.cost),
    ...sizeConstants(
      memory,
      weightCount,
      "Bytes of the activation arena (one sample; the input and output live in the caller's arrays).",
    ),
    base64DecoderStatement(),
    {
      kind: StructureKind.Function,
      name: "decodeWeights",
      parameters: [{ name: "chunks", type: "readonly string[]" }, {
        name: "count",
        type: "number",
      }],
      returnType: "Float32Array",
      docs: ["Decodes the base64 chunks of `count` float32 little-endian weights."],
      statements: (w) => {
        w.writeLine("const bytes = new Uint8Array(count * 4);");
        w.writeLine("decodeBase64Chunks(chunks, bytes);");
        w.writeLine("// A Float32Array reads the host's byte order; the bytes are little-endian.");
        block(w, "if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1)", () => {
          w.writeLine("return new Float32Array(bytes.buffer);");
        });
        w.writeLine("const view = new DataView(bytes.buffer);");
        w.writeLine("const out = new Float32Array(count);");
        w.writeLine("for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);");
        w.writeLine("return out;");
      },
    },
    constant(
      "W",
      "Float32Array",
      `decodeWeights(WEIGHTS, ${weightCount})`,
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

  if (info.profile) statements.push(stepMsConstant(plan.steps.length));
  statements.push(
    ...tableStatements(
      plan.steps,
      emitterOf,
      "Channel offsets of a tensor no single stride describes (a kernel argument).",
    ),
    ...tsKernelStatements(
      [...kernels].map(([name, { spec }]) => [name, spec]),
      emitterOf,
      { kernel: (d) => d + "." },
    ),
  );

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
            args.push(...tableArgs(step, e));
            w.writeLine(`// ${step.layers.map(sourceString).join(", ")}`);
            if (info.profile) w.writeLine("t = performance.now();");
            w.writeLine(`${kernelName(step.spec)}(${args.join(", ")});`);
            if (info.profile) w.writeLine(`stepMs[${i}] += performance.now() - t;`);
          });
        });
      },
    },
    ...apiStatements(plan),
  );

  const mainBlock = (w: CodeBlockWriter) => {
    writeEntryHelpers(w, [
      "// values) and the time per inference; --json prints the same as JSON; --help lists",
      "// the options.",
    ]);
    block(w, "if (import.meta.main)", () => {
      const printing = entryPrinting(plan, info);
      writeEntryInputs(w, { printedModel: printing.printedModel, sampleOut, oneInput });
      w.writeLine("const outputs = inferAll(input);");
      // Each kernel runs once per inference; V8 needs many calls before a large
      // unrolled function reaches its optimizing tier, so warm up for long.
      writeEntryTiming(w, {
        why: "Warm up until the JIT has optimized every kernel (up to 60 runs or 5 s), then time.",
        runs: 60,
        ms: 5000,
      }, printing.probabilities);
      writeEntryReport(w, {
        jsonFields: "msPerInference: ms, runs",
        randomNote: printing.randomNote,
        timingLine: "console.log(`${ms.toFixed(2)} ms/inference (${runs} runs, one thread)`);",
      });
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
        options: options || "(none)",
        steps: plan.steps.length,
        kernels: `${kernels.size} kernels`,
        memory,
        weightCount,
      }),
    statements: [...statements, mainBlock],
  });
  const text = file.getFullText();
  const at = text.indexOf(WEIGHTS_PLACEHOLDER);
  return text.slice(0, at) + base64ChunksLiteral(base64Floats(all)) +
    text.slice(at + WEIGHTS_PLACEHOLDER.length);
}

// A placeholder keeps the multi-megabyte literal out of ts-morph's parser; it is
// substituted in the printed text. The quotes make it unforgeable: graph names
// only reach the text through sourceString, which escapes quotes.
const WEIGHTS_PLACEHOLDER = '"@weights@"';
