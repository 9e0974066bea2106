import assert from "node:assert/strict";
import { encodeModule, Fn, I32, V128 } from "./binary.ts";
import { applyAct } from "./_simd.ts";
import type { Act } from "../spec.ts";

/** IEEE `max`/`min` as the reference computes them, rounded to float32 like the kernel. */
const f32 = Math.fround;
const EXPECTED: [Act, (v: number) => number][] = [
  [{ kind: "relu" }, (v) => Math.max(v, 0)],
  [{ kind: "relu6" }, (v) => Math.min(Math.max(v, 0), 6)],
  [{ kind: "clip", min: -1, max: 0 }, (v) => Math.min(Math.max(v, -1), 0)],
  [{ kind: "clip", min: -0, max: 2 }, (v) => Math.min(Math.max(v, -0), 2)],
  [{ kind: "clip", min: -2, max: -0 }, (v) => Math.min(Math.max(v, -2), -0)],
  [{ kind: "hardswish" }, (v) => f32(f32(v * Math.min(Math.max(f32(v + 3), 0), 6)) * f32(1 / 6))],
  [
    { kind: "hardsigmoid", alpha: 0.2, beta: 0.5 },
    (v) => Math.min(Math.max(f32(f32(f32(0.2) * v) + 0.5), 0), 1),
  ],
];
// Signed zeros, NaN, infinities, the clamp bounds themselves and values beside them.
const VALUES = [-0, 0, NaN, Infinity, -Infinity, 6, -1, 1, -3, 3, 5.5, 6.5, -7, 1e-30, -1e-30, 2];

for (const [act, want] of EXPECTED) {
  Deno.test(`applyAct(${JSON.stringify(act)}) on f32x4 gives IEEE max/min results, -0 and NaN included`, () => {
    // f(a): v = load(a); act(v); store(a + 64, v)
    const f = new Fn([I32]);
    const v = f.local(V128);
    f.localGet(0).v128Load(0).localSet(v);
    applyAct(f, act, v, true);
    f.localGet(0).localGet(v).v128Store(64);
    const bytes = encodeModule([{ fn: f, export: "f" }], { memoryPages: 1 });
    const memory = new WebAssembly.Memory({ initial: 1 });
    const run = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
      .exports.f as (a: number) => void;
    const m = new Float32Array(memory.buffer);
    for (let i = 0; i < VALUES.length; i += 4) {
      m.set(VALUES.slice(i, i + 4), 0);
      run(0);
      for (let k = 0; k < 4; k++) {
        const x = VALUES[i + k];
        // Object.is tells -0 from +0 and matches NaN with NaN.
        assert.ok(Object.is(m[16 + k], f32(want(x))), `${x} -> ${m[16 + k]}, expected ${want(x)}`);
      }
    }
  });
}
