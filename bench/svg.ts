/**
 * A small, dependency-free SVG scatter chart (linear x, linear or log10 y),
 * enough for "latency against MAdds / MAC" with one series per runtime.
 *
 * @module
 */

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

/** A colour per runtime, fixed so every chart reads the same. */
export const RUNTIME_COLORS: Record<string, string> = {
  generated: "#d62728",
  "generated-wasm": "#8c564b",
  reference: "#7f7f7f",
  "tfjs-cpu": "#ff7f0e",
  "tfjs-wasm": "#2ca02c",
  "ort-node": "#1f77b4",
  "ort-web": "#9467bd",
};

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

function fmt(v: number): string {
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
 * import { scatterChart } from "./svg.ts";
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
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${esc(spec.title)}</text>`,
  );
  // Axes and grid.
  const xt = niceTicks(x0, x1);
  for (const t of xt) {
    const x = sx(t).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#eee"/>`,
      `<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  const yt = spec.logY ? Array.from({ length: y1 - y0 + 1 }, (_, i) => y0 + i) : niceTicks(y0, y1);
  for (const t of yt) {
    const y = sy(t).toFixed(1);
    out.push(
      `<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${
        fmt(spec.logY ? 10 ** t : t)
      }</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">${
      esc(spec.xLabel)
    }</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${
      esc(spec.yLabel + (spec.logY ? " (log scale)" : ""))
    }</text>`,
  );
  // Series.
  spec.series.forEach((s, si) => {
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
          esc(`${s.name}${p.label ? ` ${p.label}` : ""}: x=${fmt(p.x)}, y=${fmt(p.y)}`)
        }</title></circle>`,
      );
      if (p.label) {
        out.push(
          `<text x="${Number(cx) + 6}" y="${
            Number(cy) - 5
          }" font-size="10" fill="#444" stroke="#fff" stroke-width="3" paint-order="stroke">${
            esc(p.label)
          }</text>`,
        );
      }
    }
    const ly = m.top + 10 + si * 18;
    out.push(
      `<rect x="${m.left + pw + 13}" y="${ly - 5}" width="10" height="10" fill="${s.color}"/>`,
      `<text x="${m.left + pw + 28}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
