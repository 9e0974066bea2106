/**
 * The CLI as a user sees it: output, exit codes (0 ok, 1 failed, 2 bad usage),
 * the JSON schema, and errors on stderr. Most tests call `main()` in-process
 * with console output captured; one runs `deno run cli.ts analyze shufflenetv2`
 * as a subprocess without any permission flag.
 */
import assert from "node:assert/strict";
import { SCHEMA } from "../lib/analysis/report.ts";
import { zoo } from "../lib/models/zoo.ts";
import { ShapeError } from "../lib/ir/ops.ts";
import { guard } from "../cli/_common.ts";
import { runCli } from "../cli/_capture.ts";

const cli = runCli;
type Run = Awaited<ReturnType<typeof runCli>>;

Deno.test("cli analyze shufflenetv2 runs without permission flags", async () => {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "cli.ts", "analyze", "shufflenetv2"],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(new TextDecoder().decode(stderr), ""); // no permission prompt, no warning
  assert.equal(code, 0);
  assert.match(text, /^shufflenetv2 {2}width=1 resolution=224 classes=1000$/m);
  assert.match(text, /^stage2 total +\d+ layers +1x116x28x28/m); // Table 5: stage2 116 channels at 28x28
  assert.match(text, /^ {2}MAdds +[\d,]+ +14\dM/m); // Table 5: 146M FLOPs (= MAdds)
});

Deno.test("cli analyze prints per-layer rows, stage subtotals and totals with units", async () => {
  const r = await cli("analyze", "mobilenetv1");
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^path +op +output +params +MAdds +MAdds% +MAC +MAC%$/m);
  assert.match(r.stdout, /^fc +fc +1x1000 +1\.02M +1\.02M/m); // 1024 x 1000 weights + 1000 bias
  assert.match(r.stdout, /^ {2}MAdds +568,740,352 +569M/m); // MobileNet V1 Table 7: 569M
  assert.match(r.stdout, /^ {2}MAC bytes +[\d,]+ +[\d.]+ MB +as float32$/m);
  assert.match(r.stdout, /^conv1x1 +13 +/m);
  for (const line of r.stdout.split("\n")) assert.ok(line.length <= 100, line);
});

Deno.test("cli analyze --depth 1 collapses rows to top-level modules", async () => {
  const r = await cli("analyze", "shufflenetv2", "--depth", "1");
  assert.equal(r.code, 0);
  const body = r.stdout.slice(0, r.stdout.indexOf("\ntotals\n"));
  const rows = body.split("\n").filter((l) => /^(conv1|maxpool|stage\d|conv5|fc)\s/.test(l));
  assert.deepEqual(rows.map((l) => l.split(/\s+/)[0]), [
    "conv1",
    "maxpool",
    "stage2",
    "stage3",
    "stage4",
    "conv5",
    "fc",
  ]);
});

Deno.test("cli analyze --json prints the documented schema", async () => {
  const r = await cli("analyze", "mobilenetv2", "--width", "0.5", "--resolution", "160", "--json");
  assert.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  assert.equal(report.schema, SCHEMA);
  assert.equal(report.model, "mobilenetv2");
  assert.equal(report.knobs.width, 0.5);
  assert.deepEqual(report.input, [1, 3, 160, 160]);
  for (const key of ["total", "weights", "bias", "bn"]) {
    assert.equal(typeof report.totals.params[key], "number");
  }
  for (const key of ["madds", "buffers"]) assert.equal(typeof report.totals[key], "number");
  assert.equal(report.totals.mac.dtype, "float32");
  assert.equal(report.totals.mac.bytes, 4 * report.totals.mac.elements);
  assert.equal(
    report.totals.flops.total,
    report.layers.reduce((a: number, l: { flops: { total: number } }) => a + l.flops.total, 0),
  );
  const layer = report.layers[0];
  for (
    const key of [
      "path",
      "op",
      "type",
      "inputShapes",
      "outputShape",
      "params",
      "madds",
      "flops",
      "mac",
      "activations",
    ]
  ) {
    assert.ok(key in layer, `layer has no "${key}"`);
  }
  for (const key of ["conventions", "groups", "stages", "byOpType"]) assert.ok(key in report, key);
  // Official MobileNet V2 checkpoint table: 0.5 at 160 = 50M MAdds.
  assert.equal(Math.round(report.totals.madds / 1e6), 50);
});

