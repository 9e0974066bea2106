/**
 * `codegen --target wasm --threads N`: a module generated for 2 threads
 * computes bitwise the same outputs as the one-thread module (each output
 * element is computed by exactly one thread with the same instructions), on
 * ShuffleNet V2 and MobileNet V2 at 64 px and on an edge-shape model (odd
 * rows and widths, channels not a multiple of any block, stride 2, a
 * residual add); a 2-thread module exits promptly when run directly or
 * imported (Deno), runs on 2 threads under Node 20, falls back to one thread,
 * with the same outputs, where shared memory is missing, and a part that
 * traps in a worker makes the inference throw instead of hanging.
 */

import assert from "node:assert/strict";
import { zoo } from "../lib/models/zoo.ts";
import { GraphBuilder } from "../lib/ir/builder.ts";
import type { Graph } from "../lib/ir/graph.ts";
import { randomInput } from "../lib/runtime/tensor.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { compile, loadModule } from "../codegen/compile.ts";
import { epilogue } from "../codegen/spec.ts";
import { PW_BLOCKINGS } from "../codegen/wasm/pointwise.ts";
import { splitStep } from "../codegen/wasm/threads.ts";

/** Odd sizes: 15 rows of 17 pixels split 8 + 7 rows, 37 channels split 19 + 18, stride 2. */
function edgeModel(): Graph {
  const b = new GraphBuilder("edge", [1, 5, 15, 17]);
  const a = b.relu(b.batchNorm(b.conv2d(b.input, { out: 37, kernel: 1 })));
  const d = b.batchNorm(b.conv2d(a, { out: 37, kernel: 3, padding: 1, groups: 37 }));
  const s = b.relu(b.addTensors(a, b.batchNorm(b.conv2d(d, { out: 37, kernel: 1 }))));
  const t = b.conv2d(s, { out: 37, kernel: 3, stride: 2, padding: 1, groups: 37 });
  return b.build(b.relu6(b.conv2d(t, { out: 11, kernel: 1 })));
}

/**
 * The other split families at odd sizes: a 3x3 stride-2 conv with 45 output channels (23
 * blocks of 2, the last partial: 24 + 21 channels, each part with its own scratch area), a max pool and an average pool (45
 * channels split 23 + 22), a standalone add, a standalone hardswish, and a linear layer of
 * 21 outputs (blocks of 16: 16 + 5) on 45 x 24 x 24 features.
 */
function edgeFamiliesModel(): Graph {
  const b = new GraphBuilder("edge-families", [1, 3, 95, 93]);
  const c = b.relu(b.batchNorm(b.conv2d(b.input, { out: 45, kernel: 3, stride: 2, padding: 1 })));
  const m = b.maxPool(c, { kernel: 3, stride: 2, padding: 1 });
  const a = b.avgPool(m, { kernel: 3, stride: 1, padding: 1, countIncludePad: false });
  const s = b.hardswish(b.addTensors(m, a));
  return b.build(b.linear(b.flatten(b.hardswish(s)), { out: 21 }));
}

type Threaded = { dispose(): void; threads: number };

const CASES: { name: string; graph: () => Graph; allSplit?: boolean }[] = [
  { name: "shufflenetv2 64 px", graph: () => zoo.build("shufflenetv2", { resolution: 64 }) },
  { name: "mobilenetv2 64 px", graph: () => zoo.build("mobilenetv2", { resolution: 64 }) },
  { name: "an edge-shape model", graph: edgeModel, allSplit: true },
  {
    name: "an edge-shape model of the other split families",
    graph: edgeFamiliesModel,
    allSplit: true,
  },
];

