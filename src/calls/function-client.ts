/**
 * The client side of the function protocol (docs/internals.md, "Function
 * calls"), used by the dev server, by nested calls inside workers and by
 * local calls: it builds the FunctionRequest, delivers the module (code only
 * to endpoints that lack it, resent once on `module-missing`), sends it as a
 * QB job (`/run`, then status-sync; cancelled when the caller gives up) or an
 * LB `POST /execute` (aborting the request is the cancel) or hands it to an
 * in-process runner, bounds the wait, and turns every outcome into a value or
 * one coded error (call-errors.ts). Each call can be observed (submitted,
 * status, logs, finished) without the client rendering anything.
 */
import { AppError, isAppError, toAppError } from "../common/errors.js";
import { FUNCTION_PROTOCOL_VERSION, parseFunctionResponse } from "../common/function-protocol.js";
import type { EndpointRef, FunctionLog, FunctionRequest, FunctionResponse, FunctionTarget } from "../common/function-protocol.js";
import { decodeValue, encodeValue } from "../common/value-codec.js";
import type { JsonValue } from "../common/value-codec.js";
import type { JobClient } from "../runpod/job-client.js";
import type { LoadBalancerClient } from "../runpod/load-balancer-client.js";
import { executionPolicy } from "../runpod/wire-types.js";
import type { JobState, JobStatus } from "../runpod/wire-types.js";
import { describeTarget, errorForFailure, errorForJob, errorForLbAnswer, errorForTransport } from "./call-errors.js";
import type { CallSite } from "./call-errors.js";
import { DeliveredModules } from "./delivered-modules.js";
import { notify } from "./call-observer.js";
import type { CallObserver } from "./call-observer.js";
import { HealthWatch, LiveLogs } from "./live-call.js";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { WAIT_ENDED } from "../common/abort-reason.js";

/**
 * The part of the job client calls need (src/runpod's JobClient). `stream`
 * and `health`, when given, show a call while it is in flight: its live logs
 * and its endpoint's workers (docs/internals.md, "Live logs").
 */
export type JobApi = Pick<JobClient, "runToCompletion"> & Partial<Pick<JobClient, "stream" | "health">>;
/** The part of the load-balancer client calls need (src/runpod's LoadBalancerClient). */
export type LoadBalancerApi = Pick<LoadBalancerClient, "request">;

/** Runs a request in this process (local functions): the worker's executor fits. */
export interface LocalRunner {
  /** Stands for the endpoint in errors and log prefixes, e.g. `local`. */
  readonly name: string;
  execute(request: FunctionRequest, options: { signal?: AbortSignal; onLog?: (log: FunctionLog) => void }): Promise<FunctionResponse>;
}

/** One call of a remote function. */
export interface FunctionCall {
  /** Where it runs: an endpoint (QB job or LB request), or in this process. */
  to: { endpoint: EndpointRef } | { local: LocalRunner };
  /** The bundle that contains the function; `code()` is read only when an endpoint needs it. */
  module: { hash: string; code(): string | Promise<string> };
  target: FunctionTarget;
  args: readonly unknown[];
  /** Classes: the instance (created on first use with `args`, then reused by id). */
  instance?: { id: string; args: readonly unknown[] };
  dependencies?: readonly string[];
  /** Endpoints of every config the module can reach (so the function can call them). */
  endpoints?: Record<string, EndpointRef>;
  /** The function's execution limit (sent; the worker and the platform enforce it); 0 or absent: none. */
  executionTimeoutMs?: number;
  /**
   * Endpoint calls: how long the caller waits in all (e.g. what is left of a parent call's
   * deadline). Default: the limit + grace. A local call is bounded by its limit alone.
   */
  waitMs?: number;
  /** Aborting it abandons the call: a QB job is cancelled, an LB request aborted. */
  signal?: AbortSignal;
  observer?: CallObserver;
}

/** A call that returned. */
export interface CallResult {
  /** The decoded return value. */
  value: unknown;
  /** QB: the job id (of the last attempt). */
  jobId?: string;
  logs: FunctionLog[];
  durationMs: number;
}

