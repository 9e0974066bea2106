/**
 * TensorFlow.js graph models (`format: graph-model`, what `tensorflowjs_converter`
 * writes from a SavedModel or frozen graph) -> IR graph + weights.
 *
 * The stages:
 *
 * 1. `checkOps`: one error naming every unsupported op type and its first node.
 * 2. Topological order of the GraphDef nodes (files need not be sorted).
 * 3. A converter per TF op type ({@link CONVERTERS}): `Const` nodes are
 *    tensors from the weights manifest, `Placeholder` nodes graph inputs, and
 *    every op whose inputs are all constants (shape arithmetic, `Shape` of a
 *    static tensor) is evaluated at import ({@link FOLDERS}); the rest become
 *    IR nodes through the NHWC-aware builder of `tfjs_ir.ts`.
 * 4. Outputs: the model's signature (top level or `userDefinedMetadata`), else
 *    every node nothing reads, named as the file names them.
 *
 * Fused ops (`_FusedConv2D`, `FusedDepthwiseConv2dNative`, `_FusedMatMul`)
 * become the conv or linear node followed by their `fused_ops` epilogue:
 * `BiasAdd` is the conv's bias, `FusedBatchNorm` a batch_norm, then the
 * activation (`Relu`, `Relu6`, `Elu`, `LeakyRelu`, `Prelu`, `Sigmoid`, `Tanh`).
 *
 * @module
 */

import {
  type AttrsOf,
  fileShape,
  type Kind,
  modulePath,
  permute,
  resolveInputShape,
  TfjsBuilder,
  type TfjsImport,
  TO_NCHW,
  transposeData,
  type Val,
} from "./tfjs_ir.ts";
import { TfjsImportError, type TfjsTensor, type TfjsWeights } from "./tfjs_weights.ts";

/** One node of a graph model's `modelTopology.node`. */
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

/** An attribute value as the converter writes it (one field set). */
export interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; b?: boolean[] };
  tensor?: unknown;
}

/** A tfjs signature entry: the tensor name (`x:0`) and its shape. */
interface SigEntry {
  name: string;
  tensorShape?: { dim?: { size?: string | number }[] };
}

/** The parts of a graph-model `model.json` the reader uses. */
export interface GraphModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  modelTopology: { node: TfNode[] };
  signature?: { inputs?: Record<string, SigEntry>; outputs?: Record<string, SigEntry> };
  userDefinedMetadata?: { signature?: GraphModelJson["signature"] };
}

/** Options of {@link importGraphModel}. */
export interface GraphImportOptions {
  /** Shape of each input in the file's layout (NHWC), by Placeholder name, for dynamic dims. */
  inputShapes?: Record<string, number[]>;
  /** Graph name (the file's stem). */
  name?: string;
  /** How the file is named in errors. */
  source?: string;
}

export { TfjsInputShapeError } from "./tfjs_weights.ts";

/** A constant tensor known at import. */
interface Const {
  shape: number[];
  data: Float32Array | Int32Array;
  dtype: "float32" | "int32";
}

type Value = { val: Val } | { const: Const };
const isConst = (v: Value): v is { const: Const } => "const" in v;

// ---------------------------------------------------------------- attributes

const decodeS = (s: string) => {
  try {
    return atob(s);
  } catch {
    return s;
  }
};

