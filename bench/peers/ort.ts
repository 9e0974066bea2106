/**
 * ONNX Runtime peers on our exported ONNX bytes: onnxruntime-node (native,
 * one intra-op thread, sequential execution; needs `--allow-ffi`) and
 * onnxruntime-web's WASM backend (SIMD, one thread), whose `.wasm` files are
 * read from the npm package's `dist/` folder.
 *
 * @module
 */

import type { Runner } from "./runner.ts";

/** The two ONNX Runtime builds we compare against. */
export type OrtFlavor = "ort-node" | "ort-web";

// Both packages implement onnxruntime-common's API; this is the part we use.
/** A tensor of either ONNX Runtime build. */
export interface OrtTensor {
  data: unknown;
  dims: readonly number[];
}
/** A session of either ONNX Runtime build. */
export interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
/** The part of either ONNX Runtime package we use. */
export interface OrtModule {
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: {
    create(bytes: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  env: { versions?: Record<string, string>; wasm?: Record<string, unknown> };
}

/** Loads one ONNX Runtime build (ort-web: SIMD, one thread, no proxy worker). */
export async function loadOrt(flavor: OrtFlavor): Promise<OrtModule> {
  if (flavor === "ort-node") {
    return (await import("onnxruntime-node")) as unknown as OrtModule;
  }
  const ort = (await import("onnxruntime-web")) as unknown as OrtModule;
  const wasm = ort.env.wasm!;
  // The package's own dist/ folder holds ort-wasm-simd-threaded.{mjs,wasm}.
  wasm.wasmPaths = new URL("./", import.meta.resolve("onnxruntime-web")).href;
  wasm.numThreads = 1;
  wasm.simd = true;
  wasm.proxy = false;
  return ort;
}

/** The version string each ONNX Runtime package reports (for the report). */
export async function ortVersion(flavor: OrtFlavor): Promise<string> {
  const ort = await loadOrt(flavor);
  const v = ort.env.versions ?? {};
  return v[flavor === "ort-node" ? "node" : "web"] ?? v.common ?? "unknown";
}

/** Session options of one build: one thread, sequential, every graph optimization. */
export function ortSessionOptions(flavor: OrtFlavor): Record<string, unknown> {
  return flavor === "ort-node"
    ? {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    }
    : { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
}

/**
 * Loads ONNX bytes into one ONNX Runtime build and returns a runner taking
 * NCHW input (ONNX's layout, so {@link Runner.prepare} is the identity).
 */
export async function ortRunner(
  flavor: OrtFlavor,
  onnxBytes: Uint8Array,
  inputShape: readonly number[],
): Promise<Runner> {
  const ort = await loadOrt(flavor);
  const session = await ort.InferenceSession.create(onnxBytes, ortSessionOptions(flavor));
  if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
    throw new TypeError(
      `The ONNX model has inputs [${session.inputNames.join(", ")}] and outputs [${
        session.outputNames.join(", ")
      }], expected one of each`,
    );
  }
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const dims = [...inputShape];
  return {
    name: flavor,
    prepare: (input) => input,
    run: async (prepared) => {
      const out = await session.run({ [inputName]: new ort.Tensor("float32", prepared, dims) });
      const data = out[outputName].data;
      if (!(data instanceof Float32Array)) {
        throw new TypeError(`${flavor} returned "${outputName}" as a non-float32 tensor`);
      }
      return data;
    },
    dispose: () => session.release(),
  };
}
