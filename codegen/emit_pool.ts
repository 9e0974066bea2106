/**
 * Pooling: max and average over a window (interior unrolled, border checked,
 * PyTorch's window clipping and divisor rules as in the reference executor),
 * and global average pooling (four partial sums per plane).
 *
 * The interior max is branch-free, `max(m, v) = (m + v + |m - v|) / 2`; the
 * border keeps `Math.max` since it runs on few outputs.
 *
 * @module
 */

import type { CodeBlockWriter } from "ts-morph";
import { block, type Emitter, plus } from "./_emit.ts";
import { interior, writeBorderLoop } from "./_window.ts";
import type { GavgpoolSpec, PoolSpec } from "./spec.ts";

function writeInterior(w: CodeBlockWriter, s: PoolSpec): void {
  const { win } = s;
  const [kh, kw] = win.kernel;
  const [oy0, oy1, ox0, ox1] = interior(win);
  if (oy0 >= oy1 || ox0 >= ox1) return;
  const taps: number[] = [];
  for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) taps.push(ky * win.w + kx);
  block(w, `for (let oy = ${oy0}; oy < ${oy1}; oy++)`, () => {
    w.writeLine(
      `let xi = xb + (oy * ${win.stride[0]} - ${win.padding[0]}) * ${win.w} + ${
        ox0 * win.stride[1] - win.padding[1]
      };`,
    );
    w.writeLine(`let yi = yb + oy * ${win.ow} + ${ox0};`);
    block(w, `for (let ox = ${ox0}; ox < ${ox1}; ox++)`, () => {
      if (s.family === "maxpool") {
        w.writeLine(`let m = x[${plus("xi", taps[0])}];`);
        for (const t of taps.slice(1)) {
          w.writeLine(`v = x[${plus("xi", t)}]; m = (m + v + Math.abs(m - v)) * 0.5;`);
        }
        w.writeLine("y[yi] = m;");
      } else {
        w.writeLine(`const sum = ${taps.map((t) => `x[${plus("xi", t)}]`).join(" + ")};`);
        w.writeLine(`y[yi] = sum / ${kh * kw};`);
      }
      w.writeLine(`xi += ${win.stride[1]};`);
      w.writeLine("yi++;");
    });
  });
}

function writeBorder(w: CodeBlockWriter, s: PoolSpec): void {
  const { win } = s;
  const [kh, kw] = win.kernel;
  const isMax = s.family === "maxpool";
  writeBorderLoop(w, win, () => {
    // The window is clipped to the padded input (only ceil mode reaches past it).
    w.writeLine(`const y0 = oy * ${win.stride[0]} - ${win.padding[0]};`);
    w.writeLine(`const x0 = ox * ${win.stride[1]} - ${win.padding[1]};`);
    w.writeLine(`const y1 = Math.min(y0 + ${kh}, ${win.h + win.padding[2]});`);
    w.writeLine(`const x1 = Math.min(x0 + ${kw}, ${win.w + win.padding[3]});`);
    w.writeLine(`let acc = ${isMax ? "-Infinity" : "0"};`);
    if (!isMax && !s.countIncludePad) w.writeLine("let covered = 0;");
    block(w, `for (let iy = Math.max(y0, 0); iy < Math.min(y1, ${win.h}); iy++)`, () => {
      block(w, `for (let ix = Math.max(x0, 0); ix < Math.min(x1, ${win.w}); ix++)`, () => {
        const v = `x[xb + iy * ${win.w} + ix]`;
        w.writeLine(isMax ? `acc = Math.max(acc, ${v});` : `acc += ${v};`);
        if (!isMax && !s.countIncludePad) w.writeLine("covered++;");
      });
    });
    const value = isMax
      ? "acc"
      : s.countIncludePad
      ? "acc / ((y1 - y0) * (x1 - x0))"
      : "acc / covered";
    w.writeLine(`y[yb + oy * ${win.ow} + ox] = ${value};`);
  });
}

/** The max/average pooling emitter. */
export const poolEmitter: Emitter<PoolSpec> = {
  describe: (s) =>
    `${s.family === "maxpool" ? "max" : "average"} pooling ${s.win.kernel.join("x")}, stride ${
      s.win.stride.join("x")
    }, on ${s.c} channels of ${s.win.h}x${s.win.w}`,
  weighted: false,
  second: () => false,
  body(s, w) {
    block(w, `for (let c = 0; c < ${s.c}; c++)`, () => {
      w.writeLine(`const xb = xo + c * ${s.xcs};`);
      w.writeLine(`const yb = yo + c * ${s.ycs};`);
      if (s.family === "maxpool") w.writeLine("let v = 0;");
      writeInterior(w, s);
      writeBorder(w, s);
    });
  },
};

/** The global average pooling emitter. */
export const gavgpoolEmitter: Emitter<GavgpoolSpec> = {
  describe: (s) => `global average pooling of ${s.c} channels of ${s.h}x${s.w}`,
  weighted: false,
  second: () => false,
  body(s, w) {
    const hw = s.h * s.w;
    const full = hw - (hw % 4);
    block(w, `for (let c = 0; c < ${s.c}; c++)`, () => {
      w.writeLine(`const xb = xo + c * ${s.xcs};`);
      w.writeLine("let s0 = 0, s1 = 0, s2 = 0, s3 = 0;");
      w.writeLine("let i = xb;");
      if (full > 0) {
        block(w, `for (const e = xb + ${full}; i < e; i += 4)`, () => {
          w.writeLine("s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3];");
        });
      }
      if (full < hw) {
        block(w, `for (const e = xb + ${hw}; i < e; i++)`, () => w.writeLine("s0 += x[i];"));
      }
      w.writeLine(`y[yo + c * ${s.ycs}] = (s0 + s1 + s2 + s3) / ${hw};`);
    });
  },
};
