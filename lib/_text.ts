/**
 * Text from outside (a model file's names, a path or value typed on the
 * command line) made safe to show: {@link sanitize} before a terminal,
 * {@link escapeXml} in SVG, {@link markdownCell} and {@link csvCell} in tables.
 * The one place where such strings are neutralized, used by every printer.
 *
 * @module
 */

// C0 controls (ESC, BEL, CR, newline, ...), DEL and C1 controls (0x9b is a one-byte CSI),
// line and paragraph separators, and the bidirectional overrides and isolates that can
// reorder what a terminal shows (CVE-2021-42574, "Trojan Source").
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every control character, line separator and bidirectional
 * override written as a visible escape (`\e` for ESC, `\n`, `\t`, `\xNN`,
 * `\uNNNN`), so it can neither move the cursor, set a terminal title, ring a
 * bell nor start a new line when printed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitize } from "./_text.ts";
 * assert.equal(sanitize("conv\u001b]0;pwned\u0007"), "conv\\e]0;pwned\\x07");
 * assert.equal(sanitize("a\nb\u202ec\u009b"), "a\\nb\\u202ec\\u009b");
 * assert.equal(sanitize("stage2.0.branch1"), "stage2.0.branch1");
 * ```
 */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    if (ch === "\u001b") return "\\e";
    if (ch === "\n") return "\\n";
    if (ch === "\r") return "\\r";
    if (ch === "\t") return "\\t";
    // C0 as \xNN; DEL, C1 and the rest as \uNNNN, which is also a valid JSON escape,
    // so sanitizing JSON text (where only these can appear raw) keeps it JSON.
    return code < 0x20
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * {@link sanitize} per line: newlines stay, everything else unsafe is escaped.
 * The last guard before a terminal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitizeLines } from "./_text.ts";
 * assert.equal(sanitizeLines("a\u0007\nb"), "a\\x07\nb");
 * ```
 */
export function sanitizeLines(text: string): string {
  return text.split("\n").map(sanitize).join("\n");
}

/**
 * `value` as indented JSON with every character a terminal could act on
 * escaped: JSON.stringify escapes C0 controls but leaves DEL, C1 controls
 * (0x9b is a one-byte CSI) and bidirectional overrides raw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonText } from "./_text.ts";
 * const text = jsonText({ name: "a\u009b31m\u202e" });
 * assert.equal(text, '{\n  "name": "a\\u009b31m\\u202e"\n}');
 * assert.deepEqual(JSON.parse(text), { name: "a\u009b31m\u202e" });
 * ```
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * `text` quoted for error messages: `"name"`, sanitized.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quote } from "./_text.ts";
 * assert.equal(quote("a\u001bb"), '"a\\eb"');
 * ```
 */
export function quote(text: string): string {
  return `"${sanitize(text)}"`;
}

/**
 * Text for SVG/XML: `& < > " '` as entities, and the characters XML 1.0
 * cannot hold at all (controls other than tab and newline, lone surrogates,
 * U+FFFE/U+FFFF) as visible escapes, as {@link sanitize} writes them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeXml } from "./_text.ts";
 * assert.equal(escapeXml('<a href="x">&\u001b'), "&lt;a href=&quot;x&quot;&gt;&amp;\\e");
 * ```
 */
export function escapeXml(text: string): string {
  return sanitize(text)
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\\ufffd")
    .replace(/[\ufffe\uffff]/g, "\\ufffd")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/**
 * A Markdown table cell: sanitized (so it stays on its row), `|` escaped (so
 * it stays in its column), `<` and `>` escaped (no raw HTML), and a trailing
 * `\` doubled (so it cannot escape the cell's closing `|`). Inline code and
 * emphasis written by the caller still render.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownCell } from "./_text.ts";
 * assert.equal(markdownCell("a|b<script>\n"), "a\\|b\\<script\\>\\n");
 * assert.equal(markdownCell("`conv`"), "`conv`");
 * assert.equal(markdownCell("end\\"), "end\\\\");
 * ```
 */
export function markdownCell(text: string): string {
  return sanitize(text).replace(/[|<>]/g, (c) => `\\${c}`).replace(/\\$/, "\\\\");
}

/**
 * A CSV cell (RFC 4180): sanitized, quoted when it holds a comma or quote,
 * and prefixed with `'` when it starts like a spreadsheet formula
 * (`= + - @`) and is not a number, so a spreadsheet never evaluates it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvCell } from "./_text.ts";
 * assert.equal(csvCell('x,"y"'), '"x,""y"""');
 * assert.equal(csvCell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
 * assert.equal(csvCell("-12.5"), "-12.5");
 * ```
 */
export function csvCell(text: string): string {
  let s = sanitize(text);
  if (/^[=+\-@]/.test(s) && !/^[-+]?\d/.test(s)) s = `'${s}`;
  return /[",]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
