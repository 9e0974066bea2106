/**
 * The op catalog as the IR sees it: the op kinds and their attrs types
 * (lib/ops/core.ts) and the entry points into the op table
 * (lib/ops/table.ts): shape rule, attribute checks, parameter tensors. Each
 * op kind is one record in lib/ops/; every other stage (cost, symbolic cost,
 * reference executor, codegen emitters, ONNX interop) is keyed by
 * {@link OpKind}, so an op added there and forgotten elsewhere is a type error.
 *
 * @module
 */

export * from "../ops/core.ts";
export {
  checkAttrs,
  inferNodeShape,
  OP_KINDS,
  opDef,
  paramSpecs,
  UNARY_ELEMENTWISE,
} from "../ops/table.ts";
