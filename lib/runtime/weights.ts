/**
 * Weights of a graph: one `Float32Array` per parameter tensor, keyed like a
 * PyTorch state_dict (`<node>.weight`, `<node>.bias`, `<node>.running_mean`,
 * `<node>.running_var`), each in its PyTorch layout (lib/ir/ops.ts
 * `paramSpecs`). Every consumer (reference executor, codegen, ONNX) reads this.
 *
 * @module
 */

import type { Graph } from "../ir/graph.ts";
import { numel, paramSpecs } from "../ir/ops.ts";

/** Parameter tensors by state_dict key. */
export type Weights = Map<string, Float32Array>;

/** Deterministic 32-bit PRNG (mulberry32), uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded weights: He-style uniform init for conv and linear kernels
 * (variance 2 / fan_in), small biases, and BatchNorm statistics that are not
 * the identity (gamma in [0.5, 1.5), beta in [-0.1, 0.1), mean in
 * [-0.1, 0.1), var in [0.5, 1.5)) so a fold that drops a term is caught.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../ir/builder.ts";
 * import { randomWeights } from "./weights.ts";
 * const b = new GraphBuilder("t", [1, 3, 8, 8]);
 * const g = b.build(b.batchNorm(b.conv2d(b.input, { out: 4, kernel: 3 }, "c"), "bn"));
 * const w = randomWeights(g, 7);
 * assert.deepEqual([...w.keys()], [
 *   "c.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
 * ]);
 * assert.deepEqual(w.get("c.weight"), randomWeights(g, 7).get("c.weight"));
 * ```
 */
export function randomWeights(graph: Graph, seed: number): Weights {
  const rand = mulberry32(seed);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const weights: Weights = new Map();
  for (const node of graph.nodes) {
    for (const spec of paramSpecs(node.kind, node.attrs)) {
      const data = new Float32Array(numel(spec.shape));
      if (spec.role === "weight") {
        const fanIn = numel(spec.shape.slice(1));
        // Uniform(-b, b) has variance b^2 / 3; b = sqrt(6 / fan_in) gives 2 / fan_in.
        const bound = Math.sqrt(6 / fanIn);
        for (let i = 0; i < data.length; i++) data[i] = uniform(-bound, bound);
      } else if (spec.name === "weight") {
        for (let i = 0; i < data.length; i++) data[i] = uniform(0.5, 1.5);
      } else if (spec.name === "running_var") {
        for (let i = 0; i < data.length; i++) data[i] = uniform(0.5, 1.5);
      } else {
        for (let i = 0; i < data.length; i++) data[i] = uniform(-0.1, 0.1);
      }
      weights.set(`${node.name}.${spec.name}`, data);
    }
  }
  return weights;
}

/**
 * Checks that `weights` has every tensor `graph` needs, with the right size.
 * Throws a `RangeError` naming the first missing or mis-sized key.
 */
export function checkWeights(graph: Graph, weights: Weights): void {
  for (const node of graph.nodes) {
    for (const spec of paramSpecs(node.kind, node.attrs)) {
      const key = `${node.name}.${spec.name}`;
      const data = weights.get(key);
      if (!data) throw new RangeError(`Missing weight "${key}" (shape ${spec.shape.join("x")})`);
      if (data.length !== numel(spec.shape)) {
        throw new RangeError(
          `Weight "${key}" has ${data.length} elements, expected ${numel(spec.shape)} (shape ${
            spec.shape.join("x")
          })`,
        );
      }
    }
  }
}
