/**
 * `codegen <model> [knobs] [--out DIR]`: writes a standalone TypeScript
 * inference module (`DIR/<model>.gen.ts`) with specialized kernels and the
 * weights embedded. Needs `--allow-write` for the output directory.
 *
 * @module
 */

import { compile } from "../codegen/compile.ts";
import { EXIT, guard, UsageError, writeFileAtomic } from "./_common.ts";
import { loadModel, parseModelArgs } from "./_model.ts";
import { checkWeights, randomWeights, type Weights } from "../lib/runtime/weights.ts";
import { readSafetensors } from "../interop/safetensors.ts";
import type { Graph } from "../lib/ir/graph.ts";

/** The command's own options; every other `--name value` is a model knob. */
export const OPTIONS = {
  out: { type: "string" },
  weights: { type: "string" },
  seed: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The `--help` text. */
export const HELP = `Usage: deno run -A cli.ts codegen <model> [knobs] [options]

Generates a standalone TypeScript inference module: one specialized,
loop-unrolled kernel per layer spec, BatchNorm folded, activations and
residual adds fused, a static activation arena, weights embedded. The module
imports nothing; run it with \`deno run <file>\` (seeded input, top-5, ms).

Arguments:
  <model>          a zoo model, a torchvision alias, or an .onnx file
                   (ONNX files bring their weights; see --input-shape)

Knobs: as in \`analyze\` (--width X, --resolution N, --groups G, ...)

Options:
  --out DIR        output directory (default build); writes DIR/<model>.gen.ts
  --weights W      random (default for zoo models): seeded He-style weights
                   with non-identity BatchNorm statistics; file: an .onnx
                   model's own weights (its default); or a .safetensors
                   state_dict with torchvision keys
  --seed N         seed of the random weights (default 0)
  --json           print a JSON summary instead of text
  -h, --help       show this help

Examples:
  deno run -A cli.ts codegen shufflenetv2 --out build/
  deno run -A cli.ts codegen mobilenetv2 --width 0.5 --resolution 160 --seed 3

Exit codes: 0 success, 1 failed generation, 2 bad usage`;

/** Parses `--seed`: a non-negative integer. */
export function parseSeed(text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) {
    throw new UsageError(`Invalid --seed "${text}": expected an integer in [0, 4294967295]`);
  }
  return Number(text);
}

/** The weights a command runs with, and how the header describes them. */
export function chooseWeights(
  graph: Graph,
  loaded: Weights | undefined,
  source: string | undefined,
  seed: number,
): { weights: Weights; options: [string, string | number][] } {
  const kind = source ?? (loaded ? "file" : "random");
  if (kind === "random") {
    return {
      weights: randomWeights(graph, seed),
      options: [["weights", "random"], ["seed", seed]],
    };
  }
  if (kind === "file" && loaded) return { weights: loaded, options: [["weights", "file"]] };
  throw new UsageError(
    `Invalid --weights "${kind}": expected "random"${
      loaded ? ' or "file" (the weights of the .onnx model)' : ""
    }`,
  );
}

/**
 * {@link chooseWeights}, plus a `.safetensors` state_dict file (torchvision
 * keys) read from disk and checked against the graph.
 */
export async function loadWeights(
  graph: Graph,
  loaded: Weights | undefined,
  source: string | undefined,
  seed: number,
): Promise<{ weights: Weights; options: [string, string | number][] }> {
  if (source === undefined || !/\.safetensors$/i.test(source)) {
    return chooseWeights(graph, loaded, source, seed);
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(source);
  } catch (e) {
    throw new Error(`Cannot read "${source}": ${e instanceof Error ? e.message : e}`);
  }
  const weights = readSafetensors(bytes, source);
  checkWeights(graph, weights);
  return { weights, options: [["weights", source.replace(/^.*[\\/]/, "")]] };
}

/**
 * A model name as a file name: an .onnx path's base name without extension,
 * then letters, digits, `.`, `-` and `_` only.
 */
export function fileStem(model: string): string {
  const base = model.replace(/^.*[\\/]/, "").replace(/\.onnx$/i, "");
  return base.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_") || "model";
}

/** Runs `codegen` with `args`; returns the exit code. */
export function run(args: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals, knobs } = parseModelArgs(args, OPTIONS);
    if (values.help) {
      console.log(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 1) {
      throw new UsageError(
        `Expected one model name, got ${positionals.length} (run with --help for usage)`,
      );
    }
    const seed = parseSeed(values.seed);
    const loaded = await loadModel(positionals[0], knobs);
    const { weights, options } = await loadWeights(
      loaded.graph,
      loaded.weights,
      values.weights,
      seed,
    );
    const t0 = performance.now();
    const out = compile(loaded.graph, weights, {
      model: loaded.model,
      options: [...Object.entries(loaded.knobs), ...options],
    });
    const ms = performance.now() - t0;
    const dir = values.out ?? "build";
    await Deno.mkdir(dir, { recursive: true }).catch((e) => {
      throw new Error(`Cannot create "${dir}": ${e instanceof Error ? e.message : e}`);
    });
    const path = `${dir.replace(/\/+$/, "")}/${fileStem(loaded.model)}.gen.ts`;
    await writeFileAtomic(path, out.source);
    const summary = {
      path,
      model: loaded.model,
      bytes: new TextEncoder().encode(out.source).length,
      kernels: out.kernels,
      steps: out.plan.steps.length,
      copies: out.plan.copies.length,
      arenaBytes: out.memory.arenaFloats * 4,
      peakActivationBytes: out.memory.peakFloats * 4,
      codegenMs: Math.round(ms),
    };
    if (values.json) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `Wrote ${path} (${
          (summary.bytes / 1e6).toFixed(1)
        } MB): ${summary.kernels} kernels, ${summary.steps} calls, arena ${
          (summary.arenaBytes / 1e6).toFixed(2)
        } MB (peak ${
          (summary.peakActivationBytes / 1e6).toFixed(2)
        } MB), in ${summary.codegenMs} ms`,
      );
      console.log(`Run it: deno run ${path}`);
    }
    return EXIT.ok;
  });
}
