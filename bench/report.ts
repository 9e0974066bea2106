/**
 * Writes BENCHMARKS.md and its SVG charts from one run's results: machine,
 * versions, the command, the targets met or missed, latency tables, where the
 * time goes, and the ShuffleNet V2 guideline networks.
 *
 * @module
 */

import { writeFileAtomic } from "../lib/_io.ts";
import { renderTable } from "../lib/_table.ts";
import type { BenchResults, LayerProfile, ModelResult } from "./results.ts";
import { RUNTIMES } from "./peers/factories.ts";
import { linearFit, spearman } from "./stats.ts";
import { scatterChart, type Series } from "../lib/analysis/charts.ts";
import { realSection } from "./real_report.ts";

/** What each runtime column means. */
export const RUNTIME_DESCRIPTIONS: Record<string, string> = {
  generated: "our generated module (codegen/, specialized TypeScript kernels)",
  "generated-wasm": "our generated module with `--target wasm` (codegen/wasm/, WebAssembly SIMD " +
    "kernels, relaxed FMA where the engine has it), one thread; both generated modules are " +
    "imported as their `--emit js` JavaScript",
  "generated-wasm-2t": "the same `--target wasm` module generated with `--threads 2` (shared " +
    "memory, one worker; 1x1 layers split by output rows, other layers by channels)",
  reference: "our reference executor (lib/runtime/reference.ts, plain loops)",
  "tfjs-cpu": "@tensorflow/tfjs-core + tfjs-backend-cpu (pure JS), network built from tfjs ops " +
    "(BatchNorm folded, bias and ReLU/ReLU6 fused into tf.fused.conv2d / depthwiseConv2d, grouped " +
    "conv as one conv per group, NHWC), production mode",
  "tfjs-wasm": "@tensorflow/tfjs-backend-wasm, SIMD on, 1 thread, the same tfjs network",
  "ort-node":
    "onnxruntime-node (native), 1 intra-op thread, sequential, all graph optimizations, " +
    "on our exported ONNX",
  "ort-web": "onnxruntime-web WASM backend, SIMD, 1 thread, all graph optimizations, on our " +
    "exported ONNX",
};

/** A colour per runtime, fixed so every chart reads the same. */
export const RUNTIME_COLORS: Record<string, string> = {
  generated: "#d62728",
  "generated-wasm": "#8c564b",
  "generated-wasm-2t": "#e377c2",
  reference: "#7f7f7f",
  "tfjs-cpu": "#ff7f0e",
  "tfjs-wasm": "#2ca02c",
  "ort-node": "#1f77b4",
  "ort-web": "#9467bd",
};

/** Chart files written beside the report, relative to the repository root. */
export const CHART_FILES = {
  latencyVsMadds: "bench/latency_vs_madds.svg",
  latencyVsMac: "bench/latency_vs_mac.svg",
  layersVsMadds: "bench/layers_time_vs_madds.svg",
  layersVsMac: "bench/layers_time_vs_mac.svg",
} as const;

function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "-";
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function num(v: number | undefined, digits = 2): string {
  return v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);
}

/** A ratio to the generated module: two significant digits below 1 (`0.043`), else one decimal. */
function ratio(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "-";
  return v < 1 ? String(Number(v.toPrecision(2))) : v.toFixed(1);
}

function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

function mega(v: number): string {
  return (v / 1e6).toFixed(1);
}

/** A Markdown table; by default the first column aligns left and the others right. */
function table(head: string[], rows: string[][], align?: string[]): string {
  const right = align
    ? align.flatMap((a, i) => (a.endsWith(":") ? [i] : []))
    : head.map((_, i) => i).filter((i) => i > 0);
  return renderTable(head, rows, "md", right);
}

function runtimeOf(m: ModelResult, name: string) {
  return m.runtimes.find((r) => r.runtime === name);
}

function runtimesPresent(results: BenchResults): string[] {
  const seen = new Set(results.models.flatMap((m) => m.runtimes.map((r) => r.runtime)));
  return RUNTIMES.filter((r) => seen.has(r));
}

