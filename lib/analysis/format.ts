/**
 * Renders an {@link AnalysisReport} as an aligned text table (for a terminal
 * of 100 columns), Markdown, CSV or JSON. Figures in tables carry units
 * (`K` = 10^3, `M` = 10^6, `G` = 10^9; bytes in kB/MB/GB, powers of 10); the
 * totals also print exact integers. CSV and JSON print exact integers only.
 *
 * @module
 */

import { inScope } from "../ir/graph.ts";
import { renderTable } from "../_table.ts";
import { csvCell as csvText, jsonText, markdownCell, sanitize } from "../_text.ts";

function csvCell(v: string | number): string {
  return csvText(String(v));
}
import type {
  AnalysisReport,
  Figures,
  LayerReport,
  OpTypeReport,
  SubtotalReport,
} from "./report.ts";

/** Output formats of {@link formatReport}. */
export type Format = "table" | "json" | "md" | "csv";

/** Every {@link Format}, for help texts and argument checks. */
export const FORMATS: readonly Format[] = ["table", "json", "md", "csv"];

/** Options of {@link formatReport}. */
export interface FormatOptions {
  /**
   * Print one row per group (`report.groups`, module paths cut to
   * `report.depth` segments) instead of one row per layer.
   */
  collapse?: boolean;
}

/**
 * A count with a unit suffix and three significant digits: `864`, `2.05K`,
 * `146M`, `1.37G`, `4.20T`; from 10^15 on, scientific (`1.59e+22`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCount } from "./format.ts";
 * assert.equal(formatCount(864), "864");
 * assert.equal(formatCount(2052), "2.05K");
 * assert.equal(formatCount(146_000_000), "146M");
 * assert.equal(formatCount(0), "0");
 * assert.equal(formatCount(2 ** 62 * 3456), "1.59e+22");
 * ```
 */
export function formatCount(n: number): string {
  const abs = Math.abs(n);
  if (!Number.isFinite(n)) return String(n);
  if (abs < 1000) return String(Number.isInteger(n) ? n : Number(n.toPrecision(3)));
  if (abs >= 999.5e12) return n.toExponential(2);
  for (const [unit, scale] of [["T", 1e12], ["G", 1e9], ["M", 1e6], ["K", 1e3]] as const) {
    if (abs >= scale * 0.9995) return sig3(n / scale) + unit;
  }
  return String(n);
}

function sig3(x: number): string {
  const abs = Math.abs(x);
  const digits = abs >= 99.95 ? 0 : abs >= 9.995 ? 1 : 2;
  return x.toFixed(digits);
}

/**
 * An exact integer with thousands separators: `2,278,604`. Beyond 2^53 a
 * float64 is no longer exact, so such a count prints in scientific notation
 * with four significant digits (`~1.594e+22`), marked approximate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatInteger } from "./format.ts";
 * assert.equal(formatInteger(2278604), "2,278,604");
 * assert.equal(formatInteger(-1500), "-1,500");
 * assert.equal(formatInteger(2 ** 62 * 3456), "~1.594e+22");
 * ```
 */