/** Typed readers of one node's attributes; a missing required one names the node. */
class Attrs {
  constructor(readonly node: TfNode, readonly source: string) {}
  #get(key: string): TfAttr | undefined {
    const a = this.node.attr?.[key];
    return typeof a === "object" && a !== null ? a : undefined;
  }
  #bad(key: string, what: string): never {
    throw new TfjsImportError(
      `Node "${this.node.name}" (${this.node.op}) in ${this.source}: attribute "${key}" ` +
        `is missing or not ${what}`,
    );
  }
  #num(key: string, v: unknown, what: string, integer: boolean): number {
    const n = typeof v === "string" || typeof v === "number" ? Number(v) : NaN;
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) this.#bad(key, what);
    return n;
  }
  str(key: string, fallback?: string): string {
    const a = this.#get(key);
    if (a?.s === undefined) return fallback ?? this.#bad(key, "a string");
    if (typeof a.s !== "string") this.#bad(key, "a string");
    return decodeS(a.s);
  }
  int(key: string, fallback?: number): number {
    const a = this.#get(key);
    if (a?.i === undefined) return fallback ?? this.#bad(key, "an integer");
    return this.#num(key, a.i, "an integer", true);
  }
  float(key: string, fallback?: number): number {
    const a = this.#get(key);
    if (a?.f === undefined) return fallback ?? this.#bad(key, "a number");
    return this.#num(key, a.f, "a number", false);
  }
  bool(key: string, fallback = false): boolean {
    const b = this.#get(key)?.b;
    if (b === undefined) return fallback;
    if (typeof b !== "boolean") this.#bad(key, "a boolean");
    return b;
  }
  ints(key: string, fallback?: number[]): number[] {
    const list = this.#get(key)?.list;
    if (!list) return fallback ?? this.#bad(key, "a list of integers");
    const i = list.i ?? [];
    if (!Array.isArray(i)) this.#bad(key, "a list of integers");
    return i.map((v) => this.#num(key, v, "a list of integers", true));
  }
  strs(key: string): string[] {
    const s = this.#get(key)?.list?.s ?? [];
    if (!Array.isArray(s) || !s.every((v) => typeof v === "string")) {
      this.#bad(key, "a list of strings");
    }
    return s.map(decodeS);
  }
  shape(key: string): number[] | undefined {
    const s = this.#get(key)?.shape;
    if (!s || s.unknownRank || !s.dim) return undefined;
    if (!Array.isArray(s.dim)) this.#bad(key, "a shape");
    return s.dim.map((d) => this.#num(key, d?.size ?? -1, "a shape", true));
  }
}

// ---------------------------------------------------------------- constants

function constOf(t: TfjsTensor, where: string): Const {
  if (t.dtype === "string") {
    throw new TfjsImportError(
      `Weight "${t.name}" of ${where} is a string tensor; expected numbers`,
    );
  }
  if (t.dtype === "bool") {
    return { shape: t.shape, data: Int32Array.from(t.data as Uint8Array), dtype: "int32" };
  }
  return { shape: t.shape, data: t.data as Float32Array | Int32Array, dtype: t.dtype };
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const ints = (c: Const) => Array.from(c.data, Number);
const f32 = (c: Const) => Float32Array.from(c.data);

function strides(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** `c` broadcast to `shape` (numpy rules), as float32. */
function broadcastConst(c: Const, shape: readonly number[]): Float32Array {
  const rank = shape.length;
  const dims = [...new Array(rank - c.shape.length).fill(1), ...c.shape];
  const src = strides(dims).map((s, i) => (dims[i] === 1 ? 0 : s));
  const out = new Float32Array(numel(shape));
  const idx = new Array(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let at = 0;
    for (let i = 0; i < rank; i++) at += idx[i] * src[i];
    out[o] = c.data[at];
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    return x === 1 ? y : x;
  });
}

function elementwiseConst(a: Const, b: Const, f: (x: number, y: number) => number): Const {
  const shape = broadcastShape(a.shape, b.shape);
  const x = broadcastConst(a, shape);
  const y = broadcastConst(b, shape);
  const int = a.dtype === "int32" && b.dtype === "int32";
  const data = int ? new Int32Array(x.length) : new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) data[i] = f(x[i], y[i]);
  return { shape, data, dtype: int ? "int32" : "float32" };
}

/** A scalar, or a vector along the last axis of a value of rank `rank` (`[C]`, `[1, 1, C]`). */
function channelVector(c: Const, channels: number): Float32Array | undefined {
  const n = numel(c.shape);
  if (n === 1) return Float32Array.from([c.data[0]]);
  const last = c.shape[c.shape.length - 1];
  if (last === channels && n === channels) return f32(c);
  return undefined;
}

// ---------------------------------------------------------------- the context

/** What a converter sees: the node, its inputs, attribute readers and the builder. */
interface Ctx {
  node: TfNode;
  attrs: Attrs;
  /** Inputs (control inputs `^x` dropped). */
  ins: Value[];
  b: TfjsBuilder;
  source: string;
  /** Module path of this node. */
  path: string;
}

function fail(ctx: Ctx, detail: string): never {
  throw new TfjsImportError(
    `Cannot import node "${ctx.node.name}" (${ctx.node.op}) of ${ctx.source}: ${detail}`,
  );
}

function valIn(ctx: Ctx, i: number): Val {
  const v = ctx.ins[i];
  if (!v) fail(ctx, `missing input ${i}`);
  if (isConst(v)) return constNode(ctx, v.const);
  return v.val;
}

function constIn(ctx: Ctx, i: number, what: string): Const {
  const v = ctx.ins[i];
  if (!v || !isConst(v)) fail(ctx, `input ${i} (${what}) must be a constant`);
  return v.const;
}

/** A constant operand as an IR `const` node in the file's layout. */
function constNode(ctx: Ctx, c: Const): Val {
  return ctx.b.node("const", { shape: [...c.shape] }, [], `${ctx.path}.const`, { value: f32(c) });
}

/** `c` as an IR operand beside `v` (4-D NCHW when `v` is, in the file's layout otherwise). */
function constBeside(ctx: Ctx, c: Const, v: Val): Val {
  if (!v.nchw) return constNode(ctx, c);
  if (c.shape.length > 4) fail(ctx, `constant of rank ${c.shape.length} beside a 4-D tensor`);
  const dims = [...new Array(4 - c.shape.length).fill(1), ...c.shape];
  const data = transposeData(c.data, dims, TO_NCHW);
  return ctx.b.node("const", { shape: permute(dims, TO_NCHW) }, [], `${ctx.path}.const`, {
    value: data,
  });
}

// ---------------------------------------------------------------- conv family

type Pad4 = [number, number, number, number];

/** IR pads `[top, left, bottom, right]` from the TF padding attrs of a window op. */
function windowPads(
  ctx: Ctx,
  inHW: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[],
): Pad4 {
  const mode = ctx.attrs.str("padding", "VALID");
  if (mode === "VALID") return [0, 0, 0, 0];
  if (mode === "SAME") {
    const p = [0, 1].map((i) => {
      const out = Math.ceil(inHW[i] / stride[i]);
      const total = Math.max(
        (out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - inHW[i],
        0,
      );
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
    return [p[0][0], p[1][0], p[0][1], p[1][1]];
  }
  if (mode === "EXPLICIT") {
    const e = ctx.attrs.ints("explicit_paddings");
    if (e.length !== 8) fail(ctx, `explicit_paddings has ${e.length} values, expected 8`);
    return [e[2], e[4], e[3], e[5]];
  }
  fail(ctx, `padding "${mode}" is not SAME, VALID or EXPLICIT`);
}

function nhwcOnly(ctx: Ctx): void {
  const f = ctx.attrs.str("data_format", "NHWC");
  if (f !== "NHWC") fail(ctx, `data_format "${f}"; expected NHWC, as tfjs runs`);
}

/** Spatial pair of an NHWC 4-list attr (`strides [1, 2, 2, 1]` -> `[2, 2]`). */
function hw(ctx: Ctx, key: string): [number, number] {
  const v = ctx.attrs.ints(key, [1, 1, 1, 1]);
  if (v.length === 2) return [v[0], v[1]];
  if (v.length !== 4) fail(ctx, `${key} has ${v.length} values, expected 4`);
  return [v[1], v[2]];
}

/** Parent of a fused node's path: `conv2d/Relu` names the conv `conv2d`. */
function opPath(ctx: Ctx): string {
  const fused = /\.(BiasAdd|Relu6?|Prelu|LeakyRelu|Elu|Sigmoid|Tanh|Conv2D|depthwise|MatMul|add)$/;
  return fused.test(ctx.path) ? ctx.path.replace(/\.[^.]+$/, "") : ctx.path;
}

/** A conv (`depthwise` or standard) with the epilogue of a fused op. */
function conv(ctx: Ctx, depthwise: boolean): Value {
  nhwcOnly(ctx);
  const x = ctx.b.nchw(valIn(ctx, 0));
  if (x.shape.length !== 4) fail(ctx, `input has rank ${x.shape.length}, expected 4 (NHWC)`);
  const filter = constIn(ctx, 1, "filter");
  if (filter.shape.length !== 4) fail(ctx, `filter has rank ${filter.shape.length}, expected 4`);
  const [kh, kw, fin, fout] = filter.shape;
  const cin = x.shape[1];
  const stride = hw(ctx, "strides");
  const dilation = hw(ctx, "dilations");
  const padding = windowPads(ctx, x.shape.slice(2), [kh, kw], stride, dilation);
  let weight: Float32Array;
  let outChannels: number;
  let groups: number;
  if (depthwise) {
    // [kh, kw, C, M] -> [C * M, 1, kh, kw]; output channel c * M + m, as TF orders them.
    if (fin !== cin) fail(ctx, `filter has ${fin} input channels, the input ${cin}`);
    weight = transposeData(filter.data, [kh, kw, fin * fout], [2, 0, 1]);
    outChannels = fin * fout;
    groups = cin;
  } else {
    // HWIO -> OIHW; a filter with fewer input channels than the input is a grouped conv.
    if (cin % fin !== 0) fail(ctx, `filter has ${fin} input channels, which do not divide ${cin}`);
    weight = transposeData(filter.data, filter.shape, [3, 2, 0, 1]);
    outChannels = fout;
    groups = cin / fin;
  }
  const fused = ctx.attrs.strs("fused_ops");
  const args = ctx.ins.slice(2);
  const params: Record<string, Float32Array> = { weight };
  const bias = fused[0] === "BiasAdd";
  if (bias) params.bias = f32(constArg(ctx, args, 0, "bias"));
  const base = opPath(ctx);
  const y = ctx.b.node(
    "conv2d",
    {
      inChannels: cin,
      outChannels,
      kernel: [kh, kw],
      stride,
      padding,
      dilation,
      groups,
      bias,
    },
    [x],
    base,
    params,
  );
  return { val: epilogue(ctx, y, fused, args, base) };
}

function constArg(ctx: Ctx, args: Value[], i: number, what: string): Const {
  const v = args[i];
  if (!v || !isConst(v)) fail(ctx, `fused argument ${i} (${what}) must be a constant`);
  return v.const;
}

/** The ops after the conv/matmul of a fused node: bias (already in), batch norm, activation. */
function epilogue(ctx: Ctx, y: Val, fused: string[], args: Value[], base: string): Val {
  let rest = fused;
  let argAt = 0;
  if (rest[0] === "BiasAdd") {
    rest = rest.slice(1);
    argAt = 1;
  } else if (rest[0] === "FusedBatchNorm") {
    const [scale, offset, mean, variance] = [0, 1, 2, 3].map((i) =>
      f32(constArg(ctx, args, i, "batch norm"))
    );
    y = ctx.b.node(
      "batch_norm",
      {
        channels: y.shape[1],
        eps: ctx.attrs.float("epsilon", 1e-3),
      },
      [y],
      `${base}.bn`,
      { weight: scale, bias: offset, running_mean: mean, running_var: variance },
    );
    rest = rest.slice(1);
    argAt = 4;
  }
  if (rest.length > 1) fail(ctx, `fused_ops [${fused.join(", ")}] has more than one activation`);
  if (rest.length === 0) return y;
  const act = rest[0];
  if (act === "Prelu") return prelu(ctx, y, constArg(ctx, args, argAt, "alpha"), `${base}.prelu`);
  if (act === "LeakyRelu") {
    return ctx.b.node(
      "leaky_relu",
      { alpha: ctx.attrs.float("leakyrelu_alpha", 0.2) },
      [y],
      `${base}.leaky_relu`,
    );
  }
  const unary = UNARY[act];
  if (!unary) fail(ctx, `fused activation "${act}" is not supported`);
  return unary(ctx.b, y, `${base}.${act.toLowerCase()}`);
}

function prelu(ctx: Ctx, x: Val, alpha: Const, path: string): Val {
  const channels = fileShape(x).at(-1)!;
  const slopes = channelVector(alpha, channels);
  if (slopes && (x.nchw || x.shape.length === 2)) {
    return ctx.b.node("prelu", { channels: slopes.length }, [x], path, { weight: slopes });
  }
  // Slopes that vary along other axes: relu(x) + alpha * min(x, 0).
  const pos = ctx.b.node("relu", {}, [x], `${path}.pos`);
  const neg = ctx.b.node("clip", { min: -Infinity, max: 0 }, [x], `${path}.neg`);
  const scaled = ctx.b.node("mul", {}, [neg, constBeside(ctx, alpha, x)], `${path}.scale`);
  return ctx.b.node("add", {}, [pos, scaled], path);
}

type UnaryFn = (b: TfjsBuilder, x: Val, path: string) => Val;
const unaryOf = <K extends Kind>(kind: K, attrs: AttrsOf<K>): UnaryFn => (b, x, path) =>
  b.node(kind, attrs, [x], path);

/** TF activations that map to one IR unary op. */
const UNARY: Record<string, UnaryFn> = {
  Relu: unaryOf("relu", {}),
  Relu6: unaryOf("relu6", {}),
  Sigmoid: unaryOf("sigmoid", {}),
  Tanh: unaryOf("tanh", {}),
  Elu: unaryOf("elu", { alpha: 1 }),
  Exp: unaryOf("exp", {}),
  Log: unaryOf("log", {}),
  Sqrt: unaryOf("sqrt", {}),
  Neg: unaryOf("neg", {}),
  Abs: unaryOf("abs", {}),
  Reciprocal: unaryOf("reciprocal", {}),
  Inv: unaryOf("reciprocal", {}),
  Softplus: unaryOf("softplus", {}),
  Erf: unaryOf("erf", {}),
  Rsqrt: (b, x, path) => b.node("reciprocal", {}, [b.node("sqrt", {}, [x], `${path}.sqrt`)], path),
  Square: (b, x, path) => b.node("mul", {}, [x, x], path),
};

/**
 * `Conv2DBackpropInput` (a transposed conv): filter `[kh, kw, Cout, Cin]`
 * becomes `[Cin, Cout, kh, kw]`; the pads are those of the forward conv from
 * the output size `input_sizes` back to the input, and what the stride leaves
 * over is output padding.
 */
function convTranspose(ctx: Ctx): Value {
  nhwcOnly(ctx);
  const sizes = ints(constIn(ctx, 0, "input_sizes"));
  const filter = constIn(ctx, 1, "filter");
  const x = ctx.b.nchw(valIn(ctx, 2));
  if (filter.shape.length !== 4 || sizes.length !== 4) fail(ctx, "expected a 4-D filter and sizes");
  const [kh, kw, cout, cin] = filter.shape;
  if (cin !== x.shape[1]) fail(ctx, `filter takes ${cin} channels, the input has ${x.shape[1]}`);
  const stride = hw(ctx, "strides");
  const dilation = hw(ctx, "dilations");
  const out = [sizes[1], sizes[2]];
  const forward = windowPads(ctx, out, [kh, kw], stride, dilation);
  const outputPadding = [0, 1].map((i) =>
    out[i] - ((x.shape[2 + i] - 1) * stride[i] - forward[i] - forward[i + 2] +
      dilation[i] * ([kh, kw][i] - 1) + 1)
  ) as [number, number];
  if (outputPadding.some((p) => p < 0)) fail(ctx, `input_sizes [${sizes.join(", ")}] too small`);
  return {
    val: ctx.b.node(
      "conv_transpose2d",
      {
        inChannels: cin,
        outChannels: cout,
        kernel: [kh, kw],
        stride,
        padding: forward,
        outputPadding,
        dilation,
        groups: 1,
        bias: false,
      },
      [x],
      ctx.path,
      { weight: transposeData(filter.data, filter.shape, [3, 2, 0, 1]) },
    ),
  };
}

// ---------------------------------------------------------------- converters

type Converter = (ctx: Ctx) => Value | Value[];

function matmul(ctx: Ctx): Value {
  const ta = ctx.attrs.bool("transpose_a");
  const tb = ctx.attrs.bool("transpose_b");
  const [a, w] = ctx.ins;
  if (!a || !w) fail(ctx, "needs two inputs");
  if (isConst(a)) fail(ctx, "a constant left operand is not supported");
  if (!isConst(w)) {
    if (ta || tb) fail(ctx, "transpose_a / transpose_b of two computed tensors");
    const y = ctx.b.node("matmul", {}, [ctx.b.plain(a.val), ctx.b.plain(valIn(ctx, 1))], ctx.path);
    return { val: epilogue(ctx, y, ctx.attrs.strs("fused_ops"), ctx.ins.slice(2), ctx.path) };
  }
  const x = ctx.b.plain(a.val);
  if (ta || x.shape.length !== 2) fail(ctx, "expected a [N, K] input without transpose_a");
  const [k, n] = tb ? [w.const.shape[1], w.const.shape[0]] : w.const.shape;
  if (x.shape[1] !== k) fail(ctx, `input has ${x.shape[1]} features, the weight ${k}`);
  // Linear weight [out, in]: TF's [in, out] transposed (already [out, in] with transpose_b).
  const weight = tb ? f32(w.const) : transposeData(w.const.data, [k, n], [1, 0]);
  const fused = ctx.attrs.strs("fused_ops");
  const bias = fused[0] === "BiasAdd";
  const params: Record<string, Float32Array> = { weight };
  const args = ctx.ins.slice(2);
  if (bias) params.bias = f32(constArg(ctx, args, 0, "bias"));
  const base = opPath(ctx);
  const y = ctx.b.node("linear", { inFeatures: k, outFeatures: n, bias }, [x], base, params);
  return { val: epilogue(ctx, y, fused, args, base) };
}

type BinKind = "add" | "sub" | "mul" | "div" | "max" | "min" | "pow";

/** `x op c` (or `c op x` when `swapped`) as one affine op, where that is exact. */
function affineOf(
  ctx: Ctx,
  kind: BinKind,
  x: Val,
  c: Const,
  swapped: boolean,
): Val | undefined {
  const channelsAxis1 = x.nchw || x.shape.length === 2;
  const channels = fileShape(x).at(-1)!;
  const v = channelVector(c, channels);
  if (!v || (v.length > 1 && !channelsAxis1)) return undefined;
  const ones = () => new Float32Array(v.length).fill(1);
  let weight: Float32Array;
  let bias: Float32Array;
  if (kind === "add") [weight, bias] = [ones(), v];
  else if (kind === "mul") [weight, bias] = [v, new Float32Array(v.length)];
  else if (kind === "sub" && !swapped) [weight, bias] = [ones(), v.map((t) => -t)];
  else if (kind === "sub") [weight, bias] = [new Float32Array(v.length).fill(-1), v];
  else if (kind === "div" && !swapped) {
    [weight, bias] = [v.map((t) => 1 / t), new Float32Array(v.length)];
  } else return undefined;
  return ctx.b.node("affine", { channels: v.length }, [x], ctx.path, { weight, bias });
}

function binaryOp(kind: BinKind, fold: (x: number, y: number) => number): Converter {
  return (ctx) => {
    const [a, b] = ctx.ins;
    if (!a || !b) fail(ctx, "needs two inputs");
    if (isConst(a) && isConst(b)) return { const: elementwiseConst(a.const, b.const, fold) };
    if (isConst(a) || isConst(b)) {
      const [x, c, swapped] = isConst(b) ? [(a as { val: Val }).val, b.const, false] : [
        (b as { val: Val }).val,
        (a as { const: Const }).const,
        true,
      ];
      if ((kind === "max" || kind === "min") && numel(c.shape) === 1) {
        const t = c.data[0];
        if (kind === "max" && t === 0) return { val: ctx.b.node("relu", {}, [x], ctx.path) };
        const bounds = kind === "max" ? { min: t, max: Infinity } : { min: -Infinity, max: t };
        return { val: ctx.b.node("clip", bounds, [x], ctx.path) };
      }
      const aff = affineOf(ctx, kind, x, c, swapped);
      if (aff) return { val: aff };
      const k = constBeside(ctx, c, x);
      return { val: ctx.b.node(kind, {}, swapped ? [k, x] : [x, k], ctx.path) };
    }
    let x = a.val;
    let y = b.val;
    if (x.shape.length === 4 && y.shape.length === 4) {
      x = ctx.b.nchw(x);
      y = ctx.b.nchw(y);
    } else {
      x = ctx.b.plain(x);
      y = ctx.b.plain(y);
    }
    return { val: ctx.b.node(kind, {}, [x, y], ctx.path) };
  };
}

function unary(name: string): Converter {
  return (ctx) => ({ val: UNARY[name](ctx.b, valIn(ctx, 0), ctx.path) });
}

function pool(kind: "max_pool" | "avg_pool"): Converter {
  return (ctx) => {
    nhwcOnly(ctx);
    const x = ctx.b.nchw(valIn(ctx, 0));
    const kernel = hw(ctx, "ksize");
    const stride = hw(ctx, "strides");
    const padding = windowPads(ctx, x.shape.slice(2), kernel, stride, [1, 1]);
    // TF's SAME average pool divides by the window's valid elements only.
    return {
      val: ctx.b.node(kind, { kernel, stride, padding, ceilMode: false, countIncludePad: false }, [
        x,
      ], ctx.path),
    };
  };
}

function axesOf(ctx: Ctx, i: number, rank: number): number[] {
  const axes = ints(constIn(ctx, i, "axes")).map((a) => (a < 0 ? a + rank : a));
  return [...new Set(axes)].sort((p, q) => p - q);
}

function reduce(op: "mean" | "max" | "sum"): Converter {
  return (ctx) => {
    const x = valIn(ctx, 0);
    const rank = x.shape.length;
    const axes = axesOf(ctx, 1, rank);
    const keepDims = ctx.attrs.bool("keep_dims");
    // Mean (max) over H and W of an NHWC tensor: global average (max) pooling.
    if (x.nchw && axes.length === 2 && axes[0] === 1 && axes[1] === 2 && op !== "sum") {
      const pooled = ctx.b.node(
        op === "mean" ? "global_avg_pool" : "global_max_pool",
        {},
        [x],
        ctx.path,
      );
      if (keepDims) return { val: pooled };
      return { val: ctx.b.node("flatten", { axis: 1 }, [pooled], `${ctx.path}.flatten`) };
    }
    const irAxes = axes.map((a) => ctx.b.axis(x, a)).sort((p, q) => p - q);
    const y = ctx.b.node("reduce", { op, axes: irAxes, keepDims }, [x], ctx.path);
    return { val: keepDims ? y : { ...y, nchw: false } };
  };
}

/** `x` reshaped to the file shape `shape` (a 4-D NCHW value goes back to NHWC first). */
function reshapeTo(ctx: Ctx, x: Val, shape: number[]): Val {
  const file = fileShape(x);
  if (numel(shape) !== numel(file)) {
    fail(ctx, `cannot reshape [${file.join(", ")}] to [${shape.join(", ")}]`);
  }
  // [N, 1, 1, C] and [N, C, 1, 1] hold the same order: no transpose needed.
  const sameOrder = x.nchw && x.shape[2] * x.shape[3] === 1;
  const src = sameOrder ? x : ctx.b.plain(x);
  if (shape.length === 2 && shape[0] === src.shape[0]) {
    return { ...ctx.b.node("flatten", { axis: 1 }, [src], ctx.path), nchw: false };
  }
  const y = ctx.b.node("reshape", { shape }, [src], ctx.path);
  return { ...y, nchw: false };
}

function resolveShape(ctx: Ctx, target: number[], from: number[]): number[] {
  const total = numel(from);
  const known = target.reduce((p, d, i) => (d === -1 ? p : p * (d === 0 ? from[i] : d)), 1);
  const free = target.filter((d) => d === -1).length;
  if (free > 1 || (free === 1 && total % known !== 0) || (free === 0 && known !== total)) {
    fail(ctx, `cannot reshape [${from.join(", ")}] to [${target.join(", ")}]`);
  }
  return target.map((d, i) => (d === -1 ? total / known : d === 0 ? from[i] : d));
}

function reshape(ctx: Ctx): Value {
  const x = valIn(ctx, 0);
  const shape = resolveShape(ctx, ints(constIn(ctx, 1, "shape")), fileShape(x));
  return { val: reshapeTo(ctx, x, shape) };
}

function squeeze(ctx: Ctx): Value {
  const x = valIn(ctx, 0);
  const file = fileShape(x);
  const dims = ctx.attrs.ints("squeeze_dims", []).map((a) => (a < 0 ? a + file.length : a));
  const shape = file.filter((d, i) => (dims.length ? !dims.includes(i) : d !== 1));
  return { val: reshapeTo(ctx, x, shape) };
}

function expandDims(ctx: Ctx): Value {
  const x = valIn(ctx, 0);
  const file = fileShape(x);
  let a = ints(constIn(ctx, 1, "axis"))[0];
  if (a < 0) a += file.length + 1;
  return { val: reshapeTo(ctx, x, [...file.slice(0, a), 1, ...file.slice(a)]) };
}

function concat(ctx: Ctx): Value {
  const n = ctx.node.op === "Concat" ? ctx.ins.length - 1 : ctx.ins.length - 1;
  const axisAt = ctx.node.op === "Concat" ? 0 : n;
  const parts = ctx.node.op === "Concat" ? ctx.ins.slice(1) : ctx.ins.slice(0, n);
  const axisC = ctx.ins[axisAt];
  if (!axisC || !isConst(axisC)) fail(ctx, "the axis must be a constant");
  const axis = Number(axisC.const.data[0]);
  if (parts.every(isConst)) {
    return { const: concatConst(parts.map((p) => (p as { const: Const }).const), axis) };
  }
  const vals = parts.filter((p) => !isConst(p)).map((p) => (p as { val: Val }).val);
  const fourD = vals.every((v) => v.shape.length === 4);
  const anyNchw = vals.some((v) => v.nchw);
  const like: Val = fourD && anyNchw ? ctx.b.nchw(vals[0]) : ctx.b.plain(vals[0]);
  const ins = parts.map((p) =>
    isConst(p)
      ? constBeside(ctx, p.const, like)
      : like.nchw
      ? ctx.b.nchw(p.val)
      : ctx.b.plain(p.val)
  );
  return { val: ctx.b.node("concat", { axis: ctx.b.axis(like, axis) }, ins, ctx.path) };
}

function concatConst(parts: Const[], axis: number): Const {
  const rank = parts[0].shape.length;
  const a = axis < 0 ? axis + rank : axis;
  const shape = [...parts[0].shape];
  shape[a] = parts.reduce((s, p) => s + p.shape[a], 0);
  const outer = numel(shape.slice(0, a));
  const data: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const inner = numel(p.shape.slice(a));
      for (let i = 0; i < inner; i++) data.push(p.data[o * inner + i]);
    }
  }
  const int = parts.every((p) => p.dtype === "int32");
  return {
    shape,
    data: int ? Int32Array.from(data) : Float32Array.from(data),
    dtype: int ? "int32" : "float32",
  };
}

function pad(ctx: Ctx): Value {
  const x = valIn(ctx, 0);
  const p = ints(constIn(ctx, 1, "paddings"));
  const rank = x.shape.length;
  if (p.length !== 2 * rank) fail(ctx, `paddings has ${p.length} values, expected ${2 * rank}`);
  let mode: "constant" | "reflect" | "edge" = "constant";
  if (ctx.node.op === "MirrorPad") {
    const m = ctx.attrs.str("mode");
    if (m !== "REFLECT") fail(ctx, `MirrorPad mode "${m}"; only REFLECT is supported`);
    mode = "reflect";
  }
  const value = ctx.node.op === "PadV2" ? Number(constIn(ctx, 2, "constant_values").data[0]) : 0;
  // File axis a pads p[2a] before and p[2a + 1] after; IR pads are begins then ends per IR axis.
  const pads = new Array(2 * rank).fill(0);
  for (let a = 0; a < rank; a++) {
    const ir = ctx.b.axis(x, a);
    pads[ir] = p[2 * a];
    pads[ir + rank] = p[2 * a + 1];
  }
  return { val: ctx.b.node("pad", { pads, mode, value }, [x], ctx.path) };
}

function transpose(ctx: Ctx): Value {
  const x = ctx.b.plain(valIn(ctx, 0));
  const perm = ints(constIn(ctx, 1, "perm"));
  return { val: { ...ctx.b.node("transpose", { perm }, [x], ctx.path), nchw: false } };
}

function splitParts(ctx: Ctx, x: Val, axis: number, sizes: number[]): Value[] {
  const ir = ctx.b.axis(x, axis);
  let offset = 0;
  return sizes.map((size, i) => {
    const part = ctx.b.node("split", { axis: ir, offset, size }, [x], `${ctx.path}.${i}`);
    offset += size;
    return { val: part };
  });
}

function split(ctx: Ctx): Value[] {
  const x = valIn(ctx, 1);
  const axis = Number(constIn(ctx, 0, "axis").data[0]);
  const n = ctx.attrs.int("num_split");
  const dim = fileShape(x).at(axis < 0 ? axis : axis)!;
  if (dim % n !== 0) fail(ctx, `${n} parts do not divide ${dim}`);
  return splitParts(ctx, x, axis, new Array(n).fill(dim / n));
}

function splitV(ctx: Ctx): Value[] {
  const x = valIn(ctx, 0);
  const axis = Number(constIn(ctx, 2, "axis").data[0]);
  const file = fileShape(x);
  const dim = file.at(axis)!;
  const sizes = ints(constIn(ctx, 1, "size_splits"));
  const known = sizes.reduce((s, v) => (v < 0 ? s : s + v), 0);
  return splitParts(ctx, x, axis, sizes.map((v) => (v < 0 ? dim - known : v)));
}

/** Per file axis `[start, end, step]`, then the axes a strided slice drops. */
function sliceRanges(
  ctx: Ctx,
  file: number[],
  begin: number[],
  end: number[],
  step: number[],
): { ranges: [number, number, number][]; shrink: number[] } {
  const bit = (key: string, i: number) => ((ctx.attrs.int(key, 0) >> i) & 1) === 1;
  if (ctx.attrs.int("ellipsis_mask", 0) || ctx.attrs.int("new_axis_mask", 0)) {
    fail(ctx, "ellipsis_mask and new_axis_mask are not supported");
  }
  const ranges: [number, number, number][] = [];
  const shrink: number[] = [];
  file.forEach((d, i) => {
    if (i >= begin.length) return ranges.push([0, d, 1]);
    const s = step[i] ?? 1;
    if (s <= 0) fail(ctx, `step ${s} on axis ${i}; only positive steps are supported`);
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    let b = bit("begin_mask", i) ? 0 : clamp(begin[i]);
    let e = bit("end_mask", i) ? d : clamp(end[i]);
    if (bit("shrink_axis_mask", i)) {
      b = clamp(begin[i]);
      e = b + 1;
      shrink.push(i);
    }
    ranges.push([b, Math.max(e, b), s]);
  });
  return { ranges, shrink };
}

function applySlices(ctx: Ctx, x: Val, ranges: [number, number, number][], shrink: number[]): Val {
  const file = fileShape(x);
  let y = x;
  ranges.forEach(([b, e, s], a) => {
    if (b === 0 && e === file[a] && s === 1) return;
    y = ctx.b.node(
      "slice",
      { axis: ctx.b.axis(x, a), start: b, end: e, step: s },
      [y],
      `${ctx.path}.${a}`,
    );
    y = { ...y, nchw: x.nchw };
  });
  if (shrink.length) {
    const out = fileShape(y).filter((_, i) => !shrink.includes(i));
    return reshapeTo({ ...ctx, path: `${ctx.path}.squeeze` }, y, out);
  }
  return y;
}

function stridedSlice(ctx: Ctx): Value {
  const x = valIn(ctx, 0);
  const [begin, end, step] = [1, 2, 3].map((i) => ints(constIn(ctx, i, "begin/end/strides")));
  const { ranges, shrink } = sliceRanges(ctx, fileShape(x), begin, end, step);
  return { val: applySlices(ctx, x, ranges, shrink) };
}

function slice(ctx: Ctx): Value {
  const x = valIn(ctx, 0);
  const file = fileShape(x);
  const begin = ints(constIn(ctx, 1, "begin"));
  const size = ints(constIn(ctx, 2, "size"));
  const ranges = file.map((d, i): [number, number, number] => [
    begin[i],
    size[i] < 0 ? d : begin[i] + size[i],
    1,
  ]);
  return { val: applySlices(ctx, x, ranges, []) };
}

function resize(mode: "nearest" | "linear"): Converter {
  return (ctx) => {
    const x = ctx.b.nchw(valIn(ctx, 0));
    const [h, w] = ints(constIn(ctx, 1, "size"));
    const align = ctx.attrs.bool("align_corners");
    const half = ctx.attrs.bool("half_pixel_centers");
    const coordinateTransformation = align
      ? "align_corners"
      : half
      ? (mode === "nearest" ? "tf_half_pixel_for_nn" : "half_pixel")
      : "asymmetric";
    // TF rounds half up with align_corners and floors otherwise.
    const nearestMode = align ? "round_prefer_ceil" : "floor";
    return {
      val: ctx.b.node(
        "resize",
        {
          mode,
          coordinateTransformation,
          nearestMode,
          outShape: [x.shape[0], x.shape[1], h, w],
        },
        [x],
        ctx.path,
      ),
    };
  };
}

function softmax(ctx: Ctx): Value {
  const x = valIn(ctx, 0);
  return { val: ctx.b.node("softmax", { axis: ctx.b.axis(x, -1) }, [x], ctx.path) };
}

function batchNorm(ctx: Ctx): Value {
  nhwcOnly(ctx);
  const x = ctx.b.nchw(valIn(ctx, 0));
  const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) =>
    f32(constIn(ctx, i, "batch norm"))
  );
  return {
    val: ctx.b.node(
      "batch_norm",
      { channels: x.shape[1], eps: ctx.attrs.float("epsilon", 1e-3) },
      [x],
      ctx.path,
      {
        weight: scale,
        bias: offset,
        running_mean: mean,
        running_var: variance,
      },
    ),
  };
}

