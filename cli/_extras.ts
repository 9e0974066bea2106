/**
 * The optional sections of `analyze`: `--guidelines` (ShuffleNet V2 G1-G4,
 * cli/guidelines.ts) and `--symbolic` (cost as expressions of H, W and, where
 * the model's channels are int(alpha * c), of alpha: lib/analysis/symbolic.ts).
 *
 * @module
 */

import { UsageError } from "./_common.ts";
import type { LoadedModel } from "./_model.ts";
import { jsonText } from "../lib/_text.ts";
import { renderTable } from "../lib/_table.ts";
import { formatGuidelines } from "./guidelines.ts";
import { checkGuidelines } from "../lib/analysis/guidelines.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import {
  formatPoly,
  onMultiples,
  type SymbolicCost,
  symbolicCost,
  symbolicJson,
  widthRuleHolds,
} from "../lib/analysis/symbolic.ts";
import { zoo } from "../lib/models/zoo.ts";

/** Which sections to add. */
export interface Extras {
  guidelines: boolean;
  symbolic: boolean;
}

/** The symbolic cost of a loaded model, in width mode when the model's rule allows, and why not. */
export function symbolicOf(loaded: LoadedModel): { cost: SymbolicCost; widthNote: string } {
  let def;
  try {
    def = zoo.resolve(loaded.model).model;
  } catch {
    def = undefined; // an ONNX file: no width knob to vary
  }
  if (def) {
    const rule = widthRuleHolds(def, loaded.knobs);
    if (rule.ok) {
      const base = def.build({ ...loaded.knobs, width: 1 });
      return { cost: symbolicCost(base, { width: true }), widthNote: "" };
    }
    return { cost: symbolicCost(loaded.graph), widthNote: rule.reason };
  }
  return { cost: symbolicCost(loaded.graph), widthNote: "not a zoo model" };
}

function args(cost: SymbolicCost): string {
  return cost.symbols.join(", ");
}

/** The `--symbolic` section as text or Markdown. */
export function formatSymbolic(
  cost: SymbolicCost,
  widthNote: string,
  format: "table" | "md",
): string {
  const a = args(cost);
  const peak = cost.peakActivations.map(formatPoly);
  const lines = [
    `params(${a}) = ${formatPoly(cost.totals.params)}`,
    `MAdds(${a}) = ${formatPoly(cost.totals.madds)}`,
    `MAC(${a}) = ${formatPoly(cost.totals.mac)}`,
    `activations(${a}) = ${formatPoly(cost.totals.activations)}`,
    `peak_activations(${a}) = ${
      peak.length === 1 ? peak[0] : `max(\n    ${peak.join(",\n    ")}\n  )`
    }`,
    "",
    `On H a multiple of ${cost.periodH} and W a multiple of ${cost.periodW}:`,
    `MAdds(${a}) = ${onMultiples(cost.totals.madds)}`,
    `MAC(${a}) = ${onMultiples(cost.totals.mac)}`,
    `activations(${a}) = ${onMultiples(cost.totals.activations)}`,
  ];
  const head = [
    `Symbolic cost of ${cost.model}: exact for integers H >= ${cost.minH}, W >= ${cost.minW}` +
    (cost.symbols.includes("A") ? "; int(A*c) = floor(alpha * c), the width multiplier rule" : ""),
  ];
  if (widthNote) head.push(`(alpha is not a symbol: ${widthNote})`);
  const rows = cost.layers
    .filter((l) => l.madds.size > 0)
    .map((l) => [l.name, formatPoly(l.madds), formatPoly(l.mac)]);
  const table = renderTable(["layer", `MAdds(${a})`, `MAC(${a})`], rows, format);
  if (format === "md") {
    return [`## Symbolic cost`, "", ...head, "", "```", ...lines, "```", "", table].join("\n");
  }
  return [...head, "", ...lines, "", "Per conv and linear layer (every layer in --json):", table]
    .join("\n");
}

/**
 * Appends the sections asked for to `analyze`'s output: after the text or
 * Markdown report, or as `guidelines` and `symbolic` fields of the JSON one.
 */
export function withExtras(
  report: string,
  format: string,
  loaded: LoadedModel,
  extras: Extras,
): string {
  if (!extras.guidelines && !extras.symbolic) return report;
  if (format === "csv") {
    throw new UsageError("--guidelines and --symbolic need --format table, md or json, not csv");
  }
  const shaped = extras.guidelines ? inferShapes(loaded.graph) : undefined;
  const guidelines = shaped ? checkGuidelines(shaped) : undefined;
  const symbolic = extras.symbolic ? symbolicOf(loaded) : undefined;
  if (format === "json") {
    const obj = JSON.parse(report);
    if (guidelines) {
      obj.guidelines = JSON.parse(formatGuidelines(guidelines, "json", { all: true }));
    }
    if (symbolic) {
      obj.symbolic = { ...(symbolicJson(symbolic.cost) as object), widthNote: symbolic.widthNote };
    }
    return jsonText(obj);
  }
  const md = format === "md";
  const parts = [report];
  if (guidelines) {
    parts.push(
      "",
      md ? "## Guidelines (ShuffleNet V2 G1-G4)\n" : "Guidelines (ShuffleNet V2 G1-G4)",
    );
    parts.push(formatGuidelines(guidelines, md ? "md" : "table"));
  }
  if (symbolic) {
    parts.push("", formatSymbolic(symbolic.cost, symbolic.widthNote, md ? "md" : "table"));
  }
  return parts.join("\n");
}
