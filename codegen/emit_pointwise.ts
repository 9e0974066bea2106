/**
 * Pointwise (1x1, stride 1) convolution, optionally grouped: a register-blocked
 * loop nest. Each step of the reduction over input channels loads `PB`
 * neighbouring pixels and `OB` weights once and does `OB * PB` multiply-adds
 * into accumulators that stay in registers; the weights are packed so the
 * reduction reads them contiguously. On this machine class that reaches about
 * the scalar-JS ceiling (6.5-7.5 GFLOP/s) where a naive loop nest runs at 0.4.
 *
 * Packed weights, per group, per block of `ob <= OB` output channels starting
 * at `o`: `[bias(ob)] [cin/groups x ob]` (input-channel major), at offset
 * `o * (1 + cin/groups)` within the group.
 *
 * @module
 */

import type { CodeBlockWriter } from "ts-morph";
import { block, type Emitter, plus, type TableParam, writeStore } from "./_emit.ts";
import type { PwconvSpec } from "./spec.ts";

/** Output channels per register block. */
export const PW_OB = 3;
/** Pixels per register block. */
export const PW_PB = 4;
/** Input channels per step of the reduction loop. */
export const PW_UNROLL = 1;
/** Pixels per cache tile: the input tile (cin x tile) stays in L1/L2 while every output block reads it. */
export const PW_TILE = 256;

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Packs a `[cout, cin / groups, 1, 1]` weight and its bias into the layout the
 * kernel reads (see the module doc).
 */
export function packPwconv(s: PwconvSpec, weight: Float32Array, bias?: Float32Array): Float32Array {
  const cinG = s.cin / s.groups;
  const coutG = s.cout / s.groups;
  const out = new Float32Array(s.cout * (1 + cinG));
  let k = 0;
  for (let g = 0; g < s.groups; g++) {
    for (let o = 0; o < coutG; o += PW_OB) {
      const ob = Math.min(PW_OB, coutG - o);
      for (let j = 0; j < ob; j++) out[k++] = bias ? bias[g * coutG + o + j] : 0;
      for (let c = 0; c < cinG; c++) {
        for (let j = 0; j < ob; j++) out[k++] = weight[(g * coutG + o + j) * cinG + c];
      }
    }
  }
  return out;
}

/** One block of `ob` output channels starting at the variable `o`. */
function writeBlock(w: CodeBlockWriter, s: PwconvSpec, ob: number): void {
  const cinG = s.cin / s.groups;
  // Offset tables are parameters: input channel c at `xi + xt[c]`, output o at `yg + yt[o]`.
  const xm = s.xtable ? "xt" : undefined;
  const js = range(ob);
  w.writeLine(`const wb = wg + o * ${1 + cinG};`);
  // Output channel j of the block starts at `y${j}` (a table lookup) or `yb + j * ycs`.
  const ym = s.ytable ? "yt" : undefined;
  if (ym) w.writeLine(`const ${js.map((j) => `y${j} = yg + ${ym}[${plus("o", j)}]`).join(", ")};`);
  else w.writeLine(`const yb = yg + o * ${s.ycs};`);
  if (s.epi.residual) w.writeLine(`const rb = rg + o * ${s.rcs};`);
  w.writeLine(`const ${js.map((j) => `b${j} = w[${plus("wb", j)}]`).join(", ")};`);
  w.writeLine("let p = t;");
  const pixels = (pb: number, head: string) =>
    block(w, head, () => {
      const qs = range(pb);
      w.writeLine(`let ${js.flatMap((j) => qs.map((q) => `a${j}_${q} = b${j}`)).join(", ")};`);
      w.writeLine(`${xm ? "const" : "let"} xi = xg + p;`);
      w.writeLine(`let k = wb + ${ob};`);
      // The reduction, unrolled PW_UNROLL times (one step per input channel);
      // with an input table, channel `c` starts at `xi + table[c]`.
      const step = (u: number, c?: number) => {
        const xo = u * s.xcs;
        if (xm) w.writeLine(`const xc${u} = xi + ${xm}[${c ?? plus("c", u)}];`);
        const at = (q: number) => (xm ? plus(`xc${u}`, q) : plus("xi", xo + q));
        w.writeLine(
          `${u === 0 ? "let" : ""} ${qs.map((q) => `x${q} = x[${at(q)}]`).join(", ")};`
            .trim(),
        );
        for (const j of js) {
          w.writeLine(`${u === 0 ? "let " : ""}w${j} = w[${plus("k", u * ob + j)}];`);
          w.writeLine(qs.map((q) => `a${j}_${q} += w${j} * x${q};`).join(" "));
        }
      };
      const unroll = Math.min(PW_UNROLL, cinG);
      const main = cinG - (cinG % unroll);
      block(w, `for (let c = 0; c < ${main}; c += ${unroll})`, () => {
        for (let u = 0; u < unroll; u++) step(u);
        if (!xm) w.writeLine(`xi += ${unroll * s.xcs};`);
        w.writeLine(`k += ${unroll * ob};`);
      });
      if (main < cinG) {
        block(w, "", () => {
          for (let u = 0; u < cinG - main; u++) step(u, main + u);
        });
      }
      for (const j of js) {
        for (const q of qs) {
          writeStore(
            w,
            s.epi,
            `a${j}_${q}`,
            ym ? plus(`y${j} + p`, q) : plus("yb + p", j * s.ycs + q),
            plus("rb + p", j * s.rcs + q),
          );
        }
      }
    });
  pixels(PW_PB, `for (; p < pb; p += ${PW_PB})`);
  pixels(1, `for (; p < pe; p++)`);
}

