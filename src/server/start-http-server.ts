/**
 * Listening: the only place the dev server touches a port. `startHttpServer`
 * turns an app into a running handle; `findFreePort` picks the next free
 * port when the requested one is taken.
 */
import { createServer } from "node:http";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { createServer as createNetServer } from "node:net";
import type { AddressInfo } from "node:net";
import { requestTimeoutOptions } from "../shared/body-limits.js";
import type { RequestTimeouts } from "../shared/body-limits.js";
import { AppError } from "../shared/errors.js";

/** Anything with Koa's `callback()`. */
export interface RequestHandlerFactory {
  callback(): (req: IncomingMessage, res: ServerResponse) => unknown;
}

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** Interface to bind (`localhost`, `127.0.0.1`, `0.0.0.0`, `::`). */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /**
   * How long `close()` lets in-flight requests finish before their
   * connections are cut.
   * @default 3000
   */
  closeGraceMs?: number;
  /**
   * How long a client may take to send its request (headers, then body).
   * @default REQUEST_TIMEOUTS (docs/limits.md, Slow clients)
   */
  requestTimeouts?: RequestTimeouts;
}

/** A listening server. */
export interface StartedHttpServer {
  /** Base URL, e.g. `http://localhost:8888` (wildcard hosts are shown as `localhost`). */
  url: string;
  /** The port actually bound. */
  port: number;
  host: string;
  /** Stops listening and closes every connection; safe to call more than once. */
  close(): Promise<void>;
}

/** The host as it should appear in a URL. */
export function urlHost(host: string): string {
  if (host === "" || host === "0.0.0.0" || host === "::" || host === "[::]") return "localhost";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): AppError {
  if (err.code === "EADDRINUSE") {
    return new AppError("PORT_IN_USE", `Port ${port} on ${host} is already in use`, {
      hint: "Stop the process using it, or pass another --port.",
      cause: err,
    });
  }
  if (err.code === "EACCES") {
    return new AppError("INVALID_INPUT", `Not allowed to listen on port ${port} on ${host}`, {
      hint: "Use a port above 1024.",
      cause: err,
    });
  }
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") {
    return new AppError("INVALID_INPUT", `Cannot listen on host "${host}": it is not an address of this machine`, {
      hint: "Use localhost, 127.0.0.1 or 0.0.0.0.",
      cause: err,
    });
  }
  return new AppError("INTERNAL", `Could not listen on ${host}:${port}: ${err.message}`, { cause: err });
}

/** Starts an HTTP server for `app` and resolves once it listens. */
export function startHttpServer(app: RequestHandlerFactory, options: HttpServerOptions): Promise<StartedHttpServer> {
  const server = createServer(requestTimeoutOptions(options.requestTimeouts), app.callback() as RequestListener);
  return new Promise<StartedHttpServer>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, options.host, options.port));
    server.once("error", onError);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off("error", onError);
      const port = (server.address() as AddressInfo).port;
      let closing: Promise<void> | undefined;
      const close = (): Promise<void> =>
        (closing ??= new Promise<void>((done) => {
          const grace = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? 3000);
          grace.unref();
          server.close(() => {
            clearTimeout(grace);
            done();
          });
          // Keep-alive sockets would otherwise hold close() open until they time out.
          server.closeIdleConnections();
        }));
      resolve({ url: `http://${urlHost(options.host)}:${port}`, port, host: options.host, close });
    });
  });
}

/** Result of {@link findFreePort}. */
export interface FreePort {
  port: number;
  /** The port asked for. */
  requested: number;
  /** True when the requested port was taken and another was chosen. */
  moved: boolean;
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const probe = createNetServer();
    probe.unref();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") resolve(false);
      else reject(listenError(err, host, port));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * The first port from `port` on (at most `attempts` ports) that can be
 * bound on `host`. A moved port is reported in the result; none free in the
 * range is PORT_IN_USE naming it. Port 0 is returned as is.
 *
 * The port is free when checked; `startHttpServer` still reports
 * PORT_IN_USE if another process takes it in between.
 */
export async function findFreePort(host: string, port: number, attempts = 20): Promise<FreePort> {
  if (port === 0) return { port: 0, requested: 0, moved: false };
  const last = Math.min(65535, port + Math.max(1, attempts) - 1);
  for (let candidate = port; candidate <= last; candidate++) {
    if (await canListen(host, candidate)) return { port: candidate, requested: port, moved: candidate !== port };
  }
  const range = last === port ? `Port ${port}` : `Ports ${port}–${last}`;
  throw new AppError("PORT_IN_USE", `${range} on ${host} ${last === port ? "is" : "are all"} in use`, {
    hint: "Stop what is using them, or pass another --port.",
  });
}
