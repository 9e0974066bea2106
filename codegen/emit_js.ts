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
  // The literals are the bodies of `return "<base64>";` (module.ts, wasm/module.ts).
  const saved: string[] = [];
  let masked = "";
  let at = 0;
  for (let i = source.indexOf('return "'); i >= 0; i = source.indexOf('return "', at)) {
    const open = i + 'return "'.length;
    const close = source.indexOf('"', open);
    if (close < 0) break;
    if (close - open >= LONG && /^[A-Za-z0-9+/=]*$/.test(source.slice(open, open + 64))) {
      masked += source.slice(at, open) + `@long${saved.push(source.slice(open, close)) - 1}@`;
      at = close;
    } else {
      masked += source.slice(at, close);
      at = close;
    }
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
