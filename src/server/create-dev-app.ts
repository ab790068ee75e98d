/**
 * The dev server's Koa app. It never listens (see start-http-server.ts):
 * the app, the HTTP server and the port are separate so tests and the dev
 * loop can each own what they need.
 *
 * Middleware order matters:
 *   1. error boundary (request id, abort signal, every error → JSON)
 *   2. request log (one line when the response is done)
 *   3. built-in routes (/, /ping, /docs, /openapi.json, docs assets, the
 *      event stream) on @koa/router
 *   4. function routes of the current generation (answers everything else)
 */
import Router from "@koa/router";
import Koa from "koa";
import type { Middleware } from "koa";
import { ByteBudget } from "../common/byte-budget.js";
import { MAX_JSON_DEPTH } from "../common/body-limits.js";
import { AppError, hasCode, isAppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { readPackageVersion } from "../common/package-info.js";
import { sendJson, toJsonText } from "./dev-context.js";
import type { DevContext, DevState } from "./dev-context.js";
import { DEFAULT_DOCS_DIR, DOCS_ASSET_PREFIX, isDocsAsset, sendDocsAsset } from "./docs.js";
import { errorBoundary } from "./error-boundary.js";
import { EVENTS_PATH } from "./event-stream.js";
import type { EventStream } from "./event-stream.js";
import { hostGuard, originGuard } from "./host-guard.js";
import { allowHeader, functionRoutes } from "./function-routes.js";
import { NO_SCHEMAS } from "./function-schemas.js";
import type { GenerationSchemas, SchemaSource } from "./function-schemas.js";
import type { FunctionInvoker } from "./invoker.js";
import { buildOpenApiDocument } from "./openapi.js";
import { requestLog } from "./request-log.js";
import type { RequestLogSink } from "./request-log.js";
import { BUILT_IN_PATHS, BUILT_IN_PREFIXES } from "./route-generation.js";
import type { RouteGeneration } from "./route-generation.js";
import { splitPath } from "./route-matcher.js";
import type { RouteTable } from "./route-table.js";
import { formatIssue } from "./route-table.js";

/** The default request body limit: 10 MB. */
export const DEFAULT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;
/** The default budget of request bodies held at once (docs/limits.md, Memory bounds): 64 MB. */
export const DEFAULT_BODY_MEMORY_BYTES = 64 * 1024 * 1024;

/** Options of {@link createDevApp}. */
export interface DevAppOptions {
  /** The swappable routes; the dev loop reloads them. */
  routes: RouteTable;
  /** Runs functions (the dev backend, or a fake in tests). */
  invoker: FunctionInvoker;
  /** Request lines and internal errors go here. */
  logger: Logger;
  /**
   * Largest accepted request body.
   * @default DEFAULT_BODY_LIMIT_BYTES (10 MB)
   */
  bodyLimitBytes?: number;
  /**
   * Bytes of request bodies held at once, by all requests together; a body
   * that does not fit is answered 503 with Retry-After (never read).
   * @default DEFAULT_BODY_MEMORY_BYTES (64 MB)
   */
  bodyMemoryBytes?: number;
  /**
   * Deepest accepted JSON nesting.
   * @default 512
   */
  maxJsonDepth?: number;
  /**
   * The OpenAPI title shown on /docs.
   * @default "Flash Dev Server"
   */
  title?: string;
  /** Receives each finished request instead of the default console line. */
  onRequestLog?: RequestLogSink;
  /**
   * Folder of the /docs page assets.
   * @default `<package root>/assets/docs`
   */
  docsDir?: string;
  /**
   * Host names accepted besides localhost, `*.localhost` and IP literals
   * (see host-guard.ts): exact names, `.suffix` entries, or `*`.
   * @default []
   */
  allowedHosts?: readonly string[];
  /**
   * Origins whose pages may call function routes (normalised, see
   * host-guard.ts); the server's own pages always may.
   * @default []
   */
  allowedOrigins?: readonly string[];
  /**
   * Served at `GET /__flash/events` (server-sent events: /docs redraws on
   * them). Absent: that path answers 404.
   */
  eventStream?: EventStream;
  /**
   * The type schemas of each generation: /openapi.json documents them and
   * requests are checked against them (422 INVALID_INPUT) once ready.
   * Absent: untyped, unvalidated.
   */
  schemas?: SchemaSource;
}

type Handler = (ctx: DevContext) => Promise<void> | void;

/**
 * The one `app.on("error")` handler. Bugs (non-AppErrors, INTERNAL) are
 * logged with their stack; system AppErrors (an outage, a reload that
 * timed out) with their message and cause, the stack only at debug level,
 * since it points into flash-ts rather than at anything the user can fix.
 */
function logAppError(logger: Logger, err: unknown, ctx: DevContext | undefined): void {
  // The boundary never reports errors of a request whose client left; what arrives here for one
  // is Koa noticing the broken connection (a body cut off mid-way): worth a debug line, no more.
  if (ctx && (ctx.state.clientGone || ctx.req.socket?.destroyed === true)) {
    logger.debug(`Client left during ${ctx.method} ${ctx.path} (request ${ctx.state.requestId}): ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  const where = ctx ? ` on ${ctx.method} ${ctx.path} (request ${ctx.state.requestId})` : "";
  const stackOf = (e: unknown): string => (e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
  const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
  const bug = !isAppError(err) || err.code === "INTERNAL";
  const verbose = bug || logger.level === "debug";
  let text = isAppError(err) ? `${err.code}${where}: ${verbose ? stackOf(err) : err.message}` : `Internal error${where}: ${stackOf(err)}`;
  if (err instanceof Error && err.cause !== undefined) text += `\nCaused by: ${verbose ? stackOf(err.cause) : messageOf(err.cause)}`;
  logger.error(text);
}

/** Builds the dev server app (it does not listen). */
export function createDevApp(options: DevAppOptions): Koa<DevState> {
  const { routes, logger } = options;
  const docsDir = options.docsDir ?? DEFAULT_DOCS_DIR;
  const version = readPackageVersion();
  const schemaSource = options.schemas;
  // One document per generation and state of its schemas (ready schemas are one object per generation).
  const openApiCache = new WeakMap<RouteGeneration, { schemas: GenerationSchemas; text: string }>();
  const sameSchemas = (a: GenerationSchemas, b: GenerationSchemas): boolean => (a.status === "ready" ? a === b : a.status === b.status);

  const openApiText = (generation: RouteGeneration | undefined): string => {
    const schemas = generation ? (schemaSource ?? NO_SCHEMAS).forGeneration(generation) : undefined;
    const cached = generation && openApiCache.get(generation);
    if (cached && schemas && sameSchemas(cached.schemas, schemas)) return cached.text;
    // Without a source the document says nothing about schemas (a server that has none).
    const doc = buildOpenApiDocument(generation, { title: options.title, version, ...(schemas && schemaSource ? { schemas } : {}) });
    const text = toJsonText(doc);
    if (generation && schemas) openApiCache.set(generation, { schemas, text });
    return text;
  };

  const openApi: Handler = async (ctx) => {
    // Wait for a running reload so the page shows the routes about to be
    // served; past the bound, show what is served now rather than fail.
    try {
      await routes.waitForReload(ctx.state.signal);
    } catch (err) {
      if (!hasCode(err, "RELOAD_TIMEOUT")) throw err;
    }
    let text = openApiText(routes.current);
    const failure = routes.lastFailure;
    if (failure) {
      // The failure is reported on top of whatever generation is served.
      const doc = JSON.parse(text) as Record<string, unknown>;
      doc["x-flash-reload-error"] = {
        message: isAppError(failure.error) || failure.error instanceof Error ? failure.error.message : String(failure.error),
        issues: failure.issues.map(formatIssue),
        at: failure.at.toISOString(),
      };
      text = toJsonText(doc);
    }
    ctx.status = 200;
    ctx.type = "application/json; charset=utf-8";
    ctx.set("Cache-Control", "no-cache");
    ctx.body = text;
  };

  // The built-in routes are fixed, so @koa/router serves them (GET, and HEAD
  // with it). Function routes come from file names and change on every
  // reload: they are matched by the route generation instead (route-matcher.ts).
  const router = new Router<DevState>();
  router.get("/", (ctx) => sendJson(ctx, 200, { message: "Flash Dev Server", docs: "/docs" }));
  router.get("/ping", (ctx) => sendJson(ctx, 200, { status: "healthy" }));
  router.get("/docs", (ctx) => sendDocsAsset(ctx, docsDir, "index.html"));
  router.get("/openapi.json", openApi);
  router.get(`${DOCS_ASSET_PREFIX}:name`, (ctx, next) => (isDocsAsset(ctx.params.name ?? "") ? sendDocsAsset(ctx, docsDir, ctx.params.name!) : next()));

  const builtInPaths = new Set<string>([...BUILT_IN_PATHS, ...(options.eventStream ? [EVENTS_PATH] : [])]);
  // Built-in paths with another method (405, or OPTIONS), and unknown paths under
  // the built-in prefixes (404): never handed to the function routes.
  const builtInMethods: Middleware<DevState> = async (ctx, next) => {
    const path = "/" + splitPath(ctx.path).join("/");
    const isAsset = path.startsWith(DOCS_ASSET_PREFIX) && isDocsAsset(path.slice(DOCS_ASSET_PREFIX.length));
    if (!builtInPaths.has(path) && !isAsset) {
      if (BUILT_IN_PREFIXES.some((prefix) => path.startsWith(prefix))) throw new AppError("ROUTE_NOT_FOUND", `No route matches ${ctx.method} ${ctx.path}`);
      return next();
    }
    const allow = allowHeader(["GET"]);
    if (ctx.method === "OPTIONS") {
      ctx.set("Allow", [...allow, "OPTIONS"].join(", "));
      ctx.status = 204;
      return;
    }
    throw new AppError("METHOD_NOT_ALLOWED", `${ctx.method} is not allowed on ${ctx.path}`, { hint: "Use GET.", details: { allow } });
  };

  const eventStream = options.eventStream;
  // Streams are capped: a page on another site must not take the ones open /docs pages need.
  if (eventStream) router.get(EVENTS_PATH, originGuard(options.allowedOrigins ?? []), (ctx) => eventStream.handle(ctx));

  const app = new Koa<DevState>();
  app.on("error", (err: unknown, ctx?: DevContext) => logAppError(logger, err, ctx));
  app.use(errorBoundary());
  app.use(hostGuard(options.allowedHosts ?? []));
  app.use(requestLog({ logger, ...(options.onRequestLog ? { onRequestLog: options.onRequestLog } : {}) }));
  app.use(router.routes());
  app.use(builtInMethods);
  // Function routes spend money (GPU time): browsers only from our own pages or allowed origins.
  app.use(originGuard(options.allowedOrigins ?? []));
  app.use(
    functionRoutes({
      routes,
      invoker: options.invoker,
      bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
      bodyBudget: new ByteBudget(options.bodyMemoryBytes ?? DEFAULT_BODY_MEMORY_BYTES),
      maxJsonDepth: options.maxJsonDepth ?? MAX_JSON_DEPTH,
      ...(schemaSource ? { schemas: schemaSource } : {}),
    }),
  );
  return app;
}
