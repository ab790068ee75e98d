/**
 * Server-sent events (`GET /__flash/events`): the dev server tells open /docs
 * pages that the routes changed, so they redraw without a click. Bounded: a
 * cap on clients at once (503 past it), a cap on what a slow client may have
 * queued (it is dropped), a heartbeat comment so idle connections stay open
 * through proxies, and `close()` ends every stream (the session closes it
 * before the HTTP server, which would otherwise wait for them).
 */
import { PassThrough } from "node:stream";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { AppError } from "../common/errors.js";
import type { DevContext } from "./dev-context.js";

/** Where the stream is served. */
export const EVENTS_PATH = "/__flash/events";

export interface EventStreamOptions {
  /** Clients at once; one more is answered 503. Default 16. */
  maxClients?: number;
  /** A comment line is sent this often. Default 15 000 ms. */
  heartbeatMs?: number;
  /** Bytes a client may have queued (not read yet); past it, it is dropped. Default 256 KiB. */
  maxBufferedBytes?: number;
  /** How long a browser waits before reconnecting, sent as `retry`. Default 2000 ms. */
  retryMs?: number;
  clock?: Clock;
}

export interface EventStream {
  /** Answers `GET /__flash/events`: 200 and a stream, or 503 past the cap or once closed. */
  handle(ctx: DevContext): void;
  /** Sends one event to every client. `event` is a name of letters and dashes. */
  publish(event: string, data: unknown): void;
  /** Clients connected now. */
  readonly clients: number;
  /** Ends every stream and refuses new ones. Idempotent. */
  close(): void;
}

const EVENT_NAME = /^[a-z][a-z-]{0,63}$/;

export function createEventStream(options: EventStreamOptions = {}): EventStream {
  const maxClients = options.maxClients ?? 16;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBuffered = options.maxBufferedBytes ?? 256 * 1024;
  const retryMs = options.retryMs ?? 2000;
  const clock = options.clock ?? systemClock;
  const clients = new Set<PassThrough>();
  const stop = new AbortController();

  const drop = (stream: PassThrough): void => {
    clients.delete(stream);
    stream.end();
  };
  const send = (text: string): void => {
    for (const stream of [...clients]) {
      // A client that stopped reading must not make the server buffer without end.
      if (stream.writableLength > maxBuffered) drop(stream);
      else stream.write(text);
    }
  };

  // One heartbeat for all clients. It stops with close(); until then it
  // keeps the process alive, like the server's listening socket does.
  void (async () => {
    for (;;) {
      try {
        await clock.sleep(heartbeatMs, stop.signal);
      } catch {
        return; // closed
      }
      send(": heartbeat\n\n");
    }
  })();

  return {
    handle(ctx) {
      if (stop.signal.aborted) throw new AppError("SERVICE_UNAVAILABLE", "The dev server is stopping");
      if (clients.size >= maxClients) {
        throw new AppError("SERVICE_UNAVAILABLE", `Too many event streams are open (${maxClients})`, {
          hint: "Each open /docs page holds one; close a few tabs.",
        });
      }
      ctx.status = 200;
      ctx.type = "text/event-stream";
      ctx.set("Cache-Control", "no-cache, no-transform");
      ctx.set("X-Accel-Buffering", "no");
      // When the stream ends the connection goes too: a kept-alive socket
      // would hold the server's close() for its grace period.
      ctx.set("Connection", "close");
      if (ctx.method === "HEAD") return;
      // An event stream is idle most of the time: no socket timeout, and each event sent at once.
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      const stream = new PassThrough();
      clients.add(stream);
      ctx.res.once("close", () => drop(stream));
      stream.write(`retry: ${retryMs}\n: connected\n\n`);
      ctx.body = stream;
    },
    publish(event, data) {
      if (!EVENT_NAME.test(event)) throw new AppError("INTERNAL", `not an event name: ${JSON.stringify(event)}`);
      // JSON text has no raw newlines, so one data line carries it.
      send(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    get clients() {
      return clients.size;
    },
    close() {
      stop.abort();
      for (const stream of [...clients]) drop(stream);
    },
  };
}
