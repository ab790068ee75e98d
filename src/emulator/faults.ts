/**
 * Fault injection for tests: latency, error responses and dropped
 * connections on chosen routes. A rule matches `"<METHOD> <path>"` (query
 * excluded) against a regular expression; the first live matching rule wins.
 * Used through `handle.faults` and the `/__emulator/faults` admin routes;
 * admin routes themselves are never faulted, so a test can always clear.
 */
import type { Context, Next } from "koa";
import { HttpError } from "./http-error.js";
import { isRecord } from "../shared/is-record.js";

/** What to do to matching requests. */
export interface FaultRule {
  /** Regular expression matched against `"<METHOD> <path>"`, e.g. `"^POST /v2/[^/]+/runsync$"`. */
  route: string;
  /** Delay before the request is handled (or failed, or dropped). */
  latencyMs?: number;
  /** Answer with this status instead of handling the request. */
  status?: number;
  /** Body of that answer (JSON); default `{"error": "injected fault", "status": <status>}`. */
  body?: unknown;
  /** Destroy the socket instead of answering. */
  drop?: boolean;
  /** How many requests the rule applies to; unlimited when absent. */
  times?: number;
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

/** The fault registry plus the matcher the middleware uses. */
export interface FaultRegistry extends Faults {
  /** The rule to apply to this request, counting the hit; undefined when none matches. */
  take(method: string, path: string): ActiveFault | undefined;
}

/** Checks a rule from untrusted input (the admin route); throws a 400 HttpError. */
export function validateFaultRule(value: unknown): FaultRule {
  if (!isRecord(value)) throw new HttpError(400, "a fault rule must be a JSON object");
  const { route, latencyMs, status, body, drop, times } = value;
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

/** An empty fault registry. */
export function createFaultRegistry(): FaultRegistry {
  const rules: { fault: ActiveFault; pattern: RegExp }[] = [];
  let next = 1;

  const remove = (id: string): boolean => {
    const index = rules.findIndex((r) => r.fault.id === id);
    if (index < 0) return false;
    rules.splice(index, 1);
    return true;
  };

  return {
    add(rule) {
      const valid = validateFaultRule(rule);
      const fault: ActiveFault = { ...valid, id: `fault-${next++}`, hits: 0 };
      rules.push({ fault, pattern: new RegExp(valid.route) });
      return fault;
    },
    remove,
    clear() {
      const count = rules.length;
      rules.length = 0;
      return count;
    },
    list: () => rules.map((r) => ({ ...r.fault })),
    take(method, path) {
      if (rules.length === 0) return undefined;
      const subject = `${method} ${path}`;
      for (const { fault, pattern } of rules) {
        if (!pattern.test(subject)) continue;
        fault.hits++;
        if (fault.times !== undefined && fault.hits >= fault.times) remove(fault.id);
        return fault;
      }
      return undefined;
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
