/**
 * ONNX model -> IR graph + weights, for files as real exporters write them
 * (torch.onnx, tf2onnx, paddle2onnx) and for our own exports. The stages:
 *
 * 1. `decodeModel`: protobuf -> ModelProto (clear error on a broken file).
 * 2. `checkOps`: one error naming every unsupported op type (first node of each).
 * 3. `resolveInputs`: the graph inputs, dynamic dims from `inputShape(s)`.
 * 4. `translate`: node by node; a node whose inputs are all constants
 *    (initializers, Constant nodes, whole shape computations such as Shape ->
 *    Gather -> Unsqueeze -> Concat -> Reshape) is evaluated at import time
 *    (`_onnx_fold.ts`); any other node goes to its converter in the table of
 *    `_onnx_convert.ts` (keyed by ONNX op type, one implementation per opset
 *    where semantics changed), which emits draft nodes (`_onnx_draft.ts`).
 * 5. `rewrite` (`_onnx_patterns.ts`): pattern rewrites until nothing changes:
 *    element-wise arithmetic into hardsigmoid / hardswish, Reshape-Transpose-
 *    Reshape into channel_shuffle, Reshape/Squeeze to [N, -1] into flatten,
 *    bias adds and zero Pads into the conv, linear or pool next to them.
 * 6. `lower`: every draft node to an IR node (clip(0, 6) -> relu6, a leftover
 *    scale_shift -> affine, or mul/add by a const when only a scale or a shift
 *    is stored), readable module-path names, unused nodes dropped, and one
 *    error listing what the IR cannot express.
 *
 * Every stage is linear in the node count (a 100,000-node chain imports in
 * seconds; `bench/onnx_import_bench.ts`).
 *
 * @module
 */

import type { AnyNode, Graph, Scope } from "../lib/ir/graph.ts";
import { OP_KINDS, type OpKind, type Shape } from "../lib/ir/ops.ts";
import { inferShapes } from "../lib/analysis/shapes.ts";
import type { Weights } from "../lib/runtime/weights.ts";
import { runReferenceOutputs } from "../lib/runtime/reference.ts";
import {
  type ConstTensor,
  decodeModel,
  encodeModel,
  floatTensor,
  int64Tensor,
  onnx,
  type pb,
  readAttributes,
  readTensor,
  toInt,
} from "./onnx_proto.ts";
import { CONSTANT_ONLY_OPS, FOLDABLE_OPS, foldConstant } from "./_onnx_fold.ts";
import {
  type ConvertContext,
  converterFor,
  CONVERTERS,
  NEEDED_KINDS,
  type OnnxNode,
} from "./_onnx_convert.ts";
import {
  type AnyDraft,
  type Computed,
  type Draft,
  type DraftAttrs,
  DraftGraph,
  type DraftKind,
  isConst,
  OnnxAttrs,
  type Value,
} from "./_onnx_draft.ts";
import { rewrite } from "./_onnx_patterns.ts";
import { GRAPH_METADATA_KEY } from "./onnx_export.ts";

export { niceFloat } from "./_onnx_convert.ts";

/** Options of {@link importOnnx}. */
export interface ImportOptions {
  /** Shape of the (first) input; required when the file leaves a dimension dynamic. */
  inputShape?: Shape;
  /** Shapes of inputs by name, for graphs with several inputs. */
  inputShapes?: Record<string, Shape>;
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

/** The op kinds this version of the IR has (contract kinds land over time). */
const IR_KINDS: ReadonlySet<string> = new Set(OP_KINDS);

/**
 * ONNX ops that map to IR ops (alone or as part of a recognized pattern):
 * every converter whose needed op kinds the IR has.
 */
export const COMPUTE_OPS: readonly string[] = Object.keys(CONVERTERS)
  .filter((op) => (NEEDED_KINDS[op] ?? []).every((k) => IR_KINDS.has(k)))
  .sort();

/** ONNX ops with a converter whose IR op kinds have not landed yet (rejected until then). */
export const AWAITING_ONNX_OPS: readonly string[] = Object.keys(CONVERTERS)
  .filter((op) => !COMPUTE_OPS.includes(op))
  .sort();

/** Every ONNX op type the importer accepts (shape-computation ops only on constants). */
export const SUPPORTED_ONNX_OPS: readonly string[] = [
  ...new Set([...COMPUTE_OPS, ...FOLDABLE_OPS]),
].sort();

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
  readonly drafts: AnyDraft[] = [];
  readonly issues: string[] = [];
  /** Every tensor name some node or graph output reads. */
  readonly read = new Set<string>();
  opset = 13;
  /** The graph inputs (not initializers), in file order, with resolved shapes. */
  readonly inputs: { name: string; shape: number[] }[] = [];

