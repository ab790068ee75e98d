/**
 * Discovery: project files → bundles → manifest, incrementally. The
 * composition of the scanner (which files), the bundler (one esbuild context
 * per candidate), the export reader (imports bundles in a worker thread) and
 * the route builder. Runs are serialised; each one produces a complete
 * manifest with a new generation number.
 */
import { createRequire } from "node:module";
import { realpathSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { AppError } from "../common/errors.js";
import { nullLogger } from "../common/logger.js";
import type { Logger } from "../common/logger.js";
import { PACKAGE_ROOT } from "../common/package-info.js";
import { buildFunctionEntries, routePrefix } from "./build-manifest.js";
import type { LoadedModule } from "./build-manifest.js";
import { createModuleBundler } from "./bundle-modules.js";
import type { BundleOutcome } from "./bundle-modules.js";
import { createVersionResolver, resolveModuleDependencies } from "./dependencies.js";
import { IGNORE_FILES, isOutside } from "./ignore-rules.js";
import type { DiscoveryIssue, Manifest, ModuleBundle } from "./manifest.js";
import { buildIssues, loadIssue, moduleWarnings } from "./module-issues.js";
import { createExportReader } from "./read-exports.js";
import type { ReadResult } from "./read-exports.js";
import { createProjectScanner } from "./scan-project.js";

/** Options of {@link createDiscovery}. */
export interface DiscoveryOptions {
  /** Project root. */
  root: string;
  logger?: Logger;
  /**
   * Where bundles are written (`<cacheDir>/bundles`) and `flash-ts` is linked
   * (`<cacheDir>/node_modules/flash-ts`). Default
   * `<root>/node_modules/.cache/flash-ts`. Keep it inside the project: other
   * bare imports of a bundle resolve from here up to the project's node_modules.
   */
  cacheDir?: string;
  /** How long a module's top-level code may take to import. Default 10 000 ms. */
  importTimeoutMs?: number;
  /** Package `flash-ts` resolves to from bundles. Default: the running tool's package root. */
  packageRoot?: string;
  /** How many generations' bundles stay on disk. Default 3. */
  keepGenerations?: number;
  /**
   * How long a file that had routes may look empty (or lose its remote
   * functions) before that is believed: an in-place save truncates, then
   * writes. Default 1000 ms.
   */
  settleMs?: number;
  /** Time source for the settle delay (tests drive a fake one). */
  clock?: Clock;
  /**
   * Bundles' source maps name files by absolute URL (a `sourceRoot` of the
   * project), so a debugger attached to a worker finds them (`flash dev
   * --inspect`; docs/internals.md, "Debugging"). Default false: bundles name
   * no path of this machine.
   */
  absoluteSourceRoot?: boolean;
}

/** A discovery instance for one project. */
export interface Discovery {
  /**
   * Runs discovery and returns a new manifest. With `changedPaths` (absolute
   * or root-relative; files or folders; added, changed or removed) only the
   * work those paths affect is done: rescanning them, rebuilding the bundles
   * whose inputs include them, and importing bundles whose code changed.
   * Without, the whole tree is rescanned and every bundle rebuilt (unchanged
   * code is still not re-imported). Calls are serialised. Problems with
   * user code become `issues`; only a closed instance or an unusable cache
   * folder rejects.
   */
  discover(changedPaths?: readonly string[]): Promise<Manifest>;
  /**
   * What a change to `changedPaths` may alter, known before discovering it:
   * the route prefixes (`/workers/gpu`) of the changed files and of every
   * file whose bundle includes one of them, or `"all"` (ignore rules, build
   * config, before the first scan). Routes outside them keep serving while
   * the change is discovered.
   */
  affectedRoutes(changedPaths: readonly string[]): "all" | string[];
  /** Every source file of the last scan (relative, sorted). */
  scannedFiles(): string[];
  /**
   * True when discovery never looks at `relPath` (ignore files, always-skipped
   * and hidden folders, test files). For the watcher; bundle inputs in
   * `manifest.watchedInputs` matter even when ignored.
   */
  isIgnored(relPath: string, isDirectory?: boolean): boolean;
  /**
   * Forgets what every module exported, so the next discover() imports them
   * all again in a fresh thread: for when something outside the code changed
   * what their top-level code computes (the environment, after a .env edit).
   */
  invalidate(): void;
  /** Releases esbuild contexts and the worker thread. Idempotent; discover() then rejects with DISPOSED. */
  close(): Promise<void>;
}

interface ModuleState {
  build?: BundleOutcome;
  /** Inputs of the last successful build (the entry alone before one). */
  inputs: string[];
  /** The read result of the last bundle imported, by its hash. */
  read?: { hash: string; result: ReadResult };
  /**
   * The last version of this file that built and loaded. While the file is
   * broken (a syntax error mid-edit, a throw at top level) its routes keep
   * serving this version instead of disappearing.
   */
  good?: { module: ModuleBundle; exports: LoadedModule["exports"] };
  /**
   * Set while a file that had routes looks empty or without remote functions:
   * since when (clock ms) it has looked so with this size and mtime.
   */
  unsettled?: { since: number; stat: string };
}

/** Files whose change invalidates every bundle. */
const BUILD_CONFIG = /^(package\.json|tsconfig(\.[^/]+)?\.json|jsconfig\.json)$/;

function resolveSdkUrl(packageRoot: string): string | undefined {
  try {
    // Resolve as a bundle would: the package's own exports, through its real path.
    const entry = createRequire(join(packageRoot, "package.json")).resolve("flash-ts");
    return pathToFileURL(realpathSync(entry)).href;
  } catch {
    return undefined; // not built: each bundle's import reports it
  }
}

/** Creates discovery for a project. No I/O until the first discover(). */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  const root = resolve(options.root);
  const logger = options.logger ?? nullLogger;
  const cacheDir = resolve(options.cacheDir ?? join(root, "node_modules", ".cache", "flash-ts"));
  const importTimeoutMs = options.importTimeoutMs ?? 10_000;
  const keepGenerations = Math.max(1, options.keepGenerations ?? 3);
  const packageRoot = options.packageRoot ?? PACKAGE_ROOT;
  const settleMs = Math.max(0, options.settleMs ?? 1000);
  const clock = options.clock ?? systemClock;

  const scanner = createProjectScanner(root);
  const bundler = createModuleBundler({ root, cacheDir, packageRoot, absoluteSourceRoot: options.absoluteSourceRoot === true });
  // Where source-mapped frames of a bundle point: its folder, or the project with an absolute source root.
  const sourceDir = (): string => (options.absoluteSourceRoot ? root : bundler.bundlesDir);
  const sdkUrl = resolveSdkUrl(packageRoot);
  const reader = createExportReader({ importTimeoutMs, logger, ...(sdkUrl ? { sdkUrl } : {}) });
  const states = new Map<string, ModuleState>();
  const history: Set<string>[] = [];
  let generation = 0;
  let scanned = false;
  let closed = false;
  let chain: Promise<unknown> = Promise.resolve();

  const toRel = (path: string): string => {
    const rel = isAbsolute(path) ? relative(root, path) : path;
    const norm = rel.split(sep).join("/").replace(/^\.\//, "").replace(/\/+$/, "");
    return norm === "" ? "." : norm;
  };

  /**
   * Whether a file that had routes and now looks empty, or no longer defines
   * remote functions, has settled in that state (docs/internals.md, "Bundles"):
   * it has kept the same size and mtime for `settleMs`. Until then it is an
   * in-place save half done, and its last good version keeps serving.
   */
  const hasSettled = (file: string, state: ModuleState, now: number): boolean => {
    const info = scanner.info(file);
    const stat = info ? `${info.size}:${info.mtimeMs}` : "";
    if (state.unsettled?.stat !== stat) state.unsettled = { since: now, stat };
    if (now - state.unsettled.since < settleMs) return false;
    state.unsettled = undefined;
    return true;
  };

  const run = async (changedPaths: readonly string[] | undefined): Promise<Manifest> => {
    const started = performance.now();
    const now = clock.now();
    const thisGeneration = ++generation;
    // The import thread starts while we scan and bundle (after the first run one is already waiting).
    reader.warm();
    const rels = changedPaths?.map(toRel) ?? [];
    let full = changedPaths === undefined || !scanned || rels.includes(".");
    if (rels.some((rel) => IGNORE_FILES.includes(rel))) {
      scanner.reloadIgnoreRules();
      full = true;
    }
    let rebuildAll = full;
    if (rels.some((rel) => BUILD_CONFIG.test(rel))) {
      // esbuild caches tsconfig per context; package.json can change "imports" or "type".
      await bundler.dropAll();
      rebuildAll = true;
    }
    // Cheap (mkdir -p + readlink), and node_modules may have been wiped and reinstalled since the last run.
    await bundler.prepare();
    if (full) {
      await scanner.scanAll();
      scanned = true;
    } else {
      await scanner.update(rels);
    }

    const candidates = scanner.candidates();
    const candidateSet = new Set(candidates);
    const scannedSet = new Set(scanner.files());
    /** Files that had routes and look empty now (no longer candidates, still there): held until they settle. */
    const held: string[] = [];
    for (const [file, state] of [...states]) {
      if (candidateSet.has(file)) continue;
      if (scannedSet.has(file) && state.good && !hasSettled(file, state, now)) {
        held.push(file);
        continue;
      }
      states.delete(file);
      await bundler.drop(file);
    }
    const touches = (input: string): boolean => rels.some((rel) => input === rel || input.startsWith(`${rel}/`));
    const toBuild = candidates.filter((file) => {
      const state = states.get(file);
      // A failed build is always retried: the fix may be a file it could not resolve yet.
      return rebuildAll || !state?.build || !state.build.ok || state.inputs.some(touches);
    });

    const outcomes = await Promise.all(toBuild.map((file) => bundler.build(file)));
    const toRead: { url: string; file: string }[] = [];
    for (const outcome of outcomes) {
      const state = states.get(outcome.file) ?? { inputs: [outcome.file] };
      state.build = outcome;
      if (outcome.ok) {
        state.inputs = outcome.inputs;
        // Same code, same exports: only a load that worked is reused. A failure may
        // come from outside the bundle (a package installed since) and is retried.
        if (state.read?.hash !== outcome.hash || !state.read.result.ok) toRead.push({ url: outcome.url, file: outcome.file });
      }
      states.set(outcome.file, state);
    }
    const reads = await reader.read(toRead);
    for (const outcome of outcomes) {
      const result = outcome.ok ? reads.get(outcome.url) : undefined;
      if (outcome.ok && result) states.get(outcome.file)!.read = { hash: outcome.hash, result };
    }

    const manifest = assemble(thisGeneration, candidates, held, now);
    manifest.stats = {
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      rebuilt: toBuild,
      reloaded: toRead.map((t) => t.file),
      fullScan: full,
    };
    await collectGarbage(manifest);
    logger.debug(
      `discovery #${thisGeneration}: ${manifest.functions.length} functions, ${manifest.issues.length} issues in ${manifest.stats.durationMs} ms` +
        ` (${full ? "full scan, " : ""}rebuilt ${toBuild.length}, imported ${toRead.length})`,
    );
    return manifest;
  };

  const assemble = (thisGeneration: number, candidates: string[], held: string[], now: number): Manifest => {
    const installed = createVersionResolver(root);
    const issues: DiscoveryIssue[] = [];
    const modules: Record<string, ModuleBundle> = {};
    const loaded: LoadedModule[] = [];
    const watched = new Set<string>(candidates);
    const unsettled: string[] = [];
    const hold = (file: string, good: NonNullable<ModuleState["good"]>): void => {
      loaded.push({ file, exports: good.exports });
      modules[file] = good.module;
      unsettled.push(file);
      logger.debug(`${file} looks empty or has no remote functions (a save in progress?); serving its last version until it settles`);
    };
    for (const file of held) {
      const state = states.get(file)!;
      for (const input of state.inputs) watched.add(input);
      if (state.good) hold(file, state.good);
    }
    for (const file of candidates) {
      const state = states.get(file);
      const build = state?.build;
      if (!state || !build) continue;
      for (const input of state.inputs) watched.add(input);
      if (!build.ok || !state.read?.result.ok || state.read.result.exports.length > 0) state.unsettled = undefined;
      const keepLastGood = (fileIssues: DiscoveryIssue[]): void => {
        if (state.good) {
          for (const issue of fileIssues) issue.message += " (still serving the last version that loaded)";
          loaded.push({ file, exports: state.good.exports });
          modules[file] = state.good.module;
        }
        issues.push(...fileIssues);
      };
      if (!build.ok) {
        keepLastGood(buildIssues(file, build.problems));
        for (const problem of build.problems) watched.add(problem.file);
        continue;
      }
      const result = state.read?.hash === build.hash ? state.read.result : undefined;
      if (!result) continue; // closed mid-run
      if (!result.ok) {
        keepLastGood([loadIssue(file, result.error, { bundleDir: sourceDir(), externals: build.externals, installed })]);
        continue;
      }
      const deps = resolveModuleDependencies(result.bundleDependencies, build.externals, installed);
      issues.push(...moduleWarnings(file, result.untagged, deps.missing));
      if (result.exports.length === 0) {
        if (state.good && !hasSettled(file, state, now)) hold(file, state.good);
        else state.good = undefined;
        continue;
      }
      loaded.push({ file, exports: result.exports });
      modules[file] = {
        file,
        hash: build.hash,
        code: build.code,
        path: build.path,
        url: build.url,
        dependencies: deps.specs,
        inputs: build.inputs,
      };
      state.good = { module: modules[file], exports: result.exports };
    }
    const routes = buildFunctionEntries(loaded);
    issues.push(...routes.issues);
    const manifest: Manifest = {
      generation: thisGeneration,
      functions: routes.functions,
      modules,
      issues,
      candidates,
      watchedInputs: [...watched].sort(),
    };
    if (unsettled.length > 0) {
      // The recheck is due when the first of them could have settled.
      const waited = Math.max(...unsettled.map((file) => now - (states.get(file)?.unsettled?.since ?? now)));
      manifest.unsettled = { files: unsettled.sort(), recheckInMs: Math.max(1, settleMs - waited) };
    }
    return manifest;
  };

  const collectGarbage = async (manifest: Manifest): Promise<void> => {
    const names = new Set(Object.values(manifest.modules).map((m) => m.path.slice(bundler.bundlesDir.length + 1)));
    history.push(names);
    while (history.length > keepGenerations) history.shift();
    const keep = new Set(history.flatMap((set) => [...set]));
    // Bundles built but not served (failed to load, no remote exports) are kept while current: a revert reuses them.
    for (const state of states.values()) {
      if (state.build?.ok) keep.add(state.build.path.slice(bundler.bundlesDir.length + 1));
      if (state.good) keep.add(state.good.module.path.slice(bundler.bundlesDir.length + 1));
    }
    await bundler.collectGarbage(keep);
  };

  return {
    discover(changedPaths) {
      if (closed) return Promise.reject(new AppError("DISPOSED", "discovery was closed"));
      const next = chain.then(() => run(changedPaths));
      chain = next.catch(() => undefined);
      return next;
    },
    invalidate() {
      for (const state of states.values()) state.read = undefined;
      reader.discardSpare();
    },
    affectedRoutes(changedPaths) {
      if (!scanned) return "all";
      const rels = changedPaths.map(toRel);
      if (rels.some((rel) => rel === "." || IGNORE_FILES.includes(rel) || BUILD_CONFIG.test(rel))) return "all";
      const touches = (input: string): boolean => rels.some((rel) => input === rel || input.startsWith(`${rel}/`));
      // A route's path starts with its file's prefix (build-manifest.ts), so a changed file
      // (new ones too) or folder can only add, change or remove routes under its own prefix.
      const prefixes = new Set(rels.filter((rel) => !isOutside(rel)).map(routePrefix));
      for (const [file, state] of states) if (state.inputs.some(touches)) prefixes.add(routePrefix(file));
      return [...prefixes];
    },
    scannedFiles: () => scanner.files(),
    isIgnored: (relPath, isDirectory) => scanner.rules.isIgnored(toRel(relPath), isDirectory ?? /[\\/]$/.test(relPath)),
    async close() {
      if (closed) return;
      closed = true;
      await chain;
      await bundler.dropAll();
      await reader.close();
    },
  };
}
