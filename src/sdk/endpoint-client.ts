/**
 * The client side of `Endpoint` (`new Endpoint({ id })`): jobs on queue-based
 * endpoints and requests to load-balanced ones, through the Runpod clients of
 * src/runpod, which are loaded on the first call (docs/internals.md,
 * "Endpoint"): the SDK is imported by every bundle and worker, and most never
 * call an endpoint this way. Settings come from the environment when a call
 * is made (RUNPOD_API_KEY, RUNPOD_API_BASE_URL, RUNPOD_ENDPOINT_BASE_URL), as
 * everywhere in flash-ts, so the same code runs in a script, inside a
 * function on a worker, and against `flash emulator`.
 */
import { RUNPOD_LIMITS } from "../shared/body-limits.js";
import { systemClock } from "../shared/clock.js";
import type { Clock } from "../shared/clock.js";
import { AppError } from "../shared/errors.js";
import type { ControlPlaneClient } from "../runpod/control-plane.js";
import type * as RunpodIndex from "../runpod/index.js";
import type { JobClient } from "../runpod/job-client.js";
import type { LoadBalancerClient } from "../runpod/load-balancer-client.js";
import type { JobPolicy, JobRequest, JobState, JobStatus } from "../runpod/wire-types.js";
import { EndpointJobError } from "./endpoint-errors.js";
import type { EndpointJobErrorReason } from "./endpoint-errors.js";
import { assertJsonValue } from "./json-input.js";
import type { HttpMethod } from "./registry.js";

type RunpodModule = typeof RunpodIndex;

/** Options of `run()`. */
export interface RunOptions {
  /** A URL Runpod posts the finished job to. */
  webhook?: string;
  /** Runpod's per-job policy (`executionTimeout`, `ttl` in ms; `lowPriority`). */
  policy?: JobPolicy;
  signal?: AbortSignal;
}

/** Options of `runsync()`. */
export interface RunsyncOptions extends RunOptions {
  /** How long to wait for the result, in ms; then the job is cancelled. Default 60 000 (as Python Flash). */
  timeout?: number;
}

/** Options of `job.wait()`. */
export interface WaitOptions {
  /** Give up waiting after this many ms (the job keeps running). Default: wait until it ends. */
  timeout?: number;
  signal?: AbortSignal;
}

/** A query-string value of a client GET. */
export type QueryValue = string | number | boolean;

/** Options of a load-balanced call (`get`, `post`, …). */
export interface RequestOptions {
  headers?: Record<string, string>;
  /** Limit of the whole request, in ms. Default 60 000 (as Python Flash). */
  timeout?: number;
  signal?: AbortSignal;
}

/** What an Endpoint client needs (endpoint.ts builds one per client Endpoint). */
export interface EndpointClient {
  /** The endpoint id, once known (at once for `{ id }`, after the lookup for `{ name }`). */
  resolvedId(): string | undefined;
  run<T>(input: unknown, options?: RunOptions): Promise<EndpointJob<T>>;
  runsync<T>(input: unknown, options?: RunsyncOptions): Promise<EndpointJob<T>>;
  job<T>(jobId: string): EndpointJob<T>;
  request<T>(method: HttpMethod, path: string, options: RequestOptions & { body?: unknown; query?: Record<string, QueryValue> | undefined }): Promise<T>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 5_000;
const LONG_POLL_MS = 90_000;
/** Longest delay a Node timer takes (a longer one fires at once). */
const MAX_TIMER_MS = 2_147_483_647;
/** Distinct settings (key and base URLs) whose clients are kept; more is a test or a very odd program. */
const MAX_CLIENT_SETS = 8;

interface Clients {
  runpod: RunpodModule;
  jobs: JobClient;
  lb: LoadBalancerClient;
  controlPlane: ControlPlaneClient;
  endpointBaseUrl: string;
}

let runpodModule: Promise<RunpodModule> | undefined;
const clientSets = new Map<string, Clients>();

/**
 * The Runpod clients for the current environment. A call that would reach
 * Runpod itself (no base URL override) without a key fails here, before any
 * request; an emulator may need none, and says so with a 401 if it does.
 */
async function clientsFor(plane: "jobs" | "control", who: string): Promise<Clients> {
  const runpod = await (runpodModule ??= import("../runpod/index.js"));
  const config = runpod.resolveRunpodConfig(process.env);
  const toRunpod = plane === "jobs" ? config.endpointBaseUrl === runpod.DEFAULT_ENDPOINT_BASE_URL : config.apiBaseUrl === runpod.DEFAULT_API_BASE_URL;
  if (!config.apiKey && toRunpod) {
    throw new AppError("UNAUTHORIZED", `${who}: RUNPOD_API_KEY is not set, and calls to Runpod need an API key`, {
      hint: "Set RUNPOD_API_KEY (Runpod console → Settings → API Keys); for `flash emulator`, set RUNPOD_ENDPOINT_BASE_URL and RUNPOD_API_BASE_URL to the URLs it prints.",
    });
  }
  const key = [config.apiKey ?? "", config.apiBaseUrl, config.endpointBaseUrl].join("\n");
  let clients = clientSets.get(key);
  if (!clients) {
    const http = runpod.createHttpClient();
    const common = { apiKey: config.apiKey, http };
    clients = {
      runpod,
      jobs: runpod.createJobClient({ ...common, endpointBaseUrl: config.endpointBaseUrl }),
      lb: runpod.createLoadBalancerClient({ ...common, endpointBaseUrl: config.endpointBaseUrl }),
      controlPlane: runpod.createControlPlaneClient({ ...common, apiBaseUrl: config.apiBaseUrl }),
      endpointBaseUrl: config.endpointBaseUrl,
    };
    clientSets.set(key, clients);
    for (const [oldKey] of clientSets) {
      if (clientSets.size <= MAX_CLIENT_SETS) break;
      clientSets.delete(oldKey); // its idle sockets close by themselves; calls in flight finish
    }
  }
  return clients;
}

function checkTimeout(who: string, name: string, value: number | undefined): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS)) {
    throw new AppError("INVALID_INPUT", `${who}: ${name} must be a number of milliseconds (got ${JSON.stringify(value)})`);
  }
}