/** The latency-vs-cost charts (one series per runtime, log-scale time). */
export function latencyCharts(results: BenchResults): { madds: string; mac: string } {
  const series = (x: (m: ModelResult) => number): Series[] =>
    runtimesPresent(results).map((rt) => ({
      name: rt,
      color: RUNTIME_COLORS[rt] ?? "#000",
      points: results.models.flatMap((m) => {
        const r = runtimeOf(m, rt);
        return r?.timing
          ? [{ x: x(m), y: r.timing.medianMs, label: rt === "generated" ? m.label : undefined }]
          : [];
      }),
    }));
  return {
    madds: scatterChart({
      title: "Batch-1 latency against multiply-adds (median, 1 thread)",
      xLabel: "MAdds (millions)",
      yLabel: "median latency (ms)",
      logY: true,
      series: series((m) => m.madds / 1e6),
    }),
    mac: scatterChart({
      title: "Batch-1 latency against memory access cost (median, 1 thread)",
      xLabel: "MAC (million float32 elements)",
      yLabel: "median latency (ms)",
      logY: true,
      series: series((m) => m.mac / 1e6),
    }),
  };
}

const PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"];

/** Per-layer time against per-layer MAdds and MAC, one series per model. */
export function layerCharts(layers: LayerProfile[]): { madds: string; mac: string } {
  const series = (x: (l: LayerProfile["layers"][number]) => number): Series[] =>
    layers.map((p, i) => ({
      name: p.label,
      color: PALETTE[i % PALETTE.length],
      points: p.layers.map((l) => ({ x: x(l), y: l.ms })),
    }));
  return {
    madds: scatterChart({
      title: "Generated module: time of each layer against its MAdds",
      xLabel: "layer MAdds (millions)",
      yLabel: "layer time (ms)",
      series: series((l) => l.madds / 1e6),
    }),
    mac: scatterChart({
      title: "Generated module: time of each layer against its MAC",
      xLabel: "layer MAC (million elements)",
      yLabel: "layer time (ms)",
      series: series((l) => l.mac / 1e6),
    }),
  };
}

/** GFLOP/s a network of `madds` needs to run 9x faster than `peerMs`. */
function gflops9(madds: number, peerMs: number): number {
  return (2 * madds) / ((peerMs / 9) * 1e6);
}

/**
 * Issue 10's one-thread targets for the WebAssembly target: ShuffleNetV2 1.0
 * at most 0.6x tfjs-wasm's time, MobileNetV2 1.0 at most 0.8x, and faster than
 * onnxruntime-web on every network run.
 */
function wasmTargetsSection(results: BenchResults): string[] {
  const rows: string[][] = [];
  // A peak is the best sample (results written before this rule kept the median).
  const peak = results.simdPeak ? Math.max(...results.simdPeak.samples) : undefined;
  for (const m of results.models) {
    const w = runtimeOf(m, "generated-wasm")?.timing;
    if (!w) continue;
    const limit = m.model === "shufflenetv2" ? 0.6 : m.model === "mobilenetv2" ? 0.8 : undefined;
    const tw = runtimeOf(m, "tfjs-wasm")?.timing;
    if (limit !== undefined && tw) {
      const r = w.medianMs / tw.medianMs;
      rows.push([
        m.label,
        `<= ${limit}x tfjs-wasm's time`,
        `${r.toFixed(2)}x (${ms(w.medianMs)} ms / ${ms(tw.medianMs)} ms)`,
        r <= limit ? "met" : `missed: ${(r / limit).toFixed(2)}x the target time`,
      ]);
    }
    const wr = runtimeOf(m, "generated-wasm");
    if (peak && wr?.gflopsMedian) {
      rows.push([
        m.label,
        "fraction of the SIMD peak (whole network, informational)",
        `${pct(wr.gflopsMedian / peak)} (${num(wr.gflopsMedian)} of ${num(peak)} GFLOP/s)`,
        "-",
      ]);
    }
    const prof = results.layers.find((l) => l.model === m.model && l.label.endsWith("(wasm)"));
    if (peak && prof) {
      const pw = prof.layers.filter((l) => l.kind.startsWith("pwconv"));
      const ms = pw.reduce((a, l) => a + l.ms, 0);
      const g = (2 * pw.reduce((a, l) => a + l.madds, 0)) / (ms * 1e6);
      rows.push([
        m.label,
        ">= 60% of the SIMD peak in pointwise layers",
        `${pct(g / peak)} (${num(g)} of ${num(peak)} GFLOP/s, ${pw.length} layers timed in place)`,
        g / peak >= 0.6 ? "met" : `missed: ${pct(g / peak)} of the 60% needed`,
      ]);
    }
    const on = runtimeOf(m, "ort-node")?.firstResultMs;
    if (wr?.firstResultMs !== undefined && on !== undefined) {
      const r = wr.firstResultMs / on;
      rows.push([
        m.label,
        "first result within 2x of onnxruntime-node's",
        `${r.toFixed(1)}x (${ms(wr.firstResultMs)} ms / ${ms(on)} ms)`,
        r <= 2 ? "met" : "missed",
      ]);
    }
    const ow = runtimeOf(m, "ort-web")?.timing;
    if (ow) {
      const r = w.medianMs / ow.medianMs;
      rows.push([
        m.label,
        "faster than onnxruntime-web",
        `${r.toFixed(2)}x (${ms(w.medianMs)} ms / ${ms(ow.medianMs)} ms)`,
        r < 1 ? "met" : "missed",
      ]);
    }
  }
  if (rows.length === 0) return [];
  return [
    "## Targets of the WebAssembly target (issue 10, one thread)",
    "",
    table(["model", "target", "measured", "verdict"], rows, ["---", "---", "---", "---"]),
    "",
  ];
}

