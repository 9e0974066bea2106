/**
 * `run <model> [knobs] [--input [NAME=]FILE ...]`: generates the model's
 * module in memory, runs it, and prints each output (top-5 for an `[N, K]`
 * output, else its shape, min/max/mean and first values), the time per
 * inference and each output's largest difference from the reference executor.
 *
 * @module
 */

import { EXIT, guard, readFileOrThrow, requirePermission, UsageError } from "./_common.ts";
import { loadModel, parseOneModel } from "./_model.ts";
import { checkEngineLimits } from "../codegen/limits.ts";
import { jsonText, quote, sanitize } from "../lib/_text.ts";
import { loadWeights, parseSeed } from "./_weights.ts";
import { formatTopClasses, IMAGE_HELP, IMAGE_OPTIONS, imageInput, readLabels } from "./_image.ts";
import { formatShape, numel, type Shape } from "../lib/ir/ops.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import { runReferenceOutputs } from "../lib/runtime/reference.ts";
import { argmax, maxAbs, maxAbsDiff, randomInput, topK } from "../lib/runtime/tensor.ts";

const OPTIONS = {
  ...IMAGE_OPTIONS,
  input: { type: "string", multiple: true },
  weights: { type: "string" },
  seed: { type: "string" },
  runs: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The `--help` text. */
export const HELP = `Usage: deno run -A cli.ts run <model> [knobs] [options]

Generates the model's inference module in memory, runs it on one input, and
prints each output (the top-5 of sample 0 for an [N, K] output, else its shape,
min/max/mean and first values), milliseconds per inference, and each output's
largest difference from the reference executor. Fails (exit 1) when an output
has max |generated - reference| > 1e-4 * max |reference|, or the top-1 of an
[N, K] output differs.

Arguments:
  <model>          a zoo model, a torchvision alias, or an .onnx file

Knobs: as in \`analyze\` (--width X, --resolution N, ...)

Options:
  --input [NAME=]FILE
                   float32 input: raw little-endian bytes (.bin, .f32, .raw) or a JSON
                   array of numbers (.json), row-major in the input's shape;
                   NAME= picks the input of a model with several (repeat the
                   flag per input); default a seeded input per input
                   (mulberry32 seed 42 + input index, uniform [-1, 1])
${IMAGE_HELP}
  --weights W      random (default for zoo models), file (an .onnx model's own
                   weights), or a .safetensors state_dict (torchvision keys)
  --seed N         seed of the random weights (default 0)
  --runs N         timed runs after the warm-up (30 runs or 3 s; default 10)
  --json           print a JSON result instead of text
  -h, --help       show this help

Examples:
  deno run -A cli.ts run shufflenetv2
  deno run -A cli.ts run mobilenetv2 --resolution 160 --input x.bin
  deno run -A cli.ts run detector.onnx --input image=x.bin --input scale=s.json --json
  deno run -A cli.ts run model.onnx --image cat.jpg --size 256x256 --labels imagenet.txt

Permissions: --allow-env (ts-morph), --allow-read and --allow-write (the module
is loaded from a temp file; input, image and labels files are read); -A grants all.

Exit codes: 0 success, 1 failed run or mismatch, 2 bad usage`;

/** Tolerance of the comparison with the reference executor (relative to max |reference|). */
export const TOLERANCE = 1e-4;

/**
 * The `--input` values matched to the graph's inputs: `NAME=FILE` where NAME
 * is an input's name, or a bare FILE for a one-input graph.
 */
export function inputFiles(graph: Graph, given: string[]): Map<string, string> {
  const names = graph.inputs.map((i) => i.name);
  const files = new Map<string, string>();
  for (const text of given) {
    const eq = text.indexOf("=");
    const named = eq > 0 && names.includes(text.slice(0, eq));
    if (!named && names.length > 1) {
      throw new UsageError(
        `Invalid --input "${text}": this model has ${names.length} inputs; give each as NAME=FILE with NAME one of ${
          names.map((n) => `"${n}"`).join(", ")
        }`,
      );
    }
    const name = named ? text.slice(0, eq) : names[0];
    if (files.has(name)) throw new UsageError(`--input "${name}" is given twice`);
    files.set(name, named ? text.slice(eq + 1) : text);
  }
  return files;
}

/** What `run` reports about one output (also its `--json` record). */
interface OutputReport {
  name: string;
  shape: Shape;
  min: number;
  max: number;
  mean: number;
  /** The first values, row-major (at most 8). */
  first: number[];
  /** For an `[N, K]` output: the 5 largest of sample 0. */
  top5?: { index: number; value: number; label?: string }[];
  maxAbsDiff: number;
  maxAbsReference: number;
  /** For an `[N, K]` output: whether generated and reference have the same argmax. */
  top1Agrees?: boolean;
  matchesReference: boolean;
}

function reportOutput(
  name: string,
  shape: Shape,
  got: Float32Array,
  want: Float32Array,
  labels?: string[],
): OutputReport {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of got) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const diff = maxAbsDiff(got, want);
  const scale = maxAbs(want);
  const classifier = shape.length === 2 && shape[1] > 1;
  const top1 = !classifier || argmax(got) === argmax(want);
  const report: OutputReport = {
    name,
    shape,
    min,
    max,
    mean: got.length ? sum / got.length : 0,
    first: Array.from(got.subarray(0, 8)),
    maxAbsDiff: diff,
    maxAbsReference: scale,
    matchesReference: diff <= TOLERANCE * scale && top1,
  };
  if (classifier) {
    report.top1Agrees = top1;
    const top = topK(got.subarray(0, shape[1]), 5);
    report.top5 = labels ? top.map((t) => ({ ...t, label: labels[t.index] })) : top;
  }
  return report;
}

