import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppError } from "../../../src/common/errors.js";
import { redact } from "../../../src/common/redact.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { RunpodError } from "../../../src/runpod/errors.js";
import { createHttpClient, openClientHttp, retryAfterMs } from "../../../src/runpod/http.js";
import type { HttpClient } from "../../../src/runpod/http.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { refusedUrl, sendJson, startFakeServer } from "./fake-server.js";
import type { FakeServer } from "./fake-server.js";

let server: FakeServer;
let http: HttpClient;

beforeEach(async () => {
  server = await startFakeServer();
  http = createHttpClient({ userAgent: "flash-ts-test" });
});

afterEach(async () => {
  await http.close();
  await server.close();
});

const FAST_RETRY = { attempts: 3, baseDelayMs: 1 };

describe("createHttpClient request/response", () => {
  it("sends JSON with content-type and user-agent and parses a JSON answer", async () => {
    server.handle((req, res) => sendJson(res, 200, { echo: req.json }));
    const response = await http.request({ method: "POST", url: `${server.url}/a/b?x=1`, json: { n: 1 }, timeoutMs: 2000 });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ echo: { n: 1 } });
    expect(response.headers["content-type"]).toBe("application/json");
    const [req] = server.requests;
    expect(req?.method).toBe("POST");
    expect(req?.url).toBe("/a/b?x=1");
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.headers["user-agent"]).toBe("flash-ts-test");
  });

  it("parses problem+json, keeps text as text, and gives undefined for empty bodies", async () => {
    server.handle((req, res) => {
      if (req.path === "/problem") {
        res.writeHead(404, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ title: "Not Found", status: 404, detail: "nope" }));
      } else if (req.path === "/text") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("hello");
      } else if (req.path === "/broken-json") {
        res.writeHead(500, { "content-type": "application/json" });
        res.end("{not json");
      } else {
        res.writeHead(204);
        res.end();
      }
    });
    expect((await http.request({ method: "GET", url: `${server.url}/problem`, timeoutMs: 2000 })).body).toEqual({ title: "Not Found", status: 404, detail: "nope" });
    expect((await http.request({ method: "GET", url: `${server.url}/text`, timeoutMs: 2000 })).body).toBe("hello");
    expect((await http.request({ method: "GET", url: `${server.url}/broken-json`, timeoutMs: 2000 })).body).toBe("{not json");
    const empty = await http.request({ method: "DELETE", url: `${server.url}/gone`, timeoutMs: 2000 });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeUndefined();
  });

  it("returns non-2xx answers instead of throwing", async () => {
    server.handle((_req, res) => sendJson(res, 418, { error: "teapot" }));
    const response = await http.request({ method: "GET", url: server.url, timeoutMs: 2000 });
    expect(response).toMatchObject({ status: 418, body: { error: "teapot" } });
  });
});

