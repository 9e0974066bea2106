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
    const usage = err instanceof UsageError ||
      (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    return fail(usage ? EXIT.usage : EXIT.failed, err.message);
  }
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
 * Writes `data` to `path` atomically: to a temp file beside it, then rename,
 * so a failed write never leaves half a file. Errors name the path.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${Date.now()}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`Cannot write "${path}": ${why}`);
  }
}
