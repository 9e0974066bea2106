import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";

Deno.test("cli analyze --symbolic prints exact expressions of H, W and alpha for MobileNet V1", async () => {
  const r = await runCli("analyze", "mobilenetv1", "--symbolic", "--depth", "1");
  assert.equal(r.code, 0);
  assert.match(
    r.stdout,
    /^Symbolic cost of mobilenetv1: exact for integers H >= 1, W >= 1; int\(A\*c\)/m,
  );
  assert.match(
    r.stdout,
    /^MAdds\(H, W, A\) = .*int\(A\*32\)\*int\(A\*64\)\*floor\(\(H\+1\)\/2\)\*floor\(\(W\+1\)\/2\)/m,
  );
  assert.match(r.stdout, /^On H a multiple of 32 and W a multiple of 32:$/m);
});

Deno.test("cli analyze --symbolic says why alpha is not a symbol", async () => {
  const r = await runCli("analyze", "shufflenetv2", "--symbolic", "--depth", "1");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\(alpha is not a symbol: at width 0\.5, "conv1\.0" has 24 channels/m);
  // ShuffleNet V2 Table 5: 146M FLOPs (= MAdds) at 224; 367051/128 * 224^2 + 1024000 = 146.9M.
  assert.match(r.stdout, /^MAdds\(H, W\) = 367051\/128\*H\*W \+ 1024000$/m);
});

Deno.test("cli analyze --guidelines --symbolic --json adds both sections", async () => {
  const r = await runCli("analyze", "mobilenetv2", "--guidelines", "--symbolic", "--json");
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout);
  assert.equal(j.guidelines.schema, "lightnets.guidelines/1");
  assert.equal(j.guidelines.summary.G1.severity, "warn");
  assert.equal(j.symbolic.schema, "lightnets.symbolic/1");
  assert.deepEqual(j.symbolic.domain, { minH: 1, minW: 1, periodH: 32, periodW: 32 });
  assert.match(j.symbolic.widthNote, /different structure|channels where int/);
});

Deno.test("cli analyze --guidelines prints the summary after the report; csv is bad usage", async () => {
  const r = await runCli("analyze", "shufflenetv2", "--guidelines", "--depth", "1");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Guidelines \(ShuffleNet V2 G1-G4\)$/m);
  assert.match(r.stdout, /^G2 +pass +0\/0\/0 +no grouped convs/m);
  const bad = await runCli("analyze", "shufflenetv2", "--guidelines", "--format", "csv");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /need --format table, md or json/);
});
