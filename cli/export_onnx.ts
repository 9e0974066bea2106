/**
 * `export-onnx <model> [knobs] --out m.onnx`: writes a zoo model (or an ONNX
 * file read back) as an ONNX model, opset 14, with the weights codegen would
 * use: seeded random weights (`--seed`, default 0), an .onnx file's own
 * weights, or a safetensors state_dict (`--weights sv2.safetensors`).
 *
 * @module
 */

import {
  checkOutputPath,
  EXIT,
  guard,
  requireWritable,
  UsageError,
  writeFileAtomic,
} from "./_common.ts";
import { loadModel, parseOneModel } from "./_model.ts";
import { loadWeights, parseSeed } from "./_weights.ts";
import { jsonText, sanitize } from "../lib/_text.ts";
import { foldBatchNorm } from "../lib/runtime/fold.ts";
import { EXPORT_OPSET, exportOnnx } from "../interop/onnx_export.ts";

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
  --weights W        random (default for zoo models; the same codegen and run use),
                     file (an .onnx model's own weights, its default), or a
                     .safetensors state_dict (torchvision keys)
  --seed N           seed of the random weights (default 0)
  --fold-bn          fold each BatchNorm into the conv before it (as torch.onnx does)
  --static-batch     write the batch dimension as a number (default: symbolic "N")
  --json             print a summary as JSON
  -h, --help         show this help

Examples:
  deno run -A cli.ts export-onnx mobilenetv2 --width 0.5 --out mnv2.onnx
  deno run -A cli.ts export-onnx shufflenet_v2_x1_0 --weights sv2.safetensors -o sv2.onnx

Permissions: --allow-read and --allow-write (the file is written beside --out,
then renamed; .onnx and .safetensors inputs are read); -A grants both.

Exit codes: 0 success, 1 failed, 2 bad usage`;

/** Runs `export-onnx` on its arguments and returns the exit code. */
export function run(args: string[]): Promise<number> {
  return guard(async () => {
    const parsed = parseOneModel("export-onnx", HELP, args, OPTIONS);
    if (!parsed) return EXIT.ok;
    const { values, knobs, model } = parsed;
    if (values.out === undefined) {
      throw new UsageError("Missing --out FILE: where to write the ONNX model");
    }
    requireWritable(checkOutputPath(values.out, "--out"));
    const seed = parseSeed(values.seed);
    const loaded = await loadModel(model, knobs, parsed.optionNames);
    let graph = loaded.graph;
    // The same choice as codegen and run: random (seeded), the .onnx file's own
    // weights, or a safetensors state_dict.
    let { weights, options } = await loadWeights(graph, loaded.weights, values.weights, seed);
    const source = options.map(([k, v]) => (k === "weights" ? v : `${k} ${v}`)).join(", ");
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
    if (values.json) console.log(jsonText(summary));
    else {
      console.log(
        sanitize(
          `wrote ${values.out}: ${loaded.model}, ${graph.nodes.length} nodes, opset ${EXPORT_OPSET}, ${bytes.length} bytes, weights: ${source}`,
        ),
      );
    }
    return EXIT.ok;
  });
}
