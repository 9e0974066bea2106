/**
 * A seeded fuzzer of ONNX bytes through the public API: valid files exported
 * from the zoo are truncated, bit-flipped, and mutated field by field (dims
 * that lie, wrong data types, attributes out of range, dangling or renamed
 * edges, changed op types, removed nodes), then imported (`importOnnx`),
 * analyzed (`analyze` + `formatReport`) and, for every `codegenEvery`-th
 * case that imports, compiled (`compile`) and run against the reference
 * executor.
 *
 * A case passes when it gives a correct result or one of our one-line errors
 * (an error class lightnets throws, one line, no engine message such as
 * "Cannot read properties of undefined"); it fails on anything else, on a
 * case slower than `maxCaseMs`, or when the process's memory passes
 * `maxRssBytes`. `deno run -A tools/fuzz_onnx.ts --cases 10000` is the full
 * run recorded in the README; tests/fuzz_onnx_test.ts runs a few hundred.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { EXIT, guard, UsageError } from "../lib/_io.ts";
import { analyze, formatReport, randomWeights, runReference, zoo } from "../mod.ts";
import { exportOnnx, importOnnx } from "../interop/mod.ts";
import { decodeModel, encodeModel, type pb } from "../interop/onnx_proto.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { GraphBuilder, type Tensor } from "../lib/ir/builder.ts";
import {
  convBnAct,
  depthwiseSeparable,
  fire,
  invertedResidual,
  shuffleV2Unit,
  squeezeExcite,
} from "../lib/ir/blocks.ts";

/** Error classes lightnets throws on bad input, each with a one-line message. */
const OUR_ERRORS = new Set([
  "OnnxFormatError",
  "OnnxImportError",
  "InputShapeError",
  "ShapeError",
  "GraphError",
  "SymbolicError",
  "EngineLimitError",
  "CodegenError",
  "UsageError",
]);

/** Messages of the JavaScript engine, never of ours: a bug surfaced by the input. */
const ENGINE_MESSAGE =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|Maximum call stack|allocation failed|Invalid (typed )?array length|Invalid string length|out of memory/i;

/** The outcome of one case. */
export interface CaseResult {
  seed: number;
  mutation: string;
  /** `ok`: imported and analyzed (and compiled, if sampled); `error`: one of our errors; `fail`: neither. */
  outcome: "ok" | "error" | "fail";
  stage?: "import" | "analyze" | "codegen" | "run";
  message?: string;
  ms: number;
}

/** Options of {@link fuzzOnnx}. */
export interface FuzzOptions {
  cases: number;
  /** Seed of the first case; case i uses seed + i. */
  seed?: number;
  /** Compile and run every n-th case that imports (0: never). */
  codegenEvery?: number;
  /** A case slower than this fails (default 20 s). */
  maxCaseMs?: number;
  /** Resident memory above this fails the run (default 3 GB). */
  maxRssBytes?: number;
  /** Called after each case (progress). */
  onCase?: (r: CaseResult, i: number) => void;
}

