/**
 * The dev server's guards through HTTP (the real app, a fake invoker): the
 * Host check (DNS rebinding) and who may call a function route from a
 * browser. Every bypass found by the probe of issue 7 item 7 is here.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAllowedHost, parseAllowedHosts } from "../../../src/server/host-guard.js";
import { startTestServer } from "../../helpers/server-fixtures.js";
import type { TestServer } from "../../helpers/server-fixtures.js";

describe("isAllowedHost", () => {
  it("allows names that cannot be rebound, and the user's list", () => {
    const allowed = parseAllowedHosts(" dev.example.com, .app.github.dev ");
    expect(allowed).toEqual(["dev.example.com", ".app.github.dev"]);
    for (const host of ["localhost", "LOCALHOST", "api.localhost", "127.0.0.1", "10.0.0.7", "[::1]", "dev.example.com", "abc-8888.app.github.dev"]) {
      expect(isAllowedHost(host, allowed), host).toBe(true);
    }
    for (const host of ["example.com", "localhost.attacker.example", "app.github.dev.evil.example"]) {
      expect(isAllowedHost(host, allowed), host).toBe(false);
    }
    expect(isAllowedHost("anything.example", ["*"])).toBe(true);
  });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> | undefined;
}

/** One request with exactly these headers (fetch would add or drop some). */
function send(server: TestServer, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: /json/.test(String(res.headers["content-type"])) ? (JSON.parse(text) as Record<string, unknown>) : undefined }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const post = (server: TestServer, headers: Record<string, string>): Promise<Answer> =>
  send(server, "POST", "/gpu_worker/run_sync", { "content-type": "application/json", ...headers }, '{"input":1}');
const getLb = (server: TestServer, headers: Record<string, string>): Promise<Answer> => send(server, "GET", "/lb_worker/health", headers);

describe("browser requests to function routes", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  /** Asserts a 403 FORBIDDEN that did not reach the function. */
  async function expectRefused(answer: Promise<Answer>, what: string): Promise<void> {
    const calls = server.invoker.calls.length;
    const res = await answer;
    expect(res.status, what).toBe(403);
    expect(res.body, what).toMatchObject({ error: { code: "FORBIDDEN", hint: expect.stringMatching(/FLASH_ALLOWED_ORIGINS/) } });
    expect(server.invoker.calls.length, `${what} reached the function`).toBe(calls);
  }

  it("refuses an Origin of another site without Fetch Metadata (older browsers)", async () => {
    await expectRefused(post(server, { origin: "http://evil.com" }), "POST");
    await expectRefused(getLb(server, { origin: "http://evil.com" }), "GET");
  });

  it("refuses Origin: null (sandboxed frames, file: pages)", async () => {
    await expectRefused(post(server, { origin: "null" }), "no metadata");
    await expectRefused(post(server, { origin: "null", "sec-fetch-site": "cross-site", "sec-fetch-mode": "cors" }), "with metadata");
  });

  it("refuses same-site requests (a page on another localhost port)", async () => {
    await expectRefused(post(server, { origin: "http://127.0.0.1:3000", "sec-fetch-site": "same-site", "sec-fetch-mode": "cors" }), "fetch");
    await expectRefused(getLb(server, { "sec-fetch-site": "same-site", "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image" }), "img");
  });

  it("refuses a cross-site top-level navigation to an LB GET route, and no-cors requests", async () => {
    const navigation = { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document", "sec-fetch-user": "?1" };
    await expectRefused(getLb(server, navigation), "navigation");
    await expectRefused(getLb(server, { ...navigation, referer: "https://evil.example/page" }), "navigation with a referer");
    await expectRefused(post(server, { "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors", "content-type": "text/plain" }), "no-cors POST");
    // A browser without Fetch Metadata (old, or on plain http to a LAN address) loading an <img>.
    await expectRefused(getLb(server, { referer: "http://evil.example/page" }), "img without Fetch Metadata");
  });

  it("serves scripts (no Origin, no Fetch Metadata), typed URLs and the server's own pages", async () => {
    expect((await post(server, {})).status, "curl").toBe(200);
    expect((await getLb(server, {})).status, "curl GET").toBe(200);
    expect((await getLb(server, { "sec-fetch-site": "none", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" })).status, "typed URL").toBe(200);
    const own = server.url;
    expect((await post(server, { origin: own, "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" })).status, "/docs page").toBe(200);
    expect((await post(server, { origin: own })).status, "own origin, no metadata").toBe(200);
    expect((await getLb(server, { "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" })).status, "same-origin GET").toBe(200);
  });

  it("leaves built-in routes open to links from anywhere", async () => {
    const res = await send(server, "GET", "/docs", { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" });
    expect(res.status).toBe(200);
  });
});

describe("FLASH_ALLOWED_ORIGINS", () => {
  let server: TestServer;
  const front = "http://localhost:3000";
  beforeAll(async () => {
    server = await startTestServer({ allowedOrigins: [front] });
  });
  afterAll(async () => {
    await server.close();
  });

  it("lets an allowed origin call, with CORS headers so its page can read the answer", async () => {
    const res = await post(server, { origin: front, "sec-fetch-site": "same-site", "sec-fetch-mode": "cors" });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe(front);
    expect(String(res.headers.vary)).toMatch(/Origin/i);
    const old = await post(server, { origin: front });
    expect(old.status, "without Fetch Metadata").toBe(200);
  });

  it("answers the allowed origin's preflight, and refuses anyone else's", async () => {
    const preflight = {
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
      "sec-fetch-site": "same-site",
      "sec-fetch-mode": "cors",
    };
    const calls = server.invoker.calls.length;
    const ok = await send(server, "OPTIONS", "/gpu_worker/run_sync", { ...preflight, origin: front });
    expect(ok.status).toBe(204);
    expect(ok.headers["access-control-allow-origin"]).toBe(front);
    expect(ok.headers["access-control-allow-methods"]).toMatch(/POST/);
    expect(ok.headers["access-control-allow-headers"]).toBe("content-type");
    const refused = await send(server, "OPTIONS", "/gpu_worker/run_sync", { ...preflight, origin: "http://localhost:4000" });
    expect(refused.status).toBe(403);
    expect(refused.headers["access-control-allow-origin"]).toBeUndefined();
    expect(server.invoker.calls.length).toBe(calls);
  });

  it("lets a link on an allowed page open an LB GET route (judged by its Referer)", async () => {
    const navigation = { "sec-fetch-site": "same-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" };
    expect((await getLb(server, { ...navigation, referer: `${front}/app` })).status).toBe(200);
    expect((await getLb(server, { ...navigation, referer: "http://localhost:4000/app" })).status).toBe(403);
  });

  it("still refuses other origins and Origin: null", async () => {
    expect((await post(server, { origin: "http://evil.com" })).status).toBe(403);
    expect((await post(server, { origin: "null" })).status).toBe(403);
  });
});
