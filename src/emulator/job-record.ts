/** A job as the emulator keeps it, and how it is shown on the wire. */
import type { JobPolicy, JobState, JobStatus, StreamChunk } from "../runpod/wire-types.js";

/**
 * The statuses a job ends in. Kept here rather than imported from
 * runpod/wire-types.ts: the emulator takes only types from the clients' side
 * (docs/internals.md), and this is the one definition the emulator uses.
 */
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"]);

/**
 * The longest execution timeout or TTL Runpod accepts (7 days). It also keeps
 * every job timer well under Node's limit of 2^31-1 ms (about 24.8 days), past
 * which setTimeout fires at once instead of late.
 */
export const MAX_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;

/** True once the job has ended (it may still be retried). */
export function isTerminal(job: { status: JobStatus }): boolean {
  return TERMINAL_STATUSES.has(job.status);
}

/**
 * A job's input as submitted: its JSON bytes, kept verbatim (never decoded
 * again or re-serialised: they go to the worker as they came), and how many
 * bytes it counts for in the job memory (docs/limits.md, Memory bounds).
 */
export interface JobInput {
  json: Buffer;
  bytes: number;
}

/** A JobInput of a value (for callers that do not have the submitted body). */
export function jobInput(value: unknown): JobInput {
  const json = Buffer.from(JSON.stringify(value) ?? "null");
  return { json, bytes: json.length };
}

/** A stream chunk waiting to be delivered through /stream, with the bytes it counts for. */
export interface PendingChunk {
  output: unknown;
  bytes: number;
}

/** The emulator's mutable record of one job. */
export interface JobRecord {
  readonly id: string;
  readonly endpointId: string;
  status: JobStatus;
  /**
   * The input's JSON bytes while they may still be needed: until the job
   * completes or is cancelled (a FAILED or TIMED_OUT job keeps them for /retry).
   */
  inputJson: Buffer | undefined;
  /** Bytes of the submitted body, counted while `inputJson` is kept. */
  readonly inputBytes: number;
  readonly webhook: string | undefined;
  readonly policy: JobPolicy | undefined;
  readonly s3Config: unknown;
  /** Submitted through /runsync (kept for a shorter time after it ends). */
  readonly sync: boolean;
  /** When the job was (last) queued: submission, or the last retry. */
  queuedAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  workerId: string | undefined;
  /** `undefined` means absent (JSON cannot carry undefined, so a handler's `null` stays visible). */
  output: unknown;
  /** Bytes of the body that carried `output` (or `error`). */
  outputBytes: number;
  error: string | undefined;
  retries: number;
  /** Stream chunks posted by the worker and not yet delivered through /stream, in order. */
  chunks: PendingChunk[];
  /** Their bytes. */
  chunkBytes: number;
  /** Chunks posted since the job was (last) queued. */
  chunkCount: number;
  /** The final result was posted with `isStream=true` (a generator handler). */
  streamed: boolean;
  /** The output of a non-streaming job was handed out through /stream as its one chunk. */
  outputStreamed: boolean;
  /** In an endpoint queue, waiting for a worker (a queue slot may outlive this flag; see JobStore.pull). */
  inQueue: boolean;
  /** Removed (TTL, retention, endpoint deleted): answers 404 from now on. */
  deleted: boolean;
  execTimer: NodeJS.Timeout | undefined;
  ttlTimer: NodeJS.Timeout | undefined;
  /** Pending waits (runsync, status-sync, stream long-polls), re-checked on every change. */
  waiters: Set<() => void> | undefined;
}

/** A new job record in IN_QUEUE. */
export function createJobRecord(init: {
  id: string;
  endpointId: string;
  input: JobInput;
  webhook?: string;
  policy?: JobPolicy;
  s3Config?: unknown;
  sync: boolean;
  now: number;
}): JobRecord {
  return {
    id: init.id,
    endpointId: init.endpointId,
    status: "IN_QUEUE",
    inputJson: init.input.json,
    inputBytes: init.input.bytes,
    webhook: init.webhook,
    policy: init.policy,
    s3Config: init.s3Config,
    sync: init.sync,
    queuedAt: init.now,
    startedAt: undefined,
    finishedAt: undefined,
    workerId: undefined,
    output: undefined,
    outputBytes: 0,
    error: undefined,
    retries: 0,
    chunks: [],
    chunkBytes: 0,
    chunkCount: 0,
    streamed: false,
    outputStreamed: false,
    inQueue: false,
    deleted: false,
    execTimer: undefined,
    ttlTimer: undefined,
    waiters: undefined,
  };
}

/** The job object of /status, /runsync, /status-sync and webhooks. Times are whole milliseconds. */
export function toJobState(job: JobRecord, now: number): JobState {
  const delayEnd = job.startedAt ?? job.finishedAt ?? now;
  const state: JobState = {
    id: job.id,
    status: job.status,
    delayTime: Math.max(0, Math.round(delayEnd - job.queuedAt)),
    executionTime: job.startedAt === undefined ? 0 : Math.max(0, Math.round((job.finishedAt ?? now) - job.startedAt)),
  };
  // Ended jobs always name their worker, "" when none took them (docs/internals.md, The emulator):
  // clients read the field without checking for it.
  if (job.workerId !== undefined) state.workerId = job.workerId;
  else if (isTerminal(job)) state.workerId = "";
  if (job.output !== undefined) state.output = job.output;
  if (job.error !== undefined) state.error = job.error;
  if (job.retries > 0) state.retries = job.retries;
  return state;
}

/**
 * What a worker receives from job-take, as the pieces of its JSON text: the
 * request as submitted (the whole object is the handler's `job`), with the
 * input's bytes written as they came rather than serialised again.
 */
export function workerJobParts(job: JobRecord): Buffer[] {
  let tail = "";
  if (job.webhook !== undefined) tail += `,"webhook":${JSON.stringify(job.webhook)}`;
  if (job.policy !== undefined) tail += `,"policy":${JSON.stringify(job.policy)}`;
  if (job.s3Config !== undefined) tail += `,"s3Config":${JSON.stringify(job.s3Config)}`;
  return [Buffer.from(`{"id":${JSON.stringify(job.id)},"input":`), job.inputJson ?? Buffer.from("null"), Buffer.from(`${tail}}`)];
}

/**
 * Takes the stream chunks not yet delivered (they are dropped from the
 * record). A job that ended without ever streaming (a non-generator handler)
 * gives its output once as a single chunk, so a client streaming any job
 * sees its result.
 */
export function takeStreamChunks(job: JobRecord, terminal: boolean): StreamChunk[] {
  const out: StreamChunk[] = job.chunks.map((chunk) => ({ output: chunk.output }));
  job.chunks = [];
  job.chunkBytes = 0;
  if (terminal && job.chunkCount === 0 && !job.streamed && !job.outputStreamed && job.output !== undefined && job.status === "COMPLETED") {
    job.outputStreamed = true;
    out.push({ output: job.output });
  }
  return out;
}
