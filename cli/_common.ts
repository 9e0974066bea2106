/**
 * What every command shares: exit codes, error reporting, atomic file writes.
 *
 * @module
 */

/** Exit codes of every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A command module: `run` returns the exit code. */
export interface Command {
  run(args: string[]): Promise<number>;
}

/** Bad usage (unknown flag, bad value): reported on stderr, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Prints `message` on stderr prefixed with `error:` and returns `code`. */
export function fail(code: number, message: string): number {
  console.error(`error: ${message}`);
  return code;
}

/**
 * Runs a command body and maps errors to exit codes: a {@link UsageError} (or
 * a `parseArgs` error) to 2, anything else to 1, always as one line on stderr
 * (set `LIGHTNETS_DEBUG=1` for the stack).
 */
export async function guard(body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (debugEnabled()) console.error(err.stack);
    const code = (err as { code?: string }).code ?? "";
    if (err instanceof UsageError) return fail(EXIT.usage, err.message);
    if (code.startsWith("ERR_PARSE_ARGS")) return fail(EXIT.usage, parseArgsMessage(err));
    return fail(EXIT.failed, err.message);
  }
}

/**
 * A `node:util` parseArgs error as one line: its first sentence, with where
 * to look for the options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgsMessage } from "./_common.ts";
 * const e = new Error("Unknown option '--x'. To specify a positional argument starting with a '-', place it at the end");
 * assert.equal(parseArgsMessage(e), "Unknown option '--x' (run with --help to see the options)");
 * const m = new Error("Option '-o, --out <value>' argument missing");
 * assert.match(parseArgsMessage(m), /^Missing value for --out /);
 * ```
 */
export function parseArgsMessage(err: Error): string {
  const missing = err.message.match(
    /^Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument (?:is ambiguous|missing)/,
  );
  if (missing) {
    const flag = missing[1];
    return `Missing value for ${flag} (a value that starts with "-" is written ${flag}=VALUE)`;
  }
  const first = err.message.split(/\.\s|\n/)[0].trim().replace(/\.$/, "");
  return `${first} (run with --help to see the options)`;
}

function debugEnabled(): boolean {
  try {
    // Ask first: without --allow-env, Deno.env.get would prompt on a terminal.
    const env = { name: "env", variable: "LIGHTNETS_DEBUG" } as const;
    if (Deno.permissions.querySync(env).state !== "granted") return false;
    return Deno.env.get("LIGHTNETS_DEBUG") === "1";
  } catch {
    return false; // no --allow-env: stay quiet
  }
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

/** Why a file operation failed, in words: "no such file", "it is a directory", ... */
function fsReason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file or folder";
  if (e instanceof Deno.errors.IsADirectory) return "it is a directory";
  if (e instanceof Deno.errors.AlreadyExists) return "it already exists";
  if (e instanceof Deno.errors.NotADirectory) return "a part of the path is not a directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied by the system";
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\(os error \d+\).*$/, "");
}

/** The folder of `path` (`.` for a bare file name). */
function dirOf(path: string): string {
  const cut = path.replace(/\/+$/, "").lastIndexOf("/");
  return cut < 0 ? "." : cut === 0 ? "/" : path.slice(0, cut);
}

/**
 * Throws an Error saying what could not be done (`action`) and the `deno run`
 * flags to add when the permissions `names` are not granted (for `path`, if
 * given). Never prompts: a prompt on a terminal would stop a scripted run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requirePermission } from "./_common.ts";
 * const granted = Deno.permissions.querySync({ name: "env" }).state === "granted";
 * if (!granted) assert.throws(() => requirePermission("load ts-morph", ["env"]), /needs --allow-env/);
 * ```
 */
export function requirePermission(
  action: string,
  names: ("read" | "write" | "env")[],
  path?: string,
): void {
  const missing = names.filter((name) => {
    try {
      const desc = name === "env" ? { name } : { name, path };
      return Deno.permissions.querySync(desc).state !== "granted";
    } catch {
      return true;
    }
  });
  if (missing.length) {
    throw new Error(
      `Cannot ${action}: needs ${
        missing.map((n) => `--allow-${n}`).join(" and ")
      } (or -A) on the deno command line`,
    );
  }
}

/**
 * Reads `path` as bytes; a missing file, a directory or a missing permission
 * is one Error naming the path (and `what` it was for, e.g. `--input`).
 */
export async function readFileOrThrow(path: string, what?: string): Promise<Uint8Array> {
  const label = `"${path}"${what ? ` (${what})` : ""}`;
  requirePermission(`read ${label}`, ["read"], path);
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new Error(`Cannot read ${label}: ${fsReason(e)}`);
  }
}

/** {@link readFileOrThrow} as UTF-8 text. */
export async function readTextFileOrThrow(path: string, what?: string): Promise<string> {
  return new TextDecoder().decode(await readFileOrThrow(path, what));
}

/** Creates folder `dir` (and its parents); errors name the folder and the reason. */
export async function makeDirOrThrow(dir: string): Promise<void> {
  requirePermission(`create folder "${dir}"`, ["write"], dir);
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    const why = e instanceof Deno.errors.AlreadyExists ? "a file of that name exists" : fsReason(e);
    throw new Error(`Cannot create folder "${dir}": ${why}`);
  }
}

/**
 * Throws unless {@link writeFileAtomic} may write `path` (write and read
 * permission on its folder), so a command can fail before its long work.
 */
export function requireWritable(path: string): void {
  requirePermission(`write "${path}"`, ["write", "read"], dirOf(path));
}

/**
 * Writes `data` to `path` atomically: to a temp file beside it, then rename,
 * so a failed write never leaves half a file. Errors name the path (never the
 * temp file); the rename needs both --allow-write and --allow-read.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  requireWritable(path);
  const tmp = `${path}.tmp-${Deno.pid}-${Date.now()}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    const why = e instanceof Deno.errors.NotFound
      ? `folder "${dirOf(path)}" does not exist`
      : fsReason(e);
    throw new Error(`Cannot write "${path}": ${why}`);
  }
}
