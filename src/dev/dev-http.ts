/**
 * The HTTP side of `flash dev`: the Koa app over the route table and the
 * invoker, the event stream /docs listens to (fed from session events), the
 * host names the server answers, and the port (the next free one when the
 * requested one is taken).
 */
import { basename } from "node:path";
import { megabytesFromEnv } from "../common/byte-budget.js";
import { createDevApp, createEventStream, DEFAULT_BODY_MEMORY_BYTES, parseAllowedHosts } from "../server/index.js";
import type { FunctionInvoker, RouteTable } from "../server/index.js";
import type { SchemaSource } from "../server/function-schemas.js";
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { DevSessionParts } from "./session-parts.js";
import type { DevSessionEmitter } from "./session-events.js";

export interface DevHttpOptions {
  root: string;
  /** As given (`localhost` binds 127.0.0.1). */
  host: string;
  port: number;
  env: NodeJS.ProcessEnv;
  /** Origins whose pages may call function routes (parsed from FLASH_ALLOWED_ORIGINS). */
  allowedOrigins: readonly string[];
  routes: RouteTable;
  invoker: FunctionInvoker;
  /** The type schemas of each generation (docs and input validation). */
  schemas?: SchemaSource;
  logger: Logger;
  events: DevSessionEmitter;
  clock: Clock;
  parts: Pick<DevSessionParts, "findFreePort" | "startHttpServer">;
}

export interface DevHttp {
  /** e.g. `http://localhost:8888` */
  url: string;
  port: number;
  /** Ends the event streams, then stops the server. Idempotent. */
  close(): Promise<void>;
}

function safeHostname(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

export async function startDevHttp(options: DevHttpOptions): Promise<DevHttp> {
  const { env, host, events } = options;
  const bodyMemoryBytes = megabytesFromEnv(env, "FLASH_BODY_MEMORY_MB", DEFAULT_BODY_MEMORY_BYTES);
  const allowedHosts = parseAllowedHosts(env.FLASH_ALLOWED_HOSTS);
  if (!["localhost", "0.0.0.0", "::"].includes(host)) allowedHosts.push(host.toLowerCase());
  const publicHost = env.FLASH_PUBLIC_URL ? safeHostname(env.FLASH_PUBLIC_URL) : undefined;
  if (publicHost) allowedHosts.push(publicHost);

  const eventStream = createEventStream({ clock: options.clock });
  // What an open /docs page needs to know: the routes changed, a reload ended (its error shows there too).
  const unsubscribe = [
    events.on("routesChanged", (e) => eventStream.publish("routes", { generation: e.generation, added: e.added, removed: e.removed })),
    events.on("reloadFinished", (e) => eventStream.publish("reload", e.ok ? { ok: true, generation: e.generation, routes: e.routes } : { ok: false })),
    // A generation's types arrived (or failed): the page redraws with them.
    events.on("schemasUpdated", (e) => eventStream.publish("schemas", { generation: e.generation, ok: e.ok })),
  ];
  const closeStream = (): void => {
    for (const off of unsubscribe) off();
    eventStream.close();
  };

  try {
    const app = createDevApp({
      routes: options.routes,
      invoker: options.invoker,
      logger: options.logger,
      allowedHosts,
      allowedOrigins: options.allowedOrigins,
      bodyMemoryBytes,
      eventStream,
      ...(options.schemas ? { schemas: options.schemas } : {}),
      title: `Flash Dev Server (${basename(options.root)})`,
    });
    const bindHost = host === "localhost" ? "127.0.0.1" : host;
    let port = options.port;
    if (port !== 0) {
      const free = await options.parts.findFreePort(bindHost, port);
      if (free.moved) events.emit("portMoved", { requested: free.requested, port: free.port });
      port = free.port;
    }
    const server = await options.parts.startHttpServer(app, { host: bindHost, port });
    let closing: Promise<void> | undefined;
    return {
      url: host === "localhost" ? server.url.replace("127.0.0.1", "localhost") : server.url,
      port: server.port,
      close: () =>
        (closing ??= (async () => {
          // Open streams would hold the server's close for its whole grace period.
          closeStream();
          await server.close();
        })()),
    };
  } catch (error) {
    closeStream();
    throw error;
  }
}
