/**
 * Client of the queue job API of Runpod endpoints
 * (`{endpointBaseUrl}/{endpointId}/run|runsync|status|…`), plus
 * {@link JobClient.runToCompletion}: submit with `/run` (so the job id is
 * known at once), then wait for the result with status-sync long polls, as
 * runpod-sdk does after its first runsync; a caller that gives up has the job
 * cancelled (docs/internals.md, "Function calls").
 */
import { Backoff } from "../common/backoff.js";
import type { BackoffPolicy } from "../common/backoff.js";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { normalizeBaseUrl } from "./config.js";
import { errorFromResponse, RunpodError } from "./errors.js";
import { openClientHttp } from "./http.js";
import type { HttpClient, HttpMethod, RetryPolicy } from "./http.js";
import {
  parseCancelResponse,
  parseHealthResponse,
  parseJobState,
  parsePurgeQueueResponse,
  parseRunResponse,
  parseStreamResponse,
} from "./response-shapes.js";
import type { ShapeContext } from "./response-shapes.js";
import { isTerminalStatus } from "./wire-types.js";
import { WAIT_ENDED } from "../common/abort-reason.js";
import type {
  CancelResponse,
  HealthResponse,
  JobRequest,
  JobState,
  PurgeQueueResponse,
  RunResponse,
  StreamChunk,
  StreamResponse,
} from "./wire-types.js";

/** Options of {@link createJobClient}. */
export interface JobClientOptions {
  /** Sent as `Authorization: Bearer <key>`; the header is omitted when undefined. */
  apiKey: string | undefined;
  /** E.g. `https://api.runpod.ai/v2` (see resolveRunpodConfig); `/{endpointId}/…` is appended. */
  endpointBaseUrl: string;
  /** Share an HTTP client (and its connection pool); by default the client makes and owns one. */
  http?: HttpClient;
  /** Timeout of the short calls (run, status, stream, cancel, …); default 10 s. Long polls get their wait + 15 s. */
  timeoutMs?: number;
  /** Retries of the GET calls (status, status-sync, stream, health); default 3 attempts from 100 ms. */
  retry?: RetryPolicy;
  /** Used only when the client creates its own HTTP client. */
  logger?: Logger;
  /** Time for the overall deadline and the pauses between polls; give a shared HTTP client the same one. */
  clock?: Clock;
}

/** Options of the long-polling calls. */
export interface WaitOptions {
  /** How long the server may hold the call for a terminal status, in ms (clamped to 1000–300000; default 90000). */
  waitMs?: number;
  signal?: AbortSignal;
}

/** Options of {@link JobClient.streamAll}. */
export interface StreamAllOptions {
  signal?: AbortSignal;
  /** Pause after an empty, non-terminal answer so a server that does not long-poll is not hammered (default 200 ms). */
  idleDelayMs?: number;
}

/** Options of {@link JobClient.runToCompletion}. */
export interface RunToCompletionOptions {
  /** Overall limit from submission to a terminal status; then the call rejects with UPSTREAM_TIMEOUT. */
  timeoutMs: number;
  /** Aborting it gives up on the job: it is cancelled, then the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Longest single long poll (default 90000; clamped to 1000–300000). */
  waitMs?: number;
  /** Called once the job is queued, with its id (the answer of `/run`). */
  onSubmitted?: (job: RunResponse) => void;
  /** Called with every job state a poll received (including non-terminal ones, e.g. progress updates). */
  onStatus?: (state: JobState) => void;
}

