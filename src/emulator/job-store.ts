/**
 * Jobs and their queues: the lifecycle IN_QUEUE → IN_PROGRESS → COMPLETED |
 * FAILED | CANCELLED | TIMED_OUT, the held job-take long-polls, and waits on
 * job changes (runsync, status-sync, stream).
 *
 * Everything is event-driven: a submitted job goes straight to a parked
 * job-take if there is one, and a job-done wakes the waiters of that job in
 * the same tick. The only timers are the ones a job needs (its execution
 * timeout while it runs, an explicit TTL) and one sweep for result retention.
 */
import type { JobDoneBody, JobPolicy, JobStatus, StreamChunk } from "../runpod/wire-types.js";
import type { ByteBudget } from "../common/byte-budget.js";
import { formatBytes } from "../common/byte-budget.js";
import { createJobId } from "./ids.js";
import { createJobRecord, isTerminal, takeStreamChunks, type JobInput, type JobRecord } from "./job-record.js";
import { JobRetention } from "./job-retention.js";

/** What the job store tells the rest of the emulator. */
export interface JobStoreHooks {
  /** Jobs of this endpoint are waiting and no held job-take could take them (scale up). */
  queued(endpointId: string): void;
  /** A worker took a job. */
  assigned(job: JobRecord): void;
  /** A job stopped occupying `workerId` (finished, failed, cancelled, timed out or deleted). */
  released(job: JobRecord, workerId: string): void;
  /** The worker must stop working on the job (job-stop channel). */
  stop(workerId: string, jobId: string): void;
  /** A job reached a terminal status (webhooks). */
  terminal(job: JobRecord): void;
}

/** Settings and collaborators of the job store. */
export interface JobStoreOptions {
  hooks: JobStoreHooks;
  /** The endpoint's execution timeout in ms (0 = none); a job's `policy.executionTimeout` wins. */
  executionTimeout(endpointId: string): number;
  /** False: no job times out, whatever its policy or endpoint says (a debugger may hold it paused). Default true. */
  executionTimeouts?: boolean;
  /** How long ended jobs stay readable. Defaults: /run 30 min, /runsync 1 min (Runpod's documented retention). */
  retention?: { runMs?: number; runsyncMs?: number };
  /**
   * Bytes of job data held at once: inputs of queued and running jobs, kept
   * inputs of failed ones, results and undelivered stream chunks, plus
   * JOB_OVERHEAD_BYTES per job (docs/limits.md, Memory bounds).
   * @default DEFAULT_JOB_MEMORY_BYTES
   */
  memoryBytes?: number;
  now?: () => number;
}

/** Default of JobStoreOptions.memoryBytes. */
export const DEFAULT_JOB_MEMORY_BYTES = 256 * 1024 * 1024;
export { JOB_OVERHEAD_BYTES } from "./job-retention.js";

/** The `jobs` counters of `/health`. */
export interface EndpointJobCounters {
  completed: number;
  failed: number;
  inProgress: number;
  inQueue: number;
  retried: number;
}

/** A held job-take; `cancel` ends it with no jobs (client went away, worker stopping). */
export interface TakeRequest {
  jobs: Promise<JobRecord[]>;
  cancel(): void;
}

interface Taker {
  workerId: string;
  max: number;
  done: (jobs: JobRecord[]) => void;
}

interface Lane {
  queue: JobRecord[];
  head: number;
  queued: number;
  inProgress: number;
  takers: Taker[];
  jobs: Set<JobRecord>;
  completed: number;
  failed: number;
  retried: number;
}

