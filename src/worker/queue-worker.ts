/**
 * Queue mode: the job loop of a queue-based worker (docs/worker-protocol.md, from
 * "Taking jobs" to "Shutdown").
 *
 * One fetcher takes jobs whenever a slot is free (a batch take when more
 * than one is), and starts the next take as soon as jobs are handed out, so
 * a warm worker is always waiting on the platform. A slot is freed when the
 * job's code finishes; its result is posted while the next take is already
 * on its way. The heartbeat reports the jobs in progress, the job-stop
 * channel cancels jobs (their signal is aborted and nothing is posted), and
 * close() drains: no more takes, in-flight jobs finish and are posted.
 */
import { setTimeout as delay } from "node:timers/promises";
import { RUNPOD_LIMITS } from "../common/body-limits.js";
import { formatBytes } from "../common/byte-budget.js";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { JobContext, JobOutcome, JobResultBody, JobRunner } from "./job-runner.js";
import type { PlatformClient, WorkerJob } from "./platform-client.js";

export interface QueueWorkerOptions {
  client: PlatformClient;
  runner: JobRunner;
  /** Jobs run at the same time (≥ 1). */
  concurrency: number;
  logger: Logger;
  /** Jobs taken before this worker started (by the bootstrap), run before the first take. */
  initialJobs?: readonly WorkerJob[];
  /** Judges how old a stop is (tests pass a fake one). */
  clock?: Clock;
}

export interface QueueWorker {
  /** Resolves when the worker has stopped (after close() or abort()). */
  readonly closed: Promise<void>;
  /** Stops taking jobs, lets the jobs in flight finish and post their results, then stops. Idempotent. */
  close(): Promise<void>;
  /** Stops now: jobs in flight are aborted and nothing more is posted. */
  abort(): Promise<void>;
  /** Ids of the jobs taken and not yet finished (executing or posting). */
  jobIds(): string[];
}

interface Running {
  job: WorkerJob;
  controller: AbortController;
  /** Holds a concurrency slot (its code is still running). */
  executing: boolean;
  /** Stopped by the platform or by abort(): nothing is posted for it. */
  stopped: boolean;
  /** Counted in `pending` (taken, result not yet delivered). */
  pending: boolean;
}

/**
 * A stop can overtake the take that hands its job out (the platform cancels a
 * job while its take answer is on the way): such a stop is kept this long, so
 * the job is not run when it arrives. Short, because a job id can come back
 * (a retried job keeps its id), and bounded in number
 * (docs/worker-protocol.md, Stopping a job).
 */
const EARLY_STOP_KEPT_MS = 10_000;
const EARLY_STOPS_MAX = 256;

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * The JSON text of a result body. A body JSON cannot carry, or one over
 * Runpod's limit for a job result (docs/limits.md, Payload limits), becomes
 * an error saying so: the platform would refuse the post, and the job would
 * then hang until its execution timeout.
 */
function serializeBody(body: JobResultBody): string {
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch (error) {
    return JSON.stringify({ error: `the job's result cannot be sent as JSON: ${errorMessage(error)}` });
  }
  const size = Buffer.byteLength(text);
  if (size <= RUNPOD_LIMITS.jobResult) return text;
  return JSON.stringify({
    error:
      `the job's result is ${formatBytes(size)}, over Runpod's limit of ${formatBytes(RUNPOD_LIMITS.jobResult)} for a job result; ` +
      "return large data by reference (upload it and return its URL)",
  });
}

