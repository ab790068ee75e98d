import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createEventStream } from "../../../src/server/event-stream.js";
import type { EventStream, EventStreamOptions } from "../../../src/server/event-stream.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { startTestServer } from "../../helpers/server-fixtures.js";
import type { TestServer } from "../../helpers/server-fixtures.js";
import { waitFor } from "../../helpers/wait.js";

let server: TestServer | undefined;
let stream: EventStream | undefined;

afterEach(async () => {
  stream?.close();
  await server?.close();
  server = undefined;
  stream = undefined;
});

async function start(options: EventStreamOptions = {}): Promise<{ server: TestServer; stream: EventStream }> {
  stream = createEventStream({ clock: new FakeClock(), ...options });
  server = await startTestServer({ eventStream: stream });
  return { server, stream };
}

/** An open stream: its text so far, and a wait for more. */
async function open(s: TestServer, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await s.fetch("/__flash/events", { headers, signal: controller.signal });
  let text = "";
  let ended = false;
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const waiters = new Set<() => void>();
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        for (const w of [...waiters]) w();
      }
    } catch {
      // aborted by the test
    }
    ended = true;
    for (const w of [...waiters]) w();
  })();
  const until = (what: string, check: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} in ${JSON.stringify(text)}`)), 10_000);
      const test = (): void => {
        if (!check()) return;
        waiters.delete(test);
        clearTimeout(timer);
        resolve();
      };
      waiters.add(test);
      test();
    });
  return {
    res,
    text: () => text,
    waitForText: (needle: string) => until(needle, () => text.includes(needle)),
    ended: () => until("end of stream", () => ended),
    close: () => controller.abort(),
  };
}

describe("event stream (GET /__flash/events)", () => {
  it("streams published events to every client, in order, after a retry hint", async () => {
    const { server, stream } = await start();
    const a = await open(server);
    const b = await open(server);
    expect(a.res.status).toBe(200);
    expect(a.res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(a.res.headers.get("cache-control")).toMatch(/no-cache/);
    await a.waitForText(": connected");
    await waitFor("both clients registered", () => stream.clients === 2);
    stream.publish("reload", { ok: true, routes: 3 });
    stream.publish("routes", { added: ["POST /a/run_sync"], removed: [] });
    for (const client of [a, b]) {
      await client.waitForText("event: routes");
      expect(client.text()).toContain('retry: 2000\n');
      expect(client.text().indexOf('event: reload\ndata: {"ok":true,"routes":3}\n\n')).toBeLessThan(client.text().indexOf("event: routes"));
    }
  });

  it("answers 503 past the cap on clients, and takes a new one once a client leaves", async () => {
    const { server, stream } = await start({ maxClients: 2 });
    const a = await open(server);
    await open(server);
    const refused = await server.fetch("/__flash/events");
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: "SERVICE_UNAVAILABLE", hint: expect.stringMatching(/tabs/) } });
    a.close();
    await waitFor("the closed client to be dropped", () => stream.clients === 1);
    const again = await open(server);
    expect(again.res.status).toBe(200);
  });

  it("sends a heartbeat on the clock", async () => {
    const clock = new FakeClock();
    const { server } = await start({ clock, heartbeatMs: 15_000 });
    const a = await open(server);
    await a.waitForText(": connected");
    await clock.sleepingFor(15_000);
    expect(a.text()).not.toContain("heartbeat");
    await clock.advance(15_000);
    await a.waitForText(": heartbeat");
  });

  it("close() ends every stream and refuses new ones", async () => {
    const { server, stream } = await start();
    const a = await open(server);
    await a.waitForText(": connected");
    stream.close();
    await a.ended();
    expect((await server.fetch("/__flash/events")).status).toBe(503);
  });

  it("drops a client that stops reading once its queue passes the bound", async () => {
    const { server, stream } = await start({ maxBufferedBytes: 64 * 1024 });
    const url = new URL(server.url);
    // A raw client that sends the request and never reads the answer.
    const socket = connect({ host: "127.0.0.1", port: Number(url.port) });
    socket.pause();
    socket.write(`GET /__flash/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await waitFor("the client to be registered", () => stream.clients === 1);
    const chunk = "x".repeat(256 * 1024);
    await waitFor(
      "the slow client to be dropped",
      () => {
        stream.publish("filler", chunk);
        return stream.clients === 0;
      },
      20_000,
      5,
    );
    socket.destroy();
  });

  it("refuses cross-site browser requests and foreign hosts, and other methods", async () => {
    const { server, stream } = await start();
    const cross = await server.fetch("/__flash/events", { headers: { "sec-fetch-site": "cross-site", "sec-fetch-mode": "cors" } });
    expect(cross.status).toBe(403);
    const foreign = await new Promise<string>((resolve, reject) => {
      const url = new URL(server.url);
      const socket = connect({ host: "127.0.0.1", port: Number(url.port) }, () => socket.write("GET /__flash/events HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"));
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString()));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(foreign).toMatch(/^HTTP\/1\.1 403 /);
    expect((await server.fetch("/__flash/events", { method: "POST" })).status).toBe(405);
    expect(stream.clients).toBe(0);
  });

  it("is not served when the app has no event stream", async () => {
    server = await startTestServer();
    expect((await server.fetch("/__flash/events")).status).toBe(404);
  });
});
