/**
 * `analyze <model> [knobs] [options]`: per-layer shapes, parameters, MAdds,
 * FLOPs and MAC of a model, with stage subtotals and totals. A zoo model needs
 * no permission (no file, no environment variable); an ONNX file needs
 * `--allow-read`.
 *
 * @module
 */

import { EXIT, guard, parseFormat, UsageError } from "./_common.ts";
import { loadModel, parseOneModel } from "./_model.ts";
import { analyze, type Dtype, DTYPES } from "../lib/analysis/report.ts";
import { formatReport, FORMATS } from "../lib/analysis/format.ts";
import { withExtras } from "./_extras.ts";

/** The command's own options; every other `--name value` is a model knob. */
const OPTIONS = {
  format: { type: "string" },
  json: { type: "boolean" },
  depth: { type: "string" },
  dtype: { type: "string" },
  guidelines: { type: "boolean" },
  symbolic: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The `--help` text. */
export const HELP = `Usage: deno run cli.ts analyze <model> [knobs] [options]

Per-layer output shapes, parameters, MAdds, FLOPs and memory access cost (MAC)
of a model, with per-stage subtotals, totals and the share of each op type.

Arguments:
  <model>        a zoo model or torchvision alias (run \`deno run cli.ts list\`),
                 or an ONNX file: model.onnx [--input-shape NxCxHxW] (needs --allow-read)

Knobs (each model declares its own; \`list\` shows them and their values):
  --width X, --resolution N, --groups G, --classes N, ...
  booleans take on, off, true or false

Options:
  --format F     ${FORMATS.join(", ")} (default table)
  --json         the same as --format json (schema "lightnets.analysis/1")
  --depth N      one row per module path cut to N segments (1: stages, 2: blocks);
                 in JSON, the depth of "groups" (default 1)
  --dtype T      element type of MAC and activation bytes: ${DTYPES.join(", ")}
                 (default float32)
  --guidelines   add the ShuffleNet V2 guideline findings G1-G4 (see \`guidelines\`)
  --symbolic     add params, MAdds, MAC and activations as exact expressions of
                 H and W (and of alpha where channels are int(alpha * c))
  -h, --help     show this help

Examples:
  deno run cli.ts analyze shufflenetv2
  deno run cli.ts analyze mobilenetv1 --width 0.5 --resolution 160 --depth 1
  deno run cli.ts analyze shufflenet_v2_x1_0 --format md --dtype float16
  deno run --allow-read cli.ts analyze model.onnx --input-shape 1x3x224x224

Permissions: none for a zoo model; --allow-read for an .onnx file.

Exit codes: 0 success, 1 failed analysis, 2 bad usage`;

function parseDepth(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const depth = Number(text);
  if (!/^\d+$/.test(text) || depth < 1) {
    throw new UsageError(`Invalid --depth "${text}": expected a positive integer`);
  }
  return depth;
}

function parseDtype(text: string | undefined): Dtype {
  const d = text ?? "float32";
  if (!(DTYPES as readonly string[]).includes(d)) {
    throw new UsageError(`Invalid --dtype "${d}": expected one of ${DTYPES.join(", ")}`);
  }
  return d as Dtype;
}

/** Runs `analyze` on its arguments and returns the exit code. */
export function run(args: string[]): Promise<number> {
  return guard(async () => {
    const parsed = parseOneModel("analyze", HELP, args, OPTIONS);
    if (!parsed) return EXIT.ok;
    const { values, knobs, model } = parsed;
    const format = parseFormat(values.format, values.json, FORMATS);
    const depth = parseDepth(values.depth);
    const dtype = parseDtype(values.dtype);
    const loaded = await loadModel(model, knobs, parsed.optionNames);
    const report = analyze(loaded.graph, {
      model: loaded.model,
      knobs: loaded.knobs,
      depth,
      dtype,
    });
    const text = formatReport(report, format, { collapse: depth !== undefined }).trimEnd();
    const extras = { guidelines: values.guidelines ?? false, symbolic: values.symbolic ?? false };
    console.log(withExtras(text, format, loaded, extras));
    return EXIT.ok;
  });
}
