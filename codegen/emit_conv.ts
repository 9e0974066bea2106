/**
 * General and grouped convolution (any kernel, stride, padding, dilation):
 * per group, blocks of up to `CV_OB` output channels x `CV_PB` neighbouring
 * output pixels share every input and weight load; over the interior the
 * reduction runs as rolled loops over input channels, kernel rows and kernel
 * columns (one tap per step, pointers advanced by literal strides); the
 * border takes a checked loop.
 *
 * Packed weights, per group, per block of `ob` output channels starting at
 * `o`: `[bias(ob)] [cin/groups][kh][kw][ob]`, at offset
 * `o * (1 + cin/groups * kh * kw)` within the group.
 *
 * @module
 */

import type { CodeBlockWriter } from "ts-morph";
import { block, type Emitter, plus, writeStore } from "./_emit.ts";
import { interior, writeBorderLoop } from "./_window.ts";
import type { ConvSpec } from "./spec.ts";

/** Output channels per register block. */
export const CV_OB = 3;
/** Neighbouring output pixels per register block (interior only). */
export const CV_PB = 4;

/** Packs a `[cout, cin / groups, kh, kw]` weight and its bias (see the module doc). */
export function packConv(s: ConvSpec, weight: Float32Array, bias?: Float32Array): Float32Array {
  const cinG = s.cin / s.groups;
  const coutG = s.cout / s.groups;
  const kk = s.win.kernel[0] * s.win.kernel[1];
  const out = new Float32Array(s.cout * (1 + cinG * kk));
  let k = 0;
  for (let g = 0; g < s.groups; g++) {
    for (let o = 0; o < coutG; o += CV_OB) {
      const ob = Math.min(CV_OB, coutG - o);
      for (let j = 0; j < ob; j++) out[k++] = bias ? bias[g * coutG + o + j] : 0;
      for (let c = 0; c < cinG; c++) {
        for (let t = 0; t < kk; t++) {
          for (let j = 0; j < ob; j++) out[k++] = weight[((g * coutG + o + j) * cinG + c) * kk + t];
        }
      }
    }
  }
  return out;
}

