/**
 * lightnets' interop entry point (`@lightnets/lightnets/interop`): ONNX
 * export and import, TensorFlow.js `model.json` reading, safetensors
 * state_dicts, and image inputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportOnnx, importOnnx } from "./mod.ts";
 * import { zoo } from "../mod.ts";
 * import { randomWeights } from "../lib/runtime/weights.ts";
 * const g = zoo.build("shufflenetv2", { width: 0.5, resolution: 64 });
 * const bytes = exportOnnx(g, randomWeights(g, 0));
 * const { graph } = importOnnx(bytes, { inputShape: [1, 3, 64, 64] });
 * assert.equal(graph.nodes.length > 0, true);
 * ```
 *
 * @module
 */

export { EXPORT_OPSET, exportOnnx, type ExportOptions } from "./onnx_export.ts";
export {
  importOnnx,
  type ImportOptions,
  type ImportResult,
  InputShapeError,
  OnnxImportError,
} from "./onnx_import.ts";
export { OnnxFormatError } from "./onnx_proto.ts";
export { readSafetensors, writeSafetensors } from "./safetensors.ts";
export {
  decodeImage,
  DEFAULT_MAX_PIXELS,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ImageOptions,
  imageSize,
  imageToTensor,
  loadImageTensor,
  parseLabels,
  topClasses,
} from "./image.ts";
export {
  importTfjs,
  isTfjsJson,
  readTfjsModel,
  TfjsImportError,
  TfjsInputShapeError,
  type TfjsOptions,
} from "./tfjs_model.ts";
export type { TfjsImport } from "./tfjs_ir.ts";