function targetsSection(results: BenchResults): string[] {
  const out: string[] = ["## Targets", ""];
  const rows: string[][] = [];
  const ceiling = results.ceiling?.gflops;
  for (const name of ["shufflenetv2", "mobilenetv2"]) {
    const m = results.models.find((x) => x.model === name);
    if (!m) continue;
    const gen = runtimeOf(m, "generated");
    const cpu = runtimeOf(m, "tfjs-cpu");
    if (!gen?.timing) {
      rows.push([m.label, ">= 9x faster than tfjs-cpu", "generated module not timed", "missing"]);
      rows.push([m.label, ">= 90% of the GEMM ceiling", "generated module not timed", "missing"]);
      continue;
    }
    if (cpu?.timing) {
      const speedup = cpu.timing.medianMs / gen.timing.medianMs;
      rows.push([
        m.label,
        ">= 9x faster than tfjs-cpu",
        `${speedup.toFixed(1)}x (${ms(cpu.timing.medianMs)} ms / ${ms(gen.timing.medianMs)} ms)`,
        speedup >= 9
          ? "met"
          : `missed: ${speedup.toFixed(1)}x of the 9x needed${
            ceiling
              ? `; 9x means ${ms(cpu.timing.medianMs / 9)} ms, ${
                num(gflops9(m.madds, cpu.timing.medianMs))
              } GFLOP/s, ${num(gflops9(m.madds, cpu.timing.medianMs) / ceiling, 1)}x the ceiling`
              : ""
          }`,
      ]);
    }
    if (ceiling) {
      const frac = gen.gflopsMedian! / ceiling;
      rows.push([
        m.label,
        ">= 90% of the GEMM ceiling",
        `${pct(frac)} (${num(gen.gflopsMedian)} of ${num(ceiling)} GFLOP/s)`,
        frac >= 0.9 ? "met" : `missed: ${pct(frac)} of the 90% needed`,
      ]);
    }
    const absTarget = name === "shufflenetv2" ? 45 : 90;
    rows.push([
      m.label,
      `<= ${absTarget} ms (this machine class)`,
      `${ms(gen.timing.medianMs)} ms`,
      gen.timing.medianMs <= absTarget
        ? "met"
        : `missed: ${(gen.timing.medianMs / absTarget).toFixed(1)}x the target time`,
    ]);
  }
  if (rows.length === 0) out.push("No target model was run.");
  else {out.push(
      table(["model", "target", "measured", "verdict"], rows, ["---", "---", "---", "---"]),
    );}
  out.push("");
  return out;
}

