/**
 * The client side of `Endpoint` (`new Endpoint({ id })`, docs/internals.md
 * "Endpoint"): jobs on queue-based endpoints and requests to load-balanced
 * ones, through the Runpod clients of src/runpod, loaded at the first call
 * (endpoint-runpod.ts). The same code runs in a script, inside a function on
 * a worker, and against `flash emulator`.
 */
import { RUNPOD_LIMITS } from "../common/body-limits.js";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { AppError } from "../common/errors.js";
import type { JobPolicy, JobRequest, JobState, JobStatus } from "../runpod/wire-types.js";
import { EndpointJobError } from "./endpoint-errors.js";
import { EndpointJob, LONG_POLL_MS } from "./endpoint-job.js";
import { checkTimeout, clientsFor, MAX_TIMER_MS, notFound } from "./endpoint-runpod.js";
import type { Clients } from "./endpoint-runpod.js";
import { assertJsonValue } from "./json-input.js";
import type { HttpMethod } from "./registry.js";

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
