/**
 * The block library: the building blocks of the six families, written on top
 * of {@link GraphBuilder}. Each block opens one scope marked `kind: "block"`
 * with a `type`, and names its nodes like the PyTorch module it mirrors, so a
 * node's name is torchvision's module path and its weights are torchvision's
 * state_dict keys (`features.3.conv.1.0.weight`). Nodes that are functions in
 * PyTorch (concat, split, add, mul, channel shuffle) get fixed, readable names
 * (`concat`, `split1`, `add`, `mul`, `shuffle`).
 *
 * A block built inside another block is not marked again, so per-block sums
 * never count a node twice (a MobileNetV3 `bneck` is one block; its
 * squeeze-excite and conv-BN-activation children are parts of it).
 *
 * Sources: torchvision/models/squeezenet.py (Fire), mobilenetv2.py and
 * mobilenetv3.py (InvertedResidual), ops/misc.py (Conv2dNormActivation,
 * SqueezeExcitation), shufflenetv2.py (InvertedResidual); MobileNet V1 paper
 * Fig. 3 (depthwise separable); ShuffleNet V1 paper Fig. 2 and
 * megvii-model/ShuffleNet-Series ShuffleNetV1/blocks.py.
 *
 * @module
 */

import type { GraphBuilder, Tensor } from "./builder.ts";
import type { ScopeKind } from "./graph.ts";

/** Activations a block can end a conv-BN pair with; `none` leaves it linear. */
export type Activation = "relu" | "relu6" | "hardswish" | "none";

/**
 * torchvision's `_make_divisible`: rounds `v` to the nearest multiple of
 * `divisor` (at least `minValue`), never going more than 10% below `v`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeDivisible } from "./blocks.ts";
 * assert.equal(makeDivisible(32 * 0.35, 8), 16); // 11.2 rounds to 8, < 0.9 * 11.2, so 16
 * assert.equal(makeDivisible(960 / 4, 8), 240);
 * ```
 */
