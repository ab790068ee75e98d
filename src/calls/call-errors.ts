/**
 * The one error mapping of function calls (docs/internals.md, "Function
 * calls"): every way a call can fail becomes one AppError code, decided by
 * structure only (job status, FunctionResponse error kind, LB HTTP status,
 * which transport error), never by message text. The dev server, nested calls
 * in workers and local calls all go through here.
 */
import { AppError, isAppError } from "../common/errors.js";
import type { ErrorCode } from "../common/errors.js";
import type { FunctionErrorKind, FunctionFailure, FunctionTarget } from "../common/function-protocol.js";
import { decodeValue } from "../common/value-codec.js";
import { isRunpodError } from "../runpod/errors.js";
import type { HttpHeaders } from "../runpod/http.js";
import type { JobState } from "../runpod/wire-types.js";

/**
 * The function ran and its worker answered with a FunctionFailure. Our worker
 * runtime completes a job with a FunctionResponse even when the function
 * throws, so this is the function's own failure (or the runtime's around it).
 */
export const FAILURE_KIND_CODES: Readonly<Record<FunctionErrorKind, ErrorCode>> = {
  function: "FUNCTION_ERROR",
  timeout: "FUNCTION_TIMEOUT",
  dependencies: "DEPENDENCY_INSTALL_FAILED",
  load: "FUNCTION_LOAD_FAILED",
  // Still missing after the resend with code: the worker could not keep it.
  "module-missing": "UPSTREAM_ERROR",
  runtime: "UPSTREAM_ERROR",
  // The worker could not take the caller's runtime (calls/runtime-delivery.ts turns these into
  // WORKER_UNREACHABLE with a hint before they get here; a caller without delivery sees them raw).
  "runtime-missing": "WORKER_UNREACHABLE",
  "runtime-mismatch": "WORKER_UNREACHABLE",
  "unsupported-worker": "WORKER_UNREACHABLE",
};

/**
 * A QB job ended without a FunctionResponse. FAILED therefore means the worker
 * or its runtime failed (the process died mid-job, workers that never start),
 * not the function.
 */
export const JOB_STATUS_CODES: Readonly<Record<"FAILED" | "TIMED_OUT" | "CANCELLED", ErrorCode>> = {
  FAILED: "WORKER_CRASHED",
  TIMED_OUT: "FUNCTION_TIMEOUT",
  CANCELLED: "FUNCTION_CANCELLED",
};

/**
 * An LB `POST /execute` answered with something other than 200. A 502 that
 * names the worker (`X-Runpod-Worker-Id`) means a worker took the request and
 * gave no answer (it died mid-request); without one, no worker was reached.
 */
export function lbStatusCode(status: number, workerAssigned: boolean): ErrorCode {
  if (status === 502) return workerAssigned ? "WORKER_CRASHED" : "WORKER_UNREACHABLE";
  if (status === 503) return "WORKER_UNREACHABLE";
  if (status === 504) return "FUNCTION_TIMEOUT";
  if (status === 413) return "BODY_TOO_LARGE";
  if (status === 429) return "RATE_LIMITED";
  return "UPSTREAM_ERROR";
}

/** Where a call went, for messages and details. */
export interface CallSite {
  /** The endpoint's name (e.g. `live-gpu-worker`), or `local` for an in-process call. */
  endpoint: string;
  target: FunctionTarget;
  jobId?: string;
  local?: boolean;
}

export function describeTarget(target: FunctionTarget): string {
  return `${target.file}#${target.export}${target.method ? "." + target.method : ""}`;
}

function siteDetails(site: CallSite): Record<string, unknown> {
  return { endpoint: site.endpoint, ...(site.jobId ? { jobId: site.jobId } : {}), ...(site.local ? { local: true } : {}) };
}

/**
 * The error of a call whose function (or the runtime around it) failed: an
 * AppError that also reads like the remote error (its name, message and
 * stack), so code that catches it from a nested call sees what was thrown.
 */
export class FunctionCallError extends AppError {
  readonly kind: FunctionErrorKind;
  readonly endpoint: string;
  readonly jobId: string | undefined;
  /** The value the function threw when it was not an Error (`throw {code: 42}`), decoded. */
  readonly thrown: unknown;

  constructor(code: ErrorCode, message: string, failure: FunctionFailure, site: CallSite, hint?: string) {
    const { error } = failure;
    const thrown = error.thrown === undefined ? undefined : decodeThrown(error.thrown);
    super(code, message, {
      ...(hint ? { hint } : {}),
      details: {
        ...siteDetails(site),
        function: describeTarget(site.target),
        name: error.name,
        ...(error.stack ? { stack: error.stack } : {}),
        ...(failure.logs.length > 0 ? { logs: failure.logs.map((l) => l.text) } : {}),
        ...(error.thrown !== undefined ? { thrown } : {}),
      },
    });
    this.name = error.name;
    this.kind = error.kind;
    this.endpoint = site.endpoint;
    this.jobId = site.jobId;
    this.thrown = thrown;
    this.stack = error.stack ?? `${error.name}: ${error.message}\n    at <remote> (${site.endpoint})`;
  }
}