function gather(ctx: Ctx): Value {
  const idx = constIn(ctx, 1, "indices");
  const axis = ctx.node.op === "Gather" ? 0 : Number(constIn(ctx, 2, "axis").data[0]);
  if (idx.shape.length > 1) fail(ctx, `indices of rank ${idx.shape.length}; expected 0 or 1`);
  const scalarIndex = idx.shape.length === 0;
  // Dropping an axis of an NCHW tensor leaves a 3-D one: take it in the file's order.
  const x = scalarIndex ? ctx.b.plain(valIn(ctx, 0)) : valIn(ctx, 0);
  return {
    val: ctx.b.node("gather", { axis: ctx.b.axis(x, axis), indices: ints(idx), scalarIndex }, [
      x,
    ], ctx.path),
  };
}

/** Pack (tf.stack) of computed tensors: each gets a new axis of size 1, then one concat. */
function pack(ctx: Ctx): Value {
  const axis0 = ctx.attrs.int("axis", 0);
  const parts = ctx.ins.map((v, i) => {
    const x = isConst(v) ? constNode({ ...ctx, path: `${ctx.path}.${i}` }, v.const) : v.val;
    const file = fileShape(x);
    const a = axis0 < 0 ? axis0 + file.length + 1 : axis0;
    return reshapeTo({ ...ctx, path: `${ctx.path}.${i}` }, x, [
      ...file.slice(0, a),
      1,
      ...file.slice(a),
    ]);
  });
  const rank = parts[0].shape.length;
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  return { val: ctx.b.node("concat", { axis }, parts, ctx.path) };
}

