/**
 * The worker's module cache (docs/internals.md, "The worker runtime"):
 *
 *   <cache>/node_modules/flash-ts           → this package (one SDK instance, one registry), or, for a
 *                                            runtime delivered as one bundle, a package re-exporting it
 *   <cache>/deps/<key>/node_modules/…        dependencies of a spec list (key: see dependency-installer)
 *   <cache>/deps/<key>/modules/<hash>.mjs    module bundles, byte-identical to what the caller hashed
 *
 * A module is written once (temp file + rename, so other processes never see
 * half a file), imported once and memoised by dependency key + hash. The hot
 * path — a module already loaded — is one Map lookup.
 */
import { lstat, mkdir, readFile, readlink, realpath, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { isAppError } from "../common/errors.js";
import type { FunctionRequest } from "../common/function-protocol.js";
import { sha256 } from "../common/hash.js";
import type { Logger } from "../common/logger.js";
import { PACKAGE_ROOT } from "../common/package-info.js";
import { CallError } from "./call-error.js";
import { resolveDependencySet } from "./dependency-installer.js";
import type { DependencyInstaller, DependencySet } from "./dependency-installer.js";
import { registerModuleSources } from "./stack-trace.js";

/** A module bundle that has been imported in this process. */
export interface LoadedModule {
  hash: string;
  /** file: URL it was imported from (its `import.meta.url`, the registry's bundle key). */
  url: string;
  path: string;
  dependencies: DependencySet;
}

/** `import()` of a module file by URL (a seam: the one place modules enter the process). */
export const nativeImport = (url: string): Promise<Record<string, unknown>> => import(/* @vite-ignore */ url) as Promise<Record<string, unknown>>;

let tmpCounter = 0;

async function writeAtomically(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  await writeFile(tmp, data);
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Points `link` at `target`, replacing whatever is there without a window where it is missing. */
async function ensureSymlink(target: string, link: string): Promise<void> {
  try {
    if ((await readlink(link)) === target) return;
  } catch {
    // missing, or not a link: replaced below
  }
  const tmp = `${link}.${process.pid}.${++tmpCounter}.tmp`;
  await symlink(target, tmp, "dir");
  try {
    await rename(tmp, link);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

export interface ModuleCacheOptions {
  cacheDir: string;
  installer: DependencyInstaller;
  logger: Logger;
  /**
   * A module file that exports the SDK (the delivered runtime bundle). Modules then import
   * `flash-ts` from a small package in the cache that re-exports it, so they share the
   * runtime's SDK instance. Default: `flash-ts` links to this package's folder.
   */
  sdkEntry?: string;
}

/** Writes `<cache>/node_modules/flash-ts` as a package whose entry re-exports `entry`. */
async function writeSdkShim(root: string, entry: string): Promise<void> {
  const dir = join(root, "node_modules", "flash-ts");
  // A link left by a package runtime would make us write into that package: replace it.
  if ((await lstat(dir).catch(() => undefined))?.isSymbolicLink()) await rm(dir, { force: true });
  await mkdir(dir, { recursive: true });
  const target = relative(dir, entry).split(sep).join("/");
  const files: [string, string][] = [
    ["package.json", JSON.stringify({ name: "flash-ts", type: "module", exports: "./index.mjs" }) + "\n"],
    ["index.mjs", `export * from ${JSON.stringify(target.startsWith(".") ? target : `./${target}`)};\n`],
  ];
  for (const [name, text] of files) {
    const path = join(dir, name);
    const current = await readFile(path, "utf8").catch(() => undefined);
    if (current !== text) await writeAtomically(path, text);
  }
}

export class ModuleCache {
  readonly #options: ModuleCacheOptions;
  #root: string;
  #prepared: Promise<void> | undefined;
  readonly #modules = new Map<string, Promise<LoadedModule>>();
  readonly #byUrl = new Map<string, LoadedModule>();
  readonly #depSets = new Map<string, DependencySet>();
  readonly #modulesDirs = new Map<string, Promise<string>>();

  constructor(options: ModuleCacheOptions) {
    this.#options = options;
    this.#root = options.cacheDir;
  }

  /** The cache folder, with symlinks resolved once prepared (that is how Node names the modules). */
  get root(): string {
    return this.#root;
  }

  /** Creates the cache folder and the `flash-ts` link. Idempotent; every load waits for it. */
  prepare(): Promise<void> {
    this.#prepared ??= (async () => {
      await mkdir(join(this.#options.cacheDir, "node_modules"), { recursive: true });
      this.#root = await realpath(this.#options.cacheDir);
      if (this.#options.sdkEntry) await writeSdkShim(this.#root, await realpath(this.#options.sdkEntry));
      else await ensureSymlink(PACKAGE_ROOT, join(this.#root, "node_modules", "flash-ts"));
    })();
    return this.#prepared;
  }

  /** The loaded module a bundle URL belongs to (for nested calls). */
  byUrl(url: string): LoadedModule | undefined {
    return this.#byUrl.get(url);
  }

  /** The original text of a loaded module (to forward it to another endpoint). */
  readCode(mod: LoadedModule): Promise<string> {
    return readFile(mod.path, "utf8");
  }

  /**
   * Loads the module a request names: from memory, from the cache folder, or
   * from the request's code. Throws CallError("module-missing") when none has it.
   */
  load(request: FunctionRequest): Promise<LoadedModule> {
    const depsRaw = request.dependencies === undefined ? "" : request.dependencies.join("\0");
    let deps = this.#depSets.get(depsRaw);
    if (!deps) {
      try {
        deps = resolveDependencySet(request.dependencies);
      } catch (error) {
        return Promise.reject(new CallError("dependencies", (error as Error).message, { cause: error }));
      }
      this.#depSets.set(depsRaw, deps);
    }
    const { hash, code } = request.module;
    if (code !== undefined && sha256(code) !== hash) {
      return Promise.reject(
        new CallError("load", `module code does not match its hash (sha256 of the code is not ${hash})`, { name: "ModuleHashMismatch" }),
      );
    }
    const key = `${deps.key}:${hash}`;
    const known = this.#modules.get(key);
    if (known) return known;
    if (code === undefined) return this.#loadFromDisk(key, hash, deps);
    const pending = this.#loadFromCode(hash, code, deps);
    this.#remember(key, pending);
    return pending;
  }

  #remember(key: string, pending: Promise<LoadedModule>): void {
    this.#modules.set(key, pending);
    pending.then(
      (mod) => this.#byUrl.set(mod.url, mod),
      // Only a failed import is final (Node caches it too); install and I/O failures may pass.
      (error: unknown) => {
        if (!(error instanceof CallError && error.kind === "load")) this.#modules.delete(key);
      },
    );
  }

  #modulesDir(deps: DependencySet): Promise<string> {
    let dir = this.#modulesDirs.get(deps.key);
    if (!dir) {
      dir = (async () => {
        await this.prepare();
        const path = join(this.#root, "deps", deps.key, "modules");
        await mkdir(path, { recursive: true });
        return path;
      })();
      this.#modulesDirs.set(deps.key, dir);
      dir.catch(() => this.#modulesDirs.delete(deps.key));
    }
    return dir;
  }

  async #installDependencies(deps: DependencySet): Promise<void> {
    try {
      await this.#options.installer.ensure(deps);
    } catch (error) {
      const message = isAppError(error) || error instanceof Error ? error.message : String(error);
      throw new CallError("dependencies", message, { name: "DependencyInstallError", cause: error });
    }
  }

  async #loadFromCode(hash: string, code: string, deps: DependencySet): Promise<LoadedModule> {
    await this.#installDependencies(deps);
    const path = join(await this.#modulesDir(deps), `${hash}.mjs`);
    await writeAtomically(path, code);
    return this.#import(hash, path, code, deps);
  }

  async #loadFromDisk(key: string, hash: string, deps: DependencySet): Promise<LoadedModule> {
    await this.prepare();
    const path = join(this.#root, "deps", deps.key, "modules", `${hash}.mjs`);
    let code: string;
    try {
      code = await readFile(path, "utf8");
    } catch {
      code = "";
    }
    // Another request may have started loading it meanwhile; join that one.
    const known = this.#modules.get(key);
    if (known) return known;
    // Written by another process sharing the cache: usable if it is intact.
    if (!code || sha256(code) !== hash) {
      throw new CallError("module-missing", `this worker does not have module ${hash}; send it with its code`, { name: "ModuleMissing" });
    }
    const pending = (async () => {
      await this.#installDependencies(deps);
      return this.#import(hash, path, code, deps);
    })();
    this.#remember(key, pending);
    return pending;
  }

  async #import(hash: string, path: string, code: string, deps: DependencySet): Promise<LoadedModule> {
    const url = pathToFileURL(path).href;
    registerModuleSources(url, code);
    const started = performance.now();
    try {
      await nativeImport(url);
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      const failure = new CallError("load", `module ${hash.slice(0, 12)} failed to load: ${err.message}`, { name: err.name, cause: err });
      if (err.stack) failure.stack = err.stack;
      throw failure;
    }
    this.#options.logger.debug(`loaded module ${hash.slice(0, 12)} in ${(performance.now() - started).toFixed(1)} ms`);
    return { hash, url, path, dependencies: deps };
  }
}
