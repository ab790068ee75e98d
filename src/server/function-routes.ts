/**
 * Serves the function routes of the current generation: route lookup (404 /
 * 405), input derivation, the input checked against the function's type
 * (422), the invoker call and the response.
 */
import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";
import type { ByteBudget } from "../common/byte-budget.js";
import { AppError } from "../common/errors.js";
import type { DevContext, DevState } from "./dev-context.js";
import { toJsonText } from "./dev-context.js";
import type { FunctionInvoker } from "./invoker.js";
import type { RouteGeneration } from "./route-generation.js";
import type { RouteTable } from "./route-table.js";
import { formatIssue } from "./route-table.js";
import type { SchemaSource } from "./function-schemas.js";
import { NO_SCHEMAS } from "./function-schemas.js";
import { readLbRequest, readQbRequest } from "./request-input.js";
import { checkInput } from "./typed-input.js";

/** Options of {@link functionRoutes}. */
export interface FunctionRoutesOptions {
  routes: RouteTable;
  invoker: FunctionInvoker;
  bodyLimitBytes: number;
  /** Request bodies held at once, shared by all requests. */
  bodyBudget: ByteBudget;
  maxJsonDepth: number;
  /** The type schemas of each generation: requests are checked against their function's parameter type once they are ready. */
  schemas?: SchemaSource;
}

/** The `Allow` header value for a list of route methods (GET implies HEAD). */
export function allowHeader(methods: readonly string[]): string[] {
  const out: string[] = [];
  for (const m of methods) {
    out.push(m);
    if (m === "GET") out.push("HEAD");
  }
  return out;
}

function notFound(method: string, path: string, generation: RouteGeneration): AppError {
  const broken = generation.issues.filter((i) => i.code === "FUNCTION_LOAD_FAILED");
  const hint =
    broken.length > 0
      ? `Some files failed to load, so their routes are missing: ${broken.slice(0, 3).map(formatIssue).join("; ")}${broken.length > 3 ? "; …" : ""}`
      : "GET /docs lists the routes this server serves.";
  return new AppError("ROUTE_NOT_FOUND", `No route matches ${method} ${path}`, { hint });
}

/** Renders a function result; undefined from an LB function is 204 No Content. */
function respond(ctx: DevContext, kind: "QB" | "LB", output: unknown, jobId: string | undefined): void {
  const body = kind === "QB" ? { id: jobId ?? randomUUID(), status: "COMPLETED", output: output === undefined ? null : output } : output;
  if (kind === "LB" && output === undefined) {
    ctx.status = 204;
    return;
  }
  let text: string;
  try {
    text = toJsonText(body);
  } catch (err) {
    // A local function can return a value with a cycle or a function in it.
    throw new AppError("FUNCTION_ERROR", `The function's return value cannot be sent as JSON: ${err instanceof Error ? err.message : String(err)}`, {
      hint: "Return plain data (objects, arrays, strings, numbers, booleans, null).",
      cause: err,
    });
  }
  ctx.status = 200;
  ctx.type = "application/json; charset=utf-8";
  ctx.body = text;
}

/** The middleware serving function routes; it answers every request that reaches it. */
export function functionRoutes(options: FunctionRoutesOptions): Middleware<DevState> {
  const bodyOptions = { limit: options.bodyLimitBytes, maxDepth: options.maxJsonDepth, budget: options.bodyBudget };
  const schemas = options.schemas ?? NO_SCHEMAS;
  return async (ctx) => {
    const signal = ctx.state.signal;
    // Waits only for reloads that may change this path's routes.
    const generation = await options.routes.acquire(signal, ctx.path);
    const found = generation.lookup(ctx.method, ctx.path);
    if (found.kind === "not-found") throw notFound(ctx.method, ctx.path, generation);
    if (found.kind === "method-not-allowed") {
      const allow = allowHeader(found.allow);
      if (ctx.method === "OPTIONS") {
        ctx.set("Allow", [...allow, "OPTIONS"].join(", "));
        ctx.status = 204;
        return;
      }
      throw new AppError("METHOD_NOT_ALLOWED", `${ctx.method} is not allowed on ${ctx.path}`, {
        hint: `Use ${allow.join(" or ")}.`,
        details: { allow },
      });
    }
    const { route } = found.route;
    ctx.state.endpointName = route.endpointName;
    // The body's bytes count against the budget until the response is done (the input lives that long).
    const readOptions = { ...bodyOptions, heldUntil: ctx.res };
    const read =
      route.kind === "QB"
        ? await readQbRequest(ctx.req, readOptions)
        : await readLbRequest(ctx.req, route.method, ctx.querystring, found.params, readOptions);
    // The schemas of the generation this request was routed on, as they are now (ready, or not yet).
    const input = checkInput(schemas.forGeneration(generation), route, read);
    // Errors propagate as they are: the invoker throws AppErrors by contract,
    // and anything else is a bug the boundary turns into 500 INTERNAL.
    const result = await options.invoker.invoke(route.entry, input, {
      signal,
      requestId: ctx.state.requestId,
      manifest: generation.manifest,
    });
    respond(ctx, route.kind, result.output, result.jobId);
  };
}
