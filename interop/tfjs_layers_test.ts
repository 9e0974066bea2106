/**
 * Layers models built with tfjs-layers itself, saved through its own IO
 * handler, read back by lightnets and run against tfjs's prediction.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import { analyze } from "../lib/analysis/report.ts";
import { compile, loadModule } from "../codegen/compile.ts";
import { CodegenError } from "../codegen/plan.ts";
import { mulberry32 } from "../lib/runtime/weights.ts";
import { runReference } from "../lib/runtime/reference.ts";
import { maxAbs, maxAbsDiff } from "../lib/runtime/tensor.ts";
import { importTfjs } from "./tfjs_model.ts";
import { importLayersModel } from "./tfjs_layers.ts";

await tf.setBackend("cpu");

/** Deterministic weights: kernels uniform in +-sqrt(3 / fan_in), BN stats away from identity. */
function fillWeights(model: tfl.LayersModel, seed: number): void {
  const rand = mulberry32(seed);
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const name = w.originalName ?? w.name;
    const data = new Float32Array(n);
    const fanIn = shape.length > 1 ? n / shape[shape.length - 1] : 1;
    for (let i = 0; i < n; i++) {
      const u = rand();
      if (/moving_variance|gamma/.test(name)) data[i] = 0.5 + u;
      else if (/moving_mean|beta|bias/.test(name)) data[i] = 0.2 * (u - 0.5);
      else if (/depthwise/.test(name)) {
        data[i] = (u - 0.5) * 2 * Math.sqrt(3 / (shape[0] * shape[1]));
      } else data[i] = (u - 0.5) * 2 * Math.sqrt(3 / fanIn);
    }
    w.write(tf.tensor(data, shape));
  }
}

/** Saves `model` through tfjs's IO handler and returns the model.json object and its one shard. */
async function saveLayers(model: tfl.LayersModel): Promise<{ json: unknown; bin: Uint8Array }> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    saved = artifacts;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const a = saved!;
  const data = a.weightData instanceof ArrayBuffer
    ? a.weightData
    : tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]);
  const json = {
    format: "layers-model",
    generatedBy: "TensorFlow.js tfjs-layers v4.22.0",
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ["weights.bin"], weights: a.weightSpecs }],
  };
  // Through text, as it lands on disk.
  return { json: JSON.parse(JSON.stringify(json)), bin: new Uint8Array(data) };
}

const bnRelu6 = (x: tfl.SymbolicTensor, name: string) => {
  const bn = tfl.layers.batchNormalization({ name: `${name}_BN`, epsilon: 1e-3 }).apply(x);
  return tfl.layers.reLU({ name: `${name}_relu`, maxValue: 6 }).apply(bn) as tfl.SymbolicTensor;
};

/** A MobileNetV2-style network as Keras writes it: ZeroPadding2D before strided depthwise convs. */
function mobilenetV2Style(): tfl.LayersModel {
  const input = tfl.input({ shape: [32, 32, 3], name: "input_1" });
  let x = tfl.layers.conv2d({
    filters: 16,
    kernelSize: 3,
    strides: 2,
    padding: "same",
    useBias: false,
    name: "Conv1",
  }).apply(input) as tfl.SymbolicTensor;
  x = bnRelu6(x, "Conv1");
  const block = (x: tfl.SymbolicTensor, i: number, out: number, stride: number, expand: number) => {
    const cin = x.shape[3]!;
    const p = `block_${i}`;
    let y = tfl.layers.conv2d({
      filters: cin * expand,
      kernelSize: 1,
      useBias: false,
      name: `${p}_expand`,
    }).apply(x) as tfl.SymbolicTensor;
    y = bnRelu6(y, `${p}_expand`);
    if (stride === 2) {
      y = tfl.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: `${p}_pad` })
        .apply(y) as tfl.SymbolicTensor;
    }
    y = tfl.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: stride,
      padding: stride === 2 ? "valid" : "same",
      useBias: false,
      name: `${p}_depthwise`,
    }).apply(y) as tfl.SymbolicTensor;
    y = bnRelu6(y, `${p}_depthwise`);
    y = tfl.layers.conv2d({ filters: out, kernelSize: 1, useBias: false, name: `${p}_project` })
      .apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.batchNormalization({ name: `${p}_project_BN`, epsilon: 1e-3 })
      .apply(y) as tfl.SymbolicTensor;
    if (stride === 1 && cin === out) {
      y = tfl.layers.add({ name: `${p}_add` }).apply([x, y]) as tfl.SymbolicTensor;
    }
    return y;
  };
  x = block(x, 1, 16, 1, 1);
  x = block(x, 2, 24, 2, 6);
  x = block(x, 3, 24, 1, 6);
  x = tfl.layers.conv2d({ filters: 64, kernelSize: 1, useBias: false, name: "Conv_1" })
    .apply(x) as tfl.SymbolicTensor;
  x = bnRelu6(x, "Conv_1");
  x = tfl.layers.globalAveragePooling2d({ name: "global_average_pooling2d" }).apply(
    x,
  ) as tfl.SymbolicTensor;
  x = tfl.layers.dropout({ rate: 0.2, name: "dropout" }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 10, activation: "softmax", name: "predictions" })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: "mobilenetv2_style" });
}

