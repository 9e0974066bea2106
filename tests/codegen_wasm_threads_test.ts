/**
 * `codegen --target wasm --threads N`: a module generated for 2 threads
 * computes bitwise the same outputs as the one-thread module (each output
 * element is computed by exactly one thread with the same instructions), on
 * ShuffleNet V2 and MobileNet V2 at 64 px and on an edge-shape model (odd
 * rows and widths, channels not a multiple of any block, stride 2, a
 * residual add); a 2-thread module exits when run directly or imported, and
 * falls back to one thread, with the same outputs, where `Worker` is missing.
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

/** Odd sizes: 7 rows of 9 pixels split 4 + 3 rows, 13 channels split 7 + 6, stride 2. */
function edgeModel(): Graph {
  const b = new GraphBuilder("edge", [1, 5, 7, 9]);
  const a = b.relu(b.batchNorm(b.conv2d(b.input, { out: 13, kernel: 1 })));
  const d = b.batchNorm(b.conv2d(a, { out: 13, kernel: 3, padding: 1, groups: 13 }));
  const s = b.relu(b.addTensors(a, b.batchNorm(b.conv2d(d, { out: 13, kernel: 1 }))));
  const t = b.conv2d(s, { out: 13, kernel: 3, stride: 2, padding: 1, groups: 13 });
  return b.build(b.relu6(b.conv2d(t, { out: 11, kernel: 1 })));
}

type Threaded = { dispose(): void; threads: number };

const CASES: { name: string; graph: () => Graph }[] = [
  { name: "shufflenetv2 64 px", graph: () => zoo.build("shufflenetv2", { resolution: 64 }) },
  { name: "mobilenetv2 64 px", graph: () => zoo.build("mobilenetv2", { resolution: 64 }) },
  { name: "an edge-shape model", graph: edgeModel },
];

for (const { name, graph: build } of CASES) {
  Deno.test(`wasm --threads 2 on ${name} gives bitwise the outputs of one thread`, async () => {
    const graph = build();
    const weights = randomWeights(graph, 3);
    const one = await loadModule(compile(graph, weights, { target: "wasm" }).source);
    const compiled = compile(graph, weights, { target: "wasm", wasm: { threads: 2 } });
    assert.ok(compiled.splitSteps > 0, "no step was split between the threads");
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

Deno.test("a 2-thread wasm module exits when run or imported, and runs on one thread without Worker", async () => {
  const graph = edgeModel();
  const { source } = compile(graph, randomWeights(graph, 1), {
    model: "edge",
    target: "wasm",
    wasm: { threads: 2 },
  });
  const dir = await Deno.makeTempDir({ prefix: "lightnets-wasm-threads-" });
  try {
    await Deno.writeTextFile(`${dir}/model.gen.ts`, source);
    // A script importing the module exits too: idle workers exit by themselves. Without
    // `Worker` the module runs every part on the main thread, with the same outputs.
    const script = (noWorker: boolean) =>
      (noWorker ? "delete (globalThis as { Worker?: unknown }).Worker;\n" : "") +
      'const m = await import("./model.gen.ts");\n' +
      "const x = new Float32Array(m.inputShape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));\n" +
      'console.log(m.threads, m.infer(x).join(","));\n';
    await Deno.writeTextFile(`${dir}/use.ts`, script(false));
    await Deno.writeTextFile(`${dir}/alone.ts`, script(true));
    const run = (file: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", file],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const direct = await run("model.gen.ts");
    assert.equal(direct.code, 0, new TextDecoder().decode(direct.stderr));
    assert.match(new TextDecoder().decode(direct.stdout), /ms\/inference \(\d+ runs, 2 threads/);
    const [threaded, single] = await Promise.all([run("use.ts"), run("alone.ts")]);
    assert.equal(threaded.code, 0, new TextDecoder().decode(threaded.stderr));
    assert.equal(single.code, 0, new TextDecoder().decode(single.stderr));
    const [t2, out2] = new TextDecoder().decode(threaded.stdout).trim().split(" ");
    const [t1, out1] = new TextDecoder().decode(single.stdout).trim().split(" ");
    assert.deepEqual([t2, t1], ["2", "1"]);
    // 11 channels of a 4x5 plane, the same numbers printed by both.
    assert.equal(out2.split(",").length, 11 * 4 * 5);
    assert.equal(out1, out2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("splitStep() never gives a pointwise part fewer pixels than a block", () => {
  // A part's last vectors overlap the block before them; a part smaller than a block would
  // store before its first pixel, into the other thread's part or another channel's plane.
  const pw = (h: number, w: number) => ({
    family: "pwconv" as const,
    cin: 13,
    cout: 11,
    groups: 1,
    ygs: 11 * h * w,
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