export function makeDivisible(v: number, divisor: number, minValue = divisor): number {
  let out = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

const blockDepth = new WeakMap<GraphBuilder, number>();

/**
 * Runs `fn` in a scope that is marked as a block of `type`, unless it is
 * nested inside another block (then the scope is a plain module path).
 */
function block<T>(b: GraphBuilder, name: string | undefined, type: string, fn: () => T): T {
  const depth = blockDepth.get(b) ?? 0;
  blockDepth.set(b, depth + 1);
  try {
    const kind: ScopeKind | undefined = depth === 0 ? "block" : undefined;
    return b.scope(name, fn, kind, kind ? type : undefined);
  } finally {
    blockDepth.set(b, depth);
  }
}

/**
 * Marks stages over children that PyTorch numbers flat (`features.0`,
 * `features.1`, ...): consecutive children whose outputs share a spatial
 * resolution form one stage. `outputs` are the children's output tensors, in
 * order, all direct children of the current scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { markStagesByResolution } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 3, 16, 16]);
 * b.scope("features", () => {
 *   const a = b.conv2d(b.input, { out: 4, kernel: 3, stride: 2 });
 *   const c = b.conv2d(a, { out: 4, kernel: 3 });
 *   const d = b.conv2d(c, { out: 4, kernel: 3, stride: 2 });
 *   markStagesByResolution(b, [a, c, d]);
 * });
 * const g = b.build({ name: "features.2", shape: [1, 4, 4, 4] });
 * assert.deepEqual(g.scopes.map((s) => s.path), ["features.0-1", "features.2"]);
 * ```
 */
export function markStagesByResolution(b: GraphBuilder, outputs: readonly Tensor[]): void {
  const prefix = b.path === "" ? "" : `${b.path}.`;
  let run: string[] = [];
  let size = "";
  for (const t of outputs) {
    const child = t.name.slice(prefix.length).split(".")[0];
    const here = t.shape.length === 4 ? `${t.shape[2]}x${t.shape[3]}` : "flat";
    if (run.length > 0 && here !== size) {
      b.markStage(run);
      run = [];
    }
    if (run[run.length - 1] !== child) run.push(child);
    size = here;
  }
  if (run.length > 0) b.markStage(run);
}

/**
 * Runs `fn` in a scope marked as a network stage (`stage2` of ShuffleNet).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { convBnAct, stage } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 3, 8, 8]);
 * const y = stage(b, "stage2", () => convBnAct(b, b.input, { out: 4, kernel: 3 }));
 * const g = b.build(y);
 * assert.deepEqual(g.scopes.map((s) => `${s.kind} ${s.path}`), ["stage stage2", "block stage2.0"]);
 * ```
 */
export function stage<T>(b: GraphBuilder, name: string, fn: () => T): T {
  return b.scope(name, fn, "stage", "stage");
}

function activate(b: GraphBuilder, x: Tensor, act: Activation, name?: string): Tensor {
  switch (act) {
    case "relu":
      return b.relu(x, name);
    case "relu6":
      return b.relu6(x, name);
    case "hardswish":
      return b.hardswish(x, name);
    case "none":
      return x;
  }
}

/** Options of {@link convBnAct}. */
export interface ConvBnActOptions {
  out: number;
  kernel: number;
  stride?: number;
  groups?: number;
  dilation?: number;
  /** Default `relu`. */
  act?: Activation;
  /** BatchNorm epsilon; torchvision's default 1e-5, MobileNetV3 uses 1e-3. */
  bnEps?: number;
}

/**
 * torchvision's `Conv2dNormActivation`: conv (no bias, padding
 * `(kernel - 1) / 2 * dilation`), BatchNorm, activation, as Sequential
 * children `0`, `1`, `2`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { convBnAct } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 3, 224, 224]);
 * const y = b.scope("features", () => convBnAct(b, b.input, { out: 32, kernel: 3, stride: 2, act: "relu6" }));
 * assert.deepEqual(y.shape, [1, 32, 112, 112]);
 * assert.deepEqual(b.build(y).nodes.map((n) => n.name), ["features.0.0", "features.0.1", "features.0.2"]);
 * ```
 */
export function convBnAct(
  b: GraphBuilder,
  x: Tensor,
  o: ConvBnActOptions,
  name?: string,
): Tensor {
  return block(b, name, "conv_bn_act", () => {
    const dilation = o.dilation ?? 1;
    let y = b.conv2d(x, {
      out: o.out,
      kernel: o.kernel,
      stride: o.stride ?? 1,
      padding: ((o.kernel - 1) >> 1) * dilation,
      dilation,
      groups: o.groups ?? 1,
    });
    y = b.batchNorm(y, undefined, o.bnEps ?? 1e-5);
    return activate(b, y, o.act ?? "relu");
  });
}

/** Channel counts of a SqueezeNet Fire module. */
export interface FireOptions {
  squeeze: number;
  expand1x1: number;
  expand3x3: number;
}

/**
 * SqueezeNet's Fire module (torchvision `Fire`): a 1x1 squeeze conv, then 1x1
 * and 3x3 expand convs whose outputs are concatenated. Every conv has a bias
 * and a ReLU.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { fire } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 96, 54, 54]);
 * const y = fire(b, b.input, { squeeze: 16, expand1x1: 64, expand3x3: 64 }, "fire2");
 * assert.deepEqual(y.shape, [1, 128, 54, 54]);
 * assert.equal(y.name, "fire2.concat");
 * ```
 */
export function fire(b: GraphBuilder, x: Tensor, o: FireOptions, name?: string): Tensor {
  return block(b, name, "fire", () => {
    let s = b.conv2d(x, { out: o.squeeze, kernel: 1, bias: true }, "squeeze");
    s = b.relu(s, "squeeze_activation");
    let e1 = b.conv2d(s, { out: o.expand1x1, kernel: 1, bias: true }, "expand1x1");
    e1 = b.relu(e1, "expand1x1_activation");
    let e3 = b.conv2d(s, { out: o.expand3x3, kernel: 3, padding: 1, bias: true }, "expand3x3");
    e3 = b.relu(e3, "expand3x3_activation");
    return b.concat([e1, e3], "concat");
  });
}

/** Options of {@link depthwiseSeparable}. */
export interface DepthwiseSeparableOptions {
  out: number;
  stride?: number;
}

/**
 * MobileNet V1's depthwise separable convolution (paper Fig. 3): a 3x3
 * depthwise conv-BN-ReLU (`dw.0..2`) and a 1x1 pointwise conv-BN-ReLU
 * (`pw.0..2`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { depthwiseSeparable } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 32, 112, 112]);
 * const y = depthwiseSeparable(b, b.input, { out: 64 }, "features.1");
 * assert.deepEqual(y.shape, [1, 64, 112, 112]);
 * assert.equal(y.name, "features.1.pw.2");
 * ```
 */
export function depthwiseSeparable(
  b: GraphBuilder,
  x: Tensor,
  o: DepthwiseSeparableOptions,
  name?: string,
): Tensor {
  return block(b, name, "depthwise_separable", () => {
    const c = x.shape[1];
    const y = convBnAct(b, x, { out: c, kernel: 3, stride: o.stride ?? 1, groups: c }, "dw");
    return convBnAct(b, y, { out: o.out, kernel: 1 }, "pw");
  });
}

/** Options of {@link invertedResidual}. */
export interface InvertedResidualOptions {
  out: number;
  stride: number;
  expandRatio: number;
}

/**
 * MobileNetV2's inverted residual (torchvision `InvertedResidual`, Sequential
 * `conv`): 1x1 expand conv-BN-ReLU6 (absent when the ratio is 1), 3x3
 * depthwise conv-BN-ReLU6, linear 1x1 projection and BN; a residual `add`
 * when the stride is 1 and the channels match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { invertedResidual } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 24, 56, 56]);
 * const y = invertedResidual(b, b.input, { out: 24, stride: 1, expandRatio: 6 }, "features.3");
 * const g = b.build(y);
 * assert.deepEqual(g.nodes.map((n) => n.name).slice(-3), ["features.3.conv.2", "features.3.conv.3", "features.3.add"]);
 * assert.equal(g.nodes[0].name, "features.3.conv.0.0");
 * ```
 */
export function invertedResidual(
  b: GraphBuilder,
  x: Tensor,
  o: InvertedResidualOptions,
  name?: string,
): Tensor {
  return block(b, name, "inverted_residual", () => {
    const inp = x.shape[1];
    // torchvision: hidden_dim = int(round(inp * expand_ratio)).
    const hidden = Math.round(inp * o.expandRatio);
    const y = b.scope("conv", () => {
      let y = x;
      if (o.expandRatio !== 1) y = convBnAct(b, y, { out: hidden, kernel: 1, act: "relu6" });
      y = convBnAct(b, y, {
        out: hidden,
        kernel: 3,
        stride: o.stride,
        groups: hidden,
        act: "relu6",
      });
      y = b.conv2d(y, { out: o.out, kernel: 1 });
      return b.batchNorm(y);
    });
    return o.stride === 1 && inp === o.out ? b.addTensors(x, y, "add") : y;
  });
}

/** Options of {@link squeezeExcite}. */
export interface SqueezeExciteOptions {
  /** Channels of the bottleneck (torchvision: `make_divisible(C // 4, 8)` in MobileNetV3). */
  squeeze: number;
}

/**
 * Squeeze-and-excitation (torchvision `ops.misc.SqueezeExcitation` as
 * MobileNetV3 uses it): global average pool, 1x1 conv `fc1` with bias, ReLU,
 * 1x1 conv `fc2` with bias, hard-sigmoid gate, then `mul` scales the input
 * channel-wise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { squeezeExcite } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 72, 28, 28]);
 * const y = squeezeExcite(b, b.input, { squeeze: 24 }, "se");
 * const g = b.build(y);
 * assert.deepEqual(g.nodes.map((n) => n.name), [
 *   "se.avgpool", "se.fc1", "se.activation", "se.fc2", "se.scale_activation", "se.mul",
 * ]);
 * assert.deepEqual(y.shape, [1, 72, 28, 28]);
 * ```
 */
export function squeezeExcite(
  b: GraphBuilder,
  x: Tensor,
  o: SqueezeExciteOptions,
  name?: string,
): Tensor {
  return block(b, name, "squeeze_excite", () => {
    const c = x.shape[1];
    let s = b.globalAvgPool(x, "avgpool");
    s = b.conv2d(s, { out: o.squeeze, kernel: 1, bias: true }, "fc1");
    s = b.relu(s, "activation");
    s = b.conv2d(s, { out: c, kernel: 1, bias: true }, "fc2");
    s = b.hardsigmoid(s, "scale_activation");
    return b.mul(x, s, "mul");
  });
}

/** One row of MobileNetV3's Tables 1 and 2 (torchvision `InvertedResidualConfig`). */
export interface BneckOptions {
  kernel: number;
  expanded: number;
  out: number;
  se: boolean;
  act: "relu" | "hardswish";
  stride: number;
  dilation?: number;
  /** BatchNorm epsilon; torchvision's MobileNetV3 uses 0.001. */
  bnEps?: number;
}

/**
 * MobileNetV3's bottleneck (torchvision mobilenetv3 `InvertedResidual`,
 * Sequential `block`): 1x1 expand conv-BN-act (absent when `expanded` equals
 * the input channels), kxk depthwise conv-BN-act, optional squeeze-excite with
 * `make_divisible(expanded // 4, 8)` squeeze channels, 1x1 projection conv-BN;
 * a residual `add` when the stride is 1 and the channels match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { bneck } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 24, 56, 56]);
 * const y = bneck(b, b.input, { kernel: 5, expanded: 72, out: 40, se: true, act: "relu", stride: 2 }, "features.4");
 * assert.deepEqual(y.shape, [1, 40, 28, 28]);
 * const g = b.build(y);
 * assert.ok(g.nodes.some((n) => n.name === "features.4.block.2.fc1"));
 * assert.deepEqual(g.scopes, [{ path: "features.4", kind: "block", type: "bneck" }]);
 * ```
 */
export function bneck(b: GraphBuilder, x: Tensor, o: BneckOptions, name?: string): Tensor {
  return block(b, name, "bneck", () => {
    const inp = x.shape[1];
    const bnEps = o.bnEps ?? 1e-3;
    const y = b.scope("block", () => {
      let y = x;
      if (o.expanded !== inp) {
        y = convBnAct(b, y, { out: o.expanded, kernel: 1, act: o.act, bnEps });
      }
      const dilation = o.dilation ?? 1;
      y = convBnAct(b, y, {
        out: o.expanded,
        kernel: o.kernel,
        // torchvision: a dilated depthwise conv keeps stride 1.
        stride: dilation > 1 ? 1 : o.stride,
        dilation,
        groups: o.expanded,
        act: o.act,
        bnEps,
      });
      if (o.se) y = squeezeExcite(b, y, { squeeze: makeDivisible(Math.floor(o.expanded / 4), 8) });
      return convBnAct(b, y, { out: o.out, kernel: 1, act: "none", bnEps });
    });
    return o.stride === 1 && inp === o.out ? b.addTensors(y, x, "add") : y;
  });
}

/** Options of {@link shuffleV1Unit}. */
export interface ShuffleV1UnitOptions {
  /** Output channels of the unit (the concat's at stride 2). */
  out: number;
  stride: 1 | 2;
  groups: number;
  /** Bottleneck channels (paper: out / 4). */
  mid: number;
  /** Group the first 1x1 conv; the paper's stage 2 leaves it ungrouped (`false`). */
  groupFirst?: boolean;
}

/**
 * ShuffleNet V1 unit (paper Fig. 2b/2c; names follow megvii-model
 * ShuffleNet-Series ShuffleNetV1/blocks.py): 1x1 group conv-BN-ReLU
 * (`branch_main_1.0..2`), channel `shuffle` (omitted when groups = 1), 3x3
 * depthwise conv-BN with no ReLU (`branch_main_1.3..4`), 1x1 group conv-BN
 * (`branch_main_2.0..1`). At stride 1 the input is added back (`add`), at
 * stride 2 the main branch makes `out - in` channels and is concatenated after
 * a 3x3/s2 average pool of the input (`branch_proj`, `concat`); a ReLU
 * (`relu`) ends the unit.
 *
 * The paper shuffles right after the first group conv; megvii's code shuffles
 * after the depthwise conv and uses the inverse permutation. Neither changes
 * a shape or a cost; we follow the paper.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { shuffleV1Unit } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 240, 28, 28]);
 * const y = shuffleV1Unit(b, b.input, { out: 480, stride: 2, groups: 3, mid: 120 }, "stage3.0");
 * assert.deepEqual(y.shape, [1, 480, 14, 14]);
 * assert.equal(y.name, "stage3.0.relu");
 * ```
 */
export function shuffleV1Unit(
  b: GraphBuilder,
  x: Tensor,
  o: ShuffleV1UnitOptions,
  name?: string,
): Tensor {
  return block(b, name, "shufflenetv1_unit", () => {
    const inp = x.shape[1];
    const mainOut = o.stride === 2 ? o.out - inp : o.out;
    let y = b.scope("branch_main_1", () => {
      let y = b.conv2d(x, { out: o.mid, kernel: 1, groups: o.groupFirst === false ? 1 : o.groups });
      y = b.batchNorm(y);
      return b.relu(y);
    });
    if (o.groups > 1) y = b.channelShuffle(y, o.groups, "shuffle");
    y = b.scope("branch_main_1", () => {
      // Continue the Sequential's numbering after the shuffle: children 3 and 4.
      y = b.conv2d(y, { out: o.mid, kernel: 3, stride: o.stride, groups: o.mid }, "3");
      return b.batchNorm(y, "4");
    });
    y = b.scope("branch_main_2", () => {
      const z = b.conv2d(y, { out: mainOut, kernel: 1, groups: o.groups });
      return b.batchNorm(z);
    });
    if (o.stride === 2) {
      const proj = b.avgPool(x, { kernel: 3, stride: 2, padding: 1 }, "branch_proj");
      return b.relu(b.concat([proj, y], "concat"), "relu");
    }
    return b.relu(b.addTensors(y, x, "add"), "relu");
  });
}

/** Options of {@link shuffleV2Unit}. */
export interface ShuffleV2UnitOptions {
  out: number;
  stride: 1 | 2;
}

function shuffleV2Branch(b: GraphBuilder, x: Tensor, out: number, stride: number): Tensor {
  // torchvision branch2: 1x1 conv-BN-ReLU, 3x3 depthwise conv-BN, 1x1 conv-BN-ReLU.
  let y = b.relu(b.batchNorm(b.conv2d(x, { out, kernel: 1 })));
  y = b.batchNorm(b.conv2d(y, { out, kernel: 3, stride, groups: out }));
  return b.relu(b.batchNorm(b.conv2d(y, { out, kernel: 1 })));
}

/**
 * ShuffleNet V2 unit (torchvision shufflenetv2 `InvertedResidual`). At stride
 * 1 the input is split in two halves (`split1`, `split2`); the first passes
 * through, the second goes through `branch2` (1x1 conv-BN-ReLU, 3x3 depthwise
 * conv-BN, 1x1 conv-BN-ReLU). At stride 2 both branches read the whole input;
 * `branch1` is a 3x3/s2 depthwise conv-BN and a 1x1 conv-BN-ReLU. The halves
 * are concatenated (`concat`) and shuffled with 2 groups (`shuffle`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./builder.ts";
 * import { shuffleV2Unit } from "./blocks.ts";
 * const b = new GraphBuilder("t", [1, 116, 28, 28]);
 * const y = shuffleV2Unit(b, b.input, { out: 116, stride: 1 }, "stage2.1");
 * const g = b.build(y);
 * assert.deepEqual(g.nodes.map((n) => n.name).filter((n) => !n.includes("branch")), [
 *   "stage2.1.split1", "stage2.1.split2", "stage2.1.concat", "stage2.1.shuffle",
 * ]);
 * assert.ok(g.nodes.some((n) => n.name === "stage2.1.branch2.3"));
 * ```
 */
export function shuffleV2Unit(
  b: GraphBuilder,
  x: Tensor,
  o: ShuffleV2UnitOptions,
  name?: string,
): Tensor {
  return block(b, name, "shufflenetv2_unit", () => {
    const inp = x.shape[1];
    const half = o.out >> 1;
    let left: Tensor;
    let right: Tensor;
    if (o.stride === 1) {
      if (inp !== 2 * half) {
        throw new RangeError(
          `Invalid ShuffleNet V2 unit "${b.path}": at stride 1 the input needs ${
            2 * half
          } channels, got ${inp}`,
        );
      }
      left = b.split(x, 0, half, "split1");
      const x2 = b.split(x, half, half, "split2");
      right = b.scope("branch2", () => shuffleV2Branch(b, x2, half, 1));
    } else {
      left = b.scope("branch1", () => {
        const y = b.batchNorm(b.conv2d(x, { out: inp, kernel: 3, stride: o.stride, groups: inp }));
        return b.relu(b.batchNorm(b.conv2d(y, { out: half, kernel: 1 })));
      });
      right = b.scope("branch2", () => shuffleV2Branch(b, x, half, o.stride));
    }
    return b.channelShuffle(b.concat([left, right], "concat"), 2, "shuffle");
  });
}
