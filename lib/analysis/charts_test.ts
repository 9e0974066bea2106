import assert from "node:assert/strict";
import { escapeXml, layerSharesSvg, scatterSvg, stackSvg } from "./charts.ts";
import { checkXml } from "./_xml_check.ts";

const nasty = `a<b> & "c" 'd' \u0001`;

Deno.test("escapeXml() escapes markup and shows characters XML forbids as escapes", () => {
  assert.equal(escapeXml(nasty), "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39; \\x01");
});

Deno.test("scatterSvg() is well-formed XML with every label, escaped", () => {
  const points = [
    { label: "mobilenetv1", params: 4.2e6, madds: 569e6, mac: 8e7 },
    { label: "shufflenetv2 width=0.5", params: 1.4e6, madds: 41e6, mac: 9e6 },
    { label: nasty, params: 2e4, madds: 6e7, mac: 4e6 },
  ];
  const svg = scatterSvg(points);
  const names = checkXml(svg);
  assert.equal(names[0], "svg");
  assert.equal(names.filter((n) => n === "circle").length, 3);
  for (const p of points) assert.ok(svg.includes(`>${escapeXml(p.label)}</text>`), p.label);
  assert.throws(() => scatterSvg([]), RangeError);
});

Deno.test("scatterSvg() draws bigger and brighter points for more MAC", () => {
  const svg = scatterSvg([
    { label: "small", params: 1e5, madds: 1e7, mac: 1e6 },
    { label: "big", params: 1e6, madds: 1e8, mac: 1e8 },
  ]);
  const radii = [...svg.matchAll(/<circle [^>]*r="([\d.]+)" fill="([^"]+)"/g)];
  // Largest MAC is drawn first: r = 3 + 9 (top of the scale), viridis yellow end.
  assert.equal(Number(radii[0][1]) > Number(radii[1][1]), true);
  assert.notEqual(radii[0][2], radii[1][2]);
});

Deno.test("layerSharesSvg() has one bar pair and one label per layer", () => {
  const layers = Array.from({ length: 30 }, (_, i) => ({
    name: `features.${i}.conv<${i}>`,
    madds: i % 3 === 0 ? 0 : i * 1000,
    mac: 500 + i,
  }));
  const svg = layerSharesSvg(layers, { title: "t & t" });
  checkXml(svg);
  assert.equal([...svg.matchAll(/<rect [^>]*><title>/g)].length, 60);
  for (const l of layers) assert.ok(svg.includes(`>${escapeXml(l.name)}</text>`));
  assert.ok(svg.includes("t &amp; t"));
});

Deno.test("stackSvg() nests charts in one well-formed document", () => {
  const doc = stackSvg([
    scatterSvg([{ label: "x", params: 1, madds: 2, mac: 3 }]),
    layerSharesSvg([{ name: "y", madds: 1, mac: 1 }]),
  ]);
  assert.deepEqual(checkXml(doc).filter((n) => n === "svg").length, 3);
  // The scatter is 1100 x 760, the bar chart 900 (its minimum width) x 520.
  assert.match(
    doc,
    /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg [^>]*width="1100" height="1280"/,
  );
});
