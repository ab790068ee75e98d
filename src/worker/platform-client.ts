/**
 * The worker side of Runpod's worker protocol (docs/worker-protocol.md), spoken over
 * undici with one keep-alive Agent per process: job-take (single and batch,
 * long-polled), job-done (results and progress), stream chunks, the heartbeat
 * ping and the job-stop channel. URLs come from the environment the platform
 * gives a worker (resolvePlatformConfig); every template already carries a
 * query, to which parameters are appended.
 *
 * Performance: nothing here allocates timers per request beyond undici's own;
 * bodies are always consumed so connections go back to the pool.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { Agent } from "undici";
import { Backoff, backoffDelay } from "../common/backoff.js";
import type { BackoffPolicy } from "../common/backoff.js";
import { RUNPOD_LIMITS } from "../common/body-limits.js";
import { formatBytes } from "../common/byte-budget.js";
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";

/** A job as delivered by job-take: the whole object is what a handler receives. */
export interface WorkerJob {
  id: string;
  input: unknown;
  [extra: string]: unknown;
}

/** Worker-protocol settings, resolved from the environment. */
export interface PlatformConfig {
  /** RUNPOD_POD_ID (or a random id). */
  workerId: string;
  /** RUNPOD_AI_API_KEY, sent as the raw Authorization value. */
  apiKey: string | undefined;
  /** job-take URL with the worker id substituted. */
  jobTakeUrl: string;
  /** job-take-batch URL, when the take URL has a `/job-take/` segment. */
  jobTakeBatchUrl: string | undefined;
  /** job-stop URL (docs/worker-protocol.md, Stopping a job), when the take URL has a `/job-take/` segment. */
  jobStopUrl: string | undefined;
  /** job-done template with the worker id substituted; `$ID` is the job id. */
  jobDoneTemplate: string;
  /** stream template, same substitution. */
  streamTemplate: string | undefined;
  /** ping URL with the worker id substituted. */
  pingUrl: string | undefined;
  /** RUNPOD_PING_INTERVAL (ms), default 10000. */
  pingIntervalMs: number;
  /** Reported as `runpod_version` on pings and in the User-Agent. */
  version: string;
}

/** Appends `query` to a URL that may or may not already have a query string. */
export function appendQuery(url: string, query: string): string {
  return url + (url.includes("?") ? "&" : "?") + query;
}

function requireUrl(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new AppError("INVALID_INPUT", `${name} is not set`, { hint: "Queue-based workers get it from the platform (or the emulator)." });
  try {
    new URL(value.replaceAll("$RUNPOD_POD_ID", "x").replaceAll("$ID", "x"));
  } catch {
    throw new AppError("INVALID_INPUT", `${name} is not a URL: ${JSON.stringify(value)}`);
  }
  return value;
}