export function startQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const { client, runner, logger } = options;
  const clock = options.clock ?? systemClock;
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const debug = logger.level === "debug";
  const jobs = new Map<string, Running>();
  let executing = 0;
  let pending = 0;
  let wakeFetcher: (() => void) | undefined;
  let onDrained: (() => void) | undefined;
  const stopTaking = new AbortController();
  const stopBackground = new AbortController();
  /** Stops for jobs this worker does not hold (yet): id → when the stop came. */
  const earlyStops = new Map<string, number>();

  const wake = (): void => {
    const resume = wakeFetcher;
    wakeFetcher = undefined;
    resume?.();
  };

  function release(entry: Running): void {
    if (entry.executing) {
      entry.executing = false;
      executing--;
      wake();
    }
  }

  function settle(entry: Running): void {
    if (!entry.pending) return;
    entry.pending = false;
    jobs.delete(entry.job.id);
    if (--pending === 0) onDrained?.();
  }

  async function runJob(entry: Running): Promise<void> {
    const { job, controller } = entry;
    const started = debug ? performance.now() : 0;
    const ctx: JobContext = {
      signal: controller.signal,
      progress: async (output) => {
        if (!entry.stopped) await client.postProgress(job.id, output);
      },
      stream: async (output) => !entry.stopped && client.postStreamChunk(job.id, output),
    };
    let outcome: JobOutcome;
    try {
      outcome = await runner.run(job, ctx);
    } catch (error) {
      logger.error(`job ${job.id} failed in the runtime: ${errorMessage(error)}`);
      outcome = { body: { error: errorMessage(error) }, isStream: false, failed: true };
    }
    release(entry);
    if (entry.stopped) return; // nothing is posted for a stopped job (docs/worker-protocol.md, Stopping a job)
    try {
      await client.postResult(job.id, serializeBody(outcome.body), outcome.isStream);
      if (debug) logger.debug(`job ${job.id} done in ${(performance.now() - started).toFixed(1)} ms`);
    } finally {
      settle(entry);
    }
  }

  function rememberEarlyStop(id: string): void {
    const now = clock.now();
    for (const [old, at] of earlyStops) {
      if (now - at < EARLY_STOP_KEPT_MS && earlyStops.size < EARLY_STOPS_MAX) break;
      earlyStops.delete(old); // oldest first (insertion order)
    }
    earlyStops.set(id, now);
  }

  function start(job: WorkerJob): void {
    if (jobs.has(job.id)) {
      logger.warn(`job ${job.id} was handed out again while it is still running; ignored`);
      return;
    }
    const stoppedAt = earlyStops.get(job.id);
    if (stoppedAt !== undefined) {
      earlyStops.delete(job.id);
      if (clock.now() - stoppedAt < EARLY_STOP_KEPT_MS) {
        logger.info(`job ${job.id} was stopped by the platform before it started; not run`);
        return;
      }
    }
    const entry: Running = { job, controller: new AbortController(), executing: true, stopped: false, pending: true };
    jobs.set(job.id, entry);
    executing++;
    pending++;
    runJob(entry).catch((error: unknown) => logger.error(`job ${job.id}: ${errorMessage(error)}`));
  }

  function stopJob(id: string, reason: string): void {
    const entry = jobs.get(id);
    // Unknown, or finished and posting already: too late to take it back.
    if (!entry || entry.stopped || !entry.executing) return;
    entry.stopped = true;
    entry.controller.abort(new Error(reason));
    release(entry);
    settle(entry);
    logger.info(`job ${id} ${reason}`);
  }

  async function fetchLoop(): Promise<void> {
    while (!stopTaking.signal.aborted) {
      const free = concurrency - executing;
      if (free <= 0) {
        await new Promise<void>((resolve) => (wakeFetcher = resolve));
        continue;
      }
      try {
        const { jobs: taken, retryAfterMs } = await client.takeJobs(free, jobs.size > 0, stopTaking.signal);
        // Jobs that arrive as we stop are ours now: run them.
        for (const job of taken) start(job);
        if (retryAfterMs > 0) await delay(retryAfterMs, undefined, { signal: stopTaking.signal }).catch(() => {});
      } catch (error) {
        logger.error(`job loop: ${errorMessage(error)}`);
        await delay(1000, undefined, { signal: stopTaking.signal }).catch(() => {});
      }
    }
  }

  async function stopLoop(): Promise<void> {
    if (!client.config.jobStopUrl) return;
    const signal = stopBackground.signal;
    while (!signal.aborted) {
      const started = performance.now();
      const { jobIds, retryAfterMs } = await client.pollStop(signal);
      for (const id of jobIds) {
        if (jobs.has(id)) stopJob(id, "was stopped by the platform");
        else rememberEarlyStop(id);
      }
      // after an empty answer wait at least a second (docs/worker-protocol.md, Stopping a job) (a platform that does not hold the poll).
      const wait = retryAfterMs > 0 ? retryAfterMs : jobIds.length === 0 ? 1000 - (performance.now() - started) : 0;
      if (wait > 0) await delay(wait, undefined, { signal }).catch(() => {});
    }
  }

  let heartbeat: NodeJS.Timeout | undefined;
  if (client.config.pingUrl) {
    const beat = (): void => void client.ping([...jobs.keys()]);
    beat();
    heartbeat = setInterval(beat, client.config.pingIntervalMs);
    heartbeat.unref();
  }

  for (const job of options.initialJobs ?? []) start(job);
  const fetcher = fetchLoop();
  const stopPoller = stopLoop().catch((error: unknown) => logger.error(`job-stop channel: ${errorMessage(error)}`));
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;

  logger.info(`queue mode: worker ${client.config.workerId}, concurrency ${concurrency}`);

  function close(): Promise<void> {
    closing ??= (async () => {
      stopTaking.abort();
      wake();
      await fetcher;
      if (pending > 0) {
        logger.info(`finishing ${pending} job(s) in progress`);
        await new Promise<void>((resolve) => {
          onDrained = resolve;
          if (pending === 0) resolve();
        });
      }
      stopBackground.abort();
      if (heartbeat) clearInterval(heartbeat);
      await stopPoller;
      await client.close();
      resolveClosed();
    })();
    return closing;
  }

  return {
    closed,
    close,
    abort() {
      for (const id of [...jobs.keys()]) {
        const entry = jobs.get(id);
        if (!entry) continue;
        if (entry.executing) stopJob(id, "was aborted (the worker is stopping)");
        else settle(entry); // its post may still be in flight; the client is torn down right after
      }
      return close();
    },
    jobIds: () => [...jobs.keys()],
  };
}
