/**
 * How long `importOnnx` takes as files grow: a chain of N nodes (1x1 Conv,
 * Relu, and every fourth node a residual Add) named as torch.onnx names them,
 * with weights as initializers. Import time should grow linearly in N; the
 * 100,000-node case is the issue 9 target ("imports in seconds").
 *
 *   deno bench -A bench/onnx_import_bench.ts
 *
 * @module
 */

import { importOnnx } from "../interop/onnx_import.ts";
import { encodeModel, floatTensor, type pb } from "../interop/onnx_proto.ts";

/** An ONNX chain of `n` nodes on a [1, 4, 4, 4] input (Conv, Relu, Conv, Add, ...). */
export function chainModel(n: number): Uint8Array {
  const c = 4;
  const nodes: pb.INodeProto[] = [];
  const inits: pb.ITensorProto[] = [];
  let x = "input";
  let skip = "input";
  for (let i = 0; i < n; i++) {
    const out = `t${i}`;
    const scope = `/layers/layers.${i}`;
    if (i % 4 === 3) {
      nodes.push({ opType: "Add", name: `${scope}/Add`, input: [x, skip], output: [out] });
      skip = out;
    } else if (i % 2 === 0) {
      const w = `layers.${i}.weight`;
      inits.push(
        floatTensor(
          w,
          [c, c, 1, 1],
          Float32Array.from({ length: c * c }, (_, k) => ((k % 5) - 2) / 8),
        ),
      );
      nodes.push({ opType: "Conv", name: `${scope}/Conv`, input: [x, w], output: [out] });
    } else {
      nodes.push({ opType: "Relu", name: `${scope}/Relu`, input: [x], output: [out] });
    }
    x = out;
  }
  const info = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  return encodeModel({
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: `chain${n}`,
      node: nodes,
      initializer: inits,
      input: [info("input", [1, c, 4, 4])],
      output: [info(x, [1, c, 4, 4])],
    },
  });
}

for (const n of [1000, 4000, 16000, 100000]) {
  const bytes = chainModel(n);
  Deno.bench({
    name: `importOnnx: ${n}-node chain`,
    group: "chain",
    baseline: n === 1000,
    // The largest case takes seconds per run: a few runs are enough.
    ...(n >= 100000 ? { n: 3, warmup: 1 } : {}),
    fn: () => {
      importOnnx(bytes);
    },
  });
}
