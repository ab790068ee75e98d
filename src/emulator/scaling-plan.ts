/**
 * The scaling decision, as a pure function of what an endpoint has and needs.
 *
 * - Keep `workers.min` (fresh) workers.
 * - Queue endpoints: start a worker for each waiting job that no idle or
 *   booting worker can take (one job per worker).
 * - Load-balanced endpoints (REQUEST_COUNT): aim for ceil(requests /
 *   requestCount) workers, counting in-flight and waiting requests.
 * - Never more than `workers.max` processes, counting out-of-date ones still
 *   busy; with max 0 nothing starts and jobs stay queued.
 * - Out-of-date (stale) workers are stopped as soon as they are idle; workers
 *   above max (after max was lowered) likewise, booting ones first.
 * Idle-timeout scale-down is timer-driven and lives in the worker pool.
 */

/** What the plan needs to know about one worker. */
export interface ScalingWorkerView {
  id: string;
  phase: "initializing" | "ready" | "unhealthy";
  busy: boolean;
  /** Started from an older endpoint version (image/args/env changed since). */
  stale: boolean;
}

/** An endpoint's settings, workers and demand. */
export interface ScalingInput {
  min: number;
  max: number;
  /** Running worker processes that are not being stopped. */
  workers: readonly ScalingWorkerView[];
  /** Queue: jobs waiting. Load-balanced: requests waiting for a ready worker. */
  waiting: number;
  /** Load-balanced endpoints only. */
  lb?: { inFlight: number; requestCount: number };
}

/** How many workers to start, and which to stop. */
export interface ScalingPlan {
  start: number;
  stop: string[];
}

/** Decides starts and stops for one endpoint (see the rules above). */
export function planScaling(input: ScalingInput): ScalingPlan {
  const stop: string[] = [];
  const live: ScalingWorkerView[] = [];
  for (const w of input.workers) {
    if (w.stale && !w.busy) stop.push(w.id);
    else live.push(w);
  }
  const fresh = live.filter((w) => !w.stale);
  const usable = fresh.filter((w) => w.phase !== "unhealthy");

  let need: number;
  if (input.lb) {
    const load = input.lb.inFlight + input.waiting;
    const desired = load === 0 ? 0 : Math.ceil(load / Math.max(1, input.lb.requestCount));
    need = desired - usable.length;
  } else {
    const spare = usable.filter((w) => !w.busy).length;
    need = input.waiting - spare;
  }
  const minShortfall = input.min - usable.length;
  const room = input.max - live.length;
  const start = Math.max(0, Math.min(Math.max(need, minShortfall), room));

  let excess = live.length - input.max;
  if (excess > 0) {
    const idle = live.filter((w) => !w.busy).sort((a, b) => rank(a) - rank(b));
    for (const w of idle) {
      if (excess <= 0) break;
      stop.push(w.id);
      excess--;
    }
  }
  return { start, stop };
}

/** Which idle workers to stop first when over max: booting ones, then unhealthy, then ready ones. */
function rank(w: ScalingWorkerView): number {
  return w.phase === "initializing" ? 0 : w.phase === "unhealthy" ? 1 : 2;
}
