import assert from "node:assert/strict";
import { inferShapes } from "../analysis/shapes.ts";
import { zoo } from "./zoo.ts";
import { shufflenetv1 } from "./shufflenetv1.ts";

Deno.test("shufflenetv1 g=3 has Table 1's output sizes and channels", () => {
  const g = zoo.build("shufflenetv1", { groups: 3 });
  const s = inferShapes(g).shapes;
  assert.deepEqual(s.get("conv1.2"), [1, 24, 112, 112]);
  assert.deepEqual(s.get("maxpool"), [1, 24, 56, 56]);
  assert.deepEqual(s.get("stage2.3.relu"), [1, 240, 28, 28]);
  assert.deepEqual(s.get("stage3.7.relu"), [1, 480, 14, 14]);
  assert.deepEqual(s.get("stage4.3.relu"), [1, 960, 7, 7]);
  assert.deepEqual(s.get("fc"), [1, 1000]);
  assert.deepEqual(
    g.scopes.filter((x) => x.kind === "stage").map((x) => x.path),
    ["stage2", "stage3", "stage4"],
  );
  assert.equal(g.scopes.filter((x) => x.type === "shufflenetv1_unit").length, 4 + 8 + 4);
});

Deno.test("shufflenetv1 groups only the convs the paper groups", () => {
  const g = zoo.build("shufflenetv1", { groups: 8 });
  const conv = (name: string) => {
    const n = g.nodes.find((n) => n.name === name);
    assert.ok(n?.kind === "conv2d");
    return n.attrs;
  };
  assert.equal(conv("stage2.0.branch_main_1.0").groups, 1); // stage 2's first 1x1
  assert.equal(conv("stage2.1.branch_main_1.0").groups, 8);
  assert.equal(conv("stage2.0.branch_main_2.0").groups, 8);
  assert.equal(conv("stage2.0.branch_main_2.0").outChannels, 384 - 24); // out - in
  assert.equal(conv("stage3.0.branch_main_1.3").groups, 768 / 4); // depthwise, bottleneck out/4
  const fc = g.nodes.find((n) => n.name === "fc");
  assert.ok(fc?.kind === "linear" && !fc.attrs.bias); // the authors' classifier has no bias
});

Deno.test("shufflenetv1 stems follow the authors' code: 12/16 at 0.5x, 24 at 1x and 1.5x, 48 at 2x", () => {
  const stem = (groups: number, width: number) => {
    const n = zoo.build("shufflenetv1", { groups, width }).nodes[0];
    return n.kind === "conv2d" ? n.attrs.outChannels : 0;
  };
  assert.deepEqual([0.5, 1, 1.5, 2].map((w) => stem(3, w)), [12, 24, 24, 48]);
  assert.deepEqual([0.5, 1, 1.5, 2].map((w) => stem(8, w)), [16, 24, 24, 48]);
  assert.equal(stem(3, 0.25), 12);
});

Deno.test("shufflenetv1 builds every published groups x width pair", () => {
  for (const groups of [1, 2, 3, 4, 8]) {
    for (const width of [0.25, 0.5, 1, 1.5, 2]) {
      const g = shufflenetv1.build({ groups, width, resolution: 224, classes: 1000 });
      assert.deepEqual(inferShapes(g).shapes.get("fc"), [1, 1000], `g=${groups} s=${width}`);
    }
  }
});

Deno.test("shufflenetv1 rejects groups and widths outside the paper's", () => {
  assert.throws(() => zoo.build("shufflenetv1", { groups: 5 }), {
    name: "KnobError",
    message:
      'Invalid --groups 5 for "shufflenetv1": not one of the choices; accepts one of 1, 2, 3, 4, 8',
  });
  assert.throws(
    () => zoo.build("shufflenetv1", { width: 0.75 }),
    /accepts one of 0.25, 0.5, 1, 1.5, 2/,
  );
});
