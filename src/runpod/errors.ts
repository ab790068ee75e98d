/**
 * Errors of the Runpod clients. Every failure of a call to Runpod (or the
 * emulator) becomes a {@link RunpodError}: an AppError whose code follows the
 * HTTP status of the answer, which keeps that status and the parsed body so
 * callers can look at them without parsing messages.
 */
import { AppError } from "../common/errors.js";
import type { AppErrorOptions, ErrorCode } from "../common/errors.js";
import { redact } from "../common/redact.js";

/** Longest piece of a response body quoted in an error message. */
const MAX_MESSAGE_BODY = 300;

/** Options of {@link RunpodError} beyond those of AppError. */
export interface RunpodErrorOptions extends AppErrorOptions {
  /** The HTTP status Runpod answered with; absent when no answer arrived (network failure, timeout). */
  upstreamStatus?: number;
  /** The parsed response body (JSON value or text), kept whole for callers. */
  body?: unknown;
}

/**
 * A failed call to Runpod or the emulator. For answers, `status` and
 * `upstreamStatus` are both the HTTP status Runpod sent (AppError's status
 * override, so an upstream 404 passes through as a 404). Without an answer
 * (connection refused, timeout) `upstreamStatus` is undefined and `status` is
 * the code's own status (502/504), because AppError's status is always a number.
 */
export class RunpodError extends AppError {
  /** The HTTP status of Runpod's answer, or undefined when there was no answer. */
  readonly upstreamStatus: number | undefined;
  /** The parsed response body (undefined when there was no answer or it was empty). */
  readonly body: unknown;

  constructor(code: ErrorCode, message: string, options: RunpodErrorOptions = {}) {
    const { upstreamStatus, body, ...rest } = options;
    super(code, message, upstreamStatus === undefined ? rest : { ...rest, status: rest.status ?? upstreamStatus });
    this.name = "RunpodError";
    this.upstreamStatus = upstreamStatus;
    this.body = body;
  }
}

/** True for RunpodErrors (optionally with the given code). */
export function isRunpodError(value: unknown, code?: ErrorCode): value is RunpodError {
  return value instanceof RunpodError && (code === undefined || value.code === code);
}

/** The hint given with every 401/403. */
export const API_KEY_HINT = "Check RUNPOD_API_KEY: it must be set to a valid Runpod API key (Settings → API Keys).";

/**
 * The human message in a response body: problem+json `detail` (with its
 * `errors[]`), `{"error": "..."}` (job API), `{"error": {"message"}}` (our own
 * error body), `{"message"}`, or the text itself. Truncated for messages.
 */
export function messageFromBody(body: unknown): string {
  let text: string;
  if (typeof body === "string") {
    text = body.trim();
  } else if (body !== null && typeof body === "object") {
    const record = body as Record<string, unknown>;
    const error = record.error;
    if (typeof record.detail === "string") {
      const errors = Array.isArray(record.errors) ? record.errors.filter((e) => typeof e === "string") : [];
      text = errors.length > 0 ? `${record.detail} (${errors.join("; ")})` : record.detail;
    } else if (typeof error === "string") {
      text = error;
    } else if (error !== null && typeof error === "object" && typeof (error as Record<string, unknown>).message === "string") {
      text = (error as Record<string, unknown>).message as string;
    } else if (typeof record.message === "string") {
      text = record.message;
    } else if (typeof record.title === "string") {
      text = record.title;
    } else {
      text = JSON.stringify(body);
    }
  } else if (body === undefined) {
    text = "";
  } else {
    text = JSON.stringify(body);
  }
  return text.length > MAX_MESSAGE_BODY ? `${text.slice(0, MAX_MESSAGE_BODY)}…` : text;
}

/** The error code for a non-2xx HTTP status of a Runpod API. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return "UNAUTHORIZED";
  if (status === 404) return "NOT_FOUND";
  // 408 is the server saying it gave up waiting: a timeout, not bad input.
  if (status === 408) return "UPSTREAM_TIMEOUT";
  if (status === 409) return "CONFLICT";
  if (status === 429) return "RATE_LIMITED";
  if (status >= 400 && status < 500) return "INVALID_INPUT";
  return "UPSTREAM_ERROR";
}

/** What failed, for {@link errorFromResponse}. */
export interface ResponseErrorContext {
  method: string;
  url: string;
  status: number;
  body: unknown;
  /** Hint for statuses without a built-in one (everything but 401/403/429). */
  hint?: string;
}

/** The RunpodError for a non-2xx answer, following {@link codeForStatus}. */
export function errorFromResponse(context: ResponseErrorContext): RunpodError {
  const { method, url, status, body } = context;
  const code = codeForStatus(status);
  const detail = messageFromBody(body);
  const message = redact(`${method} ${url} failed with HTTP ${status}${detail ? `: ${detail}` : ""}`);
  let hint = context.hint;
  if (code === "UNAUTHORIZED") hint = API_KEY_HINT;
  else if (code === "RATE_LIMITED") hint = "Runpod rate-limited this request; wait a moment and try again.";
  return new RunpodError(code, message, { upstreamStatus: status, body, hint, details: { upstreamStatus: status } });
}