/** What a run found. */
export interface FuzzSummary {
  cases: number;
  ok: number;
  errors: number;
  failures: CaseResult[];
  byMutation: Record<string, { ok: number; error: number; fail: number }>;
  slowestMs: number;
  maxRssBytes: number;
  codegenRuns: number;
  seconds: number;
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid files to mutate: small exports of several families, static batch. */
export function seedModels(): { name: string; bytes: Uint8Array }[] {
  const specs: [string, Record<string, number | string>][] = [
    ["mobilenetv1", { width: 0.25, resolution: 32, classes: 10 }],
    ["mobilenetv2", { width: 0.35, resolution: 32, classes: 10 }],
    ["mobilenetv3_small", { width: 0.75, resolution: 64, classes: 10 }],
    ["shufflenetv2", { width: 0.5, resolution: 32, classes: 10 }],
    ["shufflenetv1", { groups: 3, width: 0.5, resolution: 32, classes: 10 }],
    ["squeezenet1_1", { resolution: 48, classes: 10 }],
  ];
  return specs.map(([name, knobs]) => {
    const g = zoo.build(name, knobs);
    // A copy as a plain Uint8Array: protobufjs may return a Node Buffer, whose
    // slice() is a view, not a copy.
    return {
      name,
      bytes: new Uint8Array(exportOnnx(g, randomWeights(g, 7), { dynamicBatch: false })),
    };
  });
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** Lies a dimension can tell. */
const DIM_LIES = [0, -1, 1, 2, 3, 7, 1000, 65536, 1e6, 1e10, 2 ** 31, 2 ** 53, 2 ** 62];

/** Field mutations on the decoded model; each returns its name. */
const FIELD_MUTATIONS: Record<string, (m: pb.IModelProto, r: () => number) => void> = {
  "initializer dims": (m, r) => {
    const t = pick(r, m.graph!.initializer!);
    const dims = [...(t.dims ?? [])];
    if (dims.length === 0) dims.push(1);
    dims[Math.floor(r() * dims.length)] = pick(r, DIM_LIES);
    t.dims = dims;
  },
  "initializer rank": (m, r) => {
    const t = pick(r, m.graph!.initializer!);
    t.dims = r() < 0.5 ? [...(t.dims ?? []), 1] : (t.dims ?? []).slice(1);
  },
  "initializer data type": (m, r) => {
    pick(r, m.graph!.initializer!).dataType = pick(r, [0, 2, 3, 6, 7, 8, 9, 10, 11, 14, 16, 99]);
  },
  "initializer data cut": (m, r) => {
    const t = pick(r, m.graph!.initializer!);
    if (t.rawData) t.rawData = t.rawData.subarray(0, Math.floor(r() * t.rawData.length));
  },
  "initializer removed": (m, r) => {
    const list = m.graph!.initializer!;
    list.splice(Math.floor(r() * list.length), 1);
  },
  "input dims": (m, r) => {
    const dims = m.graph!.input![0].type?.tensorType?.shape?.dim ?? [];
    if (dims.length === 0) return;
    const d = dims[Math.floor(r() * dims.length)];
    if (r() < 0.2) {
      d.dimValue = undefined;
      d.dimParam = "N";
    } else d.dimValue = pick(r, DIM_LIES);
  },
  "input rank": (m, r) => {
    const shape = m.graph!.input![0].type?.tensorType?.shape;
    if (!shape?.dim) return;
    if (r() < 0.5) shape.dim.push({ dimValue: 1 });
    else shape.dim.pop();
  },
  "attribute value": (m, r) => {
    const nodes = m.graph!.node!.filter((n) => (n.attribute?.length ?? 0) > 0);
    if (nodes.length === 0) return;
    const a = pick(r, pick(r, nodes).attribute!);
    const v = pick(r, [-3, -1, 0, 1, 2, 5, 1000, 2 ** 31]);
    if (a.ints && a.ints.length) a.ints = a.ints.map(() => v);
    else if (a.i !== undefined && a.i !== null) a.i = v;
    else if (a.f !== undefined && a.f !== null) a.f = pick(r, [NaN, Infinity, -1, 0, 1e30]);
  },
  "attribute removed": (m, r) => {
    const nodes = m.graph!.node!.filter((n) => (n.attribute?.length ?? 0) > 0);
    if (nodes.length === 0) return;
    const n = pick(r, nodes);
    n.attribute!.splice(Math.floor(r() * n.attribute!.length), 1);
  },
  "op type": (m, r) => {
    pick(r, m.graph!.node!).opType = pick(r, [
      "Conv",
      "Relu",
      "Add",
      "Concat",
      "Reshape",
      "Transpose",
      "MaxPool",
      "Gemm",
      "Flatten",
      "Softmax",
      "Split",
      "Loop",
      "",
    ]);
  },
  "edge renamed": (m, r) => {
    const n = pick(r, m.graph!.node!);
    if (n.input?.length) n.input[Math.floor(r() * n.input.length)] = pick(r, ["", "nowhere", "x"]);
    else if (n.output?.length) n.output[0] = "renamed";
  },
  "edge rewired": (m, r) => {
    const nodes = m.graph!.node!;
    const a = pick(r, nodes);
    const b = pick(r, nodes);
    if (a.input?.length && b.output?.length) a.input[0] = b.output[0]; // may make a cycle
  },
  "node removed": (m, r) => {
    const nodes = m.graph!.node!;
    nodes.splice(Math.floor(r() * nodes.length), 1);
  },
  "node duplicated": (m, r) => {
    const nodes = m.graph!.node!;
    nodes.push({ ...pick(r, nodes) });
  },
  "output renamed": (m) => {
    m.graph!.output![0].name = "no_such_tensor";
  },
  "opset": (m, r) => {
    if (m.opsetImport?.[0]) m.opsetImport[0].version = pick(r, [1, 6, 7, 11, 13, 21, 99]);
  },
};

/** Byte-level mutations. */
function truncate(bytes: Uint8Array, r: () => number): Uint8Array {
  return new Uint8Array(bytes.subarray(0, Math.floor(r() * bytes.length)));
}

function flipBits(bytes: Uint8Array, r: () => number): Uint8Array {
  const out = new Uint8Array(bytes);
  const flips = 1 + Math.floor(r() * 8);
  // Half the flips land in the first 4 kB, where the graph structure is.
  for (let i = 0; i < flips; i++) {
    const at = r() < 0.5
      ? Math.floor(r() * Math.min(4096, out.length))
      : Math.floor(r() * out.length);
    out[at] ^= 1 << Math.floor(r() * 8);
  }
  return out;
}

/** One mutated file from `seedBytes` with generator `r`: its bytes and the mutation's name. */
export function mutate(
  seedBytes: Uint8Array,
  r: () => number,
): { bytes: Uint8Array; mutation: string } {
  const roll = r();
  if (roll < 0.15) return { bytes: truncate(seedBytes, r), mutation: "truncation" };
  if (roll < 0.35) return { bytes: flipBits(seedBytes, r), mutation: "bit flips" };
  const model = decodeModel(seedBytes);
  const names = Object.keys(FIELD_MUTATIONS);
  const count = roll < 0.9 ? 1 : 2;
  const applied: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = pick(r, names);
    FIELD_MUTATIONS[name](model, r);
    applied.push(name);
  }
  return { bytes: encodeModel(model), mutation: applied.join(" + ") };
}

/** Whether `e` is one of our one-line errors (see {@link OUR_ERRORS}). */
export function isCleanError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  // Several lines (an importer's list of constructs) print as one: lib/_io.ts's fail() joins them.
  return OUR_ERRORS.has(e.name) && !ENGINE_MESSAGE.test(e.message);
}

