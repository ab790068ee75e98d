/**
 * HTTP on a raw socket, for tests that must see exactly what a server sends
 * (an early answer to a body not yet sent, a 408, a closed connection) or
 * behave as no HTTP client would (declare a body and send none of it).
 */
import { connect, type Socket } from "node:net";

export interface RawExchange {
  socket: Socket;
  /** Everything received so far (latin1). */
  received(): string;
  /** Resolves once the server closed the connection; rejects after `ms`. */
  closed(ms: number): Promise<void>;
}

/** Connects to `baseUrl`'s host and port and writes `head` (and no more). */
export function openRaw(baseUrl: string, head: string): Promise<RawExchange> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname === "localhost" ? "127.0.0.1" : hostname, port: Number(port) }, () => {
      let text = "";
      let closed = false;
      const waiters = new Set<() => void>();
      socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
      socket.on("error", () => {}); // EPIPE/ECONNRESET once the server cuts us off
      socket.on("close", () => {
        closed = true;
        for (const w of waiters) w();
      });
      socket.write(head);
      resolve({
        socket,
        received: () => text,
        closed: (ms) =>
          new Promise<void>((done, fail) => {
            if (closed) return done();
            const timer = setTimeout(() => fail(new Error(`the server kept the connection open for ${ms} ms; received: ${text.slice(0, 200)}`)), ms);
            waiters.add(() => {
              clearTimeout(timer);
              done();
            });
          }),
      });
    });
    socket.once("error", reject);
  });
}

/** Adds `Expect: 100-continue` to a request head: once "100 Continue" is back, the server is serving the request. */
export function withContinue(head: string): string {
  return head.replace("\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n");
}
