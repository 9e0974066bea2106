/**
 * ONNX model -> IR graph + weights, for files as real exporters write them
 * (torch.onnx, tf2onnx, paddle2onnx) and for our own exports. The stages:
 *
 * 1. `decodeModel`: protobuf -> ModelProto (clear error on a broken file).
 * 2. `checkOps`: one error naming every unsupported op type (first node of each).
 * 3. `resolveInput`: the single graph input, dynamic dims from `inputShape`.
 * 4. `translate`: node by node; constants (initializers, Constant nodes and
 *    whole shape computations such as Shape -> Gather -> Unsqueeze -> Concat ->
 *    Reshape) are evaluated at import time, everything else becomes a draft
 *    node (an IR op, or one of a few draft-only ops: scale_shift, mul_same,
 *    reshape, transpose, pad).
 * 5. `fusePatterns`: rewrites until nothing changes: element-wise arithmetic
 *    into hardsigmoid / hardswish, Reshape-Transpose-Reshape into
 *    channel_shuffle, Reshape/Squeeze to [N, -1] into flatten, bias adds and
 *    zero Pads into the conv or linear before them.
 * 6. `lower`: every draft node to an IR node (clip(0, 6) -> relu6, a leftover
 *    scale_shift -> a batch_norm with mean 0 and variance 1 - eps), readable
 *    module-path names, unused nodes dropped, and one error listing what the
 *    IR cannot express.
 *
 * @module
 */

import type { AnyNode, Graph, Scope } from "../lib/ir/graph.ts";
import { inferNodeShape, type OpAttrs, type OpKind, type Shape } from "../lib/ir/ops.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import {
  type AttrRead,
  type ConstTensor,
  decodeModel,
  onnx,
  type pb,
  readAttributes,
  readTensor,
  toInt,
} from "./onnx_proto.ts";
import {
  axesOf,
  broadcastTo,
  CONSTANT_ONLY_OPS,
  FOLDABLE_OPS,
  foldConstant,
  intAttr,
  intsAttr,
  reshapeTarget,
  sliceRange,
} from "./_onnx_fold.ts";
import { GRAPH_METADATA_KEY } from "./onnx_export.ts";

/** Options of {@link importOnnx}. */
export interface ImportOptions {
  /** Input shape `[N, C, H, W]`; required when the file leaves a dimension dynamic. */
  inputShape?: Shape;
  /** Graph name when the file has none (e.g. the file's stem). */
  name?: string;
  /** How the file is named in errors (path). */
  source?: string;
}

/** An imported model: the IR graph and its weights keyed like a state_dict. */
export interface ImportResult {
  graph: Graph;
  weights: Weights;
}

/** A model the importer cannot represent; the message lists every problem found. */
export class OnnxImportError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "OnnxImportError";
  }
}

/** The input shape is missing or contradicts the file (a usage problem: fix `--input-shape`). */
export class InputShapeError extends OnnxImportError {
  constructor(message: string) {
    super(message);
    this.name = "InputShapeError";
  }
}

/** ONNX ops that map to IR ops (alone or as part of a recognized pattern). */
export const COMPUTE_OPS: readonly string[] = [
  "Add",
  "AveragePool",
  "BatchNormalization",
  "Cast",
  "Clip",
  "Concat",
  "Conv",
  "Div",
  "Dropout",
  "Flatten",
  "Gemm",
  "GlobalAveragePool",
  "HardSigmoid",
  "HardSwish",
  "Identity",
  "MatMul",
  "Max",
  "MaxPool",
  "Min",
  "Mul",
  "Pad",
  "ReduceMean",
  "Relu",
  "Reshape",
  "Sigmoid",
  "Slice",
  "Softmax",
  "Split",
  "Squeeze",
  "Sub",
  "Transpose",
  "Unsqueeze",
];

/** Every ONNX op type the importer accepts (shape-computation ops only on constants). */
export const SUPPORTED_ONNX_OPS: readonly string[] = [
  ...new Set([...COMPUTE_OPS, ...FOLDABLE_OPS]),
].sort();

type DraftKind = OpKind | "scale_shift" | "mul_same" | "reshape" | "transpose" | "pad" | "identity";

interface ScaleShift {
  /** Length 1 (scalar) or C (per channel, axis 1). */
  scale: Float32Array;
  shift: Float32Array;
}

/** A node before lowering: an IR op or a draft-only op, with its parameters attached. */
interface Draft {
  /** The ONNX tensor this node produces (unique). */
  ref: string;
  kind: DraftKind;
  // deno-lint-ignore no-explicit-any
  attrs: any;
  inputs: string[];
  params: Map<string, Float32Array>;
  shape: number[];
  onnxName: string;
  opType: string;
  /** Module path read from a parameter initializer named `<path>.weight`. */
  pathHint?: string;
}

type Value = { const: ConstTensor; initializer?: string } | { ref: string; shape: number[] };

const isConst = (v: Value | undefined): v is { const: ConstTensor; initializer?: string } =>
  v !== undefined && "const" in v;

/** The shortest float64 that rounds to the same float32 (1e-5, 1/6, 0.2 come back exactly). */
export function niceFloat(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.fround(v);
  for (let q = 1; q <= 12; q++) {
    const p = Math.round(v * q);
    if (Math.fround(p / q) === f) return p / q;
  }
  for (let k = 1; k <= 9; k++) {
    const d = parseFloat(v.toPrecision(k));
    if (Math.fround(d) === f) return d;
  }
  return v;
}

const close = (a: number, b: number, tol = 1e-6) =>
  Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function f32(values: ArrayLike<number>): Float32Array<ArrayBuffer> {
  return Float32Array.from(values as ArrayLike<number>);
}

/** Per-channel (axis 1) or scalar view of a constant broadcast against `shape`, or undefined. */
function channelVector(c: ConstTensor, shape: readonly number[]): Float32Array | undefined {
  if (c.dims.length > shape.length) return undefined;
  const dims = [...new Array(shape.length - c.dims.length).fill(1), ...c.dims];
  if (dims.every((d) => d === 1)) return f32([c.data[0]]);
  const varying = dims.flatMap((d, i) => (d !== 1 ? [i] : []));
  if (varying.length === 1 && varying[0] === 1 && dims[1] === shape[1]) return f32(c.data);
  return undefined;
}

function torchScope(name: string): { scope: string; op: string } | undefined {
  if (!name.includes("/")) return undefined;
  const parts = name.split("/").filter((p) => p !== "");
  if (parts.length === 0) return undefined;
  return { scope: parts.length >= 2 ? parts[parts.length - 2] : "", op: parts[parts.length - 1] };
}

function sanitize(name: string): string {
  return name.replace(/^[/:.]+/, "").replace(/[/:]+/g, ".").replace(/\s+/g, "_");
}

class Importer {
  readonly values = new Map<string, Value>();
  readonly drafts: Draft[] = [];
  readonly byRef = new Map<string, Draft>();
  readonly issues: string[] = [];
  opset = 13;
  inputName = "input";
  inputShape: number[] = [];
  /** The file's name of the graph output. */
  outputName = "output";

  constructor(readonly model: pb.ModelProto, readonly options: ImportOptions) {}

  get source(): string {
    return this.options.source ?? "input";
  }

  run(): ImportResult {
    this.opset = this.readOpset();
    this.checkOps();
    this.readInitializers();
    this.resolveInput();
    this.translate();
    const output = this.outputRef();
    this.fusePatterns(output);
    return this.lower(output);
  }