/** Largest tensor a fuzzed graph may have for the sampled codegen and run (elements). */
const RUN_LIMIT = 1 << 20;

/** The stage a case is in, for the failure report (the case may throw from any). */
type Stage = { stage: NonNullable<CaseResult["stage"]> };

async function runCase(bytes: Uint8Array, withCodegen: boolean, at: Stage): Promise<boolean> {
  at.stage = "import";
  const { graph, weights } = importOnnx(bytes, { source: "fuzz.onnx" });
  at.stage = "analyze";
  const report = analyze(graph);
  formatReport(report, "table");
  formatReport(report, "md");
  formatReport(report, "csv");
  const small = report.layers.every((l) => l.activations <= RUN_LIMIT) &&
    report.input.reduce((a, b) => a * b, 1) <= RUN_LIMIT;
  if (!withCodegen || !small) return false;
  at.stage = "codegen";
  const { compile, loadModule } = await import("../codegen/compile.ts");
  const { source } = compile(graph, weights, { model: "fuzz" });
  at.stage = "run";
  const m = await loadModule(source);
  const input = new Float32Array(report.input.reduce((a, b) => a * b, 1)).map((_, i) =>
    Math.sin(i)
  );
  const got = m.infer(input);
  const want = runReference(graph as Graph, weights, input);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    // Infinite weights (allowed) can make outputs non-finite; compare the finite ones.
    if (!Number.isFinite(want[i])) continue;
    scale = Math.max(scale, Math.abs(want[i]));
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
  }
  if (!(diff <= 1e-4 * Math.max(scale, 1e-30)) && !(diff === 0)) {
    throw new Error(`generated module differs from the reference: ${diff} of ${scale}`);
  }
  return true;
}