export interface FunctionClientOptions {
  jobs: JobApi;
  loadBalancer: LoadBalancerApi;
  /** Wait past a function's own limit for the platform's verdict. Default 60 s. */
  graceMs?: number;
  /** Wait for a function without a limit of its own. Default 6 min (the 5 min endpoint timeout flash-ts provisions, plus grace). */
  defaultWaitMs?: number;
  /** Bounds of the per-endpoint memory of delivered modules. */
  delivered?: { maxEndpoints?: number; maxPerEndpoint?: number };
  /** Where an LB endpoint's requests go: default its `url` (how the caller reaches it), else its id. */
  loadBalancerTarget?: (endpoint: EndpointRef) => string;
  /** Time for the live parts of a call (stream pauses, health readings). */
  clock?: Clock;
}

export interface FunctionClient {
  /** Runs one call; rejects with an AppError (FunctionCallError when the function failed). */
  call(call: FunctionCall): Promise<CallResult>;
  /** Calls in flight now. */
  readonly inFlight: number;
  /**
   * Abandons every call in flight with `reason` (their QB jobs are cancelled)
   * and waits for them to settle, at most `timeoutMs` (default 5 s). Later
   * calls are refused with `reason`. Idempotent.
   */
  close(options?: { reason?: AppError; timeoutMs?: number }): Promise<void>;
}

const DEFAULT_GRACE_MS = 60_000;
const DEFAULT_WAIT_MS = 360_000;
/** A call in flight this long starts hearing its endpoint's health. */
const HEALTH_AFTER_MS = 1000;
/**
 * The longest status-sync hold of a call whose status is watched: status-sync
 * answers at a terminal status or when the hold ends, so a shorter hold is
 * how a watcher learns that a queued job started running. A job that ends
 * within it costs no extra request.
 */
const WATCHED_STATUS_WAIT_MS = 2000;

function encodeArguments(call: FunctionCall): { args: JsonValue[]; instance?: FunctionRequest["instance"] } {
  try {
    const args = call.args.map((arg, i) => encodeValue(arg, `arguments[${i}]`));
    if (!call.instance) return { args };
    const ctorArgs = call.instance.args.map((arg, i) => encodeValue(arg, `constructor arguments[${i}]`));
    return { args, instance: { id: call.instance.id, args: ctorArgs } };
  } catch (error) {
    throw new AppError("INVALID_INPUT", `cannot call ${describeTarget(call.target)}: ${(error as Error).message}`, {
      cause: error,
      hint: "Pass data (objects, arrays, strings, numbers, Dates, bytes, Maps, Sets); functions and symbols stay on the caller's side.",
    });
  }
}

/** Reports a job's status to the observer when it changed (status-sync answers and stream reads both see it). */
type StatusReporter = (jobId: string, status: JobStatus) => void;

function statusReporter(observer: CallObserver | undefined): StatusReporter {
  let last: string | undefined;
  return (jobId, status) => {
    const key = `${jobId} ${status}`;
    if (key === last) return;
    last = key;
    notify(observer, "status", { jobId, status });
  };
}

/** The FunctionResponse in an answer, or UPSTREAM_ERROR naming where it came from. */
function parseAnswer(value: unknown, site: CallSite): FunctionResponse {
  try {
    return parseFunctionResponse(value);
  } catch (error) {
    const e = toAppError(error, "UPSTREAM_ERROR");
    throw new AppError(e.code, `${site.endpoint}: ${e.message}`, { ...(e.hint ? { hint: e.hint } : {}), details: { ...e.details, endpoint: site.endpoint, ...(site.jobId ? { jobId: site.jobId } : {}) } });
  }
}

