/**
 * `run <model> [knobs] [--input FILE]`: generates the model's module in
 * memory, runs it, and prints the top-5 outputs, the time per inference and
 * the largest difference from the reference executor.
 *
 * @module
 */

import { EXIT, guard, readFileOrThrow, requirePermission, UsageError } from "./_common.ts";
import { loadModel, parseOneModel } from "./_model.ts";
import { jsonText, quote, sanitize } from "../lib/_text.ts";
import { loadWeights, parseSeed } from "./_weights.ts";
import { formatTopClasses, IMAGE_HELP, IMAGE_OPTIONS, imageInput, readLabels } from "./_image.ts";
import { numel } from "../lib/ir/ops.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import { runReference } from "../lib/runtime/reference.ts";
import { argmax, maxAbs, maxAbsDiff, randomInput, topK } from "../lib/runtime/tensor.ts";

const OPTIONS = {
  ...IMAGE_OPTIONS,
  input: { type: "string" },
  weights: { type: "string" },
  seed: { type: "string" },
  runs: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The `--help` text. */
export const HELP = `Usage: deno run -A cli.ts run <model> [knobs] [options]

Generates the model's inference module in memory, runs it on one input, and
prints the top-5 outputs, milliseconds per inference, and the largest
difference from the reference executor. Fails (exit 1) when
max |generated - reference| > 1e-4 * max |reference| or the top-1 differs.

Arguments:
  <model>          a zoo model, a torchvision alias, or an .onnx file

Knobs: as in \`analyze\` (--width X, --resolution N, ...)

Options:
  --input FILE     float32 input: raw little-endian bytes (.bin, .f32, .raw) or a JSON
                   array of numbers (.json), NCHW, the model's input size;
                   default a seeded input (mulberry32 seed 42, uniform [-1, 1])
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
  deno run -A cli.ts run model.onnx --image cat.jpg --size 256x256 --labels imagenet.txt

Permissions: --allow-env (ts-morph), --allow-read and --allow-write (the module
is loaded from a temp file; input, image and labels files are read); -A grants all.

Exit codes: 0 success, 1 failed run or mismatch, 2 bad usage`;

/** Tolerance of the comparison with the reference executor (relative to max |reference|). */
export const TOLERANCE = 1e-4;

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

/** Whether the graph's output is a softmax (its values already probabilities). */
function endsInSoftmax(graph: Graph): boolean {
  return graph.nodes.find((n) => n.name === graph.output)?.kind === "softmax";
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
    const length = numel(graph.input.shape);
    if (values.input && values.image) {
      throw new UsageError("Give either --input or --image, not both");
    }
    const outputShape = inferShapes(graph).shapes.get(graph.output)!;
    const labels = await readLabels(values.labels, numel(outputShape) / outputShape[0]);
    const input = (await imageInput(values, graph.input.shape)) ??
      (values.input ? await readInput(values.input, length) : randomInput(graph.input.shape, 42));

    // Loaded here so `run --help` needs no permission (ts-morph reads the environment).
    const { compile, loadModule } = await import("../codegen/compile.ts");
    const t0 = performance.now();
    const { source } = compile(graph, weights, {
      model: loaded.model,
      options: [...Object.entries(loaded.knobs), ...options],
    });
    const codegenMs = performance.now() - t0;
    const mod = await loadModule(source);
    const output = mod.infer(input);
    // Warm-up: V8 optimizes a large kernel only after many calls (30 runs or 3 s).
    const w0 = performance.now();
    for (let i = 0; i < 30 && performance.now() - w0 < 3000; i++) mod.inferInto(input, output);
    const t1 = performance.now();
    for (let i = 0; i < runs; i++) mod.inferInto(input, output);
    const ms = (performance.now() - t1) / runs;

    const reference = runReference(graph, weights, input);
    const diff = maxAbsDiff(output, reference);
    const scale = maxAbs(reference);
    const sample = output.subarray(0, output.length / graph.input.shape[0]);
    const top1Agrees = argmax(output) === argmax(reference);
    const ok = diff <= TOLERANCE * scale && top1Agrees;
    const top5 = topK(sample, 5);
    const weightsNote = describeWeights(options, loaded.randomWeights);
    // A Softmax at the end already gives probabilities: no second softmax.
    const probabilities = endsInSoftmax(graph);
    if (values.json) {
      console.log(jsonText(
        {
          model: loaded.model,
          knobs: loaded.knobs,
          weights: Object.fromEntries(options),
          outputIsProbability: probabilities,
          top5: labels ? top5.map((t) => ({ ...t, label: labels[t.index] })) : top5,
          msPerInference: ms,
          runs,
          codegenMs,
          maxAbsDiff: diff,
          maxAbsReference: scale,
          tolerance: TOLERANCE,
          matchesReference: ok,
        },
      ));
    } else {
      console.log(`${sanitize(loaded.model)}: top-5 of sample 0`);
      if (weightsNote) console.log(`  (${weightsNote})`);
      for (const line of formatTopClasses(sample, 5, labels, probabilities)) console.log(line);
      console.log(
        `${ms.toFixed(2)} ms/inference (${runs} runs, one thread); codegen ${
          codegenMs.toFixed(0)
        } ms`,
      );
      console.log(
        `max |generated - reference| = ${diff.toExponential(2)} (${
          (diff / (scale || 1)).toExponential(2)
        } of max |reference|; tolerance ${TOLERANCE}); top-1 ${top1Agrees ? "agrees" : "DIFFERS"}`,
      );
    }
    if (!ok) {
      const why = !Number.isFinite(diff)
        ? "its output is not finite"
        : !top1Agrees
        ? "the top-1 class differs"
        : `max |generated - reference| ${
          diff.toExponential(2)
        } exceeds ${TOLERANCE} x max |reference|`;
      console.error(`error: the generated module does not match the reference executor: ${why}`);
      return EXIT.failed;
    }
    return EXIT.ok;
  });
}