Deno.test("cli analyze --format md, csv and --dtype float16", async () => {
  const md = await cli("analyze", "squeezenet1_1", "--format", "md");
  assert.equal(md.code, 0);
  assert.match(md.stdout, /^## squeezenet1_1 \(resolution=224 classes=1000\)$/m);
  const csv = await cli("analyze", "squeezenet1_1", "--format=csv", "--dtype", "float16");
  assert.equal(csv.code, 0);
  const [head, first] = csv.stdout.split("\n");
  assert.match(head, /^path,op,type,output_shape,params,/);
  const cols = head.split(",");
  const cells = first.split(",");
  assert.equal(
    Number(cells[cols.indexOf("mac_bytes")]),
    2 * Number(cells[cols.indexOf("mac_elements")]), // float16: 2 bytes per element
  );
});

Deno.test("cli analyze accepts torchvision aliases and boolean knob words", async () => {
  const r = await cli("analyze", "shufflenet_v2_x0_5", "--json");
  assert.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  assert.equal(report.model, "shufflenetv2");
  assert.equal(report.knobs.width, 0.5);
});

Deno.test("cli analyze suggests close names for an unknown model (exit 2)", async () => {
  const r = await cli("analyze", "shufflenetv3");
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^error: Unknown model "shufflenetv3"; did you mean .*"shufflenetv2"/);
  assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
});

Deno.test("cli analyze says what a knob accepts (exit 2)", async () => {
  const bad = await cli("analyze", "shufflenetv2", "--width", "3");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid --width 3 for "shufflenetv2".*accepts one of 0.5, 1, 1.5, 2/);
  const nan = await cli("analyze", "mobilenetv1", "--width", "wide");
  assert.equal(nan.code, 2);
  assert.match(nan.stderr, /Invalid --width "wide" for "mobilenetv1": expected a number/);
  const none = await cli("analyze", "squeezenet1_0", "--width", "0.5");
  assert.equal(none.code, 2);
  assert.match(
    none.stderr,
    /Unknown option --width: not an option of this command nor a knob of "squeezenet1_0" \(knobs: --resolution/,
  );
});

Deno.test("cli analyze rejects bad options with exit 2", async () => {
  for (
    const [args, message] of [
      [["analyze"], /Missing model name/],
      [["analyze", "a", "b"], /Expected one model, got 2/],
      [["analyze", "mobilenetv1", "--format", "xml"], /Invalid --format "xml": expected one of/],
      [["analyze", "mobilenetv1", "--depth", "0"], /Invalid --depth "0": expected a positive/],
      [["analyze", "mobilenetv1", "--dtype", "f64"], /Invalid --dtype "f64": expected one of/],
      [["analyze", "mobilenetv1", "--json", "--format", "md"], /Conflicting --json and --format/],
    ] as const
  ) {
    const r = await cli(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message);
  }
});

Deno.test("cli commands exit 1 on a failed analysis, without a stack trace", async () => {
  // Every knob value the zoo accepts gives a valid graph (each model's --resolution minimum is
  // its smallest valid input), so a failure is provoked directly through the commands' guard.
  const err: string[] = [];
  const { error } = console;
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await guard(() => {
      throw new ShapeError("stage2.0.branch2.0", "input has 24 channels, expected 32");
    });
    assert.equal(code, 1);
  } finally {
    console.error = error;
  }
  assert.deepEqual(err, [
    'error: Cannot infer shape of "stage2.0.branch2.0": input has 24 channels, expected 32',
  ]);
});