  constructor(readonly model: pb.ModelProto, readonly options: ImportOptions) {}

  get source(): string {
    return this.options.source ?? "input";
  }

  run(): ImportResult {
    this.opset = this.readOpset();
    this.checkOps();
    for (const n of this.model.graph!.node ?? []) for (const i of n.input ?? []) this.read.add(i);
    for (const o of this.model.graph!.output ?? []) this.read.add(o.name ?? "");
    this.readInitializers();
    this.resolveInputs();
    this.translate();
    const outputs = this.outputRefs();
    const graph = new DraftGraph(
      this.drafts,
      outputs.map((o) => o.ref),
      new Map(this.inputs.map((i) => [i.name, i.shape])),
    );
    rewrite(graph);
    return this.lower(graph, outputs);
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

  /** Every graph input that is not an initializer, with its resolved shape. */
  resolveInputs(): void {
    const inputs = (this.model.graph!.input ?? []).filter((i) => !this.values.has(i.name ?? ""));
    if (inputs.length === 0) {
      throw new OnnxImportError(`Cannot import "${this.source}": the graph has no input`);
    }
    const named = this.options.inputShapes ?? {};
    for (const [name] of Object.entries(named)) {
      if (!inputs.some((i) => i.name === name)) {
        throw new InputShapeError(
          `Cannot import "${this.source}": inputShapes names "${name}", which is not an input (inputs: ${
            inputs.map((i) => `"${i.name}"`).join(", ")
          })`,
        );
      }
    }
    inputs.forEach((input, k) => {
      const name = input.name ?? `input${k}`;
      const given = named[name] ?? (k === 0 ? this.options.inputShape : undefined);
      const shape = this.resolveInput(input, name, given, k === 0 && inputs.length === 1);
      this.inputs.push({ name, shape });
      this.values.set(name, { ref: name, shape });
    });
  }

  resolveInput(
    input: pb.IValueInfoProto,
    name: string,
    given: Shape | undefined,
    only: boolean,
  ): number[] {
    const flag = only ? "--input-shape" : `the shape of input "${name}"`;
    const tensor = input.type?.tensorType;
    if (!tensor) {
      throw new OnnxImportError(`Cannot import "${this.source}": input "${name}" is not a tensor`);
    }
    if (tensor.elemType !== 1) {
      throw new OnnxImportError(
        `Cannot import "${this.source}": input "${name}" has element type ${
          onnx.TensorProto.DataType[tensor.elemType ?? 0]
        }, expected FLOAT`,
      );
    }
    const dims = (tensor.shape?.dim ?? []).map((d) => {
      const v = d.dimValue !== undefined && d.dimValue !== null ? toInt(d.dimValue) : 0;
      return v > 0 ? { value: v } : { param: d.dimParam || "?" };
    });
    const shown = `[${dims.map((d) => ("value" in d ? d.value : d.param)).join(", ")}]`;
    let shape: number[];
    if (given) {
      if (tensor.shape && given.length !== dims.length) {
        throw new InputShapeError(
          `Cannot import "${this.source}": ${flag} ${
            given.join("x")
          } has ${given.length} dimensions, input "${name}" has ${dims.length} ${shown}`,
        );
      }
      dims.forEach((d, i) => {
        if ("value" in d && d.value !== given[i]) {
          throw new InputShapeError(
            `Cannot import "${this.source}": ${flag} ${given.join("x")} sets dimension ${i} to ${
              given[i]
            }, but input "${name}" fixes it to ${d.value} ${shown}`,
          );
        }
      });
      shape = [...given];
    } else if (only && this.metadata()?.shape?.length === dims.length) {
      // Our own export: the symbolic batch dimension defaults to the exported shape.
      shape = [...this.metadata()!.shape];
    } else {
      const dynamic = dims.some((d) => !("value" in d));
      if (dynamic || dims.length === 0) {
        const example = dims.map((
          d,
        ) => ("value" in d ? d.value : d.param === "N" || d === dims[0] ? 1 : 224));
        throw new InputShapeError(
          `Cannot import "${this.source}": input "${name}" has dynamic dimensions ${shown}; give its shape with ${
            only ? "--input-shape" : "inputShapes"
          }, e.g. ${only ? "--input-shape " : ""}${example.join("x")}`,
        );
      }
      shape = dims.map((d) => (d as { value: number }).value);
    }
    if (shape.length < 1 || shape.length > 5 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new OnnxImportError(
        `Cannot import "${this.source}": input "${name}" has shape [${
          shape.join(", ")
        }], expected 1 to 5 positive dimensions`,
      );
    }
    return shape;
  }

  /**
   * Nodes in a topological order (the spec requires it, but not every writer
   * complies): an iterative depth-first search, so a 100,000-node chain
   * neither recurses nor rescans.
   */
  sortedNodes(): pb.INodeProto[] {
    const nodes = this.model.graph!.node!;
    const produced = new Map<string, number>();
    nodes.forEach((n, i) => (n.output ?? []).forEach((o) => produced.set(o, i)));
    const state = new Uint8Array(nodes.length); // 0 new, 1 on the stack, 2 done
    const order: pb.INodeProto[] = [];
    for (let root = 0; root < nodes.length; root++) {
      if (state[root]) continue;
      const stack: [number, number][] = [[root, 0]];
      state[root] = 1;
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [i, k] = top;
        const inputs = nodes[i].input ?? [];
        if (k < inputs.length) {
          top[1]++;
          const p = produced.get(inputs[k]);
          if (p === undefined || this.values.has(inputs[k]) || state[p] === 2) continue;
          if (state[p] === 1) {
            throw new OnnxImportError(
              `Cannot import "${this.source}": the graph has a cycle through node "${
                nodes[p].name
              }"`,
            );
          }
          state[p] = 1;
          stack.push([p, 0]);
        } else {
          state[i] = 2;
          order.push(nodes[i]);
          stack.pop();
        }
      }
    }
    return order;
  }