const g6 = (v: number) => Number(v.toPrecision(6)).toString();

/** Extensions `--input` reads as raw little-endian float32. */
const RAW_EXTENSIONS = [".bin", ".f32", ".raw"];

async function readInput(path: string, length: number): Promise<Float32Array> {
  const what = `Invalid --input ${quote(path)}`;
  const isJson = /\.json$/i.test(path);
  if (!isJson && !RAW_EXTENSIONS.some((e) => path.toLowerCase().endsWith(e))) {
    throw new UsageError(
      `${what}: expected a .json file (an array of numbers) or raw little-endian float32 (${
        RAW_EXTENSIONS.join(", ")
      })`,
    );
  }
  const bytes = await readFileOrThrow(path, "--input");
  let data: Float32Array;
  if (isJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new UsageError(`${what}: not valid JSON (${e instanceof Error ? e.message : e})`);
    }
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === "number")) {
      throw new UsageError(`${what}: expected a JSON array of numbers`);
    }
    data = Float32Array.from(parsed as number[]);
  } else {
    if (bytes.length % 4 !== 0) {
      throw new UsageError(
        `${what}: ${bytes.length} bytes is not a whole number of float32 values`,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    data = new Float32Array(bytes.length / 4);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(4 * i, true);
  }
  if (data.length !== length) {
    throw new UsageError(`${what}: ${data.length} values, expected ${length} for this model`);
  }
  // A NaN or infinite input makes every comparison meaningless: refuse it.
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new UsageError(`${what}: value ${bad} is ${data[bad]}; expected finite numbers`);
  }
  return data;
}

/**
 * The warning printed with predictions from random weights (they look like
 * real ones), or undefined for a file's or a state_dict's weights.
 */
function describeWeights(
  options: [string, string | number][],
  fileRandom: string | undefined,
): string | undefined {
  const o = Object.fromEntries(options);
  if (o.weights === "file" && fileRandom) {
    return `the file's weights are random (${fileRandom}, a lightnets export): an untrained model, so these classes mean nothing`;
  }
  if (o.weights !== "random") return undefined;
  return `random weights, seed ${o.seed}: an untrained model, so these classes mean nothing; ` +
    "--weights file or a .safetensors state_dict for real ones";
}

/** Whether output `node` is a softmax (its values already probabilities). */
function isSoftmax(graph: Graph, node: string): boolean {
  return graph.nodes.find((n) => n.name === node)?.kind === "softmax";
}

function parseRuns(text: string | undefined): number {
  if (text === undefined) return 10;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 100000) {
    throw new UsageError(`Invalid --runs "${text}": expected an integer in [1, 100000]`);
  }
  return Number(text);
}

