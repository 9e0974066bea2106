import { GraphBuilder } from "../lib/ir/builder.ts";
import { inputFiles } from "./run.ts";
import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";
import { zoo } from "../lib/models/zoo.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { writeSafetensors } from "../interop/safetensors.ts";

Deno.test("cli run prints the top-5, the time and the difference from the reference", async () => {
  const r = await runCli(
    "run",
    "shufflenetv2",
    "--width",
    "0.5",
    "--resolution",
    "64",
    "--runs",
    "1",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^shufflenetv2: top-5 of sample 0\n {2}\(random weights, seed 0: .*\n( {2}class +\d+ {2}-?\d+\.\d+.*\n){5}/,
  );
  assert.match(r.stdout, /\d+\.\d\d ms\/inference \(1 runs, one thread\)/);
  assert.match(r.stdout, /max \|generated - reference\| = .*; top-1 agrees$/m);
});

Deno.test("cli run --json reads a raw float32 --input file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-cli-run-" });
  try {
    const input = new Float32Array(3 * 32 * 32).map((_, i) => Math.cos(i));
    await Deno.writeFile(`${dir}/x.bin`, new Uint8Array(input.buffer));
    const r = await runCli(
      "run",
      "mobilenetv1",
      "--width",
      "0.25",
      "--resolution",
      "32",
      "--input",
      `${dir}/x.bin`,
      "--runs",
      "1",
      "--json",
    );
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.matchesReference, true);
    assert.ok(j.maxAbsDiff <= 1e-4 * j.maxAbsReference);
    assert.equal(j.top5.length, 5);
    const bad = await runCli(
      "run",
      "mobilenetv1",
      "--resolution",
      "32",
      "--input",
      `${dir}/nope.bin`,
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: Cannot read ".*nope\.bin"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli run exit codes: 2 for bad usage", async () => {
  for (const args of [["run"], ["run", "mobilenetv2", "--runs", "0"], ["run", "nosuchnet"]]) {
    const r = await runCli(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /^error: [A-Z]/);
  }
});

Deno.test("cli run --weights reads a safetensors state_dict", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-cli-run-st-" });
  try {
    const graph = zoo.build("shufflenetv2", { width: 0.5, resolution: 32 });
    await Deno.writeFile(`${dir}/w.safetensors`, writeSafetensors(randomWeights(graph, 9)));
    const args = ["shufflenetv2", "--width", "0.5", "--resolution", "32"];
    const r = await runCli("run", ...args, "--weights", `${dir}/w.safetensors`, "--runs", "1");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /top-1 agrees$/m);
    const missing = await runCli("run", ...args, "--weights", `${dir}/nope.safetensors`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: Cannot read ".*nope\.safetensors"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run --input takes FILE for a one-input model and NAME=FILE per input otherwise", () => {
  const b = new GraphBuilder("two", [1, 2]);
  const y = b.addInput("scale", [1, 2]);
  const two = b.build(b.addTensors(b.input, y, "sum"));
  assert.deepEqual(
    [...inputFiles(two, ["scale=s.json", "input=a=b.bin"])],
    [["scale", "s.json"], ["input", "a=b.bin"]],
  );
  assert.throws(
    () => inputFiles(two, ["x.bin"]),
    /Invalid --input "x.bin": this model has 2 inputs; give each as NAME=FILE with NAME one of "input", "scale"/,
  );
  assert.throws(() => inputFiles(two, ["scale=a", "scale=b"]), /--input "scale" is given twice/);
  const one = new GraphBuilder("one", [1, 2]);
  const g = one.build(one.relu(one.input, "r"));
  // With one input, a path containing "=" is still a path.
  assert.deepEqual([...inputFiles(g, ["dir/k=v.bin"])], [["input", "dir/k=v.bin"]]);
});
