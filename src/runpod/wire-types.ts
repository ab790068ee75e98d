/**
 * Runpod Serverless wire contracts, as TypeScript types. Both the clients in
 * this folder and the emulator implement these; neither imports the other.
 * Shapes one side validates are schemas in wire-schemas.ts, and their types
 * come from there.
 * Sources: Runpod's REST v2 OpenAPI document, its job API docs, and runpod-python
 * for the worker protocol (docs/worker-protocol.md).
 */

// ---------------------------------------------------------------------------
// REST v2 control plane: /v2/serverless

import type { CreateEndpointRequest, EndpointGpuConfig, EndpointScaling, RunResponse } from "./wire-schemas.js";

export type {
  CreateEndpointRequest,
  EndpointGpuConfig,
  EndpointScaling,
  EndpointWorkers,
  HealthResponse,
  JobState,
  PurgeQueueResponse,
  RunResponse,
  StreamChunk,
  StreamResponse,
  UpdateEndpointRequest,
} from "./wire-schemas.js";

export type EndpointType = CreateEndpointRequest["type"];
export type FlashBoot = NonNullable<CreateEndpointRequest["flashboot"]>;

/** A CPU flavour as endpoints report it (a create body sends `id` and `vcpuCount`). */
export type CpuConfig = NonNullable<CreateEndpointRequest["cpu"]>[number] & { memory?: number };

/** Container settings shared by create, update and the endpoint object. */
export type ContainerConfig = Pick<CreateEndpointRequest, "image" | "args" | "disk" | "env" | "ports" | "registry">;

export interface QueueRequestUrls {
  run: string;
  runSync: string;
  status: string;
  stream: string;
  cancel: string;
  retry: string;
  purgeQueue: string;
  health: string;
}

export interface LoadBalancerRequestUrls {
  base: string;
  health: string;
}

export interface Endpoint extends ContainerConfig {
  id: string;
  name: string;
  type: EndpointType;
  requestUrls?: QueueRequestUrls | LoadBalancerRequestUrls;
  gpu?: EndpointGpuConfig | null;
  cpu?: CpuConfig[];
  workers: { min: number; max: number; idleTimeout?: number };
  scaling: EndpointScaling;
  dataCenterIds: string[];
  networkVolumes: string[];
  timeout: number;
  flashboot: FlashBoot;
  createdAt: string;
  /** Fields we do not model are kept and echoed. */
  [extra: string]: unknown;
}

export interface ListEndpointsResponse {
  endpoints: Endpoint[];
}

/** RFC 9457 problem details, the REST v2 error body. */
export interface ProblemDetails {
  title: string;
  status: number;
  detail: string;
  errors?: string[];
}

// ---------------------------------------------------------------------------
// Job API (queue-based endpoints): {ENDPOINT_BASE}/{endpointId}/...

export type JobStatus = "IN_QUEUE" | "IN_PROGRESS" | "COMPLETED" | "FAILED" | "CANCELLED" | "TIMED_OUT";

export const JOB_STATUSES = ["IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"] as const satisfies readonly JobStatus[];
export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"]);

export function isTerminalStatus(status: string): boolean {
  return TERMINAL_JOB_STATUSES.has(status as JobStatus);
}

export interface JobPolicy {
  /** Per-job execution timeout in ms. */
  executionTimeout?: number;
  lowPriority?: boolean;
  /** Total lifetime of the job in ms from submission. */
  ttl?: number;
}

/** Runpod's range for a job's `policy.executionTimeout` (ms). */
export const POLICY_EXECUTION_TIMEOUT_MS = { min: 5_000, max: 7 * 24 * 3600 * 1000 } as const;

/**
 * The per-job policy for a function's execution timeout, where Runpod accepts
 * one. Shorter limits are carried by the endpoint's own `timeout` alone.
 */
export function executionPolicy(timeoutMs: number | undefined): { policy?: JobPolicy } {
  if (!timeoutMs || timeoutMs < POLICY_EXECUTION_TIMEOUT_MS.min || timeoutMs > POLICY_EXECUTION_TIMEOUT_MS.max) return {};
  return { policy: { executionTimeout: timeoutMs } };
}

/** Body of /run and /runsync. */
export interface JobRequest {
  input: unknown;
  webhook?: string;
  policy?: JobPolicy;
  s3Config?: Record<string, unknown>;
}

export type CancelResponse = RunResponse;

// ---------------------------------------------------------------------------
// Worker protocol (worker -> platform), as runpod-python speaks it.

/** Environment variables the platform gives a worker. */
export const WORKER_ENV = {
  GET_JOB: "RUNPOD_WEBHOOK_GET_JOB",
  POST_OUTPUT: "RUNPOD_WEBHOOK_POST_OUTPUT",
  POST_STREAM: "RUNPOD_WEBHOOK_POST_STREAM",
  PING: "RUNPOD_WEBHOOK_PING",
  PING_INTERVAL: "RUNPOD_PING_INTERVAL",
  POD_ID: "RUNPOD_POD_ID",
  AI_API_KEY: "RUNPOD_AI_API_KEY",
  ENDPOINT_ID: "RUNPOD_ENDPOINT_ID",
  PORT: "PORT",
  PORT_HEALTH: "PORT_HEALTH",
  HEALTH_CHECK_PATH: "HEALTH_CHECK_PATH",
} as const;

/** A job as delivered by job-take: the whole object is what a handler receives. */
export interface WorkerJob {
  id: string;
  input: unknown;
  webhook?: string;
  [extra: string]: unknown;
}

/** Body a worker posts to job-done. `status: "IN_PROGRESS"` marks a progress update instead of a result. */
export interface JobDoneBody {
  output?: unknown;
  error?: string;
  stopPod?: boolean;
  status?: "IN_PROGRESS";
}

/** Body of the per-job stop channel (job-stop). */
export interface JobStopResponse {
  jobsToStop: string[];
}

// ---------------------------------------------------------------------------
// Jobs the platform fails itself.

/**
 * A job's `error` is free text on Runpod; runpod-python sends a JSON string
 * `{error_type, error_message, …}` for handler failures. The emulator uses the
 * same shape, with `error_type` WORKER_START_FAILED and a `hint`, when it
 * fails queued jobs because the endpoint's workers cannot start (an image it
 * does not have, no `node` in it, workers that keep exiting), so a client can
 * tell that from a function's failure without reading the message.
 */
export const WORKER_START_FAILED = "WorkerStartFailed";

export interface JobErrorInfo {
  error_type: string;
  error_message: string;
  hint?: string;
}

/** The JSON error text of a job the platform failed itself. */
export function formatJobError(info: JobErrorInfo): string {
  return JSON.stringify(info);
}

/** The structured form of a job's `error`, when it is one (runpod-python's shape); else undefined. */
export function parseJobError(error: string | undefined): JobErrorInfo | undefined {
  if (!error || !error.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(error) as Record<string, unknown>;
    if (typeof value.error_type !== "string" || typeof value.error_message !== "string") return undefined;
    return { error_type: value.error_type, error_message: value.error_message, ...(typeof value.hint === "string" ? { hint: value.hint } : {}) };
  } catch {
    return undefined;
  }
}
