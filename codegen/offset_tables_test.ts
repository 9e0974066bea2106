/**
 * Channel offset tables are data of the call, not of the kernel: pointwise
 * steps that differ only in the tables they read (ShuffleNet V2's zero-copy
 * shuffles) share one kernel in both targets, and each call passes its own
 * table (an `Int32Array` argument in TypeScript, words after the step's
 * weights in WebAssembly), checked against the reference executor with
 * NaN-prefilled outputs.
 */

import assert from "node:assert/strict";
import { GraphBuilder } from "../lib/ir/builder.ts";
import { shuffleV2Unit } from "../lib/ir/blocks.ts";
import { zoo } from "../lib/models/zoo.ts";
import { differential } from "./_testing.ts";
import type { Target } from "./compile.ts";

/** Pointwise kernel calls in a module's text and the distinct kernels they name. */
function pointwiseCalls(source: string): { calls: number; kernels: number } {
  const names = [...source.matchAll(/^\s*(?:K\.)?(f32_pwconv_\w+)\(/gm)].map((m) => m[1]);
  return { calls: names.length, kernels: new Set(names).size };
}

for (const target of ["ts", "wasm"] as const satisfies readonly Target[]) {
  Deno.test(`${target}: ShuffleNetV2's pointwise steps that differ only in their offset tables share kernels`, async () => {
    const graph = zoo.build("shufflenetv2", { resolution: 64 });
    const { compiled } = await differential(graph, 5, { target });
    const steps = compiled.plan.steps.filter((s) => s.tables !== undefined);
    // Three stages of units, each reading and writing shuffled layouts.
    assert.ok(steps.length >= 12, `${steps.length} steps read offset tables`);
    const tables = new Set(steps.map((s) => JSON.stringify(s.tables)));
    const { calls, kernels } = pointwiseCalls(compiled.source);
    assert.equal(calls, compiled.plan.steps.filter((s) => s.spec.family === "pwconv").length);
    // Each stage's units take distinct tables, yet as few kernels as there are shapes.
    assert.ok(tables.size > 10, `${tables.size} distinct tables`);
    assert.ok(kernels < calls - 10, `${kernels} pointwise kernels for ${calls} calls`);
  });
}

// Odd planes (5 x 7 pixels: not a multiple of any pixel block), channels off the
// register block and the unroll (10 and 5 per branch), three shuffles deep.
for (const target of ["ts", "wasm"] as const satisfies readonly Target[]) {
  Deno.test(`${target}: ShuffleNet V2 units on a 5x7 plane with 10 channels read their tables right`, async () => {
    const b = new GraphBuilder("t", [1, 3, 5, 7]);
    let x = b.relu(b.conv2d(b.input, { out: 10, kernel: 1 }, "stem"), "stem_act");
    for (let i = 0; i < 4; i++) x = shuffleV2Unit(b, x, { out: 10, stride: 1 });
    const { compiled } = await differential(b.build(x), 3, { target });
    assert.deepEqual(compiled.fallbacks, []);
    const tabled = compiled.plan.steps.filter((s) => s.tables !== undefined);
    assert.ok(tabled.some((s) => s.tables?.x) && tabled.some((s) => s.tables?.y));
    const { calls, kernels } = pointwiseCalls(compiled.source);
    assert.ok(kernels < calls, `${kernels} pointwise kernels for ${calls} calls`);
  });
}
