/**
 * CI smoke test of the benchmark harness: one timed iteration of every
 * runtime (each in its own worker, as `deno task bench` runs them) on two small
 * networks, each output checked against the reference executor (same top-1,
 * max|a-b| <= 1e-3 * max|ref|), and the report rendered from the results.
 * No speed is asserted: timing lives in bench/ only.
 */

import assert from "node:assert/strict";
import { benchModel, type ModelSpec, prepareModel } from "../bench/suite.ts";
import { RUNTIMES } from "../bench/peers/factories.ts";
import { renderReport } from "../bench/report.ts";
import type { BenchResults } from "../bench/results.ts";
import { machineInfo } from "../bench/machine.ts";
import { DEFAULT_TOLERANCE } from "../bench/timing.ts";

// Small inputs keep the reference executor fast; the ops are those of the 224 models.
const SMOKE_MODELS: ModelSpec[] = [
  // grouped 1x1 conv, channel shuffle, padded avg pool shortcut, concat
  {
    model: "shufflenetv1",
    knobs: { groups: 3, width: 1, resolution: 64, classes: 10 },
    label: "ShuffleNet V1 g=3 @64",
  },
  // hardswish, squeeze-excite (global pool, mul, hardsigmoid), residual add
  {
    model: "mobilenetv3_small",
    knobs: { resolution: 64, classes: 10 },
    label: "MobileNetV3-Small @64",
  },
];

for (const spec of SMOKE_MODELS) {
  Deno.test({
    name: `benchModel() runs every runtime once on ${spec.label} and each matches the reference`,
    // onnxruntime-node and the tfjs WASM backend keep native/wasm resources per process.
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const m = prepareModel(spec);
      const lines: string[] = [];
      const r = await benchModel(m, RUNTIMES, {
        warmup: 0,
        runs: 1,
        // tests/bench_first_result_test.ts covers the first-result processes.
        firstRuns: 0,
        tolerance: DEFAULT_TOLERANCE,
        log: (l) => lines.push(l),
      });
      assert.deepEqual(r.runtimes.map((x) => x.runtime), [...RUNTIMES]);
      for (const rt of r.runtimes) {
        assert.equal(rt.error, undefined, `${rt.runtime}: ${rt.error}`);
        assert.ok(rt.check?.ok, `${rt.runtime} output does not match the reference`);
        assert.ok(rt.check!.relError <= DEFAULT_TOLERANCE);
        assert.equal(rt.check!.top1, rt.check!.expectedTop1);
        assert.equal(rt.timing?.runs, 1);
      }
      const results: BenchResults = {
        date: "2026-01-01T00:00:00Z",
        command: "smoke",
        quick: true,
        warmup: 0,
        runs: 1,
        // tests/bench_first_result_test.ts covers the first-result processes.
        firstRuns: 0,
        tolerance: DEFAULT_TOLERANCE,
        machine: machineInfo(),
        versions: {},
        models: [r],
        layers: [],
        guidelines: [],
        missing: [],
      };
      const md = renderReport(results);
      assert.match(md, new RegExp(spec.label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    },
  });
}

Deno.test("the report's two-thread section judges the back-to-back pattern against 1.6x", () => {
  const results: BenchResults = {
    date: "2026-01-01T00:00:00Z",
    command: "smoke",
    quick: true,
    warmup: 0,
    runs: 1,
    tolerance: DEFAULT_TOLERANCE,
    machine: machineInfo(),
    versions: {},
    models: [],
    threads: [
      { model: "shufflenetv2", pattern: "back to back", oneMs: 10, twoMs: 5, n: 10 },
      { model: "mobilenetv2", pattern: "back to back", oneMs: 10, twoMs: 8, n: 10 },
      { model: "mobilenetv2", pattern: "gap 50-200 ms", oneMs: 10, twoMs: 12, n: 3 },
    ],
    layers: [],
    guidelines: [],
    missing: [],
  };
  const md = renderReport(results);
  assert.match(md, /\| shufflenetv2 \| back to back \| 10\.0 \| 5\.00 \| 2\.00x \| met \|/);
  assert.match(md, /\| mobilenetv2 \| back to back \| 10\.0 \| 8\.00 \| 1\.25x \| missed: 1\.25x/);
  assert.match(
    md,
    /\| mobilenetv2 \| gap 50-200 ms \| 10\.0 \| 12\.0 \| 0\.83x \| - \(informational\) \|/,
  );
});