function latencySection(results: BenchResults): string[] {
  const rts = runtimesPresent(results);
  const out: string[] = ["## Latency, batch 1, one thread", ""];
  out.push(
    "Median ms over the timed runs (lower is better); `x` columns are each runtime's median",
    "divided by the generated module's (above 1: slower than ours).",
    "",
  );
  const head = ["model", "M MAdds", "M MAC", ...rts.map((r) => `${r} ms`)];
  const hasGen = rts.includes("generated");
  if (hasGen) head.push(...rts.filter((r) => r !== "generated").map((r) => `${r} x`));
  const rows = results.models.map((m) => {
    const row = [m.label, mega(m.madds), mega(m.mac)];
    for (const rt of rts) {
      const r = runtimeOf(m, rt);
      row.push(r?.timing ? ms(r.timing.medianMs) : r?.error ? "fail" : "-");
    }
    if (hasGen) {
      for (const rt of rts.filter((r) => r !== "generated")) {
        row.push(ratio(runtimeOf(m, rt)?.ratioToGenerated));
      }
    }
    return row;
  });
  out.push(table(head, rows), "");
  out.push(
    `![latency vs MAdds](${CHART_FILES.latencyVsMadds}) ![latency vs MAC](${CHART_FILES.latencyVsMac})`,
    "",
    `Charts: [latency vs MAdds](${CHART_FILES.latencyVsMadds}), [latency vs MAC](${CHART_FILES.latencyVsMac}).`,
    "",
  );
  if (results.models.length >= 3) {
    out.push(
      "How well each runtime's whole-network time follows MAdds and MAC across these networks",
      "(R^2 of a least-squares line through the median times; 1 = a perfect line):",
      "",
      table(
        ["runtime", "networks", "R^2 time~MAdds", "R^2 time~MAC"],
        rts.map((rt) => {
          const pts = results.models.flatMap((m) => {
            const r = runtimeOf(m, rt);
            return r?.timing ? [{ madds: m.madds, mac: m.mac, ms: r.timing.medianMs }] : [];
          });
          return [
            rt,
            String(pts.length),
            num(linearFit(pts.map((p) => p.madds), pts.map((p) => p.ms)).r2, 3),
            num(linearFit(pts.map((p) => p.mac), pts.map((p) => p.ms)).r2, 3),
          ];
        }),
      ),
      "",
    );
  }
  out.push("### Every runtime on every model", "");
  for (const m of results.models) {
    out.push(
      `**${m.label}** (\`${m.model}\` ${JSON.stringify(m.knobs)}, input ${
        m.inputShape.join("x")
      }, ${mega(m.madds)}M MAdds, ${mega(m.mac)}M MAC, ${(m.params / 1e6).toFixed(2)}M params)`,
      "",
    );
    const rows = m.runtimes.map((r) => [
      r.runtime,
      ms(r.timing?.medianMs),
      ms(r.timing?.minMs),
      r.timing ? String(r.timing.runs) : "-",
      ms(r.firstResultMs),
      num(r.gflopsMedian),
      ratio(r.ratioToGenerated),
      r.check ? String(r.check.top1) : "-",
      r.check ? r.check.relError.toExponential(1) : "-",
      r.error ?? "ok",
    ]);
    out.push(
      table(
        [
          "runtime",
          "median ms",
          "min ms",
          "runs",
          "first result ms",
          "GFLOP/s",
          "x generated",
          "top-1",
          "rel. err",
          "check",
        ],
        rows,
      ),
      "",
    );
  }
  return out;
}

