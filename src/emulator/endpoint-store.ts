/**
 * The endpoints of the emulated account: REST v2 objects as created and
 * patched, plus a `version` bumped by every change that affects what a
 * worker runs (image, args, env, compute), so running workers can be
 * recycled. Persisted through StateFileWriter when a state dir is given.
 */
import type {
  CpuConfig,
  CreateEndpointRequest,
  Endpoint,
  EndpointGpuConfig,
  EndpointWorkers,
  UpdateEndpointRequest,
} from "../runpod/wire-types.js";
import { stableStringify } from "../common/hash.js";
import type { Logger } from "../common/logger.js";
import { isRecord } from "../common/is-record.js";
import { HttpError } from "./http-error.js";
import { createRunpodId } from "./ids.js";
import { loadStateFile, StateFileWriter } from "./state-file.js";

/**
 * The endpoint as stored: the REST v2 object, never carrying `requestUrls`
 * (they depend on the emulator's URL and are added when rendering). `Omit`
 * cannot be used here: the index signature of Endpoint would swallow the
 * known keys.
 */
export type StoredEndpoint = Endpoint;

/** One stored endpoint. */
export interface EndpointRecord {
  endpoint: StoredEndpoint;
  /** Bumped when a change affects what workers run. */
  version: number;
}

/** What an update changed, for the worker pool. */
export interface EndpointChange {
  record: EndpointRecord;
  /** Image, args, env or compute changed: running workers are out of date. */
  containerChanged: boolean;
}

/** REST v2 create defaults for `workers`. */
export const DEFAULT_WORKERS = { min: 0, max: 3, idleTimeout: 10 } as const;
/** REST v2 default execution timeout (ms). */
export const DEFAULT_TIMEOUT_MS = 300_000;
/** Most endpoints one emulator keeps (each is held in memory and in its state file). */
export const MAX_ENDPOINTS = 500;

const CONTAINER_KEYS = ["image", "args", "env", "registry", "disk", "ports", "gpu", "cpu", "templateId"] as const;

/** The account's endpoints, in memory and (with a state dir) on disk. */
export class EndpointStore {
  private readonly records = new Map<string, EndpointRecord>();
  private readonly writer: StateFileWriter | undefined;

  constructor(
    private readonly options: { stateDir?: string; logger: Logger; now?: () => number },
  ) {
    this.writer = options.stateDir ? new StateFileWriter(options.stateDir, () => this.snapshot(), options.logger) : undefined;
  }

  /** Loads persisted endpoints (no-op without a state dir). Invalid entries are skipped with a warning. */
  async load(): Promise<void> {
    if (!this.options.stateDir) return;
    const content = await loadStateFile(this.options.stateDir, this.options.logger);
    for (const entry of content?.endpoints ?? []) {
      const record = toRecord(entry);
      if (record) this.records.set(record.endpoint.id, record);
      else this.options.logger.warn(`Skipping an unreadable endpoint in the emulator state: ${JSON.stringify(entry).slice(0, 200)}`);
    }
  }

  list(): EndpointRecord[] {
    return [...this.records.values()];
  }

  get(id: string): EndpointRecord | undefined {
    return this.records.get(id);
  }

  /** Stores a validated create request; HttpError 400 when the emulator already holds MAX_ENDPOINTS. */
  create(request: CreateEndpointRequest): EndpointRecord {
    if (this.records.size >= MAX_ENDPOINTS) {
      throw new HttpError(400, `the emulator already holds ${MAX_ENDPOINTS} endpoints, its limit; delete endpoints you no longer use`);
    }
    let id = createRunpodId();
    while (this.records.has(id)) id = createRunpodId();
    const now = this.options.now?.() ?? Date.now();
    const { name, type, scaling, gpu, cpu, workers, env, args, timeout, flashboot, dataCenterIds, networkVolumes, ...container } = request;
    const endpoint: StoredEndpoint = {
      id,
      name,
      type,
      args: args ?? "",
      env: { ...(env ?? {}) },
      registry: null,
      ...container,
      gpu: gpu ? normaliseGpu(gpu) : null,
      ...(cpu ? { cpu: cpu.map(withMemory) } : {}),
      workers: normaliseWorkers(workers, type, scaling.type),
      scaling,
      dataCenterIds: dataCenterIds ?? [],
      networkVolumes: networkVolumes ?? [],
      timeout: timeout ?? DEFAULT_TIMEOUT_MS,
      flashboot: flashboot ?? "OFF",
      createdAt: new Date(now).toISOString(),
    };
    const record: EndpointRecord = { endpoint, version: 1 };
    this.records.set(id, record);
    this.writer?.save();
    return record;
  }

