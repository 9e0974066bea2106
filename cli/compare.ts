/**
 * `compare [models...] [knobs] [options]`: one row per model variant with
 * parameters, MAdds, MAC, peak activation memory and the G1-G4 summary;
 * `--svg FILE` also draws the variants as a scatter and one model's layers as
 * a bar chart. Without models it compares every published variant of the zoo.
 * Needs `--allow-read --allow-write` only with `--svg` (the file is written beside
 * it, then renamed).
 *
 * @module
 */

import {
  checkOutputPath,
  EXIT,
  guard,
  parseFormat,
  requireWritable,
  UsageError,
  writeFileAtomic,
} from "./_common.ts";
import { loadModel, parseModelArgs, type RawKnobs } from "./_model.ts";
import { jsonText, sanitize } from "../lib/_text.ts";
import { renderTable, TABLE_FORMATS, type TableFormat } from "../lib/_table.ts";
import { estimateCost, sumCosts } from "../lib/analysis/cost.ts";
import { formatBytes, formatCount } from "../lib/analysis/format.ts";
import {
  checkGuidelines,
  type GuidelineId,
  GUIDELINES,
  type Severity,
} from "../lib/analysis/guidelines.ts";
import { materializedMemory, type MaterializedRow, peakMemory } from "../lib/analysis/memory.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import { layerSharesSvg, scatterSvg, stackSvg } from "../lib/analysis/charts.ts";
import type { Graph } from "../lib/ir/graph.ts";
import type { Knobs } from "../lib/models/registry.ts";
import { publishedVariants, zoo } from "../lib/models/zoo.ts";