const identity: Converter = (ctx) => {
  const v = ctx.ins[0];
  if (!v) fail(ctx, "has no input");
  return v;
};

/** Converters keyed by TF op type: each turns one node into values. */
export const CONVERTERS: Record<string, Converter> = {
  Identity: identity,
  StopGradient: identity,
  Snapshot: identity,
  Conv2D: (ctx) => conv(ctx, false),
  _FusedConv2D: (ctx) => conv(ctx, false),
  DepthwiseConv2dNative: (ctx) => conv(ctx, true),
  FusedDepthwiseConv2dNative: (ctx) => conv(ctx, true),
  MatMul: matmul,
  _FusedMatMul: matmul,
  Conv2DBackpropInput: convTranspose,
  BiasAdd: binaryOp("add", (x, y) => x + y),
  Add: binaryOp("add", (x, y) => x + y),
  AddV2: binaryOp("add", (x, y) => x + y),
  Sub: binaryOp("sub", (x, y) => x - y),
  Mul: binaryOp("mul", (x, y) => x * y),
  RealDiv: binaryOp("div", (x, y) => x / y),
  Maximum: binaryOp("max", Math.max),
  Minimum: binaryOp("min", Math.min),
  Relu: unary("Relu"),
  Relu6: unary("Relu6"),
  Sigmoid: unary("Sigmoid"),
  Tanh: unary("Tanh"),
  Elu: unary("Elu"),
  Exp: unary("Exp"),
  Log: unary("Log"),
  Sqrt: unary("Sqrt"),
  Rsqrt: unary("Rsqrt"),
  Neg: unary("Neg"),
  Abs: unary("Abs"),
  Reciprocal: unary("Reciprocal"),
  Inv: unary("Inv"),
  Softplus: unary("Softplus"),
  Erf: unary("Erf"),
  Square: unary("Square"),
  Pow: binaryOp("pow", Math.pow),
  SquaredDifference: (ctx) => {
    const d = binaryOp("sub", (x, y) => x - y)({ ...ctx, path: `${ctx.path}.sub` }) as Value;
    if (isConst(d)) return { const: elementwiseConst(d.const, d.const, (x, y) => x * y) };
    return { val: ctx.b.node("mul", {}, [d.val, d.val], ctx.path) };
  },
  AddN: (ctx) => {
    let acc: Value = ctx.ins[0];
    for (let i = 1; i < ctx.ins.length; i++) {
      const path = i === ctx.ins.length - 1 ? ctx.path : `${ctx.path}.${i}`;
      acc = binaryOp("add", (x, y) => x + y)({ ...ctx, ins: [acc, ctx.ins[i]], path }) as Value;
    }
    return acc;
  },
  ClipByValue: (ctx) => {
    const lo = Number(constIn(ctx, 1, "clip_value_min").data[0]);
    const hi = Number(constIn(ctx, 2, "clip_value_max").data[0]);
    return { val: ctx.b.node("clip", { min: lo, max: hi }, [valIn(ctx, 0)], ctx.path) };
  },
  Cast: (ctx) => {
    const to = ctx.node.attr?.DstT?.type ?? "DT_FLOAT";
    if (to !== "DT_FLOAT") fail(ctx, `a cast of a computed tensor to ${to}; expected DT_FLOAT`);
    return identity(ctx);
  },
  GatherV2: gather,
  Gather: gather,
  Pack: pack,
  LeakyRelu: (ctx) => ({
    val: ctx.b.node(
      "leaky_relu",
      { alpha: ctx.attrs.float("alpha", 0.2) },
      [valIn(ctx, 0)],
      ctx.path,
    ),
  }),
  Prelu: (ctx) => ({ val: prelu(ctx, valIn(ctx, 0), constIn(ctx, 1, "alpha"), ctx.path) }),
  MaxPool: pool("max_pool"),
  AvgPool: pool("avg_pool"),
  Mean: reduce("mean"),
  Max: reduce("max"),
  Sum: reduce("sum"),
  ConcatV2: concat,
  Concat: concat,
  Reshape: reshape,
  Squeeze: squeeze,
  ExpandDims: expandDims,
  Pad: pad,
  PadV2: pad,
  MirrorPad: pad,
  Transpose: transpose,
  Split: split,
  SplitV: splitV,
  StridedSlice: stridedSlice,
  Slice: slice,
  ResizeBilinear: resize("linear"),
  ResizeNearestNeighbor: resize("nearest"),
  Softmax: softmax,
  FusedBatchNorm: batchNorm,
  FusedBatchNormV2: batchNorm,
  FusedBatchNormV3: batchNorm,
};

