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
 */
import type { Agent } from "node:http";
import Koa from "koa";
import type { Context, Next } from "koa";
import { ADMIN_PREFIX, handleAdminRoute } from "./admin-routes.js";
import type { EmulatorContext } from "./emulator-context.js";
import { faultMiddleware } from "./faults.js";
import { HttpError, isHttpError, jobErrorBody, problemBody } from "./http-error.js";
import { isRunpodIdShape } from "./ids.js";
import { handleJobRoute, JOB_OPERATIONS } from "./job-routes.js";
import { proxyLbRequest } from "./lb-proxy.js";
import { handleRestRoute } from "./rest-routes.js";
import { handleWorkerRoute, WORKER_OPERATIONS } from "./worker-routes.js";

type Family = "rest" | "job";

/** Builds the Koa app over the emulator's state; `agent` keeps connections to LB workers. */
export function createEmulatorApp(app: EmulatorContext, agent: Agent): Koa {
  const koa = new Koa();
  // Errors are rendered (and logged when unexpected) by our boundary, not printed by Koa.
  koa.silent = true;
  koa.use(errorBoundary(app));
  koa.use((ctx, next) => (ctx.path.startsWith(ADMIN_PREFIX) ? handleAdminRoute(ctx, app) : next()));
  koa.use(faultMiddleware(app.faults));
  koa.use((ctx) => dispatch(ctx, app, agent));
  return koa;
}

function dispatch(ctx: Context, app: EmulatorContext, agent: Agent): Promise<void> {
  const hostEndpoint = endpointFromHost(ctx.hostname);
  if (hostEndpoint && app.endpoints.get(hostEndpoint)) return proxyLbRequest(ctx, app, agent, hostEndpoint, ctx.url);

  const segments = ctx.path.split("/");
  if (segments[1] === "v2" && segments[2] === "serverless") {
    ctx.state.family = "rest" satisfies Family;
    return handleRestRoute(ctx, app, segments.slice(3));
  }
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

/** `abc…xyz.localhost` → `abc…xyz` when the first label looks like an endpoint id. */
function endpointFromHost(hostname: string): string | undefined {
  const dot = hostname.indexOf(".");
  if (dot <= 0) return undefined;
  const label = hostname.slice(0, dot);
  return isRunpodIdShape(label) ? label : undefined;
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
      } else if (ctx.req.destroyed || !ctx.writable) {
        // The client went away mid-request (e.g. while we read its body): nothing to answer, nothing broken.
        app.logger.debug(`Client left during ${ctx.method} ${ctx.path}: ${(error as Error)?.message ?? String(error)}`);
        return;
      } else {
        app.logger.error(`Emulator error on ${ctx.method} ${ctx.path}: ${(error as Error)?.stack ?? String(error)}`);
      }
      if (ctx.headerSent || !ctx.writable) return;
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