/** A ShuffleNet-style network: channel shuffle as Reshape-Permute-Reshape, avg-pool shortcut. */
function shufflenetStyle(): tfl.LayersModel {
  const input = tfl.input({ shape: [32, 32, 3], name: "image" });
  const relu = (x: tfl.SymbolicTensor, name: string) =>
    tfl.layers.activation({ activation: "relu", name }).apply(x) as tfl.SymbolicTensor;
  const bn = (x: tfl.SymbolicTensor, name: string) =>
    tfl.layers.batchNormalization({ name }).apply(x) as tfl.SymbolicTensor;
  let x = tfl.layers.conv2d({
    filters: 24,
    kernelSize: 3,
    strides: 2,
    padding: "same",
    name: "conv1",
  })
    .apply(input) as tfl.SymbolicTensor;
  x = relu(bn(x, "conv1_bn"), "conv1_relu");
  x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same", name: "maxpool" })
    .apply(x) as tfl.SymbolicTensor;
  const unit = (
    x: tfl.SymbolicTensor,
    name: string,
    out: number,
    stride: number,
    groups: number,
  ) => {
    const [h, w, c] = [x.shape[1]!, x.shape[2]!, x.shape[3]!];
    const mid = out / 4;
    const branchOut = stride === 2 ? out - c : out;
    let y = tfl.layers.conv2d({
      filters: mid,
      kernelSize: 1,
      useBias: false,
      name: `${name}_gconv1`,
    })
      .apply(x) as tfl.SymbolicTensor;
    y = relu(bn(y, `${name}_bn1`), `${name}_relu1`);
    y = tfl.layers.reshape({
      targetShape: [h, w, groups, mid / groups],
      name: `${name}_shuffle_reshape1`,
    })
      .apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.permute({ dims: [1, 2, 4, 3], name: `${name}_shuffle_permute` })
      .apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.reshape({ targetShape: [h, w, mid], name: `${name}_shuffle_reshape2` })
      .apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: stride,
      padding: "same",
      useBias: false,
      name: `${name}_dwconv`,
    }).apply(y) as tfl.SymbolicTensor;
    y = bn(y, `${name}_bn2`);
    y = tfl.layers.conv2d({
      filters: branchOut,
      kernelSize: 1,
      useBias: false,
      name: `${name}_gconv2`,
    })
      .apply(y) as tfl.SymbolicTensor;
    y = bn(y, `${name}_bn3`);
    if (stride === 2) {
      const s = tfl.layers.averagePooling2d({
        poolSize: 3,
        strides: 2,
        padding: "same",
        name: `${name}_shortcut`,
      }).apply(x) as tfl.SymbolicTensor;
      return relu(
        tfl.layers.concatenate({ axis: -1, name: `${name}_concat` }).apply([
          s,
          y,
        ]) as tfl.SymbolicTensor,
        `${name}_relu_out`,
      );
    }
    return relu(
      tfl.layers.add({ name: `${name}_add` }).apply([x, y]) as tfl.SymbolicTensor,
      `${name}_relu_out`,
    );
  };
  x = unit(x, "stage2_0", 48, 2, 2);
  x = unit(x, "stage2_1", 48, 1, 2);
  x = tfl.layers.globalAveragePooling2d({ name: "gap" }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 10, name: "fc" }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: "shufflenet_style" });
}

