/**
 * Shape checks for Runpod answers, done once at the edge so the rest of the
 * code can trust the wire types. The shapes are the schemas of
 * wire-schemas.ts, which the emulator's answers are typed from too.
 */
import * as v from "valibot";
import { RunpodError } from "./errors.js";
import {
  EndpointIdentitySchema,
  EndpointListSchema,
  HealthResponseSchema,
  JobStateSchema,
  PurgeQueueResponseSchema,
  RunResponseSchema,
  StreamResponseSchema,
} from "./wire-schemas.js";
import { JOB_STATUSES } from "./wire-types.js";
import type { CancelResponse, Endpoint, HealthResponse, JobState, JobStatus, PurgeQueueResponse, RunResponse, StreamResponse } from "./wire-types.js";

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

function parse<S extends v.GenericSchema>(schema: S, body: unknown, context: ShapeContext): v.InferOutput<S> {
  const result = v.safeParse(schema, body, { abortEarly: true });
  if (result.success) return result.output;
  return unexpected(context, body, result.issues[0].message);
}

function unexpected(context: ShapeContext, body: unknown, why: string): never {
  throw new RunpodError("UPSTREAM_ERROR", `${context.method} ${context.url} answered HTTP ${context.status} with an unexpected body: ${why}`, {
    upstreamStatus: context.status,
    body,
    // The answer itself was a success; the rendered status should say "bad gateway", not 200.
    status: 502,
    details: { upstreamStatus: context.status },
  });
}

/** A job object (status, runsync, status-sync); `delayTime`/`executionTime` default to 0. */
export function parseJobState(body: unknown, context: ShapeContext): JobState {
  return parse(JobStateSchema, body, context);
}

/** `{id, status}` from /run and /retry. */
export function parseRunResponse(body: unknown, context: ShapeContext): RunResponse {
  return parse(RunResponseSchema, body, context);
}

/** `{id, status}` from /cancel. */
export function parseCancelResponse(body: unknown, context: ShapeContext): CancelResponse {
  return parse(RunResponseSchema, body, context);
}

/** `{status, stream: [{output}]}` from /stream; a missing `stream` is an empty list. */
export function parseStreamResponse(body: unknown, context: ShapeContext): StreamResponse {
  return parse(StreamResponseSchema, body, context);
}

/** `{removed, status}` from /purge-queue. */
export function parsePurgeQueueResponse(body: unknown, context: ShapeContext): PurgeQueueResponse {
  return parse(PurgeQueueResponseSchema, body, context);
}

/** `{jobs, workers}` from /health; counters the server left out are 0. */
export function parseHealthResponse(body: unknown, context: ShapeContext): HealthResponse {
  return parse(HealthResponseSchema, body, context);
}

/** An endpoint object from REST v2; at least `id` and `name` must be there. */
export function parseEndpoint(body: unknown, context: ShapeContext): Endpoint {
  return parse(EndpointIdentitySchema, body, context) as Endpoint;
}

/** `{endpoints: [...]}` from GET /v2/serverless. */
export function parseEndpointList(body: unknown, context: ShapeContext): Endpoint[] {
  return parse(EndpointListSchema, body, context).endpoints as Endpoint[];
}
