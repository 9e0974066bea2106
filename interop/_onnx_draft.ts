/**
 * The ONNX importer's working graph: draft nodes (an IR op, or one of a few
 * draft-only ops the pattern rewrites consume), typed attributes read from
 * ONNX nodes, and a {@link DraftGraph} that keeps use counts up to date as
 * rewrites change inputs, so every pass is linear in the node count.
 *
 * @module
 */

import type { NoAttrs, OpAttrs } from "../lib/ir/ops.ts";
import type { AttrRead, ConstTensor } from "./onnx_proto.ts";

/** `y = x * scale + shift`, scalars (length 1) or per channel (axis 1), in float64. */
export interface ScaleShiftAttrs {
  scale: number[];
  shift: number[];
}

/** Ops that exist only while importing; lowering turns them into IR ops or errors. */
export interface DraftOnlyAttrs {
  /** Scalar or per-channel arithmetic with constants, merged before lowering. */
  scale_shift: ScaleShiftAttrs;
  /** Element-wise product of two computed tensors of the same shape. */
  mul_same: NoAttrs;
  /** Passes its input through (removed when lowering). */
  identity: NoAttrs;
}

/** Attrs of every draft kind: the IR's plus the draft-only ones. */
export type DraftAttrs = Omit<OpAttrs, keyof DraftOnlyAttrs> & DraftOnlyAttrs;
/** Kind of a draft node. */
export type DraftKind = keyof DraftAttrs;

/** A node before lowering, with its parameters attached. */
export interface Draft<K extends DraftKind = DraftKind> {
  /** The ONNX tensor this node produces (unique). */
  ref: string;
  kind: K;
  attrs: DraftAttrs[K];
  inputs: string[];
  params: Map<string, Float32Array>;
  shape: number[];
  /** Name of the ONNX node it came from, for errors and naming. */
  onnxName: string;
  opType: string;
  /** Position in definition order (rewrites insert between integers). */
  seq: number;
  /** Module path read from a parameter initializer named `<path>.weight`. */
  pathHint?: string;
}

/** A draft of any kind, discriminated on `kind`. */
export type AnyDraft = { [K in DraftKind]: Draft<K> }[DraftKind];

/** A value during import: a constant known now, or a tensor computed from the inputs. */
export type Value = { const: ConstTensor; initializer?: string } | Computed;
/** A computed tensor: the draft (or graph input) that produces it and its shape. */
export type Computed = { ref: string; shape: number[] };

/** Whether a value is a constant. */
export const isConst = (v: Value | undefined): v is { const: ConstTensor; initializer?: string } =>
  v !== undefined && "const" in v;

/** Typed reads of an ONNX node's attributes, with defaults (no `any`). */
export class OnnxAttrs {
  constructor(readonly raw: Map<string, AttrRead>, readonly label: string) {}

  has(name: string): boolean {
    return this.raw.get(name) !== undefined;
  }

  int(name: string, dflt: number): number {
    const v = this.raw.get(name);
    if (v === undefined) return dflt;
    if (typeof v !== "number") throw this.wrong(name, "an integer");
    return v;
  }

  float(name: string, dflt: number): number {
    return this.int(name, dflt);
  }

  ints(name: string): number[] | undefined {
    const v = this.raw.get(name);
    if (v === undefined) return undefined;
    if (typeof v === "number") return [v];
    if (!Array.isArray(v)) throw this.wrong(name, "a list of integers");
    return v;
  }

  string<T extends string>(name: string, dflt: T): T | string {
    const v = this.raw.get(name);
    if (v === undefined) return dflt;
    if (typeof v !== "string") throw this.wrong(name, "a string");
    return v;
  }

  tensor(name: string): ConstTensor | undefined {
    const v = this.raw.get(name);
    if (v === undefined) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) throw this.wrong(name, "a tensor");
    return v;
  }

  private wrong(name: string, what: string): RangeError {
    return new RangeError(`attribute "${name}" is not ${what}`);
  }
}

