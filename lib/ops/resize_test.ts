import assert from "node:assert/strict";
import { costOf, graphOf, run } from "./_testing.ts";
import { nearestIndex, sourceCoordinate } from "./resize.ts";

Deno.test("resize nearest: PyTorch's 2x upsampling repeats each element (asymmetric, floor)", () => {
  const g = graphOf([1, 1, 1, 2], (b, x) => b.resize(x, [1, 1, 2, 4], {}, "up"));
  assert.deepEqual(run(g, [7, 9]), { y: [7, 7, 9, 9, 7, 7, 9, 9], shape: [1, 1, 2, 4] });
  assert.equal(costOf(g, "up").flops.total, 0);
});

Deno.test("resize linear interpolates between the two nearest inputs, the coordinate clamped to the axis", () => {
  // align_corners maps the ends onto the ends: [0, 3] -> [0, 1, 2, 3].
  const ac = graphOf(
    [1, 2],
    (b, x) =>
      b.resize(x, [1, 4], { mode: "linear", coordinateTransformation: "align_corners" }, "r"),
  );
  assert.deepEqual(run(ac, [0, 3]).y, [0, 1, 2, 3]);
  // half_pixel: coordinates -0.25, 0.25, 0.75, 1.25 clamp to 0, 0.25, 0.75, 1 on [0, 4].
  const hp = graphOf(
    [1, 2],
    (b, x) => b.resize(x, [1, 4], { mode: "linear", coordinateTransformation: "half_pixel" }, "r"),
  );
  assert.deepEqual(run(hp, [0, 4]).y, [0, 1, 3, 4]);
  // Bilinear: 3 lerps of 3 FLOPs per output element.
  const bl = graphOf([1, 1, 2, 2], (b, x) => b.resize(x, [1, 1, 3, 5], { mode: "linear" }, "r"));
  assert.equal(costOf(bl, "r").flops.elementwise, 9 * 15);
});

Deno.test("resize coordinate transformations and rounding follow ONNX", () => {
  // 4 -> 8: scale 2
  assert.equal(sourceCoordinate(3, 4, 8, "half_pixel"), 1.25); // 3.5 / 2 - 0.5
  assert.equal(sourceCoordinate(3, 4, 8, "asymmetric"), 1.5);
  assert.equal(sourceCoordinate(3, 4, 8, "tf_half_pixel_for_nn"), 1.75);
  assert.equal(sourceCoordinate(3, 4, 7, "align_corners"), 1.5); // 3 * 3 / 6
  assert.equal(sourceCoordinate(0, 4, 1, "pytorch_half_pixel"), 0);
  assert.deepEqual(
    (["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"] as const).map((m) =>
      nearestIndex(1.5, 4, m)
    ),
    [1, 2, 1, 2],
  );
  assert.equal(nearestIndex(-0.7, 4, "floor"), 0); // clamped
  assert.throws(
    () => graphOf([1, 2], (b, x) => b.resize(x, [4], {}, "r")),
    /outShape 4 has 1 axes, expected 2 as the input 1x2/,
  );
});