/**
 * MAdds from tfjs's own layer shapes, counted independently of the IR:
 * Conv2D: output elements x kh x kw x Cin; DepthwiseConv2D: output elements
 * x kh x kw; SeparableConv2D: both; Dense: inputs x units.
 */
function tfjsMadds(model: tfl.LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const out = layer.outputShape as number[];
    const inShape = layer.inputSpec ? (layer.input as tfl.SymbolicTensor).shape : [];
    const elems = out.slice(1).reduce((a, b) => a * (b ?? 1), 1);
    const cfg = layer.getConfig() as Record<string, number[] | number>;
    const k = cfg.kernelSize as number[];
    const cls = layer.getClassName();
    if (cls === "Conv2D") total += elems * k[0] * k[1] * (inShape[3] as number);
    else if (cls === "DepthwiseConv2D") total += elems * k[0] * k[1];
    else if (cls === "Dense") total += (inShape[1] as number) * (cfg.units as number);
  }
  return total;
}

/** Whether the IR has the op kinds the readers emit for an NHWC model. */

for (
  const [name, build, seed] of [
    ["MobileNetV2-style", mobilenetV2Style, 11],
    ["ShuffleNet-style", shufflenetStyle, 12],
  ] as const
) {
  Deno.test({
    name: `tfjs layers: a ${name} model saved by tfjs-layers agrees with tfjs's prediction`,
    async fn() {
      const model = build();
      fillWeights(model, seed);
      const { json, bin } = await saveLayers(model);
      const { graph, weights } = importTfjs(json, [[bin]], `${name}/model.json`);
      const rand = mulberry32(7);
      const input = Float32Array.from({ length: 32 * 32 * 3 }, () => rand() * 2 - 1);
      const expected = (model.predict(tf.tensor(input, [1, 32, 32, 3])) as tf.Tensor).dataSync();
      const actual = runReference(graph, weights, input);
      // 1e-4 of the largest tfjs output: float32 kernels summing in another order.
      assert.ok(maxAbsDiff(actual, expected) <= 1e-4 * maxAbs(expected));
      assert.equal(analyze(graph).totals.madds, tfjsMadds(model));
    },
  });
}

for (
  const [name, build, seed] of [
    ["MobileNetV2-style", mobilenetV2Style, 11],
    ["ShuffleNet-style", shufflenetStyle, 12],
  ] as const
) {
  const model = build();
  fillWeights(model, seed);
  const { json, bin } = await saveLayers(model);
  const { graph, weights } = importTfjs(json, [[bin]], `${name}/model.json`);
  // Codegen gains kinds during development: a model it cannot compile yet says why in its title.
  let source: string | undefined;
  let blocker: string | undefined;
  try {
    source = compile(graph, weights).source;
  } catch (e) {
    if (!(e instanceof CodegenError)) throw e;
    blocker = e.message;
  }
  Deno.test({
    name: `tfjs layers: the generated module of the ${name} model agrees with tfjs${
      blocker ? ` [blocked: ${blocker}]` : ""
    }`,
    ignore: blocker !== undefined,
    async fn() {
      const rand = mulberry32(7);
      const input = Float32Array.from({ length: 32 * 32 * 3 }, () => rand() * 2 - 1);
      const expected = (model.predict(tf.tensor(input, [1, 32, 32, 3])) as tf.Tensor).dataSync();
      const m = await loadModule(source!);
      assert.ok(maxAbsDiff(m.infer(input), expected) <= 1e-4 * maxAbs(expected));
    },
  });
}