  translate(): void {
    const ctx = this.context();
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
      const opType = node.opType ?? "";
      const outputs = node.output ?? [];
      try {
        const attrs = readAttributes(node, label);
        if ((opType === "Shape" || opType === "Size") && inputs[0] && !isConst(inputs[0])) {
          const fake: ConstTensor = {
            dims: inputs[0].shape,
            type: "float",
            data: new Float32Array(0),
          };
          this.setConst(outputs[0], foldConstant(opType, attrs, [fake])[0]);
          continue;
        }
        if (FOLDABLE_OPS.has(opType) && inputs.every((v) => v === undefined || isConst(v))) {
          const results = foldConstant(
            opType,
            attrs,
            inputs.map((v) => (v as { const: ConstTensor } | undefined)?.const),
            outputs.length,
          );
          results.forEach((t, i) => outputs[i] && this.setConst(outputs[i], t));
          continue;
        }
        if (
          CONVERTERS[opType] && isConst(inputs[0]) &&
          inputs.every((v) => v === undefined || isConst(v))
        ) {
          this.foldByReference(node, inputs as ({ const: ConstTensor } | undefined)[]);
          continue;
        }
        if (CONSTANT_ONLY_OPS.has(opType)) {
          this.issues.push(
            `${label} computes on an activation tensor; lightnets evaluates ${opType} only on constants`,
          );
          continue;
        }
        const n: OnnxNode = {
          name: node.name ?? "",
          opType,
          label,
          inputs,
          inputNames: node.input ?? [],
          outputs,
          attrs: new OnnxAttrs(attrs, label),
          opset: this.opset,
        };
        const convert = converterFor(opType, this.opset);
        if (!convert) this.issues.push(`${label} is not supported on computed tensors`);
        else convert(ctx, n);
      } catch (e) {
        if (e instanceof OnnxImportError) throw e;
        if (this.issues.length) this.throwIssues();
        const why = e instanceof Error ? e.message : String(e);
        throw new OnnxImportError(`Cannot import "${this.source}": ${label}: ${why}`);
      }
    }
  }

  context(): ConvertContext {
    const constRefs = new Map<string, string>();
    return {
      emit: <K extends DraftKind>(
        node: OnnxNode,
        ref: string,
        kind: K,
        attrs: DraftAttrs[K],
        inputs: string[],
        shape: number[],
        params = new Map<string, Float32Array>(),
        pathHint?: string,
      ): Draft<K> => {
        const d: Draft<K> = {
          ref,
          kind,
          attrs,
          inputs,
          params,
          shape,
          onnxName: node.name,
          opType: node.opType,
          seq: this.drafts.length,
          pathHint,
        };
        this.drafts.push(d as unknown as AnyDraft);
        this.values.set(ref, { ref, shape });
        return d;
      },
      alias: (out: string, v: Computed) => this.values.set(out, v),
      issue: (message: string) => this.issues.push(message),
      isRead: (name: string) => this.read.has(name),
      producedShape: (ref: string) => {
        const v = this.values.get(ref);
        return v && !isConst(v) ? v.shape : undefined;
      },
      constRef: (name: string) => constRefs.get(name),
      setConstRef: (name: string, ref: string) => void constRefs.set(name, ref),
    };
  }

  /**
   * Evaluates a node whose inputs are all constants with the reference
   * executor: the node alone, its first input as the graph input and the
   * others as initializers, imported and run like any model.
   */
  foldByReference(node: pb.INodeProto, inputs: ({ const: ConstTensor } | undefined)[]): void {
    const x = inputs[0]!.const;
    if (x.type !== "float") {
      throw new RangeError("evaluating it on integer constants is not supported");
    }
    const names = inputs.map((v, i) => (v ? `c${i}` : ""));
    const outs = (node.output ?? []).map((o, i) => (o ? `o${i}` : ""));
    const info = (name: string, dims: number[]) => ({
      name,
      type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
    });
    const bytes = encodeModel({
      irVersion: 7,
      opsetImport: [{ domain: "", version: this.opset }],
      graph: {
        name: "fold",
        node: [{ ...node, name: node.name || "fold", input: names, output: outs }],
        initializer: inputs.slice(1).flatMap((v, i) =>
          v
            ? [
              v.const.type === "float"
                ? floatTensor(`c${i + 1}`, v.const.dims, Float32Array.from(v.const.data))
                : int64Tensor(`c${i + 1}`, v.const.dims, Array.from(v.const.data)),
            ]
            : []
        ),
        input: [info("c0", x.dims)],
        output: outs.filter((o) => o).map((o) => ({ name: o })),
      },
    });
    const { graph, weights } = importOnnx(bytes, {
      source: `${this.source} (folding ${node.name})`,
    });
    const shapes = inferShapes(graph);
    const results = runReferenceOutputs(graph, weights, { c0: Float32Array.from(x.data) });
    const shapeOf = new Map(shapes.nodes.map((s) => [s.node.name, s.shape]));
    for (const o of graph.outputs) {
      const dims = [...(shapeOf.get(o.node) ?? x.dims)];
      const name = (node.output ?? [])[Number(o.name.slice(1))];
      this.setConst(name, { dims, type: "float", data: Float32Array.from(results[o.name]) });
    }
  }

  setConst(name: string, t: ConstTensor): void {
    this.values.set(name, { const: t });
  }

  /** The graph outputs: the file's names and the tensors that compute them. */
  outputRefs(): { name: string; ref: string }[] {
    const outs = this.model.graph!.output ?? [];
    if (outs.length === 0) {
      throw new OnnxImportError(`Cannot import "${this.source}": the graph has no output`);
    }
    return outs.map((o) => {
      const v = this.values.get(o.name ?? "");
      if (!v || isConst(v)) {
        if (this.issues.length) this.throwIssues();
        throw new OnnxImportError(
          `Cannot import "${this.source}": output "${o.name}" is not computed from the input`,
        );
      }
      return { name: o.name ?? "", ref: v.ref };
    });
  }

  throwIssues(): never {
    throw new OnnxImportError(
      `Cannot import "${this.source}": ${this.issues.length} construct${
        this.issues.length > 1 ? "s" : ""
      } the lightnets IR cannot express:\n  - ${this.issues.join("\n  - ")}`,
    );
  }

  // ---- lower ------------------------------------------------------------------

  /**
   * The live drafts in definition order, identities skipped, as a valid
   * topological order (inserted drafts may tie on `seq`; a depth-first walk in
   * `seq` order puts every input first).
   */
  liveInOrder(g: DraftGraph, outputs: string[]): AnyDraft[] {
    const live = new Set<string>();
    const stack = [...outputs];
    while (stack.length) {
      const r = stack.pop()!;
      if (live.has(r)) continue;
      live.add(r);
      const d = g.byRef.get(r);
      if (d) stack.push(...d.inputs);
    }
    const sorted = g.drafts.filter((d) => live.has(d.ref)).sort((a, b) => a.seq - b.seq);
    const done = new Set<string>();
    const order: AnyDraft[] = [];
    for (const root of sorted) {
      const work: [AnyDraft, number][] = [[root, 0]];
      while (work.length) {
        const top = work[work.length - 1];
        const [d, k] = top;
        if (done.has(d.ref)) {
          work.pop();
          continue;
        }
        if (k < d.inputs.length) {
          top[1]++;
          const p = g.byRef.get(d.inputs[k]);
          if (p && !done.has(p.ref)) work.push([p, 0]);
        } else {
          done.add(d.ref);
          if (d.kind !== "identity") order.push(d);
          work.pop();
        }
      }
    }
    return order;
  }

  /**
   * A scale alone (`x * a`) or a shift alone (`x + b`) becomes a `mul` or `add`
   * with a `const` node holding `a` or `b`, so parameters count exactly the
   * constants the file stores (an `affine` would add the missing half).
   */
  scaleOrShiftAlone(g: DraftGraph): void {
    for (const d of [...g.drafts]) {
      if (d.kind !== "scale_shift" || g.uses(d.ref) === 0) continue;
      const { scale, shift } = d.attrs;
      const noShift = shift.every((v) => v === 0);
      const noScale = scale.every((v) => v === 1);
      if (!noShift && !noScale) continue;
      const values = noShift ? scale : shift;
      // Per channel on axis 1: [C, 1, ...] broadcasts against [N, C, ...]; a scalar is [1].
      const shape = values.length === 1
        ? [1]
        : [values.length, ...new Array(Math.max(d.shape.length - 2, 0)).fill(1)];
      const c = g.insertBefore(d, `${d.ref}#const`, "const", { shape }, [], shape);
      c.params = new Map([["value", Float32Array.from(values)]]);
      g.retype(d, noShift ? "mul" : "add", {});
      g.setInputs(d, [d.inputs[0], c.ref]);
    }
  }

  lower(g: DraftGraph, outputs: { name: string; ref: string }[]): ImportResult {
    // Resolve identities: readers of an identity read its input.
    const through = (ref: string): string => {
      let r = ref;
      for (let d = g.byRef.get(r); d && d.kind === "identity"; d = g.byRef.get(r)) r = d.inputs[0];
      return r;
    };
    for (const d of g.drafts) d.inputs = d.inputs.map(through);
    outputs = outputs.map((o) => ({ name: o.name, ref: through(o.ref) }));
    this.scaleOrShiftAlone(g);
    const drafts = this.liveInOrder(g, outputs.map((o) => o.ref));

    const nodes: {
      draft: AnyDraft;
      kind: OpKind;
      attrs: unknown;
      params: Map<string, Float32Array>;
    }[] = [];
    for (const d of drafts) {
      const label = `node "${d.onnxName || d.ref}" (${d.opType})`;
      const keep = (kind: OpKind, attrs: unknown, params = d.params) =>
        nodes.push({ draft: d, kind, attrs, params });
      switch (d.kind) {
        case "clip": {
          const { min, max } = d.attrs;
          if (min === 0 && max === Infinity) keep("relu", {});
          else if (min === 0 && max === 6) keep("relu6", {});
          else keep("clip", { min, max });
          break;
        }
        case "scale_shift": {
          // Counts exactly the constants stored: one scale and shift per channel, or one.
          const c = Math.max(d.attrs.scale.length, d.attrs.shift.length);
          const at = (v: number[], i: number) => (v.length === 1 ? v[0] : v[i]);
          const params = new Map([
            ["weight", Float32Array.from({ length: c }, (_, i) => at(d.attrs.scale, i))],
            ["bias", Float32Array.from({ length: c }, (_, i) => at(d.attrs.shift, i))],
          ]);
          keep("affine", { channels: c }, params);
          break;
        }
        case "mul_same":
          keep("mul", {});
          break;
        case "identity":
          break;
        default:
          if (IR_KINDS.has(d.kind)) keep(d.kind as OpKind, d.attrs);
          else {
            this.issues.push(
              `${label} needs the op kind "${d.kind}", which this version of lightnets does not have yet`,
            );
          }
      }
    }
    if (this.issues.length) this.throwIssues();

    const names = this.nameNodes(nodes.map((n) => ({ draft: n.draft, kind: n.kind })));
    const inputNames = new Set(this.inputs.map((i) => i.name));
    const nameOf = (ref: string) => (inputNames.has(ref) ? ref : names.get(ref)!);
    const weights: Weights = new Map();
    const irNodes = nodes.map((n) => {
      const name = names.get(n.draft.ref)!;
      for (const [suffix, data] of n.params) weights.set(`${name}.${suffix}`, data);
      return { name, kind: n.kind, attrs: n.attrs, inputs: n.draft.inputs.map(nameOf) } as AnyNode;
    });
    const meta = this.metadata();
    const graph: Graph = {
      name: meta?.name ?? (this.model.graph!.name || this.options.name || "onnx_model"),
      inputs: this.inputs.map((i) => ({ name: i.name, shape: i.shape })),
      nodes: irNodes,
      outputs: outputs.map((o) => ({ name: o.name, node: nameOf(o.ref) })),
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

  #metadata?: { value: ReturnType<Importer["readMetadata"]> };

  metadata(): ReturnType<Importer["readMetadata"]> {
    this.#metadata ??= { value: this.readMetadata() };
    return this.#metadata.value;
  }

  readMetadata():
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
  nameNodes(nodes: { draft: AnyDraft; kind: OpKind }[]): Map<string, string> {
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
    // How many bases lie strictly under each dotted prefix (`a.b` under `a`).
    const under = new Map<string, number>();
    for (const { base } of candidates) {
      for (let k = base.indexOf("."); k >= 0; k = base.indexOf(".", k + 1)) {
        const prefix = base.slice(0, k);
        under.set(prefix, (under.get(prefix) ?? 0) + 1);
      }
    }
    const names = new Map<string, string>();
    const taken = new Set<string>(this.inputs.map((i) => i.name));
    const next = new Map<string, number>();
    nodes.forEach(({ draft }, i) => {
      const c = candidates[i];
      const isContainer = c.base !== "" && draft.onnxName.startsWith("/") && !draft.pathHint &&
        (under.get(c.base) ?? 0) > 0;
      let name = c.functional || isContainer ? (c.base ? `${c.base}.${c.kind}` : c.kind) : c.base;
      if (taken.has(name)) {
        let k = next.get(name) ?? 1;
        while (taken.has(`${name}_${k}`)) k++;
        next.set(name, k + 1);
        name = `${name}_${k}`;
      }
      taken.add(name);
      names.set(draft.ref, name);
    });
    return names;
  }
}

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
