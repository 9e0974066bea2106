/**
 * `guidelines <model> [knobs] [options]`: the ShuffleNet V2 guidelines G1-G4
 * as measured findings (lib/analysis/guidelines.ts), per layer and block,
 * with a summary per guideline. Needs no permission.
 *
 * @module
 */

import { EXIT, guard, parseFormat, UsageError } from "./_common.ts";
import { loadModel, parseOneModel } from "./_model.ts";
import { jsonText, sanitize } from "../lib/_text.ts";
import { renderTable, TABLE_FORMATS, type TableFormat } from "../lib/_table.ts";
import { formatCount } from "../lib/analysis/format.ts";
import {
  checkGuidelines,
  type Finding,
  type GuidelineId,
  type GuidelineReport,
  GUIDELINES,
  THRESHOLDS,
} from "../lib/analysis/guidelines.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";

const OPTIONS = {
  format: { type: "string" },
  json: { type: "boolean" },
  all: { type: "boolean" },
  only: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The `--help` text. */
export const HELP = `Usage: deno run cli.ts guidelines <model> [knobs] [options]

Checks the four practical guidelines of ShuffleNet V2 (arXiv 1807.11164 sec. 2)
on a model, with numbers:
  G1  every 1x1 conv: c_in:c_out, MAC, the lower bound 2*sqrt(hw*B) + B/hw at
      the same FLOPs B, and the excess (pass < ${THRESHOLDS.g1InfoPercent}%, warn >= ${THRESHOLDS.g1WarnPercent}%)
  G2  every grouped conv (1 < groups < channels): MAC against the same layer
      with g=1 at equal FLOPs, as a factor (pass < ${THRESHOLDS.g2InfoFactor}, warn >= ${THRESHOLDS.g2WarnFactor})
  G3  every block: fragmented ops (convs and pools), parallel branches, ops on
      the longest path (NASNet-A 13, ResNet 2-3; warn from ${THRESHOLDS.g3WarnOps} ops or ${THRESHOLDS.g3WarnBranches} branches)
  G4  every block and the model: element-wise ops' (activations, add, mul, BN,
      bias, depthwise conv) share of MAC against their share of MAdds
      (warn from ${THRESHOLDS.g4WarnShare * 100}% of MAC)

Options:
  --all          also list the findings that pass (default: info and warn only)
  --only LIST    guidelines to list, e.g. G1,G2 (the summary always has all four)
  --format F     ${TABLE_FORMATS.join(", ")}, json (default table)
  --json         the same as --format json: every finding and summary
  -h, --help     show this help

Examples:
  deno run cli.ts guidelines mobilenetv2
  deno run cli.ts guidelines shufflenetv1 --groups 8 --only G2
  deno run cli.ts guidelines sv2_g1 --ratio 1:6 --all

Permissions: none for a zoo model; --allow-read for an .onnx file
(deno run --allow-read cli.ts guidelines model.onnx [--input-shape NxCxHxW]).

Exit codes: 0 success, 1 failed analysis, 2 bad usage`;

function num(n: number): string {
  return formatCount(Math.round(n));
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

const COLUMNS: Record<GuidelineId, { headers: string[]; right: number[] }> = {
  G1: {
    headers: ["severity", "layer", "c_in:c_out", "MAdds", "MAC", "bound", "excess", "suggestion"],
    right: [3, 4, 5, 6],
  },
  G2: {
    headers: ["severity", "layer", "groups", "kernel", "MAC", "MAC at g=1", "factor", "suggestion"],
    right: [2, 4, 5, 6],
  },
  G3: {
    headers: ["severity", "block", "type", "ops", "parallel", "longest path", "suggestion"],
    right: [3, 4, 5],
  },
  G4: {
    headers: [
      "severity",
      "block",
      "MAC share",
      "MAdds share",
      "FLOPs share",
      "if fused",
      "suggestion",
    ],
    right: [2, 3, 4, 5],
  },
};

function cells(f: Finding): string[] {
  switch (f.guideline) {
    case "G1": {
      const x = f.figures;
      return [
        f.severity,
        f.path,
        `${x.cIn}:${x.cOut} (${x.ratio})`,
        num(x.madds),
        num(x.mac),
        num(x.macLowerBound),
        `+${x.excessPercent.toFixed(1)}%`,
        f.suggestion,
      ];
    }
    case "G2": {
      const x = f.figures;
      return [
        f.severity,
        f.path,
        String(x.groups),
        x.kernel,
        num(x.mac),
        num(x.macAtG1),
        `${x.factor.toFixed(2)}x`,
        f.suggestion,
      ];
    }
    case "G3": {
      const x = f.figures;
      return [
        f.severity,
        f.path,
        x.type,
        String(x.fragmentedOps),
        String(x.parallelBranches),
        String(x.longestPath),
        f.suggestion,
      ];
    }
    case "G4": {
      const x = f.figures;
      return [
        f.severity,
        f.path,
        pct(x.macShare),
        pct(x.maddsShare),
        pct(x.flopsShare),
        pct(x.macShareIfFused),
        f.suggestion,
      ];
    }
  }
}

/** Options of {@link formatGuidelines}. */
export interface FormatGuidelinesOptions {
  /** List passing findings too. */
  all?: boolean;
  /** Guidelines whose findings are listed (default all four). */
  only?: readonly GuidelineId[];
}

/**
 * Renders a guideline report: the summary per guideline, then a table of
 * findings per guideline (`json` gives the whole report).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../lib/ir/builder.ts";
 * import { inferShapes } from "../lib/analysis/shapes.ts";
 * import { checkGuidelines } from "../lib/analysis/guidelines.ts";
 * import { formatGuidelines } from "./guidelines.ts";
 * const b = new GraphBuilder("t", [1, 24, 56, 56]);
 * const r = checkGuidelines(inferShapes(b.build(b.conv2d(b.input, { out: 144, kernel: 1 }, "expand"))));
 * assert.match(formatGuidelines(r, "table"), /warn\s+expand\s+24:144 \(1:6\)/);
 * ```
 */
export function formatGuidelines(
  report: GuidelineReport,
  format: TableFormat | "json",
  options: FormatGuidelinesOptions = {},
): string {
  const only = new Set(options.only ?? GUIDELINES);
  const keep = (f: Finding) => only.has(f.guideline) && (options.all || f.severity !== "pass");
  if (format === "json") {
    return jsonText(
      {
        schema: "lightnets.guidelines/1",
        model: report.model,
        thresholds: THRESHOLDS,
        summary: report.summary,
        findings: report.findings.filter(keep),
      },
    );
  }
  const out: string[] = [];
  const summaryRows = GUIDELINES.map((g) => {
    const s = report.summary[g];
    return [g, s.severity, `${s.counts.pass}/${s.counts.info}/${s.counts.warn}`, s.text];
  });
  out.push(
    renderTable(["guideline", "severity", "pass/info/warn", "summary"], summaryRows, format),
  );
  if (format === "csv") out.length = 0; // CSV: one table of findings only
  const csvRows: string[][] = [];
  for (const g of GUIDELINES) {
    if (!only.has(g)) continue;
    const findings = report.findings.filter((f) => f.guideline === g && keep(f));
    const total = report.summary[g].checked;
    if (format === "csv") {
      for (const f of findings) {
        csvRows.push([f.guideline, f.severity, f.path, f.message, f.suggestion]);
      }
      continue;
    }
    const hidden = total - findings.length;
    const title = `${g}: ${findings.length} of ${total} listed` +
      (hidden > 0 && !options.all ? ` (${hidden} passing; --all lists them)` : "");
    out.push("", format === "md" ? `### ${title}` : title);
    if (findings.length > 0) {
      out.push(renderTable(COLUMNS[g].headers, findings.map(cells), format, COLUMNS[g].right));
    }
  }
  if (format === "csv") {
    return renderTable(["guideline", "severity", "path", "message", "suggestion"], csvRows, "csv");
  }
  return out.join("\n");
}

/** Parses `--only G1,G3`. */
export function parseOnly(text: string | undefined): GuidelineId[] | undefined {
  if (text === undefined) return undefined;
  const ids = text.split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== "");
  for (const id of ids) {
    if (!(GUIDELINES as readonly string[]).includes(id)) {
      throw new UsageError(`Invalid --only "${text}": expected guidelines among G1, G2, G3, G4`);
    }
  }
  if (ids.length === 0) {
    throw new UsageError(`Invalid --only "${text}": name at least one guideline`);
  }
  return ids as GuidelineId[];
}

/** Runs `guidelines` on its arguments and returns the exit code. */
export function run(args: string[]): Promise<number> {
  return guard(async () => {
    const parsed = parseOneModel("guidelines", HELP, args, OPTIONS);
    if (!parsed) return EXIT.ok;
    const { values, knobs, model } = parsed;
    const format = parseFormat(values.format, values.json, [...TABLE_FORMATS, "json"]);
    const only = parseOnly(values.only);
    const loaded = await loadModel(model, knobs, parsed.optionNames);
    const report = checkGuidelines(inferShapes(loaded.graph));
    const knobText = Object.entries(loaded.knobs).map(([k, v]) => `${k}=${v}`).join(" ");
    if (format === "table") console.log(`${sanitize(`${loaded.model} ${knobText}`)}\n`);
    console.log(formatGuidelines(report, format, { all: values.all, only }).trimEnd());
    return EXIT.ok;
  });
}