function layersSection(results: BenchResults): string[] {
  const out: string[] = ["## Where the time goes", ""];
  if (results.layers.length === 0) {
    out.push("Per-layer timing did not run (see Missing).", "");
    return out;
  }
  out.push(
    "Each kernel of the generated module timed alone, in place, with its real inputs",
    "(median over repeated calls). Shares are of the sum over layers. R^2 is the",
    "least-squares fit of layer time on layer MAdds, and on layer MAC (ShuffleNet V2",
    "sec. 2: MAC, not FLOPs alone, predicts speed).",
    "",
  );
  const rows = results.layers.map((p) => [
    p.label,
    String(p.layers.length),
    ms(p.sumMs),
    ms(p.wholeMs),
    num(p.r2Madds, 3),
    num(p.r2Mac, 3),
    num(p.r2Both, 3),
  ]);
  const all = results.layers.flatMap((p) => p.layers);
  const fm = linearFit(all.map((l) => l.madds), all.map((l) => l.ms));
  const fc = linearFit(all.map((l) => l.mac), all.map((l) => l.ms));
  rows.push(["all layers pooled", String(all.length), "", "", num(fm.r2, 3), num(fc.r2, 3), ""]);
  out.push(
    table(
      [
        "model",
        "kernels",
        "sum of layers ms",
        "whole module ms",
        "R^2 time~MAdds",
        "R^2 time~MAC",
        "R^2 time~MAdds+MAC",
      ],
      rows,
    ),
    "",
  );
  const better = fm.r2 >= fc.r2 ? "MAdds" : "MAC";
  out.push(
    `Pooled over all ${all.length} kernels, layer time follows ${better} more closely (R^2 ${
      num(fm.r2, 2)
    } on MAdds, ${num(fc.r2, 2)} on MAC)${
      better === "MAdds"
        ? ": our scalar kernels run well below memory bandwidth, so arithmetic sets their time and the" +
          " layers the ShuffleNet V2 paper calls MAC-heavy (depthwise, copies, element-wise) are cheap" +
          " here; ShuffleNet V2's MAC argument is about hardware where arithmetic is cheap relative to" +
          " memory traffic (GPUs, SIMD ARM)"
        : ", as ShuffleNet V2 sec. 2 argues"
    }.`,
    "",
  );
  if (results.zooFit) {
    out.push(
      `Across the zoo (whole networks, generated module, n = ${results.zooFit.n}): R^2 of`,
      `time on MAdds ${num(results.zooFit.r2Madds, 3)}, on MAC ${num(results.zooFit.r2Mac, 3)}.`,
      "",
    );
  }
  out.push(
    `![layer time vs MAdds](${CHART_FILES.layersVsMadds}) ![layer time vs MAC](${CHART_FILES.layersVsMac})`,
    "",
  );
  for (const p of results.layers) {
    const sumMs = p.layers.reduce((a, l) => a + l.ms, 0);
    const sumMadds = p.layers.reduce((a, l) => a + l.madds, 0);
    const sumMac = p.layers.reduce((a, l) => a + l.mac, 0);
    // By kind: the share of time each kernel family takes against its share of work.
    const kinds = new Map<string, { ms: number; madds: number; mac: number; n: number }>();
    for (const l of p.layers) {
      const k = kinds.get(l.kind) ?? { ms: 0, madds: 0, mac: 0, n: 0 };
      k.ms += l.ms;
      k.madds += l.madds;
      k.mac += l.mac;
      k.n += 1;
      kinds.set(l.kind, k);
    }
    out.push(`### ${p.label}`, "");
    out.push(
      table(
        [
          "kernel family",
          "layers",
          "time",
          "share of time",
          "share of MAdds",
          "share of MAC",
          "GFLOP/s",
        ],
        [...kinds.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([kind, k]) => [
          kind,
          String(k.n),
          `${ms(k.ms)} ms`,
          pct(k.ms / sumMs),
          pct(sumMadds ? k.madds / sumMadds : 0),
          pct(sumMac ? k.mac / sumMac : 0),
          k.madds ? num((2 * k.madds) / (k.ms * 1e6)) : "-",
        ]),
      ),
      "",
    );
    const top = [...p.layers].sort((a, b) => b.ms - a.ms).slice(0, 12);
    out.push(
      `<details><summary>The ${top.length} slowest of ${p.layers.length} kernels</summary>`,
      "",
      table(
        ["layer", "kind", "ms", "share of time", "share of MAdds", "share of MAC", "GFLOP/s"],
        top.map((l) => [
          `\`${l.name}\``,
          l.kind,
          ms(l.ms),
          pct(l.ms / sumMs),
          pct(sumMadds ? l.madds / sumMadds : 0),
          pct(sumMac ? l.mac / sumMac : 0),
          l.madds ? num((2 * l.madds) / (l.ms * 1e6)) : "-",
        ]),
      ),
      "",
      "</details>",
      "",
    );
  }
  return out;
}

