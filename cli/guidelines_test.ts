import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";

Deno.test("cli guidelines prints the summary and the non-passing findings", async () => {
  const r = await runCli("guidelines", "mobilenetv2");
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^G1 +warn +\d+\/\d+\/\d+ +34 1x1 convs/m);
  assert.match(r.stdout, /^warn +features\.2\.conv\.0\.0 +16:96 \(1:6\) .* \+42\.8%/m);
  assert.doesNotMatch(r.stdout, /^pass +features/m); // passes need --all
});

Deno.test("cli guidelines --json has every finding type and the thresholds", async () => {
  const r = await runCli("guidelines", "shufflenetv1", "--groups", "8", "--all", "--json");
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout);
  assert.equal(j.schema, "lightnets.guidelines/1");
  assert.deepEqual(
    [...new Set(j.findings.map((f: { guideline: string }) => f.guideline))],
    ["G1", "G2", "G3", "G4"],
  );
  assert.equal(j.summary.G2.severity, "warn");
  assert.equal(j.thresholds.g2WarnFactor, 1.4);
});

Deno.test("cli guidelines --only and --format md, csv", async () => {
  const md = await runCli(
    "guidelines",
    "sv2_g2",
    "--groups",
    "4",
    "--only",
    "g2",
    "--format",
    "md",
  );
  assert.equal(md.code, 0);
  assert.match(md.stdout, /^### G2: 10 of 10 listed$/m);
  assert.doesNotMatch(md.stdout, /### G1/);
  const csv = await runCli("guidelines", "sv2_g3", "--fragments", "4-parallel", "--format", "csv");
  assert.equal(csv.code, 0);
  assert.match(csv.stdout.split("\n")[0], /^guideline,severity,path,message,suggestion$/);
  assert.match(csv.stdout, /^G3,warn,blocks\.0,/m);
});

Deno.test("cli guidelines exit codes: 2 for bad usage", async () => {
  for (
    const args of [
      ["guidelines"],
      ["guidelines", "nosuchnet"],
      ["guidelines", "mobilenetv2", "--only", "G5"],
      ["guidelines", "mobilenetv2", "--format", "xml"],
      ["guidelines", "sv2_g1", "--ratio", "1:3"],
    ]
  ) {
    const r = await runCli(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /^error: [A-Z]/);
    assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
  }
  const help = await runCli("guidelines", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno run cli.ts guidelines/);
});
