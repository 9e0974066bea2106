/**
 * Knob specs shared by the model families (`--resolution`, `--classes`,
 * `--width`), and the input shape they give.
 *
 * @module
 */

import type { Shape } from "../ir/ops.ts";
import type { Knobs, KnobSpec } from "./registry.ts";

/** Largest accepted `--resolution`: keeps every figure a small exact integer. */
export const MAX_RESOLUTION = 4096;

/**
 * `--resolution` (input height = width), an integer from `min` (the smallest
 * input for which every layer of the model still has a valid shape).
 */
export function resolutionKnob(min: number, published?: readonly number[]): KnobSpec {
  return {
    name: "resolution",
    description: "input height and width in pixels",
    type: "number",
    default: 224,
    integer: true,
    min,
    max: MAX_RESOLUTION,
    ...(published ? { published } : {}),
  };
}

/** `--classes`, the classifier's output size. */
export const classesKnob: KnobSpec = {
  name: "classes",
  description: "number of output classes",
  type: "number",
  default: 1000,
  integer: true,
  min: 1,
  max: 100_000,
};

/** The `[1, 3, r, r]` input of a model built with these knobs. */
export function inputShape(knobs: Knobs): Shape {
  const r = knobs.resolution as number;
  return [1, 3, r, r];
}
