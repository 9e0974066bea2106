/**
 * The one table renderer: rows of cells as an aligned text table, a Markdown
 * table or CSV, for the analysis report, `guidelines`, `compare` and
 * BENCHMARKS.md. Every cell goes through lib/_text.ts on the way out
 * (sanitized for a terminal, escaped for Markdown and CSV).
 *
 * @module
 */

import { csvCell, markdownCell, sanitize } from "./_text.ts";

/** Output formats of {@link renderTable}. */
export type TableFormat = "table" | "md" | "csv";

/** Every {@link TableFormat}. */
export const TABLE_FORMATS: readonly TableFormat[] = ["table", "md", "csv"];

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
    return [
      `| ${headers.map(markdownCell).join(" | ")} |`,
      `| ${sep.join(" | ")} |`,
      ...rows.map((r) => `| ${r.map(markdownCell).join(" | ")} |`),
    ].join("\n");
  }
  headers = headers.map(sanitize);
  rows = rows.map((r) => r.map(sanitize));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (isRight.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
