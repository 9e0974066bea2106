/**
 * Our definitions of the torchvision models must have torchvision's exact
 * parameter count (weights + biases + BatchNorm gamma/beta; running stats are
 * buffers and do not count), and its GFLOPS figure, which counts conv and
 * linear multiply-adds only (our MAdds), to the three decimals it prints.
 *
 * Source of every number: the `meta` of the weights enums in pytorch/vision
 * torchvision/models/*.py (`"num_params"` and `"_ops"`), e.g.
 * `SqueezeNet1_0_Weights.IMAGENET1K_V1.meta["num_params"] == 1248424`.
 */

import assert from "node:assert/strict";
import { inferShapes } from "../lib/analysis/shapes.ts";
import { estimateCost, sumCosts } from "../lib/analysis/cost.ts";
import { zoo } from "../lib/models/zoo.ts";

const TORCHVISION: Array<{ name: string; numParams: number; gflops: number; file: string }> = [
  // torchvision/models/squeezenet.py SqueezeNet1_0_Weights / SqueezeNet1_1_Weights
  { name: "squeezenet1_0", numParams: 1_248_424, gflops: 0.819, file: "squeezenet.py" },
  { name: "squeezenet1_1", numParams: 1_235_496, gflops: 0.349, file: "squeezenet.py" },
  // torchvision/models/mobilenetv2.py MobileNet_V2_Weights (_COMMON_META)
  { name: "mobilenet_v2", numParams: 3_504_872, gflops: 0.301, file: "mobilenetv2.py" },
  // torchvision/models/mobilenetv3.py MobileNet_V3_Large_Weights / MobileNet_V3_Small_Weights
  { name: "mobilenet_v3_large", numParams: 5_483_032, gflops: 0.217, file: "mobilenetv3.py" },
  { name: "mobilenet_v3_small", numParams: 2_542_856, gflops: 0.057, file: "mobilenetv3.py" },
  // torchvision/models/shufflenetv2.py ShuffleNet_V2_X*_Weights
  { name: "shufflenet_v2_x0_5", numParams: 1_366_792, gflops: 0.04, file: "shufflenetv2.py" },
  { name: "shufflenet_v2_x1_0", numParams: 2_278_604, gflops: 0.145, file: "shufflenetv2.py" },
  { name: "shufflenet_v2_x1_5", numParams: 3_503_624, gflops: 0.296, file: "shufflenetv2.py" },
  { name: "shufflenet_v2_x2_0", numParams: 7_393_996, gflops: 0.583, file: "shufflenetv2.py" },
];

function totals(name: string) {
  return sumCosts(estimateCost(inferShapes(zoo.build(name))));
}

for (const t of TORCHVISION) {
  Deno.test(`${t.name} has torchvision's num_params ${t.numParams} exactly`, () => {
    assert.equal(totals(t.name).params.total, t.numParams);
  });
  Deno.test(`${t.name} has torchvision's ${t.gflops} GFLOPS (conv + linear MAdds)`, () => {
    const decimals = String(t.gflops).split(".")[1].length;
    const gmadds = totals(t.name).madds / 1e9;
    assert.ok(
      Math.abs(gmadds - t.gflops) <= 0.5 * 10 ** -decimals,
      `${gmadds} GMAdds does not round to ${t.gflops} (${t.file})`,
    );
  });
}