  readOpset(): number {
    const entry = (this.model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
    return entry ? toInt(entry.version) : 13;
  }

  checkOps(): void {
    const supported = new Set(SUPPORTED_ONNX_OPS);
    const first = new Map<string, string>();
    this.model.graph!.node!.forEach((n, i) => {
      const domain = n.domain && n.domain !== "ai.onnx" ? `${n.domain}.` : "";
      const type = `${domain}${n.opType ?? ""}`;
      if ((domain || !supported.has(type)) && !first.has(type)) {
        first.set(type, n.name || `#${i} (${type})`);
      }
    });
    if (first.size > 0) {
      const list = [...first].map(([t, n]) => `${t} (first at node "${n}")`).join(", ");
      throw new OnnxImportError(
        `Cannot import "${this.source}": unsupported ONNX op${
          first.size > 1 ? "s" : ""
        } ${list}. Supported ops: ${SUPPORTED_ONNX_OPS.join(", ")}`,
      );
    }
  }

  readInitializers(): void {
    for (const t of this.model.graph!.initializer ?? []) {
      const name = t.name ?? "";
      this.values.set(name, { const: readTensor(t, `initializer "${name}"`), initializer: name });
    }
  }

  resolveInput(): void {
    const inputs = (this.model.graph!.input ?? []).filter((i) => !this.values.has(i.name ?? ""));
    if (inputs.length !== 1) {
      throw new OnnxImportError(
        `Cannot import "${this.source}": the graph has ${inputs.length} inputs (${
          inputs.map((i) => `"${i.name}"`).join(", ") || "none"
        }), expected one image input`,
      );
    }
    const input = inputs[0];
    this.inputName = input.name ?? "input";
    const tensor = input.type?.tensorType;
    if (!tensor) {
      throw new OnnxImportError(
        `Cannot import "${this.source}": input "${this.inputName}" is not a tensor`,
      );
    }
    if (tensor.elemType !== 1) {
      throw new OnnxImportError(
        `Cannot import "${this.source}": input "${this.inputName}" has element type ${
          onnx.TensorProto.DataType[tensor.elemType ?? 0]
        }, expected FLOAT`,
      );
    }
    const dims = (tensor.shape?.dim ?? []).map((d) => {
      const v = d.dimValue !== undefined && d.dimValue !== null ? toInt(d.dimValue) : 0;
      return v > 0 ? { value: v } : { param: d.dimParam || "?" };
    });
    const shown = `[${dims.map((d) => ("value" in d ? d.value : d.param)).join(", ")}]`;
    const given = this.options.inputShape;
    if (given) {
      if (tensor.shape && given.length !== dims.length) {
        throw new InputShapeError(
          `Cannot import "${this.source}": --input-shape ${
            given.join("x")
          } has ${given.length} dimensions, input "${this.inputName}" has ${dims.length} ${shown}`,
        );
      }
      dims.forEach((d, i) => {
        if ("value" in d && d.value !== given[i]) {
          throw new InputShapeError(
            `Cannot import "${this.source}": --input-shape ${
              given.join("x")
            } sets dimension ${i} to ${
              given[i]
            }, but input "${this.inputName}" fixes it to ${d.value} ${shown}`,
          );
        }
      });
      this.inputShape = [...given];
    } else if (this.metadata()?.shape?.length === dims.length) {
      // Our own export: the symbolic batch dimension defaults to the exported shape.
      this.inputShape = [...this.metadata()!.shape];
    } else {
      const dynamic = dims.some((d) => !("value" in d));
      if (dynamic || dims.length === 0) {
        const example = dims.map((
          d,
        ) => ("value" in d ? d.value : d.param === "N" || d === dims[0] ? 1 : 224));
        throw new InputShapeError(
          `Cannot import "${this.source}": input "${this.inputName}" has dynamic dimensions ${shown}; give its shape with --input-shape, e.g. --input-shape ${
            example.join("x")
          }`,
        );
      }
      this.inputShape = dims.map((d) => (d as { value: number }).value);
    }
    if (this.inputShape.length !== 4) {
      throw new OnnxImportError(
        `Cannot import "${this.source}": input "${this.inputName}" has shape [${
          this.inputShape.join(", ")
        }], expected a 4-D [N, C, H, W] image tensor`,
      );
    }
    this.values.set(this.inputName, { ref: this.inputName, shape: this.inputShape });
  }

  /** Nodes in a topological order (the spec requires it, but not every writer complies). */
  sortedNodes(): pb.INodeProto[] {
    const nodes = this.model.graph!.node!;
    const produced = new Map<string, number>();
    nodes.forEach((n, i) => (n.output ?? []).forEach((o) => produced.set(o, i)));
    const done = new Set<number>();
    const order: pb.INodeProto[] = [];
    const visit = (i: number, stack: Set<number>) => {
      if (done.has(i)) return;
      if (stack.has(i)) {
        throw new OnnxImportError(
          `Cannot import "${this.source}": the graph has a cycle through node "${nodes[i].name}"`,
        );
      }
      stack.add(i);
      for (const inp of nodes[i].input ?? []) {
        const p = produced.get(inp);
        if (p !== undefined && !this.values.has(inp)) visit(p, stack);
      }
      stack.delete(i);
      done.add(i);
      order.push(nodes[i]);
    };
    nodes.forEach((_, i) => visit(i, new Set()));
    return order;
  }

  translate(): void {
    for (const node of this.sortedNodes()) {
      const label = `node "${node.name || (node.output ?? [])[0]}" (${node.opType})`;
      const inputs = (node.input ?? []).map((name) => {
        if (name === "") return undefined;
        const v = this.values.get(name);
        if (!v) {
          // An earlier construct could not be translated: report it, not this consequence.
          if (this.issues.length) this.throwIssues();
          throw new OnnxImportError(
            `Cannot import "${this.source}": ${label} reads "${name}", which no node, initializer or input produces`,
          );
        }
        return v;
      });
      const attrs = readAttributes(node, label);
      const opType = node.opType ?? "";
      const outputs = node.output ?? [];
      try {
        if ((opType === "Shape" || opType === "Size") && inputs[0] && !isConst(inputs[0])) {
          const shape = inputs[0].shape;
          const fake: ConstTensor = { dims: shape, type: "float", data: new Float32Array(0) };
          this.setConst(outputs[0], foldConstant(opType, attrs, [fake])[0]);
          continue;
        }
        if (FOLDABLE_OPS.has(opType) && inputs.every((v) => v === undefined || isConst(v))) {
          const results = foldConstant(
            opType,
            attrs,
            inputs.map((v) => (v as { const: ConstTensor } | undefined)?.const),
          );
          results.forEach((t, i) => outputs[i] && this.setConst(outputs[i], t));
          continue;
        }
        if (CONSTANT_ONLY_OPS.has(opType)) {
          this.issues.push(
            `${label} computes on an activation tensor; lightnets evaluates ${opType} only on constants`,
          );
          continue;
        }
        this.translateCompute(node, opType, attrs, inputs, outputs, label);
      } catch (e) {
        if (e instanceof OnnxImportError) throw e;
        if (this.issues.length) this.throwIssues();
        const why = e instanceof Error ? e.message : String(e);
        throw new OnnxImportError(`Cannot import "${this.source}": ${label}: ${why}`);
      }
    }
  }

  setConst(name: string, t: ConstTensor): void {
    this.values.set(name, { const: t });
  }

  emit(
    node: pb.INodeProto,
    ref: string,
    kind: DraftKind,
    attrs: unknown,
    inputs: string[],
    shape: number[],
    params = new Map<string, Float32Array>(),
    pathHint?: string,
  ): Draft {
    const d: Draft = {
      ref,
      kind,
      attrs,
      inputs,
      params,
      shape,
      onnxName: node.name ?? "",
      opType: node.opType ?? "",
      pathHint,
    };
    this.drafts.push(d);
    this.byRef.set(ref, d);
    this.values.set(ref, { ref, shape });
    return d;
  }

  irShape<K extends OpKind>(
    label: string,
    kind: K,
    attrs: OpAttrs[K],
    inputs: number[][],
  ): number[] {
    return [...inferNodeShape(label, kind, attrs, inputs)];
  }

  translateCompute(
    node: pb.INodeProto,
    opType: string,
    attrs: Map<string, AttrRead>,
    inputs: (Value | undefined)[],
    outputs: string[],
    label: string,
  ): void {
    const out = outputs[0];
    const dyn = (i: number, what = "input"): { ref: string; shape: number[] } => {
      const v = inputs[i];
      if (!v || isConst(v)) {
        throw new RangeError(`expected ${what} ${i} to be a computed tensor, found a constant`);
      }
      return v;
    };
    const constant = (i: number, what: string): ConstTensor => {
      const v = inputs[i];
      if (!isConst(v)) {
        throw new RangeError(
          `expected ${what} (input ${i}) to be a constant (initializer or Constant node)`,
        );
      }
      return v.const;
    };
    const optConst = (
      i: number,
      what: string,
    ) => (inputs[i] === undefined ? undefined : constant(i, what));
    const hint = (i: number) => {
      const v = inputs[i];
      const name = isConst(v) ? v.initializer : undefined;
      return name && name.endsWith(".weight") && !name.startsWith("onnx::")
        ? name.slice(0, -7)
        : undefined;
    };
    const alias = (from: string, to: { ref: string; shape: number[] }) => this.values.set(from, to);
    const unusedOutputs = (from: number, what: string) => {
      if (outputs.slice(from).some((o) => o && this.isRead(o))) {
        this.issues.push(`${label} uses its ${what} output, which lightnets does not compute`);
      }
    };

    switch (opType) {
      case "Conv": {
        const x = dyn(0);
        const w = constant(1, "weight");
        const b = optConst(2, "bias");
        if (x.shape.length !== 4 || w.dims.length !== 4) {
          throw new RangeError(
            `only 2-D convolution on [N, C, H, W] is supported (weight has shape [${
              w.dims.join(", ")
            }])`,
          );
        }
        const kernel: [number, number] = [w.dims[2], w.dims[3]];
        const stride = (intsAttr(attrs, "strides") ?? [1, 1]) as [number, number];
        const dilation = (intsAttr(attrs, "dilations") ?? [1, 1]) as [number, number];
        const groups = intAttr(attrs, "group", 1);
        if (w.dims[1] * groups !== x.shape[1]) {
          throw new RangeError(
            `weight [${w.dims.join(", ")}] with group ${groups} expects ${
              w.dims[1] * groups
            } input channels, input has ${x.shape[1]}`,
          );
        }
        const padding = this.pads(attrs, x.shape, kernel, stride, dilation);
        const a: OpAttrs["conv2d"] = {
          inChannels: x.shape[1],
          outChannels: w.dims[0],
          kernel,
          stride,
          padding,
          dilation,
          groups,
          bias: b !== undefined,
        };
        const params = new Map([["weight", f32(w.data)]]);
        if (b) params.set("bias", f32(b.data));
        this.emit(
          node,
          out,
          "conv2d",
          a,
          [x.ref],
          this.irShape(label, "conv2d", a, [x.shape]),
          params,
          hint(1),
        );
        return;
      }
      case "BatchNormalization": {
        const x = dyn(0);
        if (intAttr(attrs, "training_mode", 0) === 1) unusedOutputs(1, "training statistics");
        unusedOutputs(1, "running statistics");
        const names = ["weight", "bias", "running_mean", "running_var"];
        const params = new Map(names.map((n, i) => [n, f32(constant(i + 1, n).data)]));
        const attrsEps = attrs.get("epsilon");
        const a: OpAttrs["batch_norm"] = {
          channels: x.shape[1],
          eps: niceFloat(typeof attrsEps === "number" ? attrsEps : 1e-5),
        };
        for (const [n, p] of params) {
          if (p.length !== a.channels) {
            throw new RangeError(`${n} has ${p.length} values, expected ${a.channels} channels`);
          }
        }
        this.emit(
          node,
          out,
          "batch_norm",
          a,
          [x.ref],
          this.irShape(label, "batch_norm", a, [x.shape]),
          params,
          hint(1),
        );
        return;
      }
      case "Relu": {
        const x = dyn(0);
        this.emit(node, out, "clip", { min: 0, max: Infinity }, [x.ref], x.shape);
        return;
      }
      case "Clip": {
        const x = dyn(0);
        let min = -Infinity;
        let max = Infinity;
        if (this.opset < 11) {
          const lo = attrs.get("min");
          const hi = attrs.get("max");
          if (typeof lo === "number") min = lo;
          if (typeof hi === "number") max = hi;
        } else {
          const lo = optConst(1, "min");
          const hi = optConst(2, "max");
          if (lo) min = lo.data[0];
          if (hi) max = hi.data[0];
        }
        this.emit(
          node,
          out,
          "clip",
          { min: niceFloat(min), max: niceFloat(max) },
          [x.ref],
          x.shape,
        );
        return;
      }
      case "Max":
      case "Min": {
        const dynIdx = inputs.findIndex((v) => v && !isConst(v));
        const others = inputs.filter((_, i) => i !== dynIdx);
        if (inputs.length !== 2 || !isConst(others[0]) || others[0].const.data.length !== 1) {
          this.issues.push(
            `${label} takes the ${opType.toLowerCase()} of computed tensors; only a constant scalar bound is supported`,
          );
          return;
        }
        const x = dyn(dynIdx);
        const c = niceFloat(others[0].const.data[0]);
        const bounds = opType === "Max" ? { min: c, max: Infinity } : { min: -Infinity, max: c };
        this.emit(node, out, "clip", bounds, [x.ref], x.shape);
        return;
      }
      case "Sigmoid":
      case "HardSwish": {
        const x = dyn(0);
        this.emit(node, out, opType === "Sigmoid" ? "sigmoid" : "hardswish", {}, [x.ref], x.shape);
        return;
      }
      case "HardSigmoid": {
        const x = dyn(0);
        const alpha = attrs.get("alpha");
        const beta = attrs.get("beta");
        const a: OpAttrs["hardsigmoid"] = {
          alpha: niceFloat(typeof alpha === "number" ? alpha : 0.2),
          beta: niceFloat(typeof beta === "number" ? beta : 0.5),
        };
        this.emit(node, out, "hardsigmoid", a, [x.ref], x.shape);
        return;
      }
      case "Add":
      case "Sub":
      case "Mul":
      case "Div":
        this.arithmetic(node, opType, inputs, out, label);
        return;
      case "Concat": {
        const xs = inputs.map((_, i) => dyn(i, "concatenated input"));
        const axis = normAxis(intAttr(attrs, "axis", 0), xs[0].shape.length);
        if (axis !== 1 || xs[0].shape.length !== 4) {
          this.issues.push(
            `${label} concatenates along axis ${axis} of a ${
              xs[0].shape.length
            }-D tensor; lightnets concatenates channels of [N, C, H, W]`,
          );
          return;
        }
        this.emit(
          node,
          out,
          "concat",
          { axis: 1 },
          xs.map((x) => x.ref),
          this.irShape(label, "concat", { axis: 1 }, xs.map((x) => x.shape)),
        );
        return;
      }
      case "Split": {
        const x = dyn(0);
        const axis = normAxis(intAttr(attrs, "axis", 0), x.shape.length);
        const dim = x.shape[axis];
        let sizes = inputs[1] ? Array.from(constant(1, "split").data) : intsAttr(attrs, "split");
        if (!sizes) {
          const n = outputs.length;
          const each = Math.ceil(dim / n);
          sizes = Array.from({ length: n }, (_, i) => Math.min(each, dim - i * each));
        }
        if (axis !== 1 || x.shape.length !== 4) {
          this.issues.push(
            `${label} splits axis ${axis} of a ${x.shape.length}-D tensor; lightnets splits channels of [N, C, H, W]`,
          );
          return;
        }
        let offset = 0;
        sizes.forEach((channels, i) => {
          const ref = outputs[i];
          if (ref) {
            const a: OpAttrs["split"] = { axis: 1, offset, size: channels };
            const d = this.emit(
              node,
              ref,
              "split",
              a,
              [x.ref],
              this.irShape(label, "split", a, [x.shape]),
            );
            if (i > 0) d.onnxName = node.name ? `${node.name}_${i}` : "";
          }
          offset += channels;
        });
        return;
      }
      case "Slice": {
        const x = dyn(0);
        const starts = inputs[1]
          ? Array.from(constant(1, "starts").data)
          : intsAttr(attrs, "starts") ?? [];
        const ends = inputs[2]
          ? Array.from(constant(2, "ends").data)
          : intsAttr(attrs, "ends") ?? [];
        const axes = inputs[3]
          ? Array.from(constant(3, "axes").data)
          : intsAttr(attrs, "axes") ?? starts.map((_, i) => i);
        const steps = inputs[4] ? Array.from(constant(4, "steps").data) : starts.map(() => 1);
        let result: OpAttrs["split"] | undefined;
        for (let j = 0; j < axes.length; j++) {
          const axis = normAxis(axes[j], x.shape.length);
          const idx = sliceRange(starts[j], ends[j], steps[j], x.shape[axis]);
          const full = idx.length === x.shape[axis] && idx.every((v, i) => v === i);
          if (full) continue;
          const contiguous = idx.every((v, i) => v === idx[0] + i) && idx.length > 0;
          if (axis !== 1 || !contiguous || x.shape.length !== 4) {
            this.issues.push(
              `${label} slices axis ${axis}${
                contiguous ? "" : " with a step"
              }; lightnets slices only a contiguous channel range of [N, C, H, W]`,
            );
            return;
          }
          result = { axis: 1, offset: idx[0], size: idx.length };
        }
        if (!result) alias(out, x);
        else {this.emit(
            node,
            out,
            "split",
            result,
            [x.ref],
            this.irShape(label, "split", result, [x.shape]),
          );}
        return;
      }
      case "Reshape": {
        const x = dyn(0);
        const target = Array.from(constant(1, "shape").data);
        const shape = reshapeTarget(
          x.shape,
          target,
          intAttr(attrs, "allowzero", 0) === 1,
          "Reshape",
        );
        this.emit(node, out, "reshape", { shape }, [x.ref], shape);
        return;
      }
      case "Squeeze":
      case "Unsqueeze": {
        const x = dyn(0);
        const axes = axesOf(attrs, optConst(1, "axes"));
        const fake: ConstTensor = {
          dims: x.shape,
          type: "float",
          data: new Float32Array(x.shape.reduce((a, b) => a * b, 1)),
        };
        const axesT = axes
          ? { dims: [axes.length], type: "int" as const, data: Float64Array.from(axes) }
          : undefined;
        const attrsNoAxes = new Map(attrs);
        attrsNoAxes.delete("axes");
        const shape = foldConstant(opType, attrsNoAxes, [fake, axesT])[0].dims;
        this.emit(node, out, "reshape", { shape }, [x.ref], shape);
        return;
      }
      case "Flatten": {
        const x = dyn(0);
        const axis = normAxis(intAttr(attrs, "axis", 1), x.shape.length);
        if (axis === 1) {
          this.emit(
            node,
            out,
            "flatten",
            { axis: 1 },
            [x.ref],
            this.irShape(label, "flatten", { axis: 1 }, [x.shape]),
          );
        } else {
          const prod = (a: number[]) => a.reduce((p, q) => p * q, 1);
          const shape = [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))];
          this.emit(node, out, "reshape", { shape }, [x.ref], shape);
        }
        return;
      }
      case "Transpose": {
        const x = dyn(0);
        const perm = intsAttr(attrs, "perm") ?? x.shape.map((_, i) => x.shape.length - 1 - i);
        this.emit(node, out, "transpose", { perm }, [x.ref], perm.map((p) => x.shape[p]));
        return;
      }
      case "MaxPool":
      case "AveragePool": {
        const x = dyn(0);
        if (opType === "MaxPool") unusedOutputs(1, "indices");
        const kernel = intsAttr(attrs, "kernel_shape") as [number, number] | undefined;
        if (!kernel || kernel.length !== 2 || x.shape.length !== 4) {
          throw new RangeError("only 2-D pooling on [N, C, H, W] with a kernel_shape is supported");
        }
        const dil = intsAttr(attrs, "dilations");
        if (dil && dil.some((d) => d !== 1)) {
          this.issues.push(
            `${label} uses dilations [${dil.join(", ")}]; lightnets pools without dilation`,
          );
          return;
        }
        const stride = (intsAttr(attrs, "strides") ?? [1, 1]) as [number, number];
        const a: OpAttrs["max_pool"] = {
          kernel,
          stride,
          padding: this.pads(attrs, x.shape, kernel, stride, [1, 1]),
          ceilMode: intAttr(attrs, "ceil_mode", 0) === 1,
          countIncludePad: intAttr(attrs, "count_include_pad", 0) === 1,
        };
        const kind = opType === "MaxPool" ? "max_pool" : "avg_pool";
        if (kind === "max_pool") a.countIncludePad = true;
        this.emit(node, out, kind, a, [x.ref], this.irShape(label, kind, a, [x.shape]));
        return;
      }
      case "GlobalAveragePool": {
        const x = dyn(0);
        this.emit(
          node,
          out,
          "global_avg_pool",
          {},
          [x.ref],
          this.irShape(label, "global_avg_pool", {}, [x.shape]),
        );
        return;
      }
      case "ReduceMean": {
        const x = dyn(0);
        const axes = (axesOf(attrs, optConst(1, "axes")) ?? []).map((a) =>
          normAxis(a, x.shape.length)
        ).sort();
        if (x.shape.length !== 4 || axes.length !== 2 || axes[0] !== 2 || axes[1] !== 3) {
          this.issues.push(
            `${label} averages over axes [${
              axes.join(", ")
            }]; lightnets supports the mean over H and W (axes 2, 3) of [N, C, H, W]`,
          );
          return;
        }
        const pooled = this.irShape(label, "global_avg_pool", {}, [x.shape]);
        if (intAttr(attrs, "keepdims", 1) === 1) {
          this.emit(node, out, "global_avg_pool", {}, [x.ref], pooled);
        } else {
          this.emit(node, `${out}#pooled`, "global_avg_pool", {}, [x.ref], pooled);
          const shape = [pooled[0], pooled[1]];
          this.emit(node, out, "reshape", { shape }, [`${out}#pooled`], shape);
        }
        return;
      }
      case "Gemm":
      case "MatMul": {
        const x = dyn(0);
        const w = constant(1, "weight");
        if (x.shape.length !== 2 || w.dims.length !== 2) {
          this.issues.push(
            `${label} multiplies a ${x.shape.length}-D input by a ${w.dims.length}-D weight; lightnets supports [N, K] x [K, M] (flatten first)`,
          );
          return;
        }
        if (opType === "Gemm" && intAttr(attrs, "transA", 0) !== 0) {
          this.issues.push(
            `${label} has transA = 1; lightnets supports Gemm with the activation as A`,
          );
          return;
        }
        const transB = opType === "Gemm" && intAttr(attrs, "transB", 0) === 1;
        const alphaA = attrs.get("alpha");
        const betaA = attrs.get("beta");
        const alpha = opType === "Gemm" && typeof alphaA === "number" ? alphaA : 1;
        const beta = opType === "Gemm" && typeof betaA === "number" ? betaA : 1;
        const [outF, inF] = transB ? [w.dims[0], w.dims[1]] : [w.dims[1], w.dims[0]];
        const weight = new Float32Array(outF * inF);
        for (let o = 0; o < outF; o++) {
          for (let i = 0; i < inF; i++) {
            weight[o * inF + i] = alpha * (transB ? w.data[o * inF + i] : w.data[i * outF + o]);
          }
        }
        const c = opType === "Gemm" ? optConst(2, "bias") : undefined;
        const params = new Map([["weight", weight]]);
        if (c) {
          const bias = broadcastTo(c, [outF]);
          params.set("bias", f32(bias.map((v) => beta * v)));
        }
        const a: OpAttrs["linear"] = { inFeatures: inF, outFeatures: outF, bias: c !== undefined };
        this.emit(
          node,
          out,
          "linear",
          a,
          [x.ref],
          this.irShape(label, "linear", a, [x.shape]),
          params,
          hint(1),
        );
        return;
      }
      case "Softmax": {
        const x = dyn(0);
        const axis = normAxis(intAttr(attrs, "axis", this.opset < 13 ? 1 : -1), x.shape.length);
        if (axis !== 1) {
          this.issues.push(
            `${label} normalizes axis ${axis} of a ${x.shape.length}-D tensor; lightnets applies softmax over axis 1`,
          );
          return;
        }
        this.emit(node, out, "softmax", { axis: 1 }, [x.ref], x.shape);
        return;
      }
      case "Dropout": {
        const x = dyn(0);
        unusedOutputs(1, "mask");
        const training = optConst(2, "training_mode");
        if (training && training.data[0] !== 0) {
          this.issues.push(`${label} runs in training mode; lightnets imports inference graphs`);
          return;
        }
        const ratio = optConst(1, "ratio");
        const attr = attrs.get("ratio");
        const p = ratio ? ratio.data[0] : typeof attr === "number" ? attr : 0.5;
        this.emit(node, out, "dropout", { p: niceFloat(p) }, [x.ref], x.shape);
        return;
      }
      case "Identity":
        alias(out, dyn(0));
        return;
      case "Cast": {
        const to = intAttr(attrs, "to", 1);
        if (to !== 1) {
          this.issues.push(
            `${label} casts an activation to ${
              onnx.TensorProto.DataType[to]
            }; lightnets computes in FLOAT`,
          );
          return;
        }
        alias(out, dyn(0));
        return;
      }
      case "Pad": {
        const x = dyn(0);
        const mode = attrs.get("mode") ?? "constant";
        const pads = inputs[1]
          ? Array.from(constant(1, "pads").data)
          : intsAttr(attrs, "pads") ?? [];
        const value = inputs[2]
          ? constant(2, "constant_value").data[0]
          : (attrs.get("value") as number | undefined) ?? 0;
        const r = x.shape.length;
        if (
          mode !== "constant" || value !== 0 || r !== 4 || pads.length !== 8 || pads[0] ||
          pads[1] || pads[4] || pads[5]
        ) {
          this.issues.push(
            `${label} is not a zero padding of H and W (mode "${mode}", value ${value}, pads [${
              pads.join(", ")
            }])`,
          );
          return;
        }
        const p = [pads[2], pads[3], pads[6], pads[7]];
        const shape = [x.shape[0], x.shape[1], x.shape[2] + p[0] + p[2], x.shape[3] + p[1] + p[3]];
        this.emit(node, out, "pad", { pads: p }, [x.ref], shape);
        return;
      }
      default:
        this.issues.push(`${label} is not supported on computed tensors`);
    }
  }

  /** Conv/pool padding from `pads` or `auto_pad` (SAME_UPPER puts the odd pixel at the end). */
  pads(
    attrs: Map<string, AttrRead>,
    x: readonly number[],
    kernel: readonly number[],
    stride: readonly number[],
    dilation: readonly number[],
  ): [number, number, number, number] {
    const auto = attrs.get("auto_pad");
    if (auto === "SAME_UPPER" || auto === "SAME_LOWER") {
      const total = [0, 1].map((i) => {
        const out = Math.ceil(x[2 + i] / stride[i]);
        return Math.max((out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - x[2 + i], 0);
      });
      const small = total.map((t) => Math.floor(t / 2));
      const big = total.map((t, i) => t - small[i]);
      return auto === "SAME_UPPER"
        ? [small[0], small[1], big[0], big[1]]
        : [big[0], big[1], small[0], small[1]];
    }
    if (auto === "VALID") return [0, 0, 0, 0];
    const p = intsAttr(attrs, "pads") ?? [0, 0, 0, 0];
    return [p[0], p[1], p[2], p[3]];
  }

  arithmetic(
    node: pb.INodeProto,
    opType: string,
    inputs: (Value | undefined)[],
    out: string,
    label: string,
  ) {
    const [a, b] = inputs;
    if (!a || !b) throw new RangeError(`${opType} needs two inputs`);
    if (!isConst(a) && !isConst(b)) {
      const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
      if (opType === "Add" && same) {
        this.emit(node, out, "add", {}, [a.ref, b.ref], a.shape);
        return;
      }
      if (opType === "Mul" && same) {
        this.emit(node, out, "mul_same", {}, [a.ref, b.ref], a.shape);
        return;
      }
      const isScale = (s: number[], x: number[]) =>
        s.length === 4 && x.length === 4 && s[0] === x[0] && s[1] === x[1] && s[2] === 1 &&
        s[3] === 1;
      if (opType === "Mul" && (isScale(b.shape, a.shape) || isScale(a.shape, b.shape))) {
        const [x, s] = isScale(b.shape, a.shape) ? [a, b] : [b, a];
        this.emit(node, out, "mul", {}, [x.ref, s.ref], x.shape);
        return;
      }
      this.issues.push(
        `${label} ${
          opType === "Add"
            ? "adds"
            : opType === "Mul"
            ? "multiplies"
            : opType === "Sub"
            ? "subtracts"
            : "divides"
        } two computed tensors of shapes [${a.shape.join(", ")}] and [${
          b.shape.join(", ")
        }]; lightnets supports Add of equal shapes and Mul by an [N, C, 1, 1] scale`,
      );
      return;
    }
    if (isConst(a) && isConst(b)) throw new RangeError("unexpected constant operands");
    const constFirst = isConst(a);
    const x = (constFirst ? b : a) as { ref: string; shape: number[] };
    const c = (constFirst ? a : b) as { const: ConstTensor };
    const v = channelVector(c.const, x.shape);
    if (!v) {
      this.issues.push(
        `${label} combines a tensor of shape [${x.shape.join(", ")}] with a constant of shape [${
          c.const.dims.join(", ")
        }]; lightnets supports scalar or per-channel constants`,
      );
      return;
    }
    const one = f32([1]);
    const zero = f32([0]);
    let ss: ScaleShift;
    if (opType === "Add") ss = { scale: one, shift: v };
    else if (opType === "Mul") ss = { scale: v, shift: zero };
    else if (opType === "Sub") {
      ss = constFirst ? { scale: f32([-1]), shift: v } : { scale: one, shift: v.map((t) => -t) };
    } else if (!constFirst) ss = { scale: f32(Array.from(v, (t) => 1 / t)), shift: zero };
    else {
      this.issues.push(
        `${label} divides a constant by a computed tensor; lightnets supports division by constants`,
      );
      return;
    }
    // Keep float64 precision for scalars such as 1/6 (f32 arrays would round them).
    const scalars = { scale: Array.from(ss.scale), shift: Array.from(ss.shift) };
    this.emit(node, out, "scale_shift", scalars, [x.ref], x.shape);
  }

  isRead(name: string): boolean {
    const g = this.model.graph!;
    return (g.node ?? []).some((n) => (n.input ?? []).includes(name)) ||
      (g.output ?? []).some((o) => o.name === name);
  }

  outputRef(): string {
    const outs = this.model.graph!.output ?? [];
    if (outs.length !== 1) {
      throw new OnnxImportError(
        `Cannot import "${this.source}": the graph has ${outs.length} outputs (${
          outs.map((o) => `"${o.name}"`).join(", ")
        }), expected one`,
      );
    }
    this.outputName = outs[0].name || "output";
    const v = this.values.get(outs[0].name ?? "");
    if (!v || isConst(v)) {
      if (this.issues.length) this.throwIssues();
      throw new OnnxImportError(
        `Cannot import "${this.source}": output "${outs[0].name}" is not computed from the input`,
      );
    }
    return v.ref;
  }

  throwIssues(): never {
    throw new OnnxImportError(
      `Cannot import "${this.source}": ${this.issues.length} construct${
        this.issues.length > 1 ? "s" : ""
      } the lightnets IR cannot express:\n  - ${this.issues.join("\n  - ")}`,
    );
  }

  // ---- fusePatterns ---------------------------------------------------------

  fusePatterns(output: string): void {
    const rules = [
      (d: Draft, u: Uses) => this.mergeScaleShift(d, u),
      (d: Draft, u: Uses) => this.mergeClip(d, u),
      (d: Draft, u: Uses) => this.pushScaleIntoProduct(d, u),
      (d: Draft, u: Uses) => this.hardSigmoidFromClip(d, u),
      (d: Draft, u: Uses) => this.hardSwishFromProduct(d, u),
      (d: Draft, u: Uses) => this.channelShuffle(d, u),
      (d: Draft, _u: Uses) => this.reshapeToFlatten(d),
      (d: Draft, u: Uses) => this.biasIntoLinear(d, u),
      (d: Draft, u: Uses) => this.padIntoConv(d, u),
      (d: Draft, _u: Uses) => this.dropIdentity(d),
    ];
    for (let round = 0; round < 100; round++) {
      let changed = false;
      for (const d of this.drafts) {
        if (d.kind === "identity") continue;
        const uses = this.uses(output);
        for (const rule of rules) {
          if (rule(d, uses)) {
            changed = true;
            break;
          }
        }
      }
      if (!changed) return;
    }
  }

  uses(output: string): Uses {
    const live = this.liveRefs(output);
    const count = new Map<string, number>([[output, 1]]);
    for (const d of this.drafts) {
      if (!live.has(d.ref)) continue;
      for (const i of d.inputs) count.set(i, (count.get(i) ?? 0) + 1);
    }
    return (ref: string) => count.get(ref) ?? 0;
  }

  liveRefs(output: string): Set<string> {
    const live = new Set<string>();
    const stack = [output];
    while (stack.length) {
      const r = stack.pop()!;
      if (live.has(r)) continue;
      live.add(r);
      const d = this.byRef.get(r);
      if (d) stack.push(...d.inputs);
    }
    return live;
  }

  producer(ref: string, kind?: DraftKind): Draft | undefined {
    const d = this.byRef.get(ref);
    return d && (!kind || d.kind === kind) ? d : undefined;
  }

  mergeScaleShift(d: Draft, uses: Uses): boolean {
    if (d.kind !== "scale_shift") return false;
    const p = this.producer(d.inputs[0], "scale_shift");
    if (!p || uses(p.ref) !== 1) return false;
    const n = Math.max(
      d.attrs.scale.length,
      p.attrs.scale.length,
      d.attrs.shift.length,
      p.attrs.shift.length,
    );
    const at = (v: number[], i: number) => (v.length === 1 ? v[0] : v[i]);
    const scale: number[] = [];
    const shift: number[] = [];
    for (let i = 0; i < n; i++) {
      scale.push(at(d.attrs.scale, i) * at(p.attrs.scale, i));
      shift.push(at(d.attrs.scale, i) * at(p.attrs.shift, i) + at(d.attrs.shift, i));
    }
    const squash = (v: number[]) => (v.every((t) => t === v[0]) ? [v[0]] : v);
    d.attrs = { scale: squash(scale), shift: squash(shift) };
    d.inputs = [...p.inputs];
    return true;
  }

  mergeClip(d: Draft, uses: Uses): boolean {
    if (d.kind !== "clip") return false;
    const p = this.producer(d.inputs[0], "clip");
    if (!p || uses(p.ref) !== 1) return false;
    d.attrs = { min: Math.max(d.attrs.min, p.attrs.min), max: Math.min(d.attrs.max, p.attrs.max) };
    d.inputs = [...p.inputs];
    return true;
  }

  /** `(x * y) * c` -> `x * (y * c)`, so `x * relu6(x + 3) / 6` exposes the hard sigmoid. */
  pushScaleIntoProduct(d: Draft, uses: Uses): boolean {
    if (
      d.kind !== "scale_shift" || d.attrs.scale.length !== 1 ||
      d.attrs.shift.some((v: number) => v !== 0)
    ) return false;
    const m = this.producer(d.inputs[0], "mul_same");
    if (!m || uses(m.ref) !== 1) return false;
    const c = d.attrs.scale[0];
    const [x, y] = m.inputs;
    const scaled: Draft = {
      ...m,
      ref: `${d.ref}#scaled`,
      kind: "scale_shift",
      attrs: { scale: [c], shift: [0] },
      inputs: [y],
    };
    this.drafts.splice(this.drafts.indexOf(m) + 1, 0, scaled);
    this.byRef.set(scaled.ref, scaled);
    d.kind = "mul_same";
    d.attrs = {};
    d.inputs = [x, scaled.ref];
    return true;
  }

  /** `c * clip(a * x + b, lo, hi) + d` with `c * (hi - lo) = 1`, `c * lo + d = 0` is a hard sigmoid. */
  hardSigmoidFromClip(d: Draft, uses: Uses): boolean {
    let c = 1;
    let dd = 0;
    let clip = d;
    if (d.kind === "scale_shift") {
      if (d.attrs.scale.length !== 1 || d.attrs.shift.length !== 1) return false;
      const p = this.producer(d.inputs[0], "clip");
      if (!p || uses(p.ref) !== 1) return false;
      [c, dd, clip] = [d.attrs.scale[0], d.attrs.shift[0], p];
    } else if (d.kind !== "clip") return false;
    const inner = this.producer(clip.inputs[0], "scale_shift");
    if (
      !inner || uses(inner.ref) !== 1 || inner.attrs.scale.length !== 1 ||
      inner.attrs.shift.length !== 1
    ) return false;
    const { min: lo, max: hi } = clip.attrs;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo || c <= 0) return false;
    if (!close(c * (hi - lo), 1) || !close(c * lo + dd, 0)) return false;
    const [a, b] = [inner.attrs.scale[0], inner.attrs.shift[0]];
    d.kind = "hardsigmoid";
    d.attrs = { alpha: niceFloat(a / (hi - lo)), beta: niceFloat((b - lo) / (hi - lo)) };
    d.inputs = [...inner.inputs];
    return true;
  }

  /** `x * hardsigmoid(x)` with torchvision's alpha 1/6, beta 1/2 is hardswish. */
  hardSwishFromProduct(d: Draft, uses: Uses): boolean {
    if (d.kind !== "mul_same") return false;
    for (const [xi, hi] of [[0, 1], [1, 0]]) {
      const h = this.producer(d.inputs[hi], "hardsigmoid");
      if (!h || uses(h.ref) !== 1 || h.inputs[0] !== d.inputs[xi]) continue;
      if (!close(h.attrs.alpha, 1 / 6) || !close(h.attrs.beta, 0.5)) continue;
      d.kind = "hardswish";
      d.attrs = {};
      d.inputs = [d.inputs[xi]];
      return true;
    }
    return false;
  }

  /** `reshape(N, g, C/g, H, W) -> transpose(0, 2, 1, 3, 4) -> reshape(N, C, H, W)`. */
  channelShuffle(d: Draft, uses: Uses): boolean {
    if (d.kind !== "reshape" || d.shape.length !== 4) return false;
    const t = this.producer(d.inputs[0], "transpose");
    if (!t || uses(t.ref) !== 1 || t.attrs.perm.join() !== "0,2,1,3,4") return false;
    const r = this.producer(t.inputs[0], "reshape");
    if (!r || uses(r.ref) !== 1) return false;
    const x = this.values.get(r.inputs[0]) as { shape: number[] } | undefined;
    if (!x || x.shape.length !== 4) return false;
    const [n, c, h, w] = x.shape;
    const [n2, g, cg, h2, w2] = r.shape;
    if (n2 !== n || g * cg !== c || h2 !== h || w2 !== w || d.shape.join() !== x.shape.join()) {
      return false;
    }
    d.kind = "channel_shuffle";
    d.attrs = { groups: g };
    d.inputs = [...r.inputs];
    return true;
  }

  reshapeToFlatten(d: Draft): boolean {
    if (d.kind !== "reshape") return false;
    const x = this.values.get(d.inputs[0]) as { shape: number[] };
    const numel = x.shape.reduce((a, b) => a * b, 1);
    if (d.shape.join() === x.shape.join()) {
      d.kind = "identity";
      return true;
    }
    if (d.shape.length === 2 && d.shape[0] === x.shape[0] && d.shape[1] * x.shape[0] === numel) {
      d.kind = "flatten";
      d.attrs = { axis: 1 };
      return true;
    }
    return false;
  }

  /** A per-channel add right after a conv or linear without bias becomes its bias. */
  biasIntoLinear(d: Draft, uses: Uses): boolean {
    if (d.kind !== "scale_shift" || d.attrs.scale.length !== 1 || d.attrs.scale[0] !== 1) {
      return false;
    }
    const p = this.byRef.get(d.inputs[0]);
    if (!p || (p.kind !== "conv2d" && p.kind !== "linear") || p.attrs.bias || uses(p.ref) !== 1) {
      return false;
    }
    const channels = p.shape[1];
    const shift: number[] = d.attrs.shift;
    const bias = f32(
      Array.from({ length: channels }, (_, i) => (shift.length === 1 ? shift[0] : shift[i])),
    );
    Object.assign(d, { kind: p.kind, attrs: { ...p.attrs, bias: true }, inputs: [...p.inputs] });
    d.params = new Map([...p.params, ["bias", bias]]);
    d.pathHint = p.pathHint;
    d.onnxName = p.onnxName;
    d.opType = p.opType;
    return true;
  }

  padIntoConv(d: Draft, uses: Uses): boolean {
    if (d.kind !== "conv2d") return false;
    const p = this.producer(d.inputs[0], "pad");
    if (!p || uses(p.ref) !== 1) return false;
    const q = d.attrs.padding;
    d.attrs = { ...d.attrs, padding: q.map((v: number, i: number) => v + p.attrs.pads[i]) };
    d.inputs = [...p.inputs];
    return true;
  }

  dropIdentity(d: Draft): boolean {
    const identity = (d.kind === "scale_shift" && d.attrs.scale.every((v: number) => v === 1) &&
      d.attrs.shift.every((v: number) => v === 0)) ||
      (d.kind === "clip" && d.attrs.min === -Infinity && d.attrs.max === Infinity);
    if (identity) d.kind = "identity";
    return identity;
  }

  // ---- lower ------------------------------------------------------------------

  lower(output: string): ImportResult {
    // Resolve identities: readers of an identity read its input.
    const through = (ref: string): string => {
      let r = ref;
      for (let d = this.byRef.get(r); d && d.kind === "identity"; d = this.byRef.get(r)) {
        r = d.inputs[0];
      }
      return r;
    };
    for (const d of this.drafts) d.inputs = d.inputs.map(through);
    output = through(output);
    const live = this.liveRefs(output);
    const drafts = this.drafts.filter((d) => live.has(d.ref) && d.kind !== "identity");

    const nodes: {
      draft: Draft;
      kind: OpKind;
      attrs: unknown;
      params: Map<string, Float32Array>;
    }[] = [];
    for (const d of drafts) {
      const label = `node "${d.onnxName || d.ref}" (${d.opType})`;
      switch (d.kind) {
        case "clip": {
          const { min, max } = d.attrs;
          if (min === 0 && max === Infinity) {
            nodes.push({ draft: d, kind: "relu", attrs: {}, params: d.params });
          } else if (min === 0 && max === 6) {
            nodes.push({ draft: d, kind: "relu6", attrs: {}, params: d.params });
          } else nodes.push({ draft: d, kind: "clip", attrs: { min, max }, params: d.params });
          break;
        }
        case "scale_shift": {
          // An affine map per channel is an inference BatchNorm with mean 0 and var 1 - eps.
          const c = d.shape[1];
          const eps = 1e-5;
          const at = (v: number[], i: number) => (v.length === 1 ? v[0] : v[i]);
          const params = new Map([
            ["weight", f32(Array.from({ length: c }, (_, i) => at(d.attrs.scale, i)))],
            ["bias", f32(Array.from({ length: c }, (_, i) => at(d.attrs.shift, i)))],
            ["running_mean", new Float32Array(c)],
            ["running_var", new Float32Array(c).fill(1 - eps)],
          ]);
          nodes.push({ draft: d, kind: "batch_norm", attrs: { channels: c, eps }, params });
          break;
        }
        case "mul_same": {
          const [a, b] = d.inputs.map((r) => this.byRef.get(r));
          const silu = [a, b].some((p) => p?.kind === "sigmoid");
          this.issues.push(
            `${label} multiplies two computed tensors element by element${
              silu ? " (x * sigmoid(x), SiLU/Swish)" : ""
            }; lightnets supports this only as hardswish, x * hardsigmoid(x)`,
          );
          break;
        }
        case "reshape":
          this.issues.push(
            `${label} reshapes to [${
              d.shape.join(", ")
            }]; lightnets supports reshapes that flatten to [N, features] or form a channel shuffle`,
          );
          break;
        case "transpose":
          this.issues.push(
            `${label} transposes with perm [${
              d.attrs.perm.join(", ")
            }]; lightnets supports transposes only inside a channel shuffle`,
          );
          break;
        case "pad":
          this.issues.push(`${label} pads a tensor that is not read by a single convolution`);
          break;
        case "identity":
          break;
        default:
          nodes.push({ draft: d, kind: d.kind, attrs: d.attrs, params: d.params });
      }
    }
    if (this.issues.length) this.throwIssues();

    const names = this.nameNodes(nodes.map((n) => ({ draft: n.draft, kind: n.kind })));
    const nameOf = (ref: string) => (ref === this.inputName ? this.inputName : names.get(ref)!);
    const weights: Weights = new Map();
    const irNodes = nodes.map((n) => {
      const name = names.get(n.draft.ref)!;
      for (const [suffix, data] of n.params) weights.set(`${name}.${suffix}`, data);
      return { name, kind: n.kind, attrs: n.attrs, inputs: n.draft.inputs.map(nameOf) } as AnyNode;
    });
    const meta = this.metadata();
    const graph: Graph = {
      name: meta?.name ?? (this.model.graph!.name || this.options.name || "onnx_model"),
      inputs: [{ name: this.inputName, shape: this.inputShape }],
      nodes: irNodes,
      outputs: [{ name: this.outputName, node: nameOf(output) }],
      scopes: meta?.scopes ?? deriveScopes(irNodes.map((n) => n.name)),
      meta: meta?.meta ?? {
        source: "onnx",
        opset: this.opset,
        ...(this.model.producerName ? { producer: this.model.producerName } : {}),
      },
    };
    try {
      inferShapes(graph);
    } catch (e) {
      throw new OnnxImportError(
        `Cannot import "${this.source}": ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return { graph, weights };
  }

  metadata():
    | { name: string; input: string; shape: number[]; meta: Graph["meta"]; scopes: Scope[] }
    | undefined {
    const entry = (this.model.metadataProps ?? []).find((p) => p.key === GRAPH_METADATA_KEY);
    if (!entry?.value) return undefined;
    try {
      return JSON.parse(entry.value);
    } catch {
      return undefined;
    }
  }

  /**
   * Readable module paths: a parameter named `<path>.weight` gives `<path>`;
   * a torch.onnx name `/features/features.0/features.0.0/Conv` gives its last
   * scope, `features.0.0`, or `<scope>.<kind>` when the scope also holds other
   * nodes' modules (a functional op such as the residual add of `features.1`);
   * any other name is kept (sanitized); a nameless node is `<kind>_<index>`.
   */
  nameNodes(nodes: { draft: Draft; kind: OpKind }[]): Map<string, string> {
    const candidates = nodes.map(({ draft, kind }, i) => {
      if (draft.pathHint) return { base: draft.pathHint, functional: false, kind };
      const t = draft.onnxName.startsWith("/") ? torchScope(draft.onnxName) : undefined;
      if (t) return { base: t.scope, functional: t.scope === "", kind };
      if (draft.onnxName.includes("/")) {
        const parts = draft.onnxName.split("/");
        return { base: sanitize(parts.slice(0, -1).join("/")), functional: false, kind };
      }
      if (draft.onnxName) return { base: sanitize(draft.onnxName), functional: false, kind };
      return { base: `${kind}_${i}`, functional: false, kind };
    });
    const bases = candidates.map((c) => c.base);
    const names = new Map<string, string>();
    const taken = new Set<string>([this.inputName]);
    nodes.forEach(({ draft }, i) => {
      const c = candidates[i];
      const isContainer = c.base !== "" && draft.onnxName.startsWith("/") && !draft.pathHint &&
        bases.some((b, j) => j !== i && b.startsWith(`${c.base}.`));
      let name = c.functional || isContainer ? (c.base ? `${c.base}.${c.kind}` : c.kind) : c.base;
      if (taken.has(name)) {
        let k = 1;
        while (taken.has(`${name}_${k}`)) k++;
        name = `${name}_${k}`;
      }
      taken.add(name);
      names.set(draft.ref, name);
    });
    return names;
  }
}

type Uses = (ref: string) => number;

/**
 * Block and stage scopes for an imported graph, read from torchvision-style
 * paths: `features.3.conv.0` lies in block `features.3`; `stage2.0.branch1.0`
 * in block `stage2.0` of stage `stage2` (also `layer1`, `conv5`).
 */
function deriveScopes(names: string[]): Scope[] {
  const scopes: Scope[] = [];
  const seen = new Set<string>();
  for (const n of names) {
    const parts = n.split(".");
    if (parts.length < 3 || !/^\d+$/.test(parts[1])) continue;
    const stage = parts[0];
    if (/^(stage|layer)\d+$/.test(stage) && !seen.has(stage)) {
      seen.add(stage);
      scopes.push({ path: stage, kind: "stage" });
    }
    const block = `${parts[0]}.${parts[1]}`;
    if (!seen.has(block)) {
      seen.add(block);
      scopes.push({ path: block, kind: "block" });
    }
  }
  return scopes;
}

/**
 * Reads an ONNX model into an IR graph and its weights. Throws an
 * {@link OnnxImportError} listing every construct the IR cannot express, or
 * an `OnnxFormatError` for a malformed file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "../lib/ir/builder.ts";
 * import { randomWeights } from "../lib/runtime/weights.ts";
 * import { exportOnnx } from "./onnx_export.ts";
 * import { importOnnx } from "./onnx_import.ts";
 * const b = new GraphBuilder("tiny", [1, 3, 8, 8]);
 * const g = b.build(b.hardswish(b.conv2d(b.input, { out: 4, kernel: 3 }, "conv"), "act"));
 * const w = randomWeights(g, 1);
 * const back = importOnnx(exportOnnx(g, w), { inputShape: [1, 3, 8, 8] });
 * assert.deepEqual(back.graph.nodes, g.nodes);
 * assert.deepEqual(back.weights.get("conv.weight"), w.get("conv.weight"));
 * ```
 */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): ImportResult {
  const model = decodeModel(bytes, options.source ?? "input");
  return new Importer(model, options).run();
}
