/**
 * IEEE 754 half precision (float16), as ONNX FLOAT16 tensors and safetensors
 * F16 tensors store it.
 *
 * @module
 */

/**
 * The value of the float16 bit pattern `h` (16 bits: sign, 5 exponent bits,
 * 10 fraction bits; subnormals, infinities and NaN included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { halfToFloat } from "./_half.ts";
 * assert.equal(halfToFloat(0x3c00), 1);
 * assert.equal(halfToFloat(0xc000), -2);
 * assert.equal(halfToFloat(0x0001), 2 ** -24); // the smallest subnormal
 * assert.equal(halfToFloat(0x7c00), Infinity);
 * assert.ok(Number.isNaN(halfToFloat(0x7e00)));
 * ```
 */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
