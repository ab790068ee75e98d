/**
 * One esbuild bundle per candidate file. Each candidate has its own
 * incremental context, so a syntax error in one file fails only that file's
 * build, and a reload after one file changed rebuilds only the bundles whose
 * inputs include it (esbuild reuses its parse cache for everything else).
 *
 * Bundles are ESM for Node 22 with every bare import left external and an
 * inline source map whose sources are project-relative (`workers/boom.ts`),
 * without sources content. They are written content-addressed
 * (`<slug>.<hash8>.mjs`) so that a new generation never overwrites a file the
 * previous one is still serving; {@link ModuleBundler.collectGarbage} removes
 * what no recent generation uses.
 */
import { readFileSync } from "node:fs";
import { mkdir, readdir, readlink, realpath, rename, rm, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import type { BuildContext, Message, Metafile } from "esbuild";
import { sha256 } from "../common/hash.js";
import { collectExternalImports } from "./dependencies.js";
import type { ExternalImport } from "./dependencies.js";
import { BUNDLE_BANNER, createTagPlugin, toProjectPath } from "./tag-plugin.js";

/** Where a build problem is, in project terms. */
export interface BuildProblem {
  /** Project-relative file (the entry when esbuild gives no location). */
  file: string;
  /** 1-based. */
  line?: number;
  /** 1-based. */
  column?: number;
  message: string;
}

/** A bundle that built and is on disk. */
export interface BuiltBundle {
  ok: true;
  /** Entry file, project-relative. */
  file: string;
  code: string;
  /** sha256 hex of `code`. */
  hash: string;
  path: string;
  url: string;
  /** Project files the bundle was built from, the entry first. */
  inputs: string[];
  /** Bare packages the bundle imports (statically or with `import()`). */
  externals: ExternalImport[];
}

/** A bundle that did not build (syntax error, unresolved relative import, …). */
export interface FailedBundle {
  ok: false;
  file: string;
  problems: BuildProblem[];
}

export type BundleOutcome = BuiltBundle | FailedBundle;

/** Builds and stores bundles for one project. */
export interface ModuleBundler {
  /** `<cacheDir>/bundles`. */
  readonly bundlesDir: string;
  /** Creates the cache folders and the `node_modules/flash-ts` link to the running tool. Idempotent. */
  prepare(): Promise<void>;
  /** (Re)builds the bundle of one entry file (project-relative) and writes it if new. */
  build(entry: string): Promise<BundleOutcome>;
  /** Forgets an entry's context (the file is gone or no longer a candidate). */
  drop(entry: string): Promise<void>;
  /** Forgets every context (e.g. after tsconfig.json changed: esbuild caches it). */
  dropAll(): Promise<void>;
  /** Deletes bundle files in `bundlesDir` whose name is not in `keep`. */
  collectGarbage(keep: ReadonlySet<string>): Promise<void>;
}

export interface ModuleBundlerOptions {
  /** Project root (absolute). */
  root: string;
  /** Cache folder (absolute); bundles go to `<cacheDir>/bundles`. */
  cacheDir: string;
  /** The package `flash-ts` must resolve to from inside a bundle (the running tool's root). */
  packageRoot: string;
  /** Source maps get the project's file URL as `sourceRoot` (see DiscoveryOptions.absoluteSourceRoot). */
  absoluteSourceRoot?: boolean;
}

/** `workers/gpu/infer.ts` → `workers_gpu_infer`: readable, flat, safe in any file system. */
function slugOf(entry: string): string {
  return entry.replace(/\.[^./]+$/, "").replace(/[^A-Za-z0-9_-]+/g, "_").slice(-80) || "module";
}

/**
 * A 1-based position inside `text`: one past its last visible character
 * (where esbuild puts "Unexpected end of file", often on the line after the
 * last newline) becomes that last character, so an editor jumps into the file.
 */
export function clampToText(text: string, line: number, column: number): { line: number; column: number } {
  const lines = text.split(/\r\n|\r|\n/);
  let lastLine = lines.length;
  while (lastLine > 1 && lines[lastLine - 1]!.trim() === "") lastLine--;
  const lastText = lines[lastLine - 1]!.trimEnd();
  const last = { line: lastLine, column: Math.max(1, lastText.length) };
  if (line > last.line || (line === last.line && column > last.column)) return last;
  return { line: Math.max(1, line), column: Math.max(1, column) };
}

/** An esbuild message as a build problem in project terms (`entry` project-relative), its position clamped to the file's text. */
export function problemOf(root: string, entry: string, message: Message): BuildProblem {
  const loc = message.location;
  const problem: BuildProblem = { file: entry, message: message.text };
  if (loc) {
    // esbuild reports paths relative to absWorkingDir (the root) already; normalise separators.
    const path = resolve(root, loc.file);
    problem.file = toProjectPath(root, path);
    let position = { line: loc.line, column: loc.column + 1 };
    try {
      position = clampToText(readFileSync(path, "utf8"), position.line, position.column);
    } catch {
      // Gone since the build: the position stays as esbuild gave it.
    }
    problem.line = position.line;
    problem.column = position.column;
  }
  return problem;
}

function isBuildFailure(error: unknown): error is esbuild.BuildFailure {
  return error instanceof Error && Array.isArray((error as Partial<esbuild.BuildFailure>).errors);
}

/** Points `<cacheDir>/node_modules/flash-ts` at `target`, replacing a stale link. */
async function ensureLink(linkPath: string, target: string): Promise<void> {
  try {
    if ((await readlink(linkPath)) === target) return;
    await unlink(linkPath);
  } catch {
    // absent (or not a link): create it below
    await rm(linkPath, { recursive: true, force: true });
  }
  await mkdir(dirname(linkPath), { recursive: true });
  try {
    // A junction needs no privilege on Windows and behaves like a directory symlink.
    await symlink(target, linkPath, process.platform === "win32" ? "junction" : "dir");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

/** Creates a bundler. No I/O until used. */
/**
 * esbuild's settings for every bundle made of user code: the modules flash dev
 * serves and the script flash run runs (docs/internals.md, Bundles).
 */
export const USER_CODE_BUILD = {
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node22",
  packages: "external",
  // External, then inlined by us: the map's sources must be rewritten first
  // (esbuild makes them relative to outdir).
  sourcemap: "external",
  sourcesContent: false,
  // Remote wrappers and @remote stand-ins take their names from the user's function and class.
  keepNames: true,
  write: false,
  metafile: true,
  outExtension: { ".js": ".mjs" },
  banner: { js: BUNDLE_BANNER },
  logLevel: "silent",
} as const satisfies esbuild.BuildOptions;

/** A source map as the comment that inlines it at the end of a bundle. */
export function inlineSourceMapComment(map: object): string {
  return `//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString("base64")}\n`;
}

export function createModuleBundler(options: ModuleBundlerOptions): ModuleBundler {
  const { root, cacheDir, packageRoot } = options;
  const bundlesDir = join(cacheDir, "bundles");
  /**
   * The bundles folder as Node names a module in it: its real path. A project
   * whose node_modules is a symlink has the cache behind it, and Node gives a
   * bundle the real path as import.meta.url, which tags its exports; looked up
   * by the other name they would not be found.
   */
  let realBundlesDir = bundlesDir;
  const contexts = new Map<string, Promise<BuildContext<{ write: false; metafile: true }>>>();
  const plugin = createTagPlugin(root);

  const contextFor = (entry: string): Promise<BuildContext<{ write: false; metafile: true }>> => {
    let ctx = contexts.get(entry);
    if (!ctx) {
      ctx = esbuild.context({
        ...USER_CODE_BUILD,
        absWorkingDir: root,
        entryPoints: [join(root, entry)],
        outdir: bundlesDir,
        plugins: [plugin],
      });
      contexts.set(entry, ctx);
    }
    return ctx;
  };

  const inlineSourceMap = (mapText: string): string => {
    const map = JSON.parse(mapText) as { sources: string[]; sourceRoot?: string };
    map.sources = map.sources.map((source) => toProjectPath(root, resolve(bundlesDir, source)));
    // Sources stay project-relative (workers name frames by them); the root makes them resolve to the files.
    if (options.absoluteSourceRoot) map.sourceRoot = `${pathToFileURL(root).href}/`;
    return inlineSourceMapComment(map);
  };

  const store = async (entry: string, code: string): Promise<{ hash: string; path: string }> => {
    const hash = sha256(code);
    const path = join(bundlesDir, `${slugOf(entry)}.${hash.slice(0, 8)}.mjs`);
    const exists = await stat(path).then(
      (s) => s.size === Buffer.byteLength(code),
      () => false,
    );
    if (!exists) {
      // Write then rename: a reader never sees half a bundle.
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, code);
      await rename(tmp, path);
    }
    return { hash, path };
  };

  const inputsOf = (entry: string, metafile: Metafile): string[] => {
    const inputs = Object.keys(metafile.inputs)
      .filter((key) => !key.includes("<") && !key.split("/").includes("node_modules"))
      .map((key) => toProjectPath(root, resolve(root, key)));
    return [entry, ...[...new Set(inputs)].filter((f) => f !== entry).sort()];
  };

  return {
    get bundlesDir() {
      return realBundlesDir;
    },
    async prepare() {
      await mkdir(bundlesDir, { recursive: true });
      realBundlesDir = await realpath(bundlesDir);
      await ensureLink(join(cacheDir, "node_modules", "flash-ts"), packageRoot);
    },
    async build(entry) {
      let result;
      try {
        result = await (await contextFor(entry)).rebuild();
      } catch (error) {
        if (!isBuildFailure(error)) {
          return { ok: false, file: entry, problems: [{ file: entry, message: error instanceof Error ? error.message : String(error) }] };
        }
        const problems = error.errors.map((m) => problemOf(root, entry, m));
        return { ok: false, file: entry, problems: problems.length > 0 ? problems : [{ file: entry, message: error.message }] };
      }
      const js = result.outputFiles.find((f) => f.path.endsWith(".mjs"));
      const map = result.outputFiles.find((f) => f.path.endsWith(".mjs.map"));
      const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(".mjs"))?.[1];
      if (!js || !map || !output) {
        return { ok: false, file: entry, problems: [{ file: entry, message: "esbuild produced no bundle" }] };
      }
      const code = js.text + inlineSourceMap(map.text);
      const { hash, path } = await store(entry, code);
      return {
        ok: true,
        file: entry,
        code,
        hash,
        path,
        url: pathToFileURL(join(realBundlesDir, basename(path))).href,
        inputs: inputsOf(entry, result.metafile),
        externals: collectExternalImports(output.imports),
      };
    },
    async drop(entry) {
      const ctx = contexts.get(entry);
      contexts.delete(entry);
      if (ctx) await ctx.then((c) => c.dispose(), () => undefined);
    },
    async dropAll() {
      const all = [...contexts.values()];
      contexts.clear();
      await Promise.all(all.map((ctx) => ctx.then((c) => c.dispose(), () => undefined)));
    },
    async collectGarbage(keep) {
      let names: string[];
      try {
        names = await readdir(bundlesDir);
      } catch {
        return;
      }
      await Promise.all(
        names
          .filter((name) => (name.endsWith(".mjs") || name.endsWith(".tmp")) && !keep.has(name))
          .map((name) => rm(join(bundlesDir, name), { force: true })),
      );
    },
  };
}