/** The queue job API of Runpod endpoints. Every method takes the endpoint id first. */
export interface JobClient {
  /** POST /run: queue a job, answer at once with `{id, status}`. */
  run(endpointId: string, request: JobRequest, options?: { signal?: AbortSignal }): Promise<RunResponse>;
  /** POST /runsync?wait=: the finished job, or a non-terminal state when the wait ran out. */
  runSync(endpointId: string, request: JobRequest, options?: WaitOptions): Promise<JobState>;
  /** GET /status/{jobId}. */
  status(endpointId: string, jobId: string, options?: { signal?: AbortSignal }): Promise<JobState>;
  /** GET /status-sync/{jobId}?wait=: held until the job is terminal or the wait ran out. */
  statusSync(endpointId: string, jobId: string, options?: WaitOptions): Promise<JobState>;
  /** GET /stream/{jobId}: the chunks not yet delivered and the job status. */
  stream(endpointId: string, jobId: string, options?: { signal?: AbortSignal }): Promise<StreamResponse>;
  /** Loops GET /stream until the job is terminal, yielding every chunk. */
  streamAll(endpointId: string, jobId: string, options?: StreamAllOptions): AsyncGenerator<StreamChunk, void, undefined>;
  /** POST /cancel/{jobId}. */
  cancel(endpointId: string, jobId: string, options?: { signal?: AbortSignal }): Promise<CancelResponse>;
  /** POST /retry/{jobId} (FAILED or TIMED_OUT jobs only). */
  retry(endpointId: string, jobId: string, options?: { signal?: AbortSignal }): Promise<RunResponse>;
  /** POST /purge-queue: drop queued (not running) jobs. */
  purgeQueue(endpointId: string, options?: { signal?: AbortSignal }): Promise<PurgeQueueResponse>;
  /** GET /health: job and worker counters. */
  health(endpointId: string, options?: { signal?: AbortSignal }): Promise<HealthResponse>;
  /**
   * Runs a job to a terminal status (COMPLETED, FAILED, CANCELLED or TIMED_OUT)
   * and returns its final state; a failed job resolves too, look at `status`.
   * Submits with `/run` (the id is known at once), then long-polls status-sync.
   * When it stops waiting (timeout or the caller's abort) for a job that was not
   * finished, it sends `POST /cancel/{jobId}` first, so the job does not keep
   * running (and billing), and settles once that was answered or its short
   * limit passed. An abort while `/run` is in flight waits for its answer (the id
   * to cancel). The cancel is best effort: its failure is not reported.
   * @throws RunpodError UPSTREAM_TIMEOUT (details.jobId) when `timeoutMs` runs out first.
   */
  runToCompletion(endpointId: string, request: JobRequest, options: RunToCompletionOptions): Promise<JobState>;
  /** Closes the HTTP client if this client created it. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 100 };
const DEFAULT_WAIT_MS = 90_000;
const MIN_WAIT_MS = 1_000;
const MAX_WAIT_MS = 300_000;
/** Margin over the server-side wait before a long poll counts as timed out. */
const LONG_POLL_MARGIN_MS = 15_000;
/**
 * Bound of the best-effort cancel sent when runToCompletion gives up on a job:
 * short, because the caller's answer (or flash dev's exit) waits for it.
 */
const GIVE_UP_CANCEL_TIMEOUT_MS = 3_000;
/** Pause between polls of a server that answers status-sync at once instead of holding it. */
const STATUS_POLL_PAUSE: BackoffPolicy = { initialMs: 50, maxMs: 1_000 };

/** Clamps a long-poll wait to what Runpod accepts. */
export function clampWaitMs(waitMs: number | undefined): number {
  const wait = waitMs === undefined || !Number.isFinite(waitMs) ? DEFAULT_WAIT_MS : Math.round(waitMs);
  return Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, wait));
}

/**
 * Creates a job API client (no I/O until the first call).
 * @throws AppError INVALID_CONFIG when `endpointBaseUrl` is not an http(s) URL.
 */
