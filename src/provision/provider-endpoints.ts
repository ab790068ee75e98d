/**
 * This project's endpoints as the provider lists them: the truth the cache
 * only saves asking for. An endpoint is this project's when its env carries
 * the project marker; several of one name are duplicates (left by versions
 * that forgot an endpoint whose cache write failed, docs/internals.md,
 * "Project state in .runpod"): one is kept, the others are orphans.
 */
import type { Endpoint } from "../runpod/wire-types.js";
import { CONFIG_HASH_ENV, PROJECT_MARKER_ENV } from "./endpoint-request.js";
import type { BackendKind, CachedEndpoint } from "./resource-cache.js";

/** The provider's endpoints that carry `projectId`'s marker, as cache entries. */
export function projectEndpointsOf(list: readonly Endpoint[], backend: BackendKind, projectId: string, now: string): CachedEndpoint[] {
  return list.filter((e) => e.env?.[PROJECT_MARKER_ENV] === projectId).map((e) => toCacheEntry(e, backend, projectId, now));
}

/**
 * Of several endpoints of one name, the one to keep: the one already in use,
 * else the oldest built from `hash` (the current config), else the oldest.
 */
export function chooseKeeper<T extends Pick<CachedEndpoint, "id" | "createdAt" | "configHash">>(
  candidates: readonly T[],
  options: { inUse?: string | undefined; hash?: string | undefined },
): T | undefined {
  const inUse = candidates.find((e) => e.id === options.inUse);
  if (inUse) return inUse;
  const oldestFirst = [...candidates].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return oldestFirst.find((e) => options.hash !== undefined && e.configHash === options.hash) ?? oldestFirst[0];
}

/** A provider endpoint as a cache entry (what the orphan logic and --cleanup work with). */
export function toCacheEntry(endpoint: Endpoint, backend: BackendKind, projectId: string, now: string): CachedEndpoint {
  return {
    name: endpoint.name,
    id: endpoint.id,
    kind: endpoint.type === "LOAD_BALANCER" ? "LB" : "QB",
    backend,
    configHash: endpoint.env?.[CONFIG_HASH_ENV] ?? "",
    createdAt: endpoint.createdAt || now,
    updatedAt: now,
    projectId,
    workersMin: endpoint.workers?.min ?? 0,
  };
}

/** Groups endpoints by name. */
export function byName<T extends { name: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.name);
    if (group) group.push(item);
    else groups.set(item.name, [item]);
  }
  return groups;
}
