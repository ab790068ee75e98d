/**
 * ensureEndpoint(): the one way an endpoint comes to exist. Lazy by default
 * (the first call of one of its functions), once per name even under
 * concurrent first calls, and with no control-plane writes when the cached
 * endpoint already matches the code. A changed config updates the endpoint
 * in place; a lost cache is rebuilt from the provider's list of endpoints
 * that carry this project's marker.
 */
import pLimit from "p-limit";
import { AppError, hasCode, isAppError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { ResourceSpec } from "../sdk/resources.js";
import type { CreateEndpointRequest, Endpoint, UpdateEndpointRequest } from "../runpod/wire-types.js";
import {
  CONFIG_HASH_ENV,
  PROJECT_MARKER_ENV,
  endpointConfigHash,
  toCreateEndpointRequest,
  toUpdateEndpointRequest,
} from "./endpoint-request.js";
import type { WorkerRuntimeSettings } from "./endpoint-request.js";
import type { BackendKind, CachedEndpoint, ResourceCache } from "./resource-cache.js";

/** The control-plane operations provisioning needs (the REST v2 client implements them). */
export interface ControlPlane {
  createEndpoint(body: CreateEndpointRequest): Promise<Endpoint>;
  listEndpoints(): Promise<Endpoint[]>;
  getEndpoint(id: string): Promise<Endpoint>;
  updateEndpoint(id: string, patch: UpdateEndpointRequest): Promise<Endpoint>;
  deleteEndpoint(id: string): Promise<void>;
}

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
}

export interface Provisioner {
  /** Makes sure the endpoint for `spec` exists and matches it. */
  ensureEndpoint(spec: ResourceSpec): Promise<ProvisionedEndpoint>;
  /** Provisions many at once (at most `concurrency` deployments at a time); failures are collected, not thrown. */
  ensureAll(
    specs: ResourceSpec[],
    options?: { concurrency?: number },
  ): Promise<{ spec: ResourceSpec; outcome?: ProvisionOutcome; error?: AppError; ms: number }[]>;
  /** Cached endpoints of this backend whose config is no longer in `specs`. */
  findOrphans(specs: ResourceSpec[]): Promise<CachedEndpoint[]>;
  /** Deletes endpoints and drops them from the cache; returns the names deleted. */
  deleteEndpoints(entries: CachedEndpoint[]): Promise<{ deleted: string[]; failed: { name: string; error: AppError }[] }>;
  /** This project's cached endpoints on this backend. */
  cachedEndpoints(): Promise<CachedEndpoint[]>;
}

export function createProvisioner(options: ProvisionerOptions): Provisioner {
  const { controlPlane, cache, backend, runtime, logger } = options;
  const now = options.now ?? (() => new Date());
  const inFlight = new Map<string, Promise<{ endpoint: ProvisionedEndpoint; outcome: ProvisionOutcome }>>();
  /** Endpoints confirmed to exist and match during this session: name -> hash. */
  const verified = new Map<string, { hash: string; endpoint: ProvisionedEndpoint }>();
  let providerList: Promise<Endpoint[]> | undefined;

  const fetchProviderList = (): Promise<Endpoint[]> => {
    providerList ??= controlPlane.listEndpoints().catch((error: unknown) => {
      providerList = undefined;
      throw error;
    });
    return providerList;
  };

  const record = async (spec: ResourceSpec, endpoint: Endpoint | ProvisionedEndpoint, hash: string, createdAt?: string): Promise<ProvisionedEndpoint> => {
    const stamp = now().toISOString();
    const provisioned: ProvisionedEndpoint = { name: spec.endpointName, id: endpoint.id, kind: spec.kind };
    await cache.put({
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
    verified.set(spec.endpointName, { hash, endpoint: provisioned });
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

  const provision = async (spec: ResourceSpec): Promise<{ endpoint: ProvisionedEndpoint; outcome: ProvisionOutcome }> => {
    const hash = hashOf(spec);
    const known = verified.get(spec.endpointName);
    if (known && known.hash === hash) return { endpoint: known.endpoint, outcome: "cached" };

    let cached = await cache.get(backend, spec.endpointName);
    if (cached && !known) {
      // Confirm once per session that the cached endpoint still exists (it may
      // have been deleted in the console); a read, never a write.
      try {
        await controlPlane.getEndpoint(cached.id);
      } catch (error) {
        if (!hasCode(error, "NOT_FOUND")) throw error;
        logger.warn(`${spec.endpointName} (${cached.id}) no longer exists; creating it again`);
        await cache.remove(backend, spec.endpointName);
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

    const existing = (await fetchProviderList()).find(
      (e) => e.name === spec.endpointName && e.env?.[PROJECT_MARKER_ENV] === runtime.projectId,
    );
    if (existing) {
      if (existing.env?.[CONFIG_HASH_ENV] === hash) {
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

  const ensureWithOutcome = (spec: ResourceSpec): Promise<{ endpoint: ProvisionedEndpoint; outcome: ProvisionOutcome }> => {
    // The hot path: an endpoint already confirmed this session for this exact config.
    const known = verified.get(spec.endpointName);
    if (known && known.hash === hashOf(spec)) return Promise.resolve({ endpoint: known.endpoint, outcome: "cached" });
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
      const names = new Set(specs.map((s) => s.endpointName));
      return (await cache.list(backend)).filter((e) => e.projectId === runtime.projectId && !names.has(e.name));
    },
    async deleteEndpoints(entries) {
      const deleted: string[] = [];
      const failed: { name: string; error: AppError }[] = [];
      for (const entry of entries) {
        try {
          await controlPlane.deleteEndpoint(entry.id);
          await cache.remove(backend, entry.name);
          verified.delete(entry.name);
          deleted.push(entry.name);
        } catch (error) {
          failed.push({ name: entry.name, error: isAppError(error) ? error : new AppError("UPSTREAM_ERROR", String(error), { cause: error }) });
        }
      }
      return { deleted, failed };
    },
    cachedEndpoints: async () => (await cache.list(backend)).filter((e) => e.projectId === runtime.projectId),
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
