/**
 * The error of an Endpoint client's job that ended without a result, or whose
 * wait ran out. Other client failures are plain AppErrors with a code
 * (README, "Calling an existing endpoint"): NOT_FOUND, UNAUTHORIZED,
 * INVALID_INPUT, BODY_TOO_LARGE, INVALID_CONFIG, CONFLICT, and the transport
 * codes of the Runpod clients.
 */
import { AppError } from "../common/errors.js";
import type { ErrorCode } from "../common/errors.js";
import type { JobStatus } from "../runpod/wire-types.js";

/** Why a job gave no result: how it ended, or that the caller's wait ran out (`WAIT_TIMEOUT`). */
export type EndpointJobErrorReason = "FAILED" | "TIMED_OUT" | "CANCELLED" | "WAIT_TIMEOUT";

const CODES: Readonly<Record<EndpointJobErrorReason, ErrorCode>> = {
  FAILED: "FUNCTION_ERROR",
  TIMED_OUT: "FUNCTION_TIMEOUT",
  CANCELLED: "FUNCTION_CANCELLED",
  WAIT_TIMEOUT: "UPSTREAM_TIMEOUT",
};

export interface EndpointJobErrorInit {
  reason: EndpointJobErrorReason;
  /** How the endpoint is named in messages, e.g. `Endpoint({ id: "abc123" })`. */
  who: string;
  endpointId: string;
  jobId: string | undefined;
  /** The job's last known status. */
  jobStatus: JobStatus | undefined;
  /** The job's `error` text, when it has one. */
  jobError?: string | undefined;
  /** The job's `output`, when it has one (a failed job may carry partial output). */
  output?: unknown;
  /** WAIT_TIMEOUT only: the wait ran out after this many ms. */
  timeoutMs?: number;
  /** WAIT_TIMEOUT only: flash cancelled the job (runsync does; job.wait leaves it running). */
  cancelled?: boolean;
}

function describe(init: EndpointJobErrorInit): { message: string; hint: string } {
  const job = init.jobId ? `job ${init.jobId}` : "the job";
  switch (init.reason) {
    case "FAILED":
      return {
        message: `${init.who}: ${job} failed${init.jobError ? `: ${init.jobError}` : ""}`,
        hint: "The endpoint's handler raised, or its worker failed; its logs (Runpod console, or the emulator's output) say why.",
      };
    case "TIMED_OUT":
      return {
        message: `${init.who}: ${job} ran longer than its execution timeout`,
        hint: "Raise the endpoint's execution timeout if the work really takes this long.",
      };
    case "CANCELLED":
      return { message: `${init.who}: ${job} was cancelled`, hint: "Someone cancelled it (job.cancel(), the console, or a purge of the queue); run it again if you still need the result." };
    case "WAIT_TIMEOUT":
      return init.cancelled
        ? {
            message: `${init.who}: ${job} did not finish within ${init.timeoutMs} ms, so it was cancelled`,
            hint: "Pass { timeout } (ms) to wait longer, or use run() and job.wait() to keep the job running while you wait.",
          }
        : {
            message: `${init.who}: ${job} did not finish within ${init.timeoutMs} ms (it is ${init.jobStatus ?? "still pending"} and keeps running)`,
            hint: "Wait again with job.wait({ timeout }), or stop it with job.cancel().",
          };
  }
}

/**
 * A job of an Endpoint client that FAILED, TIMED_OUT or was CANCELLED, or a
 * wait for one that ran out. `code` is FUNCTION_ERROR, FUNCTION_TIMEOUT,
 * FUNCTION_CANCELLED or UPSTREAM_TIMEOUT respectively; `reason` says which.
 */
export class EndpointJobError extends AppError {
  readonly reason: EndpointJobErrorReason;
  readonly endpointId: string;
  readonly jobId: string | undefined;
  readonly jobStatus: JobStatus | undefined;
  readonly jobError: string | undefined;
  readonly output: unknown;
  /** WAIT_TIMEOUT: whether the job was cancelled (runsync) or left running (job.wait). */
  readonly cancelled: boolean;

  constructor(init: EndpointJobErrorInit) {
    const { message, hint } = describe(init);
    super(CODES[init.reason], message, {
      hint,
      details: {
        reason: init.reason,
        endpointId: init.endpointId,
        ...(init.jobId ? { jobId: init.jobId } : {}),
        ...(init.jobStatus ? { jobStatus: init.jobStatus } : {}),
      },
    });
    this.name = "EndpointJobError";
    this.reason = init.reason;
    this.endpointId = init.endpointId;
    this.jobId = init.jobId;
    this.jobStatus = init.jobStatus;
    this.jobError = init.jobError;
    this.output = init.output;
    this.cancelled = init.cancelled ?? false;
  }
}
