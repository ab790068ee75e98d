/**
 * The endpoint cache: `.runpod/resources.json` in the project. Versioned
 * JSON, written atomically under the inter-process lock (docs/internals.md,
 * "Locks"; the host CLI and the dev container share the folder). It records,
 * per endpoint, what flash needs to reuse it without asking the provider: id,
 * kind, the config hash it was last brought to, and when. Never the API key.
 *
 * The provider's list (by project marker) is the truth; the cache saves
 * asking it. So a file that cannot be read is never fatal and never silently
 * lost (docs/internals.md, "Project state in .runpod"): a corrupt one is kept
 * aside as `resources.json.corrupt-<time>` and reported, and the provisioner
 * rebuilds what it can from the provider; a file of a newer format is never
 * overwritten (refused, naming both versions).
 */
import { readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "../common/atomic-write.js";
import { AppError } from "../common/errors.js";
import { isRecord } from "../common/is-record.js";
import { withLock } from "../common/lock.js";
import type { LockOptions } from "../common/lock.js";
import type { Logger } from "../common/logger.js";
import { nullLogger } from "../common/logger.js";

export const CACHE_VERSION = 1;

/** Which provider an endpoint lives on: the embedded emulator or Runpod. */
export type BackendKind = "local" | "runpod";

export interface CachedEndpoint {
  /** `live-<name>` */
  name: string;
  id: string;
  kind: "QB" | "LB";
  backend: BackendKind;
  configHash: string;
  createdAt: string;
  updatedAt: string;
  /** The project that created it. */
  projectId: string;
  /** workersMin at the last update (endpoints with warm workers bill while idle). */
  workersMin: number;
}

interface CacheFile {
  version: number;
  endpoints: Record<string, CachedEndpoint>;
}

export interface ResourceCache {
  readonly path: string;
  /** Files this cache kept aside because they were corrupt (the provisioner recovers their endpoints from the provider). */
  readonly setAside: readonly string[];
  get(backend: BackendKind, name: string): Promise<CachedEndpoint | undefined>;
  list(backend?: BackendKind): Promise<CachedEndpoint[]>;
  put(entry: CachedEndpoint): Promise<void>;
  /** Removes the entry of `name`; with `id`, only if it is that endpoint's. */
  remove(backend: BackendKind, name: string, id?: string): Promise<void>;
}

export interface ResourceCacheOptions {
  /** Lock timings (tests shorten them). */
  lock?: Pick<LockOptions, "staleMs" | "heartbeatMs" | "timeoutMs" | "pollMs" | "clock">;
}

function keyOf(backend: BackendKind, name: string): string {
  return `${backend}:${name}`;
}

function isEntry(value: unknown): value is CachedEndpoint {
  return (
    isRecord(value) &&
    typeof value.name === "string" &&
    typeof value.id === "string" &&
    (value.kind === "QB" || value.kind === "LB") &&
    (value.backend === "local" || value.backend === "runpod") &&
    typeof value.configHash === "string"
  );
}

/** What a cache file's text holds: usable endpoints, a reason it is bad, or a newer format. */
type Parsed = { ok: true; file: CacheFile; dropped: number } | { ok: false; reason: string } | { ok: "newer"; version: number };

function parse(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: text.trim() === "" ? "empty" : `not valid JSON (${(error as Error).message})` };
  }
  if (!isRecord(value)) return { ok: false, reason: "not a JSON object" };
  if (typeof value.version === "number" && value.version > CACHE_VERSION) return { ok: "newer", version: value.version };
  if (value.version !== CACHE_VERSION || !isRecord(value.endpoints)) return { ok: false, reason: `not a version ${CACHE_VERSION} endpoint cache` };
  const endpoints: Record<string, CachedEndpoint> = {};
  let dropped = 0;
  for (const [key, entry] of Object.entries(value.endpoints)) {
    if (isEntry(entry)) endpoints[key] = entry;
    else dropped++;
  }
  return { ok: true, file: { version: CACHE_VERSION, endpoints }, dropped };
}

