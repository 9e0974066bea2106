import assert from "node:assert/strict";
import fc from "fast-check";
import { epilogue, kernelName, type KernelSpec, specKey } from "./spec.ts";

const act = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.constant({ kind: "relu" as const }),
  fc.constant({ kind: "relu6" as const }),
  fc.constant({ kind: "hardswish" as const }),
  fc.record({
    kind: fc.constant("clip" as const),
    min: fc.constantFrom(-1, 0, 0.5),
    max: fc.constantFrom(1, 6),
  }),
);
const small = fc.integer({ min: 1, max: 4 });
const win = fc.record({
  kernel: fc.tuple(small, small),
  stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  padding: fc.tuple(fc.nat(1), fc.nat(1), fc.nat(1), fc.nat(1)),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.constant(1)),
  h: small,
  w: small,
}).map((w) => ({ ...w, oh: w.h, ow: w.w })); // names only, sizes need not be consistent
const epi = fc.record({ act, residual: fc.boolean(), act2: act }).map((e) =>
  e.residual ? e : { ...e, act2: { kind: "none" as const } }
);
const stride = fc.constantFrom(1, 2, 8);
// a pointwise kernel that reads channel offset tables (the call passes their contents)
const table = fc.option(fc.constant(true as const), { nil: undefined });
const spec: fc.Arbitrary<KernelSpec> = fc.oneof(
  fc.record({
    family: fc.constant("pwconv" as const),
    cin: small,
    cout: small,
    groups: fc.constantFrom(1, 2),
    h: small,
    w: small,
    epi,
    ygs: stride,
    xcs: stride,
    ycs: stride,
    rcs: stride,
    xtable: table,
    ytable: table,
  }).map(({ xtable, ytable, ...s }) => ({
    ...s,
    ...(xtable ? { xtable } : {}),
    ...(ytable ? { ytable } : {}),
  })),
  fc.record({
    family: fc.constant("dwconv" as const),
    c: small,
    win,
    epi,
    xcs: stride,
    ycs: stride,
    rcs: stride,
  }),
  fc.record({
    family: fc.constant("conv" as const),
    cin: small,
    cout: small,
    groups: fc.constantFrom(1, 2),
    win,
    epi,
    ygs: stride,
    xcs: stride,
    ycs: stride,
    rcs: stride,
  }),
  fc.record({
    family: fc.constant("add" as const),
    c: small,
    hw: small,
    act,
    xcs: stride,
    ycs: stride,
    rcs: stride,
  }),
);

/** Only fields the kernel reads count: a residual stride without a residual is unused. */
function normalize(s: KernelSpec): KernelSpec {
  if ("epi" in s && !s.epi.residual) return { ...s, rcs: 0 } as KernelSpec;
  return s;
}

Deno.test("kernelName() gives two specs one name only when they are equal", () => {
  fc.assert(
    fc.property(spec, spec, (a, b) => {
      const sameName = kernelName(a) === kernelName(b);
      const sameSpec = specKey(normalize(a)) === specKey(normalize(b));
      assert.equal(sameName, sameSpec, `${kernelName(a)} vs ${kernelName(b)}`);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("kernelName() carries every parameter in a fixed order", () => {
  const name = kernelName({
    family: "pwconv",
    cin: 24,
    cout: 144,
    groups: 1,
    h: 56,
    w: 56,
    epi: epilogue({ kind: "relu6" }),
    xcs: 56 * 56,
    ycs: 2 * 56 * 56, // every other channel of the output buffer
    ygs: 144 * 2 * 56 * 56,
    rcs: 56 * 56,
  });
  assert.equal(name, "f32_pwconv_c24o144_h56w56_relu6_ys6272");
  assert.equal(
    kernelName({
      family: "avgpool",
      c: 8,
      ceilMode: true,
      countIncludePad: false,
      xcs: 49,
      ycs: 16,
      win: {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [0, 1, 1, 0],
        dilation: [1, 1],
        h: 7,
        w: 7,
        oh: 4,
        ow: 4,
      },
    }),
    "f32_avgpool_k3_s2_pt0l1b1r0_c8_h7w7_ceil_excludepad",
  );
});

Deno.test("specKey() and general kernel names tell -Infinity, Infinity and NaN apart", () => {
  const spec = (min: number, max: number) => ({
    family: "general" as const,
    op: "clip" as const,
    attrs: { min, max },
    xs: [[1, 4]],
    ys: [1, 4],
    params: {},
  });
  const keys = [spec(-Infinity, Infinity), spec(Infinity, Infinity), spec(-Infinity, NaN)].map(
    specKey,
  );
  assert.equal(new Set(keys).size, 3);
  assert.notEqual(kernelName(spec(-Infinity, Infinity)), kernelName(spec(Infinity, Infinity)));
  assert.match(kernelName(spec(0, 6)), /^f32_gen_clip_1x4_[0-9a-f]{8}$/);
});
