/**
 * Depthwise convolution (one filter per channel): the window's weights sit
 * in locals, the window is fully unrolled over the interior (no bounds
 * checks, one index variable, literal tap offsets, 2-4 outputs per step
 * sharing the input columns their windows overlap on), and the border takes
 * a checked loop. Each window row is summed on its own so the adds do not
 * form one long dependency chain.
 *
 * Packed weights, per channel: `[bias, w(0,0), w(0,1), ..., w(kh-1,kw-1)]`.
 *
 * Measured in isolation on this machine class (median of 41, interleaved):
 * 4 outputs per step beat 2 by 8-10% at stride 1 (e.g. 2.93 vs 2.67 GFLOP/s
 * on 144 channels of 56x56) and lose by 5-7% at stride 2; specializing the
 * border rows, columns and corners instead of one checked loop took 3x3 and
 * 5x5 layers from 2.3-4.2 to 3.9-5.3 GFLOP/s (most on small planes, where
 * the border is a quarter of the outputs).
 *
 * @module
 */

import type { CodeBlockWriter } from "ts-morph";
import { block, type Emitter, plus, writeStore } from "./_emit.ts";
import { interior, validTaps, writeBorderLoop } from "./_window.ts";
import type { DwconvSpec } from "./spec.ts";

/**
 * Neighbouring outputs per step of the interior loop, by horizontal stride:
 * at stride 1, 4 outputs of a 3-wide window load 6 columns per row instead of
 * 12; at stride 2 the overlap is smaller and 2 measured faster (bench notes in
 * the module doc).
 */
export function dwOutputsPerStep(strideW: number): number {
  return strideW === 1 ? 4 : 2;
}

/** Packs a `[c, 1, kh, kw]` weight and its bias per channel (see the module doc). */
export function packDwconv(s: DwconvSpec, weight: Float32Array, bias?: Float32Array): Float32Array {
  const kk = s.win.kernel[0] * s.win.kernel[1];
  const out = new Float32Array(s.c * (1 + kk));
  for (let c = 0; c < s.c; c++) {
    out[c * (1 + kk)] = bias ? bias[c] : 0;
    out.set(weight.subarray(c * kk, (c + 1) * kk), c * (1 + kk) + 1);
  }
  return out;
}

function writeInterior(w: CodeBlockWriter, s: DwconvSpec): void {
  const { win } = s;
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh, dw] = win.dilation;
  const [oy0, oy1, ox0, ox1] = interior(win);
  if (oy0 >= oy1 || ox0 >= ox1) return;
  block(w, `for (let oy = ${oy0}; oy < ${oy1}; oy++)`, () => {
    w.writeLine(
      `let xi = xb + (oy * ${sh} - ${win.padding[0]}) * ${win.w} + ${ox0 * sw - win.padding[1]};`,
    );
    w.writeLine(`let yi = yb + oy * ${win.ow} + ${ox0};`);
    if (s.epi.residual) w.writeLine(`let ri = rb + oy * ${win.ow} + ${ox0};`);
    // DW_PB neighbouring outputs share the input columns their windows overlap on.
    w.writeLine(`let ox = ${ox0};`);
    const outputs = (pb: number, head: string) =>
      block(w, head, () => {
        const qs = Array.from({ length: pb }, (_, q) => q);
        const sums: string[][] = qs.map(() => []);
        for (let ky = 0; ky < kh; ky++) {
          const cols = new Set<number>();
          for (const q of qs) for (let kx = 0; kx < kw; kx++) cols.add(q * sw + kx * dw);
          const sorted = [...cols].sort((a, b) => a - b);
          w.writeLine(
            `const ${
              sorted.map((c) => `r${ky}_${c} = x[${plus("xi", ky * dh * win.w + c)}]`).join(", ")
            };`,
          );
          for (const q of qs) {
            const taps = Array.from(
              { length: kw },
              (_, kx) => `w${ky}_${kx} * r${ky}_${q * sw + kx * dw}`,
            );
            w.writeLine(`const s${ky}_${q} = ${taps.join(" + ")};`);
            sums[q].push(`s${ky}_${q}`);
          }
        }
        for (const q of qs) w.writeLine(`let a${q} = b + ${sums[q].join(" + ")};`);
        for (const q of qs) writeStore(w, s.epi, `a${q}`, plus("yi", q), plus("ri", q));
        w.writeLine(`xi += ${pb * sw};`);
        w.writeLine(pb === 1 ? "yi++;" : `yi += ${pb};`);
        if (s.epi.residual) w.writeLine(pb === 1 ? "ri++;" : `ri += ${pb};`);
      });
    const pb = dwOutputsPerStep(sw);
    if (ox1 - ox0 >= pb) outputs(pb, `for (; ox <= ${ox1 - pb}; ox += ${pb})`);
    outputs(1, `for (; ox < ${ox1}; ox++)`);
  });
}

/** Most border pixels written as straight-line code; beyond this the checked loop is smaller. */
const MAX_CORNERS = 64;

/**
 * The border, specialized: each border row runs over the interior columns
 * with only its in-range window rows (literal), each border column over the
 * interior rows with only its in-range window columns; the corners (border
 * row x border column) are straight-line code with only their in-range taps.
 * Without an interior (tiny inputs) one checked loop covers every output.
 */
