/**
 * Listening: the only place the dev server touches a port. `startHttpServer`
 * turns an app into a running handle; `findFreePort` picks the next free
 * port when the requested one is taken.
 */
import { createServer } from "node:http";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { requestTimeoutOptions } from "../common/body-limits.js";
import type { RequestTimeouts } from "../common/body-limits.js";
import { listenError } from "../common/ports.js";

export { findFreePort } from "../common/ports.js";
export type { FreePort } from "../common/ports.js";

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
