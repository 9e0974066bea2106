import assert from "node:assert/strict";
import { epilogue, type PwconvSpec } from "../spec.ts";
import { blockingCost, L2_INPUT_BYTES, pwBlocking, SMALL_OB } from "./pointwise.ts";

function spec(cin: number, cout: number, h: number, w = h): PwconvSpec {
  const hw = h * w;
  return {
    family: "pwconv",
    cin,
    cout,
    groups: 1,
    h,
    w,
    epi: epilogue({ kind: "relu" }),
    xcs: hw,
    ycs: hw,
    ygs: cout * hw,
    rcs: hw,
  };
}

const key = (s: PwconvSpec) => {
  const b = pwBlocking(s);
  return `${b.ob}x${4 * b.pv}`;
};

Deno.test("pwBlocking() keeps 3 x 12 unless 2 x 16 saves a partial channel block", () => {
  // 16 = 5 x 3 + 1 outputs: 3 x 12 ends in a 1-channel block (3 loads + 1 splat per 3
  // multiply-adds); 2 x 16 divides 16 outputs and 56 * 56 = 196 x 16 pixels.
  assert.equal(key(spec(16, 16, 56)), "2x16");
  // 96 outputs are 32 blocks of 3: nothing to save.
  assert.equal(key(spec(24, 96, 28)), "3x12");
  // 32 = 10 x 3 + 2 on 28 x 28: 2 x 16 is estimated 0.1% cheaper, under the 1% margin.
  assert.equal(key(spec(144, 32, 28)), "3x12");
  // A tiled input (here 32 x 112 x 112 floats) keeps 3 x 12 whatever the model says.
  assert.ok(32 * 112 * 112 * 4 > L2_INPUT_BYTES);
  assert.ok(
    blockingCost(spec(32, 16, 112), { ob: 2, pv: 4 }) <
      0.99 * blockingCost(spec(32, 16, 112), { ob: 3, pv: 3 }),
  );
  assert.equal(key(spec(32, 16, 112)), "3x12");
});

Deno.test("pwBlocking() on small planes: 3 x 12, 6 x 8, 8 x 4, then one pixel x 32 channels", () => {
  assert.equal(key(spec(8, 8, 3, 4)), "3x12"); // 12 pixels
  assert.equal(key(spec(8, 8, 3, 3)), "6x8"); // 9
  assert.equal(key(spec(8, 8, 2, 2)), "8x4"); // 4
  assert.deepEqual(pwBlocking(spec(8, 8, 1)), { ob: SMALL_OB, pv: 0 });
});
