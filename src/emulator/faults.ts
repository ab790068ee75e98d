/**
 * Fault injection for tests, used through `handle.faults` and the
 * `/__emulator/faults` admin routes (docs/internals.md, "The emulator"):
 *
 * - route faults: latency, error responses and dropped connections. A rule
 *   matches `"<METHOD> <path>"` (query excluded) against a regular
 *   expression; the first live matching rule wins. Admin routes themselves
 *   are never faulted, so a test can always clear;
 * - worker faults of one endpoint (by name or id): a cold start of a given
 *   length, a slow image pull, or no capacity at all (throttled: its workers
 *   cannot start and `/health` counts them as throttled). The worker pool
 *   asks for them when it starts a worker and plans again when they change.
 */
import type { Context, Next } from "koa";
import { HttpError } from "./http-error.js";
import { isRecord } from "../common/is-record.js";

/** What to do to matching requests (`route`), or to the workers of an endpoint (`endpoint`). */
export interface FaultRule {
  /** Regular expression matched against `"<METHOD> <path>"`, e.g. `"^POST /v2/[^/]+/runsync$"`. */
  route?: string;
  /** Delay before the request is handled (or failed, or dropped). */
  latencyMs?: number;
  /** Answer with this status instead of handling the request. */
  status?: number;
  /** Body of that answer (JSON); default `{"error": "injected fault", "status": <status>}`. */
  body?: unknown;
  /** Destroy the socket instead of answering. */
  drop?: boolean;
  /** How many requests (worker starts, for coldStartMs and imagePullMs) the rule applies to; unlimited when absent. */
  times?: number;
  /** Worker faults: the endpoint's name or id. */
  endpoint?: string;
  /** Each worker start stays initializing this long before its process (or container) starts: a cold start. */
  coldStartMs?: number;
  /** Each worker start first "pulls" the endpoint's image for this long (logged as a pull). */
  imagePullMs?: number;
  /** No capacity: the endpoint's workers cannot start, and `/health` counts the wanted ones as throttled. */
  throttled?: boolean;
}

/** What the worker faults of an endpoint add to one worker start. */
export interface WorkerStartFaults {
  coldStartMs: number;
  imagePullMs: number;
}

/** A rule as installed. */
export interface ActiveFault extends FaultRule {
  id: string;
  /** Requests the rule has been applied to so far. */
  hits: number;
}

/** The programmatic fault handle (`handle.faults`). */
export interface Faults {
  add(rule: FaultRule): ActiveFault;
  remove(id: string): boolean;
  /** Removes every rule; returns how many there were. */
  clear(): number;
  list(): ActiveFault[];
}

/** The fault registry plus the matchers the middleware and the worker pool use. */
export interface FaultRegistry extends Faults {
  /** The rule to apply to this request, counting the hit; undefined when none matches. */
  take(method: string, path: string): ActiveFault | undefined;
  /** The delays of one worker start of this endpoint, counting it against the rules' `times`. */
  takeWorkerStart(endpoint: { id: string; name: string }): WorkerStartFaults;
  /** Whether this endpoint has no capacity now. */
  isThrottled(endpoint: { id: string; name: string }): boolean;
  /** Calls `listener` after every change of the rules (added, removed, used up, cleared). */
  onChange(listener: () => void): void;
}

function checkMs(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new HttpError(400, `fault rule: ${name} must be a number >= 0`);
  return value;
}

/** Checks a rule from untrusted input (the admin route); throws a 400 HttpError. */
export function validateFaultRule(value: unknown): FaultRule {
  if (!isRecord(value)) throw new HttpError(400, "a fault rule must be a JSON object");
  const { route, latencyMs, status, body, drop, times, endpoint, coldStartMs, imagePullMs, throttled } = value;
  const routeEffects = latencyMs !== undefined || status !== undefined || body !== undefined || drop !== undefined;
  const workerEffects = coldStartMs !== undefined || imagePullMs !== undefined || throttled !== undefined;
  if ((endpoint !== undefined || workerEffects) && (route !== undefined || routeEffects)) {
    throw new HttpError(400, "fault rule: give either a route with latencyMs/status/drop, or an endpoint with coldStartMs/imagePullMs/throttled");
  }
  if (endpoint !== undefined || workerEffects) return validateWorkerFault(endpoint, coldStartMs, imagePullMs, throttled, times);
  if (typeof route !== "string" || route === "") throw new HttpError(400, "fault rule: route must be a non-empty regular expression string");
  try {
    new RegExp(route);
  } catch (error) {
    throw new HttpError(400, `fault rule: invalid route pattern: ${(error as Error).message}`);
  }
  const rule: FaultRule = { route };
  if (latencyMs !== undefined) {
    if (typeof latencyMs !== "number" || !Number.isFinite(latencyMs) || latencyMs < 0) throw new HttpError(400, "fault rule: latencyMs must be a number >= 0");
    rule.latencyMs = latencyMs;
  }
  if (status !== undefined) {
    if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) throw new HttpError(400, "fault rule: status must be an HTTP status code");
    rule.status = status;
  }
  if (body !== undefined) rule.body = body;
  if (drop !== undefined) {
    if (typeof drop !== "boolean") throw new HttpError(400, "fault rule: drop must be a boolean");
    rule.drop = drop;
  }
  if (times !== undefined) {
    if (typeof times !== "number" || !Number.isInteger(times) || times < 1) throw new HttpError(400, "fault rule: times must be an integer >= 1");
    rule.times = times;
  }
  if (rule.latencyMs === undefined && rule.status === undefined && !rule.drop) {
    throw new HttpError(400, "fault rule: give at least one of latencyMs, status or drop");
  }
  return rule;
}

