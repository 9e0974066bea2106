/**
 * `codegen <model> [knobs] [--out DIR]`: writes a standalone TypeScript
 * inference module (`DIR/<model>.gen.ts`) with specialized kernels and the
 * weights embedded. Needs `-A`: ts-morph reads environment variables, and the
 * output directory is written.
 *
 * @module
 */

import {
  checkOutputPath,
  EXIT,
  guard,
  makeDirOrThrow,
  requirePermission,
  requireWritable,
  UsageError,
  writeFileAtomic,
} from "./_common.ts";
import { loadModel, parseOneModel } from "./_model.ts";
import { loadWeights, parseSeed } from "./_weights.ts";
import { jsonText, sanitize } from "../lib/_text.ts";
// Types only (erased): `codegen --help` loads no code generator.
import type { WasmModuleOptions } from "../codegen/wasm/module.ts";

/** The command's own options; every other `--name value` is a model knob. */
export const OPTIONS = {
  out: { type: "string" },
  weights: { type: "string" },
  seed: { type: "string" },
  "allow-large": { type: "boolean" },
  target: { type: "string" },
  tune: { type: "boolean" },
  threads: { type: "string" },
  emit: { type: "string" },
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
  --out PATH       a folder (default build), written as PATH/<model>.gen.ts, or
                   a file name ending in .ts, written as given
  --weights W      random (default for zoo models): seeded He-style weights
                   with non-identity BatchNorm statistics; file: an .onnx
                   model's own weights (its default); or a .safetensors
                   state_dict with torchvision keys
  --seed N         seed of the random weights (default 0)
  --allow-large    generate a module whose activation arena exceeds 4 GiB (what
                   JS engines allocate in one ArrayBuffer) with a warning,
                   instead of refusing it
  --target T       ts (default): TypeScript kernels; wasm: WebAssembly SIMD
                   kernels in the same standalone module (layers without a
                   wasm kernel yet run their TypeScript kernel; the summary
                   names them)
  --emit E         ts (default): DIR/<model>.gen.ts; js: DIR/<model>.gen.js, the
                   same module as a JavaScript ES module (runs in Node 20 and
                   browsers too)
  --tune           wasm target: time each 1x1 and general conv layer's
                   register blocking candidates on this machine and keep the
                   fastest (default: a fixed, deterministic blocking)
  --threads N      wasm target: run on N threads (integer >= 1, default 1):
                   shared memory, N - 1 workers; each 1x1 layer split by
                   output rows, each depthwise layer by channels (same
                   outputs, bit for bit); one thread where shared memory or
                   workers are missing
  --json           print a JSON summary instead of text
  -h, --help       show this help

Examples:
  deno run -A cli.ts codegen shufflenetv2 --out build/
  deno run -A cli.ts codegen mobilenetv2 --width 0.5 --resolution 160 --seed 3
  deno run -A cli.ts codegen shufflenetv2 --target wasm
  deno run -A cli.ts codegen mobilenetv2 --target wasm --threads 2

Permissions: --allow-env (ts-morph reads environment variables), --allow-write
and --allow-read (the output file, an .onnx or .safetensors input); -A grants all.

Exit codes: 0 success, 1 failed generation, 2 bad usage`;

/**
 * A model name as a file name: an .onnx or tfjs .json path's base name without extension,
 * then letters, digits, `.`, `-` and `_` only.
 */
export function fileStem(model: string): string {
  const base = model.replace(/^.*[\\/]/, "").replace(/\.(onnx|json)$/i, "");
  return base.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_") || "model";
}

/** `--threads` as an integer >= 1 (1 when absent); only the wasm target takes it. */
export function parseThreads(text: string | undefined, target: string): number {
  if (text === undefined) return 1;
  if (target !== "wasm") {
    throw new UsageError(
      `--threads needs --target wasm (the TypeScript target runs on one thread)`,
    );
  }
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`Invalid --threads "${text}": expected an integer >= 1`);
  }
  return Number(text);
}

/** Runs `codegen` with `args`; returns the exit code. */
export function run(args: string[]): Promise<number> {
  return guard(async () => {
    const parsed = parseOneModel("codegen", HELP, args, OPTIONS);
    if (!parsed) return EXIT.ok;
    const { values, knobs, model } = parsed;
    const seed = parseSeed(values.seed);
    const target = values.target ?? "ts";
    if (target !== "ts" && target !== "wasm") {
      throw new UsageError(`Invalid --target "${target}": expected ts or wasm`);
    }
    const emit = values.emit ?? "ts";
    if (emit !== "ts" && emit !== "js") {
      throw new UsageError(`Invalid --emit "${emit}": expected ts or js`);
    }
    if (values.tune && target !== "wasm") {
      throw new UsageError(`--tune needs --target wasm (it times WebAssembly kernels)`);
    }
    const threads = parseThreads(values.threads, target);
    const outArg = checkOutputPath(values.out ?? "build", "--out");
    const loaded = await loadModel(model, knobs, parsed.optionNames);
    // --out x.gen.ts (or .js) names the file; anything else is a folder.
    const toFile = /\.[cm]?[jt]s$/i.test(outArg);
    const dir = toFile ? undefined : outArg.replace(/(.)\/+$/, "$1");
    const path = dir === undefined
      ? outArg
      : `${dir === "/" ? "" : dir}/${fileStem(loaded.model)}.gen.${emit}`;
    const { weights, options } = await loadWeights(
      loaded.graph,
      loaded.weights,
      values.weights,
      seed,
    );
    // Loaded here so `codegen --help` needs no permission (ts-morph reads the environment).
    requirePermission("load the code generator (ts-morph reads environment variables)", [
      "env",
    ]);
    requireWritable(path);
    const { compile } = await import("../codegen/compile.ts");
    const t0 = performance.now();
    let tuning: { defaultMs: number; tunedMs: number } | undefined;
    let wasm: WasmModuleOptions = { threads };
    if (values.tune) {
      const { tuneWasm } = await import("../codegen/wasm/tune.ts");
      const t = await tuneWasm(loaded.graph, weights, 15, (line) => console.error(line));
      tuning = { defaultMs: t.defaultMs, tunedMs: t.tunedMs };
      wasm = { threads, pwBlocking: t.pwBlocking, convBlocking: t.convBlocking };
    }
    const out = compile(loaded.graph, weights, {
      model: loaded.model,
      options: [...Object.entries(loaded.knobs), ...options],
      allowLarge: values["allow-large"],
      target,
      wasm,
      emit,
    });
    for (const w of out.warnings) console.error(`warning: ${w}`);
    const ms = performance.now() - t0;
    if (dir !== undefined) await makeDirOrThrow(dir);
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
      inputs: out.plan.inputs.map(({ name, shape }) => ({ name, shape })),
      outputs: out.plan.outputs.map(({ name, shape }) => ({ name, shape })),
      /** Layers no specialized kernel family covers, computed by a general kernel. */
      generalLayers: out.generalLayers,
      target,
      ...(target === "wasm" ? { threads, splitSteps: out.splitSteps } : {}),
      ...(tuning ? { tuning } : {}),
      fallbacks: out.fallbacks.map((f) => ({ layers: f.layers, kind: f.family, reason: f.reason })),
    };
    if (values.json) console.log(jsonText(summary));
    else {
      console.log(
        `Wrote ${sanitize(path)} (${
          (summary.bytes / 1e6).toFixed(1)
        } MB): ${summary.kernels} kernels, ${summary.steps} calls, arena ${
          (summary.arenaBytes / 1e6).toFixed(2)
        } MB (peak ${
          (summary.peakActivationBytes / 1e6).toFixed(2)
        } MB), in ${summary.codegenMs} ms`,
      );
      if (out.generalLayers.length > 0) {
        const kindOf = new Map(loaded.graph.nodes.map((n) => [n.name, n.kind]));
        const kinds = new Map<string, number>();
        for (const l of out.generalLayers) {
          const k = kindOf.get(l) ?? "?";
          kinds.set(k, (kinds.get(k) ?? 0) + 1);
        }
        const byKind = [...kinds].map(([k, n]) => `${k} x${n}`).join(", ");
        const shown = out.generalLayers.slice(0, 10).map((l) => `"${l}"`).join(", ");
        const more = out.generalLayers.length > 10
          ? `, and ${out.generalLayers.length - 10} more`
          : "";
        console.log(
          `General (unspecialized) kernels for ${out.generalLayers.length} layer(s) (${byKind}): ${shown}${more}`,
        );
      }
      if (out.fallbacks.length > 0) {
        console.log(
          `${out.fallbacks.length} of ${summary.steps} calls run a TypeScript kernel (no WebAssembly kernel):`,
        );
        for (const f of out.fallbacks) {
          console.log(`  ${f.layers.join(" + ")} (${f.family}): ${f.reason}`);
        }
      }
      if (threads > 1) {
        console.log(
          `${out.splitSteps} of ${summary.steps} calls split between ${threads} threads (the rest run on the main thread)`,
        );
      }
      console.log(`Run it: deno run ${sanitize(path)}`);
    }
    return EXIT.ok;
  });
}