function writeBlock(w: CodeBlockWriter, s: ConvSpec, ob: number): void {
  const { win } = s;
  const cinG = s.cin / s.groups;
  const [kh, kw] = win.kernel;
  const kk = kh * kw;
  const js = Array.from({ length: ob }, (_, j) => j);
  const [oy0, oy1, ox0, ox1] = interior(win);
  w.writeLine(`const wb = wg + o * ${1 + cinG * kk};`);
  w.writeLine(`const yb = yg + o * ${s.ycs};`);
  if (s.epi.residual) w.writeLine(`const rb = rg + o * ${s.rcs};`);
  const stores = (pos: string) => {
    for (const j of js) {
      writeStore(w, s.epi, `a${j}`, plus(`yb + ${pos}`, j * s.ycs), plus(`rb + ${pos}`, j * s.rcs));
    }
  };
  const init = () => w.writeLine(`let ${js.map((j) => `a${j} = w[${plus("wb", j)}]`).join(", ")};`);
  if (oy0 < oy1 && ox0 < ox1) {
    // Blocks of `pb` neighbouring outputs share each weight load; each input
    // load feeds `ob` output channels.
    const interiorPixels = (pb: number, head: string) =>
      block(w, head, () => {
        const qs = Array.from({ length: pb }, (_, q) => q);
        w.writeLine(
          `let ${js.flatMap((j) => qs.map((q) => `a${j}_${q} = w[${plus("wb", j)}]`)).join(", ")};`,
        );
        w.writeLine(
          `let xi = xg + (oy * ${win.stride[0]} - ${win.padding[0]}) * ${win.w} + ox * ${
            win.stride[1]
          } - ${win.padding[1]};`,
        );
        w.writeLine(`let k = wb + ${ob};`);
        // The reduction over (c, ky, kx) as three rolled loops, one tap per
        // step. Unrolling the window put every tap's loads in one block, V8
        // hoisted them and the accumulators spilled: the rolled loops made
        // the stem convs 19-26% faster (interleaved A/B, median of 20-30
        // inferences), unrolling only kx 12%.
        const step = () => {
          w.writeLine(
            `const ${qs.map((q) => `v${q} = x[${plus("xi", q * win.stride[1])}]`).join(", ")};`,
          );
          for (const j of js) {
            w.writeLine(
              `const u${j} = w[${plus("k", j)}]; ` +
                qs.map((q) => `a${j}_${q} += u${j} * v${q};`).join(" "),
            );
          }
        };
        const rowStep = win.dilation[0] * win.w;
        block(w, `for (let c = ${cinG}; c > 0; c--)`, () => {
          block(w, `for (let ky = ${kh}; ky > 0; ky--)`, () => {
            block(w, `for (let kx = ${kw}; kx > 0; kx--)`, () => {
              step();
              w.writeLine(`xi += ${win.dilation[1]};`);
              w.writeLine(`k += ${ob};`);
            });
            w.writeLine(`xi += ${rowStep - kw * win.dilation[1]};`);
          });
          w.writeLine(`xi += ${s.xcs - kh * rowStep};`);
        });
        for (const j of js) {
          for (const q of qs) {
            writeStore(
              w,
              s.epi,
              `a${j}_${q}`,
              plus(`yb + oy * ${win.ow} + ox`, j * s.ycs + q),
              plus(`rb + oy * ${win.ow} + ox`, j * s.rcs + q),
            );
          }
        }
      });
    block(w, `for (let oy = ${oy0}; oy < ${oy1}; oy++)`, () => {
      w.writeLine(`let ox = ${ox0};`);
      if (ox1 - ox0 >= CV_PB) interiorPixels(CV_PB, `for (; ox <= ${ox1 - CV_PB}; ox += ${CV_PB})`);
      interiorPixels(1, `for (; ox < ${ox1}; ox++)`);
    });
  }
  writeBorderLoop(w, win, () => {
    init();
    block(w, `for (let c = 0; c < ${cinG}; c++)`, () => {
      w.writeLine(`const xc = xg + c * ${s.xcs};`);
      w.writeLine(`const kc = wb + ${ob} + c * ${kk * ob};`);
      block(w, `for (let ky = 0; ky < ${kh}; ky++)`, () => {
        w.writeLine(
          `const iy = oy * ${win.stride[0]} - ${win.padding[0]} + ky * ${win.dilation[0]};`,
        );
        w.writeLine(`if (iy < 0 || iy >= ${win.h}) continue;`);
        block(w, `for (let kx = 0; kx < ${kw}; kx++)`, () => {
          w.writeLine(
            `const ix = ox * ${win.stride[1]} - ${win.padding[1]} + kx * ${win.dilation[1]};`,
          );
          w.writeLine(`if (ix < 0 || ix >= ${win.w}) continue;`);
          w.writeLine(`const v = x[xc + iy * ${win.w} + ix];`);
          w.writeLine(`const kt = kc + (ky * ${kw} + kx) * ${ob};`);
          w.writeLine(js.map((j) => `a${j} += w[${plus("kt", j)}] * v;`).join(" "));
        });
      });
    });
    stores(`oy * ${win.ow} + ox`);
  });
}

/** The general convolution emitter. */
export const convEmitter: Emitter<ConvSpec> = {
  describe: (s) =>
    `${s.win.kernel.join("x")} convolution ${s.cin} -> ${s.cout} channels${
      s.groups > 1 ? ` in ${s.groups} groups` : ""
    }, stride ${s.win.stride.join("x")}, on ${s.win.h}x${s.win.w}`,
  weighted: true,
  second: (s) => s.epi.residual,
  body(s, w) {
    const cinG = s.cin / s.groups;
    const coutG = s.cout / s.groups;
    const kk = s.win.kernel[0] * s.win.kernel[1];
    const full = coutG - (coutG % CV_OB);
    const inner = () => {
      if (full > 0) {
        block(w, `for (let o = 0; o < ${full}; o += ${CV_OB})`, () => writeBlock(w, s, CV_OB));
      }
      if (full < coutG) {
        block(w, "", () => {
          w.writeLine(`const o = ${full};`);
          writeBlock(w, s, coutG - full);
        });
      }
    };
    block(w, `for (let g = 0; g < ${s.groups}; g++)`, () => {
      w.writeLine(`const xg = xo + g * ${cinG * s.xcs};`);
      w.writeLine(`const yg = yo + g * ${s.ygs};`);
      w.writeLine(`const wg = wo + g * ${coutG * (1 + cinG * kk)};`);
      if (s.epi.residual) w.writeLine(`const rg = ro + g * ${coutG * s.rcs};`);
      inner();
    });
  },
};
