/**
 * Coded errors. Every error a user can hit carries a stable `code`, says
 * whether it is the user's to fix or ours, and may carry a hint that says
 * what to do next. Errors are rendered in exactly two places: the Koa error
 * boundary (HTTP JSON) and the CLI (a message and an exit code).
 */

/** Error codes and the HTTP status each maps to when it reaches a client. */
export const ERROR_STATUS = {
  // request errors (user)
  INVALID_JSON: 400, // the body is not valid JSON
  INVALID_BODY: 422, // valid JSON, wrong shape (e.g. not an object)
  INVALID_INPUT: 422, // the input does not match the function's parameter type (mismatches by JSON path), or a parameter or option has a bad value
  ROUTE_NOT_FOUND: 404, // no route matches the path
  NOT_FOUND: 404, // the named thing (endpoint, job, worker) does not exist
  METHOD_NOT_ALLOWED: 405, // the path exists with another method
  BODY_TOO_LARGE: 413, // the body exceeds the configured limit
  UNAUTHORIZED: 401, // missing or wrong API key
  FORBIDDEN: 403, // refused on purpose (e.g. a cross-site browser request)
  CONFLICT: 409, // the request conflicts with current state

  // user code and configuration (user)
  FUNCTION_ERROR: 500, // the remote function threw
  FUNCTION_TIMEOUT: 504, // the remote function exceeded its execution timeout
  FUNCTION_CANCELLED: 500, // the job was cancelled before it finished
  FUNCTION_LOAD_FAILED: 503, // the code could not be loaded (syntax error, bad config)
  INVALID_CONFIG: 400, // a resource config or remote() option is invalid
  ROUTE_COLLISION: 500, // two files produce the same route
  NO_FUNCTIONS: 400, // nothing to serve
  MODULE_MISSING: 409, // the worker has not seen this module; resend it with code
  DEPENDENCY_INSTALL_FAILED: 500, // npm could not install the declared dependencies

  // infrastructure (system unless stated)
  PROVISION_FAILED: 503, // an endpoint could not be created or updated
  WORKER_UNREACHABLE: 502, // the worker or endpoint could not be reached
  WORKER_CRASHED: 502, // the worker process died while running the job
  UPSTREAM_ERROR: 502, // Runpod (or the emulator) answered with an unexpected error
  UPSTREAM_TIMEOUT: 504, // Runpod (or the emulator) did not answer in time
  RELOAD_TIMEOUT: 503, // a reload took longer than requests are held for
  SERVICE_UNAVAILABLE: 503, // the server is shutting down or not ready
  RATE_LIMITED: 429,
  PORT_IN_USE: 500,
  DOCKER_UNAVAILABLE: 500,
  IMAGE_BUILD_FAILED: 500,
  CONTAINER_FAILED: 500,
  DISPOSED: 500, // the object was closed and refuses work
  INTERNAL: 500, // a bug in flash-ts
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Codes that describe something the user can fix (bad input, bad code, bad config). */
const USER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "INVALID_JSON",
  "INVALID_BODY",
  "INVALID_INPUT",
  "ROUTE_NOT_FOUND",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "BODY_TOO_LARGE",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "CONFLICT",
  "FUNCTION_ERROR",
  "FUNCTION_TIMEOUT",
  "FUNCTION_CANCELLED",
  "FUNCTION_LOAD_FAILED",
  "INVALID_CONFIG",
  "ROUTE_COLLISION",
  "NO_FUNCTIONS",
  "DEPENDENCY_INSTALL_FAILED",
  "PORT_IN_USE",
  "DOCKER_UNAVAILABLE",
  "IMAGE_BUILD_FAILED",
]);

export interface AppErrorOptions {
  /** What the user should do next. */
  hint?: string;
  /** Overrides the status of the code (e.g. an upstream 404 passed through). */
  status?: number;
  /** Structured data safe to show to the client (never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.hint = options.hint;
    this.status = options.status ?? ERROR_STATUS[code];
    this.details = options.details;
  }

  /** True when the user can fix this (as opposed to a bug or an outage). */
  get isUserError(): boolean {
    return USER_CODES.has(this.code);
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** True for AppErrors with the given code. */
export function hasCode(value: unknown, code: ErrorCode): value is AppError {
  return value instanceof AppError && value.code === code;
}

/** Wraps anything thrown into an AppError, keeping AppErrors as they are. */
export function toAppError(value: unknown, fallback: ErrorCode = "INTERNAL"): AppError {
  if (value instanceof AppError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new AppError(fallback, message, { cause: value });
}

/** The JSON error body used by the dev server and the CLI's --json output. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    hint?: string;
    [key: string]: unknown;
  };
}

export function toErrorBody(error: AppError): ErrorBody {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error.hint) body.error.hint = error.hint;
  if (error.details) Object.assign(body.error, error.details);
  return body;
}
