import assert from "node:assert/strict";
import { inferShapes } from "../analysis/shapes.ts";
import { zoo } from "./zoo.ts";
import { squeezenet1_0, squeezenet1_1 } from "./squeezenet.ts";

Deno.test("squeezenet1_0 maps 224x224 to 1000 classes through 54, 27 and 13 pixel maps", () => {
  const s = inferShapes(zoo.build("squeezenet1_0")).shapes;
  // conv1 7x7/2 without padding: (224 - 7) / 2 + 1 = 109; ceil-mode pool: ceil(106 / 2) + 1 = 54
  assert.deepEqual(s.get("features.0"), [1, 96, 109, 109]);
  assert.deepEqual(s.get("features.2"), [1, 96, 54, 54]);
  assert.deepEqual(s.get("features.5.concat"), [1, 256, 54, 54]); // fire4
  assert.deepEqual(s.get("features.6"), [1, 256, 27, 27]);
  assert.deepEqual(s.get("features.11"), [1, 512, 13, 13]);
  assert.deepEqual(s.get("features.12.concat"), [1, 512, 13, 13]); // fire9
  assert.deepEqual(s.get("classifier.3"), [1, 1000, 1, 1]);
  assert.deepEqual(s.get("flatten"), [1, 1000]);
});

Deno.test("squeezenet1_1 pools after conv1, fire3 and fire5", () => {
  const g = zoo.build("squeezenet1_1");
  const pools = g.nodes.filter((n) => n.kind === "max_pool").map((n) => n.name);
  assert.deepEqual(pools, ["features.2", "features.5", "features.8"]);
  const s = inferShapes(g).shapes;
  assert.deepEqual(s.get("features.0"), [1, 64, 111, 111]);
  assert.deepEqual(s.get("features.12.concat"), [1, 512, 13, 13]);
});

Deno.test("squeezenet has a bias on every conv and a dropout before the classifier conv", () => {
  const g = zoo.build("squeezenet1_0", { classes: 10 });
  assert.ok(g.nodes.filter((n) => n.kind === "conv2d").every((n) => n.attrs.bias));
  assert.deepEqual(g.nodes.filter((n) => n.name.startsWith("classifier")).map((n) => n.kind), [
    "dropout",
    "conv2d",
    "relu",
    "global_avg_pool",
  ]);
  assert.deepEqual(inferShapes(g).shapes.get(g.outputs[0].node), [1, 10]);
});

Deno.test("squeezenet --resolution stops at the smallest valid input (29 and 25)", () => {
  // torchvision's min_size is 21 / 17 because PyTorch lets a ceil-mode pool
  // window overhang a map smaller than the window; our shape rule does not.
  for (const [def, min] of [[squeezenet1_0, 29], [squeezenet1_1, 25]] as const) {
    inferShapes(def.build({ resolution: min, classes: 1000 }));
    // One pixel less and the last pool's window no longer fits: the bound is tight.
    assert.throws(
      () => def.build({ resolution: min - 1, classes: 1000 }),
      /larger than the padded/,
    );
    assert.throws(
      () => zoo.build(def.name, { resolution: min - 1 }),
      new RegExp(`Invalid --resolution ${min - 1} for "${def.name}": below ${min}`),
    );
  }
});
