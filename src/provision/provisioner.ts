/**
 * ensureEndpoint(): the one way an endpoint comes to exist. Lazy by default
 * (the first call of one of its functions), once per name even under
 * concurrent first calls, and with no control-plane writes when the cached
 * endpoint already matches the code. A changed config updates the endpoint
 * in place; a lost cache is rebuilt from the provider's list of endpoints
 * that carry this project's marker.
 *
 * A created endpoint is never forgotten (docs/internals.md, "Project state in
 * .runpod"): the session remembers it before writing the cache, a cache write
 * that fails is retried until it lands, and nothing is created without first
 * looking the name up, by project marker, on a fresh list from the provider.
 * Several endpoints of one name (left by older versions) are reported, one is
 * kept, and the others are orphans.
 */
import pLimit from "p-limit";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { AppError, hasCode, isAppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { ResourceSpec } from "../sdk/resources.js";
import type { ControlPlaneClient } from "../runpod/control-plane.js";
import type { Endpoint } from "../runpod/wire-types.js";
import { endpointConfigHash, toCreateEndpointRequest, toUpdateEndpointRequest } from "./endpoint-request.js";
import type { WorkerRuntimeSettings } from "./endpoint-request.js";
import { byName, chooseKeeper, projectEndpointsOf } from "./provider-endpoints.js";
import type { BackendKind, CachedEndpoint, ResourceCache } from "./resource-cache.js";

/** The control-plane operations provisioning needs: those of the REST v2 client. */
export type ControlPlane = Pick<ControlPlaneClient, "createEndpoint" | "listEndpoints" | "getEndpoint" | "updateEndpoint" | "deleteEndpoint">;

export interface ProvisionedEndpoint {
  name: string;
  id: string;
  kind: "QB" | "LB";
}

export type ProvisionOutcome = "cached" | "created" | "updated" | "adopted";

export interface ProvisionerOptions {
  controlPlane: ControlPlane;
  cache: ResourceCache;
  backend: BackendKind;
  runtime: WorkerRuntimeSettings;
  logger: Logger;
  now?: () => Date;
  clock?: Clock;
}

export interface Provisioner {
  /** Makes sure the endpoint for `spec` exists and matches it. */
  ensureEndpoint(spec: ResourceSpec): Promise<ProvisionedEndpoint>;
  /** Provisions many at once (at most `concurrency` deployments at a time); failures are collected, not thrown. */
  ensureAll(
    specs: ResourceSpec[],
    options?: { concurrency?: number },
  ): Promise<{ spec: ResourceSpec; outcome?: ProvisionOutcome; error?: AppError; ms: number }[]>;
  /** This project's endpoints on this backend that the code no longer needs: configs gone from `specs`, and duplicates. */
  findOrphans(specs: ResourceSpec[]): Promise<CachedEndpoint[]>;
  /** Deletes endpoints and drops them from the cache; returns the names deleted. */
  deleteEndpoints(entries: CachedEndpoint[]): Promise<{ deleted: string[]; failed: { name: string; error: AppError }[] }>;
  /**
   * This project's endpoints on this backend: the cache, those not recorded
   * in it yet, and whatever else the provider lists with this project's
   * marker (duplicates; endpoints of a cache that was lost).
   */
  cachedEndpoints(): Promise<CachedEndpoint[]>;
}

/** How long a call waits for its endpoint to be written to the cache before going on without (the write goes on). */
const RECORD_WAIT_MS = 2_000;

export function createProvisioner(options: ProvisionerOptions): Provisioner {
  const { controlPlane, cache, backend, runtime, logger } = options;
  const now = options.now ?? (() => new Date());
  const clock = options.clock ?? systemClock;
  const inFlight = new Map<string, Promise<{ endpoint: ProvisionedEndpoint; outcome: ProvisionOutcome }>>();
  /** Endpoints confirmed to exist and match during this session: name -> hash. */
  const verified = new Map<string, { hash: string; endpoint: ProvisionedEndpoint }>();
  /** Endpoints this session knows of that the cache does not have yet (its write failed): name -> entry. */
  const unrecorded = new Map<string, CachedEndpoint>();
  /** Endpoint ids whose failed recording was already reported (once each, then at debug level). */
  const reportedUnrecorded = new Set<string>();
  /** Duplicates of this project's endpoints found on the provider: id -> entry. */
  const duplicates = new Map<string, CachedEndpoint>();
  let recoveredSetAside = 0;
  let recording: Promise<void> | undefined;

  /** Writes every unrecorded endpoint to the cache, each tried once (also those added meanwhile); one attempt at a time. */
  const recordPending = (): Promise<void> =>
    (recording ??= (async () => {
      const tried = new Set<CachedEndpoint>();
      for (;;) {
        const next = [...unrecorded].find(([, entry]) => !tried.has(entry));
        if (!next) return;
        const [name, entry] = next;
        tried.add(entry);
        try {
          await cache.put(entry);
          if (unrecorded.get(name) === entry) unrecorded.delete(name);
          if (reportedUnrecorded.delete(entry.id)) logger.info(`Recorded ${name} (${entry.id}) in ${cache.path}`);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          if (reportedUnrecorded.has(entry.id)) {
            logger.debug(`${name} (${entry.id}) is still not recorded in ${cache.path}: ${reason}`);
          } else {
            reportedUnrecorded.add(entry.id);
            logger.warn(
              `${name} (${entry.id}) could not be recorded in ${cache.path}: ${reason}. ` +
                "This session remembers it, a restart finds it on the provider by this project's marker, and it is recorded as soon as the cache can be written.",
            );
          }
        }
      }
    })().finally(() => (recording = undefined)));

  /** Tries to record what is pending; waits a bounded time, the attempt goes on in the background. */
  const recordSoon = async (): Promise<void> => {
    if (unrecorded.size === 0) return;
    const stop = new AbortController();
    await Promise.race([recordPending(), clock.sleep(RECORD_WAIT_MS, stop.signal).catch(() => {})]);
    stop.abort();
  };

  const record = async (spec: ResourceSpec, endpoint: Endpoint | ProvisionedEndpoint, hash: string, createdAt?: string): Promise<ProvisionedEndpoint> => {
    const stamp = now().toISOString();
    const provisioned: ProvisionedEndpoint = { name: spec.endpointName, id: endpoint.id, kind: spec.kind };
    // Remembered first: whatever happens to the cache write, this session never creates it again.
    verified.set(spec.endpointName, { hash, endpoint: provisioned });
    unrecorded.set(spec.endpointName, {
      name: spec.endpointName,
      id: endpoint.id,
      kind: spec.kind,
      backend,
      configHash: hash,
      createdAt: createdAt ?? stamp,
      updatedAt: stamp,
      projectId: runtime.projectId,
      workersMin: spec.workersMin,
    });
    await recordSoon();
    return provisioned;
  };

  const update = async (spec: ResourceSpec, id: string, hash: string, createdAt?: string): Promise<ProvisionedEndpoint> => {
    const started = Date.now();
    const updated = await controlPlane.updateEndpoint(id, toUpdateEndpointRequest(spec, runtime));
    logger.info(`Updated ${spec.endpointName} (${id}) to the changed config in ${Date.now() - started} ms`);
    return record(spec, updated, hash, createdAt);
  };

  // Specs are immutable values handed out by discovery; hashing one costs a
  // stable stringify and a sha256, which would otherwise be paid on every call.
  const hashes = new WeakMap<ResourceSpec, string>();
  const hashOf = (spec: ResourceSpec): string => {
    let hash = hashes.get(spec);
    if (hash === undefined) hashes.set(spec, (hash = endpointConfigHash(spec, runtime)));
    return hash;
  };

  /** Remembers (and reports, once) the endpoints of `name` other than the one kept. */
  const noteDuplicates = (name: string, kept: CachedEndpoint, all: readonly CachedEndpoint[]): void => {
    const fresh = all.filter((e) => e.id !== kept.id && !duplicates.has(e.id));
    if (fresh.length === 0) return;
    for (const e of fresh) duplicates.set(e.id, e);
    logger.warn(
      `The provider has ${all.length} endpoints named ${name} of this project: using ${kept.id}; ` +
        `${fresh.map((e) => e.id).join(", ")} ${fresh.length === 1 ? "is a duplicate" : "are duplicates"} (left by a cache write that failed). ` +
        "They are orphans: --auto-provision deletes them at start, --cleanup on exit.",
    );
  };

  /** The cache lost its file (kept aside as corrupt): record this project's endpoints from the provider again. */
  const recoverSetAside = async (): Promise<void> => {
    if (cache.setAside.length <= recoveredSetAside) return;
    recoveredSetAside = cache.setAside.length;
    const mine = projectEndpointsOf(await controlPlane.listEndpoints(), backend, runtime.projectId, now().toISOString());
    const cachedNames = new Set((await cache.list(backend)).map((e) => e.name));
    const recovered: string[] = [];
    for (const [name, group] of byName(mine)) {
      const kept = chooseKeeper(group, { inUse: verified.get(name)?.endpoint.id });
      if (!kept) continue;
      noteDuplicates(name, kept, group);
      if (cachedNames.has(name) || unrecorded.has(name)) continue;
      unrecorded.set(name, kept);
      recovered.push(name);
    }
    if (recovered.length > 0) logger.warn(`Recovered ${recovered.length} endpoint(s) of this project from the provider: ${recovered.join(", ")}`);
    await recordSoon();
  };

  const provision = async (spec: ResourceSpec): Promise<{ endpoint: ProvisionedEndpoint; outcome: ProvisionOutcome }> => {
    const hash = hashOf(spec);
    const known = verified.get(spec.endpointName);
    if (known && known.hash === hash) return { endpoint: known.endpoint, outcome: "cached" };

    let cached = unrecorded.get(spec.endpointName) ?? (await cache.get(backend, spec.endpointName));
    await recoverSetAside();
    if (cached && !known) {
      // Confirm once per session that the cached endpoint still exists (it may
      // have been deleted in the console); a read, never a write.
      try {
        await controlPlane.getEndpoint(cached.id);
      } catch (error) {
        if (!hasCode(error, "NOT_FOUND")) throw error;
        logger.warn(`${spec.endpointName} (${cached.id}) no longer exists; creating it again`);
        unrecorded.delete(spec.endpointName);
        await cache.remove(backend, spec.endpointName, cached.id).catch((e: unknown) => logger.debug(`dropping ${cached?.id} from the cache: ${String(e)}`));
        cached = undefined;
      }
    }
    if (cached) {
      if (cached.configHash === hash) {
        const endpoint: ProvisionedEndpoint = { name: cached.name, id: cached.id, kind: cached.kind };
        verified.set(spec.endpointName, { hash, endpoint });
        return { endpoint, outcome: "cached" };
      }
      return { endpoint: await update(spec, cached.id, hash, cached.createdAt), outcome: "updated" };
    }

    // Never create without looking first, on a list read now: an earlier create
    // (this session's, a restart's, the other side of the bind mount's) may not be cached.
    const listed = projectEndpointsOf(await controlPlane.listEndpoints(), backend, runtime.projectId, now().toISOString());
    const group = listed.filter((e) => e.name === spec.endpointName);
    const existing = chooseKeeper(group, { hash });
    if (existing) {
      noteDuplicates(spec.endpointName, existing, group);
      if (existing.configHash === hash) {
        logger.info(`Reusing ${spec.endpointName} (${existing.id}) found on the provider`);
        return { endpoint: await record(spec, existing, hash, existing.createdAt), outcome: "adopted" };
      }
      return { endpoint: await update(spec, existing.id, hash, existing.createdAt), outcome: "updated" };
    }

    const started = Date.now();
    const created = await controlPlane.createEndpoint(toCreateEndpointRequest(spec, runtime));
    logger.info(`Provisioned ${spec.endpointName} (${created.id}) in ${formatDuration(Date.now() - started)}`);
    return { endpoint: await record(spec, created, hash), outcome: "created" };
  };

  const ensureWithOutcome = async (spec: ResourceSpec): Promise<{ endpoint: ProvisionedEndpoint; outcome: ProvisionOutcome }> => {
    // The hot path: an endpoint already confirmed this session for this exact config.
    const known = verified.get(spec.endpointName);
    if (known && known.hash === hashOf(spec)) {
      // Rare: something the cache could not take yet. Offer it again unless an attempt is under way
      // (bounded, never failing the call).
      if (unrecorded.size > 0 && !recording) await recordSoon();
      return { endpoint: known.endpoint, outcome: "cached" };
    }
    const pending = inFlight.get(spec.endpointName);
    if (pending) return pending;
    const promise = provision(spec)
      .catch((error: unknown) => {
        throw toProvisionError(spec, error);
      })
      .finally(() => inFlight.delete(spec.endpointName));
    inFlight.set(spec.endpointName, promise);
    return promise;
  };

  /** Everything of this project on this backend, by id: cache, unrecorded, duplicates, and the provider's list. */
  const projectEndpoints = async (): Promise<CachedEndpoint[]> => {
    await recordSoon();
    const all = new Map<string, CachedEndpoint>();
    for (const e of await cache.list(backend)) if (e.projectId === runtime.projectId) all.set(e.id, e);
    await recoverSetAside().catch((error: unknown) => logger.debug(`recovering endpoints from the provider: ${String(error)}`));
    for (const e of [...unrecorded.values(), ...duplicates.values()]) all.set(e.id, e);
    try {
      for (const e of projectEndpointsOf(await controlPlane.listEndpoints(), backend, runtime.projectId, now().toISOString())) {
        if (!all.has(e.id)) all.set(e.id, e);
      }
    } catch (error) {
      logger.debug(`could not list the provider's endpoints; using what is known locally: ${String(error)}`);
    }
    return [...all.values()];
  };

  return {
    ensureEndpoint: async (spec) => (await ensureWithOutcome(spec)).endpoint,
    async ensureAll(specs, opts = {}) {
      const limit = pLimit(opts.concurrency ?? 3);
      return Promise.all(
        specs.map((spec) =>
          limit(async () => {
            const started = Date.now();
            try {
              const { outcome } = await ensureWithOutcome(spec);
              return { spec, outcome, ms: Date.now() - started };
            } catch (error) {
              return { spec, error: toProvisionError(spec, error), ms: Date.now() - started };
            }
          }),
        ),
      );
    },
    async findOrphans(specs) {
      const wanted = new Map(specs.map((s) => [s.endpointName, s]));
      const orphans: CachedEndpoint[] = [];
      for (const [name, group] of byName(await projectEndpoints())) {
        const spec = wanted.get(name);
        if (!spec) {
          orphans.push(...group);
          continue;
        }
        const inUse = verified.get(name)?.endpoint.id ?? (await cache.get(backend, name))?.id;
        const keep = chooseKeeper(group, { inUse, hash: hashOf(spec) });
        if (keep) noteDuplicates(name, keep, group);
        orphans.push(...group.filter((e) => e.id !== keep?.id));
      }
      return orphans;
    },
    async deleteEndpoints(entries) {
      const deleted: string[] = [];
      const failed: { name: string; error: AppError }[] = [];
      for (const entry of entries) {
        try {
          await controlPlane.deleteEndpoint(entry.id);
        } catch (error) {
          failed.push({ name: entry.name, error: isAppError(error) ? error : new AppError("UPSTREAM_ERROR", String(error), { cause: error }) });
          continue;
        }
        deleted.push(entry.name);
        duplicates.delete(entry.id);
        if (verified.get(entry.name)?.endpoint.id === entry.id) verified.delete(entry.name);
        if (unrecorded.get(entry.name)?.id === entry.id) unrecorded.delete(entry.name);
        // Only its own entry: a duplicate shares its name with the endpoint the cache keeps.
        await cache.remove(backend, entry.name, entry.id).catch((error: unknown) => {
          logger.warn(`Deleted ${entry.name} (${entry.id}) but could not drop it from ${cache.path}: ${(error as Error).message}`);
        });
      }
      return { deleted, failed };
    },
    cachedEndpoints: projectEndpoints,
  };
}

function toProvisionError(spec: ResourceSpec, error: unknown): AppError {
  if (hasCode(error, "PROVISION_FAILED")) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const hint = hasCode(error, "UNAUTHORIZED")
    ? "Check RUNPOD_API_KEY (or run without it to use the local emulator)."
    : isAppError(error) && error.hint
      ? error.hint
      : "Check the endpoint config and your connection; the next call will try again.";
  return new AppError("PROVISION_FAILED", `could not provision ${spec.endpointName}: ${reason}`, { hint, cause: error });
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
