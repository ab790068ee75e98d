/** The dev server: Koa app factory, swappable route table, listener, banner. */
export { createDevApp, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_BODY_MEMORY_BYTES } from "./create-dev-app.js";
export type { DevAppOptions } from "./create-dev-app.js";
export type { DevState, DevContext } from "./dev-context.js";
export type { FunctionInvoker, InvokeContext, InvokeResult } from "./invoker.js";
export { RouteTable, formatIssue } from "./route-table.js";
export type { ReloadFailure, ReloadOutcome, RouteTableOptions, SwapListener } from "./route-table.js";
export { createRouteGeneration, BUILT_IN_PATHS, BUILT_IN_PREFIXES } from "./route-generation.js";
export type { CompiledRoute, RouteGeneration, RouteGenerationOptions, RouteInfo, RouteLookup } from "./route-generation.js";
export { startHttpServer, findFreePort } from "./start-http-server.js";
export type { FreePort, HttpServerOptions, StartedHttpServer } from "./start-http-server.js";
export { formatRouteTable } from "./route-banner.js";
export { formatRequestLine, logRequest } from "./request-log.js";
export type { RequestLogRecord, RequestLogSink } from "./request-log.js";
export { buildOpenApiDocument } from "./openapi.js";
export type { OpenApiObject, OpenApiOptions } from "./openapi.js";
export { hostGuard, isAllowedHost, originGuard, parseAllowedHosts, parseAllowedOrigins } from "./host-guard.js";
export { createEventStream, EVENTS_PATH } from "./event-stream.js";
export type { EventStream, EventStreamOptions } from "./event-stream.js";