function guidelinesSection(results: BenchResults): string[] {
  const out: string[] = ["## ShuffleNet V2 guideline networks through codegen", ""];
  if (results.guidelines.length === 0) {
    out.push("The guideline networks did not run (see Missing).", "");
    return out;
  }
  out.push(
    "Images per second of each configuration of ShuffleNet V2 Tables 1-4 (fixed FLOPs per",
    "table), generated module, batch 1, next to the paper's ARM (Snapdragon 810) figures.",
    "Ordering agreement is Spearman's rank correlation between our images/s and the paper's",
    "within the table (1: same order, -1: reversed). Table 2's ARM g = 8 network uses c = 184",
    "channels where the paper prints 180, which 8 groups do not divide (lib/models/sv2_guidelines.ts).",
    "",
  );
  const tables = [...new Set(results.guidelines.map((g) => g.table))];
  for (const t of tables) {
    const rows = results.guidelines.filter((g) => g.table === t);
    out.push(`**${t}**`, "");
    out.push(
      table(
        [
          "configuration",
          "M MAdds",
          "M MAC",
          "median ms",
          "images/s (ours)",
          "paper ARM images/s",
          "paper GPU batches/s",
        ],
        rows.map((g) => [
          g.config,
          mega(g.madds),
          mega(g.mac),
          ms(g.medianMs),
          num(g.imagesPerSec, 1),
          num(g.paperArm, 1),
          num(g.paperGpu, 0),
        ]),
      ),
      "",
    );
    const paired = rows.filter((g) => g.paperArm !== undefined);
    if (paired.length > 1) {
      const ours = paired.map((g) => g.imagesPerSec);
      const paper = paired.map((g) => g.paperArm!);
      const orderOurs = [...paired].sort((a, b) => b.imagesPerSec - a.imagesPerSec).map((g) =>
        g.config
      );
      const orderPaper = [...paired].sort((a, b) => b.paperArm! - a.paperArm!).map((g) => g.config);
      const same = orderOurs.every((c, i) => c === orderPaper[i]);
      out.push(
        `Fastest first, ours: ${orderOurs.join(" > ")}; paper (ARM): ${orderPaper.join(" > ")}. ${
          same ? "Same order." : "Order differs."
        } Spearman rho = ${num(spearman(ours, paper), 2)}.`,
        "",
      );
    }
  }
  return out;
}

/**
 * Issue 10's two-thread target (at least 1.6x one thread's speed), from the
 * patterns bench/threads_bench.ts times: back to back, where the worker is on
 * its core, and with idle gaps, where waking it costs about as much as it saves.
 */
function threadsSection(results: BenchResults): string[] {
  const found = results.threads ?? [];
  if (found.length === 0) return [];
  const label = (model: string) => results.models.find((m) => m.model === model)?.label ?? model;
  const rows = found.map((p) => {
    const r = p.oneMs / p.twoMs;
    return [
      label(p.model),
      p.pattern,
      ms(p.oneMs),
      ms(p.twoMs),
      `${r.toFixed(2)}x`,
      p.pattern === "back to back"
        ? (r >= 1.6 ? "met" : `missed: ${r.toFixed(2)}x of the 1.6x needed`)
        : "- (informational)",
    ];
  });
  return [
    "## Two threads (issue 10)",
    "",
    "`generated-wasm` against `generated-wasm-2t` (`--threads 2`), each in its own bench worker,",
    "interleaved in one process after the table above (`deno run -A bench/threads_bench.ts` times",
    "the same patterns alone). Back to back: requests of 30 inferences in a row, the last 20 timed (the",
    "first ones wake the worker after the other module's turn, the gap case); with gaps: one",
    "inference after an idle 50-200 ms, as the round robin of the latency table leaves each",
    "runtime. After such a gap the sleeping worker takes about a millisecond to wake and may share",
    "the main thread's core, so two threads pay off for inferences in a row (video frames, batches)",
    "and not for one now and then. Speedup = one thread's median / two threads'; target: at least",
    "1.6x back to back.",
    "",
    table(
      ["model", "pattern", "1 thread ms", "2 threads ms", "speedup", "verdict"],
      rows,
      ["---", "---", "---:", "---:", "---:", "---"],
    ),
    "",
  ];
}

