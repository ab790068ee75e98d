/**
 * Runpod's wire shapes that one side produces and the other validates, as
 * valibot schemas (docs/internals.md, "Wire shapes"): the REST v2 endpoint
 * bodies (the provisioner sends them, the emulator validates them) and the
 * job API's answers (the emulator sends them, the clients validate them).
 * `wire-types.ts` exports the types inferred from them.
 *
 * Messages are written to be read after the field's path (`$.workers.min:
 * must be >= 0`) for the emulator's problem JSON, and alone for a client's
 * "unexpected body" error (`missing job id`).
 */
import * as v from "valibot";
import { looseFields, objectMessage, strictFields, stringArray } from "../common/schema.js";
import { JOB_STATUSES, POLICY_EXECUTION_TIMEOUT_MS } from "./wire-types.js";

// ---------------------------------------------------------------------------
// REST v2 control plane: create and update bodies. Bounds are the OpenAPI
// schema's; what it states in prose (exactly one of gpu/cpu, min <= max) is
// checked by the emulator after these.

const STRINGS = "expected array of strings";
const MAX_TIMEOUT_MS = POLICY_EXECUTION_TIMEOUT_MS.max;
const TIMEOUT_MESSAGE = `must be an integer number of milliseconds from 0 (no timeout) to ${MAX_TIMEOUT_MS} (7 days)`;

function integer(min?: number, max?: number) {
  return v.pipe(
    v.number("expected integer"),
    v.integer("expected integer"),
    v.minValue(min ?? Number.NEGATIVE_INFINITY, `must be >= ${min}`),
    v.maxValue(max ?? Number.POSITIVE_INFINITY, `must be <= ${max}`),
  );
}

function text(minLength = 0) {
  return v.pipe(v.string("expected string"), v.minLength(minLength, `length must be >= ${minLength}`));
}

function strings(minItems = 0) {
  return v.pipe(stringArray(STRINGS), v.minLength(minItems, `must have at least ${minItems} item(s)`));
}

/** A variant's options are plain objects (the variant itself refuses what is not one). */
function scalingOption<const E extends Record<string, v.GenericSchema>>(entries: E) {
  return v.strictObject(entries, objectMessage(entries, "expected object"));
}

const ScalingSchema = v.variant(
  "type",
  [
    scalingOption({ type: v.literal("QUEUE_DELAY"), queueDelay: v.pipe(v.number("expected number >= 0.5"), v.minValue(0.5, "expected number >= 0.5")) }),
    scalingOption({ type: v.literal("REQUEST_COUNT"), requestCount: integer(1) }),
  ],
  (issue) => (issue.path?.at(-1)?.key === "type" ? "must be one of QUEUE_DELAY, REQUEST_COUNT" : "expected object"),
);

const WorkersSchema = strictFields(
  {
    min: v.optional(integer(0)),
    max: v.optional(integer(0)),
    /** Seconds before an idle worker scales down. */
    idleTimeout: v.optional(integer(1, 3600)),
  },
  "expected object",
);

const GPU_FIELDS = {
  excludedTypes: v.optional(strings()),
  count: v.optional(integer(1)),
  allowedCudaVersions: v.optional(strings()),
  minCudaVersion: v.optional(v.nullable(text())),
};
/** A create names the pools; an update may leave them as they are. */
const CreateGpuSchema = strictFields({ pools: strings(1), ...GPU_FIELDS }, "expected object");
const UpdateGpuSchema = strictFields({ pools: v.optional(strings(1)), ...GPU_FIELDS }, "expected object");

const CpuSchema = strictFields(
  {
    id: text(1),
    // The spec says >= 2 and a power of two for the flavour; without a catalog only a positive integer is asked for.
    vcpuCount: integer(1),
  },
  "expected object",
);

/** The fields create and update share, every one optional. */
const ENDPOINT_FIELDS = {
  // Container settings shared by create, update and the endpoint object.
  image: v.optional(text()),
  /** The start command passed to the container entrypoint. */
  args: v.optional(text()),
  disk: v.optional(integer(1)),
  env: v.optional(v.record(v.string(), v.string("expected string"), "expected object")),
  ports: v.optional(strings()),
  registry: v.optional(v.nullable(text())),
  templateId: v.optional(text(1)),
  cpu: v.optional(v.pipe(v.array(CpuSchema, "expected non-empty array"), v.nonEmpty("expected non-empty array"))),
  workers: v.optional(WorkersSchema),
  dataCenterIds: v.optional(strings()),
  networkVolumes: v.optional(strings()),
  /**
   * Per-request execution timeout in ms, 0 (none) to 7 days. The bound is
   * Runpod's and also what keeps a job timer valid (Node fires a setTimeout
   * above 2^31-1 ms at once).
   */
  timeout: v.optional(v.pipe(v.number(TIMEOUT_MESSAGE), v.integer(TIMEOUT_MESSAGE), v.minValue(0, TIMEOUT_MESSAGE), v.maxValue(MAX_TIMEOUT_MS, TIMEOUT_MESSAGE))),
  flashboot: v.optional(v.picklist(["OFF", "FLASHBOOT", "PRIORITY_FLASHBOOT"], "must be one of OFF, FLASHBOOT, PRIORITY_FLASHBOOT")),
};