function decodeThrown(value: FunctionFailure["error"]["thrown"]): unknown {
  try {
    return decodeValue(value ?? null);
  } catch {
    return value;
  }
}

/** The error for a FunctionFailure answer. */
export function errorForFailure(failure: FunctionFailure, site: CallSite): FunctionCallError {
  const { error } = failure;
  const code = FAILURE_KIND_CODES[error.kind];
  const where = describeTarget(site.target);
  switch (error.kind) {
    case "function":
      return new FunctionCallError(code, error.message, failure, site);
    case "timeout":
      return new FunctionCallError(code, `${where} ran longer than its execution timeout: ${error.message}`, failure, site, "Raise executionTimeoutMs in the resource config if the work really takes this long.");
    case "dependencies":
      return new FunctionCallError(code, `${where}: ${error.message}`, failure, site, "Check the package specs in the function's dependencies option.");
    case "load":
      return new FunctionCallError(code, `${where}: ${error.message}`, failure, site);
    default:
      return new FunctionCallError(code, `${site.endpoint}: ${error.message}`, failure, site);
  }
}

/** The error for a QB job that ended FAILED, TIMED_OUT or CANCELLED. */
export function errorForJob(state: JobState, site: CallSite): AppError {
  const details = siteDetails({ ...site, jobId: state.id });
  switch (state.status) {
    case "FAILED":
      return new AppError(JOB_STATUS_CODES.FAILED, `${site.endpoint}: the worker failed job ${state.id} without an answer from the function: ${state.error ?? "no error message"}`, {
        hint: "Look at the endpoint's worker output for why it stopped (a crash, running out of memory, a worker that cannot start).",
        details,
      });
    case "TIMED_OUT":
      return new AppError(JOB_STATUS_CODES.TIMED_OUT, `${site.endpoint}: job ${state.id} ran longer than its execution timeout`, {
        hint: "Raise executionTimeoutMs in the resource config if the work really takes this long.",
        details,
      });
    case "CANCELLED":
      return new AppError(JOB_STATUS_CODES.CANCELLED, `${site.endpoint}: job ${state.id} was cancelled`, { details });
    default:
      return new AppError("UPSTREAM_ERROR", `${site.endpoint}: job ${state.id} ended ${state.status}`, { details });
  }
}

function headerValue(headers: HttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The error for an LB answer that is not 200. */
export function errorForLbAnswer(answer: { status: number; headers: HttpHeaders; body: unknown }, site: CallSite): AppError {
  const workerId = headerValue(answer.headers, "x-runpod-worker-id");
  const code = lbStatusCode(answer.status, workerId !== undefined && workerId !== "");
  const detail = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? null);
  const what = code === "WORKER_CRASHED" ? `worker ${workerId} stopped answering mid-request (HTTP ${answer.status})` : `answered ${answer.status}`;
  return new AppError(code, `${site.endpoint} ${what}: ${detail.slice(0, 500)}`, { details: { ...siteDetails(site), ...(workerId ? { workerId } : {}) } });
}

/** Coded errors that keep their code when a call fails with them. */
const PASSED_THROUGH: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["PROVISION_FAILED", "WORKER_UNREACHABLE", "UNAUTHORIZED", "INVALID_INPUT", "DISPOSED"]);

/**
 * The error for a call that got no usable answer: the caller gave up (its own
 * reason, an AppError, passes through), the overall wait ran out, the endpoint
 * could not be reached, or Runpod refused the request.
 */
export function errorForTransport(error: unknown, site: CallSite, abortSignal?: AbortSignal): AppError {
  if (abortSignal?.aborted && error === abortSignal.reason) {
    if (isAppError(error)) return error;
    const why = error instanceof Error ? error.message : String(error);
    return new AppError("FUNCTION_CANCELLED", `${site.endpoint}: the call was cancelled (${why})`, { cause: error, details: siteDetails(site) });
  }
  if (isAppError(error) && error.code === "UPSTREAM_TIMEOUT") {
    return new AppError("FUNCTION_TIMEOUT", `${site.endpoint}: no answer in time (${error.message})`, {
      cause: error,
      hint: "The job was cancelled. Raise executionTimeoutMs in the resource config if the work really takes this long.",
      details: { ...siteDetails(site), ...error.details },
    });
  }
  // Runpod answered and refused (401, 404, 429, 5xx…): its code, chosen by status, stands; so do coded
  // errors the clients raise themselves (an unreachable LB worker, a bad id).
  const answered = isRunpodError(error) && error.upstreamStatus !== undefined;
  if (isAppError(error) && (answered || PASSED_THROUGH.has(error.code))) {
    return new AppError(error.code, `${site.endpoint}: ${error.message}`, {
      status: error.status,
      cause: error,
      ...(error.hint ? { hint: error.hint } : {}),
      details: { ...error.details, ...siteDetails(site) },
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new AppError("WORKER_UNREACHABLE", `${site.endpoint}: ${message}`, { cause: error, details: siteDetails(site) });
}
