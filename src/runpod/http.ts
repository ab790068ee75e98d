/**
 * The HTTP layer under every Runpod client, and the only place that sets up
 * undici dispatchers. One keep-alive Agent per client; every call has its own
 * timeout; retries only for calls the caller marks idempotent.
 *
 * Answers are returned whatever their status (the clients decide what a 404
 * means); only transport failures throw: a {@link RunpodError} with
 * UPSTREAM_ERROR (or WORKER_UNREACHABLE) when no answer arrived and
 * UPSTREAM_TIMEOUT when the per-call timeout fired. A caller's abort rejects
 * with the signal's reason, untouched.
 */
import type { Dispatcher } from "undici";
import { backoffDelay } from "../common/backoff.js";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import type * as Undici from "undici";
import { AppError } from "../common/errors.js";
import { nullLogger } from "../common/logger.js";
import type { Logger } from "../common/logger.js";
import { redact, registerSecret } from "../common/redact.js";
import { RunpodError } from "./errors.js";
import { WAIT_ENDED } from "../common/abort-reason.js";

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/** Response headers as undici gives them (lower-case names). */
export type HttpHeaders = Record<string, string | string[] | undefined>;

/** Retries for idempotent calls: exponential backoff with jitter. */
export interface RetryPolicy {
  /** Total attempts including the first (3 = up to two retries). */
  attempts: number;
  /** Delay before the first retry; doubles on each further retry (with jitter). */
  baseDelayMs: number;
  /** Longest wait between attempts, backoff and Retry-After alike (default 30 s). A longer Retry-After ends the retries. */
  maxDelayMs?: number;
}

/** How transport failures of a call are reported. */
export interface TransportErrorContext {
  /** Code when no answer arrived (default UPSTREAM_ERROR; LB worker calls use WORKER_UNREACHABLE). */
  unreachableCode?: "UPSTREAM_ERROR" | "WORKER_UNREACHABLE";
  /** Hint for unreachable and timed-out calls, e.g. which env var holds the base URL. */
  hint?: string;
}

/** One HTTP call. */
export interface HttpRequestOptions {
  method: HttpMethod;
  /** Absolute http(s) URL including the query string. */
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON (serialised once, reused by retries); sets `content-type: application/json`. */
  json?: unknown;
  /** A raw body; ignored when `json` is given. */
  body?: string | Uint8Array;
  /** Limit for one attempt, from sending until the whole body has arrived. */
  timeoutMs: number;
  /** Only for idempotent calls: retried on network errors, 408, 429 and 5xx. */
  retry?: RetryPolicy;
  /** Aborts the call (and any backoff wait); the call rejects with the signal's reason. */
  signal?: AbortSignal;
  errors?: TransportErrorContext;
}

/** An answer, whatever its status. */
export interface HttpResponse {
  status: number;
  headers: HttpHeaders;
  /** Parsed JSON when the content type says JSON (text if it does not parse), else text; undefined when empty. */
  body: unknown;
}

export interface HttpClient {
  request(options: HttpRequestOptions): Promise<HttpResponse>;
  /** Closes the Agent this client created (not a dispatcher it was given). Idempotent; later requests fail with DISPOSED. */
  close(): Promise<void>;
}

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** A dispatcher to use instead of a new Agent (tests, sharing one pool); the caller closes it. */
  dispatcher?: Dispatcher;
  /** `user-agent` of every call (default `flash-ts`). */
  userAgent?: string;
  /** Gets one debug line per attempt: method, URL, status, duration. */
  logger?: Logger;
  /** Time for the per-call timeouts and the waits between retries (tests drive a fake one). */
  clock?: Clock;
}

/** Connection set-up limit; calls have their own, usually longer, timeouts. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Idle keep-alive sockets are kept this long unless the server's Keep-Alive hint says less. */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_DELAY_MS = 30_000;
/** undici's own header/body timers are a backstop behind the per-call timer, so they get a little slack. */
const UNDICI_TIMER_SLACK_MS = 1_000;

/**
 * undici is loaded by the first call, not at start-up: loading it costs about
 * as much CPU as the rest of `flash dev`'s modules together, and the first
 * call comes after the server is up.
 */
let undici: Promise<typeof Undici> | undefined;