/** Runs `run` with `args`; returns the exit code. */
export function run(args: string[]): Promise<number> {
  return guard(async () => {
    const parsed = parseOneModel("run", HELP, args, OPTIONS);
    if (!parsed) return EXIT.ok;
    const { values, knobs, model } = parsed;
    const seed = parseSeed(values.seed);
    const runs = parseRuns(values.runs);
    requirePermission(
      `run "${model}" (ts-morph reads environment variables; the module loads from a temp file)`,
      ["env", "read", "write"],
    );
    const loaded = await loadModel(model, knobs, parsed.optionNames);
    const { graph } = loaded;
    const { weights, options } = await loadWeights(graph, loaded.weights, values.weights, seed);
    if (values.input?.length && values.image) {
      throw new UsageError("Give either --input or --image, not both");
    }
    const files = inputFiles(graph, values.input ?? []);
    const shapes = inferShapes(graph).shapes;
    const primary = shapes.get(graph.outputs[0].node)!;
    const labels = await readLabels(values.labels, numel(primary) / primary[0]);
    const image = await imageInput(values, graph.inputs[0].shape);
    // Sizes no JS engine allocates are refused before the inputs are made (codegen/limits.ts).
    checkEngineLimits(
      loaded.model,
      {
        arena: 0,
        input: Math.max(...graph.inputs.map((i) => numel(i.shape))),
        output: Math.max(...graph.outputs.map((o) => numel(shapes.get(o.node)!))),
      },
      0,
      false,
    );
    const entries: [string, Float32Array][] = [];
    for (const [k, { name, shape }] of graph.inputs.entries()) {
      const file = files.get(name);
      entries.push([
        name,
        k === 0 && image
          ? image
          : file !== undefined
          ? await readInput(file, numel(shape))
          : randomInput(shape, 42 + k),
      ]);
    }
    const inputs = Object.fromEntries(entries);

    // Loaded here so `run --help` needs no permission (ts-morph reads the environment).
    const { compile, loadModule } = await import("../codegen/compile.ts");
    const t0 = performance.now();
    const { source } = compile(graph, weights, {
      model: loaded.model,
      options: [...Object.entries(loaded.knobs), ...options],
    });
    const codegenMs = performance.now() - t0;
    const mod = await loadModule(source);
    const outputs = mod.inferAll(inputs);
    // Warm-up: V8 optimizes a large kernel only after many calls (30 runs or 3 s).
    const w0 = performance.now();
    for (let i = 0; i < 30 && performance.now() - w0 < 3000; i++) {
      mod.inferAllInto(inputs, outputs);
    }
    const t1 = performance.now();
    for (let i = 0; i < runs; i++) mod.inferAllInto(inputs, outputs);
    const ms = (performance.now() - t1) / runs;

    const reference = runReferenceOutputs(graph, weights, inputs);
    const reports = graph.outputs.map((o, k) =>
      reportOutput(
        o.name,
        shapes.get(o.node)!,
        outputs[o.name],
        reference[o.name],
        k === 0 ? labels : undefined,
      )
    );
    const ok = reports.every((r) => r.matchesReference);
    const [first] = reports;
    const weightsNote = describeWeights(options, loaded.randomWeights);
    if (values.json) {
      console.log(jsonText(
        {
          model: loaded.model,
          knobs: loaded.knobs,
          weights: Object.fromEntries(options),
          // The primary output's figures, as before several outputs existed.
          ...(first.top5 ? { top5: first.top5 } : {}),
          msPerInference: ms,
          runs,
          codegenMs,
          maxAbsDiff: first.maxAbsDiff,
          maxAbsReference: first.maxAbsReference,
          tolerance: TOLERANCE,
          matchesReference: ok,
          outputs: reports,
        },
      ));
    } else {
      const one = reports.length === 1;
      for (const [k, r] of reports.entries()) {
        const header = sanitize(
          one ? `${loaded.model}: ` : `output "${r.name}" ${formatShape(r.shape)}: `,
        );
        if (r.top5) {
          console.log(`${header}top-5 of sample 0`);
          if (weightsNote) console.log(`  (${weightsNote})`);
          const sample = outputs[r.name].subarray(0, r.shape[1]);
          // A Softmax at the end already gives probabilities: no second softmax.
          const probabilities = isSoftmax(graph, graph.outputs[k].node);
          for (
            const line of formatTopClasses(sample, 5, k === 0 ? labels : undefined, probabilities)
          ) {
            console.log(line);
          }
        } else {
          console.log(`${header}min ${g6(r.min)}  max ${g6(r.max)}  mean ${g6(r.mean)}`);
          console.log(`  first ${r.first.length}: ${r.first.map(g6).join(", ")}`);
        }
      }
      console.log(
        `${ms.toFixed(2)} ms/inference (${runs} runs, one thread); codegen ${
          codegenMs.toFixed(0)
        } ms`,
      );
      for (const r of reports) {
        const top1 = r.top1Agrees === undefined
          ? ""
          : `; top-1 ${r.top1Agrees ? "agrees" : "DIFFERS"}`;
        console.log(
          `${one ? "" : `${quote(r.name)}: `}max |generated - reference| = ${
            r.maxAbsDiff.toExponential(2)
          } (${
            (r.maxAbsDiff / (r.maxAbsReference || 1)).toExponential(2)
          } of max |reference|; tolerance ${TOLERANCE})${top1}`,
        );
      }
    }
    if (!ok) {
      const bad = reports.find((r) => !r.matchesReference)!;
      const why = !Number.isFinite(bad.maxAbsDiff)
        ? "its output is not finite"
        : bad.top1Agrees === false
        ? "the top-1 class differs"
        : `max |generated - reference| ${
          bad.maxAbsDiff.toExponential(2)
        } exceeds ${TOLERANCE} x max |reference|`;
      const where = reports.length > 1 ? ` (output ${quote(bad.name)})` : "";
      console.error(
        `error: the generated module does not match the reference executor${where}: ${why}`,
      );
      return EXIT.failed;
    }
    return EXIT.ok;
  });
}