function validateWorkerFault(endpoint: unknown, coldStartMs: unknown, imagePullMs: unknown, throttled: unknown, times: unknown): FaultRule {
  if (typeof endpoint !== "string" || endpoint === "") throw new HttpError(400, "fault rule: endpoint must be an endpoint's name or id");
  const rule: FaultRule = { endpoint };
  const cold = checkMs(coldStartMs, "coldStartMs");
  if (cold !== undefined) rule.coldStartMs = cold;
  const pull = checkMs(imagePullMs, "imagePullMs");
  if (pull !== undefined) rule.imagePullMs = pull;
  if (throttled !== undefined) {
    if (typeof throttled !== "boolean") throw new HttpError(400, "fault rule: throttled must be a boolean");
    rule.throttled = throttled;
  }
  if (rule.coldStartMs === undefined && rule.imagePullMs === undefined && !rule.throttled) {
    throw new HttpError(400, "fault rule: give at least one of coldStartMs, imagePullMs or throttled");
  }
  if (times !== undefined) {
    // Throttling lasts until the rule is removed: it has no starts to count.
    if (rule.throttled) throw new HttpError(400, "fault rule: times does not apply to throttled (remove the rule to end it)");
    if (typeof times !== "number" || !Number.isInteger(times) || times < 1) throw new HttpError(400, "fault rule: times must be an integer >= 1");
    rule.times = times;
  }
  return rule;
}

/** An empty fault registry. */
export function createFaultRegistry(): FaultRegistry {
  const rules: { fault: ActiveFault; pattern: RegExp | undefined }[] = [];
  const listeners: (() => void)[] = [];
  let next = 1;

  const changed = (): void => {
    for (const listener of listeners) listener();
  };
  const remove = (id: string): boolean => {
    const index = rules.findIndex((r) => r.fault.id === id);
    if (index < 0) return false;
    rules.splice(index, 1);
    changed();
    return true;
  };
  const used = (fault: ActiveFault): void => {
    fault.hits++;
    if (fault.times !== undefined && fault.hits >= fault.times) remove(fault.id);
  };
  const ofEndpoint = (endpoint: { id: string; name: string }): ActiveFault[] =>
    rules.map((r) => r.fault).filter((f) => f.endpoint !== undefined && (f.endpoint === endpoint.id || f.endpoint === endpoint.name));

  return {
    add(rule) {
      const valid = validateFaultRule(rule);
      const fault: ActiveFault = { ...valid, id: `fault-${next++}`, hits: 0 };
      rules.push({ fault, pattern: valid.route !== undefined ? new RegExp(valid.route) : undefined });
      changed();
      return fault;
    },
    remove,
    clear() {
      const count = rules.length;
      rules.length = 0;
      if (count > 0) changed();
      return count;
    },
    list: () => rules.map((r) => ({ ...r.fault })),
    take(method, path) {
      if (rules.length === 0) return undefined;
      const subject = `${method} ${path}`;
      for (const { fault, pattern } of rules) {
        if (!pattern?.test(subject)) continue;
        used(fault);
        return fault;
      }
      return undefined;
    },
    takeWorkerStart(endpoint) {
      const out: WorkerStartFaults = { coldStartMs: 0, imagePullMs: 0 };
      if (rules.length === 0) return out;
      for (const fault of ofEndpoint(endpoint)) {
        if (fault.coldStartMs === undefined && fault.imagePullMs === undefined) continue;
        out.coldStartMs = Math.max(out.coldStartMs, fault.coldStartMs ?? 0);
        out.imagePullMs = Math.max(out.imagePullMs, fault.imagePullMs ?? 0);
        used(fault);
      }
      return out;
    },
    isThrottled: (endpoint) => rules.length > 0 && ofEndpoint(endpoint).some((f) => f.throttled === true),
    onChange(listener) {
      listeners.push(listener);
    },
  };
}

/** Koa middleware applying the registry's rules before anything else handles the request. */
export function faultMiddleware(registry: FaultRegistry) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const fault = registry.take(ctx.method, ctx.path);
    if (!fault) return next();
    if (fault.latencyMs) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
    if (fault.drop) {
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    }
    if (fault.status !== undefined) {
      ctx.status = fault.status;
      ctx.body = fault.body ?? { error: "injected fault", status: fault.status };
      return;
    }
    return next();
  };
}
