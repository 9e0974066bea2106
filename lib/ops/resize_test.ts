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

Deno.test("resize with the file's scales: coordinates divide by the scale; outShape must be floor(input x scale)", () => {
  // 7 x 0.5 -> 3, half_pixel, floor: (o + 0.5) / 0.5 - 0.5 = 0.5, 2.5, 4.5 read 0, 2, 4;
  // by sizes the scale is 3/7: (o + 0.5) * 7/3 - 0.5 = 0.67, 3, 5.33 read 0, 3, 5.
  const g = graphOf(
    [1, 7],
    (b, x) =>
      b.resize(x, [1, 3], { coordinateTransformation: "half_pixel", scales: [1, 0.5] }, "r"),
  );
  assert.deepEqual(run(g, [0, 1, 2, 3, 4, 5, 6]).y, [0, 2, 4]);
  const bySize = graphOf(
    [1, 7],
    (b, x) => b.resize(x, [1, 3], { coordinateTransformation: "half_pixel" }, "r"),
  );
  assert.deepEqual(run(bySize, [0, 1, 2, 3, 4, 5, 6]).y, [0, 3, 5]);
  assert.throws(
    () => graphOf([1, 7], (b, x) => b.resize(x, [1, 4], { scales: [1, 0.5] }, "r")),
    /outShape 1x4 is not floor\(input x scales\) = 1x3 for input 1x7 and scales \[1, 0\.5\]/,
  );
});