Deno.test({
  name: `tfjs layers: the channel shuffle's Reshape-Permute-Reshape becomes one channel_shuffle`,
  async fn() {
    const model = shufflenetStyle();
    const { json, bin } = await saveLayers(model);
    const { graph } = importTfjs(json, [[bin]], "m.json");
    const kinds: string[] = graph.nodes.map((n) => n.kind);
    assert.deepEqual(
      graph.nodes.filter((n) => n.kind === "channel_shuffle").map((n) => [n.name, n.attrs]),
      [["stage2_0.shuffle_reshape2", { groups: 2 }], ["stage2_1.shuffle_reshape2", { groups: 2 }]],
    );
    // Only the input and the output change layout: one transpose each, no reshape.
    assert.equal(kinds.filter((k) => k === "transpose").length, 1);
    assert.ok(!kinds.includes("reshape"));
  },
});

Deno.test("tfjs layers: an unsupported layer is named with its class and first layer", () => {
  const json = {
    format: "layers-model",
    modelTopology: {
      class_name: "Sequential",
      config: {
        name: "s",
        layers: [
          { class_name: "Dense", config: { name: "d", units: 2, batch_input_shape: [null, 4] } },
          { class_name: "LSTM", config: { name: "lstm_1" } },
          { class_name: "LSTM", config: { name: "lstm_2" } },
          { class_name: "Lambda", config: { name: "l" } },
        ],
      },
    },
  };
  assert.throws(
    () => importLayersModel(json, new Map(), { source: "m.json" }),
    /^TfjsImportError: Cannot import m\.json: unsupported Keras layer\(s\) LSTM \(first layer "lstm_1"\), Lambda \(first layer "l"\)$/,
  );
});

const sym = (l: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) =>
  l.apply(x) as tfl.SymbolicTensor;

