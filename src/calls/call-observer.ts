/**
 * What can be watched of one function call while it runs: the hook for live
 * call state (queued, running, done) and console output. The client only
 * reports; rendering is the watcher's business.
 */
import type { AppError } from "../common/errors.js";
import type { FunctionLog } from "../common/function-protocol.js";
import type { HealthResponse, JobStatus } from "../runpod/wire-types.js";

export interface CallEvents {
  /** The request went out: a QB job once queued (with its id), an LB or local call when sent. Attempt 2 is the resend with code. */
  submitted: { attempt: number; jobId?: string };
  /** A QB job's status, as a poll returned it. */
  status: { jobId: string; status: JobStatus };
  /**
   * Console output of the function as it is written: local calls directly,
   * QB jobs as their worker streams it, and with the answer the lines not yet
   * shown (all of them for LB calls). A nested call's lines name its endpoint.
   */
  logs: readonly FunctionLog[];
  /** The worker did not stream this many lines (over its rate limit); they come with the answer. */
  logsDropped: { count: number };
  /** The endpoint's health, read for calls in flight over a second while the observer listens to it. */
  health: HealthResponse;
  /** The call is over. */
  finished: { ok: true; durationMs: number; jobId?: string } | { ok: false; error: AppError; durationMs: number; jobId?: string };
}

/** Receives the events of one call; every method is optional. */
export type CallObserver = { [K in keyof CallEvents]?: (event: CallEvents[K]) => void };

/** Delivers one event; an observer that throws never breaks the call. */
export function notify<K extends keyof CallEvents>(observer: CallObserver | undefined, kind: K, event: CallEvents[K]): void {
  try {
    observer?.[kind]?.(event);
  } catch {
    // A watcher's bug is not the call's failure.
  }
}
