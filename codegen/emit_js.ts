/**
 * `--emit js`: a generated module as a JavaScript ES module (no TypeScript
 * syntax), for both targets, so it runs in Node 20 and browsers as well as
 * Deno, and imports without a transpile step. The TypeScript compiler
 * (bundled with ts-morph) strips the types; the multi-megabyte base64
 * literals (weights, kernel code) are swapped out for placeholders first so
 * the compiler never scans them, then put back verbatim.
 *
 * @module
 */

import { ts } from "ts-morph";

/** String literals at least this long are swapped out before transpiling. */
const LONG = 4096;

/**
 * The JavaScript of a generated module's TypeScript `source`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toJavaScript } from "./emit_js.ts";
 * const js = toJavaScript('export const n: number = 1;\nfunction w(): string {\n  return "' +
 *   "A".repeat(5000) + '";\n}\n');
 * assert.match(js, /^export const n = 1;\nfunction w\(\) \{\n {4}return "A{5000}";\n\}/);
 * ```
 */
export function toJavaScript(source: string): string {
  // The literals are returned (`return "<base64>";`, module.ts), assigned
  // (`NAME: string = "<base64>";`, wasm/module.ts) or chunks of an array, one
  // per line (`_api.ts`'s base64ChunksLiteral).
  const saved: string[] = [];
  let masked = "";
  let at = 0;
  for (let open = source.indexOf('"'); open >= 0; open = source.indexOf('"', at + 1)) {
    const close = source.indexOf('"', open + 1);
    if (close < 0) break;
    const before = source.slice(Math.max(0, open - 8), open);
    const long = close - open - 1 >= LONG && /(return |= |\n)$/.test(before) &&
      /^[A-Za-z0-9+/=]*$/.test(source.slice(open + 1, open + 65));
    masked += source.slice(at, open + 1) +
      (long
        ? `@long${saved.push(source.slice(open + 1, close)) - 1}@`
        : source.slice(open + 1, close));
    at = close;
  }
  masked += source.slice(at);
  const out = ts.transpileModule(masked, {
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      removeComments: false,
    },
  }).outputText;
  return out.replace(/"@long(\d+)@"/g, (_m, k) => `"${saved[Number(k)]}"`);
}
