/**
 * The body limit at the socket level: an oversized upload is answered 413
 * without being read to the end, and the connection is closed even when the
 * client keeps sending.
 */
import { connect } from "node:net";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../helpers/server-fixtures.js";
import type { TestServer } from "../helpers/server-fixtures.js";

const LIMIT = 256 * 1024;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ bodyLimitBytes: LIMIT });
});
afterAll(async () => {
  await server.close();
});

interface RawExchange {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  /** Resolves once the received text matches. */
  waitFor(pattern: RegExp): Promise<void>;
}

function open(head: string, allowHalfOpen = false): Promise<RawExchange> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: Number(port), allowHalfOpen }, () => {
      let text = "";
      const waiters: { pattern: RegExp; done: () => void }[] = [];
      socket.on("data", (d: Buffer) => {
        text += d.toString("latin1");
        for (const w of waiters.splice(0)) {
          if (w.pattern.test(text)) w.done();
          else waiters.push(w);
        }
      });
      socket.on("error", () => {}); // EPIPE/ECONNRESET once the server cuts us off
      const closed = new Promise<void>((r) => socket.once("close", () => r()));
      socket.write(head);
      resolve({
        socket,
        received: () => text,
        closed,
        waitFor: (pattern) => new Promise<void>((done) => (pattern.test(text) ? done() : waiters.push({ pattern, done }))),
      });
    });
    socket.once("error", reject);
  });
}

describe("body limit on the wire", () => {
  it("answers a declared oversized Content-Length at once and closes", async () => {
    const ex = await open(
      "POST /gpu_worker/run_sync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{\"input\":\"",
    );
    await ex.waitFor(/\r\n\r\n\{.*\}$/s);
    expect(ex.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(ex.received()).toMatch(/connection: close/i);
    expect(ex.received()).toContain('"code":"BODY_TOO_LARGE"');
    await ex.closed;
  });

  it("stops a chunked upload past the limit and cuts a client that keeps sending", async () => {
    // allowHalfOpen: the client keeps its side open and sending after the server's FIN
    const ex = await open("POST /gpu_worker/run_sync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", true);
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
    let sentAfterAnswer = 0;
    let answered = false;
    void ex.waitFor(/^HTTP\/1\.1 413 /).then(() => (answered = true));
    // Pace the upload (1 ms per 16 KB) so the test measures the server, not a busy loop.
    while (!ex.socket.destroyed && !ex.socket.writableEnded) {
      ex.socket.write(frame);
      if (answered) sentAfterAnswer += frame.length;
      if (sentAfterAnswer > 64 * 1024 * 1024) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    await ex.closed;
    expect(answered).toBe(true);
    expect(ex.received()).toContain('"code":"BODY_TOO_LARGE"');
    expect(sentAfterAnswer).toBeLessThan(64 * 1024 * 1024);
    expect(server.invoker.calls).toHaveLength(0);
    expect((await server.fetch("/ping")).status).toBe(200);
  });
});
