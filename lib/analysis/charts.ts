/**
 * Charts as standalone SVG text, written by hand (no dependency): a scatter
 * of models (MAdds against parameters, log scales, point area and colour by
 * MAC, every point labelled) and a per-layer bar chart of one model's share
 * of MAdds against its share of MAC (`compare --svg`); and series charts,
 * linear x and linear or log y, one coloured series per runtime
 * (BENCHMARKS.md). The one SVG module: every text goes through
 * lib/_text.ts's `escapeXml`.
 *
 * @module
 */

import { escapeXml } from "../_text.ts";
import { formatCount } from "./format.ts";

/** One point of {@link scatterSvg}. */
export interface ScatterPoint {
  label: string;
  params: number;
  madds: number;
  mac: number;
}

/** One layer of {@link layerSharesSvg}. */
export interface LayerShare {
  name: string;
  madds: number;
  mac: number;
}

/** Text for SVG (one escaper for every chart): see lib/_text.ts. */
export { escapeXml };

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Axis labels: the report's count format (`1.20K`, `3.40M`), trailing zeros dropped. */
function si(n: number): string {
  return formatCount(n).replace(/\.0+(?=[A-Z]|$)|(\.\d*?)0+(?=[A-Z]|$)/, "$1");
}

// Viridis at 5 stops: perceptually even and readable in grey.
const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i].map((v, k) => Math.round(v + (VIRIDIS[i + 1][k] - v) * f));
  return `rgb(${c.join(",")})`;
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Options of {@link scatterSvg}. */
export interface ScatterOptions {
  title?: string;
  width?: number;
  height?: number;
}

/**
 * The scatter chart as an `<svg>` element (no XML prolog, so it can be nested).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scatterSvg } from "./charts.ts";
 * const svg = scatterSvg([
 *   { label: "a<b", params: 1e6, madds: 3e8, mac: 2e7 },
 *   { label: "c", params: 4e6, madds: 6e8, mac: 5e7 },
 * ]);
 * assert.ok(svg.startsWith("<svg") && svg.includes("a&lt;b"));
 * ```
 */
