/**
 * The seam between the HTTP server and whatever runs a function (the dev
 * backend: provision + job API / LB request, or an in-process call for
 * `local` functions). The server derives the input from the request and
 * renders the result; the invoker only runs.
 */
import type { FunctionEntry, Manifest } from "../discovery/manifest.js";

/** What a successful call produced. */
export interface InvokeResult {
  /** The function's return value (already decoded; rendered as JSON by the server). */
  output: unknown;
  /** QB: the Runpod job id; the server generates an id when absent. */
  jobId?: string;
}

/** Per-request context handed to the invoker. */
export interface InvokeContext {
  /** Aborted when the client goes away before the response is written. */
  signal: AbortSignal;
  /** The request id (also sent back as `X-Request-Id`). */
  requestId: string;
  /**
   * The manifest of the generation the request was routed on. A request keeps
   * its generation even when a reload swaps the route table mid-call, so the
   * invoker must resolve the module bundle from this manifest, not from
   * "whatever is current".
   */
  manifest: Manifest;
}

/**
 * Runs one function. Failures are thrown as `AppError`s (FUNCTION_ERROR with
 * details `name`/`stack`/`logs`, FUNCTION_TIMEOUT, PROVISION_FAILED,
 * WORKER_UNREACHABLE, …); the server's error boundary renders them.
 */
export interface FunctionInvoker {
  invoke(entry: FunctionEntry, input: unknown, ctx: InvokeContext): Promise<InvokeResult>;
}
