/**
 * One console line per request, written when the response is done (so the
 * status and duration are final, including errors rendered by the boundary
 * and responses cut short by the client):
 *
 *   12:03:04 POST /gpu_worker/run_sync → live-gpu-worker 200 143 ms
 */
import type { Middleware } from "koa";
import type { ErrorCode } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { DevState } from "./dev-context.js";

/** What is known about a finished request. */
export interface RequestLogRecord {
  time: Date;
  method: string;
  /** The path without the query string (query values may carry secrets). */
  path: string;
  /** The endpoint that served a function route. */
  endpointName?: string;
  /** The status sent, or 499 when the client closed the connection first. */
  status: number;
  durationMs: number;
  requestId: string;
  errorCode?: ErrorCode;
  /** The client closed the connection before the response was written. */
  clientGone: boolean;
}

/** Receives every finished request instead of the default console line. */
export type RequestLogSink = (record: RequestLogRecord) => void;

/** Status logged for a request whose client went away (nginx's convention). */
export const CLIENT_CLOSED_STATUS = 499;

const pad = (n: number): string => String(n).padStart(2, "0");

/** `HH:MM:SS` in local time. */
export function formatClock(time: Date): string {
  return `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
}

/** The console line of one request. */
export function formatRequestLine(record: RequestLogRecord): string {
  const parts = [formatClock(record.time), record.method, record.path];
  if (record.endpointName) parts.push("→", record.endpointName);
  parts.push(record.clientGone ? `${CLIENT_CLOSED_STATUS} (client closed)` : String(record.status), `${Math.round(record.durationMs)} ms`);
  if (record.errorCode) parts.push(record.errorCode);
  return parts.join(" ");
}

// Health checks (Docker, editors, uptime probes) hit these every few seconds,
// and an open /docs page reads the document again after every reload and holds
// an event stream until it is closed: at info level they would bury the lines
// that matter.
const QUIET_PATHS = new Set(["/", "/ping", "/openapi.json", "/__flash/events"]);

/** Writes a record through the logger at a level chosen by its outcome. */
export function logRequest(logger: Logger, record: RequestLogRecord): void {
  const line = formatRequestLine(record);
  if (record.status >= 500 && !record.clientGone) logger.warn(line);
  else if ((record.status < 400 || record.clientGone) && QUIET_PATHS.has(record.path)) logger.debug(line);
  else logger.info(line);
}

/** Options of {@link requestLog}. */
export interface RequestLogOptions {
  logger: Logger;
  /** Replaces the default console line. */
  onRequestLog?: RequestLogSink;
}

/** Middleware that reports each request once its response has finished or was abandoned. Place it right after the error boundary. */
export function requestLog(options: RequestLogOptions): Middleware<DevState> {
  return async (ctx, next) => {
    const time = new Date();
    ctx.res.once("close", () => {
      const record: RequestLogRecord = {
        time,
        method: ctx.method,
        path: ctx.path,
        status: ctx.state.clientGone ? CLIENT_CLOSED_STATUS : ctx.res.statusCode,
        durationMs: performance.now() - ctx.state.startedAt,
        requestId: ctx.state.requestId,
        clientGone: ctx.state.clientGone === true,
      };
      if (ctx.state.endpointName) record.endpointName = ctx.state.endpointName;
      if (ctx.state.errorCode) record.errorCode = ctx.state.errorCode;
      try {
        if (options.onRequestLog) options.onRequestLog(record);
        else logRequest(options.logger, record);
      } catch (err) {
        // A failing sink must not turn into an uncaught exception in an event handler.
        ctx.app.emit("error", err, ctx);
      }
    });
    await next();
  };
}
