/**
 * The bundle `flash run` executes: the user's script and every project file it
 * imports, in one ES module (docs/internals.md, "Calls from a script").
 *
 * Like discovery's bundles, every project file is tagged (tag-plugin.ts) so a
 * remote function the script calls knows its file and export. Unlike them,
 * this bundle runs as if Node ran the script itself:
 *
 * - each project file keeps its own `import.meta.url`, `filename`, `dirname`,
 *   and `main` is true for the script alone, as Node gives the entry point
 *   (`if (import.meta.main) await main()` is the TypeScript form of Python's
 *   `if __name__ == "__main__":`). A bundle is one module with one
 *   `import.meta`, so each file is first compiled alone with those values
 *   defined, and esbuild chains that file's source map into the bundle's;
 * - source maps name the files by absolute path, so Node's stack traces
 *   (`--enable-source-maps`) point at the user's files;
 * - the script's own exports are made known to the registry before its body
 *   runs (`deferTag`): a script calls its remote functions from its own top
 *   level, before the tag appended to its end has run.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import type { Message, PartialMessage, Plugin } from "esbuild";
import { inlineSourceMapComment, problemOf, USER_CODE_BUILD } from "./bundle-modules.js";
import type { BuildProblem } from "./bundle-modules.js";
import { tagSuffix, toProjectPath } from "./tag-plugin.js";

export interface ScriptBundleOptions {
  /** Project root (absolute): tags name files relative to it. */
  root: string;
  /** The script (absolute path). */
  entry: string;
  /** Where the bundle is written (absolute). Bare imports resolve from here upward. */
  outDir: string;
}

export type ScriptBundleOutcome =
  | {
      ok: true;
      /** The bundle on disk. */
      path: string;
      /** Project files it was built from (relative), the script first. */
      inputs: string[];
    }
  | { ok: false; problems: BuildProblem[] };

/** Files compiled one by one (everything esbuild treats as JS/TS). */
const SCRIPT_FILE = /\.[cm]?[jt]sx?$/;
const EARLY_NAMESPACE = "flash-ts-script-early";
const EARLY_IMPORT = "flash-ts:script-early";

/** The values each file sees as `import.meta.*` (esbuild `define`: JSON text). */
function importMetaFor(path: string, isEntry: boolean): Record<string, string> {
  return {
    "import.meta.main": isEntry ? "true" : "false",
    "import.meta.url": JSON.stringify(pathToFileURL(path).href),
    "import.meta.filename": JSON.stringify(path),
    "import.meta.dirname": JSON.stringify(dirname(path)),
  };
}

function toPartial(message: Message): PartialMessage {
  return { text: message.text, ...(message.location ? { location: message.location } : {}) };
}

function scriptPlugin(root: string, entry: string): Plugin {
  return {
    name: "flash-ts-script",
    setup(build) {
      build.onResolve({ filter: new RegExp(`^${EARLY_IMPORT}$`) }, () => ({ path: entry, namespace: EARLY_NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: EARLY_NAMESPACE }, () => ({
        // Imported by the script itself (appended below), so it runs after the script's own
        // imports and before its body; esbuild creates the script's namespace object first.
        contents:
          `import * as __flash_script from ${JSON.stringify(entry)};\n` +
          `globalThis[Symbol.for("flash-ts.registry")]?.deferTag?.(__flash_script, ${JSON.stringify(toProjectPath(root, entry))}, import.meta.url);\n`,
        resolveDir: root,
        loader: "js",
      }));
      build.onLoad({ filter: SCRIPT_FILE, namespace: "file" }, async (args) => {
        if (args.path.split(/[\\/]/).includes("node_modules")) return undefined;
        const text = await readFile(args.path, "utf8");
        const isEntry = args.path === entry;
        let compiled: string;
        try {
          const result = await esbuild.build({
            entryPoints: [args.path],
            absWorkingDir: root,
            bundle: false,
            write: false,
            platform: "node",
            target: "node22",
            sourcemap: "inline",
            sourcesContent: false,
            define: importMetaFor(args.path, isEntry),
            logLevel: "silent",
          });
          compiled = result.outputFiles[0]?.text ?? "";
        } catch (error) {
          const failure = error as Partial<esbuild.BuildFailure>;
          if (Array.isArray(failure.errors)) return { errors: failure.errors.map(toPartial) };
          throw error;
        }
        // The tag goes before the source-map comment, after the file's own lines (which keep their numbers).
        const at = compiled.lastIndexOf("//# sourceMappingURL=");
        const body = at >= 0 ? compiled.slice(0, at) : compiled;
        const map = at >= 0 ? compiled.slice(at) : "";
        const early = isEntry ? `\n;import ${JSON.stringify(EARLY_IMPORT)};\n` : "";
        return {
          contents: body + early + tagSuffix(args.path, toProjectPath(root, args.path), text) + map,
          loader: "js",
          resolveDir: dirname(args.path),
          watchFiles: [args.path],
        };
      });
    },
  };
}

/** `scripts/demo.ts` → `scripts_demo`: the bundle's file name. */
function slugOf(file: string): string {
  return file.replace(/\.[^./]+$/, "").replace(/[^A-Za-z0-9_-]+/g, "_").slice(-80) || "script";
}

/** Builds the script's bundle into `outDir`. Problems (syntax errors, unresolved imports) come back as data. */
export async function buildScriptBundle(options: ScriptBundleOptions): Promise<ScriptBundleOutcome> {
  const { root, entry, outDir } = options;
  let result;
  try {
    result = await esbuild.build({
      ...USER_CODE_BUILD,
      absWorkingDir: root,
      entryPoints: [entry],
      outdir: outDir,
      plugins: [scriptPlugin(root, entry)],
    });
  } catch (error) {
    const failure = error as Partial<esbuild.BuildFailure>;
    if (!Array.isArray(failure.errors)) throw error;
    const problems = failure.errors.map((m) => problemOf(root, toProjectPath(root, entry), m));
    return { ok: false, problems: problems.length > 0 ? problems : [{ file: toProjectPath(root, entry), message: String(error) }] };
  }
  const js = result.outputFiles.find((f) => f.path.endsWith(".mjs"));
  const mapFile = result.outputFiles.find((f) => f.path.endsWith(".mjs.map"));
  if (!js || !mapFile) return { ok: false, problems: [{ file: toProjectPath(root, entry), message: "esbuild produced no bundle" }] };
  const map = JSON.parse(mapFile.text) as { sources: string[] };
  // Absolute paths: Node prints them in stack traces, and editors open them.
  map.sources = map.sources.map((source) => resolve(outDir, source));
  const code = `${js.text}${inlineSourceMapComment(map)}`;
  const rel = toProjectPath(root, entry);
  const path = join(outDir, `${slugOf(rel)}.mjs`);
  await mkdir(outDir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, code);
  await rename(tmp, path);
  const inputs = Object.keys(result.metafile.inputs)
    .filter((key) => !key.startsWith(`${EARLY_NAMESPACE}:`) && !key.split("/").includes("node_modules"))
    .map((key) => toProjectPath(root, resolve(root, key)));
  return { ok: true, path, inputs: [rel, ...[...new Set(inputs)].filter((f) => f !== rel).sort()] };
}
