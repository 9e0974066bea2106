import assert from "node:assert/strict";
import { inferShapes } from "../analysis/shapes.ts";
import { KnobError } from "./registry.ts";
import { zoo } from "./zoo.ts";

Deno.test("mobilenetv1 follows Table 1: 112, 56, 28, 14 and 7 pixel maps, 1024 channels", () => {
  const s = inferShapes(zoo.build("mobilenetv1")).shapes;
  assert.deepEqual(s.get("features.0.2"), [1, 32, 112, 112]);
  assert.deepEqual(s.get("features.1.pw.2"), [1, 64, 112, 112]);
  assert.deepEqual(s.get("features.3.pw.2"), [1, 128, 56, 56]);
  assert.deepEqual(s.get("features.5.pw.2"), [1, 256, 28, 28]);
  assert.deepEqual(s.get("features.11.pw.2"), [1, 512, 14, 14]);
  assert.deepEqual(s.get("features.12.pw.2"), [1, 1024, 7, 7]);
  // The last block keeps 7x7 (Table 1's "s2" there is a typo).
  assert.deepEqual(s.get("features.13.pw.2"), [1, 1024, 7, 7]);
  assert.deepEqual(s.get("fc"), [1, 1000]);
});

Deno.test("mobilenetv1 --width alpha makes every channel count int(alpha * c)", () => {
  const g = zoo.build("mobilenetv1", { width: 0.3 });
  const convs = g.nodes.filter((n) => n.kind === "conv2d");
  assert.equal(convs[0].attrs.outChannels, 9); // int(0.3 * 32) = 9
  assert.equal(convs.at(-1)?.attrs.outChannels, 307); // int(0.3 * 1024) = 307
  assert.ok(convs.every((c) => c.kind !== "conv2d" || c.attrs.bias === false));
  const fc = g.nodes.find((n) => n.name === "fc");
  assert.ok(fc?.kind === "linear" && fc.attrs.inFeatures === 307 && fc.attrs.bias);
});

Deno.test("mobilenetv1 --resolution 160 gives a 5x5 last map; any resolution >= 1 is valid", () => {
  assert.deepEqual(
    inferShapes(zoo.build("mobilenetv1", { resolution: 160 })).shapes.get("features.13.pw.2"),
    [1, 1024, 5, 5],
  );
  assert.deepEqual(
    inferShapes(zoo.build("mobilenetv1", { resolution: 1 })).shapes.get("features.13.pw.2"),
    [1, 1024, 1, 1],
  );
  assert.throws(() => zoo.build("mobilenetv1", { resolution: 0 }), KnobError);
  assert.throws(() => zoo.build("mobilenetv1", { resolution: 100.5 }), /not an integer/);
});

Deno.test("mobilenetv1 rejects a width that leaves the stem without channels", () => {
  assert.throws(() => zoo.build("mobilenetv1", { width: 0.02 }), {
    name: "KnobError",
    message:
      'Invalid --width 0.02 for "mobilenetv1": below 0.03125; accepts a number in [0.03125, 4]',
  });
  inferShapes(zoo.build("mobilenetv1", { width: 1 / 32 }));
});
