/**
 * A small WebAssembly binary writer: LEB128, the sections a kernel module
 * needs (type, import, function, export, code) and the few dozen opcodes the
 * kernels use (integer address arithmetic, structured control flow, scalar
 * f32 and 128-bit SIMD f32x4 loads, stores and arithmetic, and the relaxed
 * SIMD fused multiply-add). No dependency; opcodes follow the WebAssembly
 * core specification (binary format, section 5.4) and the fixed-width and
 * relaxed SIMD proposals (prefix `0xfd`).
 *
 * A function body is written through {@link Fn}, one method per
 * instruction, so an emitter reads like the text format:
 *
 * ```
 * f.localGet(x).v128Load(16).localGet(y).v128Store(0)
 * ```
 *
 * @module
 */

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** A value type byte. */
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Unsigned LEB128 of a non-negative integer below 2^32. */
export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`Cannot encode "${n}" as an unsigned LEB128 u32`);
  }
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of an integer in the i32 range. */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    throw new RangeError(`Cannot encode "${n}" as a signed LEB128 i32`);
  }
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Alignment exponents (log2 bytes) used as the natural alignment of memory accesses. */
const ALIGN = { f32: 2, i32: 2, v128: 4 } as const;

/**
 * One function body under construction. Locals are declared with
 * {@link Fn.local}; parameters come first (indices `0..params-1`).
 */
export class Fn {
  readonly params: ValType[];
  readonly locals: ValType[] = [];
  readonly code: number[] = [];

  constructor(params: ValType[]) {
    this.params = params;
  }

  /** Declares a local of `type`; returns its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  /**
   * Runs `write` and moves the code it appended to the start of the body,
   * where it runs once on entry (constants hoisted into locals out of loops).
   */
  atEntry(write: () => void): this {
    const at = this.code.length;
    write();
    const moved = this.code.splice(at);
    this.code.unshift(...moved);
    return this;
  }

  private op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  private simd(sub: number, ...rest: number[]): this {
    return this.op(0xfd, ...uleb(sub), ...rest);
  }

  private mem(align: number, offset: number): number[] {
    return [...uleb(align), ...uleb(offset)];
  }

  // Variables and constants.
  localGet(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  localSet(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  localTee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }
  i32Const(n: number): this {
    return this.op(0x41, ...sleb(n | 0));
  }
  f32Const(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.op(0x43, ...b);
  }

  // Control flow (block type empty).
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    return this.op(0x0c, ...uleb(depth));
  }
  brIf(depth: number): this {
    return this.op(0x0d, ...uleb(depth));
  }
  call(fn: number): this {
    return this.op(0x10, ...uleb(fn));
  }
  drop(): this {
    return this.op(0x1a);
  }

  // i32 arithmetic and comparisons.
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Ne(): this {
    return this.op(0x47);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }
  i32Load(offset = 0): this {
    return this.op(0x28, ...this.mem(ALIGN.i32, offset));
  }

