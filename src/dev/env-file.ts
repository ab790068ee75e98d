/**
 * `.env` handling for `flash dev`: values from the project's `.env` fill in
 * variables the shell did not set (the shell wins). When the file changes,
 * the previous file values are taken back out and the new ones applied, so
 * a restart sees exactly "shell + current .env".
 *
 * The file is the nearest `.env` from the project folder upward, as Python
 * Flash finds it, stopping at the repository root (the folder holding `.git`)
 * or the home folder, so one `.env` at the root of a repository serves every
 * project in it (docs/internals.md, "The .env file"). A `.env` above the
 * project is watched by a watcher of its own.
 */
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { parse } from "dotenv";
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { createWatcher } from "../watch/index.js";

/**
 * Inside the dev container: the `.env` above the project, mounted by the host
 * CLI (the container sees only the project). `FLASH_ENV_FILE_HOST` is its
 * path on the host, for the banner.
 */
export const OUTER_ENV_FILE_ENV = "FLASH_ENV_FILE";
export const OUTER_ENV_FILE_HOST_ENV = "FLASH_ENV_FILE_HOST";

export interface EnvFileState {
  /** Keys whose value currently comes from the file. */
  applied: Map<string, string>;
  /** The `.env` the values came from (absolute); undefined when there is none. */
  path?: string;
}

export interface LoadedEnvFile {
  path?: string;
  values: Record<string, string>;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** The nearest `.env` from `root` upward (see above), or undefined. */
export async function findEnvFile(root: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  let dir = resolve(root);
  if (env.FLASH_IN_CONTAINER === "1") {
    // The container sees only the project; the host mounted the .env above it, if any.
    if (await isFile(join(dir, ".env"))) return join(dir, ".env");
    const outer = env[OUTER_ENV_FILE_ENV]?.trim();
    return outer && (await isFile(outer)) ? outer : undefined;
  }
  const home = env.HOME?.trim() ? resolve(env.HOME) : undefined;
  for (;;) {
    const candidate = join(dir, ".env");
    if (await isFile(candidate)) return candidate;
    if (dir === home || (await exists(join(dir, ".git")))) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Finds and parses the project's `.env`; none is an empty one. */
export async function loadEnvFile(root: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedEnvFile> {
  const path = await findEnvFile(root, env);
  if (!path) return { values: {} };
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    // Deleted between the look and the read: as if there were none.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { values: {} };
    throw new AppError("INVALID_CONFIG", `cannot read ${path}: ${(error as Error).message}`, { hint: "Fix the file's permissions, or remove it.", cause: error });
  }
  return { path, values: parse(text) };
}

/** The values of the project's `.env` (see {@link loadEnvFile}). */
export async function readEnvFile(root: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, string>> {
  return (await loadEnvFile(root, env)).values;
}

/** How the banner names the `.env` in use (inside the container, the host's path of one mounted from above). */
export function describeEnvFile(path: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (!path) return "no .env found";
  const host = env[OUTER_ENV_FILE_HOST_ENV]?.trim();
  return host && path === env[OUTER_ENV_FILE_ENV]?.trim() ? `${host} (on the host)` : path;
}

/**
 * Watches a `.env` outside the project folder (the project's watcher sees
 * only the project): `onChange` is called when it is saved, created or deleted.
 */
export async function watchOuterEnvFile(
  path: string,
  onChange: () => void,
  logger: Logger,
  watch: typeof createWatcher = createWatcher,
): Promise<{ close(): Promise<void> }> {
  const name = basename(path);
  // Its folder alone, nothing below it: the repository root may hold thousands of files.
  const watcher = watch({ root: dirname(path), isIgnored: (rel, isDir) => (isDir ? rel !== "" : rel !== name), logger });
  await watcher.ready;
  watcher.onChange((batch) => {
    if (batch.paths.includes(name)) onChange();
  });
  return watcher;
}

/**
 * Applies file values to `env` where the shell did not set them, undoing the
 * values a previous call applied. Returns the new state and the keys whose
 * effective value changed.
 */
export function applyEnvFile(
  env: NodeJS.ProcessEnv,
  values: Record<string, string>,
  previous: EnvFileState = { applied: new Map() },
  path?: string,
): { state: EnvFileState; changed: string[] } {
  const changed = new Set<string>();
  for (const [key, value] of previous.applied) {
    // Only take back what we put there; if someone changed it since, leave it.
    if (env[key] === value) {
      delete env[key];
      changed.add(key);
    }
  }
  const applied = new Map<string, string>();
  for (const [key, value] of Object.entries(values)) {
    if (env[key] !== undefined) continue; // the shell wins
    env[key] = value;
    applied.set(key, value);
    if (previous.applied.get(key) === value) changed.delete(key);
    else changed.add(key);
  }
  return { state: { applied, ...(path ? { path } : {}) }, changed: [...changed].sort() };
}
