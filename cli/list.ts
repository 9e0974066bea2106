/**
 * `list`: every model of the zoo with its family, knobs (published values,
 * default, what each accepts) and torchvision aliases.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { EXIT, guard, UsageError } from "./_common.ts";
import {
  describeKnob,
  type Knobs,
  type KnobSpec,
  type KnobValue,
  type ModelDef,
} from "../lib/models/registry.ts";
import { zoo } from "../lib/models/zoo.ts";
import { jsonText } from "../lib/_text.ts";

/** The `--help` text. */
export const HELP = `Usage: deno run cli.ts list [options]

Every model of the zoo: its family, its knobs with the values the paper or
torchvision publishes (* marks the default) and what each knob accepts, and
the aliases (torchvision names) that preset some knobs.

Options:
  --json       the same as data (schema "lightnets.list/1")
  -h, --help   show this help

Example:
  deno run cli.ts list
  deno run cli.ts analyze mobilenetv1 --width 0.75 --resolution 192

Permissions: none.

Exit codes: 0 success, 2 bad usage`;

/** The `--json` output of `list`. */
export interface ListReport {
  schema: "lightnets.list/1";
  models: {
    name: string;
    family: string;
    summary: string;
    source: string;
    knobs: KnobSpec[];
    /** Alias name -> the knob values it presets. */
    aliases: Record<string, Knobs>;
  }[];
}

/** The zoo as data (what `list --json` prints). */
export function listReport(models: readonly ModelDef[] = zoo.list()): ListReport {
  return {
    schema: "lightnets.list/1",
    models: models.map((m) => ({
      name: m.name,
      family: m.family,
      summary: m.summary,
      source: m.source,
      knobs: m.knobs.map((k) => ({ ...k })),
      aliases: { ...(m.aliases ?? {}) },
    })),
  };
}

function valuesText(k: KnobSpec): string {
  const show = (v: KnobValue) => (v === k.default ? `${v}*` : String(v));
  const values = k.published ?? [];
  const text = values.map(show).join(", ");
  return values.includes(k.default) ? text : [text, `${k.default}*`].filter(Boolean).join(", ");
}

function presetText(preset: Knobs): string {
  return Object.entries(preset).map(([k, v]) => `${k}=${v}`).join(" ");
}

/** `text` in lines of at most `width` characters; lines after the first start with `indent` spaces. */
function wrap(text: string, width: number, indent: number): string[] {
  const lead = text.match(/^ */)![0];
  const lines: string[] = [];
  let line = lead;
  for (const word of text.trimStart().split(" ")) {
    if (line.trim() && line.length + 1 + word.length > width) {
      lines.push(line);
      line = " ".repeat(indent) + word;
    } else line = line.trim() ? `${line} ${word}` : line + word;
  }
  if (line.trim()) lines.push(line);
  return lines;
}

const WIDTH = 100;

/**
 * The zoo as text, at most 100 columns wide: per model a title line, per knob
 * its published values (`*` = default) with what it accepts and a description,
 * then aliases and source.
 */
export function formatList(models: readonly ModelDef[] = zoo.list()): string {
  const flagWidth = Math.max(...models.flatMap((m) => m.knobs.map((k) => k.name.length + 2)));
  const indent = 2 + flagWidth + 2;
  const out: string[] = [];
  let family = "";
  for (const m of models) {
    if (m.family !== family) {
      family = m.family;
      out.push(`${out.length ? "\n" : ""}== ${family} ==`);
    }
    out.push("", ...wrap(`${m.name}  ${m.summary}`, WIDTH, 2));
    for (const k of m.knobs) {
      const flag = `  ${`--${k.name}`.padEnd(flagWidth)}  `;
      // Published values say it all when they are also the only accepted values.
      const same = k.choices && k.published && k.choices.length === k.published.length &&
        k.choices.every((c) => k.published!.includes(c));
      const accepts = same ? "" : `  (${describeKnob(k)})`;
      out.push(...wrap(`${flag}${valuesText(k)}${accepts}`, WIDTH, indent));
      out.push(...wrap(" ".repeat(indent) + k.description, WIDTH, indent));
    }
    const aliases = Object.entries(m.aliases ?? {}).map(([a, p]) =>
      Object.keys(p).length ? `${a} (${presetText(p)})` : a
    );
    if (aliases.length) out.push(...wrap(`  aliases: ${aliases.join(", ")}`, WIDTH, 4));
    out.push(...wrap(`  source: ${m.source}`, WIDTH, 4));
  }
  out.push(
    "",
    `${models.length} models; * marks a knob's default. Example:`,
    "  deno run cli.ts analyze <model> --<knob> <value>",
  );
  return out.join("\n");
}

/** Runs `list` and returns the exit code. */
export function run(args: string[]): Promise<number> {
  return guard(() => {
    const { values, positionals } = parseArgs({
      args,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(HELP);
      return EXIT.ok;
    }
    if (positionals.length) {
      throw new UsageError(`Unexpected argument "${positionals[0]}": list takes no model name`);
    }
    console.log(values.json ? jsonText(listReport()) : formatList());
    return EXIT.ok;
  });
}
