/**
 * Writes a graph the way torch.onnx.export writes a torchvision model, to
 * test the importer on real-looking files without torch: BatchNorm folded
 * into the conv (initializers renamed `onnx::Conv_<n>`), depthwise weights
 * and scalars as Constant nodes, node names `/features/features.0/features.0.0/Conv`,
 * a dynamic batch dimension, h-swish written as `x * clip(x + 3, 0, 6) / 6`,
 * flatten and channel shuffle through Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape, chunk as one Split, global pooling as ReduceMean, linear as MatMul + Add,
 * no Dropout (eval mode).
 *
 * @module
 */

import type { AnyNode, Graph } from "../lib/ir/graph.ts";
import type { OpAttrs } from "../lib/ir/ops.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import { foldBatchNorm } from "../lib/runtime/fold.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import { encodeModel, floatTensor, int64Tensor, onnx, type pb } from "../interop/onnx_proto.ts";

const T = onnx.AttributeProto.AttributeType;

/** The graph as torch.onnx would export it (opset 13), and the folded graph it computes. */
export function torchLikeOnnx(
  source: Graph,
  sourceWeights: Weights,
): { bytes: Uint8Array; folded: Graph; foldedWeights: Weights } {
  const { graph, weights } = foldBatchNorm(source, sourceWeights);
  const shaped = inferShapes(graph);
  const nodes: pb.INodeProto[] = [];
  const inits: pb.ITensorProto[] = [];
  let counter = 100;
  const tmp = (op: string) => `/${op}_output_${counter++}`;
  const scope = (path: string, op: string) => {
    const parts = path.split(".");
    const segs = parts.map((_, i) => parts.slice(0, i + 1).join("."));
    return `/${segs.join("/")}/${op}`;
  };
  const add = (
    name: string,
    op: string,
    input: string[],
    output: string[],
    attribute: pb.IAttributeProto[] = [],
  ) => nodes.push({ name, opType: op, input, output, attribute });
  const constant = (t: pb.ITensorProto) => {
    const out = tmp("Constant");
    add(`/Constant_${counter++}`, "Constant", [], [out], [{ name: "value", type: T.TENSOR, t }]);
    return out;
  };
  const scalar = (v: number) => constant(floatTensor("", [], new Float32Array([v])));
  const ints = (v: number[]) => constant(int64Tensor("", [v.length], v));
  const initializer = (name: string, dims: number[], data: Float32Array) => {
    inits.push(floatTensor(name, dims, data));
    return name;
  };
  const out = new Map<string, string>([[graph.inputs[0].name, "input.1"]]);
  const shapes = shaped.shapes;
  /** Shape(x)[0] as a 1-D int64: torch's `x.size(0)`. */
  const batchOf = (path: string, x: string) => {
    const s = tmp("Shape");
    add(scope(path, `Shape_${counter}`), "Shape", [x], [s]);
    const g0 = tmp("Gather");
    add(scope(path, `Gather_${counter}`), "Gather", [s, constant(int64Tensor("", [], [0]))], [g0], [
      { name: "axis", type: T.INT, i: 0 },
    ]);
    const u = tmp("Unsqueeze");
    add(scope(path, `Unsqueeze_${counter}`), "Unsqueeze", [g0, ints([0])], [u]);
    return u;
  };
  const reshapeWithBatch = (path: string, x: string, rest: number[], op: string) => {
    const n = batchOf(path, x);
    const shape = tmp("Concat");
    add(scope(path, `Concat_${counter}`), "Concat", [n, ints(rest)], [shape], [{
      name: "axis",
      type: T.INT,
      i: 0,
    }]);
    const y = tmp(op);
    add(scope(path, op), "Reshape", [x, shape], [y]);
    return y;
  };

  const splitGroups = new Map<string, AnyNode[]>();
  for (const n of graph.nodes) {
    if (n.kind === "split") {
      splitGroups.set(n.inputs[0], [...(splitGroups.get(n.inputs[0]) ?? []), n]);
    }
  }
  let convIndex = 0;
  for (const { node, inputShapes } of shaped.nodes) {
    const x = node.inputs.map((i) => out.get(i)!);
    const y = out.get(node.name) ??
      (node.name === graph.outputs[0].node ? "output" : tmp(node.kind));
    out.set(node.name, y);
    const path = node.name;
    switch (node.kind) {
      case "conv2d": {
        const a = node.attrs;
        const wDims = [a.outChannels, a.inChannels / a.groups, ...a.kernel];
        const wData = weights.get(`${path}.weight`)!;
        // Depthwise weights as Constant nodes, the rest as folded initializers.
        const w = a.groups > 1
          ? constant(floatTensor("", wDims, wData))
          : initializer(`onnx::Conv_${convIndex++}`, wDims, wData);
        const inputs = [x[0], w];
        if (a.bias) {
          inputs.push(
            initializer(`onnx::Conv_${convIndex++}`, [a.outChannels], weights.get(`${path}.bias`)!),
          );
        }
        add(scope(path, "Conv"), "Conv", inputs, [y], [
          { name: "dilations", type: T.INTS, ints: [...a.dilation] },
          { name: "group", type: T.INT, i: a.groups },
          { name: "kernel_shape", type: T.INTS, ints: [...a.kernel] },
          { name: "pads", type: T.INTS, ints: [...a.padding] },
          { name: "strides", type: T.INTS, ints: [...a.stride] },
        ]);
        break;
      }
      case "relu":
        add(scope(path, "Relu"), "Relu", x, [y]);
        break;
      case "relu6":
        add(scope(path, "Clip"), "Clip", [x[0], scalar(0), scalar(6)], [y]);
        break;
      case "clip":
        add(scope(path, "Clip"), "Clip", [x[0], scalar(node.attrs.min), scalar(node.attrs.max)], [
          y,
        ]);
        break;
      case "hardswish": {
        const a1 = tmp("Add");
        add(scope(path, "Add"), "Add", [x[0], scalar(3)], [a1]);
        const c = tmp("Clip");
        add(scope(path, "Clip"), "Clip", [a1, scalar(0), scalar(6)], [c]);
        const m = tmp("Mul");
        add(scope(path, "Mul"), "Mul", [x[0], c], [m]);
        add(scope(path, "Div"), "Div", [m, scalar(6)], [y]);
        break;
      }
      case "hardsigmoid":
        add(scope(path, "HardSigmoid"), "HardSigmoid", x, [y], [
          { name: "alpha", type: T.FLOAT, f: node.attrs.alpha },
          { name: "beta", type: T.FLOAT, f: node.attrs.beta },
        ]);
        break;
      case "sigmoid":
        add(scope(path, "Sigmoid"), "Sigmoid", x, [y]);
        break;
      case "add":
        add(scope(path, "Add"), "Add", x, [y]);
        break;
      case "mul":
        add(scope(path, "Mul"), "Mul", x, [y]);
        break;
      case "concat":
        add(scope(path, "Concat"), "Concat", x, [y], [{ name: "axis", type: T.INT, i: 1 }]);
        break;
      case "split": {
        const group = splitGroups.get(node.inputs[0])!;
        const c = inputShapes[0][1];
        const halves = group.length === 2 &&
          group.every((s) => (s.attrs as OpAttrs["split"]).size * 2 === c);
        if (halves) {
          // x.chunk(2, dim=1): one Split with its sizes as an input (opset 13).
          if (group[0] === node) {
            const o2 = tmp("Split");
            out.set(group[1].name, o2);
            const first = (node.attrs.offset === 0) ? [y, o2] : [o2, y];
            add(scope(path, "Split"), "Split", [x[0], ints([c / 2, c / 2])], first, [{
              name: "axis",
              type: T.INT,
              i: 1,
            }]);
          }
        } else {
          const a = node.attrs;
          add(scope(path, "Slice"), "Slice", [
            x[0],
            ints([a.offset]),
            ints([a.offset + a.size]),
            ints([1]),
          ], [y]);
        }
        break;
      }
      case "channel_shuffle": {
        const [, c, h, w] = inputShapes[0];
        const g = node.attrs.groups;
        const r = reshapeWithBatch(path, x[0], [g, c / g, h, w], "Reshape");
        const t = tmp("Transpose");
        add(scope(path, "Transpose"), "Transpose", [r], [t], [{
          name: "perm",
          type: T.INTS,
          ints: [0, 2, 1, 3, 4],
        }]);
        const n = batchOf(path, x[0]);
        const shape = tmp("Concat");
        add(scope(path, `Concat_${counter}`), "Concat", [n, ints([-1, h, w])], [shape], [{
          name: "axis",
          type: T.INT,
          i: 0,
        }]);
        add(scope(path, "Reshape_1"), "Reshape", [t, shape], [y]);
        break;
      }
      case "max_pool":
      case "avg_pool": {
        const a = node.attrs;
        const attrs: pb.IAttributeProto[] = [
          { name: "ceil_mode", type: T.INT, i: a.ceilMode ? 1 : 0 },
          { name: "kernel_shape", type: T.INTS, ints: [...a.kernel] },
          { name: "pads", type: T.INTS, ints: [...a.padding] },
          { name: "strides", type: T.INTS, ints: [...a.stride] },
        ];
        if (node.kind === "avg_pool") {
          attrs.push({ name: "count_include_pad", type: T.INT, i: a.countIncludePad ? 1 : 0 });
        }
        add(
          scope(path, node.kind === "max_pool" ? "MaxPool" : "AveragePool"),
          node.kind === "max_pool" ? "MaxPool" : "AveragePool",
          x,
          [y],
          attrs,
        );
        break;
      }
      case "global_avg_pool":
        add(scope(path, "ReduceMean"), "ReduceMean", x, [y], [
          { name: "axes", type: T.INTS, ints: [2, 3] },
          { name: "keepdims", type: T.INT, i: 1 },
        ]);
        break;
      case "flatten": {
        // x.view(x.size(0), -1)
        const r = reshapeWithBatch(path, x[0], [-1], "Reshape");
        add(scope(path, "Identity"), "Identity", [r], [y]);
        break;
      }
      case "linear": {
        const a = node.attrs;
        const w = weights.get(`${path}.weight`)!;
        const wt = new Float32Array(w.length);
        for (let o = 0; o < a.outFeatures; o++) {
          for (let i = 0; i < a.inFeatures; i++) {
            wt[i * a.outFeatures + o] = w[o * a.inFeatures + i];
          }
        }
        const m = a.bias ? tmp("MatMul") : y;
        add(scope(path, "MatMul"), "MatMul", [
          x[0],
          initializer(`onnx::MatMul_${convIndex++}`, [a.inFeatures, a.outFeatures], wt),
        ], [m]);
        if (a.bias) {
          add(scope(path, "Add"), "Add", [
            initializer(`${path}.bias`, [a.outFeatures], weights.get(`${path}.bias`)!),
            m,
          ], [y]);
        }
        break;
      }
      case "dropout":
        out.set(node.name, x[0]);
        if (node.name === graph.outputs[0].node) add(scope(path, "Identity"), "Identity", x, [y]);
        break;
      case "softmax":
        add(scope(path, "Softmax"), "Softmax", x, [y], [{ name: "axis", type: T.INT, i: 1 }]);
        break;
      case "batch_norm":
        throw new Error(`torchLikeOnnx: unfolded batch_norm "${path}" (not after a conv)`);
    }
  }
  const [, c, h, w] = graph.inputs[0].shape;
  const outShape = shapes.get(graph.outputs[0].node)!;
  const bytes = encodeModel({
    irVersion: 7,
    producerName: "pytorch",
    producerVersion: "2.1.0",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "main_graph",
      node: nodes,
      initializer: inits,
      input: [{
        name: "input.1",
        type: {
          tensorType: {
            elemType: 1,
            shape: {
              dim: [{ dimParam: "batch_size" }, { dimValue: c }, { dimValue: h }, { dimValue: w }],
            },
          },
        },
      }],
      output: [{
        name: "output",
        type: {
          tensorType: {
            elemType: 1,
            shape: {
              dim: [{ dimParam: "batch_size" }, ...outShape.slice(1).map((d) => ({ dimValue: d }))],
            },
          },
        },
      }],
    },
  });
  return { bytes, folded: graph, foldedWeights: weights };
}
