/**
 * Codegen of general graphs: several inputs and outputs, outputs that are
 * also read, that are inputs or views, and two computed branches meeting in
 * an add or a concat. Every case runs the generated module against the
 * reference executor with NaN-prefilled outputs (codegen/_testing.ts).
 */
import assert from "node:assert/strict";
import { GraphBuilder, type Tensor } from "../lib/ir/builder.ts";
import { randomWeights } from "../lib/runtime/weights.ts";
import { differential } from "./_testing.ts";
import { compile, loadModule } from "./compile.ts";

const conv = (b: GraphBuilder, x: Tensor, out: number, name: string, kernel = 3, stride = 1) =>
  b.conv2d(x, { out, kernel, stride, bias: true }, name);

Deno.test("add(conv(x), conv(x)) and add(relu(conv x), conv x) compile, either order", async () => {
  for (const order of ["ab", "ba"]) {
    for (const act of [false, true]) {
      for (const kernel of [1, 3]) {
        const b = new GraphBuilder(`meet_${order}_${act}_${kernel}`, [1, 4, 7, 5]);
        const first = conv(b, b.input, 6, "a", kernel);
        const second = conv(b, b.input, 6, "b", kernel);
        const left = act ? b.relu(first, "a_act") : first;
        const [p, q] = order === "ab" ? [left, second] : [second, left];
        const g = b.build(b.relu(b.addTensors(p, q, "add"), "out"));
        await differential(g, kernel + (act ? 10 : 0));
      }
    }
  }
});

Deno.test("two branches of different producers meet in add and concat (pool, depthwise, linear-free)", async () => {
  const b = new GraphBuilder("branches", [1, 8, 9, 9]);
  const dw = b.relu6(b.conv2d(b.input, { out: 8, kernel: 3, groups: 8 }, "dw"), "dw_act");
  const pw = conv(b, b.input, 8, "pw", 1);
  const pool = b.maxPool(b.input, { kernel: 3, stride: 1, padding: 1 }, "pool");
  const sum = b.addTensors(dw, pw, "sum");
  const cat = b.concat([sum, pool, pw], "cat");
  await differential(b.build(conv(b, cat, 5, "head", 3, 2)), 3);
});

Deno.test("two inputs, four outputs: one read later, one a graph input, one a flatten view", async () => {
  const b = new GraphBuilder("multi", [1, 3, 6, 6]);
  const y = b.addInput("second", [1, 3, 6, 6]);
  const feat = b.relu(conv(b, b.input, 4, "feat"), "feat_act");
  const other = conv(b, y, 4, "other", 1);
  const sum = b.addTensors(feat, other, "sum");
  const pooled = b.globalAvgPool(sum, "gap");
  const logits = b.linear(b.flatten(pooled, "flat"), { out: 5 }, "fc");
  const g = b.build({ logits, features: feat, echo: y, flat: b.flatten(sum, "flat_sum") });
  const { compiled } = await differential(g, 5);
  const mod = await loadModule(compiled.source);
  assert.deepEqual(mod.inputNames, ["input", "second"]);
  assert.deepEqual(mod.inputShapes, [[1, 3, 6, 6], [1, 3, 6, 6]]);
  assert.deepEqual(mod.outputNames, ["logits", "features", "echo", "flat"]);
  assert.deepEqual(mod.outputShapes, [[1, 5], [1, 4, 6, 6], [1, 3, 6, 6], [1, 144]]);
  assert.deepEqual(mod.outputShape, [1, 5]);
  const inputs = { input: new Float32Array(108).fill(0.5), second: new Float32Array(108) };
  const all = mod.inferAll(inputs);
  assert.deepEqual(Object.keys(all), ["logits", "features", "echo", "flat"]);
  assert.deepEqual([...mod.infer(inputs)], [...all.logits]);
  assert.throws(() => mod.infer(new Float32Array(108)), /record of 2 inputs keyed by name/);
  assert.throws(() => mod.infer({ input: inputs.input }), /Input "second" must be a Float32Array/);
  assert.throws(
    () => mod.infer({ ...inputs, third: inputs.input }),
    /Unknown input "third"; expected "input", "second"/,
  );
});

