import assert from "node:assert/strict";
import { inferShapes } from "../analysis/shapes.ts";
import { KnobError, UnknownModelError } from "./registry.ts";
import { MODELS, publishedVariants, zoo } from "./zoo.ts";

/** The eight image classifiers of issue 2 (the zoo also holds guideline micro-networks). */
const CLASSIFIERS = [
  "squeezenet1_0",
  "squeezenet1_1",
  "mobilenetv1",
  "mobilenetv2",
  "mobilenetv3_large",
  "mobilenetv3_small",
  "shufflenetv1",
  "shufflenetv2",
];
const classifiers = () => zoo.list().filter((m) => CLASSIFIERS.includes(m.name));

Deno.test("zoo lists the eight classifiers of issue 2 first, in order", () => {
  assert.deepEqual(zoo.list().slice(0, 8).map((m) => m.name), CLASSIFIERS);
  assert.deepEqual(MODELS.slice(0, 8).map((m) => m.name), CLASSIFIERS);
});

Deno.test("zoo resolves torchvision's names as aliases", () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ["mobilenet_v2", "mobilenetv2", { width: 1 }],
    ["mobilenet_v3_large", "mobilenetv3_large", { width: 1 }],
    ["mobilenet_v3_small", "mobilenetv3_small", { width: 1 }],
    ["mobilenet_v1", "mobilenetv1", { width: 1 }],
    ["shufflenet_v2_x0_5", "shufflenetv2", { width: 0.5 }],
    ["shufflenet_v2_x1_0", "shufflenetv2", { width: 1 }],
    ["shufflenet_v2_x1_5", "shufflenetv2", { width: 1.5 }],
    ["Shufflenet-V2-X2-0", "shufflenetv2", { width: 2 }],
    ["squeezenet", "squeezenet1_0", {}],
  ];
  for (const [alias, model, preset] of cases) {
    const r = zoo.resolve(alias);
    assert.equal(r.model.name, model, alias);
    assert.deepEqual(r.preset, preset, alias);
  }
});

Deno.test("zoo suggests close names for an unknown model", () => {
  assert.throws(() => zoo.build("mobilenetv4"), (e: unknown) => {
    assert.ok(e instanceof UnknownModelError);
    assert.ok(e.suggestions.includes("mobilenetv1") || e.suggestions.includes("mobilenetv2"));
    return true;
  });
});

Deno.test("every model names its graph after itself and stores the full knobs in meta", () => {
  for (const m of classifiers()) {
    const { knobs } = zoo.knobsFor(m.name);
    const g = zoo.build(m.name);
    assert.equal(g.name, m.name);
    assert.deepEqual(g.meta, knobs);
    assert.equal(knobs.resolution, 224);
    assert.equal(knobs.classes, 1000);
    assert.deepEqual(g.inputs[0].shape, [1, 3, 224, 224]);
  }
});

Deno.test("every model builds at its smallest --resolution and refuses one pixel less", () => {
  for (const m of classifiers()) {
    const spec = m.knobs.find((k) => k.name === "resolution");
    const min = spec?.min;
    assert.ok(min !== undefined, m.name);
    const g = zoo.build(m.name, { resolution: min, classes: 7 });
    assert.deepEqual(inferShapes(g).shapes.get(g.outputs[0].node), [1, 7], m.name);
    assert.throws(() => zoo.build(m.name, { resolution: min - 1 }), KnobError, m.name);
  }
});

Deno.test("every model takes --classes", () => {
  for (const m of classifiers()) {
    const g = zoo.build(m.name, { classes: 10 });
    assert.deepEqual(inferShapes(g).shapes.get(g.outputs[0].node), [1, 10], m.name);
  }
});

Deno.test("publishedVariants() lists every published variant once, all valid", () => {
  const v = publishedVariants().filter((x) => CLASSIFIERS.includes(x.name));
  const keys = v.map((x) => `${x.name} ${JSON.stringify(x.knobs)}`);
  assert.equal(new Set(keys).size, keys.length);
  // squeezenet 2 + mobilenetv1 4x4 + mobilenetv2 1 + 4x5 + mobilenetv3 2 + 2
  // + shufflenetv1 5x3 + 2x2 + shufflenetv2 4
  assert.equal(v.length, 2 + 16 + 21 + 4 + 19 + 4);
  for (const { name, knobs } of v) {
    const g = zoo.build(name, knobs);
    assert.deepEqual(inferShapes(g).shapes.get(g.outputs[0].node), [1, 1000], keys.join());
  }
});