  // Scalar f32.
  f32Load(offset = 0): this {
    return this.op(0x2a, ...this.mem(ALIGN.f32, offset));
  }
  f32Store(offset = 0): this {
    return this.op(0x38, ...this.mem(ALIGN.f32, offset));
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Sub(): this {
    return this.op(0x93);
  }
  f32Mul(): this {
    return this.op(0x94);
  }
  f32Div(): this {
    return this.op(0x95);
  }
  f32Min(): this {
    return this.op(0x96);
  }
  f32Max(): this {
    return this.op(0x97);
  }

  // 128-bit SIMD. Loads and stores take a byte offset added to the i32 address.
  v128Load(offset = 0): this {
    return this.simd(0x00, ...this.mem(ALIGN.v128, offset));
  }
  /** Loads one f32 and splats it to all four lanes (`v128.load32_splat`). */
  v128Load32Splat(offset = 0): this {
    return this.simd(0x09, ...this.mem(ALIGN.f32, offset));
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b, ...this.mem(ALIGN.v128, offset));
  }
  v128Const(lanes: [number, number, number, number]): this {
    const b = new Uint8Array(16);
    const view = new DataView(b.buffer);
    lanes.forEach((v, i) => view.setFloat32(4 * i, v, true));
    return this.simd(0x0c, ...b);
  }
  /** `i8x16.shuffle` with 16 lane indices into the concatenation of the two operands. */
  i8x16Shuffle(lanes: number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31)) {
      throw new RangeError(`i8x16.shuffle takes 16 lane indices in [0, 32)`);
    }
    return this.simd(0x0d, ...lanes);
  }
  /** `i8x16.shuffle` picking four f32 lanes (0-3 from the first operand, 4-7 from the second). */
  f32x4Shuffle(l: [number, number, number, number]): this {
    return this.i8x16Shuffle(l.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]));
  }
  /** A v128 constant of four i32 lanes. */
  i32x4Const(lanes: readonly number[]): this {
    const b = new Uint8Array(16);
    const view = new DataView(b.buffer);
    lanes.forEach((v, i) => view.setInt32(4 * i, v, true));
    return this.simd(0x0c, ...b);
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  /** Splats the i32 on the stack to four lanes. */
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  f32x4ExtractLane(lane: number): this {
    return this.simd(0x1f, lane);
  }
  f32x4Abs(): this {
    return this.simd(0xe0);
  }
  f32x4Neg(): this {
    return this.simd(0xe1);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  f32x4Div(): this {
    return this.simd(0xe7);
  }
  f32x4Min(): this {
    return this.simd(0xe8);
  }
  f32x4Max(): this {
    return this.simd(0xe9);
  }
  /** Pseudo-minimum `b < a ? b : a` (one `minps` on x86, where `f32x4.min` takes several). */
  f32x4Pmin(): this {
    return this.simd(0xea);
  }
  /** Pseudo-maximum `a < b ? b : a` (one `maxps` on x86). */
  f32x4Pmax(): this {
    return this.simd(0xeb);
  }
  f32x4Sqrt(): this {
    return this.simd(0xe3);
  }
  /** Rounds each lane to the nearest integer, ties to even. */
  f32x4Nearest(): this {
    return this.simd(0x6a);
  }
  // Lane-wise f32 comparisons: all-ones lanes where true (NaN compares false, except `ne`).
  f32x4Eq(): this {
    return this.simd(0x41);
  }
  f32x4Ne(): this {
    return this.simd(0x42);
  }
  f32x4Lt(): this {
    return this.simd(0x43);
  }
  f32x4Gt(): this {
    return this.simd(0x44);
  }
  f32x4Ge(): this {
    return this.simd(0x46);
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  v128Xor(): this {
    return this.simd(0x51);
  }
  /** `(a & mask) | (b & ~mask)`; stack `a b mask`. */
  v128Bitselect(): this {
    return this.simd(0x52);
  }
  /** Shifts each i32 lane left by the i32 on the stack; stack `v n`. */
  i32x4Shl(): this {
    return this.simd(0xab);
  }
  /** Arithmetic right shift of each i32 lane by the i32 on the stack; stack `v n`. */
  i32x4ShrS(): this {
    return this.simd(0xac);
  }
  /** Logical right shift of each i32 lane by the i32 on the stack; stack `v n`. */
  i32x4ShrU(): this {
    return this.simd(0xad);
  }
  i32x4Sub(): this {
    return this.simd(0xb1);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  /** f32 lanes to i32, truncated, saturating (NaN to 0). */
  i32x4TruncSatF32x4S(): this {
    return this.simd(0xf8);
  }
  f32x4ConvertI32x4S(): this {
    return this.simd(0xfa);
  }
  /** Replaces f32 lane `lane` of the vector by the f32 on the stack; stack `v x`. */
  f32x4ReplaceLane(lane: number): this {
    return this.simd(0x20, lane);
  }
  /** `a * b + c` with one or two roundings (relaxed SIMD); stack `a b c`. */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }

  /** The body as it goes into the code section: locals (run-length grouped), code, `end`. */
  encode(): number[] {
    const groups: number[][] = [];
    for (let i = 0; i < this.locals.length;) {
      let j = i;
      while (j < this.locals.length && this.locals[j] === this.locals[i]) j++;
      groups.push([...uleb(j - i), this.locals[i]]);
      i = j;
    }
    const body = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

/** A function of a module: its body and, when exported, its export name. */
export interface ModuleFunction {
  fn: Fn;
  export?: string;
}

/** Options of {@link encodeModule}. */
export interface ModuleOptions {
  /** Imports a memory `env.memory` with at least this many 64 KiB pages. */
  memoryPages: number;
  /** Import the memory as shared (threads); then `maxPages` is required. */
  shared?: boolean;
  maxPages?: number;
}

/**
 * The binary of a module whose functions return nothing and take only their
 * parameters, importing one memory `env.memory`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeModule, Fn, I32 } from "./binary.ts";
 * // (func (param $p i32) local.get $p local.get $p f32.load f32.store)
 * const f = new Fn([I32]).localGet(0).localGet(0).f32Load(4).f32Store(0);
 * const bytes = encodeModule([{ fn: f, export: "copy" }], { memoryPages: 1 });
 * assert.ok(WebAssembly.validate(bytes));
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * const m = new Float32Array(memory.buffer);
 * m[1] = 2.5;
 * (exports.copy as (p: number) => void)(0);
 * assert.equal(m[0], 2.5);
 * ```
 */
export function encodeModule(
  funcs: ModuleFunction[],
  options: ModuleOptions,
): Uint8Array<ArrayBuffer> {
  // One type per distinct parameter list.
  const typeKeys: string[] = [];
  const typeOf = funcs.map(({ fn }) => {
    const key = fn.params.join(",");
    let i = typeKeys.indexOf(key);
    if (i < 0) i = typeKeys.push(key) - 1;
    return i;
  });
  const types = typeKeys.map((k) => {
    const params = k === "" ? [] : k.split(",").map(Number);
    return [0x60, ...uleb(params.length), ...params, 0x00];
  });
  const limits = options.shared
    ? [0x03, ...uleb(options.memoryPages), ...uleb(options.maxPages ?? options.memoryPages)]
    : [0x00, ...uleb(options.memoryPages)];
  const imports = [[...name("env"), ...name("memory"), 0x02, ...limits]];
  const exports = funcs.flatMap((
    f,
    i,
  ) => (f.export ? [[...name(f.export), 0x00, ...uleb(i)]] : []));
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d, // magic "\0asm"
    0x01,
    0x00,
    0x00,
    0x00, // version 1
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(typeOf.map((t) => uleb(t)))),
    ...section(7, vec(exports)),
    ...section(10, vec(funcs.map(({ fn }) => fn.encode()))),
  ];
  return new Uint8Array(bytes);
}

/** Whether this engine validates a function using `f32x4.relaxed_madd`. */
export function hasRelaxedSimd(): boolean {
  const f = new Fn([]).v128Const([0, 0, 0, 0]).v128Const([0, 0, 0, 0]).v128Const([0, 0, 0, 0])
    .f32x4RelaxedMadd().drop();
  return WebAssembly.validate(encodeModule([{ fn: f }], { memoryPages: 1 }));
}