/** Layers of every kind the reader converts, each with its options away from the defaults. */
const LAYER_CASES: [string, () => tfl.LayersModel][] = [
  ["Rescaling, Conv2D swish, SeparableConv2D hard_sigmoid, PReLU per position, ELU", () => {
    const input = tfl.input({ shape: [12, 12, 3], name: "in" });
    let x = sym(tfl.layers.rescaling({ scale: 1 / 127.5, offset: -1, name: "rescale" }), input);
    x = sym(
      tfl.layers.conv2d({
        filters: 6,
        kernelSize: 3,
        padding: "same",
        activation: "swish",
        name: "c1",
      }),
      x,
    );
    x = sym(
      tfl.layers.separableConv2d({
        filters: 8,
        kernelSize: 3,
        strides: 2,
        depthMultiplier: 2,
        padding: "same",
        activation: "hardSigmoid",
        name: "sep",
      }),
      x,
    );
    x = sym(tfl.layers.prelu({ name: "prelu" }), x);
    x = sym(tfl.layers.elu({ name: "elu" }), x);
    return tfl.model({ inputs: input, outputs: x });
  }],
  [
    "DepthwiseConv2D relu6 multiplier 2, LeakyReLU, pools, Maximum, Minimum, Average, Concatenate",
    () => {
      const input = tfl.input({ shape: [10, 10, 4], name: "in" });
      let x = sym(
        tfl.layers.depthwiseConv2d({
          kernelSize: 3,
          depthMultiplier: 2,
          activation: "relu6",
          name: "dw",
        }),
        input,
      );
      x = sym(tfl.layers.leakyReLU({ alpha: 0.1, name: "leaky" }), x);
      const a = sym(tfl.layers.maxPooling2d({ poolSize: 2, name: "maxp" }), x);
      const b = sym(tfl.layers.averagePooling2d({ poolSize: 2, name: "avgp" }), x);
      const mx = sym(tfl.layers.maximum({ name: "mx" }), [a, b]);
      const mn = sym(tfl.layers.minimum({ name: "mn" }), [a, b]);
      const av = sym(tfl.layers.average({ name: "av" }), [a, b, mx]);
      x = sym(tfl.layers.concatenate({ name: "cat" }), [mx, mn, av]);
      return tfl.model({ inputs: input, outputs: x });
    },
  ],
  [
    "Cropping2D, ZeroPadding2D before a valid conv, Multiply, GlobalMaxPooling2D, Dense tanh and softmax",
    () => {
      const input = tfl.input({ shape: [9, 9, 3], name: "in" });
      let x = sym(tfl.layers.cropping2D({ cropping: [[1, 0], [0, 1]], name: "crop" }), input);
      x = sym(tfl.layers.zeroPadding2d({ padding: 1, name: "zp" }), x);
      x = sym(tfl.layers.conv2d({ filters: 5, kernelSize: 3, useBias: false, name: "c" }), x);
      const s = sym(tfl.layers.activation({ activation: "sigmoid", name: "gate" }), x);
      x = sym(tfl.layers.multiply({ name: "mul" }), [x, s]);
      x = sym(tfl.layers.globalMaxPooling2d({ name: "gmp" }), x);
      x = sym(tfl.layers.dense({ units: 6, activation: "tanh", name: "d1" }), x);
      x = sym(tfl.layers.dense({ units: 3, activation: "softmax", name: "d2" }), x);
      return tfl.model({ inputs: input, outputs: x });
    },
  ],
  ["Reshape, Permute, Flatten, ReLU max_value, Softmax layer on a 3-D tensor", () => {
    const input = tfl.input({ shape: [4, 4, 6], name: "in" });
    let x = sym(tfl.layers.reLU({ maxValue: 0.5, name: "relu_half" }), input);
    x = sym(tfl.layers.reshape({ targetShape: [16, 6], name: "rs" }), x);
    x = sym(tfl.layers.permute({ dims: [2, 1], name: "perm" }), x);
    x = sym(tfl.layers.softmax({ axis: -1, name: "sm" }), x);
    x = sym(tfl.layers.flatten({ name: "flat" }), x);
    return tfl.model({ inputs: input, outputs: x });
  }],
  ["Conv2DTranspose same and valid, stride 2", () => {
    const input = tfl.input({ shape: [3, 4, 3], name: "in" });
    let x = sym(
      tfl.layers.conv2dTranspose({
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        name: "up1",
      }),
      input,
    );
    x = sym(
      tfl.layers.conv2dTranspose({
        filters: 2,
        kernelSize: 3,
        strides: 2,
        padding: "valid",
        activation: "relu",
        name: "up2",
      }),
      x,
    );
    return tfl.model({ inputs: input, outputs: x });
  }],
  ["UpSampling2D nearest and bilinear", () => {
    const input = tfl.input({ shape: [5, 6, 2], name: "in" });
    let x = sym(tfl.layers.upSampling2d({ size: [2, 3], name: "up" }), input);
    x = sym(tfl.layers.upSampling2d({ size: [2, 2], interpolation: "bilinear", name: "up2" }), x);
    return tfl.model({ inputs: input, outputs: x });
  }],
];

for (const [name, build] of LAYER_CASES) {
  const model = build();
  fillWeights(model, 31);
  const { json, bin } = await saveLayers(model);
  Deno.test({
    name: `tfjs layers: ${name} agree with tfjs (reference and generated module)`,
    async fn() {
      const { graph, weights } = importTfjs(json, [[bin]], "model.json");
      const shape = graph.inputs[0].shape;
      const rand = mulberry32(3);
      const input = Float32Array.from(
        { length: shape.reduce((a, b) => a * b, 1) },
        () => rand() * 4 - 2,
      );
      const expected = (model.predict(tf.tensor(input, [...shape])) as tf.Tensor).dataSync();
      const actual = runReference(graph, weights, input);
      assert.equal(actual.length, expected.length);
      assert.ok(maxAbsDiff(actual, expected) <= 1e-4 * maxAbs(expected));
      const m = await loadModule(compile(graph, weights).source);
      assert.ok(maxAbsDiff(m.infer(input), expected) <= 1e-4 * maxAbs(expected));
    },
  });
}
