/**
 * What a dev session reports, as typed events (docs/internals.md, "The dev
 * session"). The console renderer prints them, /docs hears some of them over
 * server-sent events, and tests wait on them instead of reading console text.
 * Events are emitted in the order the console prints them.
 */
import type { DiscoveryIssue } from "../discovery/manifest.js";
import type { RouteInfo } from "../server/route-generation.js";
import type { AppError } from "../common/errors.js";
import type { FunctionLog } from "../common/function-protocol.js";
import type { HealthResponse, JobStatus } from "../runpod/wire-types.js";
import type { ProvisionOutcome } from "../provision/provisioner.js";
import { TypedEmitter } from "../common/typed-emitter.js";
import type { Subscribable } from "../common/typed-emitter.js";
import type { BackendChoice } from "./dev-options.js";

/** Which backend, for humans. */
export interface BackendInfo {
  kind: BackendChoice;
  /** e.g. "local emulator at http://127.0.0.1:43121". */
  description: string;
}

/** A route as `METHOD /path`, the form the console prints. */
export type RouteKey = string;

/** Two configs with one name but different settings (they would share, and fight over, one endpoint). */
export interface ConfigConflict {
  name: string;
  endpointName: string;
  files: [string, string];
}

/** Where a call came from: a request to a route, or code running in this process (a local function). */
export interface CallOrigin {
  route?: { method: string; path: string };
  requestId?: string;
}

interface CallRef {
  /** Unique within the session; links the events of one call. */
  callId: number;
  /** `file#export` (`file#Class.method`). */
  function: string;
  /** The endpoint name (`live-…`), or `local`. */
  endpoint: string;
  local: boolean;
}

export interface DevSessionEvents {
  /** A discovery ran (at start, and after every reload): what is wrong in the code. */
  discovered: { phase: "start" | "reload"; generation: number; functions: number; issues: readonly DiscoveryIssue[]; conflicts: readonly ConfigConflict[] };

  /** --auto-provision needs a yes before provisioning this many endpoints. */
  provisionConfirm: { endpoints: { endpointName: string; className: string }[] };
  /** --auto-provision did not run: the answer was no, or nobody could be asked. */
  provisionSkipped: { reason: "declined" | "no-terminal"; count: number };
  provisionStarted: { count: number };
  /** One endpoint of --auto-provision is ready (or failed). */
  provisionResult: { endpointName: string; ok: true; outcome: ProvisionOutcome; durationMs: number } | { endpointName: string; ok: false; error: AppError };
  provisionFinished: { durationMs: number; counts: Record<ProvisionOutcome | "failed", number> };
  /** Orphans are not judged when a file failed to load (its endpoints would look orphaned). */
  orphansSkipped: Record<string, never>;
  orphansDeleted: { deleted: string[]; failed: { name: string; error: AppError }[] };
  /** Without --auto-provision: endpoints in the cache that the code no longer has. */
  orphansFound: { names: string[] };

  /** The requested port was taken. */
  portMoved: { requested: number; port: number };
  /** Serving: the banner. */
  ready: {
    url: string;
    publicUrl: string;
    routes: readonly RouteInfo[];
    backend: BackendInfo;
    /** Why this backend, e.g. "no RUNPOD_API_KEY and no credentials in ~/.runpod/config.toml". */
    backendReason: string;
    /** The `.env` file the values came from, as the user knows it (or "no .env found"). */
    envFile: string;
    watch: string | undefined;
    startupMs: number;
  };

  /** A reload began for these changed paths. */
  reloadStarted: { paths: string[] };
  /** `.env` changed these keys; the backend restarts when one of them configures it. */
  envChanged: { keys: string[]; restartsBackend: boolean; keyIgnored: boolean };
  /** A new backend serves new calls; the old one drains (see backendRetired). */
  backendSwapped: { from: BackendInfo; to: BackendInfo; reason: "env" };
  /** A replaced backend was closed: after its last call (drained), or at its deadline or the session's end. */
  backendRetired: { backend: BackendInfo; drained: boolean; waitedMs: number };
  /** The routes served changed (sent to /docs). */
  routesChanged: { generation: number; added: RouteKey[]; removed: RouteKey[]; routes: number };
  /** A reload ended: the new code is served, or the last good code still is. */
  reloadFinished:
    | { ok: true; paths: string[]; durationMs: number; generation: number; routes: number; added: RouteKey[]; removed: RouteKey[] }
    | { ok: false; paths: string[]; durationMs: number; error: AppError };

  /**
   * The type schemas of a generation are ready (requests to it are validated from now on, sent to
   * /docs), or could not be computed (it stays unvalidated). Comes after that generation's reload.
   */
  schemasUpdated:
    | { generation: number; ok: true; functions: number; reusedFunctions: number; issues: number; durationMs: number; sinceSwapMs: number }
    | { generation: number; ok: false; error: AppError };

  /** A function call began (before its endpoint is provisioned). */
  callStarted: CallRef & CallOrigin;
  /** The client sent the request (a QB job once queued, with its id). Attempt 2 resends the module's code. */
  callSubmitted: CallRef & { attempt: number; jobId?: string };
  /** A QB job's status as a poll saw it. */
  callStatus: CallRef & { jobId: string; status: JobStatus };
  /**
   * The function's console output as it is written (local calls; QB jobs as
   * their worker streams it), and with the answer the lines not shown yet. A
   * line of a nested call names its endpoint (`log.endpoint`).
   */
  callLogs: CallRef & { logs: readonly FunctionLog[] };
  /** The worker did not stream this many lines (over its rate limit); they come with the answer. */
  callLogsDropped: CallRef & { count: number };
  /** The endpoint's health while the call has been in flight over a second (about every 2 s). */
  callHealth: CallRef & { workers: HealthResponse["workers"]; jobs: HealthResponse["jobs"] };
  /** The call is over. `abandoned`: its client went away or the session stopped. */
  callFinished: CallRef &
    CallOrigin & { durationMs: number; jobId?: string } & ({ outcome: "completed" } | { outcome: "failed" | "abandoned"; error: AppError });

  /** A line a worker printed (already prefixed with its endpoint). */
  workerOutput: { line: string; stream: "stdout" | "stderr" };

  /** On exit with --cleanup: this project's endpoints were deleted. */
  endpointsDeleted: { deleted: string[]; failed: { name: string; error: AppError }[] };
  /** On exit on Runpod: endpoints kept with warm workers (they bill while idle). */
  warmEndpointsKept: { endpoints: { name: string; workersMin: number }[] };
  /** On exit: the endpoints could not be reviewed. */
  endpointReviewFailed: { error: AppError };
  /** Something went wrong that only a developer of flash-ts needs to see. */
  debug: { message: string };
  /** Everything is stopped. */
  closed: Record<string, never>;
}

export type DevSessionEventName = keyof DevSessionEvents;

/** The emitter a session reports on; create one to subscribe before the session starts. */
export class DevSessionEmitter extends TypedEmitter<DevSessionEvents> {}

export type DevSessionEventSource = Subscribable<DevSessionEvents>;

/** `METHOD /path` of each route. */
export function routeKeys(routes: readonly RouteInfo[]): RouteKey[] {
  return routes.map((r) => `${r.method} ${r.path}`);
}

/** Routes in `after` and not in `before`, and the reverse, in their order. */
export function diffRoutes(before: readonly RouteKey[], after: readonly RouteKey[]): { added: RouteKey[]; removed: RouteKey[] } {
  const had = new Set(before);
  const has = new Set(after);
  return { added: after.filter((r) => !had.has(r)), removed: before.filter((r) => !has.has(r)) };
}
