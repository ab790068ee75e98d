/**
 * The dev server's bounds on the wire (docs/limits.md): the memory budget of
 * request bodies in flight (503 with Retry-After, then normal service), slow
 * clients cut off by the request timeout, and a client that leaves mid-body
 * logged as one debug line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.js";
import { openRaw as openRawAt, withContinue, type RawExchange } from "../helpers/raw-http.js";
import { deferred, startTestServer, type TestServer } from "../helpers/server-fixtures.js";

const KB = 1024;
let server: TestServer;
/** Everything logged; with colour on, the level shows (debug: ESC[90m, warn: ESC[33m, error: ESC[31m). */
const logs: string[] = [];
const [DEBUG, WARN, ERROR, RESET] = ["90", "33", "31", "0"].map((code) => `\u001b[${code}m`) as [string, string, string, string];
const plain = (line: string): string => [DEBUG, WARN, ERROR, RESET].reduce((text, code) => text.replaceAll(code, ""), line);
const isWarnOrError = (line: string): boolean => line.startsWith(WARN) || line.startsWith(ERROR);

beforeAll(async () => {
  server = await startTestServer({
    bodyMemoryBytes: 1024 * KB,
    requestTimeouts: { headersTimeoutMs: 500, requestTimeoutMs: 1500 },
    logger: createLogger({ level: "debug", color: true, write: (line) => logs.push(line) }),
  });
});
afterAll(async () => {
  await server.close();
});

const openRaw = (head: string): Promise<RawExchange> => openRawAt(server.url, head);

const head = (length: number): string =>
  `POST /gpu_worker/run_sync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
const body = (bytes: number): string => JSON.stringify({ input: "x".repeat(bytes - 12) });

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("memory budget of bodies in flight", () => {
  it("answers 503 with Retry-After and closes while the budget is spent, without reading the body; serves again once it frees", async () => {
    const hold = deferred();
    server.invoker.behaviours.set("gpuHello", async (_entry, input) => {
      await hold.promise;
      return { output: { size: JSON.stringify(input).length } };
    });
    try {
      // A call in progress holds its 800 KB body until its response is done.
      const first = server.post("/gpu_worker/run_sync", body(800 * KB));
      await until("the first call to start", () => server.invoker.calls.length === 1);
      const refused = await openRaw(head(800 * KB));
      await refused.closed(10_000);
      const answer = refused.received();
      expect(answer).toMatch(/^HTTP\/1\.1 503 /);
      expect(answer).toMatch(/\r\nretry-after: 1\r\n/i);
      expect(answer).toMatch(/\r\nconnection: close\r\n/i);
      expect(answer).toContain('"code":"SERVICE_UNAVAILABLE"');
      expect(answer).toMatch(/FLASH_BODY_MEMORY_MB/);
      expect(server.invoker.calls).toHaveLength(1);
      hold.resolve();
      expect((await first).status).toBe(200);
      // The budget is free again: the same body is served.
      const again = await server.post("/gpu_worker/run_sync", body(800 * KB));
      expect(again.status).toBe(200);
    } finally {
      hold.resolve();
      server.invoker.behaviours.delete("gpuHello");
    }
  });
});

describe("slow and vanishing clients", () => {
  it("cuts off a client that declares a body and sends nothing, after the request timeout (408)", async () => {
    const silent = await openRaw(head(100 * KB));
    await silent.closed(10_000);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("logs a client that disconnects mid-body as one debug line, not an internal error with a stack", async () => {
    const before = logs.length;
    const cut = await openRaw(withContinue(head(100 * KB)));
    await until("100 Continue", () => cut.received().includes("100 Continue"));
    cut.socket.write('{"input":"xxxx');
    cut.socket.destroy();
    await until("the request to be logged", () => logs.slice(before).some((l) => plain(l).includes("POST /gpu_worker/run_sync")));
    await until("the client-left line", () => logs.slice(before).some((l) => plain(l).startsWith("Client left during POST /gpu_worker/run_sync")));
    const after = logs.slice(before);
    const left = after.filter((l) => plain(l).startsWith("Client left"));
    expect(left).toHaveLength(1);
    expect(left[0]!.startsWith(DEBUG)).toBe(true);
    expect(after.filter((l) => isWarnOrError(l) || /^\s+at /.test(plain(l)) || /Internal error/.test(plain(l)))).toEqual([]);
  });
});
