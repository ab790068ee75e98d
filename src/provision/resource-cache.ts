/**
 * The endpoint cache: `.runpod/resources.json` in the project. Versioned
 * JSON, written atomically under an inter-process lock (the host CLI and the
 * dev container share the folder). It records, per endpoint, what flash
 * needs to reuse it without asking the provider: id, kind, the config hash
 * it was last brought to, and when. Never the API key.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "../shared/atomic-write.js";
import { withLock } from "../shared/lock.js";
import type { Logger } from "../shared/logger.js";
import { nullLogger } from "../shared/logger.js";

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
  get(backend: BackendKind, name: string): Promise<CachedEndpoint | undefined>;
  list(backend?: BackendKind): Promise<CachedEndpoint[]>;
  put(entry: CachedEndpoint): Promise<void>;
  remove(backend: BackendKind, name: string): Promise<void>;
}

function keyOf(backend: BackendKind, name: string): string {
  return `${backend}:${name}`;
}

function isEntry(value: unknown): value is CachedEndpoint {
  if (!value || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === "string" &&
    typeof v.id === "string" &&
    (v.kind === "QB" || v.kind === "LB") &&
    (v.backend === "local" || v.backend === "runpod") &&
    typeof v.configHash === "string"
  );
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

/** Opens the cache at `<stateDir>/resources.json`. A corrupt or newer-version file is reported and treated as empty (the provider's list is the fallback). */
export function createResourceCache(stateDir: string, logger: Logger = nullLogger): ResourceCache {
  const path = join(stateDir, "resources.json");
  let warned = false;

  async function load(): Promise<CacheFile> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: CACHE_VERSION, endpoints: {} };
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as Partial<CacheFile>;
      if (parsed.version !== CACHE_VERSION || !parsed.endpoints || typeof parsed.endpoints !== "object") {
        throw new Error(`unsupported cache version ${JSON.stringify(parsed.version)}`);
      }
      const endpoints: Record<string, CachedEndpoint> = {};
      for (const [key, entry] of Object.entries(parsed.endpoints)) if (isEntry(entry)) endpoints[key] = entry;
      return { version: CACHE_VERSION, endpoints };
    } catch (error) {
      if (!warned) {
        warned = true;
        logger.warn(`${path} is unreadable (${(error as Error).message}); endpoints will be recovered from the provider's list`);
      }
      return { version: CACHE_VERSION, endpoints: {} };
    }
  }

  async function update(mutate: (file: CacheFile) => void): Promise<void> {
    await withLock(`${path}.lock`, async () => {
      const file = await load();
      mutate(file);
      await writeFileAtomic(path, JSON.stringify(file, null, 2) + "\n");
      await removeLeftoverTemps(path);
    });
  }

  return {
    path,
    get: async (backend, name) => (await load()).endpoints[keyOf(backend, name)],
    list: async (backend) => Object.values((await load()).endpoints).filter((e) => !backend || e.backend === backend),
    put: (entry) =>
      update((file) => {
        file.endpoints[keyOf(entry.backend, entry.name)] = entry;
      }),
    remove: (backend, name) =>
      update((file) => {
        delete file.endpoints[keyOf(backend, name)];
      }),
  };
}
