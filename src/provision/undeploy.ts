/**
 * `flash undeploy`: which endpoints to delete, and deleting them. An endpoint
 * is this project's when its env carries the project marker; any other
 * endpoint of the account (another project's, or one made by hand) is never
 * touched unless it is named by its id together with `--force`. A plan that
 * names something it may not touch, or nothing that exists, deletes nothing
 * (docs/internals.md, "Endpoints and undeploy").
 */
import pLimit from "p-limit";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { AppError, isAppError } from "../common/errors.js";
import type { Endpoint } from "../runpod/wire-types.js";
import { PROJECT_MARKER_ENV } from "./endpoint-request.js";
import { isStale } from "./endpoint-report.js";
import type { EndpointRow } from "./endpoint-report.js";
import type { CachedEndpoint, ResourceCache } from "./resource-cache.js";

export interface UndeployRequest {
  /** Endpoint names (`live-x` or `x`) or ids. */
  targets: readonly string[];
  stale: boolean;
  all: boolean;
  /** Lets an endpoint named by id be deleted without this project's marker. */
  force: boolean;
}

export interface PlannedDeletion {
  name: string;
  id: string;
  /** Why it is in the plan. */
  reason: "named" | "stale" | "all" | "forced";
  /** False only for `--force` by id: the endpoint is not this project's. */
  mine: boolean;
  /** Its project marker, when it has one (for what a forced deletion says). */
  marker?: string;
}

export interface UndeployPlan {
  /** Endpoints to delete on the provider (and drop from the cache). */
  delete: PlannedDeletion[];
  /** Cache entries whose endpoint no longer exists: dropped without a call. */
  forget: CachedEndpoint[];
}

export interface PlanInput {
  request: UndeployRequest;
  /** The provider's endpoints (the whole account). */
  listed: readonly Endpoint[];
  /** This project's rows (buildEndpointReport); empty when the project has no id yet. */
  rows: readonly EndpointRow[];
  /** Cache entries of the Runpod backend. */
  cached: readonly CachedEndpoint[];
  /** Undefined when the project never made an endpoint (no .runpod/project.json). */
  projectId: string | undefined;
  /** False when the code could not be loaded: `--stale` cannot tell what is gone from it. */
  specsKnown: boolean;
}

const USAGE_HINT = "Name endpoints (flash undeploy live-gpu-worker), or use --stale or --all; `flash endpoints` lists them.";

/** Decides what to delete. @throws AppError INVALID_INPUT / NOT_FOUND / FORBIDDEN, with nothing deleted. */
export function planUndeploy(input: PlanInput): UndeployPlan {
  const { request, listed, rows, projectId } = input;
  const modes = [request.targets.length > 0, request.stale, request.all].filter(Boolean).length;
  if (modes === 0) throw new AppError("INVALID_INPUT", "say which endpoints to remove", { hint: USAGE_HINT });
  if (modes > 1) throw new AppError("INVALID_INPUT", "give endpoint names, --stale or --all, not several of them", { hint: USAGE_HINT });
  const plan: UndeployPlan = { delete: [], forget: [] };
  const planned = new Set<string>();
  const add = (row: { name: string; id: string }, reason: PlannedDeletion["reason"]): void => {
    if (planned.has(row.id)) return;
    planned.add(row.id);
    plan.delete.push({ name: row.name, id: row.id, reason, mine: true });
  };
  const forget = (id: string): void => {
    const entry = input.cached.find((c) => c.id === id);
    if (entry && !plan.forget.includes(entry)) plan.forget.push(entry);
  };

  if (request.all || request.stale) {
    if (request.stale && !input.specsKnown) {
      throw new AppError("FUNCTION_LOAD_FAILED", "--stale needs the project's code to load, to tell which endpoints it no longer has", {
        hint: "Fix the errors above (flash dev shows them too), or name the endpoints to remove.",
      });
    }
    for (const row of rows) {
      if (request.stale && !isStale(row)) continue;
      if (row.onProvider) add(row, request.all ? "all" : "stale");
      else forget(row.id);
    }
    return plan;
  }

  const problems: string[] = [];
  for (const target of request.targets) {
    const byId = listed.find((e) => e.id === target);
    if (byId) {
      const marker = byId.env?.[PROJECT_MARKER_ENV];
      if (projectId !== undefined && marker === projectId) add(byId, "named");
      else if (request.force) {
        planned.add(byId.id);
        plan.delete.push({ name: byId.name, id: byId.id, reason: "forced", mine: false, ...(marker ? { marker } : {}) });
      } else {
        problems.push(
          `${byId.id} (${byId.name}) is not this project's endpoint (${marker ? `it belongs to project ${marker}` : `it has no ${PROJECT_MARKER_ENV} marker`}); ` +
            "add --force to delete it by its id anyway",
        );
      }
      continue;
    }
    const names = new Set([target, `live-${target}`]);
    const ours = rows.filter((r) => names.has(r.name) || r.id === target);
    if (ours.length > 0) {
      for (const row of ours) {
        if (row.onProvider) add(row, "named");
        else forget(row.id);
      }
      continue;
    }
    const others = listed.filter((e) => names.has(e.name));
    if (others.length > 0) {
      problems.push(
        `${others.map((e) => `${e.name} (${e.id})`).join(", ")} ${others.length === 1 ? "is" : "are"} not this project's ` +
          `(no ${PROJECT_MARKER_ENV} marker of this project); only an endpoint named by its id together with --force is deleted`,
      );
      continue;
    }
    problems.push(`no endpoint named or with the id "${target}"${projectId === undefined ? " (this project has not created any: no .runpod/project.json)" : ""}`);
  }
  if (problems.length > 0) {
    const forbidden = problems.some((p) => p.includes("not this project's"));
    throw new AppError(forbidden ? "FORBIDDEN" : "NOT_FOUND", `nothing was deleted: ${problems.join("; ")}`, {
      hint: "`flash endpoints` lists this project's endpoints with their names and ids.",
      details: { problems },
    });
  }
  return plan;
}