Deno.test("an output read by a later node and the same tensor named by two outputs", async () => {
  const b = new GraphBuilder("shared", [2, 4, 5, 5]);
  const c = conv(b, b.input, 4, "c");
  const d = b.relu(conv(b, c, 4, "d"), "d_act");
  const g = b.build({ last: d, mid: c, again: c, cat: b.concat([c, d], "cat") });
  const r = await differential(g, 7);
  assert.equal(r.compiled.plan.batch, 2);
});

Deno.test("a one-input module keeps its Float32Array API and error text", async () => {
  const b = new GraphBuilder("one", [1, 2, 3, 3]);
  const g = b.build(b.relu(b.input, "r"));
  const mod = await loadModule(compile(g, randomWeights(g, 1)).source);
  assert.deepEqual(mod.inputNames, ["input"]);
  assert.deepEqual(Object.keys(mod.inferAll(new Float32Array(18))), ["r"]);
  assert.deepEqual([...mod.infer({ input: new Float32Array(18).fill(-1) })], new Array(18).fill(0));
  assert.throws(
    () => mod.infer(new Float32Array(3)),
    /^TypeError: Input must be a Float32Array of 18 elements \(1x2x3x3\), got 3 elements$/,
  );
});

Deno.test("outputs that are views: a reshape of an input, a channel split, a placed concat", async () => {
  const b = new GraphBuilder("views", [1, 6, 4, 4]);
  const conv6 = conv(b, b.input, 6, "c6", 1);
  const left = b.split(conv6, 0, 2, "left");
  const cat = b.concat([b.relu(left, "lr"), conv(b, b.input, 3, "c3")], "cat");
  const g = b.build({
    cat,
    left,
    flat_in: b.reshape(b.input, [1, 96], "flat_in"),
    mixed: b.binary("mul", b.softmax(cat, "sm", 2), conv(b, cat, 5, "c5", 1, 1), "mixed"),
  });
  await differential(g, 41);
});

Deno.test("a several-output module run directly prints every output, and --json the same", async () => {
  const b = new GraphBuilder("entry", [1, 3, 4, 4]);
  const feat = b.relu(conv(b, b.input, 2, "feat"), "feat_act");
  const logits = b.linear(b.flatten(b.globalAvgPool(feat, "gap"), "flat"), { out: 6 }, "fc");
  const g = b.build({ logits, "boxes/raw": feat });
  const dir = await Deno.makeTempDir({ prefix: "lightnets-entry-" });
  try {
    const path = `${dir}/entry.gen.ts`;
    await Deno.writeTextFile(path, compile(g, randomWeights(g, 3)).source);
    const run = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), { args: ["run", path, ...args] })
        .output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return new TextDecoder().decode(out.stdout);
    };
    const text = await run();
    assert.match(text, /^output "logits" \[1, 6\]: top-5 of sample 0\n( {2}class +\d .*\n){5}/);
    assert.match(
      text,
      /\noutput "boxes\/raw" \[1, 2, 4, 4\]: min \S+ {2}max \S+ {2}mean \S+\n {2}first 8: /,
    );
    const json = JSON.parse(await run("--json"));
    assert.deepEqual(json.outputs.map((o: { name: string }) => o.name), ["logits", "boxes/raw"]);
    assert.equal(json.outputs[0].top5.length, 5);
    assert.equal(json.outputs[1].first.length, 8);
    assert.ok(json.outputs[1].min >= 0, "a relu output has no negative value");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inputs and outputs named like Object.prototype members stay own, ordinary keys", async () => {
  const b = new GraphBuilder("protos", [1, 2, 3]);
  const ctor = b.addInput("constructor", [1, 2, 3]);
  const sum = b.addTensors(b.input, ctor, "sum");
  const g = b.build({ ["__proto__"]: sum, toString: b.relu(sum, "r"), hasOwnProperty: ctor });
  assert.deepEqual(g.outputs.map((o) => o.name), ["__proto__", "toString", "hasOwnProperty"]);
  const { compiled } = await differential(g, 71);
  const mod = await loadModule(compiled.source);
  const all = mod.inferAll(
    Object.fromEntries([["input", new Float32Array(6)], ["constructor", new Float32Array(6)]]),
  );
  assert.deepEqual(Object.keys(all), ["__proto__", "toString", "hasOwnProperty"]);
  assert.ok(Object.hasOwn(all, "__proto__") && all["__proto__"] instanceof Float32Array);
});