/** The `{input}` body of a job, checked: plain JSON, within Runpod's limit. */
function jobRequest(who: string, input: unknown, options: RunOptions, limit: number): JobRequest {
  assertJsonValue(input, "input");
  const request: JobRequest = { input, ...(options.webhook ? { webhook: options.webhook } : {}), ...(options.policy ? { policy: options.policy } : {}) };
  const size = Buffer.byteLength(JSON.stringify(request));
  if (size > limit) {
    throw new AppError("BODY_TOO_LARGE", `${who}: the job input is ${size} bytes; Runpod takes at most ${limit}`, {
      hint: "Put large data in storage (S3, a network volume) and send its location instead.",
    });
  }
  return request;
}

/** An unknown endpoint or job reads as such; other failures of the Runpod clients pass as they are. */
function notFound(error: unknown, runpod: RunpodModule, who: string, what: string): unknown {
  if (!runpod.isRunpodError(error, "NOT_FOUND")) return error;
  return new AppError("NOT_FOUND", `${who}: ${what} was not found (${error.message})`, {
    cause: error,
    hint: "Check the id (Runpod console → Serverless), that RUNPOD_API_KEY belongs to the account that owns the endpoint, and RUNPOD_ENDPOINT_BASE_URL if you set it. Finished jobs are kept 30 minutes (runsync ones 1 minute).",
    details: { upstreamStatus: error.upstreamStatus },
  });
}

/** A job on a queue-based endpoint, as `run()` returns it. */
export class EndpointJob<T = unknown> {
  readonly id: string;
  readonly endpointId: string;
  #state: Partial<JobState> & { status: JobStatus };
  readonly #who: string;
  readonly #clients: () => Promise<Clients>;
  readonly #clock: Clock;

  /** @internal made by Endpoint's run(), runsync() and job(). */
  constructor(init: { endpointId: string; state: Partial<JobState> & { id: string; status: JobStatus }; who: string; clients: () => Promise<Clients>; clock?: Clock }) {
    this.id = init.state.id;
    this.endpointId = init.endpointId;
    this.#state = init.state;
    this.#who = init.who;
    this.#clients = init.clients;
    this.#clock = init.clock ?? systemClock;
  }