/** Reads the worker-protocol environment (docs/worker-protocol.md, "Environment" and "URL templates"). Throws AppError(INVALID_INPUT) naming a bad variable. */
export function resolvePlatformConfig(env: NodeJS.ProcessEnv, version: string): PlatformConfig {
  const workerId = env.RUNPOD_POD_ID || randomUUID();
  const take = requireUrl(env, "RUNPOD_WEBHOOK_GET_JOB");
  const done = requireUrl(env, "RUNPOD_WEBHOOK_POST_OUTPUT");
  const stream = env.RUNPOD_WEBHOOK_POST_STREAM ? requireUrl(env, "RUNPOD_WEBHOOK_POST_STREAM") : undefined;
  const ping = env.RUNPOD_WEBHOOK_PING ? requireUrl(env, "RUNPOD_WEBHOOK_PING") : undefined;
  let pingIntervalMs = 10_000;
  if (env.RUNPOD_PING_INTERVAL) {
    pingIntervalMs = Number(env.RUNPOD_PING_INTERVAL);
    if (!Number.isInteger(pingIntervalMs) || pingIntervalMs < 100) {
      throw new AppError("INVALID_INPUT", `RUNPOD_PING_INTERVAL must be a whole number of milliseconds ≥ 100 (got ${JSON.stringify(env.RUNPOD_PING_INTERVAL)})`);
    }
  }
  // $ID in the take URL is the worker id (docs/worker-protocol.md, URL templates); substitute both placeholders for robustness.
  const jobTakeUrl = take.replaceAll("$RUNPOD_POD_ID", workerId).replaceAll("$ID", workerId);
  const hasTakeSegment = jobTakeUrl.includes("/job-take/");
  return {
    workerId,
    apiKey: env.RUNPOD_AI_API_KEY || undefined,
    jobTakeUrl,
    jobTakeBatchUrl: hasTakeSegment ? jobTakeUrl.replace("/job-take/", "/job-take-batch/") : undefined,
    jobStopUrl: hasTakeSegment ? jobTakeUrl.replace("/job-take/", "/job-stop/") : undefined,
    jobDoneTemplate: done.replaceAll("$RUNPOD_POD_ID", workerId),
    streamTemplate: stream?.replaceAll("$RUNPOD_POD_ID", workerId),
    pingUrl: ping?.replaceAll("$RUNPOD_POD_ID", workerId),
    pingIntervalMs,
    version,
  };
}

/** What a job-take returned: jobs (possibly none) and how long to wait before the next take. */
export interface TakeResult {
  jobs: WorkerJob[];
  retryAfterMs: number;
}

/** What a job-stop poll returned. */
export interface StopResult {
  jobIds: string[];
  retryAfterMs: number;
}

export interface PlatformClient {
  readonly config: PlatformConfig;
  /** Takes up to `max` jobs (batch take when max > 1 and the URL allows it). Never rejects. */
  takeJobs(max: number, jobInProgress: boolean, signal: AbortSignal): Promise<TakeResult>;
  /** Posts a final result (a JSON body) to job-done. Resolves false if it could not be delivered. */
  postResult(jobId: string, body: string, isStream: boolean): Promise<boolean>;
  /** Posts a progress update for a running job. Throws AppError BODY_TOO_LARGE past Runpod's result limit. */
  postProgress(jobId: string, output: unknown): Promise<boolean>;
  /** Posts one stream chunk. Throws AppError BODY_TOO_LARGE past Runpod's limit per chunk. */
  postStreamChunk(jobId: string, output: unknown): Promise<boolean>;
  /** Heartbeat with the ids of jobs in progress. Never rejects. */
  ping(jobIds: readonly string[]): Promise<void>;
  /** One long-poll of the job-stop channel. Never rejects. */
  pollStop(signal: AbortSignal): Promise<StopResult>;
  close(): Promise<void>;
}

/** Each long-poll is bounded here and simply repeated (docs/worker-protocol.md, Taking jobs, Stopping a job). */
const LONG_POLL_MS = 90_000;
const POST_ATTEMPTS = 3;
/** Pause before resending a result the platform did not take: 100 ms, then 300 ms. */
const POST_BACKOFF: BackoffPolicy = { initialMs: 100, factor: 3, maxMs: 500 };
const POST_TIMEOUT_MS = 60_000;
/**
 * Pause before taking again after a job-take answered with a refusal or an unexpected
 * status: first this, doubling up to the maximum. Such an answer comes back at once, so
 * without a pause a platform that keeps giving it would be polled in a busy loop.
 */
const TAKE_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 2_000 };