/**
 * Runs `cases` fuzz cases and sums them up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fuzzOnnx } from "./fuzz_onnx.ts";
 * const s = await fuzzOnnx({ cases: 20, seed: 1 });
 * assert.equal(s.cases, 20);
 * assert.equal(s.ok + s.errors + s.failures.length, 20);
 * ```
 */
export async function fuzzOnnx(options: FuzzOptions): Promise<FuzzSummary> {
  const seeds = seedModels();
  const first = options.seed ?? 1;
  const maxCaseMs = options.maxCaseMs ?? 20000;
  const maxRss = options.maxRssBytes ?? 3e9;
  const every = options.codegenEvery ?? 0;
  const summary: FuzzSummary = {
    cases: 0,
    ok: 0,
    errors: 0,
    failures: [],
    byMutation: {},
    slowestMs: 0,
    maxRssBytes: 0,
    codegenRuns: 0,
    seconds: 0,
  };
  const t0 = performance.now();
  let imported = 0;
  for (let i = 0; i < options.cases; i++) {
    const seed = first + i;
    const r = rng(seed);
    const base = seeds[seed % seeds.length];
    const { bytes, mutation } = mutate(base.bytes, r);
    const c0 = performance.now();
    let result: CaseResult;
    const at: Stage = { stage: "import" };
    try {
      const sampled = every > 0 && imported % every === 0;
      const compiled = await runCase(bytes, sampled, at);
      imported++;
      if (compiled) summary.codegenRuns++;
      result = { seed, mutation: `${base.name}: ${mutation}`, outcome: "ok", ms: 0 };
    } catch (e) {
      const clean = isCleanError(e);
      const err = e instanceof Error ? e : new Error(String(e));
      result = {
        seed,
        mutation: `${base.name}: ${mutation}`,
        outcome: clean ? "error" : "fail",
        stage: at.stage,
        message: `${err.name}: ${err.message}`.slice(0, 400),
        ms: 0,
      };
    }
    result.ms = performance.now() - c0;
    if (result.ms > maxCaseMs && result.outcome !== "fail") {
      result = { ...result, outcome: "fail", message: `took ${result.ms.toFixed(0)} ms` };
    }
    const rss = Deno.memoryUsage().rss;
    summary.maxRssBytes = Math.max(summary.maxRssBytes, rss);
    if (rss > maxRss && result.outcome !== "fail") {
      result = { ...result, outcome: "fail", message: `resident memory ${rss} bytes` };
    }
    summary.cases++;
    summary.slowestMs = Math.max(summary.slowestMs, result.ms);
    if (result.outcome === "ok") summary.ok++;
    else if (result.outcome === "error") summary.errors++;
    else summary.failures.push(result);
    const kind = mutation.split(" + ")[0];
    const m = summary.byMutation[kind] ??= { ok: 0, error: 0, fail: 0 };
    m[result.outcome === "error" ? "error" : result.outcome]++;
    options.onCase?.(result, i);
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}

/** A random valid architecture from the builder's blocks, small enough to run. */
export function randomGraph(r: () => number): Graph {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const b = new GraphBuilder("random", [1, int(1, 4), int(4, 16), int(4, 16)]);
  let x: Tensor = b.input;
  const blocks = int(1, 5);
  for (let i = 0; i < blocks; i++) {
    x = b.scope(`b${i}`, () => {
      const c = x.shape[1];
      const out = int(2, 12);
      const stride = x.shape[2] >= 4 && x.shape[3] >= 4 && r() < 0.4 ? 2 : 1;
      switch (pick(r, ["conv", "dwsep", "ir", "se", "fire", "sv2", "maxpool", "avgpool"])) {
        case "conv":
          return convBnAct(b, x, {
            out,
            kernel: pick(r, [1, 3, 5]),
            stride,
            act: pick(r, ["relu", "relu6", "hardswish", "none"] as const),
          });
        case "dwsep":
          return depthwiseSeparable(b, x, { out, stride });
        case "ir":
          return invertedResidual(b, x, {
            out: r() < 0.5 ? c : out,
            stride,
            expandRatio: int(1, 4),
          });
        case "se":
          return squeezeExcite(b, x, { squeeze: int(1, 4) });
        case "fire":
          return fire(b, x, { squeeze: int(1, 4), expand1x1: int(1, 6), expand3x3: int(1, 6) });
        case "sv2": {
          const even = c % 2 === 0 ? x : convBnAct(b, x, { out: 2 * int(1, 4), kernel: 1 }, "fit");
          return shuffleV2Unit(b, even, { out: even.shape[1], stride: 1 });
        }
        case "maxpool":
          return b.maxPool(x, { kernel: 3, stride: 2, padding: 1 });
        default:
          return b.avgPool(x, { kernel: 3, stride, padding: 1, countIncludePad: r() < 0.5 });
      }
    });
  }
  const head = b.linear(
    b.flatten(b.globalAvgPool(x, "pool"), "flatten"),
    { out: int(2, 10) },
    "fc",
  );
  return b.build(head);
}

/** The outcome of {@link fuzzGraphs}. */
export interface GraphFuzzSummary {
  graphs: number;
  /** Graphs whose ONNX round trip, analysis and generated module all agreed. */
  agreed: number;
  failures: { seed: number; stage: string; message: string }[];
  seconds: number;
}

/**
 * Random valid graphs through the whole pipeline: export to ONNX, import,
 * analyze (the same parameters and MAdds as the original), compile, and run
 * the generated module against the reference executor on the original graph.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fuzzGraphs } from "./fuzz_onnx.ts";
 * const s = await fuzzGraphs(2, 5);
 * assert.deepEqual(s.failures, []);
 * assert.equal(s.agreed, 2);
 * ```
 */
export async function fuzzGraphs(graphs: number, seed = 1): Promise<GraphFuzzSummary> {
  const { compile, loadModule } = await import("../codegen/compile.ts");
  const t0 = performance.now();
  const summary: GraphFuzzSummary = { graphs, agreed: 0, failures: [], seconds: 0 };
  for (let i = 0; i < graphs; i++) {
    const r = rng(seed + i);
    let stage = "build";
    try {
      const original = randomGraph(r);
      const weights = randomWeights(original, seed + i);
      stage = "export/import";
      const bytes = exportOnnx(original, weights, { dynamicBatch: false });
      const imported = importOnnx(bytes, { source: "random.onnx" });
      stage = "analyze";
      const want = analyze(original).totals;
      const got = analyze(imported.graph).totals;
      if (got.params.total !== want.params.total || got.madds !== want.madds) {
        throw new Error(
          `the imported graph has ${got.params.total} params and ${got.madds} MAdds, the original ${want.params.total} and ${want.madds}`,
        );
      }
      stage = "codegen";
      const m = await loadModule(compile(imported.graph, imported.weights).source);
      stage = "run";
      const input = new Float32Array(original.inputs[0].shape.reduce((a, b) => a * b, 1))
        .map((_, k) => Math.sin(k + i));
      const out = m.infer(input);
      const ref = runReference(original, weights, input);
      let diff = 0;
      let scale = 0;
      for (let k = 0; k < ref.length; k++) {
        scale = Math.max(scale, Math.abs(ref[k]));
        diff = Math.max(diff, Math.abs(out[k] - ref[k]));
      }
      if (!(diff <= 1e-4 * scale) && diff !== 0) {
        throw new Error(`max |generated - reference| = ${diff}, max |reference| = ${scale}`);
      }
      summary.agreed++;
    } catch (e) {
      const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      summary.failures.push({ seed: seed + i, stage, message: message.slice(0, 400) });
    }
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}

const HELP =
  `Usage: deno run -A tools/fuzz_onnx.ts [--cases N] [--graphs G] [--seed S] [--codegen-every K] [--json]

Mutates valid ONNX exports (truncations, bit flips, field mutations, dimension
lies) and runs each through importOnnx, analyze and formatReport; every K-th
case that imports is also compiled and run against the reference executor
(default K = 25). Pass: a correct result or one of lightnets' one-line errors;
fail: any other error, a case over 20 s, or resident memory over 3 GB.
Then G random valid graphs from the builder's blocks (default 100) go through
export, import, analyze (same params and MAdds), codegen and a differential
run against the reference executor on the original graph.

Exit codes: 0 no failure, 1 failures (listed), 2 bad usage`;

if (import.meta.main) {
  Deno.exitCode = await guard(async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        cases: { type: "string" },
        seed: { type: "string" },
        "codegen-every": { type: "string" },
        graphs: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) {
      console.log(HELP);
      return EXIT.ok;
    }
    const int = (text: string | undefined, flag: string, dflt: number) => {
      if (text === undefined) return dflt;
      if (!/^\d+$/.test(text)) {
        throw new UsageError(`Invalid ${flag} "${text}": expected an integer >= 0`);
      }
      return Number(text);
    };
    const cases = int(values.cases, "--cases", 1000);
    const summary = await fuzzOnnx({
      cases,
      seed: int(values.seed, "--seed", 1),
      codegenEvery: int(values["codegen-every"], "--codegen-every", 25),
      onCase: (_, i) => {
        if ((i + 1) % 500 === 0) console.error(`${i + 1}/${cases} cases`);
      },
    });
    const graphs = await fuzzGraphs(
      int(values.graphs, "--graphs", 100),
      int(values.seed, "--seed", 1),
    );
    if (values.json) console.log(JSON.stringify({ ...summary, graphs }, null, 2));
    else {
      console.log(
        `${summary.cases} cases in ${
          summary.seconds.toFixed(0)
        } s: ${summary.ok} imported and analyzed ` +
          `(${summary.codegenRuns} also compiled and run against the reference), ${summary.errors} ` +
          `one-line errors, ${summary.failures.length} failures; slowest case ${
            summary.slowestMs.toFixed(0)
          } ms, peak resident memory ${(summary.maxRssBytes / 1e6).toFixed(0)} MB`,
      );
      for (const [kind, m] of Object.entries(summary.byMutation).sort()) {
        console.log(`  ${kind.padEnd(22)} ok ${m.ok}, error ${m.error}, fail ${m.fail}`);
      }
      for (const f of summary.failures.slice(0, 20)) {
        console.log(`FAIL seed ${f.seed} (${f.mutation}) at ${f.stage}: ${f.message}`);
      }
      console.log(
        `${graphs.graphs} random valid graphs in ${
          graphs.seconds.toFixed(0)
        } s: ${graphs.agreed} ` +
          `agreed through export, import, analysis, codegen and the reference executor; ` +
          `${graphs.failures.length} failures`,
      );
      for (const f of graphs.failures.slice(0, 20)) {
        console.log(`FAIL graph seed ${f.seed} at ${f.stage}: ${f.message}`);
      }
    }
    return summary.failures.length + graphs.failures.length ? EXIT.failed : EXIT.ok;
  });
}