/** All jobs of all endpoints, their queues and waits. */
export class JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly lanes = new Map<string, Lane>();
  private readonly byWorker = new Map<string, Set<JobRecord>>();
  private readonly retention: JobRetention;
  private readonly now: () => number;
  private closed = false;
  /** Job data held now, against its limit. */
  readonly memory: ByteBudget;

  constructor(private readonly options: JobStoreOptions) {
    this.now = options.now ?? Date.now;
    this.retention = new JobRetention({
      retentionMs: [options.retention?.runMs ?? 30 * 60_000, options.retention?.runsyncMs ?? 60_000],
      memoryBytes: options.memoryBytes ?? DEFAULT_JOB_MEMORY_BYTES,
      drop: (job) => this.delete(job),
      now: this.now,
    });
    this.memory = this.retention.memory;
  }

  /**
   * Queues a job. Ended jobs are dropped, oldest first, to make room for it;
   * when the job memory is still full, throws HttpError 429 with Retry-After.
   */
  submit(endpointId: string, request: { input: JobInput; webhook?: string; policy?: JobPolicy; s3Config?: unknown }, sync: boolean): JobRecord {
    this.retention.admit(request.input.bytes);
    const job = createJobRecord({ id: createJobId(sync), endpointId, sync, now: this.now(), ...request });
    const lane = this.lane(endpointId);
    this.jobs.set(job.id, job);
    lane.jobs.add(job);
    const ttl = request.policy?.ttl;
    if (ttl !== undefined && ttl > 0) {
      job.ttlTimer = setTimeout(() => this.delete(job), ttl);
      job.ttlTimer.unref();
    }
    this.enqueue(lane, job);
    return job;
  }

  get(endpointId: string, jobId: string): JobRecord | undefined {
    const job = this.jobs.get(jobId);
    return job && job.endpointId === endpointId ? job : undefined;
  }

  /** Jobs a worker is running. */
  jobsOf(workerId: string): ReadonlySet<JobRecord> {
    return this.byWorker.get(workerId) ?? EMPTY;
  }

  counters(endpointId: string): EndpointJobCounters {
    const lane = this.lanes.get(endpointId);
    if (!lane) return { completed: 0, failed: 0, inProgress: 0, inQueue: 0, retried: 0 };
    return { completed: lane.completed, failed: lane.failed, inProgress: lane.inProgress, inQueue: lane.queued, retried: lane.retried };
  }

  /**
   * A worker asks for up to `max` jobs. Queued jobs are handed out at once;
   * otherwise the request is held until a job arrives or `holdMs` passes.
   */
  take(endpointId: string, workerId: string, max: number, holdMs: number): TakeRequest {
    const lane = this.lane(endpointId);
    const ready = this.pull(lane, max, workerId);
    if (ready.length > 0 || this.closed || holdMs <= 0) return { jobs: Promise.resolve(ready), cancel: noop };
    let settle!: (jobs: JobRecord[]) => void;
    const jobs = new Promise<JobRecord[]>((resolve) => (settle = resolve));
    const taker: Taker = {
      workerId,
      max,
      done: (handed) => {
        clearTimeout(timer);
        const index = lane.takers.indexOf(taker);
        if (index >= 0) lane.takers.splice(index, 1);
        settle(handed);
      },
    };
    const timer = setTimeout(() => taker.done([]), holdMs);
    lane.takers.push(taker);
    return { jobs, cancel: () => taker.done([]) };
  }

  /** Ends every held job-take of a worker with no jobs (it is being stopped). */
  releaseTakers(workerId: string): void {
    for (const lane of this.lanes.values()) for (const taker of [...lane.takers]) if (taker.workerId === workerId) taker.done([]);
  }

  /**
   * A progress update (`status: "IN_PROGRESS"`) or the final result from
   * job-done, `bytes` long. Ended jobs are dropped, oldest first, to make room
   * for it; when the job memory is still full a progress update is refused
   * ("full": the worker may retry) and a final result fails the job.
   */
  complete(job: JobRecord, workerId: string, body: JobDoneBody, isStream: boolean, bytes = 0): "progress" | "done" | "ignored" | "full" {
    if (job.status !== "IN_PROGRESS" || job.workerId !== workerId) return "ignored";
    // The body's bytes are what is kept of it: the output, or an error text.
    if (!this.retention.replaceOutput(job, bytes)) {
      if (body.status === "IN_PROGRESS") return "full";
      this.finish(job, "FAILED", this.retention.fullMessage(`the job's result (${formatBytes(bytes)})`));
      return "done";
    }
    if (body.status === "IN_PROGRESS") {
      job.output = body.output;
      this.notify(job);
      return "progress";
    }
    job.streamed = isStream;
    if (body.output !== undefined) job.output = body.output;
    const error = body.error as unknown;
    if (error !== undefined && error !== null && error !== "" && error !== false) {
      this.finish(job, "FAILED", typeof error === "string" ? error : JSON.stringify(error));
    } else {
      this.finish(job, "COMPLETED");
    }
    return "done";
  }

  /** Fails a job `workerId` is running (its result could not be taken). False when it is not running there. */
  fail(job: JobRecord, workerId: string, message: string): boolean {
    if (job.status !== "IN_PROGRESS" || job.workerId !== workerId) return false;
    this.finish(job, "FAILED", message);
    return true;
  }

  /** A stream chunk from job-stream, `bytes` long; "full" when the job memory has no room for it (the worker may retry). */
  appendChunk(job: JobRecord, workerId: string, output: unknown, bytes = 0): boolean | "full" {
    if (job.status !== "IN_PROGRESS" || job.workerId !== workerId) return false;
    if (!this.retention.makeRoom(bytes)) return "full";
    this.memory.take(bytes);
    job.chunks.push({ output, bytes });
    job.chunkBytes += bytes;
    job.chunkCount++;
    this.notify(job);
    return true;
  }

  /** The chunks a /stream request delivers; they are dropped (and their bytes given back). */
  takeStreamChunks(job: JobRecord, terminal: boolean): StreamChunk[] {
    const before = job.chunkBytes;
    const chunks = takeStreamChunks(job, terminal);
    this.memory.give(before - job.chunkBytes);
    return chunks;
  }

  /** Queued → CANCELLED (never delivered); in progress → CANCELLED and the worker is told to stop. */
  cancel(job: JobRecord): void {
    if (isTerminal(job)) return;
    if (job.status === "IN_PROGRESS" && job.workerId) this.options.hooks.stop(job.workerId, job.id);
    this.finish(job, "CANCELLED");
  }

  /** FAILED / TIMED_OUT → IN_QUEUE with the same id (their input is kept for this). False for other statuses. */
  retry(job: JobRecord): boolean {
    if ((job.status !== "FAILED" && job.status !== "TIMED_OUT") || job.inputJson === undefined) return false;
    const lane = this.lane(job.endpointId);
    this.memory.give(job.outputBytes + job.chunkBytes);
    Object.assign(job, { queuedAt: this.now(), startedAt: undefined, finishedAt: undefined, workerId: undefined, output: undefined, outputBytes: 0, error: undefined });
    Object.assign(job, { chunks: [], chunkBytes: 0, chunkCount: 0, streamed: false, outputStreamed: false });
    job.status = "IN_QUEUE";
    job.retries++;
    lane.retried++;
    this.enqueue(lane, job);
    this.notify(job);
    return true;
  }

  /** Cancels every queued job of an endpoint; in-progress jobs continue. Returns how many were removed. */
  purge(endpointId: string, status: JobStatus = "CANCELLED", error?: string): number {
    const lane = this.lanes.get(endpointId);
    if (!lane) return 0;
    // Collect first: finishing a job compacts the queue being walked.
    // A Set, because a retried job can sit in two queue slots.
    const queued = [...new Set(lane.queue.slice(lane.head).filter((job) => job.inQueue))];
    for (const job of queued) this.finish(job, status, error);
    return queued.length;
  }

  /** Fails the jobs a worker was running (it exited or crashed). */
  failWorkerJobs(workerId: string, message: string): number {
    const jobs = [...this.jobsOf(workerId)];
    for (const job of jobs) this.finish(job, "FAILED", message);
    return jobs.length;
  }

  /** The endpoint was deleted: open jobs fail, then every job of it is forgotten. */
  dropEndpoint(endpointId: string, message: string): void {
    const lane = this.lanes.get(endpointId);
    if (!lane) return;
    for (const taker of [...lane.takers]) taker.done([]);
    for (const job of [...lane.jobs]) if (!isTerminal(job)) this.finish(job, "FAILED", message);
    for (const job of [...lane.jobs]) this.delete(job);
    this.lanes.delete(endpointId);
  }

  /**
   * Resolves once `ready(job)` holds, the job is deleted, the store closes or
   * `timeoutMs` passes — whichever comes first. Callers re-read the job.
   */
  waitFor(job: JobRecord, timeoutMs: number, ready: (job: JobRecord) => boolean): { done: Promise<void>; cancel(): void } {
    if (ready(job) || job.deleted || this.closed || timeoutMs <= 0) return { done: Promise.resolve(), cancel: noop };
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = () => {
        clearTimeout(timer);
        job.waiters?.delete(check);
        resolve();
      };
    });
    const check = (): void => {
      if (ready(job) || job.deleted || this.closed) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    (job.waiters ??= new Set()).add(check);
    return { done, cancel: () => finish() };
  }

  /** Stops everything: held takes end empty, waits resolve, timers are cleared. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.retention.close();
    for (const lane of this.lanes.values()) for (const taker of [...lane.takers]) taker.done([]);
    for (const job of this.jobs.values()) {
      clearTimeout(job.execTimer);
      clearTimeout(job.ttlTimer);
      this.notify(job);
    }
  }

  private lane(endpointId: string): Lane {
    let lane = this.lanes.get(endpointId);
    if (!lane) {
      lane = { queue: [], head: 0, queued: 0, inProgress: 0, takers: [], jobs: new Set(), completed: 0, failed: 0, retried: 0 };
      this.lanes.set(endpointId, lane);
    }
    return lane;
  }

  private enqueue(lane: Lane, job: JobRecord): void {
    job.inQueue = true;
    lane.queue.push(job);
    lane.queued++;
    while (lane.queued > 0 && lane.takers.length > 0) {
      const taker = lane.takers[0]!;
      taker.done(this.pull(lane, taker.max, taker.workerId));
    }
    if (lane.queued > 0) this.options.hooks.queued(job.endpointId);
  }

  /**
   * Takes up to `max` queued jobs for a worker. Cancelled or failed jobs leave
   * their queue slot behind with `inQueue` cleared and are skipped here; a job
   * retried after failing in the queue may have two slots, and the flag makes
   * sure only one of them hands it out.
   */
  private pull(lane: Lane, max: number, workerId: string): JobRecord[] {
    const out: JobRecord[] = [];
    while (out.length < max && lane.head < lane.queue.length) {
      const job = lane.queue[lane.head++]!;
      if (!job.inQueue) continue;
      job.inQueue = false;
      lane.queued--;
      this.assign(lane, job, workerId);
      out.push(job);
    }
    this.compact(lane);
    return out;
  }

  private compact(lane: Lane): void {
    if (lane.queued === 0) {
      lane.queue = [];
      lane.head = 0;
    } else if (lane.head > 1024 && lane.head * 2 > lane.queue.length) {
      lane.queue = lane.queue.slice(lane.head);
      lane.head = 0;
    }
  }

  private assign(lane: Lane, job: JobRecord, workerId: string): void {
    job.status = "IN_PROGRESS";
    job.startedAt = this.now();
    job.workerId = workerId;
    lane.inProgress++;
    let set = this.byWorker.get(workerId);
    if (!set) this.byWorker.set(workerId, (set = new Set()));
    set.add(job);
    const timeout = this.options.executionTimeouts === false ? 0 : (job.policy?.executionTimeout ?? this.options.executionTimeout(job.endpointId));
    if (timeout > 0) {
      // Requests are validated to 7 days at most, but an endpoint persisted by an older
      // version may say more: capped so Node does not fire the timer at once.
      job.execTimer = setTimeout(() => this.timeOut(job, timeout), Math.min(timeout, MAX_TIMER_MS));
      job.execTimer.unref();
    }
    this.options.hooks.assigned(job);
    this.notify(job);
  }

  /**
   * A job over its execution timeout ends TIMED_OUT (Runpod's docs call it
   * both "failed" and "timed out"; TIMED_OUT is the status that says why) and
   * its worker is told to stop it.
   */
  private timeOut(job: JobRecord, timeoutMs: number): void {
    if (job.status !== "IN_PROGRESS") return;
    if (job.workerId) this.options.hooks.stop(job.workerId, job.id);
    this.finish(job, "TIMED_OUT", `job exceeded its execution timeout of ${timeoutMs} ms`);
  }

  /** Moves an open job to a terminal status and tells everyone who cares. */
  private finish(job: JobRecord, status: JobStatus, error?: string): void {
    const lane = this.lane(job.endpointId);
    const workerId = job.status === "IN_PROGRESS" ? job.workerId : undefined;
    if (job.inQueue) {
      job.inQueue = false;
      lane.queued--;
      this.compact(lane);
    }
    if (workerId !== undefined) {
      lane.inProgress--;
      this.byWorker.get(workerId)?.delete(job);
      clearTimeout(job.execTimer);
      job.execTimer = undefined;
    }
    job.status = status;
    job.finishedAt = this.now();
    if (error !== undefined) job.error = error;
    // Only a FAILED or TIMED_OUT job can run again (/retry): other ended jobs no longer need their input.
    if (status === "COMPLETED" || status === "CANCELLED") this.retention.dropInput(job);
    if (status === "COMPLETED") lane.completed++;
    else if (status === "FAILED" || status === "TIMED_OUT") lane.failed++;
    this.retention.record(job);
    this.notify(job);
    if (workerId !== undefined) this.options.hooks.released(job, workerId);
    this.options.hooks.terminal(job);
  }

  /** Forgets a job (TTL expiry, retention, endpoint deleted): later reads get 404. */
  private delete(job: JobRecord): void {
    if (job.deleted) return;
    const lane = this.lane(job.endpointId);
    if (job.status === "IN_PROGRESS" && job.workerId) {
      const workerId = job.workerId;
      this.options.hooks.stop(workerId, job.id);
      lane.inProgress--;
      this.byWorker.get(workerId)?.delete(job);
      this.options.hooks.released(job, workerId);
    }
    if (job.inQueue) {
      job.inQueue = false;
      lane.queued--;
      this.compact(lane);
    }
    clearTimeout(job.execTimer);
    clearTimeout(job.ttlTimer);
    job.deleted = true;
    this.jobs.delete(job.id);
    lane.jobs.delete(job);
    this.notify(job);
    // Waiters were told above (synchronously): from here on nothing reads the data.
    this.retention.release(job);
  }

  private notify(job: JobRecord): void {
    if (!job.waiters || job.waiters.size === 0) return;
    for (const check of [...job.waiters]) check();
  }
}

const EMPTY: ReadonlySet<JobRecord> = new Set();
/** Node's largest timer delay; longer ones fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
function noop(): void {}