function isJob(value: unknown): value is WorkerJob {
  return typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string" && "input" in value;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Refuses a body Runpod would refuse (docs/limits.md, Payload limits), so the
 * handler learns it at once instead of the post failing after the fact.
 */
function checkSize(body: string, limit: number, what: string): void {
  const size = Buffer.byteLength(body);
  if (size > limit) {
    throw new AppError("BODY_TOO_LARGE", `${what} is ${formatBytes(size)}, over Runpod's limit of ${formatBytes(limit)}`, {
      hint: "Send less at a time, or pass large data by reference (upload it and send its URL).",
      details: { sizeBytes: size, limitBytes: limit },
    });
  }
}

function retriable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export interface PlatformClientOptions {
  logger: Logger;
}

export function createPlatformClient(config: PlatformConfig, options: PlatformClientOptions): PlatformClient {
  const { logger } = options;
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
  const baseHeaders: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": `flash-ts-worker/${config.version} (node ${process.version})`,
    ...(config.apiKey ? { authorization: config.apiKey } : {}),
  };
  let warnedNoStream = false;
  let destroyed = false;
  /** The next pause after a refused or unexpected job-take answer; back to the start on any 2xx (a job, or a 204). */
  const takeBackoff = new Backoff(TAKE_BACKOFF);
  const backOff = (): number => takeBackoff.next();
  // Every URL shares the origin of its template; splitting once spares undici a URL parse per request.
  const origins = new Map<string, string>();
  const split = (url: string): { origin: string; path: string } => {
    const end = url.indexOf("/", url.indexOf("//") + 2);
    const origin = end < 0 ? url : url.slice(0, end);
    let known = origins.get(origin);
    if (known === undefined) origins.set(origin, (known = new URL(origin).origin));
    return { origin: known, path: end < 0 ? "/" : url.slice(end) };
  };

  async function get(url: string, signal: AbortSignal | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
    const res = await agent.request({ ...split(url), method: "GET", headers: baseHeaders, signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    return { status: res.statusCode, text: await res.body.text() };
  }

  async function post(url: string, body: string, jobId: string, what: string): Promise<boolean> {
    const headers = { ...baseHeaders, "x-request-id": jobId };
    const target = split(url);
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      try {
        const res = await agent.request({ ...target, method: "POST", headers, body, headersTimeout: POST_TIMEOUT_MS, bodyTimeout: POST_TIMEOUT_MS });
        await res.body.dump();
        if (res.statusCode < 300) return true;
        failure = `HTTP ${res.statusCode}`;
        if (!retriable(res.statusCode)) {
          // 400/404: the platform no longer wants this job (expired, cancelled); retrying will not help.
          logger.warn(`${what} for job ${jobId} was refused (${failure})`);
          return false;
        }
      } catch (error) {
        failure = (error as Error).message;
      }
      if (attempt >= POST_ATTEMPTS || destroyed) {
        logger.error(`${what} for job ${jobId} failed after ${attempt} attempts (${failure}); moving on`);
        return false;
      }
      await delay(backoffDelay(POST_BACKOFF, attempt));
    }
  }

  function jobUrl(template: string, jobId: string): string {
    return template.replaceAll("$ID", encodeURIComponent(jobId));
  }

  return {
    config,

    async takeJobs(max, jobInProgress, signal) {
      const batch = max > 1 && config.jobTakeBatchUrl !== undefined;
      const inProgress = `job_in_progress=${jobInProgress ? 1 : 0}`;
      const url = batch ? appendQuery(config.jobTakeBatchUrl as string, `batch_size=${max}&${inProgress}`) : appendQuery(config.jobTakeUrl, inProgress);
      let res: { status: number; text: string };
      try {
        res = await get(url, signal, LONG_POLL_MS);
      } catch (error) {
        if (signal.aborted) return { jobs: [], retryAfterMs: 0 };
        const code = (error as { code?: string }).code;
        // The long-poll bound passed with nothing to do: poll again at once.
        if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return { jobs: [], retryAfterMs: 0 };
        logger.warn(`job-take failed: ${(error as Error).message}`);
        return { jobs: [], retryAfterMs: 1000 };
      }
      // 204: the long poll ended with nothing to do; the next one can start at once.
      if (res.status === 204) {
        takeBackoff.reset();
        return { jobs: [], retryAfterMs: 0 };
      }
      if (res.status === 429) return { jobs: [], retryAfterMs: 5000 };
      // 400 is how the platform says "no job for you now" in some states; like any other
      // unexpected status it is answered at once, so it gets a growing pause.
      if (res.status === 400) return { jobs: [], retryAfterMs: backOff() };
      if (res.status >= 300) {
        logger.warn(`job-take answered HTTP ${res.status}`);
        return { jobs: [], retryAfterMs: backOff() };
      }
      takeBackoff.reset();
      // JSON whatever the content type says; be lenient about one job vs a list.
      const data = parseJson(res.text);
      const list = Array.isArray(data) ? data : data === undefined ? [] : [data];
      const jobs = list.filter(isJob);
      if (jobs.length < list.length) logger.warn(`job-take returned ${list.length - jobs.length} job(s) without an id and input; ignored`);
      return { jobs, retryAfterMs: 0 };
    },

    postResult(jobId, body, isStream) {
      return post(appendQuery(jobUrl(config.jobDoneTemplate, jobId), `isStream=${isStream}`), body, jobId, "job-done");
    },

    async postProgress(jobId, output) {
      const body = JSON.stringify({ status: "IN_PROGRESS", output: output === undefined ? null : output });
      checkSize(body, RUNPOD_LIMITS.jobResult, "a progress update");
      return post(appendQuery(jobUrl(config.jobDoneTemplate, jobId), "isStream=false"), body, jobId, "progress update");
    },

    async postStreamChunk(jobId, output) {
      if (!config.streamTemplate) {
        if (!warnedNoStream) logger.warn("RUNPOD_WEBHOOK_POST_STREAM is not set; stream chunks are dropped");
        warnedNoStream = true;
        return false;
      }
      const body = JSON.stringify({ output: output === undefined ? null : output });
      checkSize(body, RUNPOD_LIMITS.streamChunk, "a stream chunk");
      // Stream chunks carry isStream=false, as runpod-python sends them (docs/worker-protocol.md, Results).
      return post(appendQuery(jobUrl(config.streamTemplate, jobId), "isStream=false"), body, jobId, "stream chunk");
    },

    async ping(jobIds) {
      if (!config.pingUrl) return;
      const query = (jobIds.length > 0 ? `job_id=${encodeURIComponent(jobIds.join(","))}&` : "") + `runpod_version=${encodeURIComponent(config.version)}`;
      try {
        const res = await get(appendQuery(config.pingUrl, query), undefined, config.pingIntervalMs * 2);
        if (res.status >= 300) logger.debug(`ping answered HTTP ${res.status}`);
      } catch (error) {
        logger.debug(`ping failed: ${(error as Error).message}`);
      }
    },

    async pollStop(signal) {
      if (!config.jobStopUrl) return { jobIds: [], retryAfterMs: LONG_POLL_MS };
      let res: { status: number; text: string };
      try {
        res = await get(config.jobStopUrl, signal, LONG_POLL_MS);
      } catch (error) {
        if (signal.aborted) return { jobIds: [], retryAfterMs: 0 };
        const code = (error as { code?: string }).code;
        if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return { jobIds: [], retryAfterMs: 0 };
        logger.debug(`job-stop poll failed: ${(error as Error).message}`);
        return { jobIds: [], retryAfterMs: 1000 };
      }
      if (res.status === 429) return { jobIds: [], retryAfterMs: 5000 };
      if (res.status === 404 || res.status === 405) {
        // A platform without the stop channel: check rarely.
        return { jobIds: [], retryAfterMs: 30_000 };
      }
      if (res.status >= 300) return { jobIds: [], retryAfterMs: 1000 };
      const data = parseJson(res.text) as { jobsToStop?: unknown } | undefined;
      const ids = Array.isArray(data?.jobsToStop) ? data.jobsToStop.filter((id): id is string => typeof id === "string") : [];
      return { jobIds: ids, retryAfterMs: 0 };
    },

    async close() {
      // Callers finish their posts first; what may remain is a ping or an aborted poll, not worth waiting for.
      destroyed = true;
      await agent.destroy().catch(() => {});
    },
  };
}