export function scatterSvg(points: ScatterPoint[], options: ScatterOptions = {}): string {
  if (points.length === 0) throw new RangeError("Cannot draw a scatter of no models");
  const W = options.width ?? 1100;
  const H = options.height ?? 760;
  const m = { left: 80, right: 150, top: 50, bottom: 60 };
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const range = (xs: number[]) => {
    const pos = xs.filter((x) => x > 0);
    let lo = Math.min(...pos), hi = Math.max(...pos);
    if (lo === hi) [lo, hi] = [lo / 2, hi * 2];
    return [lo / 1.3, hi * 1.3];
  };
  const [x0, x1] = range(points.map((p) => p.params));
  const [y0, y1] = range(points.map((p) => p.madds));
  const [c0, c1] = range(points.map((p) => p.mac));
  const sx = (v: number) => m.left + (Math.log(v / x0) / Math.log(x1 / x0)) * pw;
  const sy = (v: number) => m.top + ph - (Math.log(v / y0) / Math.log(y1 / y0)) * ph;
  const tc = (v: number) => Math.log(v / c0) / Math.log(c1 / c0);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="28" font-size="18" text-anchor="middle">${
      escapeXml(options.title ?? "MAdds against parameters; colour and area by MAC")
    }</text>`,
  );
  // Grid and axes.
  for (const t of logTicks(x0, x1)) {
    const x = fmt(sx(t));
    out.push(
      `<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#e4e4e4"/>`,
      `<text x="${x}" y="${m.top + ph + 18}" font-size="11" text-anchor="middle">${si(t)}</text>`,
    );
  }
  for (const t of logTicks(y0, y1)) {
    const y = fmt(sy(t));
    out.push(
      `<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text x="${
        m.left - 6
      }" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${si(t)}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`,
    `<text x="${m.left + pw / 2}" y="${
      H - 15
    }" font-size="13" text-anchor="middle">parameters (log scale)</text>`,
    `<text x="18" y="${
      m.top + ph / 2
    }" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${
      m.top + ph / 2
    })">MAdds (log scale)</text>`,
  );
  // Points, largest first so small ones stay visible; then labels placed greedily.
  const placed: Box[] = [];
  const sorted = [...points].sort((a, b) => b.mac - a.mac);
  const dots = sorted.map((p) => {
    const t = tc(p.mac);
    return { p, x: sx(p.params), y: sy(p.madds), r: 3 + 9 * t, colour: viridis(t) };
  });
  for (const d of dots) {
    out.push(
      `<circle cx="${fmt(d.x)}" cy="${fmt(d.y)}" r="${
        fmt(d.r)
      }" fill="${d.colour}" fill-opacity="0.8" stroke="#222" stroke-width="0.6"/>`,
    );
    placed.push({ x: d.x - d.r, y: d.y - d.r, w: 2 * d.r, h: 2 * d.r });
  }
  const fontSize = points.length > 40 ? 8 : 11;
  for (const d of [...dots].sort((a, b) => a.x - b.x)) {
    const w = d.p.label.length * fontSize * 0.55, h = fontSize;
    const candidates: [number, number, string][] = [
      [d.x + d.r + 2, d.y + h / 3, "start"],
      [d.x - d.r - 2, d.y + h / 3, "end"],
      [d.x, d.y - d.r - 3, "middle"],
      [d.x, d.y + d.r + h, "middle"],
      [d.x + d.r, d.y - d.r - 2, "start"],
      [d.x - d.r, d.y - d.r - 2, "end"],
      [d.x + d.r, d.y + d.r + h - 2, "start"],
      [d.x - d.r, d.y + d.r + h - 2, "end"],
    ];
    let best = candidates[0], bestCost = Infinity, bestBox: Box | undefined;
    for (const c of candidates) {
      const bx = c[2] === "start" ? c[0] : c[2] === "end" ? c[0] - w : c[0] - w / 2;
      const box = { x: bx, y: c[1] - h, w, h };
      let cost = placed.reduce((a, b) => a + overlap(box, b), 0);
      if (box.x < m.left || box.x + w > m.left + pw || box.y < m.top || box.y + h > m.top + ph) {
        cost += 1e6;
      }
      if (cost < bestCost) [best, bestCost, bestBox] = [c, cost, box];
    }
    placed.push(bestBox!);
    out.push(
      `<text x="${fmt(best[0])}" y="${fmt(best[1])}" font-size="${fontSize}" text-anchor="${
        best[2]
      }" fill="#111">${escapeXml(d.p.label)}</text>`,
    );
  }
  // Colour bar for MAC.
  const bx = W - m.right + 40, by = m.top + 20, bh = ph - 40;
  out.push(
    `<text x="${bx}" y="${by - 8}" font-size="12">MAC (elements)</text>`,
    `<defs><linearGradient id="mac" x1="0" y1="1" x2="0" y2="0">${
      VIRIDIS.map((_, i) =>
        `<stop offset="${i / (VIRIDIS.length - 1)}" stop-color="${
          viridis(i / (VIRIDIS.length - 1))
        }"/>`
      ).join("")
    }</linearGradient></defs>`,
    `<rect x="${bx}" y="${by}" width="16" height="${bh}" fill="url(#mac)" stroke="#444"/>`,
  );
  for (const t of logTicks(c0, c1)) {
    const y = by + bh - tc(t) * bh;
    out.push(`<text x="${bx + 22}" y="${fmt(y + 4)}" font-size="10">${si(t)}</text>`);
  }
  out.push("</svg>");
  return out.join("\n");
}

/** Options of {@link layerSharesSvg}. */
export interface LayerSharesOptions {
  title?: string;
  height?: number;
}

/**
 * One model's per-layer bar chart: for each layer, its share of the model's
 * MAdds beside its share of MAC, as an `<svg>` element.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layerSharesSvg } from "./charts.ts";
 * const svg = layerSharesSvg([{ name: "conv", madds: 9, mac: 1 }, { name: "relu", madds: 0, mac: 3 }]);
 * assert.ok(svg.includes(">relu<") && svg.includes("MAC share"));
 * ```
 */
