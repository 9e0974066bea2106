/**
 * Fully connected layer on one feature vector: blocks of `LN_OB` outputs
 * share each input load; weights packed per block as `[bias(ob)] [in x ob]`
 * (input major) at offset `o * (1 + in)`, so the reduction reads them
 * contiguously.
 *
 * @module
 */

import type { CodeBlockWriter } from "ts-morph";
import { actStatements, block, type Emitter, plus } from "./_emit.ts";
import type { LinearSpec } from "./spec.ts";

/** Outputs per register block. */
export const LN_OB = 4;

/** Packs a `[out, in]` weight and its bias (see the module doc). */
export function packLinear(s: LinearSpec, weight: Float32Array, bias?: Float32Array): Float32Array {
  const out = new Float32Array(s.cout * (1 + s.cin));
  let k = 0;
  for (let o = 0; o < s.cout; o += LN_OB) {
    const ob = Math.min(LN_OB, s.cout - o);
    for (let j = 0; j < ob; j++) out[k++] = bias ? bias[o + j] : 0;
    for (let i = 0; i < s.cin; i++) {
      for (let j = 0; j < ob; j++) out[k++] = weight[(o + j) * s.cin + i];
    }
  }
  return out;
}

function writeBlock(w: CodeBlockWriter, s: LinearSpec, ob: number): void {
  const js = Array.from({ length: ob }, (_, j) => j);
  w.writeLine(`const wb = wo + o * ${1 + s.cin};`);
  w.writeLine(`let ${js.map((j) => `a${j} = w[${plus("wb", j)}]`).join(", ")};`);
  w.writeLine(`let k = wb + ${ob};`);
  w.writeLine("let xi = xo;");
  block(w, `for (let i = 0; i < ${s.cin}; i++)`, () => {
    w.writeLine("const v = x[xi];");
    w.writeLine(js.map((j) => `a${j} += w[${plus("k", j)}] * v;`).join(" "));
    w.writeLine(`xi += ${s.xcs};`);
    w.writeLine(`k += ${ob};`);
  });
  for (const j of js) {
    for (const line of actStatements(s.act, `a${j}`)) w.writeLine(line);
    w.writeLine(`y[yo + (o + ${j}) * ${s.ycs}] = a${j};`);
  }
}

/** The linear emitter. */
export const linearEmitter: Emitter<LinearSpec> = {
  describe: (s) => `fully connected ${s.cin} -> ${s.cout}, ${LN_OB} outputs per block`,
  weighted: true,
  second: () => false,
  body(s, w) {
    const full = s.cout - (s.cout % LN_OB);
    if (full > 0) {
      block(w, `for (let o = 0; o < ${full}; o += ${LN_OB})`, () => writeBlock(w, s, LN_OB));
    }
    if (full < s.cout) {
      block(w, "", () => {
        w.writeLine(`const o = ${full};`);
        writeBlock(w, s, s.cout - full);
      });
    }
  },
};
