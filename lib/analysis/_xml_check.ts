/**
 * A small XML well-formedness checker for tests of generated SVG: one root
 * element, balanced and properly nested tags, quoted attributes without
 * duplicates, and `&` only in the five named entities or numeric references.
 * No DTDs, CDATA or processing instructions besides the prolog.
 *
 * @module
 */

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9A-Fa-f]+);/;

function checkText(text: string, where: number): void {
  for (let i = text.indexOf("&"); i >= 0; i = text.indexOf("&", i + 1)) {
    if (!ENTITY.test(text.slice(i))) {
      throw new SyntaxError(`Bad "&" at offset ${where + i}: "${text.slice(i, i + 12)}"`);
    }
  }
}

/**
 * Throws a `SyntaxError` naming the offset of the first problem; returns the
 * element names in document order otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkXml } from "./_xml_check.ts";
 * assert.deepEqual(checkXml('<a x="1"><b/>t &amp; u</a>'), ["a", "b"]);
 * assert.throws(() => checkXml("<a><b></a></b>"), /expected "<\/b>"/);
 * assert.throws(() => checkXml("<a>x & y</a>"), /Bad "&"/);
 * ```
 */
export function checkXml(doc: string): string[] {
  let i = 0;
  const stack: string[] = [];
  const names: string[] = [];
  let roots = 0;
  if (doc.startsWith("<?xml")) {
    const end = doc.indexOf("?>");
    if (end < 0) throw new SyntaxError("Unclosed XML prolog");
    i = end + 2;
  }
  while (i < doc.length) {
    const lt = doc.indexOf("<", i);
    const text = doc.slice(i, lt < 0 ? doc.length : lt);
    if (stack.length === 0 && text.trim() !== "") {
      throw new SyntaxError(`Text outside the root element at offset ${i}`);
    }
    checkText(text, i);
    if (lt < 0) break;
    i = lt;
    if (doc.startsWith("<!--", i)) {
      const end = doc.indexOf("-->", i + 4);
      if (end < 0) throw new SyntaxError(`Unclosed comment at offset ${i}`);
      i = end + 3;
      continue;
    }
    if (doc.startsWith("</", i)) {
      const m = NAME.exec(doc.slice(i + 2));
      const end = doc.indexOf(">", i);
      if (!m || end < 0 || doc.slice(i + 2 + m[0].length, end).trim() !== "") {
        throw new SyntaxError(`Bad end tag at offset ${i}`);
      }
      const open = stack.pop();
      if (open !== m[0]) {
        throw new SyntaxError(`Found "</${m[0]}>" at offset ${i}, expected "</${open}>"`);
      }
      i = end + 1;
      continue;
    }
    const m = NAME.exec(doc.slice(i + 1));
    if (!m) throw new SyntaxError(`Bad start tag at offset ${i}`);
    if (stack.length === 0 && ++roots > 1) {
      throw new SyntaxError(`Second root element at offset ${i}`);
    }
    names.push(m[0]);
    let j = i + 1 + m[0].length;
    const seen = new Set<string>();
    for (;;) {
      const ws = /^\s*/.exec(doc.slice(j))![0].length;
      j += ws;
      if (doc.startsWith("/>", j)) {
        j += 2;
        break;
      }
      if (doc[j] === ">") {
        stack.push(m[0]);
        j += 1;
        break;
      }
      const a = NAME.exec(doc.slice(j));
      if (!a || ws === 0) throw new SyntaxError(`Bad attribute at offset ${j}`);
      if (seen.has(a[0])) throw new SyntaxError(`Duplicate attribute "${a[0]}" at offset ${j}`);
      seen.add(a[0]);
      j += a[0].length;
      const q = /^\s*=\s*(["'])/.exec(doc.slice(j));
      if (!q) throw new SyntaxError(`Unquoted attribute "${a[0]}" at offset ${j}`);
      j += q[0].length;
      const close = doc.indexOf(q[1], j);
      if (close < 0) throw new SyntaxError(`Unclosed attribute "${a[0]}" at offset ${j}`);
      const value = doc.slice(j, close);
      if (value.includes("<")) throw new SyntaxError(`"<" in attribute "${a[0]}" at offset ${j}`);
      checkText(value, j);
      j = close + 1;
    }
    i = j;
  }
  if (stack.length > 0) throw new SyntaxError(`Unclosed "<${stack.at(-1)}>" at the end`);
  if (roots !== 1) throw new SyntaxError("No root element");
  return names;
}