export function layerSharesSvg(layers: LayerShare[], options: LayerSharesOptions = {}): string {
  if (layers.length === 0) throw new RangeError("Cannot draw a bar chart of no layers");
  const H = options.height ?? 520;
  const slot = 14;
  const m = { left: 70, right: 30, top: 60, bottom: 200 };
  const W = Math.max(900, m.left + m.right + slot * layers.length);
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const totalMadds = layers.reduce((a, l) => a + l.madds, 0) || 1;
  const totalMac = layers.reduce((a, l) => a + l.mac, 0) || 1;
  const shares = layers.map((l) => ({ ...l, sm: l.madds / totalMadds, sc: l.mac / totalMac }));
  const top = Math.max(...shares.map((s) => Math.max(s.sm, s.sc)));
  const niceTop = Math.ceil(top * 100 / 2) * 2 / 100 || 0.02;
  const sy = (v: number) => m.top + ph - (v / niceTop) * ph;
  const step = pw / layers.length;
  const bw = Math.max(1, Math.min(6, step / 2 - 1));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.left}" y="26" font-size="18">${
      escapeXml(options.title ?? "Share of MAdds against share of MAC per layer")
    }</text>`,
    `<rect x="${m.left}" y="36" width="12" height="10" fill="#3b528b"/>`,
    `<text x="${m.left + 16}" y="45" font-size="12">MAdds share</text>`,
    `<rect x="${m.left + 110}" y="36" width="12" height="10" fill="#e6a100"/>`,
    `<text x="${m.left + 126}" y="45" font-size="12">MAC share</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (niceTop * i) / 4;
    const y = fmt(sy(v));
    out.push(
      `<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text x="${
        m.left - 6
      }" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${
        (v * 100).toFixed(1)
      }%</text>`,
    );
  }
  const labelSize = Math.min(10, Math.max(6, step - 2));
  shares.forEach((s, i) => {
    const cx = m.left + step * (i + 0.5);
    out.push(
      `<rect x="${fmt(cx - bw)}" y="${fmt(sy(s.sm))}" width="${fmt(bw)}" height="${
        fmt(m.top + ph - sy(s.sm))
      }" fill="#3b528b"><title>${
        escapeXml(`${s.name}: ${(s.sm * 100).toFixed(2)}% of MAdds`)
      }</title></rect>`,
      `<rect x="${fmt(cx)}" y="${fmt(sy(s.sc))}" width="${fmt(bw)}" height="${
        fmt(m.top + ph - sy(s.sc))
      }" fill="#e6a100"><title>${
        escapeXml(`${s.name}: ${(s.sc * 100).toFixed(2)}% of MAC`)
      }</title></rect>`,
      `<text x="${fmt(cx + 3)}" y="${m.top + ph + 6}" font-size="${
        fmt(labelSize)
      }" text-anchor="end" transform="rotate(-60 ${fmt(cx + 3)} ${m.top + ph + 6})">${
        escapeXml(s.name)
      }</text>`,
    );
  });
  out.push(
    `<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${
      m.top + ph
    }" stroke="#444"/>`,
    "</svg>",
  );
  return out.join("\n");
}

/**
 * Stacks `<svg>` charts vertically into one standalone SVG document (with the
 * XML prolog), widening to the widest chart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stackSvg } from "./charts.ts";
 * const doc = stackSvg(['<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20"></svg>']);
 * assert.match(doc, /^<\?xml version="1.0"/);
 * assert.match(doc, /width="10" height="20"/);
 * ```
 */