/** The whole BENCHMARKS.md text for one run's results. */
export function renderReport(results: BenchResults): string {
  const mc = results.machine;
  const out: string[] = [
    "# Benchmarks",
    "",
    `<!-- Generated by bench/report.ts from one run of \`${results.command}\`; do not edit, rerun. -->`,
    "",
    `Measured ${results.date}${
      results.quick ? " in **quick mode** (few runs; figures are rough)" : ""
    }.`,
    "Every runtime runs the same network (same graph, same seeded weights, same seeded input),",
    "batch 1, one thread, in one Deno process. Each runtime's output is first checked against",
    `our reference executor (same top-1 and max|a-b| <= ${results.tolerance} * max|ref|); only`,
    `runtimes that pass are timed. ${results.warmup} warm-up run(s)${
      results.warmupMs ? ` (and at least ${results.warmupMs / 1000} s of them)` : ""
    } per runtime, then ${results.runs} timed`,
    "runs each, interleaved round-robin (the order rotates each round) so load from",
    "other processes on a shared machine falls on every runtime alike.",
    "",
    ...(results.firstRuns
      ? [
        "First result: wall time from process start to the first output, measured the same way",
        "for every runtime in fresh `deno run` processes (bench/first_result.ts), each loading what",
        "a user ships: our modules from their `--emit js` file (import, weights decode, WebAssembly",
        "compile, one inference), ONNX Runtime from the `.onnx` file (package and native or wasm",
        "library load, session creation, one inference), tfjs from the graph (building the graph",
        "and its seeded weights left out); generating or exporting the files is not counted. One",
        `untimed process per runtime first fills Deno's caches, as a user's first run does; the`,
        `figure is ${
          results.firstRuns === 1
            ? "that of the one timed process"
            : `the median of the ${results.firstRuns} timed processes`
        } after it (bench/results.json`,
        "also keeps that first, cold process's time). The reference executor's is not measured.",
        "",
      ]
      : []),
    "## Machine and versions",
    "",
    table(["", ""], [
      ["CPU", `${mc.cpuModel} (${mc.logicalCpus} logical CPUs; every runtime uses one)`],
      ["OS", `${mc.os} ${mc.arch}`],
      ["Deno", mc.deno],
      ["V8", mc.v8],
      ["TypeScript", mc.typescript],
      ...Object.entries(results.versions).map(([k, v]) => [k, v]),
      ["command", `\`${results.command}\``],
    ], ["---", "---"]),
    "",
    ...(results.loadAverages?.length
      ? [
        `Machine load while measuring (1-minute load average, sampled ${results.loadAverages.length} times): ${
          Math.min(...results.loadAverages).toFixed(1)
        } to ${Math.max(...results.loadAverages).toFixed(1)} on ${mc.logicalCpus} CPUs. Above the`,
        "CPU count other processes compete for the CPU, so absolute times are inflated; the ratios",
        "between runtimes, timed round-robin, hold better than the absolute figures.",
        "",
      ]
      : []),
    "Runtimes:",
    "",
    ...runtimesPresent(results).map((r) => `- \`${r}\`: ${RUNTIME_DESCRIPTIONS[r] ?? r}`),
    "",
  ];
  if (results.ceiling) {
    out.push(
      `Scalar-JS ceiling: ${num(results.ceiling.gflops)} GFLOP/s, ${results.ceiling.description}`,
      `(bench/codegen_bench.ts), measured in the same process before the models and after each`,
      `one; the median of ${results.ceiling.samples.length} measurements (${
        results.ceiling.samples.map((g) => num(g)).join(", ")
      } GFLOP/s). GFLOP/s of a network is 2 x MAdds / median time.`,
      "",
    );
  }
  if (results.simdPeak) {
    out.push(
      `WebAssembly SIMD peak: ${
        num(Math.max(...results.simdPeak.samples))
      } GFLOP/s, ${results.simdPeak.description}`,
      `(codegen/wasm/peak.ts), measured beside the scalar ceiling; the best of ${results.simdPeak.samples.length}`,
      `measurements (${
        results.simdPeak.samples.map((g) => num(g)).join(", ")
      } GFLOP/s; load only lowers a peak).`,
      "",
    );
  }
  out.push(...targetsSection(results));
  out.push(...wasmTargetsSection(results));
  out.push(...threadsSection(results));
  out.push(...latencySection(results));
  out.push(...layersSection(results));
  out.push(...guidelinesSection(results));
  out.push(...realSection(results.real, results.command));
  out.push("## Missing", "");
  if (results.missing.length === 0) out.push("Nothing: every part ran.");
  else out.push(...results.missing.map((m) => `- ${m}`));
  out.push("");
  return out.join("\n");
}

/**
 * Writes the report and its charts (each file atomically), paths relative to
 * `root` (the repository root).
 */
export async function writeReport(
  results: BenchResults,
  reportPath: string,
  root = ".",
): Promise<string[]> {
  const written: string[] = [];
  const put = async (rel: string, text: string) => {
    await writeFileAtomic(`${root}/${rel}`, text);
    written.push(rel);
  };
  if (results.models.length > 0) {
    // A run of the real models alone keeps the zoo's charts.
    const lat = latencyCharts(results);
    await put(CHART_FILES.latencyVsMadds, lat.madds);
    await put(CHART_FILES.latencyVsMac, lat.mac);
  }
  if (results.layers.length > 0) {
    const lay = layerCharts(results.layers);
    await put(CHART_FILES.layersVsMadds, lay.madds);
    await put(CHART_FILES.layersVsMac, lay.mac);
  }
  await writeFileAtomic(reportPath, renderReport(results));
  written.push(reportPath);
  return written;
}