/** What every Runpod client opens with; see {@link openClientHttp}. */
export interface ClientHttp {
  http: HttpClient;
  /** `authorization: Bearer <key>`, or none without a key. */
  headers: Record<string, string>;
  /** Closes `http` if it was made here; one the caller gave stays open. */
  close(): Promise<void>;
}

/**
 * The start every Runpod client shares: the HTTP client it was given (whose
 * pool the caller owns) or one of its own, and the API key as a bearer
 * header, registered for redaction before anything can log it.
 */
export function openClientHttp(options: { http?: HttpClient | undefined; apiKey: string | undefined; logger?: Logger | undefined; clock?: Clock | undefined }): ClientHttp {
  const http = options.http ?? createHttpClient({ logger: options.logger, clock: options.clock });
  const ownsHttp = options.http === undefined;
  registerSecret(options.apiKey);
  return {
    http,
    headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    async close() {
      if (ownsHttp) await http.close();
    },
  };
}

/**
 * Creates an HTTP client with one keep-alive Agent (no I/O, and undici not
 * even loaded, until the first call).
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const ownsDispatcher = options.dispatcher === undefined;
  let agent: Promise<Dispatcher> | undefined = options.dispatcher ? Promise.resolve(options.dispatcher) : undefined;
  const dispatcherOf = (): Promise<Dispatcher> =>
    (agent ??= (undici ??= import("undici")).then(
      ({ Agent }) =>
        new Agent({
          connectTimeout: CONNECT_TIMEOUT_MS,
          keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
          // Per-request values below replace these; they only bound stray use of the Agent.
          headersTimeout: 300_000,
          bodyTimeout: 300_000,
        }),
    ));
  const userAgent = options.userAgent ?? "flash-ts";
  const logger = options.logger ?? nullLogger;
  const clock = options.clock ?? systemClock;
  let closed = false;

  async function request(call: HttpRequestOptions): Promise<HttpResponse> {
    if (closed) throw new AppError("DISPOSED", "The Runpod HTTP client is closed");
    const { method, signal } = call;
    signal?.throwIfAborted();
    if (!(call.timeoutMs > 0) || !Number.isFinite(call.timeoutMs)) {
      throw new AppError("INVALID_INPUT", `timeoutMs must be a positive number of milliseconds, got ${call.timeoutMs}`);
    }
    const url = parseUrl(call.url);
    const headers: Record<string, string> = { "user-agent": userAgent, accept: "application/json", ...call.headers };
    let body: string | Uint8Array | undefined = call.body;
    if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers["content-type"] = "application/json";
    }
    const dispatch: Dispatcher.RequestOptions = {
      origin: url.origin,
      path: url.pathname + url.search,
      method,
      headers,
      body: body ?? null,
      headersTimeout: call.timeoutMs + UNDICI_TIMER_SLACK_MS,
      bodyTimeout: call.timeoutMs + UNDICI_TIMER_SLACK_MS,
    };
    const attempts = call.retry ? Math.max(1, Math.floor(call.retry.attempts)) : 1;

    const dispatcher = await dispatcherOf();
    for (let attempt = 1; ; attempt++) {
      const outcome = await attemptOnce(dispatcher, dispatch, call.timeoutMs, signal, clock);
      if (logger.level === "debug") logAttempt(logger, method, call.url, outcome, attempt);
      const retry = attempt < attempts ? call.retry : undefined;
      let wait: number;
      if (outcome.kind === "failed") {
        if (outcome.failure === "aborted") throw signal?.reason ?? outcome.cause;
        if (outcome.failure === "timeout") throw timeoutError(call, outcome.cause);
        // A bad argument is our bug, not a flaky network: retrying cannot help.
        if (errorCode(outcome.cause) === "UND_ERR_INVALID_ARG") {
          throw new AppError("INTERNAL", `Invalid HTTP request ${method} ${redact(call.url)}: ${describeCause(outcome.cause)}`, { cause: outcome.cause });
        }
        if (retry === undefined) throw unreachableError(call, outcome.cause);
        wait = retryDelay(retry, attempt);
      } else {
        const response = outcome.response;
        if (retry === undefined || !isRetryableStatus(response.status)) return response;
        const retryAfter = retryAfterMs(response.headers["retry-after"], clock.wallNow());
        // Waiting less than the server asked would only earn another 429, so a longer ask ends the retries.
        if (retryAfter !== undefined && retryAfter > (retry.maxDelayMs ?? DEFAULT_MAX_DELAY_MS)) return response;
        wait = retryAfter ?? retryDelay(retry, attempt);
      }
      await clock.sleep(wait, signal);
    }
  }

  return {
    request,
    async close() {
      if (closed) return;
      closed = true;
      // An Agent never made needs no closing.
      if (ownsDispatcher && agent) await (await agent).close();
    },
  };
}

type AttemptOutcome =
  | { kind: "response"; response: HttpResponse; durationMs: number }
  | { kind: "failed"; failure: "network" | "timeout" | "aborted"; cause: unknown; durationMs: number };

/**
 * One attempt. The per-call timer is a sleep on the clock feeding an
 * AbortController (the same as AbortSignal.timeout combined with the caller's
 * signal) so that it is cancelled as soon as the call ends, and no listener
 * stays behind on a long-lived caller signal.
 */
