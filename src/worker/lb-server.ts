/**
 * Load-balanced mode: the worker is an HTTP server on PORT (docs/internals.md, "The worker runtime").
 *
 *   GET  /ping (or HEALTH_CHECK_PATH)  204 while initialising, 200 {"status":"healthy"} when ready,
 *                                      503 while shutting down
 *   POST /execute                      FunctionRequest in, FunctionResponse out (200);
 *                                      400 invalid JSON/request, 413 over the body limit
 *
 * Plain node:http: two routes do not need a framework, and every
 * millisecond of overhead shows up in the round trip.
 *
 * A worker started by the bootstrap already listens when the runtime arrives
 * (docs/internals.md, "The worker runtime"): adoptLbServers() takes over its
 * servers and answers the request that carried the runtime.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RUNPOD_LIMITS, requestTimeoutOptions } from "../common/body-limits.js";
import { ByteBudget } from "../common/byte-budget.js";
import { AppError, isAppError, toErrorBody } from "../common/errors.js";
import type { ErrorCode } from "../common/errors.js";
import { parseFunctionRequest } from "../common/function-protocol.js";
import { readJsonRequest } from "../common/request-body.js";
import type { FunctionRequest, FunctionResponse } from "../common/function-protocol.js";
import type { Logger } from "../common/logger.js";

// Not `import … from "node:http"`: an ES import of node:http builds its whole namespace, which
// loads Node's internal undici (~40 ms of cold start) for exports we never use.
const { createServer } = process.getBuiltinModule("node:http");

/** Default request body limit (bytes): Runpod's limit for load-balanced requests. */
export const LB_BODY_LIMIT = RUNPOD_LIMITS.loadBalanced;
/** Default budget of request bodies held at once (docs/limits.md, Memory bounds). */
export const LB_BODY_BUDGET = 4 * LB_BODY_LIMIT;

/** What answers requests, wherever the servers come from. */
export interface LbHandlerOptions {
  /** Path of the health check. Default `/ping`. */
  healthPath?: string;
  bodyLimit?: number;
  /** Request bodies held at once, in bytes; past it requests get 503 with Retry-After. Default LB_BODY_BUDGET. */
  bodyBudget?: number;
  execute(request: FunctionRequest, options: { signal: AbortSignal }): Promise<FunctionResponse>;
  logger: Logger;
}

export interface LbServerOptions extends LbHandlerOptions {
  port: number;
  host: string;
  /** A second port that serves only the health check (PORT_HEALTH), if different from `port`. */
  healthPort?: number;
}