const OPTIONS = {
  format: { type: "string" },
  json: { type: "boolean" },
  sort: { type: "string" },
  published: { type: "boolean" },
  svg: { type: "string" },
  layers: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Fields `--sort` accepts; numbers sort ascending, `-field` descending. */
export const SORT_FIELDS = ["name", "params", "madds", "mac", "peak", "peak-in-place"] as const;
type SortField = (typeof SORT_FIELDS)[number];

/** The `--help` text. */
export const HELP = `Usage: deno run cli.ts compare [models...] [knobs] [options]

One row per model variant: parameters (torchvision's num_params), MAdds, MAC
(elements), peak live activation memory at float32 (freed after the last
reader; "in place" with zero-copy split/concat and in-place element-wise ops),
the largest tensor that must be materialized at 16 bits (MobileNetV2 paper
Table 3's view: block inputs and outputs only) and the worst severity of each
ShuffleNet V2 guideline G1-G4.

Arguments:
  [models...]    zoo models or torchvision aliases; knob flags apply to each
                 (default: every published variant of the zoo); or .onnx files
                 (needs --allow-read; --input-shape NxCxHxW if dynamic)

Options:
  --published    compare the published variants of the models named
  --sort FIELD   ${SORT_FIELDS.join(", ")}; ascending, or descending with a
                 leading "-" (e.g. --sort=-madds). Default: zoo order
  --format F     ${TABLE_FORMATS.join(", ")}, json (default table)
  --json         the same as --format json (schema "lightnets.compare/1")
  --svg FILE     also write an SVG: the variants as a scatter (MAdds against
                 parameters, colour and area by MAC, every point labelled) and
                 one model's per-layer share of MAdds against share of MAC
                 (needs --allow-read --allow-write)
  --layers NAME  the variant of the bar chart (a row's label; default the first)
  -h, --help     show this help

Examples:
  deno run cli.ts compare
  deno run cli.ts compare mobilenetv1 mobilenetv2 shufflenetv2 --sort=-madds
  deno run cli.ts compare sv2_g2 --published --format md
  deno run --allow-read --allow-write cli.ts compare --svg zoo.svg --layers mobilenetv2

Permissions: none for zoo models; --allow-read for .onnx files; --allow-read
and --allow-write with --svg.

Exit codes: 0 success, 1 failed analysis or unwritable --svg file, 2 bad usage`;

/** One row of the comparison. */
export interface CompareRow {
  /** `model k=v ...` with the knobs that differ from the model's defaults. */
  label: string;
  model: string;
  knobs: Knobs;
  params: number;
  madds: number;
  /** FLOPs = 2 x MAdds + element-wise work (lib/analysis/cost.ts). */
  flops: number;
  /** Memory access cost in elements. */
  mac: number;
  /** Peak live activation elements, topological order, no in-place reuse. */
  peakElements: number;
  peakNode: string;
  /** Peak live activation elements with zero-copy split/concat and in-place element-wise ops. */
  peakInPlaceElements: number;
  /** MobileNetV2 Table 3's view: the largest tensor that must be materialized, at 16 bits. */
  largestMaterialized: MaterializedRow;
  guidelines: Record<GuidelineId, Severity>;
  /** Per-guideline summary lines. */
  guidelineText: Record<GuidelineId, string>;
}

function labelOf(model: string, knobs: Knobs): string {
  // A zoo model shows the knobs that differ from its defaults; an ONNX file
  // (not in the zoo) shows all of its own (its --input-shape).
  const def = zoo.names().includes(model) ? zoo.resolve(model).model : undefined;
  const parts = def
    ? def.knobs
      .filter((k) => knobs[k.name] !== undefined && knobs[k.name] !== k.default)
      .map((k) => `${k.name}=${knobs[k.name]}`)
    : Object.entries(knobs).map(([k, v]) => `${k}=${v}`);
  return [model, ...parts].join(" ");
}

/**
 * Measures one built variant: costs, peak memory both ways, guidelines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zoo } from "../lib/models/zoo.ts";
 * import { compareRow } from "./compare.ts";
 * const row = compareRow(zoo.build("sv2_g2", { groups: 8 }), "sv2_g2", { groups: 8, platform: "gpu" });
 * assert.equal(row.label, "sv2_g2 groups=8");
 * assert.equal(row.guidelines.G2, "warn");
 * ```
 */
export function compareRow(graph: Graph, model: string, knobs: Knobs): CompareRow {
  const shaped = inferShapes(graph);
  const costs = estimateCost(shaped);
  const total = sumCosts(costs);
  const peak = peakMemory(shaped);
  const inPlace = peakMemory(shaped, { inPlace: true });
  const report = checkGuidelines(shaped, costs);
  const sev = {} as Record<GuidelineId, Severity>;
  const text = {} as Record<GuidelineId, string>;
  for (const g of GUIDELINES) {
    sev[g] = report.summary[g].severity;
    text[g] = report.summary[g].text;
  }
  return {
    label: labelOf(model, knobs),
    model,
    knobs,
    params: total.params.total,
    madds: total.madds,
    flops: total.flops.total,
    mac: total.mac.total,
    peakElements: peak.peakElements,
    peakNode: peak.peakNode,
    peakInPlaceElements: inPlace.peakElements,
    largestMaterialized: materializedMemory(shaped).max,
    guidelines: sev,
    guidelineText: text,
  };
}

function sortRows(rows: CompareRow[], spec: string | undefined): CompareRow[] {
  if (spec === undefined) return rows;
  const desc = spec.startsWith("-");
  const field = (desc ? spec.slice(1) : spec) as SortField;
  if (!SORT_FIELDS.includes(field)) {
    throw new UsageError(
      `Invalid --sort "${spec}": expected one of ${
        SORT_FIELDS.join(", ")
      }, optionally with a leading "-"`,
    );
  }
  const key = (r: CompareRow): number | string =>
    field === "name"
      ? r.label
      : field === "peak"
      ? r.peakElements
      : field === "peak-in-place"
      ? r.peakInPlaceElements
      : r[field];
  const sorted = [...rows].sort((a, b) => {
    const x = key(a), y = key(b);
    return typeof x === "string" ? x.localeCompare(y as string) : x - (y as number);
  });
  return desc ? sorted.reverse() : sorted;
}

/**
 * Renders rows as a table, Markdown, CSV or JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zoo } from "../lib/models/zoo.ts";
 * import { compareRow, formatCompare } from "./compare.ts";
 * const row = compareRow(zoo.build("shufflenetv2"), "shufflenetv2", {});
 * assert.match(formatCompare([row], "csv").split("\n")[1], /^shufflenetv2,\d+,\d+,/);
 * ```
 */
export function formatCompare(rows: CompareRow[], format: TableFormat | "json"): string {
  if (format === "json") {
    return jsonText({ schema: "lightnets.compare/1", bytesPerElement: 4, rows });
  }
  const exact = format === "csv";
  const n = (x: number) => (exact ? String(x) : formatCount(x));
  const b = (x: number) => (exact ? String(x * 4) : formatBytes(x * 4));
  const headers = [
    "model",
    "params",
    "MAdds",
    "MAC",
    exact ? "peak bytes" : "peak (fp32)",
    exact ? "peak bytes in place" : "in place",
    exact ? "largest materialized bytes fp16" : "Table 3 (fp16)",
    ...GUIDELINES,
  ];
  const body = rows.map((r) => [
    r.label,
    n(r.params),
    n(r.madds),
    n(r.mac),
    b(r.peakElements),
    b(r.peakInPlaceElements),
    exact ? String(r.largestMaterialized.bytes) : formatBytes(r.largestMaterialized.bytes),
    ...GUIDELINES.map((g) => r.guidelines[g]),
  ]);
  return renderTable(headers, body, format, [1, 2, 3, 4, 5, 6]);
}

/**
 * The SVG document of `--svg`: the scatter of every row, then the per-layer
 * bar chart of `layersGraph`.
 */
export function compareSvg(rows: CompareRow[], layersGraph: Graph, layersLabel: string): string {
  const costs = estimateCost(inferShapes(layersGraph)).filter((c) => c.mac.total > 0);
  return stackSvg([
    scatterSvg(
      rows.map((r) => ({ label: r.label, params: r.params, madds: r.madds, mac: r.mac })),
      { title: `MAdds against parameters of ${rows.length} variants; colour and area by MAC` },
    ),
    layerSharesSvg(
      costs.map((c) => ({ name: c.name, madds: c.madds, mac: c.mac.total })),
      { title: `${layersLabel}: share of MAdds against share of MAC per layer` },
    ),
  ]);
}

interface Variant {
  graph: Graph;
  model: string;
  knobs: Knobs;
}

async function variants(
  names: string[],
  knobs: RawKnobs,
  published: boolean,
): Promise<Variant[]> {
  if (names.length === 0 || published) {
    if (Object.keys(knobs).length > 0) {
      throw new UsageError(
        `Knob flags (${
          Object.keys(knobs).map((k) => `--${k}`).join(", ")
        }) cannot be combined with published variants; name the models instead`,
      );
    }
    const wanted = new Set<string>();
    for (const n of names) {
      try {
        wanted.add(zoo.resolve(n).model.name);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const all = publishedVariants().filter((v) => wanted.size === 0 || wanted.has(v.name));
    if (all.length === 0) {
      throw new UsageError(`No published variants of ${names.map((n) => `"${n}"`).join(", ")}`);
    }
    return all.map((v) => ({ graph: zoo.build(v.name, v.knobs), model: v.name, knobs: v.knobs }));
  }
  const out: Variant[] = [];
  for (const n of names) {
    const loaded = await loadModel(n, knobs, Object.keys(OPTIONS));
    out.push({ graph: loaded.graph, model: loaded.model, knobs: loaded.knobs });
  }
  return out;
}

/** Runs `compare` on its arguments and returns the exit code. */
export function run(args: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals, knobs } = parseModelArgs(args, OPTIONS);
    if (values.help) {
      console.log(HELP);
      return EXIT.ok;
    }
    const format = parseFormat(values.format, values.json, [...TABLE_FORMATS, "json"]);
    if (values.svg !== undefined) requireWritable(checkOutputPath(values.svg, "--svg"));
    const list = await variants(positionals, knobs, values.published ?? false);
    const measured = list.map((v) => ({ v, row: compareRow(v.graph, v.model, v.knobs) }));
    const rows = sortRows(measured.map((m) => m.row), values.sort);
    let layers = measured[0];
    if (values.layers !== undefined) {
      const key = values.layers.toLowerCase();
      const hit = measured.find((m) => m.row.label.toLowerCase() === key) ??
        measured.find((m) => m.row.model === key || m.row.label.toLowerCase().startsWith(key));
      if (!hit) {
        throw new UsageError(
          `Invalid --layers "${values.layers}": expected the label of a compared variant, e.g. "${
            measured[0].row.label
          }"`,
        );
      }
      layers = hit;
    }
    if (values.svg !== undefined) {
      await writeFileAtomic(values.svg, compareSvg(rows, layers.v.graph, layers.row.label));
    }
    console.log(formatCompare(rows, format));
    if (values.svg !== undefined && format === "table") {
      console.log(
        sanitize(`\nwrote ${values.svg} (${rows.length} variants; layers of ${layers.row.label})`),
      );
    }
    return EXIT.ok;
  });
}