async function attemptOnce(
  dispatcher: Dispatcher,
  dispatch: Dispatcher.RequestOptions,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  clock: Clock,
): Promise<AttemptOutcome> {
  const started = clock.now();
  const controller = new AbortController();
  let timedOut = false;
  const timer = new AbortController();
  clock.sleep(timeoutMs, timer.signal).then(
    () => {
      timedOut = true;
      controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError"));
    },
    () => undefined, // cancelled: the call ended first
  );
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  dispatch.signal = controller.signal;
  try {
    const res = await dispatcher.request(dispatch);
    const text = await res.body.text();
    const response: HttpResponse = { status: res.statusCode, headers: res.headers, body: parseBody(text, res.headers["content-type"]) };
    return { kind: "response", response, durationMs: clock.now() - started };
  } catch (cause) {
    const durationMs = clock.now() - started;
    if (signal?.aborted) return { kind: "failed", failure: "aborted", cause, durationMs };
    const code = errorCode(cause);
    if (timedOut || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return { kind: "failed", failure: "timeout", cause, durationMs };
    return { kind: "failed", failure: "network", cause, durationMs };
  } finally {
    timer.abort(WAIT_ENDED);
    signal?.removeEventListener("abort", onAbort);
  }
}

function parseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError("INVALID_INPUT", `Not a valid URL: ${redact(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AppError("INVALID_INPUT", `Only http and https URLs are supported, got ${redact(value)}`);
  }
  return url;
}

function parseBody(text: string, contentType: string | string[] | undefined): unknown {
  if (text.length === 0) return undefined;
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  // application/json, application/problem+json and friends.
  if (type !== undefined && type.includes("json")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Full-ish jitter: between half and all of the exponential step, so retrying clients spread out. */
function retryDelay(retry: RetryPolicy, attempt: number): number {
  return backoffDelay({ initialMs: retry.baseDelayMs, maxMs: retry.maxDelayMs ?? DEFAULT_MAX_DELAY_MS, jitter: 0.5 }, attempt);
}

/** Retry-After as delay-seconds (fractions tolerated) or an HTTP date. */
export function retryAfterMs(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === "") return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function errorCode(error: unknown): string | undefined {
  if (error === null || typeof error !== "object") return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

function describeCause(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

function unreachableError(call: HttpRequestOptions, cause: unknown): RunpodError {
  const code = call.errors?.unreachableCode ?? "UPSTREAM_ERROR";
  return new RunpodError(code, redact(`${call.method} ${call.url} failed: ${describeCause(cause)}`), {
    hint: call.errors?.hint,
    cause,
    details: { url: redact(call.url) },
  });
}

function timeoutError(call: HttpRequestOptions, cause: unknown): RunpodError {
  return new RunpodError("UPSTREAM_TIMEOUT", redact(`${call.method} ${call.url} did not answer within ${call.timeoutMs} ms`), {
    hint: call.errors?.hint,
    cause,
    details: { url: redact(call.url), timeoutMs: call.timeoutMs },
  });
}

function logAttempt(logger: Logger, method: string, url: string, outcome: AttemptOutcome, attempt: number): void {
  const result =
    outcome.kind === "response" ? String(outcome.response.status) : outcome.failure === "network" ? `failed: ${describeCause(outcome.cause)}` : outcome.failure;
  const retryNote = attempt > 1 ? ` (attempt ${attempt})` : "";
  // Headers are never logged; redact() also masks any key that ended up in the URL.
  logger.debug(redact(`${method} ${url} → ${result} in ${outcome.durationMs.toFixed(1)} ms${retryNote}`));
}
