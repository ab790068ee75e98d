/**
 * What `flash endpoints` shows: this project's endpoints on Runpod, from the
 * provider's list (by project marker) and the cache, each with its workers
 * and queue (the job API's health), whether it bills while idle, and whether
 * its config is still in the code. Pure: the caller fetches, this judges and
 * formats (docs/internals.md, "Endpoints and undeploy").
 */
import type { Endpoint, HealthResponse } from "../runpod/wire-types.js";
import type { ResourceSpec } from "../sdk/resources.js";
import { CONFIG_HASH_ENV, PROJECT_MARKER_ENV } from "./endpoint-request.js";
import { byName, chooseKeeper } from "./provider-endpoints.js";
import type { CachedEndpoint } from "./resource-cache.js";

/**
 * Whether the code still has an endpoint's config: `yes` (same config),
 * `changed` (the name is there with another config: the next call updates the
 * endpoint), `no` (gone from the code: stale), `duplicate` (another endpoint of
 * this name is the one in use: stale), `unknown` (the code could not be loaded).
 */
export type InCode = "yes" | "changed" | "no" | "duplicate" | "unknown";

export interface EndpointRow {
  name: string;
  id: string;
  type: "QB" | "LB";
  /** e.g. "GPU ADA_24,AMPERE_24 x1" or "CPU cpu3c-2-4". */
  compute: string;
  workersMin: number;
  workersMax: number;
  /** From the job API's health; undefined when it could not be asked (see `healthError`). */
  workers?: { running: number; idle: number; initializing: number; throttled: number; unhealthy: number };
  /** Jobs waiting (`inQueue`) and running (`inProgress`). */
  jobs?: { inQueue: number; inProgress: number };
  healthError?: string;
  /** Warm workers (workersMin > 0) are billed while they wait. */
  billsWhileIdle: boolean;
  inCode: InCode;
  /** Listed by the provider (false: only the cache knows it; the endpoint is gone). */
  onProvider: boolean;
  /** Recorded in `.runpod/resources.json`. */
  cached: boolean;
}

export interface EndpointReportInput {
  /** The provider's endpoints (all of the account). */
  listed: readonly Endpoint[];
  /** Cache entries of the Runpod backend. */
  cached: readonly CachedEndpoint[];
  projectId: string;
  /** The project's current specs; undefined when the code could not be loaded. */
  specs: readonly ResourceSpec[] | undefined;
  /** The config hash flash dev would stamp on `spec`'s endpoint. */
  hashOf: (spec: ResourceSpec) => string;
  /** Health by endpoint id (an Error when it could not be read). */
  health: ReadonlyMap<string, HealthResponse | Error>;
}

function describeCompute(endpoint: Endpoint): string {
  if (endpoint.gpu && endpoint.gpu.pools.length > 0) return `GPU ${endpoint.gpu.pools.join(",")} x${endpoint.gpu.count ?? 1}`;
  if (endpoint.cpu && endpoint.cpu.length > 0) return `CPU ${endpoint.cpu.map((c) => `${c.id}-${c.vcpuCount}${c.memory ? `-${c.memory}` : ""}`).join(",")}`;
  return endpoint.gpu ? "GPU" : "CPU";
}

/** This project's endpoints, by marker on the provider and by cache entry; sorted by name. */
export function buildEndpointReport(input: EndpointReportInput): EndpointRow[] {
  const mine = input.listed.filter((e) => e.env?.[PROJECT_MARKER_ENV] === input.projectId);
  const listedIds = new Set(input.listed.map((e) => e.id));
  const cachedIds = new Set(input.cached.map((e) => e.id));
  const specs = input.specs ? new Map(input.specs.map((s) => [s.endpointName, s])) : undefined;
  const rows: EndpointRow[] = [];
  for (const [name, group] of byName(mine)) {
    const spec = specs?.get(name);
    const hash = spec ? input.hashOf(spec) : undefined;
    const inUse = input.cached.find((c) => c.name === name && group.some((e) => e.id === c.id))?.id;
    const keeper = chooseKeeper(
      group.map((e) => ({ id: e.id, createdAt: e.createdAt, configHash: e.env?.[CONFIG_HASH_ENV] ?? "" })),
      { inUse, hash },
    );
    for (const endpoint of group) {
      const health = input.health.get(endpoint.id);
      const inCode: InCode = !specs ? "unknown" : keeper && keeper.id !== endpoint.id ? "duplicate" : !spec ? "no" : endpoint.env?.[CONFIG_HASH_ENV] === hash ? "yes" : "changed";
      rows.push({
        name,
        id: endpoint.id,
        type: endpoint.type === "LOAD_BALANCER" ? "LB" : "QB",
        compute: describeCompute(endpoint),
        workersMin: endpoint.workers.min,
        workersMax: endpoint.workers.max,
        ...(health && !(health instanceof Error)
          ? {
              workers: {
                running: health.workers.running,
                idle: health.workers.idle,
                initializing: health.workers.initializing,
                throttled: health.workers.throttled,
                unhealthy: health.workers.unhealthy,
              },
              jobs: { inQueue: health.jobs.inQueue, inProgress: health.jobs.inProgress },
            }
          : {}),
        ...(health instanceof Error ? { healthError: health.message } : {}),
        billsWhileIdle: endpoint.workers.min > 0,
        inCode,
        onProvider: true,
        cached: cachedIds.has(endpoint.id),
      });
    }
  }
  // Recorded, but the provider no longer has it (deleted elsewhere): only the cache entry is left.
  for (const entry of input.cached) {
    if (entry.projectId !== input.projectId || listedIds.has(entry.id)) continue;
    rows.push({
      name: entry.name,
      id: entry.id,
      type: entry.kind,
      compute: "-",
      workersMin: entry.workersMin,
      workersMax: 0,
      billsWhileIdle: false,
      inCode: !specs ? "unknown" : specs.has(entry.name) ? "changed" : "no",
      onProvider: false,
      cached: true,
    });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** Stale: gone from the code, duplicates, and cache entries of endpoints that no longer exist. */
export function isStale(row: EndpointRow): boolean {
  return !row.onProvider || row.inCode === "no" || row.inCode === "duplicate";
}

const IN_CODE_TEXT: Record<InCode, string> = { yes: "yes", changed: "changed", no: "no (stale)", duplicate: "duplicate (stale)", unknown: "?" };

/** The table people read. */
export function formatEndpointTable(rows: readonly EndpointRow[]): string {
  const header = ["NAME", "ID", "TYPE", "COMPUTE", "MIN/MAX", "RUNNING", "IDLE", "QUEUE", "BILLS IDLE", "IN CODE"];
  const cells = rows.map((r) => [
    r.name,
    r.id,
    r.type,
    r.compute,
    r.onProvider ? `${r.workersMin}/${r.workersMax}` : "-",
    r.workers ? String(r.workers.running) : "-",
    r.workers ? String(r.workers.idle) : "-",
    r.jobs ? String(r.jobs.inQueue) : "-",
    r.billsWhileIdle ? "yes" : "no",
    r.onProvider ? IN_CODE_TEXT[r.inCode] : "gone from Runpod (stale)",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]): string => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join("  ");
  return [line(header), ...cells.map(line)].join("\n");
}
