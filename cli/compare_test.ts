import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";
import { checkXml } from "../lib/analysis/_xml_check.ts";
import { publishedVariants } from "../lib/models/zoo.ts";

Deno.test("cli compare prints one row per named model", async () => {
  const r = await runCli("compare", "mobilenetv1", "mobilenetv2", "shufflenetv2", "--sort=-madds");
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  const lines = r.stdout.split("\n");
  assert.match(
    lines[0],
    /^model +params +MAdds +MAC +peak \(fp32\) +in place +Table 3 \(fp16\) +G1 +G2 +G3 +G4$/,
  );
  assert.deepEqual(lines.slice(2).map((l) => l.split(/\s+/)[0]), [
    "mobilenetv1", // 569M (MobileNet V1 Table 7)
    "mobilenetv2", // 300M (MobileNetV2 Table 4)
    "shufflenetv2", // 146M (ShuffleNet V2 Table 5)
  ]);
});

Deno.test("cli compare defaults to every published variant, as JSON with exact figures", async () => {
  const r = await runCli("compare", "--json");
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout);
  assert.equal(j.schema, "lightnets.compare/1");
  assert.equal(j.rows.length, publishedVariants().length);
  const v1 = j.rows.find((x: { label: string }) => x.label === "mobilenetv1");
  assert.equal(v1.madds, 568_740_352); // MobileNet V1 Table 7: 569M
  assert.equal(v1.peakElements, 2 * 64 * 112 * 112); // pw conv output and its BN output
  assert.deepEqual(Object.keys(v1.guidelines), ["G1", "G2", "G3", "G4"]);
});

Deno.test("cli compare --published --format csv sorts by a field", async () => {
  const r = await runCli("compare", "sv2_g2", "--published", "--format", "csv", "--sort", "mac");
  assert.equal(r.code, 0);
  const rows = r.stdout.split("\n").slice(1).map((l) => l.split(","));
  assert.equal(rows.length, 8); // Table 2: g = 1, 2, 4, 8 on GPU and ARM
  const mac = rows.map((x) => Number(x[3]));
  assert.deepEqual(mac, [...mac].sort((a, b) => a - b));
});

Deno.test("cli compare --svg writes a well-formed SVG naming every variant", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/zoo.svg`;
    const r = await runCli(
      "compare",
      "mobilenetv1",
      "shufflenetv1",
      "squeezenet1_1",
      "--width",
      "0.5",
      "--svg",
      path,
      "--layers",
      "squeezenet1_1",
    );
    // squeezenet1_1 has no --width knob: bad usage, and no file written.
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option --width: not an option of this command nor a knob/);
    const ok = await runCli("compare", "--svg", path, "--layers", "shufflenetv2");
    assert.equal(ok.code, 0);
    const svg = await Deno.readTextFile(path);
    checkXml(svg);
    for (const v of JSON.parse((await runCli("compare", "--json")).stdout).rows) {
      assert.ok(svg.includes(`>${v.label}</text>`), v.label);
    }
    assert.match(svg, /shufflenetv2: share of MAdds against share of MAC per layer/);
    assert.ok(svg.includes(">stage2.0.branch1.0</text>"));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["zoo.svg"]); // no temp file left
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli compare exit codes: 1 for an unwritable --svg path, 2 for bad usage", async () => {
  const r = await runCli("compare", "shufflenetv2", "--svg", "/nonexistent-dir/x.svg");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: Cannot write "\/nonexistent-dir\/x\.svg": /);
  for (
    const args of [
      ["compare", "--sort", "speed"],
      ["compare", "--format", "xml"],
      ["compare", "nosuchnet"],
      ["compare", "--width", "0.5"],
      ["compare", "mobilenetv2", "--layers", "nosuch"],
    ]
  ) {
    const bad = await runCli(...args);
    assert.equal(bad.code, 2, args.join(" "));
    assert.match(bad.stderr, /^error: /);
  }
});

Deno.test("cli compare takes an .onnx file beside zoo models, with the same figures", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-compare-onnx-" });
  try {
    const path = `${dir}/g1.onnx`;
    assert.equal((await runCli("export-onnx", "sv2_g1", "--out", path)).code, 0);
    const r = await runCli("compare", path, "sv2_g1", "--json");
    assert.equal(r.code, 0, r.stderr);
    const [fromFile, fromZoo] = JSON.parse(r.stdout).rows;
    assert.equal(fromFile.label, "g1.onnx"); // not in the zoo: labelled by its file name
    for (const field of ["params", "madds", "mac", "peakElements"]) {
      assert.equal(fromFile[field], fromZoo[field], field);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
