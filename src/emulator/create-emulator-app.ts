/**
 * The emulator's Koa app (it never listens by itself). One app on one port
 * serves every API, dispatched on the first path segments:
 *
 * - `/__emulator/…`                      admin and test hooks (never faulted)
 * - `Host: {endpointId}.<anything>`      load-balanced request
 * - `/v2/serverless[/{id}[/workers]]`    REST v2 control plane
 * - `/v2/{id}/job-take|…/{worker}[/{job}]` worker protocol
 * - `/v2/{id}/{operation}[/{job}]`       job API
 * - `/lb/{id}/<path>`                    load-balanced request
 *
 * Before any of them, requests from browsers (Sec-Fetch-Site, Origin) and,
 * on a loopback bind, requests naming a non-local Host (DNS rebinding) are
 * refused with 403: the emulator runs shell commands from endpoint `args`,
 * so a web page must never reach it (see request-guard.ts).
 */
import type { Agent } from "node:http";
import Koa from "koa";
import type { Context, Next } from "koa";
import type { ByteBudget } from "../common/byte-budget.js";
import { isAppError } from "../common/errors.js";
import { ADMIN_PREFIX, handleAdminRoute } from "./admin-routes.js";
import type { EmulatorContext } from "./emulator-context.js";
import { faultMiddleware } from "./faults.js";
import { attachBodyBudget } from "./http-body.js";
import { HttpError, isHttpError, jobErrorBody, problemBody } from "./http-error.js";
import { isRunpodIdShape } from "./ids.js";
import { handleJobRoute, JOB_OPERATIONS } from "./job-routes.js";
import { proxyLbRequest } from "./lb-proxy.js";
import { requestGuard } from "./request-guard.js";
import { handleRestRoute } from "./rest-routes.js";
import { handleWorkerRoute, WORKER_OPERATIONS } from "./worker-routes.js";

type Family = "rest" | "job";

/** Options of createEmulatorApp. */
export interface EmulatorAppOptions {
  /** Refuse requests whose Host is not a local name (the emulator listens on loopback only). */
  checkHost: boolean;
  /** Request bodies in flight, across every route (docs/limits.md, Memory bounds). */
  bodyBudget: ByteBudget;
}

/** Builds the Koa app over the emulator's state; `agent` keeps connections to LB workers. */
export function createEmulatorApp(app: EmulatorContext, agent: Agent, options: EmulatorAppOptions): Koa {
  const koa = new Koa();
  // Errors are rendered (and logged when unexpected) by our boundary, not printed by Koa.
  koa.silent = true;
  koa.use(errorBoundary(app));
  koa.use((ctx, next) => {
    attachBodyBudget(ctx.req, ctx.res, options.bodyBudget);
    return next();
  });
  // Decided up front so that even the guard's refusals come in the shape of the API asked.
  koa.use((ctx, next) => {
    ctx.state.family = familyOf(ctx, app);
    return next();
  });
  // First of all: nothing (not admin, not faults) runs for a browser or a rebound Host.
  koa.use(requestGuard({ checkHost: options.checkHost }));
  koa.use((ctx, next) => (ctx.path.startsWith(ADMIN_PREFIX) ? handleAdminRoute(ctx, app) : next()));
  koa.use(faultMiddleware(app.faults));
  koa.use((ctx) => dispatch(ctx, app, agent));
  return koa;
}

function dispatch(ctx: Context, app: EmulatorContext, agent: Agent): Promise<void> {
  const hostEndpoint = lbHostEndpoint(ctx, app);
  if (hostEndpoint) return proxyLbRequest(ctx, app, agent, hostEndpoint, ctx.url);

  const segments = ctx.path.split("/");
  if (segments[1] === "v2" && segments[2] === "serverless") return handleRestRoute(ctx, app, segments.slice(3));
  if (segments[1] === "v2" && segments[2]) {
    const [endpointId, op, a, b, ...extra] = segments.slice(2) as [string, string | undefined, string | undefined, string | undefined, ...string[]];
    if (op && extra.length === 0) {
      if (WORKER_OPERATIONS.has(op)) return handleWorkerRoute(ctx, app, endpointId, op, nonEmpty(a), nonEmpty(b));
      if (JOB_OPERATIONS.has(op) && b === undefined) return handleJobRoute(ctx, app, endpointId, op, nonEmpty(a));
    }
  }
  if (segments[1] === "lb" && segments[2]) {
    const prefix = `/lb/${segments[2]}`;
    const rest = ctx.url.slice(prefix.length);
    return proxyLbRequest(ctx, app, agent, segments[2], rest.startsWith("/") ? rest : `/${rest}`);
  }
  throw new HttpError(404, `route not found: ${ctx.method} ${ctx.path}`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** REST v2 answers problem JSON; everything else (job API, workers, LB, admin) the job API's error shape. */
function familyOf(ctx: Context, app: EmulatorContext): Family {
  if (lbHostEndpoint(ctx, app)) return "job";
  const segments = ctx.path.split("/");
  return segments[1] === "v2" && segments[2] === "serverless" ? "rest" : "job";
}

/** `Host: abc…xyz.localhost` → `abc…xyz` when the first label is the id of an existing endpoint. */
function lbHostEndpoint(ctx: Context, app: EmulatorContext): string | undefined {
  const hostname = ctx.hostname;
  const dot = hostname.indexOf(".");
  if (dot <= 0) return undefined;
  const label = hostname.slice(0, dot);
  return isRunpodIdShape(label) && app.endpoints.get(label) ? label : undefined;
}

/** Renders errors in the shape of the API the request belongs to; never lets one escape. */
function errorBoundary(app: EmulatorContext) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } catch (error) {
      let status = 500;
      let message = "internal emulator error";
      let errors: string[] | undefined;
      if (isHttpError(error)) {
        status = error.status;
        message = error.message;
        errors = error.errors;
      } else if ((isAppError(error) && error.details?.clientClosed === true) || ctx.req.socket?.destroyed === true || !ctx.writable) {
        // The client went away mid-request (e.g. while we read its body): nothing to answer, nothing broken.
        app.logger.debug(`Client left during ${ctx.method} ${ctx.path}: ${(error as Error)?.message ?? String(error)}`);
        return;
      } else {
        app.logger.error(`Emulator error on ${ctx.method} ${ctx.path}: ${(error as Error)?.stack ?? String(error)}`);
      }
      if (ctx.headerSent || !ctx.writable) return;
      // Set here, after the checks above, so it survives into the error answer.
      if (isHttpError(error) && error.closeConnection) ctx.set("Connection", "close");
      if (isHttpError(error) && error.retryAfterSeconds !== undefined) ctx.set("Retry-After", String(error.retryAfterSeconds));
      ctx.status = status;
      if ((ctx.state.family as Family | undefined) === "rest") {
        ctx.body = JSON.stringify(problemBody(status, message, errors));
        ctx.type = "application/problem+json";
      } else {
        ctx.body = jobErrorBody(status, message);
      }
    }
  };
}