/** Ops evaluated at import when every input is a constant (shape arithmetic). */
export const FOLDERS: Record<string, (ctx: Ctx, cs: Const[]) => Const> = {
  Identity: (_ctx, [c]) => c,
  Cast: (ctx, [c]) => {
    const to = ctx.node.attr?.DstT?.type ?? "DT_FLOAT";
    return to === "DT_FLOAT"
      ? { shape: c.shape, data: f32(c), dtype: "float32" }
      : { shape: c.shape, data: Int32Array.from(c.data, Math.trunc), dtype: "int32" };
  },
  Reshape: (ctx, [c, s]) => ({ ...c, shape: resolveShape(ctx, ints(s), c.shape) }),
  Squeeze: (ctx, [c]) => {
    const dims = ctx.attrs.ints("squeeze_dims", []);
    return { ...c, shape: c.shape.filter((d, i) => (dims.length ? !dims.includes(i) : d !== 1)) };
  },
  ExpandDims: (_ctx, [c, a]) => {
    let axis = Number(a.data[0]);
    if (axis < 0) axis += c.shape.length + 1;
    return { ...c, shape: [...c.shape.slice(0, axis), 1, ...c.shape.slice(axis)] };
  },
  Pack: (ctx, cs) => {
    const axis = ctx.attrs.int("axis", 0);
    if (axis !== 0) fail(ctx, "Pack of constants on an axis other than 0");
    const c = concatConst(cs.map((c) => ({ ...c, shape: [1, ...c.shape] })), 0);
    return c;
  },
  Neg: (_ctx, [c]) => ({ ...c, data: c.data.map((v) => -v) }),
};

