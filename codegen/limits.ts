/**
 * What a JavaScript engine can hold, checked before a module is emitted: a
 * generated module keeps its activations in one `Float32Array` arena and its
 * weights as base64 in its source, which the engine holds as one string, so
 * a model whose arena or weights
 * exceed those limits would compile to a module that dies at import with a
 * `RangeError`. `compile()` refuses such a model with one line naming the
 * size, or (with `allowLarge`) returns a warning and emits it anyway.
 *
 * @module
 */

import { formatBytes, formatInteger } from "../lib/analysis/format.ts";
import { quote } from "../lib/_text.ts";

/**
 * Largest arena, in bytes: 4 GiB. Firefox and 32-bit engines cap one
 * ArrayBuffer there, and V8 reserves larger ones lazily, so a larger arena
 * fails at import or at first touch on most machines.
 */
export const MAX_ARENA_BYTES = 2 ** 32;

/**
 * Longest string V8 builds (2^29 - 24 UTF-16 units, `String::kMaxLength` on
 * 64-bit), the module's source among them: its weights are base64 (in
 * chunks), 4 characters per 3 bytes.
 */
export const MAX_STRING_LENGTH = 2 ** 29 - 24;

/** Largest weights, in float32 values, whose base64 fits {@link MAX_STRING_LENGTH}. */
export const MAX_WEIGHT_FLOATS = Math.floor(MAX_STRING_LENGTH / 4) * 3 / 4;

/** A model a JS engine cannot hold as a generated module. */
export class EngineLimitError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "EngineLimitError";
  }
}

/** The float32 arrays a module allocates: its arena, an input and an output. */
export interface ModuleArrays {
  arena: number;
  input: number;
  output: number;
}

const ARRAY_NAMES: Record<keyof ModuleArrays, string> = {
  arena: "activation arena",
  input: "input",
  output: "output",
};

/**
 * Checks a module's arrays and weights against what an engine can allocate.
 * The weights limit always throws (no engine can build the string); an array
 * above {@link MAX_ARENA_BYTES} throws unless `allowLarge`, when it returns a
 * warning instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkEngineLimits } from "./limits.ts";
 * const small = { arena: 1e6, input: 1e5, output: 1e3 };
 * assert.deepEqual(checkEngineLimits("m", small, 1e6, false), []);
 * const big = { arena: 8e10, input: 1e5, output: 1e3 };
 * assert.throws(() => checkEngineLimits("m", big, 1e3, false), /activation arena needs 320 GB/);
 * assert.match(checkEngineLimits("m", big, 1e3, true)[0], /^"m": its activation arena needs 320 GB/);
 * assert.throws(() => checkEngineLimits("m", small, 2e8, true), /weights need 800 MB/);
 * ```
 */
export function checkEngineLimits(
  model: string,
  arrays: ModuleArrays,
  weightFloats: number,
  allowLarge: boolean,
): string[] {
  if (weightFloats > MAX_WEIGHT_FLOATS) {
    throw new EngineLimitError(
      `Cannot compile ${quote(model)}: its weights need ${formatBytes(weightFloats * 4)} (${
        formatInteger(weightFloats)
      } float32), above the ${
        formatBytes(MAX_WEIGHT_FLOATS * 4)
      } a module can embed (its base64 literal would pass V8's longest string)`,
    );
  }
  const warnings: string[] = [];
  for (const key of Object.keys(ARRAY_NAMES) as (keyof ModuleArrays)[]) {
    const floats = arrays[key];
    if (floats * 4 <= MAX_ARENA_BYTES) continue;
    const what = `its ${ARRAY_NAMES[key]} needs ${formatBytes(floats * 4)} (${
      formatInteger(floats)
    } float32), above the ${formatBytes(MAX_ARENA_BYTES)} one ArrayBuffer can hold in JS engines`;
    if (!allowLarge) {
      throw new EngineLimitError(
        `Cannot compile ${
          quote(model)
        }: ${what} (a smaller input shape; "codegen --allow-large" generates it anyway)`,
      );
    }
    warnings.push(`${quote(model)}: ${what}; the module may fail to load`);
  }
  return warnings;
}
