/**
 * Makes stack traces of user code read in the user's own terms
 * (`at handler (workers/boom.ts:7:11)`).
 *
 * Node applies a bundle's inline source map once source maps are enabled,
 * but it resolves the map's `sources` (written relative to where the bundle
 * was built, e.g. `../../../../workers/boom.ts`) against where the worker
 * keeps the module, which yields a path somewhere above the cache. We keep
 * the module file byte-identical to what the caller hashed (it can be
 * re-verified and forwarded to other endpoints), so instead of rewriting the
 * map we remember, per loaded module, which resolved path stands for which
 * project file, and rewrite the frames when an error is reported.
 */
import module from "node:module";
import { dirname, join, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PACKAGE_ROOT } from "../common/package-info.js";

/** Resolved source path (or URL) → the project-relative file it stands for. */
const sourceNames = new Map<string, string>();

let sourceMapsEnabled: "off" | "on" | "with-node-modules" = "off";

/**
 * Turns on Node's source-map support for stack traces (process-wide, idempotent).
 * Node leaves files under a node_modules folder out by default; a module cache
 * placed in one (e.g. `<project>/node_modules/.cache/…`) needs them included.
 */
export function enableSourceMaps(options: { nodeModules?: boolean } = {}): void {
  const wanted = options.nodeModules ? "with-node-modules" : "on";
  if (sourceMapsEnabled === wanted || sourceMapsEnabled === "with-node-modules") return;
  sourceMapsEnabled = wanted;
  const setSupport = (module as { setSourceMapsSupport?: (enabled: boolean, options?: { nodeModules?: boolean }) => void }).setSourceMapsSupport;
  if (typeof setSupport === "function") setSupport(true, { nodeModules: options.nodeModules === true });
  else process.setSourceMapsEnabled(true);
}

const INLINE_MAP = /\/\/[#@] sourceMappingURL=data:application\/json(?:;charset=[^;,]+)?;base64,([A-Za-z0-9+/=_-]+)\s*$/;

/** A source path from a map, made project-relative: leading `./` and `../` segments removed. */
function projectRelative(source: string): string {
  let s = source.replace(/\\/g, "/");
  while (s.startsWith("../") || s.startsWith("./")) s = s.slice(s.startsWith("./") ? 2 : 3);
  return s;
}

/**
 * Reads the inline source map of a module (if any) and remembers how Node
 * will name each of its sources in stack traces. Cheap: once per module load.
 */
export function registerModuleSources(moduleUrl: string, code: string): void {
  const at = code.lastIndexOf("sourceMappingURL=data:");
  if (at < 0) return;
  const match = INLINE_MAP.exec(code.slice(Math.max(0, at - 4)));
  if (!match?.[1]) return;
  let map: { sources?: unknown; sourceRoot?: unknown };
  try {
    map = JSON.parse(Buffer.from(match[1], "base64").toString("utf8")) as typeof map;
  } catch {
    return;
  }
  if (!Array.isArray(map.sources)) return;
  const root = typeof map.sourceRoot === "string" ? map.sourceRoot : "";
  for (const source of map.sources) {
    if (typeof source !== "string" || /^[a-z][a-z0-9+.-]*:/i.test(source) || source.startsWith("/")) continue;
    let resolved: URL;
    try {
      // The same resolution Node's source-map cache applies.
      resolved = new URL(root + source, moduleUrl);
    } catch {
      continue;
    }
    const name = projectRelative(source);
    sourceNames.set(resolved.href, name);
    if (resolved.protocol === "file:") sourceNames.set(fileURLToPath(resolved), name);
  }
}

/**
 * Frames inside the worker runtime itself are noise in a user's traceback: the
 * package's worker folders, or — for the delivered runtime, one bundled file
 * whose folder also holds the user's modules — exactly that file.
 * Source-mapped frames name a path; unmapped ones (an installed package sits
 * under node_modules, which Node leaves out of source maps) a file: URL.
 */
const SELF = fileURLToPath(import.meta.url);
// Set by the build of the delivered runtime (scripts/build-runtime.mjs); absent in the package's own files.
const BUNDLED = process.env.FLASH_TS_BUNDLED_VERSION !== undefined;
const RUNTIME_DIRS = BUNDLED
  ? []
  : [join(PACKAGE_ROOT, "dist", "worker") + sep, join(PACKAGE_ROOT, "src", "worker") + sep, dirname(SELF) + sep].flatMap((dir) => [dir, pathToFileURL(dir).href]);
const RUNTIME_FILES = BUNDLED ? [SELF, import.meta.url] : [];

function isRuntimeFrame(location: string): boolean {
  return RUNTIME_DIRS.some((dir) => location.startsWith(dir)) || RUNTIME_FILES.includes(location);
}
const NOISE_PREFIXES = ["node:internal/process/task_queues", "node:internal/modules/"];

const FRAME = /^(\s+at (?:.*? \()?)(.+?)(:\d+:\d+)?(\)?)$/;

/**
 * Rewrites a stack: mapped sources become project-relative (`workers/boom.ts`),
 * paths under the cache lose the cache prefix, and frames of the runtime are dropped.
 */
export function cleanStack(stack: string, cacheRoot: string): string {
  const cachePrefixes = [cacheRoot + sep, `file://${cacheRoot}/`];
  const out: string[] = [];
  for (const line of stack.split("\n")) {
    const frame = FRAME.exec(line);
    if (!frame || !line.trimStart().startsWith("at ")) {
      out.push(line);
      continue;
    }
    const [, head = "", location = "", position = "", tail = ""] = frame;
    if (isRuntimeFrame(location) || NOISE_PREFIXES.some((p) => location.startsWith(p))) continue;
    let file = sourceNames.get(location);
    if (file === undefined) {
      const prefix = cachePrefixes.find((p) => location.startsWith(p));
      // <cache>/deps/<key>/modules/<hash>.mjs → <hash>.mjs; <cache>/deps/<key>/node_modules/x → node_modules/x
      file = prefix ? location.slice(prefix.length).replace(/^deps\/[^/]+\/(?:modules\/)?/, "") : location;
    }
    out.push(`${head}${file}${position}${tail}`);
  }
  return out.join("\n");
}