for (
  const [op, f] of Object.entries({
    Add: (x: number, y: number) => x + y,
    AddV2: (x: number, y: number) => x + y,
    Sub: (x: number, y: number) => x - y,
    Mul: (x: number, y: number) => x * y,
    RealDiv: (x: number, y: number) => x / y,
    FloorDiv: (x: number, y: number) => Math.floor(x / y),
    Maximum: Math.max,
    Minimum: Math.min,
  })
) FOLDERS[op] = (_ctx, [a, b]) => elementwiseConst(a, b, f);

/** Ops that exist only to carry constants or the graph's structure. */
const STRUCTURAL = new Set(["Const", "Placeholder", "NoOp", "Shape"]);

/** Every TF op type the graph reader accepts (some only on constants). */
export const SUPPORTED_TF_OPS: readonly string[] = [
  ...new Set([...Object.keys(CONVERTERS), ...Object.keys(FOLDERS), ...STRUCTURAL]),
].sort();

// ---------------------------------------------------------------- the reader

function splitRef(ref: string): { node: string; index: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(ref)!;
  return { node: m[1], index: m[2] === undefined ? 0 : Number(m[2]) };
}

function checkOps(nodes: TfNode[], source: string): void {
  const first = new Map<string, string>();
  for (const n of nodes) {
    if (!(n.op in CONVERTERS) && !(n.op in FOLDERS) && !STRUCTURAL.has(n.op) && !first.has(n.op)) {
      first.set(n.op, n.name);
    }
  }
  if (first.size) {
    const list = [...first].map(([op, node]) => `${op} (first node "${node}")`).join(", ");
    throw new TfjsImportError(`Cannot import ${source}: unsupported TensorFlow op(s) ${list}`);
  }
}

