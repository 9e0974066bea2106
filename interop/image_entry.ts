/**
 * The image input of a generated module's own entry point, as source text:
 * `deno run -A model.gen.ts --image cat.jpg [--size 256x256] [--mean R,G,B]
 * [--std R,G,B] [--channel-order rgb|bgr] [--labels imagenet.txt]`. A
 * generated module imports nothing, so the decoders (pngjs, jpeg-js) are
 * loaded from npm only when `--image` is given, and the preprocessing is
 * written out here; interop/image_entry_test.ts checks that it computes
 * exactly what interop/image.ts computes.
 *
 * @module
 */

/**
 * Largest image, in pixels, decoded or resized to by default: 50 million
 * (a 50 MP camera frame, 200 MB as RGBA). The header's dimensions are
 * checked before decoding, so a small file claiming 30000x30000 is refused
 * at once instead of filling memory; `--max-pixels` raises the cap.
 */
export const DEFAULT_MAX_PIXELS = 50_000_000;

/** Version-pinned npm specifiers the entry point loads (the same versions as deno.json). */
export const DECODERS = { png: "npm:pngjs@7.0.0", jpeg: "npm:jpeg-js@0.4.4" } as const;

/** The options of a generated module's entry point, in the order its usage lists them. */
export const ENTRY_FLAGS = [
  "image",
  "size",
  "mean",
  "std",
  "channel-order",
  "labels",
  "max-pixels",
] as const;

/**
 * TypeScript source of the entry point's option handling:
 * `entryOptions(args, model, shape)` parses `--flag VALUE` / `--flag=VALUE`,
 * prints the usage for `--help`/`-h` (exit 0) and one line on stderr for an
 * unknown flag, a stray argument or a missing value (exit 2); and
 * `async imageInputFromOptions(options, shape, classes)` returns
 * `{ input, labels }` for `--image`, or `undefined` without it. Its errors
 * print on stderr as one line and exit like the CLI: 2 for a bad option, 1 for
 * a file that cannot be read (read permission is queried first, so nothing
 * prompts), decoded, or a labels file whose line count is not `classes`.
 */
