/** A job as the emulator keeps it, and how it is shown on the wire. */
import type { JobPolicy, JobState, JobStatus, StreamChunk, WorkerJob } from "../runpod/wire-types.js";

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

/** The emulator's mutable record of one job. */
export interface JobRecord {
  readonly id: string;
  readonly endpointId: string;
  status: JobStatus;
  readonly input: unknown;
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
  error: string | undefined;
  retries: number;
  /** Stream chunks posted by the worker, in order; `delivered` of them went out through /stream. */
  chunks: unknown[];
  delivered: number;
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
  input: unknown;
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
    input: init.input,
    webhook: init.webhook,
    policy: init.policy,
    s3Config: init.s3Config,
    sync: init.sync,
    queuedAt: init.now,
    startedAt: undefined,
    finishedAt: undefined,
    workerId: undefined,
    output: undefined,
    error: undefined,
    retries: 0,
    chunks: [],
    delivered: 0,
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
  // Ended jobs always name their worker, "" when none took them (contract checklist F):
  // clients read the field without checking for it.
  if (job.workerId !== undefined) state.workerId = job.workerId;
  else if (isTerminal(job)) state.workerId = "";
  if (job.output !== undefined) state.output = job.output;
  if (job.error !== undefined) state.error = job.error;
  if (job.retries > 0) state.retries = job.retries;
  return state;
}

/** What a worker receives from job-take: the request as submitted, the whole object is the handler's `job`. */
export function toWorkerJob(job: JobRecord): WorkerJob {
  const out: WorkerJob = { id: job.id, input: job.input };
  if (job.webhook !== undefined) out.webhook = job.webhook;
  if (job.policy !== undefined) out.policy = job.policy;
  if (job.s3Config !== undefined) out.s3Config = job.s3Config;
  return out;
}

/**
 * Takes the stream chunks not yet delivered. A job that ended without ever
 * streaming (a non-generator handler) gives its output once as a single
 * chunk, so a client streaming any job sees its result.
 */
export function takeStreamChunks(job: JobRecord, terminal: boolean): StreamChunk[] {
  const out: StreamChunk[] = [];
  for (; job.delivered < job.chunks.length; job.delivered++) out.push({ output: job.chunks[job.delivered] });
  if (terminal && job.chunks.length === 0 && !job.streamed && !job.outputStreamed && job.output !== undefined && job.status === "COMPLETED") {
    job.outputStreamed = true;
    out.push({ output: job.output });
  }
  return out;
}