export function stackSvg(charts: string[]): string {
  let y = 0, width = 0;
  const parts: string[] = [];
  for (const c of charts) {
    const w = Number(/width="([\d.]+)"/.exec(c)?.[1] ?? 0);
    const h = Number(/height="([\d.]+)"/.exec(c)?.[1] ?? 0);
    parts.push(c.replace("<svg ", `<svg x="0" y="${y}" `));
    y += h;
    width = Math.max(width, w);
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------
// Series charts (BENCHMARKS.md: latency against MAdds and MAC, one series per
// runtime): linear x, linear or log10 y.

/** One point; `label` is printed beside it. */
export interface Point {
  x: number;
  y: number;
  label?: string;
}

/** One coloured series of points, optionally joined by a line in x order. */
export interface Series {
  name: string;
  color: string;
  points: Point[];
  line?: boolean;
}

/** What to draw. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  series: Series[];
  width?: number;
  height?: number;
}

function tickText(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return String(Number(v.toFixed(1)));
  return String(Number(v.toPrecision(2)));
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/**
 * Renders a scatter chart as a standalone SVG document (deterministic: the
 * same spec gives the same bytes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scatterChart } from "./charts.ts";
 * const svg = scatterChart({
 *   title: "t", xLabel: "MAdds (M)", yLabel: "ms", logY: true,
 *   series: [{ name: "a<b", color: "#000", points: [{ x: 1, y: 10 }, { x: 2, y: 100 }] }],
 * });
 * assert.match(svg, /^<svg /);
 * assert.equal((svg.match(/<circle /g) ?? []).length, 2); // one per point
 * assert.match(svg, /a&lt;b/); // names are escaped
 * ```
 */
export function scatterChart(spec: ChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 440;
  const m = { left: 70, right: 170, top: 40, bottom: 55 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const pts = spec.series.flatMap((s) => s.points).filter((p) =>
    Number.isFinite(p.x) && Number.isFinite(p.y) && (!spec.logY || p.y > 0)
  );
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => (spec.logY ? Math.log10(p.y) : p.y));
  let x0 = Math.min(0, ...xs);
  let x1 = Math.max(...xs, 1e-9);
  let y0 = spec.logY ? Math.floor(Math.min(...ys, 0)) : Math.min(0, ...ys);
  let y1 = spec.logY ? Math.ceil(Math.max(...ys, y0 + 1)) : Math.max(...ys, 1e-9);
  if (pts.length === 0) [x0, x1, y0, y1] = [0, 1, 0, 1];
  x1 += (x1 - x0) * 0.05;
  if (!spec.logY) y1 += (y1 - y0) * 0.05;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${
      escapeXml(spec.title)
    }</text>`,
  );
  // Axes and grid.
  const xt = niceTicks(x0, x1);
  for (const t of xt) {
    const x = sx(t).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#eee"/>`,
      `<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${tickText(t)}</text>`,
    );
  }
  const yt = spec.logY ? Array.from({ length: y1 - y0 + 1 }, (_, i) => y0 + i) : niceTicks(y0, y1);
  for (const t of yt) {
    const y = sy(t).toFixed(1);
    out.push(
      `<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${
        tickText(spec.logY ? 10 ** t : t)
      }</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">${
      escapeXml(spec.xLabel)
    }</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${
      escapeXml(spec.yLabel + (spec.logY ? " (log scale)" : ""))
    }</text>`,
  );
  // Series.
  spec.series.forEach((s, index) => {
    const ok = s.points.filter((p) =>
      Number.isFinite(p.x) && Number.isFinite(p.y) && (!spec.logY || p.y > 0)
    );
    const py = (p: Point) => sy(spec.logY ? Math.log10(p.y) : p.y);
    if (s.line && ok.length > 1) {
      const path = [...ok].sort((a, b) => a.x - b.x)
        .map((p) => `${sx(p.x).toFixed(1)},${py(p).toFixed(1)}`).join(" ");
      out.push(
        `<polyline points="${path}" fill="none" stroke="${s.color}" stroke-opacity="0.5"/>`,
      );
    }
    for (const p of ok) {
      const cx = sx(p.x).toFixed(1);
      const cy = py(p).toFixed(1);
      out.push(
        `<circle cx="${cx}" cy="${cy}" r="4" fill="${s.color}"><title>${
          escapeXml(
            `${s.name}${p.label ? ` ${p.label}` : ""}: x=${tickText(p.x)}, y=${tickText(p.y)}`,
          )
        }</title></circle>`,
      );
      if (p.label) {
        out.push(
          `<text x="${Number(cx) + 6}" y="${
            Number(cy) - 5
          }" font-size="10" fill="#444" stroke="#fff" stroke-width="3" paint-order="stroke">${
            escapeXml(p.label)
          }</text>`,
        );
      }
    }
    const ly = m.top + 10 + index * 18;
    out.push(
      `<rect x="${m.left + pw + 13}" y="${ly - 5}" width="10" height="10" fill="${s.color}"/>`,
      `<text x="${m.left + pw + 28}" y="${ly}" dominant-baseline="middle">${
        escapeXml(s.name)
      }</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
