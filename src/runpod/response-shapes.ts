/**
 * Shape checks for Runpod answers, done once at the edge so the rest of the
 * code can trust the wire types. Parsed JSON is owned by us, so missing
 * defaults are filled in place instead of copying objects on the hot path.
 */
import { RunpodError } from "./errors.js";
import { JOB_STATUSES } from "./wire-types.js";
import type {
  CancelResponse,
  Endpoint,
  HealthResponse,
  JobState,
  JobStatus,
  PurgeQueueResponse,
  RunResponse,
  StreamChunk,
  StreamResponse,
} from "./wire-types.js";

/** Which call the answer belongs to, for error messages. */
export interface ShapeContext {
  method: string;
  url: string;
  status: number;
}

const KNOWN_STATUSES: ReadonlySet<string> = new Set<string>(JOB_STATUSES);

/** True when `value` is one of the six job statuses Runpod emits. */
export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === "string" && KNOWN_STATUSES.has(value);
}

function unexpected(context: ShapeContext, body: unknown, why: string): RunpodError {
  return new RunpodError("UPSTREAM_ERROR", `${context.method} ${context.url} answered HTTP ${context.status} with an unexpected body: ${why}`, {
    upstreamStatus: context.status,
    body,
    // The answer itself was a success; the rendered status should say "bad gateway", not 200.
    status: 502,
    details: { upstreamStatus: context.status },
  });
}

function asRecord(body: unknown, context: ShapeContext, what: string): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw unexpected(context, body, `expected ${what} object`);
  return body as Record<string, unknown>;
}

function requireIdAndStatus(record: Record<string, unknown>, context: ShapeContext): void {
  if (typeof record.id !== "string" || record.id === "") throw unexpected(context, record, "missing job id");
  if (!isJobStatus(record.status)) throw unexpected(context, record, `unknown job status ${JSON.stringify(record.status)}`);
}

/** A job object (status, runsync, status-sync); `delayTime`/`executionTime` default to 0. */
export function parseJobState(body: unknown, context: ShapeContext): JobState {
  const record = asRecord(body, context, "a job");
  requireIdAndStatus(record, context);
  if (typeof record.delayTime !== "number") record.delayTime = 0;
  if (typeof record.executionTime !== "number") record.executionTime = 0;
  // runpod-python sometimes reports a structured error; JobState.error is text.
  if (record.error !== undefined && record.error !== null && typeof record.error !== "string") record.error = JSON.stringify(record.error);
  if (record.error === null) delete record.error;
  return record as unknown as JobState;
}

/** `{id, status}` from /run and /retry. */
export function parseRunResponse(body: unknown, context: ShapeContext): RunResponse {
  const record = asRecord(body, context, "a job");
  requireIdAndStatus(record, context);
  return record as unknown as RunResponse;
}

/** `{id, status}` from /cancel. */
export function parseCancelResponse(body: unknown, context: ShapeContext): CancelResponse {
  return parseRunResponse(body, context);
}

/** `{status, stream: [{output}]}` from /stream; a missing `stream` is an empty list. */
export function parseStreamResponse(body: unknown, context: ShapeContext): StreamResponse {
  const record = asRecord(body, context, "a stream");
  if (!isJobStatus(record.status)) throw unexpected(context, record, `unknown job status ${JSON.stringify(record.status)}`);
  const stream = record.stream;
  if (stream === undefined || stream === null) {
    record.stream = [];
  } else if (!Array.isArray(stream)) {
    throw unexpected(context, record, "`stream` is not a list");
  } else {
    for (let i = 0; i < stream.length; i++) {
      const chunk: unknown = stream[i];
      // A bare value is taken as the chunk's output rather than rejected.
      if (chunk === null || typeof chunk !== "object" || !("output" in chunk)) stream[i] = { output: chunk } satisfies StreamChunk;
    }
  }
  return record as unknown as StreamResponse;
}

/** `{removed, status}` from /purge-queue. */
export function parsePurgeQueueResponse(body: unknown, context: ShapeContext): PurgeQueueResponse {
  const record = asRecord(body, context, "a purge-queue");
  if (typeof record.removed !== "number") throw unexpected(context, record, "missing `removed` count");
  return record as unknown as PurgeQueueResponse;
}

const JOB_COUNTERS = ["completed", "failed", "inProgress", "inQueue", "retried"] as const;
const WORKER_COUNTERS = ["idle", "initializing", "ready", "running", "throttled", "unhealthy"] as const;

/** `{jobs, workers}` from /health; counters the server left out are 0. */
export function parseHealthResponse(body: unknown, context: ShapeContext): HealthResponse {
  const record = asRecord(body, context, "a health");
  const jobs = asRecord(record.jobs, context, "a `jobs`");
  const workers = asRecord(record.workers, context, "a `workers`");
  for (const key of JOB_COUNTERS) if (typeof jobs[key] !== "number") jobs[key] = 0;
  for (const key of WORKER_COUNTERS) if (typeof workers[key] !== "number") workers[key] = 0;
  return record as unknown as HealthResponse;
}

/** An endpoint object from REST v2; at least `id` and `name` must be there. */
export function parseEndpoint(body: unknown, context: ShapeContext): Endpoint {
  const record = asRecord(body, context, "an endpoint");
  if (typeof record.id !== "string" || record.id === "") throw unexpected(context, record, "missing endpoint id");
  if (typeof record.name !== "string") throw unexpected(context, record, "missing endpoint name");
  return record as Endpoint;
}

/** `{endpoints: [...]}` from GET /v2/serverless. */
export function parseEndpointList(body: unknown, context: ShapeContext): Endpoint[] {
  const record = asRecord(body, context, "an endpoint list");
  if (!Array.isArray(record.endpoints)) throw unexpected(context, record, "`endpoints` is not a list");
  return record.endpoints.map((endpoint: unknown) => parseEndpoint(endpoint, context));
}
