/**
 * Installs a module's npm dependencies into the worker cache, once per
 * distinct sorted spec list: `<cache>/deps/<key>/node_modules`. Modules that
 * need them are written to `<cache>/deps/<key>/modules/`, so Node's normal
 * resolution finds them (and `flash-ts` one level further up, at the cache root).
 *
 * Once per process (a promise memo) and once per cache (a marker file written
 * after a successful install, checked under an inter-process lock), because
 * several worker processes may share the cache.
 */
import { spawn } from "node:child_process";
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../common/errors.js";
import { sha256 } from "../common/hash.js";
import type { Logger } from "../common/logger.js";
import { withLock } from "../common/lock.js";

/** The key of a module without dependencies: its modules live in `<cache>/deps/none/modules`. */
export const NO_DEPENDENCIES = "none";

const MARKER = ".flash-installed";
/**
 * An install lock's holders share this machine (one worker cache), where a dead
 * holder is seen by its pid at once. A live one may block its event loop for a
 * while (a CPU-bound function running beside the install), so its heartbeat is
 * given minutes, not seconds, before it counts as hung.
 */
const INSTALL_STALE_MS = 10 * 60_000;
/** How long a worker waits for another one's install of the same dependencies. */
const INSTALL_WAIT_MS = 15 * 60_000;

/** A dependency list, normalised: the folder key and the specs npm gets. */
export interface DependencySet {
  /** `none`, or 16 hex chars of the sha256 of the sorted specs. */
  key: string;
  specs: readonly string[];
}

/**
 * Normalises a request's dependency list: de-duplicated and sorted; `flash-ts`
 * itself is dropped, because the module must use the runtime's own copy (one
 * registry), which the cache links at `<cache>/node_modules/flash-ts`.
 */
export function resolveDependencySet(dependencies: readonly string[] | undefined): DependencySet {
  const specs = [...new Set(dependencies ?? [])].filter((spec) => spec !== "flash-ts" && !spec.startsWith("flash-ts@")).sort();
  for (const spec of specs) {
    // Specs go to npm as arguments (no shell); refuse anything npm would read as an option.
    if (spec.length === 0 || spec.startsWith("-") || /\s/.test(spec)) {
      throw new AppError("INVALID_INPUT", `dependency ${JSON.stringify(spec)} is not an npm package spec`);
    }
  }
  return { key: specs.length === 0 ? NO_DEPENDENCIES : sha256(specs.join("\n")).slice(0, 16), specs };
}

export interface DependencyInstaller {
  /** Makes sure `set` is installed; resolves to its folder and whether this call ran npm. */
  ensure(set: DependencySet): Promise<{ dir: string; installed: boolean }>;
}

export interface DependencyInstallerOptions {
  cacheDir: string;
  logger: Logger;
  /** The npm executable. Default `npm` (from PATH). */
  npmCommand?: string;
  env?: NodeJS.ProcessEnv;
}

/** npm settings inherited from a parent `npm run`/`npx` that would change what or where we install. */
const INHERITED_NPM_SETTINGS = /^npm_config_(prefix|global|location|ignore_scripts|dry_run|save|package_lock|omit|include|production|only|workspaces?)$/i;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function runNpm(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString("utf8")).slice(-8000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

export function createDependencyInstaller(options: DependencyInstallerOptions): DependencyInstaller {
  const { cacheDir, logger } = options;
  const npm = options.npmCommand ?? "npm";
  const memo = new Map<string, Promise<{ dir: string; installed: boolean }>>();
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(options.env ?? process.env)) {
    if (!INHERITED_NPM_SETTINGS.test(key)) env[key] = value;
  }

  async function install(set: DependencySet): Promise<{ dir: string; installed: boolean }> {
    const dir = join(cacheDir, "deps", set.key);
    const marker = join(dir, MARKER);
    if (set.specs.length === 0) {
      await mkdir(dir, { recursive: true });
      return { dir, installed: false };
    }
    if (await exists(marker)) return { dir, installed: false };
    await mkdir(join(cacheDir, "deps"), { recursive: true });
    return withLock(
      `${dir}.lock`,
      async () => {
        if (await exists(marker)) return { dir, installed: false }; // another process did it while we waited
        await mkdir(dir, { recursive: true });
        // A package.json of its own: without one npm walks up and would install into the cache root.
        await writeFile(join(dir, "package.json"), JSON.stringify({ name: `flash-deps-${set.key}`, private: true }) + "\n");
        const started = performance.now();
        logger.info(`installing ${set.specs.join(", ")}`);
        // Install scripts stay on (explicitly, whatever the environment says): packages with
        // native parts (sharp, bcrypt…) need them, and these are the user's own declared dependencies.
        const args = ["install", "--no-save", "--no-audit", "--no-fund", "--no-update-notifier", "--ignore-scripts=false", "--loglevel=error", "--prefix", dir, ...set.specs];
        let result: { code: number | null; output: string };
        try {
          result = await runNpm(npm, args, dir, env);
        } catch (error) {
          throw new AppError("DEPENDENCY_INSTALL_FAILED", `could not run npm to install ${set.specs.join(", ")}: ${(error as Error).message}`, {
            hint: "The worker image needs npm on PATH.",
            cause: error,
          });
        }
        if (result.code !== 0) {
          throw new AppError("DEPENDENCY_INSTALL_FAILED", `npm install ${set.specs.join(" ")} failed (exit ${result.code}):\n${result.output.trim()}`, {
            hint: "Check the package names and versions in the function's `dependencies`.",
          });
        }
        await writeFile(marker, JSON.stringify({ specs: set.specs, at: new Date().toISOString() }) + "\n");
        logger.info(`installed ${set.specs.length} dependenc${set.specs.length === 1 ? "y" : "ies"} in ${Math.round(performance.now() - started)} ms`);
        return { dir, installed: true };
      },
      {
        // npm can take minutes; the holder's heartbeat tells a live install from a dead one, so waiting long is safe.
        staleMs: INSTALL_STALE_MS,
        timeoutMs: INSTALL_WAIT_MS,
        pollMs: 200,
        onWait: () => logger.info(`waiting for another worker process to install ${set.specs.join(", ")}`),
      },
    );
  }

  return {
    ensure(set) {
      const known = memo.get(set.key);
      if (known) return known.then(({ dir }) => ({ dir, installed: false }));
      const pending = install(set);
      memo.set(set.key, pending);
      // A failure is not remembered: the next request tries again (registries have bad moments).
      pending.catch(() => memo.delete(set.key));
      return pending;
    },
  };
}