export function createFunctionClient(options: FunctionClientOptions): FunctionClient {
  const { jobs, loadBalancer } = options;
  const lbTarget = options.loadBalancerTarget ?? ((endpoint: EndpointRef) => endpoint.url ?? endpoint.id);
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const defaultWaitMs = options.defaultWaitMs ?? DEFAULT_WAIT_MS;
  const delivered = new DeliveredModules(options.delivered);
  const running = new Set<{ controller: AbortController; done: Promise<unknown> }>();
  const clock = options.clock ?? systemClock;
  const healthWatch = jobs.health ? new HealthWatch({ health: jobs.health.bind(jobs), clock }) : undefined;
  let closedWith: AppError | undefined;

  /** Live logs of a QB call, when the job API can stream and someone listens. */
  function liveLogsFor(observer: CallObserver | undefined, status: StatusReporter): LiveLogs | undefined {
    if (!jobs.stream || !observer?.logs) return undefined;
    return new LiveLogs({
      stream: jobs.stream.bind(jobs),
      clock,
      onLogs: (logs) => notify(observer, "logs", logs),
      onDropped: (count) => notify(observer, "logsDropped", { count }),
      onStatus: status,
    });
  }

  /** From a second into the call on, hands the endpoint's health to the observer; returns the stop. */
  function watchHealth(endpoint: EndpointRef, observer: CallObserver | undefined): () => void {
    if (!healthWatch || !observer?.health) return () => {};
    const stop = new AbortController();
    let unwatch: (() => void) | undefined;
    clock.sleep(HEALTH_AFTER_MS, stop.signal).then(
      () => (unwatch = healthWatch.watch(endpoint.id, (reading) => notify(observer, "health", reading))),
      () => undefined,
    );
    return () => {
      stop.abort(WAIT_ENDED);
      unwatch?.();
    };
  }

  async function sendJob(endpoint: EndpointRef, request: FunctionRequest, attempt: number, waitMs: number, signal: AbortSignal, site: CallSite, observer?: CallObserver, live?: LiveLogs, status?: StatusReporter): Promise<FunctionResponse> {
    let state: JobState;
    try {
      state = await jobs.runToCompletion(
        endpoint.id,
        { input: request, ...executionPolicy(request.timeoutMs) },
        {
          timeoutMs: waitMs,
          signal,
          ...(observer?.status ? { waitMs: WATCHED_STATUS_WAIT_MS } : {}),
          onSubmitted: (job) => {
            site.jobId = job.id;
            notify(observer, "submitted", { attempt, jobId: job.id });
            live?.follow(endpoint.id, job.id);
          },
          onStatus: (s) => status?.(s.id, s.status),
        },
      );
    } catch (error) {
      throw errorForTransport(error, site, signal);
    } finally {
      live?.stop();
    }
    if (state.status !== "COMPLETED") throw errorForJob(state, site);
    return parseAnswer(state.output, site);
  }

  async function sendLb(endpoint: EndpointRef, request: FunctionRequest, attempt: number, waitMs: number, signal: AbortSignal, site: CallSite, observer?: CallObserver): Promise<FunctionResponse> {
    notify(observer, "submitted", { attempt });
    let answer: { status: number; headers: Record<string, string | string[] | undefined>; body: unknown };
    try {
      answer = await loadBalancer.request(lbTarget(endpoint), { method: "POST", path: "/execute", json: request, timeoutMs: waitMs, signal });
    } catch (error) {
      throw errorForTransport(error, site, signal);
    }
    if (answer.status !== 200) throw errorForLbAnswer(answer, site);
    return parseAnswer(answer.body, site);
  }

  /** Sends to an endpoint: without code when it has the module, once more with code if it answers module-missing. */
  async function callEndpoint(call: FunctionCall, endpoint: EndpointRef, request: FunctionRequest, signal: AbortSignal, site: CallSite, deadline: number, live?: LiveLogs, status?: StatusReporter): Promise<FunctionResponse> {
    const hash = call.module.hash;
    const send = async (withCode: boolean, attempt: number): Promise<FunctionResponse> => {
      const module = withCode ? { hash, code: await call.module.code() } : { hash };
      const waitMs = Math.max(1, Math.round(deadline - performance.now()));
      const req = { ...request, module };
      return endpoint.kind === "LB" ? sendLb(endpoint, req, attempt, waitMs, signal, site, call.observer) : sendJob(endpoint, req, attempt, waitMs, signal, site, call.observer, live, status);
    };
    const known = delivered.has(endpoint.id, hash);
    let response = await send(!known, 1);
    // A worker we have not talked to yet (new, restarted, its cache cleared): once more, with the code.
    if (known && !response.ok && response.error.kind === "module-missing") response = await send(true, 2);
    if (!response.ok && response.error.kind === "module-missing") delivered.forget(endpoint.id, hash);
    else delivered.add(endpoint.id, hash);
    return response;
  }

  async function run(call: FunctionCall, signal: AbortSignal): Promise<CallResult> {
    const started = performance.now();
    const local = "local" in call.to ? call.to.local : undefined;
    const endpoint = "endpoint" in call.to ? call.to.endpoint : undefined;
    const site: CallSite = { endpoint: local ? local.name : (endpoint as EndpointRef).name, target: call.target, ...(local ? { local: true } : {}) };
    const observer = call.observer;
    try {
      if (signal.aborted) throw errorForTransport(signal.reason, site, signal);
      const { args, instance } = encodeArguments(call);
      const timeoutMs = call.executionTimeoutMs && call.executionTimeoutMs > 0 ? call.executionTimeoutMs : undefined;
      const request: FunctionRequest = {
        flash: FUNCTION_PROTOCOL_VERSION,
        module: { hash: call.module.hash },
        target: call.target,
        args,
        ...(instance ? { instance } : {}),
        ...(call.dependencies && call.dependencies.length > 0 ? { dependencies: [...call.dependencies] } : {}),
        ...(call.endpoints ? { endpoints: call.endpoints } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
      };
      let response: FunctionResponse;
      if (local) {
        notify(observer, "submitted", { attempt: 1 });
        // The executor never rejects; an abandoned local call answers "cancelled", which the abort explains better.
        response = await local.execute(request, { signal, onLog: (log) => notify(observer, "logs", [log]) });
        if (signal.aborted) throw errorForTransport(signal.reason, site, signal);
      } else {
        const waitMs = call.waitMs ?? (timeoutMs ? timeoutMs + graceMs : defaultWaitMs);
        const status = statusReporter(observer);
        const live = (endpoint as EndpointRef).kind === "QB" ? liveLogsFor(observer, status) : undefined;
        const stopHealth = watchHealth(endpoint as EndpointRef, observer);
        try {
          response = await callEndpoint(call, endpoint as EndpointRef, request, signal, site, started + waitMs, live, status);
        } finally {
          stopHealth();
        }
        // What the worker streamed was shown already; the rest comes now.
        const unseen = live ? live.unseen(site.jobId, response.logs) : response.logs;
        if (unseen.length > 0) notify(observer, "logs", unseen);
      }
      if (!response.ok) throw errorForFailure(response, site);
      let value: unknown;
      try {
        value = decodeValue(response.result);
      } catch (error) {
        throw new AppError("UPSTREAM_ERROR", `${site.endpoint}: could not decode the result: ${(error as Error).message}`, { cause: error });
      }
      const durationMs = performance.now() - started;
      notify(observer, "finished", { ok: true, durationMs, ...(site.jobId ? { jobId: site.jobId } : {}) });
      return { value, logs: response.logs, durationMs, ...(site.jobId ? { jobId: site.jobId } : {}) };
    } catch (thrown) {
      const error = isAppError(thrown) ? thrown : toAppError(thrown);
      notify(observer, "finished", { ok: false, error, durationMs: performance.now() - started, ...(site.jobId ? { jobId: site.jobId } : {}) });
      throw error;
    }
  }

  return {
    async call(call) {
      if (closedWith) throw closedWith;
      const controller = new AbortController();
      const signal = call.signal ? AbortSignal.any([call.signal, controller.signal]) : controller.signal;
      const entry = { controller, done: run(call, signal) };
      running.add(entry);
      try {
        return await entry.done;
      } finally {
        running.delete(entry);
      }
    },
    get inFlight() {
      return running.size;
    },
    async close(closeOptions = {}) {
      closedWith ??= closeOptions.reason ?? new AppError("SERVICE_UNAVAILABLE", "the function client is closed");
      const entries = [...running];
      for (const entry of entries) entry.controller.abort(closedWith);
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, closeOptions.timeoutMs ?? 5_000);
        timer.unref();
      });
      await Promise.race([Promise.allSettled(entries.map((e) => e.done)), bound]);
      clearTimeout(timer);
    },
  };
}