/** Servers that already listen (the bootstrap's), for adoptLbServers(). */
export interface AdoptedLbServers {
  /** The main server (POST /execute, the health check). */
  server: Server;
  /** A server on PORT_HEALTH that serves only the health check. */
  healthServer?: Server;
  /** Routes every later request of these servers to the runtime (and bodies read after the handover to `runParsed`). */
  setHandlers(handlers: {
    main(req: IncomingMessage, res: ServerResponse): void;
    health(req: IncomingMessage, res: ServerResponse): void;
    runParsed(input: unknown, res: ServerResponse): void;
  }): void;
  /** Request bodies already read (the one that carried the runtime), to answer on their responses. */
  pending: { input: unknown; res: ServerResponse }[];
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

/** The request handling shared by startLbServer() and adoptLbServers(). */
function createLbHandler(options: LbHandlerOptions) {
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

  async function run(input: unknown, res: ServerResponse): Promise<void> {
    let request: FunctionRequest;
    try {
      request = parseFunctionRequest(input);
    } catch (error) {
      return sendError(res, "INVALID_INPUT", (error as Error).message);
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

  async function execute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (state === "closing") return sendError(res, "SERVICE_UNAVAILABLE", "the worker is shutting down");
    let input: unknown;
    try {
      const { body } = await readJsonRequest(req, { limit, budget, heldUntil: res });
      input = body.present ? body.value : undefined;
    } catch (error) {
      if (!isAppError(error)) return sendError(res, "INVALID_INPUT", (error as Error).message);
      // The caller left mid-body: nobody to answer.
      if (error.details?.clientClosed === true) return void res.destroy();
      return sendAppError(res, error, error.details?.bodyUnread === true);
    }
    return run(input, res);
  }

  /** Counts a request until its answer is flushed ('close'), so draining never cuts one short. */
  const track = (res: ServerResponse, work: Promise<void>): void => {
    active++;
    res.once("close", () => {
      if (--active === 0) onIdle?.();
    });
    work.catch((error: unknown) => {
      logger.error(`/execute: ${(error as Error).message}`);
      if (!res.headersSent) sendError(res, "INTERNAL", "the worker failed to handle the request");
      else res.destroy();
    });
  };

  return {
    handle(req: IncomingMessage, res: ServerResponse): void {
      const path = (req.url ?? "/").split("?", 1)[0];
      if (path === healthPath && (req.method === "GET" || req.method === "HEAD")) return health(res);
      if (path === "/execute") {
        if (req.method !== "POST") return sendError(res, "METHOD_NOT_ALLOWED", "use POST /execute");
        return track(res, execute(req, res));
      }
      sendError(res, "ROUTE_NOT_FOUND", `no route ${req.method} ${path} (this worker serves POST /execute and GET ${healthPath})`);
    },
    handleHealth(req: IncomingMessage, res: ServerResponse): void {
      const path = (req.url ?? "/").split("?", 1)[0];
      if (path === healthPath) health(res);
      else sendError(res, "ROUTE_NOT_FOUND", `this port serves only GET ${healthPath}`);
    },
    /** Answers a request whose body was read elsewhere. */
    runParsed(input: unknown, res: ServerResponse): void {
      if (state === "closing") return sendError(res, "SERVICE_UNAVAILABLE", "the worker is shutting down");
      track(res, run(input, res));
    },
    setReady(): void {
      if (state === "initialising") state = "ready";
    },
    startClosing(): void {
      state = "closing";
    },
    /** Resolves when no request is in flight. */
    idle(): Promise<void> {
      if (active === 0) return Promise.resolve();
      logger.info(`finishing ${active} request(s) in progress`);
      return new Promise<void>((resolve) => (onIdle = resolve));
    },
    /** Stops waiting for requests in flight. */
    cutOff(): void {
      onIdle?.();
    },
  };
}

type LbHandler = ReturnType<typeof createLbHandler>;

/** Graceful and immediate stop of a handler's servers. */
function stopper(handler: LbHandler, servers: Server[]): { close(): Promise<void>; abort(): Promise<void> } {
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      handler.startClosing();
      const stopped = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      for (const s of servers) s.closeIdleConnections();
      await handler.idle();
      // Requests are done; what remains are keep-alive connections between requests.
      for (const s of servers) s.closeAllConnections();
      await stopped;
    })());
  return {
    close,
    abort() {
      const done = close();
      // Whatever is still running is cut off: its callers see the connection drop.
      handler.cutOff();
      for (const s of servers) s.closeAllConnections();
      return done;
    },
  };
}

function urlOf(server: Server, host: string): { port: number; url: string } {
  const address = server.address() as AddressInfo;
  const displayHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return { port: address.port, url: `http://${displayHost.includes(":") ? `[${displayHost}]` : displayHost}:${address.port}` };
}

/** Starts the server; it answers health checks with 204 until setReady(). */
export async function startLbServer(options: LbServerOptions): Promise<LbServer> {
  const handler = createLbHandler(options);
  // Bounded time to send a request (the answer may take as long as the function runs).
  const server = createServer({ keepAliveTimeout: 65_000, ...requestTimeoutOptions() }, (req, res) => handler.handle(req, res));
  await listen(server, options.port, options.host);
  const { port, url } = urlOf(server, options.host);
  let healthServer: Server | undefined;
  if (options.healthPort !== undefined && options.healthPort !== port) {
    healthServer = createServer((req, res) => handler.handleHealth(req, res));
    await listen(healthServer, options.healthPort, options.host);
  }
  return { port, url, setReady: () => handler.setReady(), ...stopper(handler, healthServer ? [server, healthServer] : [server]) };
}

/** Takes over servers that already listen (the bootstrap's) and answers their pending requests. */
export function adoptLbServers(adopted: AdoptedLbServers, options: LbHandlerOptions): LbServer {
  const handler = createLbHandler(options);
  // The same bounded time to send a request as startLbServer(); the answer may take as long as the function runs.
  const timeouts = requestTimeoutOptions();
  adopted.server.headersTimeout = timeouts.headersTimeout;
  adopted.server.requestTimeout = timeouts.requestTimeout;
  adopted.server.keepAliveTimeout = 65_000;
  adopted.setHandlers({
    main: (req, res) => handler.handle(req, res),
    health: (req, res) => handler.handleHealth(req, res),
    runParsed: (input, res) => handler.runParsed(input, res),
  });
  for (const { input, res } of adopted.pending.splice(0)) handler.runParsed(input, res);
  const address = adopted.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const servers = adopted.healthServer ? [adopted.server, adopted.healthServer] : [adopted.server];
  return { port, url: `http://127.0.0.1:${port}`, setReady: () => handler.setReady(), ...stopper(handler, servers) };
}