  /** Applies a validated PATCH; only provided fields change. Undefined when the endpoint does not exist. */
  update(id: string, patch: UpdateEndpointRequest): EndpointChange | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    const before = record.endpoint;
    const next: StoredEndpoint = { ...before };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined || key === "workers" || key === "gpu" || key === "cpu") continue;
      next[key] = key === "env" ? { ...(value as Record<string, string>) } : value;
    }
    if (patch.gpu) next.gpu = mergeGpu(before.gpu ?? undefined, patch.gpu);
    if (patch.cpu) next.cpu = patch.cpu.map(withMemory);
    next.workers = normaliseWorkers({ ...before.workers, ...(patch.workers ?? {}) }, next.type, next.scaling.type);
    const containerChanged = CONTAINER_KEYS.some((key) => stableStringify(before[key]) !== stableStringify(next[key]));
    record.endpoint = next;
    if (containerChanged) record.version++;
    this.writer?.save();
    return { record, containerChanged };
  }

  delete(id: string): EndpointRecord | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    this.records.delete(id);
    this.writer?.save();
    return record;
  }

  /** Waits for pending state writes. */
  async flush(): Promise<void> {
    await this.writer?.flush();
  }

  private snapshot(): { endpoints: EndpointRecord[] } {
    return { endpoints: this.list() };
  }
}

function normaliseWorkers(workers: EndpointWorkers | undefined, type: string, scalingType: string): StoredEndpoint["workers"] {
  const min = workers?.min ?? DEFAULT_WORKERS.min;
  const max = workers?.max ?? DEFAULT_WORKERS.max;
  // The spec omits idleTimeout for queue endpoints that scale on request count.
  if (type === "QUEUE" && scalingType === "REQUEST_COUNT") return { min, max };
  return { min, max, idleTimeout: workers?.idleTimeout ?? DEFAULT_WORKERS.idleTimeout };
}

function normaliseGpu(gpu: EndpointGpuConfig): EndpointGpuConfig {
  return {
    pools: [...gpu.pools],
    ...(gpu.excludedTypes ? { excludedTypes: gpu.excludedTypes.map((t) => t.trim()) } : {}),
    count: gpu.count ?? 1,
    allowedCudaVersions: gpu.allowedCudaVersions ?? [],
    minCudaVersion: gpu.minCudaVersion || null,
  };
}

/** PATCH semantics of the spec: `pools` replaces the selection (clearing exclusions not restated); the rest merge. */
function mergeGpu(current: EndpointGpuConfig | undefined, patch: Partial<EndpointGpuConfig>): EndpointGpuConfig {
  const base = current ?? { pools: [], count: 1, allowedCudaVersions: [], minCudaVersion: null };
  const merged: EndpointGpuConfig = { ...base };
  if (patch.pools) {
    merged.pools = [...patch.pools];
    if (patch.excludedTypes) merged.excludedTypes = patch.excludedTypes.map((t) => t.trim());
    else delete merged.excludedTypes;
  }
  if (patch.count !== undefined) merged.count = patch.count;
  if (patch.allowedCudaVersions !== undefined) merged.allowedCudaVersions = [...patch.allowedCudaVersions];
  if (patch.minCudaVersion !== undefined) merged.minCudaVersion = patch.minCudaVersion || null;
  return merged;
}

/** Responses carry memory per CPU config; derive it from the flavour (`…c` compute: 2 GB/vCPU, others 4 GB/vCPU). */
function withMemory(cpu: CpuConfig): CpuConfig {
  return { id: cpu.id, vcpuCount: cpu.vcpuCount, memory: cpu.memory ?? cpu.vcpuCount * (cpu.id.endsWith("c") ? 2 : 4) };
}

function toRecord(entry: unknown): EndpointRecord | undefined {
  if (!isRecord(entry) || !isRecord(entry.endpoint) || typeof entry.version !== "number") return undefined;
  const e = entry.endpoint;
  const valid =
    typeof e.id === "string" &&
    typeof e.name === "string" &&
    (e.type === "QUEUE" || e.type === "LOAD_BALANCER") &&
    isRecord(e.workers) &&
    typeof e.workers.min === "number" &&
    typeof e.workers.max === "number" &&
    isRecord(e.scaling) &&
    typeof e.timeout === "number";
  if (!valid) return undefined;
  return { endpoint: e as unknown as StoredEndpoint, version: entry.version };
}