export function formatInteger(n: number): string {
  const r = Math.round(n);
  if (!Number.isSafeInteger(r)) return Number.isFinite(n) ? `~${n.toExponential(3)}` : String(n);
  const sign = r < 0 ? "-" : "";
  return sign + String(Math.abs(r)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Bytes in powers of 10: `512 B`, `1.20 kB`, `9.17 MB`, up to `TB`, then
 * scientific (`3.20e+17 B`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./format.ts";
 * assert.equal(formatBytes(512), "512 B");
 * assert.equal(formatBytes(1_510_000), "1.51 MB");
 * assert.equal(formatBytes(320e9), "320 GB");
 * assert.equal(formatBytes(3.2e17), "3.20e+17 B");
 * ```
 */
export function formatBytes(n: number): string {
  const abs = Math.abs(n);
  if (!Number.isFinite(n)) return `${n} B`;
  if (abs < 1000) return `${n} B`;
  if (abs >= 999.5e12) return `${n.toExponential(2)} B`;
  for (const [unit, scale] of [["TB", 1e12], ["GB", 1e9], ["MB", 1e6], ["kB", 1e3]] as const) {
    if (abs >= scale * 0.9995) return `${sig3(n / scale)} ${unit}`;
  }
  return `${n} B`;
}

/** A fraction as a percentage with two decimals: `0.9486` -> `94.86%`. */
export function formatPercent(f: number): string {
  return `${(100 * f).toFixed(2)}%`;
}

/**
 * Renders a report in one of the {@link FORMATS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { analyze } from "./report.ts";
 * import { formatReport } from "./format.ts";
 * const b = new GraphBuilder("tiny", [1, 3, 8, 8]);
 * const report = analyze(b.build(b.conv2d(b.input, { out: 4, kernel: 3 }, "conv")));
 * assert.match(formatReport(report, "table"), /conv\s+conv 3x3\s+1x4x8x8\s+108\s+6.91K/);
 * assert.equal(JSON.parse(formatReport(report, "json")).totals.madds, 6912);
 * assert.equal(formatReport(report, "csv").split("\n")[1].split(",")[0], "conv");
 * ```
 */
export function formatReport(
  report: AnalysisReport,
  format: Format,
  options: FormatOptions = {},
): string {
  switch (format) {
    case "table":
      return formatTable(report, options);
    case "md":
      return formatMarkdown(report, options);
    case "csv":
      return formatCsv(report, options);
    case "json":
      return jsonText(report);
  }
  const never: never = format;
  throw new RangeError(`Invalid format "${never}": expected one of ${FORMATS.join(", ")}`);
}

// ---------------------------------------------------------------------------
// Rows: what every text format prints, independent of layout.

interface Row {
  kind: "layer" | "subtotal";
  path: string;
  op: string;
  shape: string;
  fig: Figures;
}

/** The op column of a layer: its resource class plus stride and groups where they matter. */
export function layerLabel(layer: LayerReport): string {
  const a = layer.attrs as {
    stride?: readonly number[];
    groups?: number;
    kernel?: readonly number[];
  };
  let label = layer.type;
  if (layer.op === "max_pool" || layer.op === "avg_pool") {
    label += ` ${a.kernel![0]}x${a.kernel![1]}`;
  }
  if (a.stride && (a.stride[0] !== 1 || a.stride[1] !== 1)) {
    label += a.stride[0] === a.stride[1] ? `/s${a.stride[0]}` : `/s${a.stride.join("x")}`;
  }
  if (layer.type.startsWith("gconv")) label += ` g${a.groups}`;
  return label;
}

function shapeText(shape: readonly number[]): string {
  return shape.join("x");
}

function groupLabel(group: SubtotalReport, layers: Map<string, LayerReport>): string {
  const layer = layers.get(group.path);
  if (group.layers === 1 && layer) return layerLabel(layer);
  if (group.type) return group.type;
  return `${group.layers} layers`;
}

function bodyRows(report: AnalysisReport, collapse: boolean): Row[] {
  const byPath = new Map(report.layers.map((l) => [l.path, l]));
  const main: Row[] = collapse
    ? report.groups.map((g) => ({
      kind: "layer",
      path: g.path,
      op: groupLabel(g, byPath),
      shape: shapeText(g.outputShape),
      fig: g,
    }))
    : report.layers.map((l) => ({
      kind: "layer",
      path: l.path,
      op: layerLabel(l),
      shape: shapeText(l.outputShape),
      fig: l,
    }));
  // A stage subtotal follows the last row inside the stage, unless that row is the stage itself.

  const after = new Map<number, Row[]>();
  for (const stage of report.stages) {
    let last = -1;
    let count = 0;
    main.forEach((r, i) => {
      if (inScope(r.path, { path: stage.path, kind: "stage", members: stage.members })) {
        last = i;
        count++;
      }
    });
    if (last < 0 || (count === 1 && main[last].path === stage.path)) continue;
    const rows = after.get(last) ?? [];
    rows.push({
      kind: "subtotal",
      path: `${stage.path} total`,
      op: `${stage.layers} layers`,
      shape: shapeText(stage.outputShape),
      fig: stage,
    });
    after.set(last, rows);
  }
  return main.flatMap((r, i) => [r, ...(after.get(i) ?? [])]);
}

function knobText(report: AnalysisReport): string {
  const entries = Object.entries(report.knobs);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(" ") : "";
}

// ---------------------------------------------------------------------------
// Text table.

/** Width of the text table: it must read in a terminal of 100 columns. */
export const TABLE_WIDTH = 100;

/**
 * A module path cut to `width` characters: whole leading segments give way
 * first (`~.1.block.2.scale_activation`), since rows come in order and the
 * leaf names the op; a single overlong segment keeps its end.
 */
export function fitPath(path: string, width: number): string {
  if (path.length <= width) return path;
  const parts = path.split(".");
  for (let i = 1; i < parts.length; i++) {
    const tail = "~." + parts.slice(i).join(".");
    if (tail.length <= width) return tail;
  }
  return "~" + path.slice(path.length - (width - 1));
}

function fitText(text: string, width: number): string {
  return text.length <= width ? text : text.slice(0, width - 1) + "~";
}

interface Column {
  title: string;
  align: "left" | "right";
  cell: (row: Row) => string;
}

function pctOf(part: number, whole: number): string {
  if (part === 0) return "-";
  return `${(100 * part / whole).toFixed(1)}%`;
}

/**
 * Aligned columns, two spaces apart; when the natural width exceeds
 * {@link TABLE_WIDTH}, the first column (paths) shrinks to fit.
 */
function renderColumns(columns: Column[], rows: Row[], maxOp = 16): string[] {
  // Names come from model files: escaped before they are measured and printed.
  const raw = rows.map((r) => columns.map((c) => sanitize(c.cell(r))));
  const natural = columns.map((c, i) =>
    Math.max(c.title.length, ...raw.map((row) => row[i].length))
  );
  natural[1] = Math.min(natural[1], maxOp);
  const others = natural.slice(1).reduce((a, w) => a + w, 0) + 2 * (columns.length - 1);
  const pathWidth = Math.max(16, Math.min(natural[0], TABLE_WIDTH - others));
  const cells = raw.map((row) =>
    row.map((v, i) => (i === 0 ? fitPath(v, pathWidth) : i === 1 ? fitText(v, maxOp) : v))
  );
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, ...cells.map((row) => row[i].length))
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => columns[i].align === "left" ? v.padEnd(widths[i]) : v.padStart(widths[i]))
      .join("  ")
      .trimEnd();
  const rule = "-".repeat(widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1));
  const out = [line(columns.map((c) => c.title)), rule];
  rows.forEach((r, i) => {
    if (r.kind === "subtotal") out.push(line(cells[i]), "");
    else out.push(line(cells[i]));
  });
  if (out[out.length - 1] === "") out.pop();
  return out;
}

