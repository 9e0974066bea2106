/**
 * Renders rows of cells as an aligned text table, a Markdown table or CSV
 * (for `guidelines` and `compare`).
 *
 * @module
 */

/** Output formats of {@link renderTable}. */
export type TableFormat = "table" | "md" | "csv";

/** Every {@link TableFormat}. */
export const TABLE_FORMATS: readonly TableFormat[] = ["table", "md", "csv"];

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function mdCell(s: string): string {
  return s.replaceAll("|", "\\|");
}

/**
 * Renders `rows` under `headers`; columns listed in `right` align right in
 * text tables (and in Markdown).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderTable } from "./_table.ts";
 * assert.equal(renderTable(["a", "n"], [["x", "10"]], "table", [1]), "a   n\n-  --\nx  10");
 * assert.equal(renderTable(["a", "n"], [["x,y", "1"]], "csv"), 'a,n\n"x,y",1');
 * ```
 */
export function renderTable(
  headers: string[],
  rows: string[][],
  format: TableFormat,
  right: number[] = [],
): string {
  const isRight = new Set(right);
  if (format === "csv") {
    return [headers, ...rows].map((r) => r.map(csvCell).join(",")).join("\n");
  }
  if (format === "md") {
    const sep = headers.map((_, i) => (isRight.has(i) ? "---:" : "---"));
    return [headers, sep, ...rows].map((r) => `| ${r.map(mdCell).join(" | ")} |`).join("\n");
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (isRight.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
