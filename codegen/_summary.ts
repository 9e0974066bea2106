/**
 * How a generated module's entry point prints its outputs, as source text
 * (the module imports nothing, so the code is written into it): an `[N, K]`
 * output as the top-5 classes of sample 0 with softmax probabilities, any
 * other output as its shape, min / max / mean and its first values.
 *
 * @module
 */

/**
 * TypeScript source of `summarizeOutput(name, shape, data, labels?, probabilities?)` (a
 * JSON-ready record) and `formatOutputSummary(summary, header)` (its lines).
 */
export const OUTPUT_SUMMARY_SOURCE = `/** What the entry point reports about one output. */
interface OutputSummary {
  name: string;
  shape: readonly number[];
  min: number;
  max: number;
  mean: number;
  /** The first values, row-major (at most 8). */
  first: number[];
  /** For an [N, K] output: the 5 largest of sample 0, softmax probabilities over sample 0. */
  top5?: { index: number; value: number; probability: number; label?: string }[];
}

/** Summarizes one output: statistics, first values, and top-5 classes for an [N, K] output. */
function summarizeOutput(
  name: string,
  shape: readonly number[],
  data: Float32Array,
  labels?: string[],
  probabilities = false,
): OutputSummary {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const summary: OutputSummary = {
    name,
    shape,
    min,
    max,
    mean: data.length ? sum / data.length : 0,
    first: Array.from(data.subarray(0, 8)),
  };
  if (shape.length === 2 && shape[1] > 1) {
    const sample = data.subarray(0, shape[1]);
    const scores = Array.from(sample, (v, i) => ({ i, v }));
    scores.sort((a, b) => b.v - a.v || a.i - b.i);
    const top = scores[0].v;
    const total = scores.reduce((acc, { v }) => acc + Math.exp(v - top), 0);
    summary.top5 = scores.slice(0, 5).map(({ i, v }) => ({
      index: i,
      value: v,
      // An output that ends in a Softmax already holds probabilities: no second softmax.
      probability: probabilities ? v : Math.exp(v - top) / total,
      ...(labels?.[i] !== undefined && shape[1] === labels.length ? { label: labels[i] } : {}),
    }));
  }
  return summary;
}

/** The lines printing one summary under \`header\` (\`<model>: \` or \`output "name" [shape]: \`). */
function formatOutputSummary(s: OutputSummary, header: string): string[] {
  if (s.top5) {
    return [
      \`\${header}top-5 of sample 0\`,
      ...s.top5.map(({ index, value, probability, label }) =>
        \`  class \${String(index).padStart(4)}  \${value.toFixed(6)}  p=\${probability.toFixed(4)}\${label !== undefined ? \`  \${label}\` : ""}\`
      ),
    ];
  }
  const g = (v: number) => Number(v.toPrecision(6)).toString();
  return [
    \`\${header}min \${g(s.min)}  max \${g(s.max)}  mean \${g(s.mean)}\`,
    \`  first \${s.first.length}: \${s.first.map(g).join(", ")}\`,
  ];
}`;