Deno.test("cli list shows every model, knobs with published values, aliases", async () => {
  const r = await cli("list");
  assert.equal(r.code, 0);
  for (const m of zoo.list()) {
    assert.match(r.stdout, new RegExp(`^${m.name} `, "m"));
    for (const alias of Object.keys(m.aliases ?? {})) assert.ok(r.stdout.includes(alias), alias);
  }
  assert.match(r.stdout, /^ {2}--width +0\.5, 1\*, 1\.5, 2$/m); // shufflenetv2, Table 5 widths
  for (const line of r.stdout.split("\n")) assert.ok(line.length <= 100, line);
  const json = JSON.parse((await cli("list", "--json")).stdout);
  assert.equal(json.schema, "lightnets.list/1");
  assert.deepEqual(json.models.map((m: { name: string }) => m.name), zoo.list().map((m) => m.name));
  assert.equal((await cli("list", "extra")).code, 2);
});

Deno.test("cli --help works for the dispatcher and every command", async () => {
  const top = await cli("--help");
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Commands:/);
  const commands = [...top.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]);
  assert.ok(commands.includes("analyze") && commands.includes("list"), commands.join(" "));
  for (const command of commands) {
    const r = await cli(command, "--help");
    assert.equal(r.code, 0, `${command} --help exits ${r.code}: ${r.stderr}`);
    // Commands that need permissions show their flags: `deno run -A cli.ts codegen ...`.
    assert.match(r.stdout, new RegExp(`Usage: deno run (-\\S+ )*cli\\.ts ${command}\\b`));
  }
  assert.equal((await cli()).code, 2);
  const unknown = await cli("analyse");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "analyse"/);
});

/** Runs `deno run --no-prompt cli.ts ...args` with no permission flag. */
async function cliNoPermissions(...args: string[]): Promise<Run> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "cli.ts", ...args],
    cwd: new URL("..", import.meta.url),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

Deno.test("cli codegen, run and export-onnx show --help without permissions and name the missing ones", async () => {
  for (const command of ["codegen", "run", "export-onnx"]) {
    const help = await cliNoPermissions(command, "--help");
    assert.equal(help.code, 0, `${command} --help: ${help.stderr}`);
    assert.match(help.stdout, /^Usage: deno run -A cli\.ts /);
  }
  const codegen = await cliNoPermissions("codegen", "sv2_g1");
  assert.equal(codegen.code, 1);
  assert.match(codegen.stderr, /^error: Cannot load the code generator .*needs --allow-env .*\n$/);
  const onnx = await cliNoPermissions("export-onnx", "sv2_g1", "--out", "x.onnx");
  assert.equal(onnx.code, 1);
  assert.match(onnx.stderr, /^error: Cannot write "x\.onnx": needs --allow-write and --allow-read/);
});

Deno.test("cli usage errors are one line naming the flag and what it expects", async () => {
  const cases: [string[], RegExp][] = [
    [["analyze", "shufflenetv2", "--depth", "-1"], /^error: Invalid --depth "-1": expected/],
    [["compare", "sv2_g1", "--sort", "-bogus"], /^error: Invalid --sort "-bogus": expected/],
    [["analyze", "mobilenetv1", "--width"], /^error: Missing value for --width of "mobilenetv1"/],
    [["export-onnx", "sv2_g1", "--out", "--json"], /^error: Missing value for --out /],
    [["analyze", "-x", "sv2_g1"], /^error: Unknown option '-x' \(run with --help/],
    [["analyse", "sv2_g1"], /^error: Unknown command "analyse"; did you mean "analyze"\?/],
    [
      ["analyze", "shufflenetv2", "--widht", "1"],
      /^error: Unknown option --widht \(did you mean --width\?\): not an option/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.split("\n").length, 1, r.stderr);
  }
  // `--sort -madds` is a value, not an unknown flag.
  assert.equal((await cli("compare", "sv2_g1", "--sort", "-madds")).code, 0);
});