/** What happens to one endpoint, as it happens. */
export type UndeployEvent =
  | { kind: "deleting"; entry: PlannedDeletion }
  | { kind: "still-deleting"; entry: PlannedDeletion; ms: number }
  | { kind: "deleted"; entry: PlannedDeletion; ms: number }
  | { kind: "failed"; entry: PlannedDeletion; error: AppError }
  | { kind: "forgotten"; entry: CachedEndpoint };

export interface RunUndeployOptions {
  deleteEndpoint: (id: string) => Promise<void>;
  cache: ResourceCache;
  onEvent: (event: UndeployEvent) => void;
  /** Deletions at once (default 3). */
  concurrency?: number;
  /** After this long a deletion reports that it is still going, and again every as long (default 3 s). */
  progressEveryMs?: number;
  clock?: Clock;
}

export interface UndeployResult {
  deleted: PlannedDeletion[];
  failed: PlannedDeletion[];
  /** Deleted, but the cache could not be updated (the next flash dev finds them gone on the provider). */
  cacheProblems: string[];
}

/** Deletes the plan's endpoints and updates the cache; a failure is reported and the rest go on. */
export async function runUndeploy(plan: UndeployPlan, options: RunUndeployOptions): Promise<UndeployResult> {
  const limit = pLimit(options.concurrency ?? 3);
  const every = options.progressEveryMs ?? 3_000;
  const clock = options.clock ?? systemClock;
  const result: UndeployResult = { deleted: [], failed: [], cacheProblems: [] };
  const dropFromCache = async (entry: { backend?: CachedEndpoint["backend"]; name: string; id: string }): Promise<void> => {
    // Only its own entry: a duplicate shares its name with the endpoint the cache keeps.
    await options.cache.remove(entry.backend ?? "runpod", entry.name, entry.id).catch((error: unknown) => {
      result.cacheProblems.push(`${entry.name} (${entry.id}): ${(error as Error).message}`);
    });
  };
  /** Reports a slow deletion until `done` is aborted. */
  const reportProgress = async (entry: PlannedDeletion, started: number, done: AbortSignal): Promise<void> => {
    for (;;) {
      await clock.sleep(every, done);
      options.onEvent({ kind: "still-deleting", entry, ms: Math.round(clock.now() - started) });
    }
  };
  await Promise.all(
    plan.delete.map((entry) =>
      limit(async () => {
        const started = clock.now();
        options.onEvent({ kind: "deleting", entry });
        const done = new AbortController();
        const progress = reportProgress(entry, started, done.signal).catch(() => {});
        try {
          await options.deleteEndpoint(entry.id);
        } catch (error) {
          result.failed.push(entry);
          options.onEvent({ kind: "failed", entry, error: isAppError(error) ? error : new AppError("UPSTREAM_ERROR", error instanceof Error ? error.message : String(error), { cause: error }) });
          return;
        } finally {
          done.abort();
          await progress;
        }
        result.deleted.push(entry);
        options.onEvent({ kind: "deleted", entry, ms: Math.round(clock.now() - started) });
        await dropFromCache(entry);
      }),
    ),
  );
  for (const entry of plan.forget) {
    await dropFromCache(entry);
    options.onEvent({ kind: "forgotten", entry });
  }
  return result;
}