  /** The status last seen (`IN_QUEUE` right after run()). */
  get lastStatus(): JobStatus {
    return this.#state.status;
  }
  /** The job's output, once it completed (or a failed job's partial output). */
  get output(): T | undefined {
    return this.#state.output as T | undefined;
  }
  /** The job's error text, when it failed. */
  get error(): string | undefined {
    return this.#state.error;
  }
  /** True once the job is COMPLETED, FAILED, CANCELLED or TIMED_OUT. */
  get done(): boolean {
    return ["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(this.#state.status);
  }
  /** The last job object received (delayTime, executionTime, workerId, …). */
  get state(): Readonly<Partial<JobState>> {
    return { ...this.#state };
  }

  #update(state: Partial<JobState> & { status: JobStatus }): void {
    this.#state = { ...this.#state, ...state };
  }

  #endedError(reason: EndpointJobErrorReason, extra: { timeoutMs?: number; cancelled?: boolean } = {}): EndpointJobError {
    const s = this.#state;
    return new EndpointJobError({ reason, who: this.#who, endpointId: this.endpointId, jobId: this.id, jobStatus: s.status, jobError: s.error, output: s.output, ...extra });
  }

  /** @internal This job if it COMPLETED; its EndpointJobError if it ended otherwise. */
  settle(): this {
    const status = this.#state.status;
    if (status === "FAILED" || status === "TIMED_OUT" || status === "CANCELLED") throw this.#endedError(status);
    return this;
  }

  /** Asks for the job's status (`GET /status`); updates output and error. */
  async status(options: { signal?: AbortSignal } = {}): Promise<JobStatus> {
    const { jobs, runpod } = await this.#clients();
    try {
      this.#update(await jobs.status(this.endpointId, this.id, options));
    } catch (error) {
      throw notFound(error, runpod, this.#who, `job ${this.id} on endpoint ${this.endpointId}`);
    }
    return this.#state.status;
  }

  /**
   * Waits until the job ends (long polls of `status-sync`). Resolves with the
   * job when it COMPLETED; rejects with an {@link EndpointJobError} when it
   * FAILED, TIMED_OUT or was CANCELLED, or when `timeout` ran out first (the
   * job keeps running then).
   */
  async wait(options: WaitOptions = {}): Promise<this> {
    const { timeout, signal } = options;
    checkTimeout(this.#who, "timeout", timeout);
    if (this.done) return this.settle();
    const { jobs, runpod } = await this.#clients();
    const clock = this.#clock;
    const started = clock.now();
    const stop = new AbortController();
    const timer = new AbortController();
    const timedOut = new Error("wait timeout");
    if (timeout !== undefined) clock.sleep(timeout, timer.signal).then(() => stop.abort(timedOut), () => undefined);
    const onAbort = (): void => stop.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      let pause = FIRST_PAUSE_MS;
      while (!this.done) {
        const left = timeout === undefined ? LONG_POLL_MS : timeout - (clock.now() - started);
        const waitMs = runpod.clampWaitMs(Math.min(left, LONG_POLL_MS));
        const pollStarted = clock.now();
        this.#update(await jobs.statusSync(this.endpointId, this.id, { waitMs, signal: stop.signal }));
        // A server that does not hold status-sync answers at once: pause (growing) instead of spinning.
        if (!this.done && clock.now() - pollStarted < waitMs / 2) {
          await clock.sleep(pause, stop.signal);
          pause = Math.min(pause * 1.5, MAX_PAUSE_MS);
        }
      }
    } catch (error) {
      if (stop.signal.aborted && stop.signal.reason === timedOut) throw this.#endedError("WAIT_TIMEOUT", { timeoutMs: timeout! });
      throw notFound(error, runpod, this.#who, `job ${this.id} on endpoint ${this.endpointId}`);
    } finally {
      timer.abort();
      signal?.removeEventListener("abort", onAbort);
    }
    return this.settle();
  }

  /** Cancels the job (`POST /cancel`); resolves with the job, whose status is then CANCELLED (or how it had ended). */
  async cancel(options: { signal?: AbortSignal } = {}): Promise<this> {
    const { jobs, runpod } = await this.#clients();
    try {
      const answer = await jobs.cancel(this.endpointId, this.id, options);
      this.#update({ status: answer.status });
    } catch (error) {
      throw notFound(error, runpod, this.#who, `job ${this.id} on endpoint ${this.endpointId}`);
    }
    return this;
  }
}

/** The client of one existing endpoint, by id or by name. */
export function createEndpointClient(target: { id: string } | { name: string }, who: string, clock: Clock = systemClock): EndpointClient {
  let endpointId = "id" in target ? target.id : undefined;
  let lookup: Promise<string> | undefined;
  const jobsClients = (): Promise<Clients> => clientsFor("jobs", who);

  /** The id of an endpoint given by name: exactly that name, else `live-<name>` (flash dev's). */
  async function resolveName(name: string): Promise<string> {
    const { controlPlane } = await clientsFor("control", who);
    const endpoints = await controlPlane.listEndpoints();
    for (const candidate of [name, `live-${name}`]) {
      const matches = endpoints.filter((e) => e.name === candidate);
      if (matches.length === 1) return matches[0]!.id;
      if (matches.length > 1) {
        throw new AppError("CONFLICT", `${who}: ${matches.length} endpoints are named ${candidate} (${matches.map((e) => e.id).join(", ")})`, {
          hint: "Connect by id instead: new Endpoint({ id }).",
        });
      }
    }
    throw new AppError("NOT_FOUND", `${who}: no endpoint is named ${name} or live-${name}`, {
      hint: "Check the name in the Runpod console (Serverless), and that RUNPOD_API_KEY belongs to the account that owns it (or RUNPOD_API_BASE_URL if you set it).",
    });
  }

  async function id(): Promise<string> {
    if (endpointId !== undefined) return endpointId;
    lookup ??= resolveName((target as { name: string }).name).then(
      (found) => (endpointId = found),
      (error: unknown) => {
        lookup = undefined; // the next call looks again
        throw error;
      },
    );
    return lookup;
  }

  const makeJob = <T>(endpoint: string, state: Partial<JobState> & { id: string; status: JobStatus }): EndpointJob<T> =>
    new EndpointJob<T>({ endpointId: endpoint, state, who, clients: jobsClients, clock });

  return {
    resolvedId: () => endpointId,

    async run<T>(input: unknown, options: RunOptions = {}) {
      const request = jobRequest(who, input, options, RUNPOD_LIMITS.run);
      const { jobs, runpod } = await jobsClients();
      const endpoint = await id();
      try {
        const answer = await jobs.run(endpoint, request, options.signal ? { signal: options.signal } : {});
        return makeJob<T>(endpoint, { id: answer.id, status: answer.status });
      } catch (error) {
        throw notFound(error, runpod, who, `endpoint ${endpoint}`);
      }
    },

    async runsync<T>(input: unknown, options: RunsyncOptions = {}) {
      const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
      checkTimeout(who, "timeout", timeout);
      const request = jobRequest(who, input, options, RUNPOD_LIMITS.run);
      const { jobs, runpod } = await jobsClients();
      const endpoint = await id();
      // Our own deadline, as an abort: runToCompletion then cancels the job (nobody else knows its id)
      // and rejects with the reason we gave.
      const timedOut = new Error("runsync timeout");
      const stop = new AbortController();
      const timer = new AbortController();
      clock.sleep(timeout, timer.signal).then(() => stop.abort(timedOut), () => undefined);
      const onAbort = (): void => stop.abort(options.signal?.reason);
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      let submitted: { id: string; status: JobStatus } | undefined;
      try {
        const state = await jobs.runToCompletion(endpoint, request, {
          timeoutMs: Math.min(timeout + LONG_POLL_MS, MAX_TIMER_MS),
          signal: stop.signal,
          onSubmitted: (answer) => (submitted = answer),
        });
        return makeJob<T>(endpoint, state).settle();
      } catch (error) {
        if (error === timedOut) {
          throw new EndpointJobError({ reason: "WAIT_TIMEOUT", who, endpointId: endpoint, jobId: submitted?.id, jobStatus: submitted?.status, timeoutMs: timeout, cancelled: true });
        }
        throw notFound(error, runpod, who, `endpoint ${endpoint}`);
      } finally {
        timer.abort();
        options.signal?.removeEventListener("abort", onAbort);
      }
    },

    job<T>(jobId: string) {
      if (typeof jobId !== "string" || jobId === "") throw new AppError("INVALID_INPUT", `${who}: job() takes a job id (got ${JSON.stringify(jobId)})`);
      if (endpointId === undefined) {
        throw new AppError("INVALID_INPUT", `${who}: the endpoint's id is not known yet`, { hint: "Make a call first (run, runsync) so the name is looked up, or connect by id." });
      }
      return makeJob<T>(endpointId, { id: jobId, status: "IN_QUEUE" });
    },

    async request<T>(method: HttpMethod, path: string, options: RequestOptions & { body?: unknown; query?: Record<string, QueryValue> | undefined }) {
      if (typeof path !== "string" || !path.startsWith("/")) throw new AppError("INVALID_INPUT", `${who}: path must start with "/" (got ${JSON.stringify(path)})`);
      checkTimeout(who, "timeout", options.timeout);
      let target = path;
      if (options.query !== undefined) {
        const params = new URLSearchParams();
        for (const [key, value] of Object.entries(options.query)) {
          if (typeof value !== "string" && typeof value !== "boolean" && !(typeof value === "number" && Number.isFinite(value))) {
            throw new AppError("INVALID_INPUT", `${who}: query.${key} must be a string, a finite number or a boolean (got ${typeof value})`);
          }
          params.append(key, String(value));
        }
        if (params.size > 0) target += (path.includes("?") ? "&" : "?") + params.toString();
      }
      if (options.body !== undefined) {
        assertJsonValue(options.body, "body");
        const size = Buffer.byteLength(JSON.stringify(options.body));
        if (size > RUNPOD_LIMITS.loadBalanced) throw new AppError("BODY_TOO_LARGE", `${who}: the body is ${size} bytes; Runpod takes at most ${RUNPOD_LIMITS.loadBalanced}`);
      }
      const { lb, runpod } = await jobsClients();
      const endpoint = await id();
      const response = await lb.request(endpoint, {
        method,
        path: target,
        json: options.body,
        ...(options.headers ? { headers: options.headers } : {}),
        timeoutMs: options.timeout ?? DEFAULT_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (response.status >= 200 && response.status < 300) return response.body as T;
      throw runpod.errorFromResponse({ method, url: lb.baseUrlOf(endpoint) + target, status: response.status, body: response.body });
    },
  };
}
