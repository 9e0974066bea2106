/**
 * What every command shares: the {@link Command} shape and `--format`
 * parsing; exit codes, errors and file helpers come from lib/_io.ts (shared
 * with bench/ and tools/).
 *
 * @module
 */

import { UsageError } from "../lib/_io.ts";

export {
  checkOutputPath,
  EXIT,
  fail,
  guard,
  makeDirOrThrow,
  parseArgsMessage,
  readFileOrThrow,
  readTextFileOrThrow,
  requirePermission,
  requireWritable,
  UsageError,
  writeFileAtomic,
} from "../lib/_io.ts";

/** A command module: `run` returns the exit code. */
export interface Command {
  run(args: string[]): Promise<number>;
}

/**
 * Resolves `--format` and `--json` (the same as `--format json`) to one of
 * `formats` (the first is the default); both given and different is a usage
 * error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFormat } from "./_common.ts";
 * const formats = ["table", "md", "json"] as const;
 * assert.equal(parseFormat(undefined, true, formats), "json");
 * assert.equal(parseFormat("md", undefined, formats), "md");
 * assert.throws(() => parseFormat("xml", undefined, formats), /Invalid --format "xml": expected one of table, md, json/);
 * assert.throws(() => parseFormat("md", true, formats), /Conflicting --json and --format "md"/);
 * ```
 */
export function parseFormat<F extends string>(
  format: string | undefined,
  json: boolean | undefined,
  formats: readonly F[],
): F {
  if (json) {
    if (format !== undefined && format !== "json") {
      throw new UsageError(`Conflicting --json and --format "${format}": give one of them`);
    }
    format = "json";
  }
  const f = format ?? formats[0];
  if (!(formats as readonly string[]).includes(f)) {
    throw new UsageError(`Invalid --format "${f}": expected one of ${formats.join(", ")}`);
  }
  return f as F;
}