describe("timeouts and aborts", () => {
  // A fake clock drives the per-call timer; undici's own timers (a backstop at timeout + 1 s)
  // run on real time and cannot fire within a test that takes milliseconds of it.
  let clock: FakeClock;
  let timed: HttpClient;
  beforeEach(() => {
    clock = new FakeClock();
    timed = createHttpClient({ clock });
  });
  afterEach(() => timed.close());

  it("fires the per-call timeout as UPSTREAM_TIMEOUT", async () => {
    server.handle(() => {}); // never answers
    const pending = timed.request({ method: "GET", url: `${server.url}/slow`, timeoutMs: 60_000 }).catch((e: unknown) => e);
    await server.nextRequest();
    await clock.advance(59_999);
    expect(clock.pending()).toEqual([60_000]); // not yet
    await clock.advance(1);
    const error = await pending;
    expect(error).toBeInstanceOf(RunpodError);
    expect(error).toMatchObject({ code: "UPSTREAM_TIMEOUT", status: 504, upstreamStatus: undefined });
  });

  it("limits the whole call, not just the gaps between body chunks", async () => {
    let chunks = 0;
    let trickling!: () => void;
    const threeChunks = new Promise<void>((resolve) => (trickling = resolve));
    server.handle((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const trickle = setInterval(() => {
        res.write(".");
        if (++chunks === 3) trickling();
      }, 20);
      res.on("close", () => clearInterval(trickle));
    });
    const pending = timed.request({ method: "GET", url: server.url, timeoutMs: 60_000 }).catch((e: unknown) => e);
    await threeChunks; // the body is arriving, so no gap timer could fire
    await clock.advance(60_000);
    expect(await pending).toMatchObject({ code: "UPSTREAM_TIMEOUT" });
  });

  it("does not retry a timed-out call", async () => {
    server.handle(() => {});
    const pending = timed.request({ method: "GET", url: server.url, timeoutMs: 60_000, retry: FAST_RETRY }).catch((e: unknown) => e);
    await server.nextRequest();
    await clock.advance(60_000);
    // A retry would have left the call pending (waiting out its backoff) instead of rejecting.
    expect(await pending).toMatchObject({ code: "UPSTREAM_TIMEOUT" });
    expect(server.requests).toHaveLength(1);
  });

  it("rejects with the caller's abort reason, not a RunpodError", async () => {
    server.handle(() => {});
    const controller = new AbortController();
    const pending = http.request({ method: "GET", url: server.url, timeoutMs: 5000, signal: controller.signal });
    await server.nextRequest();
    const reason = new Error("caller gave up");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("rejects at once when the signal is already aborted", async () => {
    const reason = new Error("already");
    await expect(http.request({ method: "GET", url: server.url, timeoutMs: 1000, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(server.requests).toHaveLength(0);
  });
});

describe("retries", () => {
  it("retries 503 until success when the call has a retry policy", async () => {
    let n = 0;
    server.handle((_req, res) => (++n < 3 ? sendJson(res, 503, { error: "busy" }) : sendJson(res, 200, { ok: true })));
    const response = await http.request({ method: "GET", url: server.url, timeoutMs: 2000, retry: FAST_RETRY });
    expect(response).toMatchObject({ status: 200, body: { ok: true } });
    expect(server.requests).toHaveLength(3);
  });

  it.each([408, 429, 500, 502])("retries %i", async (status) => {
    let n = 0;
    server.handle((_req, res) => (++n === 1 ? sendJson(res, status, {}) : sendJson(res, 200, {})));
    expect((await http.request({ method: "GET", url: server.url, timeoutMs: 2000, retry: FAST_RETRY })).status).toBe(200);
    expect(server.requests).toHaveLength(2);
  });

  it("does not retry other 4xx", async () => {
    server.handle((_req, res) => sendJson(res, 400, {}));
    expect((await http.request({ method: "GET", url: server.url, timeoutMs: 2000, retry: FAST_RETRY })).status).toBe(400);
    expect(server.requests).toHaveLength(1);
  });

  it("never retries without a retry policy", async () => {
    server.handle((_req, res) => sendJson(res, 503, {}));
    expect((await http.request({ method: "POST", url: server.url, json: {}, timeoutMs: 2000 })).status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it("returns the last answer when the attempts run out", async () => {
    server.handle((_req, res) => sendJson(res, 500, { n: server.requests.length }));
    const response = await http.request({ method: "GET", url: server.url, timeoutMs: 2000, retry: FAST_RETRY });
    expect(response).toMatchObject({ status: 500, body: { n: 3 } });
    expect(server.requests).toHaveLength(3);
  });

  it("retries dropped connections", async () => {
    server.handle((req, res) => {
      if (server.requests.length === 1) res.socket?.destroy();
      else sendJson(res, 200, { ok: true });
    });
    const response = await http.request({ method: "GET", url: server.url, timeoutMs: 2000, retry: FAST_RETRY });
    expect(response.body).toEqual({ ok: true });
    expect(server.requests).toHaveLength(2);
  });

  it("does not retry a dropped connection without a policy", async () => {
    server.handle((_req, res) => void res.socket?.destroy());
    await expect(http.request({ method: "POST", url: server.url, json: {}, timeoutMs: 2000 })).rejects.toMatchObject({ code: "UPSTREAM_ERROR", upstreamStatus: undefined });
    expect(server.requests).toHaveLength(1);
  });

  it("honours Retry-After (seconds) instead of the backoff", async () => {
    const clock = new FakeClock();
    const client = createHttpClient({ clock });
    try {
      server.handle((_req, res) => (server.requests.length === 1 ? sendJson(res, 429, { error: "slow down" }, { "retry-after": "7" }) : sendJson(res, 200, {})));
      const pending = client.request({ method: "GET", url: server.url, timeoutMs: 5000, retry: { attempts: 2, baseDelayMs: 1 } });
      // The first answer came back: the client now waits 7 s, not the 1 ms backoff.
      await clock.sleepingFor(7000);
      await clock.advance(6999);
      expect(server.requests).toHaveLength(1);
      await clock.advance(1);
      expect((await pending).status).toBe(200);
      expect(server.requests).toHaveLength(2);
    } finally {
      await client.close();
    }
  });

  it("gives up when Retry-After asks for more than maxDelayMs", async () => {
    server.handle((_req, res) => sendJson(res, 429, {}, { "retry-after": "120" }));
    const response = await http.request({ method: "GET", url: server.url, timeoutMs: 2000, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1000 } });
    expect(response.status).toBe(429);
    expect(server.requests).toHaveLength(1);
  });

  it("stops waiting between attempts when the caller aborts", async () => {
    server.handle((_req, res) => sendJson(res, 503, {}, { "retry-after": "20" }));
    const controller = new AbortController();
    const pending = http.request({ method: "GET", url: server.url, timeoutMs: 2000, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 60_000 }, signal: controller.signal });
    await server.nextRequest();
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(server.requests).toHaveLength(1);
  });
});

describe("transport errors", () => {
  it("maps a refused connection to UPSTREAM_ERROR with the caller's hint", async () => {
    const url = await refusedUrl();
    const error = await http.request({ method: "GET", url, timeoutMs: 2000, errors: { hint: "check RUNPOD_API_BASE_URL" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunpodError);
    expect(error).toMatchObject({ code: "UPSTREAM_ERROR", status: 502, upstreamStatus: undefined, hint: "check RUNPOD_API_BASE_URL" });
    expect((error as Error).message).toContain("ECONNREFUSED");
  });

  it("uses the caller's code for unreachable hosts", async () => {
    const url = await refusedUrl();
    await expect(http.request({ method: "POST", url, timeoutMs: 2000, errors: { unreachableCode: "WORKER_UNREACHABLE" } })).rejects.toMatchObject({ code: "WORKER_UNREACHABLE", status: 502 });
  });

  it("retries refused connections for idempotent calls, then fails", async () => {
    const url = await refusedUrl();
    const logger = createMemoryLogger("debug");
    const client = createHttpClient({ logger });
    try {
      await expect(client.request({ method: "GET", url, timeoutMs: 2000, retry: FAST_RETRY })).rejects.toMatchObject({ code: "UPSTREAM_ERROR" });
      expect(logger.lines.filter((l) => l.includes("ECONNREFUSED"))).toHaveLength(3);
    } finally {
      await client.close();
    }
  });

  it("rejects bad URLs before sending", async () => {
    await expect(http.request({ method: "GET", url: "not a url", timeoutMs: 100 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(http.request({ method: "GET", url: "ftp://x/y", timeoutMs: 100 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(http.request({ method: "GET", url: server.url, timeoutMs: 0 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(http.request({ method: "GET", url: server.url, timeoutMs: Number.NaN })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(server.requests).toHaveLength(0);
  });
});

describe("logging and lifecycle", () => {
  it("logs method, URL, status and duration at debug level without the Authorization header", async () => {
    const logger = createMemoryLogger("debug");
    const client = createHttpClient({ logger });
    try {
      await client.request({ method: "GET", url: `${server.url}/v2/ep/health`, headers: { authorization: "Bearer rpa_SECRETSECRETSECRET" }, timeoutMs: 2000 });
      expect(server.requests[0]?.headers.authorization).toBe("Bearer rpa_SECRETSECRETSECRET");
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]).toMatch(new RegExp(`^GET ${server.url}/v2/ep/health → 200 in \\d+\\.\\d ms$`));
      expect(logger.lines.join("\n")).not.toContain("SECRET");
    } finally {
      await client.close();
    }
  });

  it("refuses work after close, and close is idempotent", async () => {
    await http.close();
    await http.close();
    const error = await http.request({ method: "GET", url: server.url, timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "DISPOSED" });
  });
});

describe("openClientHttp", () => {
  it("sends the key as a bearer header, and registers it so that no log line can print it", () => {
    const key = "rpa_open_client_http_test_key";
    const opened = openClientHttp({ http, apiKey: key });
    expect(opened.headers).toEqual({ authorization: `Bearer ${key}` });
    expect(redact(`key=${key}`)).toBe("key=***");
    expect(openClientHttp({ http, apiKey: undefined }).headers).toEqual({});
  });

  it("closes the HTTP client it made, and leaves one it was given open", async () => {
    const given = openClientHttp({ http, apiKey: undefined });
    expect(given.http).toBe(http);
    await given.close();
    server.handle((_req, res) => sendJson(res, 200, {}));
    expect((await http.request({ method: "GET", url: server.url, timeoutMs: 5_000 })).status).toBe(200);

    const own = openClientHttp({ apiKey: undefined });
    expect(own.http).not.toBe(http);
    await own.close();
    await expect(own.http.request({ method: "GET", url: server.url, timeoutMs: 100 })).rejects.toMatchObject({ code: "DISPOSED" });
  });
});

describe("retryAfterMs", () => {
  it("reads delay-seconds and HTTP dates", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs("0.25")).toBe(250);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs("soon")).toBeUndefined();
    expect(retryAfterMs("-1")).toBeUndefined();
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(retryAfterMs("Thu, 01 Jan 2025 00:00:05 GMT", now)).toBe(0);
  });
});

