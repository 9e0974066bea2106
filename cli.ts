/**
 * The lightnets command line. Each command lives in `cli/<command>.ts` and is
 * loaded on demand, so `deno run cli.ts analyze ...` needs no permission and
 * never loads codegen or ONNX dependencies.
 *
 * Exit codes: 0 success, 1 failed analysis or run, 2 bad usage.
 *
 * @module
 */

import { type Command, EXIT, fail } from "./cli/_common.ts";
import { closestNames } from "./lib/models/registry.ts";
import { sanitizeLines } from "./lib/_text.ts";

/** Every command: a one-line summary and a loader. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  list: {
    summary: "List the model zoo with each model's knobs",
    load: () => import("./cli/list.ts"),
  },
  analyze: {
    summary: "Per-layer shapes, parameters, MAdds, FLOPs and MAC of a model",
    load: () => import("./cli/analyze.ts"),
  },
  guidelines: {
    summary: "ShuffleNet V2 guidelines G1-G4 as measured findings per layer and block",
    load: () => import("./cli/guidelines.ts"),
  },
  compare: {
    summary: "One row per model variant (params, MAdds, MAC, peak memory, G1-G4); SVG charts",
    load: () => import("./cli/compare.ts"),
  },
  codegen: {
    summary: "Generate a standalone TypeScript inference module with specialized kernels",
    load: () => import("./cli/codegen.ts"),
  },
  run: {
    summary: "Generate, run and check a model against the reference executor",
    load: () => import("./cli/run.ts"),
  },
  "export-onnx": {
    summary: "Write a model with its weights as an ONNX file (opset 14)",
    load: () => import("./cli/export_onnx.ts"),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return [
    "lightnets: shapes, costs, guidelines and generated kernels for lightweight CNNs",
    "",
    "Usage: deno run cli.ts <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `deno run cli.ts <command> --help` for a command's options and the permissions it",
    "needs: list, analyze, guidelines and compare need none for zoo models; codegen, run and",
    "export-onnx write files or load ts-morph (`deno run -A cli.ts codegen ...`).",
  ].join("\n");
}

/** Runs the CLI on `args` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    if (name === undefined) {
      console.error(usage());
      return EXIT.usage;
    }
    console.log(usage());
    return EXIT.ok;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    const near = closestNames(name, Object.keys(COMMANDS), 1);
    return fail(
      EXIT.usage,
      `Unknown command "${name}"${near.length ? `; did you mean "${near[0]}"?` : ""} (commands: ${
        Object.keys(COMMANDS).join(", ")
      })`,
    );
  }
  const command = await entry.load();
  return await command.run(rest);
}

/**
 * Prints through `Deno.stdout` so a failed write is seen (console.log drops
 * it): stdout closed or a broken pipe exits 1 with one line on stderr instead
 * of 0 with the output lost. Every line is sanitized on its way to a
 * terminal, the last guard for names from model files.
 */
function guardedConsole(): { failed: () => string | undefined } {
  let failure: string | undefined;
  const encoder = new TextEncoder();
  const write = (stream: typeof Deno.stdout | typeof Deno.stderr, text: string) => {
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length;) off += stream.writeSync(bytes.subarray(off));
  };
  console.log = (...parts: unknown[]) => {
    if (failure !== undefined) return;
    try {
      write(Deno.stdout, sanitizeLines(parts.map(String).join(" ")) + "\n");
    } catch (e) {
      failure = e instanceof Deno.errors.BrokenPipe
        ? "broken pipe"
        : e instanceof Error
        ? e.message
        : String(e);
    }
  };
  console.error = (...parts: unknown[]) => {
    try {
      write(Deno.stderr, sanitizeLines(parts.map(String).join(" ")) + "\n");
    } catch { /* nowhere left to report */ }
  };
  return { failed: () => failure };
}

if (import.meta.main) {
  const out = guardedConsole();
  const code = await main(Deno.args);
  const failure = out.failed();
  Deno.exitCode = failure === undefined
    ? code
    : fail(EXIT.failed, `Cannot write the output to stdout: ${failure}`);
}