/** The report as an aligned text table: layers (or groups), stage subtotals, totals, op types. */
export function formatTable(report: AnalysisReport, options: FormatOptions = {}): string {
  const t = report.totals;
  const rows = bodyRows(report, options.collapse ?? false);
  const columns: Column[] = [
    { title: "path", align: "left", cell: (r) => r.path },
    { title: "op", align: "left", cell: (r) => r.op },
    { title: "output", align: "right", cell: (r) => r.shape },
    { title: "params", align: "right", cell: (r) => formatCount(r.fig.params.total) },
    { title: "MAdds", align: "right", cell: (r) => formatCount(r.fig.madds) },
    { title: "MAdds%", align: "right", cell: (r) => pctOf(r.fig.madds, t.madds) },
    { title: "MAC", align: "right", cell: (r) => formatCount(r.fig.mac.elements) },
    { title: "MAC%", align: "right", cell: (r) => pctOf(r.fig.mac.elements, t.mac.elements) },
  ];
  const knobs = knobText(report);
  const head = [
    sanitize(`${report.model}${knobs ? `  ${knobs}` : ""}`),
    `input ${shapeText(report.input)}, ${report.layers.length} layers` +
    (options.collapse ? `, collapsed to depth ${report.depth}` : "") +
    `; MAC in elements, bytes as ${report.dtype}`,
    "",
  ];
  return [
    ...head,
    ...renderColumns(columns, rows),
    "",
    ...totalsLines(report),
    "",
    ...opTypeLines(report.byOpType),
  ].join("\n") + "\n";
}