function topoOrder(nodes: TfNode[], source: string): TfNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 1 | 2>();
  const order: TfNode[] = [];
  for (const root of nodes) {
    const stack: [TfNode, number][] = [[root, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, i] = top;
      if (i === 0) {
        if (state.get(n.name) === 2) {
          stack.pop();
          continue;
        }
        state.set(n.name, 1);
      }
      const inputs = (n.input ?? []).filter((r) => !r.startsWith("^"));
      if (i < inputs.length) {
        top[1]++;
        const dep = byName.get(splitRef(inputs[i]).node);
        if (!dep) {
          throw new TfjsImportError(
            `Node "${n.name}" of ${source} reads "${inputs[i]}", which is not a node of the graph`,
          );
        }
        if (state.get(dep.name) === 1) {
          throw new TfjsImportError(`The graph of ${source} has a cycle through "${dep.name}"`);
        }
        if (state.get(dep.name) !== 2) stack.push([dep, 0]);
      } else {
        state.set(n.name, 2);
        order.push(n);
        stack.pop();
      }
    }
  }
  return order;
}

/** The longest `a/b/` prefix every compute node shares (`StatefulPartitionedCall/model/`). */
function commonPrefix(nodes: TfNode[]): string {
  const names = nodes.filter((n) => !STRUCTURAL.has(n.op) && n.name.includes("/")).map((n) =>
    n.name.split("/").slice(0, -1)
  );
  if (names.length === 0) return "";
  let k = 0;
  while (names.every((p) => k < p.length && p[k] === names[0][k])) k++;
  return k ? names[0].slice(0, k).join("/") + "/" : "";
}

