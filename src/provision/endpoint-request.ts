/**
 * Turns a normalised resource spec into the REST v2 body that creates (or
 * updates) its endpoint, and hashes what matters for drift.
 *
 * A live endpoint runs the worker bootstrap (`node -e '…'`) on a stock image
 * with Node.js ≥ 22, so nothing has to be built, pushed or downloaded: the
 * runtime itself comes with the caller's requests (docs/internals.md, "The
 * worker runtime").
 */
import { stableHash } from "../common/hash.js";
import { resolveGpuSelection } from "../sdk/hardware.js";
import type { ResourceSpec } from "../sdk/resources.js";
import type { CreateEndpointRequest, UpdateEndpointRequest } from "../runpod/wire-types.js";
import { bootstrapStartCommand } from "../worker/bootstrap/start-command.js";

/** Env var carrying the id of the project that created an endpoint (how a lost cache is recovered). */
export const PROJECT_MARKER_ENV = "FLASH_PROJECT_ID";
/** Env var carrying the hash of the spec an endpoint was created from. */
export const CONFIG_HASH_ENV = "FLASH_CONFIG_HASH";
/** Env var telling the worker its own image (so its errors can name it). */
export const WORKER_IMAGE_ENV = "FLASH_WORKER_IMAGE";
/** Env var listing the Debian packages the worker installs (`systemDependencies`). */
export const SYSTEM_DEPENDENCIES_ENV = "FLASH_SYSTEM_DEPENDENCIES";

export interface WorkerRuntimeSettings {
  /** Image for CPU endpoints. Default node:24-bookworm-slim. */
  cpuImage: string;
  /** Image for GPU endpoints (FLASH_GPU_IMAGE). Default node:24-bookworm-slim. */
  gpuImage: string;
  /** The start command: the bootstrap, or FLASH_WORKER_COMMAND. */
  startCommand: string;
  /** The project id stamped on every endpoint. */
  projectId: string;
  /**
   * Extra env given to workers but not part of the config hash (e.g. the API
   * key a worker needs to call other endpoints). Never written to the cache.
   */
  secretEnv?: Record<string, string>;
}

export const DEFAULT_WORKER_IMAGE = "node:24-bookworm-slim";
/** REST v2's default per-request execution timeout. */
export const DEFAULT_EXECUTION_TIMEOUT_MS = 300_000;

/** Resolves worker runtime settings from the environment. */
export function resolveWorkerRuntime(env: NodeJS.ProcessEnv, _version: string, projectId: string): WorkerRuntimeSettings {
  return {
    cpuImage: env.FLASH_CPU_IMAGE?.trim() || DEFAULT_WORKER_IMAGE,
    gpuImage: env.FLASH_GPU_IMAGE?.trim() || DEFAULT_WORKER_IMAGE,
    // The version is not part of the command: the runtime travels with requests, so a new
    // flash-ts needs no endpoint update.
    startCommand: env.FLASH_WORKER_COMMAND?.trim() || bootstrapStartCommand(),
    projectId,
  };
}

/** The image an endpoint runs: the config's, else the default for its compute type. */
export function endpointImage(spec: ResourceSpec, runtime: WorkerRuntimeSettings): string {
  return spec.image ?? (spec.compute === "GPU" ? runtime.gpuImage : runtime.cpuImage);
}

/** The hash that decides whether an endpoint must be updated: spec + runtime, never secrets. */
export function endpointConfigHash(spec: ResourceSpec, runtime: WorkerRuntimeSettings): string {
  return stableHash({
    spec,
    image: endpointImage(spec, runtime),
    startCommand: runtime.startCommand,
    // A rotated key must reach the workers: a hash of it (never the key) takes part.
    ...(runtime.secretEnv ? { secrets: stableHash(runtime.secretEnv) } : {}),
  });
}

/** The REST v2 create body for a spec. */
export function toCreateEndpointRequest(spec: ResourceSpec, runtime: WorkerRuntimeSettings): CreateEndpointRequest {
  const hash = endpointConfigHash(spec, runtime);
  const body: CreateEndpointRequest = {
    name: spec.endpointName,
    type: spec.kind === "LB" ? "LOAD_BALANCER" : "QUEUE",
    scaling:
      spec.scalerType === "REQUEST_COUNT"
        ? { type: "REQUEST_COUNT", requestCount: spec.scalerValue }
        : { type: "QUEUE_DELAY", queueDelay: spec.scalerValue },
    image: endpointImage(spec, runtime),
    args: runtime.startCommand,
    env: {
      ...spec.env,
      [WORKER_IMAGE_ENV]: endpointImage(spec, runtime),
      ...(spec.systemDependencies?.length ? { [SYSTEM_DEPENDENCIES_ENV]: spec.systemDependencies.join(" ") } : {}),
      [PROJECT_MARKER_ENV]: runtime.projectId,
      [CONFIG_HASH_ENV]: hash,
      ...(runtime.secretEnv ?? {}),
    },
    // REST v2 rejects idleTimeout for queue endpoints that scale on REQUEST_COUNT.
    workers:
      spec.kind === "QB" && spec.scalerType === "REQUEST_COUNT"
        ? { min: spec.workersMin, max: spec.workersMax }
        : { min: spec.workersMin, max: spec.workersMax, idleTimeout: spec.idleTimeout },
    flashboot: spec.flashboot ?? "FLASHBOOT",
  };
  if (spec.executionTimeoutMs > 0) body.timeout = spec.executionTimeoutMs;
  if (spec.containerDiskGb !== undefined) body.disk = spec.containerDiskGb;
  if (spec.compute === "GPU") {
    const selection = resolveGpuSelection(spec.gpus ?? []);
    body.gpu = {
      pools: selection.pools,
      ...(selection.excludedTypes.length > 0 ? { excludedTypes: selection.excludedTypes } : {}),
      count: spec.gpuCount ?? 1,
      ...(spec.minCudaVersion ? { minCudaVersion: spec.minCudaVersion } : {}),
    };
  } else {
    body.cpu = (spec.instanceIds ?? []).map((id) => {
      const [flavor, vcpus] = id.split("-");
      return { id: flavor ?? id, vcpuCount: Number(vcpus) };
    });
  }
  if (spec.datacenter) body.dataCenterIds = [spec.datacenter];
  if (spec.networkVolumeId) body.networkVolumes = [spec.networkVolumeId];
  return body;
}

/** The PATCH body that brings an existing endpoint to `spec` (everything but the routing type, which cannot change). */
export function toUpdateEndpointRequest(spec: ResourceSpec, runtime: WorkerRuntimeSettings): UpdateEndpointRequest {
  const { type: _type, ...rest } = toCreateEndpointRequest(spec, runtime);
  // A CUDA floor removed from the code must be lifted too (null clears it).
  if (rest.gpu && rest.gpu.minCudaVersion === undefined) rest.gpu = { ...rest.gpu, minCudaVersion: null };
  // PATCH changes only what is sent: state the platform default explicitly so
  // removing executionTimeoutMs from the code resets it.
  return { ...rest, timeout: spec.executionTimeoutMs > 0 ? spec.executionTimeoutMs : DEFAULT_EXECUTION_TIMEOUT_MS };
}