function totalsLines(report: AnalysisReport): string[] {
  const t = report.totals;
  const f = t.flops;
  const c = formatCount;
  // [label, exact value (undefined on a continuation line), note]
  const rows: [string, number | undefined, string][] = [
    [
      "params",
      t.params.total,
      `weights ${formatInteger(t.params.weights)} + bias ${formatInteger(t.params.bias)}` +
      ` + bn ${formatInteger(t.params.bn)}`,
    ],
    ["buffers", t.buffers, "BatchNorm running mean and variance, not parameters"],
    ["MAdds", t.madds, "multiply-adds of conv and fc"],
    ["FLOPs", f.total, `2 x MAdds ${c(f.maddsX2)} + bias ${c(f.bias)} + bn ${c(f.bn)}`],
    [
      "",
      undefined,
      `+ activations ${c(f.activation)} + element-wise ${c(f.elementwise)}` +
      ` + pooling ${c(f.pooling)}`,
    ],
    [
      "MAC",
      t.mac.elements,
      `elements: input ${c(t.mac.input)} + output ${c(t.mac.output)} + params ${c(t.mac.params)}`,
    ],
    ["MAC bytes", t.mac.bytes, `as ${t.mac.dtype}`],
    [
      "activations",
      t.activations.elements,
      `elements, ${formatBytes(t.activations.bytes)}; largest ` +
      `${sanitize(t.activations.largest.path)} (${c(t.activations.largest.elements)})`,
    ],
  ];
  const numbers = rows.map(([, n]) => n === undefined ? "" : formatInteger(n));
  const units = rows.map(([label, n]) =>
    n === undefined ? "" : label === "MAC bytes" ? formatBytes(n) : c(n)
  );
  const wl = Math.max(...rows.map(([l]) => l.length));
  const wn = Math.max(...numbers.map((s) => s.length));
  const wu = Math.max(...units.map((s) => s.length));
  return [
    "totals",
    ...rows.map(([label, , note], i) =>
      `  ${label.padEnd(wl)}  ${numbers[i].padStart(wn)}  ${units[i].padStart(wu)}  ${note}`
    ),
  ];
}

function opTypeLines(types: readonly OpTypeReport[]): string[] {
  const cols: { title: string; cell: (o: OpTypeReport) => string }[] = [
    { title: "type", cell: (o) => o.type },
    { title: "layers", cell: (o) => String(o.layers) },
    { title: "MAdds", cell: (o) => formatCount(o.madds) },
    { title: "MAdds%", cell: (o) => formatPercent(o.share.madds) },
    { title: "weights", cell: (o) => formatCount(o.params.weights) },
    { title: "weights%", cell: (o) => formatPercent(o.share.weights) },
    { title: "params%", cell: (o) => formatPercent(o.share.params) },
    { title: "MAC", cell: (o) => formatCount(o.mac.elements) },
    { title: "MAC%", cell: (o) => formatPercent(o.share.mac) },
  ];
  const cells = types.map((o) => cols.map((c) => c.cell(o)));
  const widths = cols.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i].length)));
  const line = (v: string[]) =>
    v.map((s, i) => i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i])).join("  ");
  return [
    "by op type (MobileNet V1 Table 2 view; weights = conv and fc kernels)",
    line(cols.map((c) => c.title)),
    "-".repeat(widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1)),
    ...cells.map(line),
  ];
}

// ---------------------------------------------------------------------------
// Markdown.

function mdTable(header: string[], align: ("l" | "r")[], rows: string[][]): string[] {
  const right = align.flatMap((a, i) => (a === "r" ? [i] : []));
  return renderTable(header, rows, "md", right).split("\n");
}