function sigShape(e: SigEntry | undefined): number[] | undefined {
  return e?.tensorShape?.dim?.map((d) => Number(d.size ?? -1));
}

/**
 * Imports a parsed graph-model `model.json` with its decoded weights.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importGraphModel } from "./tfjs_graph.ts";
 * const json = { format: "graph-model", modelTopology: { node: [
 *   { name: "x", op: "Placeholder", attr: { shape: { shape: { dim: [{ size: "1" }, { size: "4" }] } } } },
 *   { name: "Sin", op: "Sin", input: ["x"] },
 * ] } };
 * assert.throws(
 *   () => importGraphModel(json, new Map(), { source: "m.json" }),
 *   /Cannot import m\.json: unsupported TensorFlow op\(s\) Sin \(first node "Sin"\)/,
 * );
 * ```
 */
export function importGraphModel(
  json: GraphModelJson,
  weights: TfjsWeights,
  options: GraphImportOptions = {},
): TfjsImport {
  const source = options.source ?? "model.json";
  const nodes = json.modelTopology?.node;
  if (!Array.isArray(nodes)) {
    throw new TfjsImportError(
      `Invalid graph model ${source}: "modelTopology.node" is not an array`,
    );
  }
  for (const [i, n] of nodes.entries()) {
    if (typeof n?.name !== "string" || typeof n?.op !== "string") {
      throw new TfjsImportError(
        `Invalid graph model ${source}: node ${i} needs a string "name" and "op"`,
      );
    }
    if (
      n.input !== undefined &&
      !(Array.isArray(n.input) && n.input.every((r) => typeof r === "string"))
    ) {
      throw new TfjsImportError(
        `Invalid graph model ${source}: node "${n.name}" has an "input" that is not a list of names`,
      );
    }
  }
  checkOps(nodes, source);
  const order = topoOrder(nodes, source);
  const b = new TfjsBuilder(source);
  const prefix = commonPrefix(nodes);
  const values = new Map<string, Value[]>();
  const signature = json.signature ?? json.userDefinedMetadata?.signature;
  const sigInputs = new Map(
    Object.values(signature?.inputs ?? {}).map((e) => [splitRef(e.name).node, sigShape(e)]),
  );
  const read = (ref: string, reader: string): Value => {
    const { node, index } = splitRef(ref);
    const v = values.get(node)?.[index];
    if (!v) {
      throw new TfjsImportError(
        `Node "${reader}" of ${source} reads output ${index} of "${node}", which has none`,
      );
    }
    return v;
  };
  for (const node of order) {
    const attrs = new Attrs(node, source);
    const path = modulePath(
      node.name.startsWith(prefix) ? node.name.slice(prefix.length) : node.name,
    );
    if (node.op === "Const") {
      const t = weights.get(node.name);
      if (!t) {
        throw new TfjsImportError(
          `Const node "${node.name}" of ${source} has no tensor in the weights manifest`,
        );
      }
      values.set(node.name, [{ const: constOf(t, source) }]);
      continue;
    }
    if (node.op === "Placeholder") {
      const shape = resolveInputShape(
        attrs.shape("shape") ?? sigInputs.get(node.name),
        options.inputShapes?.[node.name],
        node.name,
        source,
      );
      values.set(node.name, [{ val: b.input(modulePath(node.name), shape) }]);
      continue;
    }
    if (node.op === "NoOp") continue;
    const ins = (node.input ?? []).filter((r) => !r.startsWith("^")).map((r) => read(r, node.name));
    const ctx: Ctx = { node, attrs, ins, b, source, path };
    if (node.op === "Shape") {
      const v = ins[0];
      const shape = isConst(v) ? v.const.shape : fileShape(v.val);
      values.set(node.name, [{
        const: { shape: [shape.length], data: Int32Array.from(shape), dtype: "int32" },
      }]);
      continue;
    }
    const folder = FOLDERS[node.op];
    if (folder && ins.every(isConst)) {
      values.set(node.name, [{
        const: folder(ctx, ins.map((v) => (v as { const: Const }).const)),
      }]);
      continue;
    }
    const convert = CONVERTERS[node.op];
    if (!convert) fail(ctx, "is only supported on constant inputs");
    const out = convert(ctx);
    values.set(node.name, Array.isArray(out) ? out : [out]);
  }
  const outs = signature?.outputs
    ? Object.entries(signature.outputs).map(([key, e]) => ({ name: key, ref: e.name }))
    : leaves(order).map((n) => ({ name: n, ref: n }));
  for (const { name, ref } of outs) {
    const v = read(ref, `output ${name}`);
    if (isConst(v)) throw new TfjsImportError(`Output "${name}" of ${source} is a constant`);
    b.output(name, v.val);
  }
  return b.build(options.name ?? "model", {
    format: "tfjs graph-model",
    ...(json.generatedBy ? { generatedBy: String(json.generatedBy) } : {}),
    ...(json.convertedBy ? { convertedBy: String(json.convertedBy) } : {}),
  });
}

/** Nodes nothing reads (the outputs of a graph without a signature), in file order. */
function leaves(order: TfNode[]): string[] {
  const read = new Set(
    order.flatMap((n) => (n.input ?? []).map((r) => splitRef(r.replace(/^\^/, "")).node)),
  );
  return order.filter((n) => !read.has(n.name) && !STRUCTURAL.has(n.op)).map((n) => n.name);
}
