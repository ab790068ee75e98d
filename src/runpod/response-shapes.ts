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

/** A parser of one answer: the schema's output, or UPSTREAM_ERROR naming the call and the first problem. */
function parser<S extends v.GenericSchema>(schema: S): (body: unknown, context: ShapeContext) => v.InferOutput<S> {
  return (body, context) => {
    const result = v.safeParse(schema, body, { abortEarly: true });
    if (result.success) return result.output;
    return unexpected(context, body, result.issues[0].message);
  };
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
export const parseJobState: (body: unknown, context: ShapeContext) => JobState = parser(JobStateSchema);

/** `{id, status}` from /run and /retry. */
export const parseRunResponse: (body: unknown, context: ShapeContext) => RunResponse = parser(RunResponseSchema);

/** `{id, status}` from /cancel. */
export const parseCancelResponse: (body: unknown, context: ShapeContext) => CancelResponse = parseRunResponse;

/** `{status, stream: [{output}]}` from /stream; a missing `stream` is an empty list. */
export const parseStreamResponse: (body: unknown, context: ShapeContext) => StreamResponse = parser(StreamResponseSchema);

/** `{removed, status}` from /purge-queue. */
export const parsePurgeQueueResponse: (body: unknown, context: ShapeContext) => PurgeQueueResponse = parser(PurgeQueueResponseSchema);

/** `{jobs, workers}` from /health; counters the server left out are 0. */
export const parseHealthResponse: (body: unknown, context: ShapeContext) => HealthResponse = parser(HealthResponseSchema);

const parseIdentity = parser(EndpointIdentitySchema);
const parseList = parser(EndpointListSchema);

/** An endpoint object from REST v2; at least `id` and `name` must be there (the rest is kept as sent). */
export function parseEndpoint(body: unknown, context: ShapeContext): Endpoint {
  return parseIdentity(body, context) as Endpoint;
}

/** `{endpoints: [...]}` from GET /v2/serverless. */
export function parseEndpointList(body: unknown, context: ShapeContext): Endpoint[] {
  return parseList(body, context).endpoints as Endpoint[];
}
