/**
 * Load-balanced mode: the worker is an HTTP server on PORT (contracts §C).
 *
 *   GET  /ping (or HEALTH_CHECK_PATH)  204 while initialising, 200 {"status":"healthy"} when ready,
 *                                      503 while shutting down
 *   POST /execute                      FunctionRequest in, FunctionResponse out (200);
 *                                      400 invalid JSON/request, 413 over the body limit
 *
 * Plain node:http: two routes do not need a framework, and every
 * millisecond of overhead shows up in the round trip.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RUNPOD_LIMITS, requestTimeoutOptions } from "../shared/body-limits.js";
import { ByteBudget } from "../shared/byte-budget.js";
import { AppError, isAppError, toErrorBody } from "../shared/errors.js";
import type { ErrorCode } from "../shared/errors.js";
import { parseFunctionRequest } from "../shared/function-protocol.js";
import { readJsonRequest } from "../shared/request-body.js";
import type { FunctionRequest, FunctionResponse } from "../shared/function-protocol.js";
import type { Logger } from "../shared/logger.js";

// Not `import … from "node:http"`: an ES import of node:http builds its whole namespace, which
// loads Node's internal undici (~40 ms of cold start) for exports we never use.
const { createServer } = process.getBuiltinModule("node:http");

/** Default request body limit (bytes): Runpod's limit for load-balanced requests. */
export const LB_BODY_LIMIT = RUNPOD_LIMITS.loadBalanced;
/** Default budget of request bodies held at once (docs/limits.md, Memory bounds). */
export const LB_BODY_BUDGET = 4 * LB_BODY_LIMIT;

export interface LbServerOptions {
  port: number;
  host: string;
  /** Path of the health check. Default `/ping`. */
  healthPath?: string;
  /** A second port that serves only the health check (PORT_HEALTH), if different from `port`. */
  healthPort?: number;
  bodyLimit?: number;
  /** Request bodies held at once, in bytes; past it requests get 503 with Retry-After. Default LB_BODY_BUDGET. */
  bodyBudget?: number;
  execute(request: FunctionRequest, options: { signal: AbortSignal }): Promise<FunctionResponse>;
  logger: Logger;
}

export interface LbServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly url: string;
  /** Switches the health check from 204 (initialising) to 200 (ready). */
  setReady(): void;
  /** Stops accepting requests, lets in-flight ones finish, then closes. Idempotent. */
  close(): Promise<void>;
  /** Closes now, cutting requests in flight. */
  abort(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, code: ErrorCode, message: string, close = false): void {
  sendAppError(res, new AppError(code, message), close);
}

function sendAppError(res: ServerResponse, error: AppError, close = false): void {
  if (close) res.setHeader("connection", "close");
  const retryAfter = error.details?.retryAfterSeconds;
  if (typeof retryAfter === "number") res.setHeader("retry-after", String(retryAfter));
  sendJson(res, error.status, toErrorBody(error));
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        error.code === "EADDRINUSE"
          ? new AppError("PORT_IN_USE", `port ${port} on ${host} is already in use`, { cause: error })
          : error,
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Starts the server; it answers health checks with 204 until setReady(). */
export async function startLbServer(options: LbServerOptions): Promise<LbServer> {
  const { logger } = options;
  const healthPath = options.healthPath ?? "/ping";
  const limit = options.bodyLimit ?? LB_BODY_LIMIT;
  const budget = new ByteBudget(options.bodyBudget ?? LB_BODY_BUDGET);
  let state: "initialising" | "ready" | "closing" = "initialising";
  let active = 0;
  let onIdle: (() => void) | undefined;

  const health = (res: ServerResponse): void => {
    if (state === "ready") sendJson(res, 200, { status: "healthy" });
    else if (state === "initialising") res.writeHead(204).end();
    else sendJson(res, 503, { status: "shutting down" });
  };

  async function execute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (state === "closing") return sendError(res, "SERVICE_UNAVAILABLE", "the worker is shutting down");
    let request: FunctionRequest;
    try {
      const { body } = await readJsonRequest(req, { limit, budget, heldUntil: res });
      request = parseFunctionRequest(body.present ? body.value : undefined);
    } catch (error) {
      if (!isAppError(error)) return sendError(res, "INVALID_INPUT", (error as Error).message);
      // The caller left mid-body: nobody to answer.
      if (error.details?.clientClosed === true) return void res.destroy();
      return sendAppError(res, error, error.details?.bodyUnread === true);
    }
    // The caller went away: stop waiting (and abort its nested calls).
    const controller = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) controller.abort(new Error("the client closed the connection"));
    };
    res.once("close", onClose);
    const response = await options.execute(request, { signal: controller.signal });
    res.off("close", onClose);
    if (!controller.signal.aborted) sendJson(res, 200, response);
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === healthPath && (req.method === "GET" || req.method === "HEAD")) return health(res);
    if (path === "/execute") {
      if (req.method !== "POST") return sendError(res, "METHOD_NOT_ALLOWED", "use POST /execute");
      active++;
      // Counted until the answer is flushed ('close'), so draining never cuts one short.
      res.once("close", () => {
        if (--active === 0) onIdle?.();
      });
      execute(req, res).catch((error: unknown) => {
        logger.error(`/execute: ${(error as Error).message}`);
        if (!res.headersSent) sendError(res, "INTERNAL", "the worker failed to handle the request");
        else res.destroy();
      });
      return;
    }
    sendError(res, "ROUTE_NOT_FOUND", `no route ${req.method} ${path} (this worker serves POST /execute and GET ${healthPath})`);
  };

  // Bounded time to send a request (the answer may take as long as the function runs).
  const server = createServer({ keepAliveTimeout: 65_000, ...requestTimeoutOptions() }, handle);
  await listen(server, options.port, options.host);
  const port = (server.address() as AddressInfo).port;

  let healthServer: Server | undefined;
  if (options.healthPort !== undefined && options.healthPort !== port) {
    healthServer = createServer((req, res) => {
      const path = (req.url ?? "/").split("?", 1)[0];
      if (path === healthPath) health(res);
      else sendError(res, "ROUTE_NOT_FOUND", `this port serves only GET ${healthPath}`);
    });
    await listen(healthServer, options.healthPort, options.host);
  }

  const displayHost = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      state = "closing";
      const stopped = Promise.all(
        [server, ...(healthServer ? [healthServer] : [])].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      );
      server.closeIdleConnections();
      if (active > 0) {
        logger.info(`finishing ${active} request(s) in progress`);
        await new Promise<void>((resolve) => (onIdle = resolve));
      }
      // Requests are done; what remains are keep-alive connections between requests.
      server.closeAllConnections();
      healthServer?.closeAllConnections();
      await stopped;
    })());
  return {
    port,
    url: `http://${displayHost.includes(":") ? `[${displayHost}]` : displayHost}:${port}`,
    setReady() {
      if (state === "initialising") state = "ready";
    },
    close,
    abort() {
      const done = close();
      // Whatever is still running is cut off: its callers see the connection drop.
      onIdle?.();
      server.closeAllConnections();
      healthServer?.closeAllConnections();
      return done;
    },
  };
}