export function imageEntrySource(): string {
  return `const ENTRY_FLAGS = ${JSON.stringify(ENTRY_FLAGS)};

/** Largest image decoded and largest --size, in pixels, unless --max-pixels says otherwise. */
const DEFAULT_MAX_PIXELS = ${DEFAULT_MAX_PIXELS};

/** Width and height from a PNG's IHDR or a JPEG's first SOF segment, without decoding. */
function imageHeaderSize(b: Uint8Array): [number, number] | undefined {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] === 0x89 && b[1] === 0x50) return b.length >= 24 ? [v.getUint32(16), v.getUint32(20)] : undefined;
  if (b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const m = b[i + 1];
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2;
      continue;
    }
    const length = v.getUint16(i + 2);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return i + 9 <= b.length ? [v.getUint16(i + 7), v.getUint16(i + 5)] : undefined;
    }
    if (m === 0xda || length < 2) return undefined;
    i += 2 + length;
  }
  return undefined;
}

/** Parses the entry point's arguments; exits 0 after \`--help\`, 2 on bad usage. */
function entryOptions(
  args: string[],
  model: string,
  shape: readonly number[],
): Record<string, string> {
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      console.log(
        [
          \`Usage: deno run [--allow-read] <this file> [--image FILE [options]]\`,
          \`Runs \${model} (input \${shape.join("x")}) on a seeded random input (mulberry32, seed 42)\`,
          "or on --image, then prints each output (top-5 of sample 0 for an [N, K] output, else its",
          "shape, min/max/mean and first values) and the time per inference.",
          "  --image FILE           a PNG or JPEG, resized (bilinear) and normalized",
          \`  --size HxW             resize to HxW, then center-crop to the input's H x W\`,
          "  --mean R,G,B           per-channel mean in [0, 1] units (default 0.485,0.456,0.406)",
          "  --std R,G,B            per-channel std (default 0.229,0.224,0.225)",
          "  --channel-order ORDER  rgb (default) or bgr",
          "  --labels FILE          class names, one per line (one line per class)",
          \`  --max-pixels N         largest image and --size in pixels (default \${DEFAULT_MAX_PIXELS})\`,
          "  --json                 print the outputs and timing as JSON",
          "  -h, --help             this help",
          "Permissions: --image and --labels need --allow-read; the PNG/JPEG decoders load from npm.",
        ].join("\\n"),
      );
      Deno.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m || !(ENTRY_FLAGS as readonly string[]).includes(m[1])) {
      console.error(
        m ? \`error: Unknown option "\${arg}" (see --help)\` : \`error: Unexpected argument "\${arg}" (see --help)\`,
      );
      Deno.exit(2);
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) {
      console.error(\`error: Option "--\${m[1]}" needs a value (see --help)\`);
      Deno.exit(2);
    }
    options[m[1]] = value;
  }
  return options;
}

/** \`--image FILE\` (PNG/JPEG) and its options as the input tensor; undefined without \`--image\`. */
async function imageInputFromOptions(
  options: Record<string, string | undefined>,
  shape: readonly number[],
  classes: number,
): Promise<{ input: Float32Array; labels?: string[] } | undefined> {
  const flag = (name: string) => options[name];
  const fail = (message: string, code = 2): never => {
    console.error(\`error: \${message}\`);
    Deno.exit(code);
  };
  const readable = async (name: string, path: string) => {
    const { state } = await Deno.permissions.query({ name: "read", path });
    if (state !== "granted") fail(\`--\${name} needs --allow-read to read "\${path}"\`, 1);
  };
  const image = flag("image");
  if (image === undefined) {
    const stray = ["size", "mean", "std", "channel-order", "labels", "max-pixels"].find((k) => flag(k) !== undefined);
    if (stray) fail(\`--\${stray} needs --image FILE\`);
    return undefined;
  }
  // NCHW [1, 3, H, W], or NHWC [1, H, W, 3] as TensorFlow.js models take images.
  const nhwc = shape.length === 4 && shape[1] !== 3 && shape[3] === 3;
  if (shape.length !== 4 || shape[0] !== 1 || (shape[1] !== 3 && !nhwc)) {
    fail(\`--image needs a model with input 1x3xHxW or 1xHxWx3, this one takes \${shape.join("x")}\`);
  }
  const [ch, cw] = nhwc ? [shape[1], shape[2]] : [shape[2], shape[3]];
  const sizeText = flag("size") ?? \`\${ch}x\${cw}\`;
  const m = /^(\\d+)x(\\d+)$/i.exec(sizeText);
  if (!m || Number(m[1]) < ch || Number(m[2]) < cw) {
    fail(\`Invalid --size "\${sizeText}": expected HxW of at least \${ch}x\${cw}\`);
  }
  const [h, w] = [Number(m![1]), Number(m![2])];
  const maxText = flag("max-pixels");
  const maxPixels = maxText === undefined ? DEFAULT_MAX_PIXELS : Number(maxText);
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) {
    fail(\`Invalid --max-pixels "\${maxText}": expected a positive integer\`);
  }
  if (h * w > maxPixels) fail(\`Invalid --size "\${sizeText}": \${h * w} pixels, above the limit of \${maxPixels} (--max-pixels N raises it)\`);
  const triple = (name: string, dflt: number[]) => {
    const t = flag(name);
    if (t === undefined) return dflt;
    const v = t.split(",").map(Number);
    if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) fail(\`Invalid --\${name} "\${t}": expected R,G,B\`);
    return v;
  };
  const mean = triple("mean", [0.485, 0.456, 0.406]);
  const std = triple("std", [0.229, 0.224, 0.225]);
  if (std.some((s) => !(s > 0))) fail(\`Invalid --std "\${std.join(",")}": every value must be > 0\`);
  const order = flag("channel-order") ?? "rgb";
  if (order !== "rgb" && order !== "bgr") fail(\`Invalid --channel-order "\${order}": expected rgb or bgr\`);
  await readable("image", image);
  const labelsPath = flag("labels");
  if (labelsPath !== undefined) await readable("labels", labelsPath);
  let labels: string[] | undefined;
  if (labelsPath !== undefined) {
    try {
      labels = (await Deno.readTextFile(labelsPath)).split(/\\r?\\n/).map((l) => l.trim());
    } catch (e) {
      fail(\`Cannot read "\${labelsPath}": \${e instanceof Error ? e.message : e}\`, 1);
    }
    while (labels!.length && labels![labels!.length - 1] === "") labels!.pop();
    if (labels!.length !== classes) {
      fail(\`Labels file "\${labelsPath}" has \${labels!.length} lines, expected \${classes} (one per class)\`, 1);
    }
  }
  let bytes: Uint8Array = new Uint8Array();
  try {
    bytes = await Deno.readFile(image);
  } catch (e) {
    fail(\`Cannot read "\${image}": \${e instanceof Error ? e.message : e}\`, 1);
  }
  // The header's dimensions, before decoding: a small file can claim 30000x30000.
  const declared = imageHeaderSize(bytes);
  if (declared && declared[0] * declared[1] > maxPixels) {
    fail(\`Image "\${image}" is \${declared[0]}x\${declared[1]} = \${declared[0] * declared[1]} pixels, above the limit of \${maxPixels} (--max-pixels N raises it)\`, 1);
  }
  let width = 0;
  let height = 0;
  let data = new Uint8Array();
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50) {
      // deno-lint-ignore no-explicit-any
      const { PNG } = (await import("${DECODERS.png}")) as any;
      const { Buffer } = await import("node:buffer");
      const png = PNG.sync.read(Buffer.from(bytes));
      [width, height, data] = [png.width, png.height, new Uint8Array(png.data)];
    } else if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      // deno-lint-ignore no-explicit-any
      const jpeg = ((await import("${DECODERS.jpeg}")) as any).default;
      const img = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: maxPixels / 1e6,
        maxMemoryUsageInMB: Math.max(512, (maxPixels * 8) / 1e6),
      });
      [width, height, data] = [img.width, img.height, new Uint8Array(img.data)];
    } else fail(\`Cannot decode "\${image}": not a PNG or JPEG file\`, 1);
  } catch (e) {
    fail(\`Cannot decode "\${image}": \${e instanceof Error ? e.message : e}\`, 1);
  }
  // Bilinear resize with half-pixel centers, then a center crop (torchvision's Resize + CenterCrop).
  const resized = new Uint8Array(h * w * 4);
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (height / h) - 0.5, 0), height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (width / w) - 0.5, 0), width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 4; c++) {
        const p = (yy: number, xx: number) => data[(yy * width + xx) * 4 + c];
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx;
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx;
        resized[(y * w + x) * 4 + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  const source = height === h && width === w ? data : resized;
  const top = Math.round((h - ch) / 2);
  const left = Math.round((w - cw) / 2);
  const plane = ch * cw;
  const input = new Float32Array(3 * plane);
  (order === "bgr" ? [2, 1, 0] : [0, 1, 2]).forEach((src, dst) => {
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const v = source[((y + top) * w + x + left) * 4 + src];
        const at = nhwc ? (y * cw + x) * 3 + dst : dst * plane + y * cw + x;
        input[at] = (v / 255 - mean[src]) / std[src];
      }
    }
  });
  return { input, labels };
}
`;
}