export function createJobClient(options: JobClientOptions): JobClient {
  const baseUrl = normalizeBaseUrl(options.endpointBaseUrl, "RUNPOD_ENDPOINT_BASE_URL");
  const clock = options.clock ?? systemClock;
  const { http, headers, close } = openClientHttp({ ...options, clock });
  const shortTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const getRetry = options.retry ?? DEFAULT_RETRY;
  const errors = {
    hint: `Could not get an answer from the Runpod job API at ${baseUrl}. Check your network, or RUNPOD_ENDPOINT_BASE_URL if you set it.`,
  };

  function url(endpointId: string, path: string): string {
    if (typeof endpointId !== "string" || endpointId === "") throw new AppError("INVALID_INPUT", "An endpoint id is required");
    return `${baseUrl}/${encodeURIComponent(endpointId)}/${path}`;
  }

  function jobPath(operation: string, jobId: string): string {
    if (typeof jobId !== "string" || jobId === "") throw new AppError("INVALID_INPUT", "A job id is required");
    return `${operation}/${encodeURIComponent(jobId)}`;
  }

  /** One call; a non-2xx answer becomes a RunpodError, a 2xx body is checked by `parse`. */
  async function call<T>(
    method: HttpMethod,
    target: string,
    parse: (body: unknown, context: ShapeContext) => T,
    extra: { json?: unknown; timeoutMs?: number; signal?: AbortSignal | undefined },
  ): Promise<T> {
    const response = await http.request({
      method,
      url: target,
      headers,
      json: extra.json,
      timeoutMs: extra.timeoutMs ?? shortTimeoutMs,
      retry: method === "GET" ? getRetry : undefined,
      signal: extra.signal,
      errors,
    });
    // runpod-sdk treats any 2xx but 200 as a failure; we accept the whole 2xx range.
    if (response.status < 200 || response.status >= 300) {
      throw errorFromResponse({ method, url: target, status: response.status, body: response.body });
    }
    return parse(response.body, { method, url: target, status: response.status });
  }

  async function runSync(endpointId: string, request: JobRequest, opts: WaitOptions = {}): Promise<JobState> {
    const wait = clampWaitMs(opts.waitMs);
    return call("POST", url(endpointId, `runsync?wait=${wait}`), parseJobState, {
      json: request,
      timeoutMs: wait + LONG_POLL_MARGIN_MS,
      signal: opts.signal,
    });
  }

  async function statusSync(endpointId: string, jobId: string, opts: WaitOptions = {}): Promise<JobState> {
    const wait = clampWaitMs(opts.waitMs);
    return call("GET", url(endpointId, `${jobPath("status-sync", jobId)}?wait=${wait}`), parseJobState, {
      timeoutMs: wait + LONG_POLL_MARGIN_MS,
      signal: opts.signal,
    });
  }

  async function stream(endpointId: string, jobId: string, opts: { signal?: AbortSignal } = {}): Promise<StreamResponse> {
    return call("GET", url(endpointId, jobPath("stream", jobId)), parseStreamResponse, { signal: opts.signal });
  }

  async function* streamAll(endpointId: string, jobId: string, opts: StreamAllOptions = {}): AsyncGenerator<StreamChunk, void, undefined> {
    const idleDelayMs = opts.idleDelayMs ?? 200;
    for (;;) {
      const answer = await stream(endpointId, jobId, { signal: opts.signal });
      for (const chunk of answer.stream) yield chunk;
      if (isTerminalStatus(answer.status)) return;
      if (answer.stream.length === 0) await clock.sleep(idleDelayMs, opts.signal);
    }
  }

  /**
   * Asks Runpod to cancel a job we stopped waiting for. Never rejects: the job
   * may have finished meanwhile, or the network may be what made us give up.
   */
  async function cancelQuietly(endpointId: string, jobId: string): Promise<void> {
    try {
      await call("POST", url(endpointId, jobPath("cancel", jobId)), parseCancelResponse, { timeoutMs: GIVE_UP_CANCEL_TIMEOUT_MS });
    } catch {
      // best effort (see above)
    }
  }

  async function runToCompletion(endpointId: string, request: JobRequest, opts: RunToCompletionOptions): Promise<JobState> {
    const { timeoutMs, signal, onSubmitted, onStatus } = opts;
    const waitMs = opts.waitMs ?? DEFAULT_WAIT_MS;
    signal?.throwIfAborted();
    const started = clock.now();
    let jobId: string | undefined;
    let lastStatus: JobState["status"] | undefined;
    // The overall deadline aborts whatever call is in flight with the error itself as the reason,
    // which the HTTP layer rethrows unchanged; it is built when it fires so it names the job.
    const controller = new AbortController();
    const timer = new AbortController();
    clock.sleep(timeoutMs, timer.signal).then(
      () => {
        const job = jobId ? `Job ${jobId}` : "The job";
        controller.abort(
          new RunpodError("UPSTREAM_TIMEOUT", `${job} on endpoint ${endpointId} did not finish within ${timeoutMs} ms`, {
            details: { jobId, endpointId, timeoutMs },
            hint: "The job may still be running; raise the timeout or check the endpoint's workers.",
          }),
        );
      },
      () => undefined, // cancelled: the job finished first
    );
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const remaining = (): number => timeoutMs - (clock.now() - started);
    try {
      // Not cut short by an abort: its answer carries the id of the job to cancel (short timeout of its own).
      const submitted = await call("POST", url(endpointId, "run"), parseRunResponse, { json: request });
      jobId = submitted.id;
      lastStatus = submitted.status;
      onSubmitted?.(submitted);
      controller.signal.throwIfAborted();
      let state: JobState | undefined;
      const pause = new Backoff(STATUS_POLL_PAUSE);
      while (state === undefined || !isTerminalStatus(state.status)) {
        const wait = clampWaitMs(Math.min(waitMs, remaining()));
        const pollStarted = clock.now();
        state = await statusSync(endpointId, jobId, { waitMs: wait, signal: controller.signal });
        lastStatus = state.status;
        onStatus?.(state);
        // A server that does not hold status-sync answers at once; pause (growing) instead of spinning.
        if (!isTerminalStatus(state.status) && clock.now() - pollStarted < wait / 2) {
          await pause.wait(clock, controller.signal);
        }
      }
      return state;
    } catch (error) {
      // Gave up on a job Runpod is still queueing or running: without a cancel it would run
      // (and bill) to its own execution timeout for a result nobody reads. Other failures
      // (a refused status call, a network error) do not mean we stopped wanting the result.
      if (controller.signal.aborted && jobId !== undefined && lastStatus !== undefined && !isTerminalStatus(lastStatus)) {
        await cancelQuietly(endpointId, jobId);
      }
      throw error;
    } finally {
      timer.abort(WAIT_ENDED);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  return {
    run: async (endpointId, request, opts = {}) => call("POST", url(endpointId, "run"), parseRunResponse, { json: request, signal: opts.signal }),
    runSync,
    status: async (endpointId, jobId, opts = {}) => call("GET", url(endpointId, jobPath("status", jobId)), parseJobState, { signal: opts.signal }),
    statusSync,
    stream,
    streamAll,
    cancel: async (endpointId, jobId, opts = {}) => call("POST", url(endpointId, jobPath("cancel", jobId)), parseCancelResponse, { signal: opts.signal }),
    retry: async (endpointId, jobId, opts = {}) => call("POST", url(endpointId, jobPath("retry", jobId)), parseRunResponse, { signal: opts.signal }),
    purgeQueue: async (endpointId, opts = {}) => call("POST", url(endpointId, "purge-queue"), parsePurgeQueueResponse, { signal: opts.signal }),
    health: async (endpointId, opts = {}) => call("GET", url(endpointId, "health"), parseHealthResponse, { signal: opts.signal }),
    runToCompletion,
    close,
  };
}
