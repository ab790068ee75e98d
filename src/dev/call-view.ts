/**
 * The live state of one function call, as the console shows it
 * (docs/internals.md, "Live call state"): built from the session's call
 * events — the job's status, the endpoint's health — with no I/O and no
 * timers, so the console renderer only decides when to show it.
 */
import type { HealthResponse, JobStatus } from "../runpod/wire-types.js";
import { formatDuration } from "../provision/provisioner.js";
import type { DevSessionEvents } from "./session-events.js";

export type CallPhase = "provisioning" | "queued" | "initializing" | "throttled" | "running" | "done" | "failed" | "cancelled";

/** What is known about a call in flight. */
export interface CallView {
  readonly callId: number;
  readonly endpoint: string;
  /** `METHOD /path` of the route it answers, else the function (`file#export`). */
  readonly label: string;
  readonly local: boolean;
  /** On the session's clock. */
  readonly startedAt: number;
  /** The request went out (an LB request has no job id). */
  submitted: boolean;
  jobId: string | undefined;
  status: JobStatus | undefined;
  workers: HealthResponse["workers"] | undefined;
  ended: { outcome: "completed" | "failed" | "abandoned"; durationMs: number; code: string | undefined } | undefined;
}

/** Said once with the throttled state. */
export const THROTTLED_HINT =
  "Runpod has no machine free for this endpoint's hardware right now. Allow more GPU types (a wider pool, e.g. gpus: [GpuGroup.ANY]) " +
  "or CPU instance types in its config, or raise workersMax; the job stays queued until a worker can start.";

export function startView(e: DevSessionEvents["callStarted"], now: number): CallView {
  return {
    callId: e.callId,
    endpoint: e.endpoint,
    label: e.route ? `${e.route.method} ${e.route.path}` : e.function,
    local: e.local,
    startedAt: now,
    submitted: false,
    jobId: undefined,
    status: undefined,
    workers: undefined,
    ended: undefined,
  };
}

/** The phase the events so far add up to. */
export function phaseOf(view: CallView): CallPhase {
  if (view.ended) return view.ended.outcome === "completed" ? "done" : view.ended.outcome === "failed" ? "failed" : "cancelled";
  if (view.local) return "running";
  if (!view.submitted) return "provisioning";
  // Taken by a worker (a terminal status can come a moment before the call's end).
  if (view.status !== undefined && view.status !== "IN_QUEUE") return "running";
  const waiting = view.jobId !== undefined ? "queued" : "running";
  const w = view.workers;
  // A worker free to take it: it is only waiting its turn. Otherwise say why no worker has it yet.
  if (!w || w.idle > 0) return waiting;
  if (w.initializing > 0) return "initializing";
  if (w.throttled > 0) return "throttled";
  return waiting;
}

/** What the phase says, e.g. `worker initializing (cold start)` or `done in 3.4 s`. */
export function describePhase(view: CallView): string {
  const phase = phaseOf(view);
  const took = view.ended ? formatDuration(Math.round(view.ended.durationMs)) : "";
  switch (phase) {
    case "provisioning":
      return "provisioning the endpoint";
    case "queued":
      return "queued";
    case "initializing":
      return "worker initializing (cold start)";
    case "throttled":
      return "throttled: no capacity for a worker right now";
    case "running":
      return "running";
    case "done":
      return `done in ${took}`;
    case "failed":
      return `failed after ${took}${view.ended?.code ? ` (${view.ended.code})` : ""}`;
    case "cancelled":
      return `cancelled after ${took}`;
  }
}

/** The call's line: `[endpoint] label: state`. */
export function describeCall(view: CallView): string {
  return `[${view.endpoint}] ${view.label}: ${describePhase(view)}`;
}

/** Applies one call event; returns false for an event that is not about calls. */
export function applyCallEvent(view: CallView, kind: keyof DevSessionEvents, event: unknown): boolean {
  switch (kind) {
    case "callSubmitted": {
      const e = event as DevSessionEvents["callSubmitted"];
      view.submitted = true;
      // A resend is a new job: what was known of the old one no longer holds.
      if (e.jobId !== view.jobId) view.status = undefined;
      view.jobId = e.jobId;
      return true;
    }
    case "callStatus":
      view.status = (event as DevSessionEvents["callStatus"]).status;
      return true;
    case "callHealth":
      view.workers = (event as DevSessionEvents["callHealth"]).workers;
      return true;
    case "callFinished": {
      const e = event as DevSessionEvents["callFinished"];
      view.ended = { outcome: e.outcome, durationMs: e.durationMs, code: e.outcome === "completed" ? undefined : e.error.code };
      return true;
    }
    default:
      return false;
  }
}