/** The pointwise emitter. */
export const pwconvEmitter: Emitter<PwconvSpec> = {
  describe: (s) =>
    `1x1 convolution ${s.cin} -> ${s.cout} channels${
      s.groups > 1 ? ` in ${s.groups} groups` : ""
    } on ${s.h}x${s.w}, ${PW_OB} channels x ${PW_PB} pixels per register block`,
  weighted: true,
  second: (s) => s.epi.residual,
  tables: (
    s,
  ): TableParam[] => [...(s.xtable ? ["xt" as const] : []), ...(s.ytable ? ["yt" as const] : [])],
  body(s, w) {
    const cinG = s.cin / s.groups;
    const coutG = s.cout / s.groups;
    const full = coutG - (coutG % PW_OB);
    const hw = s.h * s.w;
    const tile = Math.min(PW_TILE, hw);
    const inner = () =>
      block(w, `for (let t = 0; t < ${hw}; t += ${tile})`, () => {
        w.writeLine(`const pe = t + ${tile} < ${hw} ? t + ${tile} : ${hw};`);
        w.writeLine(`const pb = pe - ((pe - t) % ${PW_PB});`);
        if (full > 0) {
          block(w, `for (let o = 0; o < ${full}; o += ${PW_OB})`, () => writeBlock(w, s, PW_OB));
        }
        if (full < coutG) {
          block(w, "", () => {
            w.writeLine(`const o = ${full};`);
            writeBlock(w, s, coutG - full);
          });
        }
      });
    if (s.groups === 1) {
      w.writeLine("const xg = xo, yg = yo, wg = wo;");
      if (s.epi.residual) w.writeLine("const rg = ro;");
      inner();
      return;
    }
    if (s.xtable || s.ytable) {
      throw new RangeError(`A grouped pointwise conv takes no offset table`);
    }
    block(w, `for (let g = 0; g < ${s.groups}; g++)`, () => {
      w.writeLine(`const xg = xo + g * ${cinG * s.xcs};`);
      w.writeLine(`const yg = yo + g * ${s.ygs};`);
      w.writeLine(`const wg = wo + g * ${coutG * (1 + cinG)};`);
      if (s.epi.residual) w.writeLine(`const rg = ro + g * ${coutG * s.rcs};`);
      inner();
    });
  },
};
