/**
 * What every entry point (the CLI, the benchmark runner, tools) shares, below
 * all of them in the layering: exit codes, one-line error reporting
 * ({@link guard}), permission checks that never prompt, and file reads and
 * atomic writes whose errors name the path and the reason.
 *
 * @module
 */

import { quote, sanitize } from "./_text.ts";

/** Exit codes of every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Bad usage (unknown flag, bad value): reported on stderr, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Prints `message` on stderr as one line prefixed with `error:` (indented
 * lines joined with "; ", then sanitized: a name from a model file or the
 * command line cannot drive the terminal) and returns `code`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fail } from "./_io.ts";
 * const lines: string[] = [];
 * const error = console.error;
 * console.error = (s: string) => lines.push(s);
 * try {
 *   assert.equal(fail(1, "Cannot import \"m\": 2 constructs:\n  - a\n  - b\u001b"), 1);
 * } finally {
 *   console.error = error;
 * }
 * assert.deepEqual(lines, ['error: Cannot import "m": 2 constructs: a; b\\e']);
 * ```
 */
export function fail(code: number, message: string): number {
  // A message listing several problems on indented lines becomes one line, "a: b; c".
  const oneLine = message.split(/\r?\n/).map((l) => l.trim().replace(/^- /, "")).filter(Boolean)
    .join("; ").replace(/:; /g, ": ");
  console.error(`error: ${sanitize(oneLine)}`);
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
 * import { parseArgsMessage } from "./_io.ts";
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
 * import { requirePermission } from "./_io.ts";
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

/** Largest file {@link readFileOrThrow} reads by default: 2 GiB. */
export const MAX_READ_BYTES = 2 ** 31;

/**
 * Reads `path` as bytes; a missing file, a directory, a device or pipe (which
 * could stream forever, e.g. a link to /dev/zero), a file over `maxBytes` or a
 * missing permission is one Error naming the path (and `what` it was for,
 * e.g. `--input`).
 */
export async function readFileOrThrow(
  path: string,
  what?: string,
  maxBytes = MAX_READ_BYTES,
): Promise<Uint8Array> {
  const label = `${quote(path)}${what ? ` (${what})` : ""}`;
  requirePermission(`read ${label}`, ["read"], path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw new Error(`Cannot read ${label}: ${fsReason(e)}`);
  }
  if (info.isDirectory) throw new Error(`Cannot read ${label}: it is a directory`);
  if (!info.isFile) throw new Error(`Cannot read ${label}: not a regular file`);
  if (info.size > maxBytes) {
    throw new Error(
      `Cannot read ${label}: ${info.size} bytes, above the limit of ${maxBytes} bytes`,
    );
  }
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
 * Throws a {@link UsageError} unless `path` is a usable output path: not
 * empty or blank (an unset shell variable gives `--out ""`), no NUL byte. The
 * message names the `flag` it came from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkOutputPath } from "./_io.ts";
 * assert.throws(() => checkOutputPath("", "--out"), /Invalid --out "": expected a file path/);
 * assert.equal(checkOutputPath("m.onnx", "--out"), "m.onnx");
 * ```
 */
export function checkOutputPath(path: string, flag: string): string {
  if (path.trim() === "" || path.includes("\0")) {
    throw new UsageError(
      `Invalid ${flag} ${quote(path)}: expected a file path (an unset shell variable gives "")`,
    );
  }
  return path;
}

/**
 * Throws unless {@link writeFileAtomic} may write `path` (write and read
 * permission on its folder), so a command can fail before its long work.
 */
export function requireWritable(path: string): void {
  if (path.trim() === "") throw new Error(`Cannot write ${quote(path)}: the path is empty`);
  requirePermission(`write ${quote(path)}`, ["write", "read"], dirOf(path));
}

/** Temp files being written, removed if the process is interrupted. */
const pendingTemps = new Set<string>();
let signalsHooked = false;

/**
 * On SIGINT or SIGTERM, remove the temp files of writes in progress, then
 * exit as the signal would (128 + its number). SIGKILL cannot be caught; the
 * temp name ({@link tempNameFor}) then says what the leftover is.
 */
function hookSignals(): void {
  if (signalsHooked || Deno.build.os === "windows") return;
  signalsHooked = true;
  for (const [signal, number] of [["SIGINT", 2], ["SIGTERM", 15]] as const) {
    try {
      Deno.addSignalListener(signal, () => {
        for (const tmp of pendingTemps) {
          try {
            Deno.removeSync(tmp);
          } catch { /* already gone */ }
        }
        Deno.exit(128 + number);
      });
    } catch { /* signals unavailable: nothing to clean up on */ }
  }
}

/**
 * A temp file name beside `path`: hidden, short (a long output name still
 * fits the file system's limit) and unique per call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tempNameFor } from "./_io.ts";
 * assert.match(tempNameFor("out/" + "x".repeat(250) + ".onnx"), /^out\/\.lightnets-[0-9a-f]{8}\.tmp$/);
 * ```
 */
export function tempNameFor(path: string): string {
  const dir = dirOf(path);
  const id = crypto.getRandomValues(new Uint32Array(1))[0].toString(16).padStart(8, "0");
  return `${
    dir === "." && !path.startsWith("./") ? "" : dir.replace(/\/$/, "") + "/"
  }.lightnets-${id}.tmp`;
}

/** The permission bits of an existing file at `path`, or undefined. */
async function modeOf(path: string): Promise<number | undefined> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && info.mode !== null ? info.mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
}

/** Why writing into `path`'s folder failed when the system says "not found". */
async function notFoundReason(path: string): Promise<string> {
  const dir = dirOf(path);
  try {
    const info = await Deno.stat(dir);
    return info.isDirectory
      ? `the system refused to create a file in folder ${quote(dir)}`
      : `${quote(dir)} is not a folder`;
  } catch {
    return `folder ${quote(dir)} does not exist`;
  }
}

/**
 * Writes `data` to `path` atomically: to a temp file beside it, then rename,
 * so a failed or interrupted write never leaves half a file (SIGINT and
 * SIGTERM remove the temp file). Overwriting keeps the old file's permission
 * bits. Errors name the path (never the temp file); the rename needs both
 * --allow-write and --allow-read.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  requireWritable(path);
  const tmp = tempNameFor(path);
  const mode = await modeOf(path);
  hookSignals();
  pendingTemps.add(tmp);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    if (mode !== undefined) await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    const why = e instanceof Deno.errors.NotFound ? await notFoundReason(path) : fsReason(e);
    throw new Error(`Cannot write ${quote(path)}: ${why}`);
  } finally {
    pendingTemps.delete(tmp);
  }
}