/**
 * The drafts with their readers counted: `uses(ref)` is the number of live
 * drafts (and graph outputs) that read `ref`. Rewrites go through
 * {@link DraftGraph.setInputs}, {@link DraftGraph.retype} and
 * {@link DraftGraph.insertBefore}, which keep the counts exact; a draft whose
 * count falls to zero releases its own inputs.
 */
export class DraftGraph {
  readonly byRef = new Map<string, AnyDraft>();
  private readonly count = new Map<string, number>();

  constructor(
    readonly drafts: AnyDraft[],
    readonly outputs: string[],
    private readonly inputShapes: ReadonlyMap<string, number[]>,
  ) {
    for (const d of drafts) this.byRef.set(d.ref, d);
    for (const o of outputs) this.count.set(o, (this.count.get(o) ?? 0) + 1);
    // Count readers of live drafts only: walk back from the outputs.
    const seen = new Set<string>();
    const stack = [...outputs];
    while (stack.length) {
      const r = stack.pop()!;
      if (seen.has(r)) continue;
      seen.add(r);
      const d = this.byRef.get(r);
      if (!d) continue;
      for (const i of d.inputs) {
        this.count.set(i, (this.count.get(i) ?? 0) + 1);
        stack.push(i);
      }
    }
  }

  /** Shape of a draft's output or of a graph input. */
  shapeOf(ref: string): number[] | undefined {
    return this.byRef.get(ref)?.shape ?? this.inputShapes.get(ref);
  }

  uses(ref: string): number {
    return this.count.get(ref) ?? 0;
  }

  /** The draft producing `ref` when it is of `kind` (any kind when omitted). */
  producer<K extends DraftKind>(ref: string, kind: K): Draft<K> | undefined;
  producer(ref: string): AnyDraft | undefined;
  producer(ref: string, kind?: DraftKind): AnyDraft | undefined {
    const d = this.byRef.get(ref);
    return d && (!kind || d.kind === kind) ? d : undefined;
  }

  /** Replaces the inputs of a live draft, releasing what is no longer read. */
  setInputs(d: AnyDraft, inputs: string[]): void {
    for (const i of inputs) this.count.set(i, (this.count.get(i) ?? 0) + 1);
    const old = d.inputs;
    d.inputs = inputs;
    for (const i of old) this.release(i);
  }

  /** Changes a draft's kind and attrs in place. */
  retype<K extends DraftKind>(d: AnyDraft, kind: K, attrs: DraftAttrs[K]): Draft<K> {
    const t = d as unknown as Draft<K>;
    t.kind = kind;
    t.attrs = attrs;
    return t;
  }

  /** Adds a live draft right before `before` in definition order. */
  insertBefore<K extends DraftKind>(
    before: AnyDraft,
    ref: string,
    kind: K,
    attrs: DraftAttrs[K],
    inputs: string[],
    shape: number[],
  ): Draft<K> {
    const d: Draft<K> = {
      ref,
      kind,
      attrs,
      inputs,
      params: new Map(),
      shape,
      onnxName: before.onnxName,
      opType: before.opType,
      // Lowering orders by seq, then fixes any tie topologically.
      seq: before.seq - 0.5,
      pathHint: before.pathHint,
    };
    this.drafts.push(d as unknown as AnyDraft);
    this.byRef.set(ref, d as unknown as AnyDraft);
    for (const i of inputs) this.count.set(i, (this.count.get(i) ?? 0) + 1);
    return d;
  }

  private release(ref: string): void {
    const stack = [ref];
    while (stack.length) {
      const r = stack.pop()!;
      const left = (this.count.get(r) ?? 0) - 1;
      this.count.set(r, left);
      if (left === 0) {
        const d = this.byRef.get(r);
        if (d) stack.push(...d.inputs);
      }
    }
  }
}