/** Where a bad state file is kept aside: `<path>.corrupt-<time>`. */
export function corruptCopyPath(path: string): string {
  return `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
}

/** The refusal to touch a newer format: never downgraded, whatever else happens. */
export function newerStateFileError(path: string, found: number, supported: number, what: string): AppError {
  return new AppError("CONFLICT", `${path} was written by a newer flash-ts (${what} version ${found}; this flash-ts reads version ${supported})`, {
    hint: `Upgrade flash-ts to use this project (npm install -D flash-ts@latest). flash-ts never rewrites a newer file in an older format; to start over with this version, move ${path} away.`,
    details: { path, version: found, supported },
  });
}

/**
 * Temporary files of atomic writes whose writer was killed. Only a holder of
 * the cache lock writes the cache, so while we hold it, every one is garbage.
 */
async function removeLeftoverTemps(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith(".tmp")) await rm(join(dirname(path), name), { force: true }).catch(() => {});
  }
}

/** Opens the cache at `<stateDir>/resources.json`. */
export function createResourceCache(stateDir: string, logger: Logger = nullLogger, options: ResourceCacheOptions = {}): ResourceCache {
  const path = join(stateDir, "resources.json");
  const lockPath = `${path}.lock`;
  const setAside: string[] = [];
  let warnedUnreadable = false;

  const readText = async (): Promise<string | undefined> => {
    try {
      return await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  };

  /** Renames the bad file aside and says so. The caller holds the lock. */
  const keepAside = async (reason: string, readable: number | undefined): Promise<void> => {
    const aside = corruptCopyPath(path);
    await rename(path, aside);
    setAside.push(aside);
    logger.warn(
      `${path} is ${reason}; kept it as ${aside}. ` +
        (readable === undefined ? "Its endpoints" : `Its ${readable} readable endpoint(s) stay; the others`) +
        " are recovered from the provider by this project's marker.",
    );
  };

  /**
   * Keeps a bad file aside and leaves a clean one with what could be read. Under
   * the lock, and only if the file still holds the text judged bad: a reader
   * must never move aside a good file a writer has just put in its place.
   */
  const quarantine = async (badText: string, reason: string, kept: CacheFile | undefined): Promise<void> => {
    await withLock(
      lockPath,
      async () => {
        if ((await readText()) !== badText) return;
        await keepAside(reason, kept && Object.keys(kept.endpoints).length);
        await writeFileAtomic(path, JSON.stringify(kept ?? { version: CACHE_VERSION, endpoints: {} }, null, 2) + "\n");
      },
      options.lock,
    ).catch((error: unknown) => {
      logger.warn(`${path} is ${reason}, and could not be kept aside (${(error as Error).message}); reading it as empty`);
    });
  };

  /** The cache's content. `forWrite`: a file that cannot be read fails the write rather than being overwritten. */
  async function load(forWrite: boolean): Promise<CacheFile> {
    const empty = (): CacheFile => ({ version: CACHE_VERSION, endpoints: {} });
    let text: string | undefined;
    try {
      text = await readText();
    } catch (error) {
      if (forWrite) throw error;
      // EISDIR, EACCES…: the provider's list stands in for it; writes will fail and say so.
      if (!warnedUnreadable) {
        warnedUnreadable = true;
        logger.warn(`Cannot read ${path} (${(error as Error).message}); endpoints are looked up on the provider instead`);
      }
      return empty();
    }
    if (text === undefined) return empty();
    const parsed = parse(text);
    if (parsed.ok === "newer") throw newerStateFileError(path, parsed.version, CACHE_VERSION, "cache");
    if (parsed.ok === true && parsed.dropped === 0) return parsed.file;
    const reason = parsed.ok === true ? `partly unreadable (${parsed.dropped} malformed endpoint entries)` : parsed.reason;
    const kept = parsed.ok === true ? parsed.file : undefined;
    // A writer holds the lock already and replaces the file next; a reader takes the lock for it.
    if (forWrite) await keepAside(reason, kept && Object.keys(kept.endpoints).length);
    else await quarantine(text, reason, kept);
    return kept ?? empty();
  }

  async function update(mutate: (file: CacheFile) => void): Promise<void> {
    await withLock(
      lockPath,
      async () => {
        const file = await load(true);
        mutate(file);
        await writeFileAtomic(path, JSON.stringify(file, null, 2) + "\n");
        await removeLeftoverTemps(path);
      },
      options.lock,
    );
  }

  return {
    path,
    setAside,
    get: async (backend, name) => (await load(false)).endpoints[keyOf(backend, name)],
    list: async (backend) => Object.values((await load(false)).endpoints).filter((e) => !backend || e.backend === backend),
    put: (entry) =>
      update((file) => {
        file.endpoints[keyOf(entry.backend, entry.name)] = entry;
      }),
    remove: (backend, name, id) =>
      update((file) => {
        const key = keyOf(backend, name);
        if (id === undefined || file.endpoints[key]?.id === id) delete file.endpoints[key];
      }),
  };
}