for (const { name, graph: build, allSplit } of CASES) {
  Deno.test(`wasm --threads 2 on ${name} gives bitwise the outputs of one thread`, async () => {
    const graph = build();
    const weights = randomWeights(graph, 3);
    const one = await loadModule(compile(graph, weights, { target: "wasm" }).source);
    const compiled = compile(graph, weights, { target: "wasm", wasm: { threads: 2 } });
    assert.ok(compiled.splitSteps > 0, "no step was split between the threads");
    if (allSplit) assert.equal(compiled.splitSteps, compiled.plan.steps.length);
    const two = await loadModule(compiled.source);
    const control = two as unknown as Threaded;
    try {
      assert.equal(control.threads, 2, "Deno has shared memory and workers");
      // Many inputs, a pause before each: the worker starts during the first ones (the main
      // thread runs the parts it has not taken), then takes its parts itself.
      for (let seed = 11; seed < 35; seed++) {
        await new Promise((r) => setTimeout(r, 10));
        const input = randomInput(graph.inputs[0].shape, seed);
        const want = one.infer(input);
        const got = two.infer(input);
        assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer));
      }
    } finally {
      control.dispose();
    }
  });
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs `cmd` in `cwd`; fails if it has not exited after `ms` (then kills it). */
async function runWithin(
  cmd: string,
  args: string[],
  cwd: string,
  ms: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  try {
    const out = await child.output();
    assert.ok(out.signal === null, `${cmd} ${args.join(" ")} did not exit within ${ms} ms`);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** A script that imports `module`, runs a first inference, lets the workers start, runs more. */
const useScript = (module: string, before = "") =>
  before +
  `const m = await import(${JSON.stringify(module)});\n` +
  "const x = new Float32Array(m.inputShape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));\n" +
  "const first = m.infer(x).join(',');\n" +
  "await new Promise((r) => setTimeout(r, 300));\n" +
  "let out = '';\n" +
  "for (let i = 0; i < 20; i++) { out = m.infer(x).join(','); if (out !== first) throw new Error('outputs changed'); }\n" +
  "console.log(m.threads, out);\n";

Deno.test("a 2-thread wasm module exits when run or imported, and runs on one thread without shared memory", async () => {
  const graph = edgeModel();
  const { source } = compile(graph, randomWeights(graph, 1), {
    model: "edge",
    target: "wasm",
    wasm: { threads: 2 },
  });
  const dir = await Deno.makeTempDir({ prefix: "lightnets-wasm-threads-" });
  try {
    await Deno.writeTextFile(`${dir}/model.gen.ts`, source);
    // The workers are node:worker_threads workers, unref()'d: a script importing the module
    // exits as soon as its own work is done, with the workers alive and waiting. Without
    // SharedArrayBuffer the module runs every part on the main thread, same outputs.
    await Deno.writeTextFile(`${dir}/use.ts`, useScript("./model.gen.ts"));
    await Deno.writeTextFile(
      `${dir}/alone.ts`,
      useScript(
        "./model.gen.ts",
        "delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;\n",
      ),
    );
    const run = (file: string) =>
      runWithin(Deno.execPath(), ["run", "--no-config", file], dir, 20_000);
    const direct = await run("model.gen.ts");
    assert.equal(direct.code, 0, direct.stderr);
    assert.match(direct.stdout, /ms\/inference \(\d+ runs, 2 threads/);
    const [threaded, single] = await Promise.all([run("use.ts"), run("alone.ts")]);
    assert.equal(threaded.code, 0, threaded.stderr);
    assert.equal(single.code, 0, single.stderr);
    const [t2, out2] = threaded.stdout.trim().split(" ");
    const [t1, out1] = single.stdout.trim().split(" ");
    assert.deepEqual([t2, t1], ["2", "1"]);
    // 11 channels of an 8x9 plane, the same numbers printed by both.
    assert.equal(out2.split(",").length, 11 * 8 * 9);
    assert.equal(out1, out2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--emit js: a 2-thread wasm module runs on 2 threads under Node 20, outputs equal to 1 thread", async (t) => {
  const node = await new Deno.Command("node", { args: ["--version"], stdout: "piped" })
    .output().catch(() => undefined);
  if (!node?.success) {
    await t.step({ name: "node is not installed: skipped", ignore: true, fn: () => {} });
    return;
  }
  const graph = zoo.build("shufflenetv2", { resolution: 64 });
  const weights = randomWeights(graph, 4);
  const dir = await Deno.makeTempDir({ prefix: "lightnets-wasm-threads-node-" });
  try {
    const outputs: string[] = [];
    for (const threads of [1, 2]) {
      const { source } = compile(graph, weights, { target: "wasm", emit: "js", wasm: { threads } });
      await Deno.writeTextFile(`${dir}/model${threads}.gen.js`, source);
      await Deno.writeTextFile(`${dir}/use${threads}.mjs`, useScript(`./model${threads}.gen.js`));
      const out = await runWithin("node", [`use${threads}.mjs`], dir, 20_000);
      assert.equal(out.code, 0, out.stderr);
      const [n, text] = out.stdout.trim().split(" ");
      assert.equal(n, String(threads), `threads under Node ${decode(node.stdout).trim()}`);
      outputs.push(text);
    }
    assert.equal(outputs[1].split(",").length, 1000);
    assert.equal(outputs[1], outputs[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a part that traps in a worker makes infer() throw an Error naming the step, never hang", async () => {
  const graph = zoo.build("shufflenetv2", { resolution: 64 });
  const { source, plan } = compile(graph, randomWeights(graph, 5), {
    target: "wasm",
    wasm: { threads: 2 },
  });
  // Corrupt the worker's part of the last split step: its input address points past the
  // end of memory, so its kernel traps ("memory access out of bounds") wherever it runs.
  const line = /^const JOBS: [^=]+= (.+);$/m.exec(source);
  assert.ok(line, "no JOBS table in the module");
  const jobs = JSON.parse(line[1]) as ([string, number, number, number, number, string] | null)[][];
  const last = jobs[0].findLastIndex((j) => j !== null);
  const label = `step ${last} (${plan.steps[last].layers.join(", ")})`;
  jobs[0][last]![1] = 0x7ffffff0;
  const m = await loadModule(
    source.slice(0, line.index) + line[0].replace(line[1], JSON.stringify(jobs)) +
      source.slice(line.index + line[0].length),
  );
  const control = m as unknown as Threaded;
  try {
    const input = randomInput(graph.inputs[0].shape, 1);
    // The main thread runs a part the worker has not claimed yet (then the trap is its own,
    // a RuntimeError); by the last step the worker is spinning and claims it first.
    const messages: string[] = [];
    for (let i = 0; i < 40 && !messages.some((t) => t.startsWith("Worker")); i++) {
      await new Promise((r) => setTimeout(r, 5));
      assert.throws(() => m.infer(input), (e: Error) => (messages.push(e.message), true));
    }
    const worker = messages.find((t) => t.startsWith("Worker"));
    assert.ok(worker, `the worker never claimed its part: ${messages.join("; ")}`);
    assert.equal(
      worker,
      `Worker 1 failed in ${label}: its kernel "${
        jobs[0][last]![0]
      }" threw; this inference has no result`,
    );
  } finally {
    control.dispose();
  }
});

Deno.test("splitStep() never gives a pointwise part fewer pixels than a block", () => {
  // A part's last vectors overlap the block before them; a part smaller than a block would
  // store before its first pixel, into the other thread's part or another channel's plane.
  const pw = (h: number, w: number) => ({
    family: "pwconv" as const,
    cin: 67,
    cout: 61,
    groups: 1,
    ygs: 61 * h * w,
    h,
    w,
    epi: epilogue({ kind: "relu6" }),
    rcs: h * w,
    xcs: h * w,
    ycs: h * w,
  });
  const largest = Math.max(...PW_BLOCKINGS.map((b) => 4 * b.pv)); // 2 x 16: 16 pixels
  assert.equal(splitStep(pw(4, 5), 2), undefined); // 10 + 10 pixels
  assert.equal(splitStep(pw(7, 5), 2), undefined); // 20 + 15 pixels
  const parts = splitStep(pw(8, 5), 2)!;
  assert.deepEqual(parts.map((p) => (p.spec as { h: number }).h * 5), [20, 20]);
  for (const p of parts) assert.ok((p.spec as { h: number }).h * 5 >= largest);
});

Deno.test("splitStep() splits a conv on whole blocks of output channels, its weights per block", () => {
  const conv = {
    family: "conv" as const,
    cin: 3,
    cout: 45,
    groups: 1,
    ygs: 45 * 48 * 47,
    win: {
      kernel: [3, 3] as const,
      stride: [2, 2] as const,
      padding: [1, 1, 1, 1] as const,
      dilation: [1, 1] as const,
      h: 95,
      w: 93,
      oh: 48,
      ow: 47,
    },
    epi: epilogue({ kind: "relu" }),
    rcs: 48 * 47,
    xcs: 95 * 93,
    ycs: 48 * 47,
  };
  const parts = splitStep(conv, 2)!;
  // ceil(45 / 2) = 23 blocks, 12 and 11: channels 0-23 and 24-44; a block of b channels packs
  // b biases and b x (3 x 3 x 3) weights, so the second part's weights start 24 x (1 + 27) in.
  assert.deepEqual(
    parts.map((p) => [(p.spec as typeof conv).cout, p.dy, p.dw]),
    [[24, 0, 0], [21, 24 * 48 * 47, 24 * (1 + 27)]],
  );
  assert.equal(splitStep({ ...conv, groups: 3, ygs: 15 * 48 * 47 }, 2), undefined);
});
