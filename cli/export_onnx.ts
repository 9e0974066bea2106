/**
 * `export-onnx <model> [knobs] --out m.onnx`: writes a zoo model (or an ONNX
 * file read back) as an ONNX model, opset 14, with the weights codegen would
 * use: seeded random weights (`--seed`, default 0) or a safetensors
 * state_dict (`--weights`).
 *
 * @module
 */

import { EXIT, guard, UsageError, writeFileAtomic } from "./_common.ts";
import { loadModel, parseModelArgs } from "./_model.ts";
import { checkWeights, randomWeights, type Weights } from "../lib/runtime/weights.ts";
import { foldBatchNorm } from "../lib/runtime/fold.ts";
import { EXPORT_OPSET, exportOnnx } from "../interop/onnx_export.ts";
import { readSafetensors } from "../interop/safetensors.ts";

const OPTIONS = {
  out: { type: "string", short: "o" },
  seed: { type: "string" },
  weights: { type: "string" },
  "fold-bn": { type: "boolean" },
  "static-batch": { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The `--help` text. */
export const HELP = `Usage: deno run -A cli.ts export-onnx <model> [knobs] --out m.onnx [options]

Writes the model as an ONNX file (opset ${EXPORT_OPSET}) that onnxruntime and other
runtimes load. Node names are the module paths (features.0.0), parameters are
initializers named like the PyTorch state_dict (features.0.0.weight).

Arguments:
  <model>            a zoo model or torchvision alias (run \`deno run cli.ts list\`),
                     or an .onnx file (with --input-shape NxCxHxW if it is dynamic)

Knobs: --width X, --resolution N, --groups G, --classes N, ... (see \`list\`)

Options:
  -o, --out FILE     where to write the model (required)
  --seed N           seed of the random weights, the same codegen uses (default 0)
  --weights FILE     weights from a safetensors state_dict instead of random ones
  --fold-bn          fold each BatchNorm into the conv before it (as torch.onnx does)
  --static-batch     write the batch dimension as a number (default: symbolic "N")
  --json             print a summary as JSON
  -h, --help         show this help

Examples:
  deno run -A cli.ts export-onnx mobilenetv2 --width 0.5 --out mnv2.onnx
  deno run -A cli.ts export-onnx shufflenet_v2_x1_0 --weights sv2.safetensors -o sv2.onnx

Exit codes: 0 success, 1 failed, 2 bad usage`;

function parseSeed(text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`Invalid --seed "${text}": expected a non-negative integer`);
  }
  return Number(text);
}

/** Runs `export-onnx` on its arguments and returns the exit code. */
export function run(args: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals, knobs } = parseModelArgs(args, OPTIONS);
    if (values.help) {
      console.log(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? "Missing model name; run `deno run cli.ts list` to see the zoo, or `export-onnx --help`"
          : `Expected one model, got ${positionals.length}: ${positionals.join(" ")}`,
      );
    }
    if (!values.out) throw new UsageError("Missing --out FILE: where to write the ONNX model");
    if (values.weights && values.seed !== undefined) {
      throw new UsageError("Give either --weights or --seed, not both");
    }
    const seed = parseSeed(values.seed);
    const loaded = await loadModel(positionals[0], knobs);
    let graph = loaded.graph;
    let weights: Weights;
    let source: string;
    if (values.weights) {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(values.weights);
      } catch (e) {
        throw new Error(`Cannot read "${values.weights}": ${e instanceof Error ? e.message : e}`);
      }
      weights = readSafetensors(bytes, values.weights);
      checkWeights(graph, weights);
      source = values.weights;
    } else if (loaded.weights) {
      weights = loaded.weights;
      source = positionals[0];
    } else {
      weights = randomWeights(graph, seed);
      source = `random, seed ${seed}`;
    }
    if (values["fold-bn"]) ({ graph, weights } = foldBatchNorm(graph, weights));
    const bytes = exportOnnx(graph, weights, {
      dynamicBatch: !values["static-batch"],
      docString: `${loaded.model} exported by lightnets; weights: ${source}`,
    });
    await writeFileAtomic(values.out, bytes);
    const summary = {
      model: loaded.model,
      knobs: loaded.knobs,
      out: values.out,
      bytes: bytes.length,
      opset: EXPORT_OPSET,
      nodes: graph.nodes.length,
      weights: source,
    };
    if (values.json) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `wrote ${values.out}: ${loaded.model}, ${graph.nodes.length} nodes, opset ${EXPORT_OPSET}, ${bytes.length} bytes, weights ${source}`,
      );
    }
    return EXIT.ok;
  });
}