function writeBorder(w: CodeBlockWriter, s: DwconvSpec): void {
  const { win } = s;
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh, dw] = win.dilation;
  const [oy0, oy1, ox0, ox1] = interior(win);
  const rows = Array.from({ length: win.oh }, (_, r) => r).filter((r) => r < oy0 || r >= oy1);
  const cols = Array.from({ length: win.ow }, (_, c) => c).filter((c) => c < ox0 || c >= ox1);
  if (oy0 < oy1 && ox0 < ox1 && rows.length * cols.length <= MAX_CORNERS) {
    const sum = (kys: number[], kxs: number[], base: string) => {
      const taps = kys.flatMap((ky) =>
        kxs.map((kx) => `w${ky}_${kx} * x[${plus(base, ky * dh * win.w + kx * dw)}]`)
      );
      return taps.length ? `b + ${taps.join(" + ")}` : "b";
    };
    const allX = Array.from({ length: kw }, (_, k) => k);
    const allY = Array.from({ length: kh }, (_, k) => k);
    for (const r of rows) {
      const kys = validTaps(r, kh, sh, win.padding[0], dh, win.h);
      block(w, "", () => {
        w.writeLine(
          `let xi = xb + ${(r * sh - win.padding[0]) * win.w + ox0 * sw - win.padding[1]};`,
        );
        block(w, `for (let ox = ${ox0}; ox < ${ox1}; ox++)`, () => {
          w.writeLine(`let a = ${sum(kys, allX, "xi")};`);
          writeStore(w, s.epi, "a", `yb + ${r * win.ow} + ox`, `rb + ${r * win.ow} + ox`);
          w.writeLine(`xi += ${sw};`);
        });
      });
    }
    for (const c of cols) {
      const kxs = validTaps(c, kw, sw, win.padding[1], dw, win.w);
      block(w, `for (let oy = ${oy0}; oy < ${oy1}; oy++)`, () => {
        w.writeLine(
          `const xi = xb + (oy * ${sh} - ${win.padding[0]}) * ${win.w} + ${
            c * sw - win.padding[1]
          };`,
        );
        w.writeLine(`let a = ${sum(allY, kxs, "xi")};`);
        writeStore(w, s.epi, "a", `yb + oy * ${win.ow} + ${c}`, `rb + oy * ${win.ow} + ${c}`);
      });
    }
    for (const r of rows) {
      for (const c of cols) {
        const kys = validTaps(r, kh, sh, win.padding[0], dh, win.h);
        const kxs = validTaps(c, kw, sw, win.padding[1], dw, win.w);
        const at = (r * sh - win.padding[0]) * win.w + c * sw - win.padding[1];
        block(w, "", () => {
          w.writeLine(`let a = ${sum(kys, kxs, `xb + ${at}`)};`);
          writeStore(w, s.epi, "a", `yb + ${r * win.ow + c}`, `rb + ${r * win.ow + c}`);
        });
      }
    }
    return;
  }
  writeBorderLoop(w, win, () => {
    w.writeLine("let a = b;");
    block(w, `for (let ky = 0; ky < ${kh}; ky++)`, () => {
      w.writeLine(`const iy = oy * ${sh} - ${win.padding[0]} + ky * ${dh};`);
      w.writeLine(`if (iy < 0 || iy >= ${win.h}) continue;`);
      block(w, `for (let kx = 0; kx < ${kw}; kx++)`, () => {
        w.writeLine(`const ix = ox * ${sw} - ${win.padding[1]} + kx * ${dw};`);
        w.writeLine(`if (ix < 0 || ix >= ${win.w}) continue;`);
        w.writeLine(`a += w[wb + 1 + ky * ${kw} + kx] * x[xb + iy * ${win.w} + ix];`);
      });
    });
    writeStore(w, s.epi, "a", `yb + oy * ${win.ow} + ox`, `rb + oy * ${win.ow} + ox`);
  });
}

/** The depthwise emitter. */
export const dwconvEmitter: Emitter<DwconvSpec> = {
  describe: (s) =>
    `depthwise ${s.win.kernel.join("x")} convolution, stride ${
      s.win.stride.join("x")
    }, on ${s.c} channels of ${s.win.h}x${s.win.w}: window unrolled, border split from the interior`,
  weighted: true,
  second: (s) => s.epi.residual,
  body(s, w) {
    const [kh, kw] = s.win.kernel;
    const kk = kh * kw;
    block(w, `for (let c = 0; c < ${s.c}; c++)`, () => {
      w.writeLine(`const xb = xo + c * ${s.xcs};`);
      w.writeLine(`const yb = yo + c * ${s.ycs};`);
      if (s.epi.residual) w.writeLine(`const rb = ro + c * ${s.rcs};`);
      w.writeLine(`const wb = wo + c * ${1 + kk};`);
      const names = ["b = w[wb]"];
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) names.push(`w${ky}_${kx} = w[wb + ${1 + ky * kw + kx}]`);
      }
      w.writeLine(`const ${names.join(", ")};`);
      writeInterior(w, s);
      writeBorder(w, s);
    });
  },
};
