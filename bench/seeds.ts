/**
 * Seeds of the benchmark's weights and input: the same network and input on
 * every run, machine and worker.
 *
 * @module
 */

/** Seed of `randomWeights` for every benchmarked network. */
export const WEIGHT_SEED = 1;
/** Seed of `randomInput` for every benchmarked network. */
export const INPUT_SEED = 2;
