import assert from "node:assert/strict";
import { encodeModule, Fn, hasRelaxedSimd, I32, sleb, uleb, V128 } from "./binary.ts";

Deno.test("LEB128: the specification's examples and the i32 limits", () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]); // the DWARF / Wikipedia example
  assert.deepEqual(uleb(0xffffffff), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]); // bit 6 set needs a second byte to stay positive
  assert.deepEqual(sleb(-64), [0x40]);
  assert.deepEqual(sleb(-0x80000000), [0x80, 0x80, 0x80, 0x80, 0x78]);
  assert.throws(() => uleb(-1), /unsigned LEB128/);
  assert.throws(() => sleb(2 ** 31), /signed LEB128/);
});

/** Instantiates one exported function `f(a, b, c, d)` over a fresh one-page memory. */
function run(fn: Fn): { call: (...a: number[]) => void; m: Float32Array } {
  const bytes = encodeModule([{ fn, export: "f" }], { memoryPages: 1 });
  assert.ok(WebAssembly.validate(bytes), "the module validates");
  const memory = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return {
    call: inst.exports.f as (...a: number[]) => void,
    m: new Float32Array(memory.buffer),
  };
}

Deno.test("f32x4 loads and stores with offsets, add, mul, max, min, splat", () => {
  // out[16..20) = max(min(x * y + splat(x[0]), 10), -1), addresses from the parameters
  const f = new Fn([I32, I32]);
  f.localGet(1);
  f.localGet(0).v128Load(0).localGet(0).v128Load(16).f32x4Mul();
  f.localGet(0).f32Load(0).f32x4Splat().f32x4Add();
  f.v128Const([10, 10, 10, 10]).f32x4Min().v128Const([-1, -1, -1, -1]).f32x4Max();
  f.v128Store(64);
  const { call, m } = run(f);
  m.set([1, 2, -3, 4, 5, 6, 7, 8]);
  call(0, 0);
  // x*y + 1 = [6, 13, -20, 33], clamped to [-1, 10]
  assert.deepEqual([...m.subarray(16, 20)], [6, 10, -1, 10]);
});

Deno.test("relaxed_madd (where validated) and the mul + add fallback agree on exact values", () => {
  for (const relaxed of [false, ...(hasRelaxedSimd() ? [true] : [])]) {
    const f = new Fn([I32]);
    f.localGet(0).localGet(0).v128Load(0).localGet(0).v128Load32Splat(16);
    f.localGet(0).v128Load(32);
    if (relaxed) f.f32x4RelaxedMadd();
    else {
      // a * b + c with the stack a b c: keep c aside
      const c = f.local(V128);
      f.localSet(c).f32x4Mul().localGet(c).f32x4Add();
    }
    f.v128Store(48);
    const { call, m } = run(f);
    m.set([1, 2, 3, 4, 0.5, 0, 0, 0, 10, 20, 30, 40]);
    call(0);
    assert.deepEqual([...m.subarray(12, 16)], [10.5, 21, 31.5, 42], `relaxed=${relaxed}`);
  }
});

Deno.test("a counted loop and a shuffle: even and odd lanes of two vectors", () => {
  const f = new Fn([I32]);
  const n = f.local(I32);
  f.i32Const(3).localSet(n);
  f.loop();
  // out[8..12) += evens(x[0..8)), out[12..16) += odds
  f.localGet(0).localGet(0).v128Load(0).localGet(0).v128Load(16).f32x4Shuffle([0, 2, 4, 6]);
  f.localGet(0).v128Load(32).f32x4Add().v128Store(32);
  f.localGet(0).localGet(0).v128Load(0).localGet(0).v128Load(16).f32x4Shuffle([1, 3, 5, 7]);
  f.localGet(0).v128Load(48).f32x4Add().v128Store(48);
  f.localGet(n).i32Const(1).i32Sub().localTee(n).brIf(0);
  f.end();
  const { call, m } = run(f);
  m.set([0, 1, 2, 3, 4, 5, 6, 7]);
  call(0);
  assert.deepEqual([...m.subarray(8, 16)], [0, 6, 12, 18, 3, 9, 15, 21]);
});

Deno.test("a module of several functions with different signatures validates and exports each", () => {
  const a = new Fn([I32]).localGet(0).drop();
  const b = new Fn([]);
  const bytes = encodeModule([{ fn: a, export: "a" }, { fn: b, export: "b" }, { fn: b }], {
    memoryPages: 2,
  });
  const mod = new WebAssembly.Module(bytes);
  assert.deepEqual(WebAssembly.Module.exports(mod).map((e) => e.name), ["a", "b"]);
  assert.deepEqual(WebAssembly.Module.imports(mod), [
    { module: "env", name: "memory", kind: "memory" },
  ]);
});

Deno.test("a malformed instruction stream fails validation", () => {
  const f = new Fn([]).f32x4Add(); // pops two v128 from an empty stack
  assert.equal(WebAssembly.validate(encodeModule([{ fn: f }], { memoryPages: 1 })), false);
});