/** The report as Markdown: a heading, the layer (or group) table with stage subtotals, totals, op types. */
export function formatMarkdown(report: AnalysisReport, options: FormatOptions = {}): string {
  const t = report.totals;
  const knobs = knobText(report);
  const rows = bodyRows(report, options.collapse ?? false).map((r) => {
    const bold = (s: string) => (r.kind === "subtotal" ? `**${s}**` : s);
    return [
      bold(`\`${r.path}\``),
      r.op,
      r.shape,
      formatCount(r.fig.params.total),
      formatCount(r.fig.madds),
      pctOf(r.fig.madds, t.madds),
      formatCount(r.fig.mac.elements),
    ];
  });
  const totals = [
    ["params (total)", formatInteger(t.params.total), formatCount(t.params.total)],
    ["params (weights)", formatInteger(t.params.weights), formatCount(t.params.weights)],
    ["params (bias)", formatInteger(t.params.bias), formatCount(t.params.bias)],
    ["params (bn)", formatInteger(t.params.bn), formatCount(t.params.bn)],
    ["buffers", formatInteger(t.buffers), formatCount(t.buffers)],
    ["MAdds", formatInteger(t.madds), formatCount(t.madds)],
    ["FLOPs", formatInteger(t.flops.total), formatCount(t.flops.total)],
    ["MAC (elements)", formatInteger(t.mac.elements), formatCount(t.mac.elements)],
    [`MAC (bytes, ${t.mac.dtype})`, formatInteger(t.mac.bytes), formatBytes(t.mac.bytes)],
    ["activations", formatInteger(t.activations.elements), formatCount(t.activations.elements)],
  ];
  const types = report.byOpType.map((o) => [
    o.type,
    String(o.layers),
    formatCount(o.madds),
    formatPercent(o.share.madds),
    formatCount(o.params.weights),
    formatPercent(o.share.weights),
    formatPercent(o.share.mac),
  ]);
  return [
    `## ${markdownCell(report.model)}${knobs ? ` (${markdownCell(knobs)})` : ""}`,
    "",
    `Input ${shapeText(report.input)}; MAC bytes as ${report.dtype}.`,
    "",
    ...mdTable(
      ["path", "op", "output", "params", "MAdds", "MAdds %", "MAC"],
      ["l", "l", "r", "r", "r", "r", "r"],
      rows,
    ),
    "",
    "### Totals",
    "",
    ...mdTable(["figure", "exact", "rounded"], ["l", "r", "r"], totals),
    "",
    "### By op type",
    "",
    ...mdTable(
      ["type", "layers", "MAdds", "MAdds %", "weights", "weights %", "MAC %"],
      ["l", "r", "r", "r", "r", "r", "r"],
      types,
    ),
  ].join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// CSV.

/** CSV header of {@link formatCsv}. */
export const CSV_COLUMNS = [
  "path",
  "op",
  "type",
  "output_shape",
  "params",
  "weights",
  "bias",
  "bn",
  "buffers",
  "madds",
  "flops",
  "mac_elements",
  "mac_bytes",
  "activations",
] as const;

/**
 * The report as CSV: one row per layer (or per group with `collapse`), exact
 * integers, no subtotal or total rows (sum the columns).
 */
export function formatCsv(report: AnalysisReport, options: FormatOptions = {}): string {
  const byPath = new Map(report.layers.map((l) => [l.path, l]));
  const rows: (string | number)[][] = (options.collapse ? report.groups : report.layers).map(
    (r) => {
      const layer = "op" in r ? r as LayerReport : undefined;
      const group = layer ? undefined : r as SubtotalReport;
      return [
        r.path,
        layer ? layer.op : groupLabel(group!, byPath),
        layer ? layer.type : group!.type ?? "",
        shapeText(r.outputShape),
        r.params.total,
        r.params.weights,
        r.params.bias,
        r.params.bn,
        r.buffers,
        r.madds,
        r.flops.total,
        r.mac.elements,
        r.mac.bytes,
        r.activations,
      ];
    },
  );
  return [CSV_COLUMNS as readonly string[], ...rows].map((r) => r.map(csvCell).join(",")).join(
    "\n",
  ) + "\n";
}