/** `POST /v2/serverless`. */
export const CreateEndpointRequestSchema = strictFields(
  {
    ...ENDPOINT_FIELDS,
    name: text(1),
    type: v.picklist(["QUEUE", "LOAD_BALANCER"], "must be one of QUEUE, LOAD_BALANCER"),
    scaling: ScalingSchema,
    gpu: v.optional(CreateGpuSchema),
  },
  "expected object",
  { type: "is required" },
);

/** `PATCH /v2/serverless/{id}`: every field optional; the type cannot change. */
export const UpdateEndpointRequestSchema = strictFields(
  { ...ENDPOINT_FIELDS, name: v.optional(text(1)), scaling: v.optional(ScalingSchema), gpu: v.optional(UpdateGpuSchema) },
  "expected object",
);

// ---------------------------------------------------------------------------
// Job API answers. Lenient where Runpod varies (missing times are 0, a
// structured error becomes text, a bare stream value becomes a chunk);
// strict on what the clients rely on (a job id, a known status).

const JobStatusSchema = v.picklist(JOB_STATUSES, (issue) => `unknown job status ${JSON.stringify(issue.input)}`);
const JobIdSchema = v.pipe(v.string("missing job id"), v.minLength(1, "missing job id"));
const optionalText = v.fallback(v.optional(v.string()), undefined);
const optionalNumber = v.fallback(v.optional(v.number()), undefined);

/** The job object of /status, /runsync, /status-sync and webhooks. Fields it does not name are kept. */
export const JobStateSchema = looseFields(
  {
    id: JobIdSchema,
    status: JobStatusSchema,
    /** ms from submission until a worker took the job. */
    delayTime: v.fallback(v.number(), 0),
    /** ms the job ran on a worker. */
    executionTime: v.fallback(v.number(), 0),
    workerId: optionalText,
    output: v.optional(v.unknown()),
    // runpod-python sometimes reports a structured error; the job's error is text.
    error: v.optional(v.pipe(v.unknown(), v.transform((error) => (error === null || error === undefined ? undefined : typeof error === "string" ? error : JSON.stringify(error))))),
    retries: optionalNumber,
  },
  "expected a job object",
);

/** `{id, status}` from /run, /retry and /cancel. */
export const RunResponseSchema = looseFields({ id: JobIdSchema, status: JobStatusSchema }, "expected a job object");

export interface StreamChunk {
  output: unknown;
}

function asChunk(chunk: unknown): StreamChunk {
  return chunk !== null && typeof chunk === "object" && "output" in chunk ? (chunk as StreamChunk) : { output: chunk };
}

/** `{status, stream: [{output}]}` from /stream; a missing `stream` is an empty list, a bare value a chunk's output. */
export const StreamResponseSchema = looseFields(
  {
    status: JobStatusSchema,
    stream: v.pipe(
      v.nullish(v.array(v.unknown(), "`stream` is not a list"), []),
      v.transform((chunks): StreamChunk[] => (chunks ?? []).map(asChunk)),
    ),
    id: optionalText,
  },
  "expected a stream object",
);

/** `{removed, status}` from /purge-queue. */
export const PurgeQueueResponseSchema = looseFields(
  { removed: v.number("missing `removed` count"), status: v.fallback(v.literal("completed"), "completed") },
  "expected a purge-queue object",
);

const counter = v.fallback(v.number(), 0);
/** `{jobs, workers}` from /health; counters the server left out are 0. */
export const HealthResponseSchema = looseFields(
  {
    jobs: v.object({ completed: counter, failed: counter, inProgress: counter, inQueue: counter, retried: counter }, "expected a `jobs` object"),
    workers: v.object(
      { idle: counter, initializing: counter, ready: counter, running: counter, throttled: counter, unhealthy: counter },
      "expected a `workers` object",
    ),
  },
  "expected a health object",
);

/**
 * An endpoint object from REST v2: the clients rely on `id` and `name` before
 * anything else, so those are checked; the rest is typed (wire-types.ts,
 * Endpoint) and kept as sent.
 */
export const EndpointIdentitySchema = looseFields(
  { id: v.pipe(v.string("missing endpoint id"), v.minLength(1, "missing endpoint id")), name: v.string("missing endpoint name") },
  "expected an endpoint object",
);

/** `{endpoints: [...]}` from GET /v2/serverless. */
export const EndpointListSchema = looseFields({ endpoints: v.array(EndpointIdentitySchema, "`endpoints` is not a list") }, "expected an endpoint list object");

export type CreateEndpointRequest = v.InferOutput<typeof CreateEndpointRequestSchema>;
export type UpdateEndpointRequest = v.InferOutput<typeof UpdateEndpointRequestSchema>;
export type EndpointScaling = v.InferOutput<typeof ScalingSchema>;
export type EndpointWorkers = v.InferOutput<typeof WorkersSchema>;
export type EndpointGpuConfig = NonNullable<CreateEndpointRequest["gpu"]>;
export type JobState = v.InferOutput<typeof JobStateSchema>;
export type RunResponse = v.InferOutput<typeof RunResponseSchema>;
export type StreamResponse = v.InferOutput<typeof StreamResponseSchema>;
export type PurgeQueueResponse = v.InferOutput<typeof PurgeQueueResponseSchema>;
export type HealthResponse = v.InferOutput<typeof HealthResponseSchema>;
