/**
 * What the numbers were measured on: CPU model and core count (from
 * /proc/cpuinfo where it exists), OS, and the runtime versions.
 *
 * @module
 */

/** The machine and runtime a benchmark ran on. */
export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs the OS reports. */
  logicalCpus: number;
  os: string;
  arch: string;
  deno: string;
  v8: string;
  typescript: string;
}

/** The first `model name` line of /proc/cpuinfo, or `unknown` where it cannot be read. */
export function cpuModel(cpuinfo?: string): string {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = Deno.readTextFileSync("/proc/cpuinfo");
    } catch {
      return "unknown";
    }
  }
  const m = text.match(/^model name\s*:\s*(.+)$/m);
  return m ? m[1].trim() : "unknown";
}

/**
 * Reads the machine's description (needs read access to /proc/cpuinfo).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cpuModel } from "./machine.ts";
 * assert.equal(cpuModel("processor : 0\nmodel name\t: AMD EPYC 7B13\n"), "AMD EPYC 7B13");
 * ```
 */
export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpuModel(),
    logicalCpus: navigator.hardwareConcurrency,
    os: Deno.build.os,
    arch: Deno.build.arch,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
  };
}

/**
 * The 1-minute load average from /proc/loadavg (runnable processes averaged
 * over a minute; above the CPU count, processes wait for a CPU), or NaN
 * where it cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadAverage } from "./machine.ts";
 * assert.equal(loadAverage("0.52 0.58 0.59 1/123 4567\n"), 0.52);
 * ```
 */
export function loadAverage(loadavg?: string): number {
  let text = loadavg;
  if (text === undefined) {
    try {
      text = Deno.readTextFileSync("/proc/loadavg");
    } catch {
      return NaN;
    }
  }
  return Number(text.trim().split(/\s+/)[0]);
}