Deno.test("DenseNet's nested concats share one buffer: no copy, same results", async () => {
  const b = new GraphBuilder("dense", [1, 4, 5, 5]);
  const features: Tensor[] = [conv(b, b.input, 4, "stem")];
  let cat: Tensor = features[0];
  for (let k = 0; k < 4; k++) {
    const x = conv(b, b.relu(cat, `act${k}`), 3, `layer${k}`);
    features.push(x);
    cat = b.concat([...features], `cat${k}`);
  }
  const r = await differential(b.build(conv(b, cat, 2, "head", 1)), 81);
  // Each concat is the front of the next; every layer writes its slot of the last one.
  assert.deepEqual(r.compiled.plan.copies, []);
  assert.equal(r.compiled.plan.steps.filter((s) => s.spec.family === "copy").length, 0);
});

Deno.test("a graph without nodes, and a constant written into its concat slot (channel zero padding)", async () => {
  const b0 = new GraphBuilder("identity", [1, 3, 2, 2]);
  const r0 = await differential(b0.build(b0.input), 91);
  assert.deepEqual(r0.compiled.plan.steps.map((s) => s.spec.family), ["copy"]);

  const b = new GraphBuilder("zero_pad", [1, 3, 4, 4]);
  const x = conv(b, b.input, 5, "c", 1);
  const g = b.build(b.relu(b.concat([x, b.constant([1, 3, 4, 4], "zeros")], "cat"), "out"));
  const r = await differential(g, 92);
  assert.deepEqual(r.compiled.plan.copies, []);
});

Deno.test("a module whose input is neither 1x3xHxW nor 1xHxWx3 refuses --image with exit 2", async () => {
  const b = new GraphBuilder("nhwc", [1, 8, 8, 5]);
  const g = b.build(b.relu(b.transpose(b.input, [0, 3, 1, 2], "t"), "r"));
  const dir = await Deno.makeTempDir({ prefix: "lightnets-entry-nhwc-" });
  try {
    const path = `${dir}/nhwc.gen.ts`;
    await Deno.writeTextFile(path, compile(g, new Map()).source);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", path, "--image", `${dir}/face.png`],
    }).output();
    assert.equal(out.code, 2);
    assert.equal(
      new TextDecoder().decode(out.stderr),
      "error: --image needs a model with input 1x3xHxW or 1xHxWx3, this one takes 1x8x8x5\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a detection head's concat(reshape(transpose(conv))) has every producer write its slot", async () => {
  const b = new GraphBuilder("heads", [1, 4, 6, 6]);
  const parts: Tensor[] = [];
  for (const [k, stride] of [[0, 1], [1, 2], [2, 3]] as const) {
    const c = conv(b, b.input, 4, `head${k}`, 3, stride); // [1, 4, h, w]
    const hw = c.shape[2] * c.shape[3];
    const t = b.transpose(c, [0, 2, 3, 1], `t${k}`); // NHWC
    parts.push(b.reshape(t, [1, hw * 2, 2], `r${k}`)); // two boxes of 2 per position
  }
  parts.push(b.reshape(conv(b, b.input, 2, "direct", 1), [1, 36, 2], "r3"));
  const boxes = b.concat(parts, "boxes", 1);
  const r = await differential(b.build({ boxes, scores: b.softmax(boxes, "scores", 2) }), 93);
  assert.deepEqual(r.compiled.plan.copies, []);
});

Deno.test("batch 2 with broadcast constants (anchors, a per-channel shift) still runs per sample", async () => {
  const b = new GraphBuilder("anchors", [2, 4, 5, 5]);
  const c = conv(b, b.input, 6, "c");
  const shifted = b.binary("add", c, b.constant([1, 6, 1, 1], "shift"), "shifted");
  const boxes = b.reshape(b.transpose(shifted, [0, 2, 3, 1], "t"), [2, 75, 2], "boxes");
  const decoded = b.binary("mul", boxes, b.constant([75, 2], "anchors"), "decoded");
  const r = await differential(b.build({ decoded, shifted }), 94);
  assert.equal(r.compiled.plan.batch, 2);
  assert.ok(!r.compiled.generalLayers.includes("c"), "the conv keeps its specialized kernel");
});
