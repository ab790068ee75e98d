/**
 * The dev server's routes and input rules, against the real app listening on
 * 127.0.0.1:0 with a fake invoker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../helpers/server-fixtures.js";
import type { TestServer } from "../helpers/server-fixtures.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

async function json(res: Response): Promise<unknown> {
  return JSON.parse(await res.text()) as unknown;
}

describe("built-in routes", () => {
  it("GET / answers the server info", async () => {
    const res = await server.fetch("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await json(res)).toEqual({ message: "Flash Dev Server", docs: "/docs" });
  });

  it("GET /ping answers healthy", async () => {
    const res = await server.fetch("/ping");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ status: "healthy" });
  });

  it("GET /docs serves the page and its assets with a strict CSP", async () => {
    const res = await server.fetch("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain("/__flash/docs/docs.js");
    for (const [asset, type] of [
      ["docs.js", /^text\/javascript/],
      ["docs.css", /^text\/css/],
    ] as const) {
      const a = await server.fetch(`/__flash/docs/${asset}`);
      expect(a.status).toBe(200);
      expect(a.headers.get("content-type")).toMatch(type);
      await a.arrayBuffer();
    }
    expect((await server.fetch("/__flash/docs/../package.json")).status).toBe(404);
    expect((await server.fetch("/__flash/docs/index.html")).status).toBe(404);
  });

  it("GET /openapi.json lists every route", async () => {
    const res = await server.fetch("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await json(res)) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/", "/ping", "/gpu_worker/run_sync", "/gpu_worker/runsync", "/multi/first/run_sync", "/lb_worker/items/{id}"]),
    );
  });

  it("wrong methods on built-ins are 405 with Allow; HEAD and OPTIONS work", async () => {
    const res = await server.fetch("/ping", { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(((await json(res)) as { error: { code: string } }).error.code).toBe("METHOD_NOT_ALLOWED");
    const head = await server.fetch("/ping", { method: "HEAD" });
    expect(head.status).toBe(200);
    const options = await server.fetch("/openapi.json", { method: "OPTIONS" });
    expect(options.status).toBe(204);
    expect(options.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });

  it("every response carries X-Request-Id, echoing a sane client id", async () => {
    const generated = await server.fetch("/ping");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await server.fetch("/nope", { headers: { "x-request-id": "trace-42" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-42");
    const unsafe = await server.fetch("/ping", { headers: { "x-request-id": "a b<script>" } });
    expect(unsafe.headers.get("x-request-id")).not.toBe("a b<script>");
  });
});

describe("QB routes", () => {
  it("serves /run_sync and the /runsync alias with {id, status, output}", async () => {
    for (const path of ["/gpu_worker/run_sync", "/gpu_worker/runsync"]) {
      const { status, body } = await server.post(path, { input: { message: "hi" } });
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: "COMPLETED", output: { fn: "gpu_worker.ts#gpuHello", input: { message: "hi" } } });
      expect((body as { id: string }).id).toMatch(/^job-\d+$/);
    }
  });

  it("serves /<prefix>/<export>/run_sync when a file has several", async () => {
    const a = await server.post("/multi/first/run_sync", { input: 1 });
    const b = await server.post("/multi/second/runsync", { input: 2 });
    expect(a.body).toMatchObject({ output: { fn: "multi.ts#first", input: 1 } });
    expect(b.body).toMatchObject({ output: { fn: "multi.ts#second", input: 2 } });
  });

  it("passes body.input when the key exists, else the whole body", async () => {
    const cases: [unknown, unknown][] = [
      [{ input: { a: 1 } }, { a: 1 }],
      [{ input: null }, null],
      [{ input: [1, 2] }, [1, 2]],
      [{ input: "text", other: true }, "text"],
      [{ a: 1, b: [2] }, { a: 1, b: [2] }],
      [{}, {}],
    ];
    for (const [sent, expected] of cases) {
      const { status } = await server.post("/gpu_worker/run_sync", sent);
      expect(status).toBe(200);
      expect(server.invoker.calls.at(-1)!.input).toEqual(expected);
    }
  });

  it("treats an empty body as {} and generates an id when the invoker gives none", async () => {
    server.invoker.behaviours.set("gpuHello", async () => ({ output: undefined }));
    try {
      const res = await server.fetch("/gpu_worker/run_sync", { method: "POST" });
      expect(res.status).toBe(200);
      const body = (await json(res)) as { id: string; output: unknown };
      expect(body.output).toBeNull();
      expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(server.invoker.calls.at(-1)!.input).toEqual({});
    } finally {
      server.invoker.behaviours.delete("gpuHello");
    }
  });

  it("hands the invoker the request id, an abort signal and the generation's manifest", async () => {
    await server.post("/gpu_worker/run_sync", { input: 1 }, { "x-request-id": "rid-1" });
    const { ctx } = server.invoker.calls.at(-1)!;
    expect(ctx.requestId).toBe("rid-1");
    expect(ctx.signal.aborted).toBe(false);
    expect(ctx.manifest.generation).toBe(1);
  });

  it("rejects non-object bodies with 422 INVALID_BODY", async () => {
    for (const body of ["[1,2]", "null", "42", '"text"', "true"]) {
      const res = await server.post("/gpu_worker/run_sync", body);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ error: { code: "INVALID_BODY" } });
    }
  });

  it("is POST only: GET is 405 with Allow: POST", async () => {
    const res = await server.fetch("/gpu_worker/run_sync");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(await json(res)).toMatchObject({ error: { code: "METHOD_NOT_ALLOWED", allow: ["POST"] } });
  });
});

describe("LB routes", () => {
  it("POST passes the JSON body", async () => {
    const { status, body } = await server.post("/lb_worker/process", { name: "t", value: 1 });
    expect(status).toBe(200);
    expect(body).toEqual({ fn: "lb_worker.ts#processItem", generation: 1, input: { name: "t", value: 1 } });
  });

  it("GET passes the query map (strings, last repeated key wins)", async () => {
    const res = await server.fetch("/lb_worker/health?a=1&b=x&a=2&empty=&sp=a+b%20c&__proto__=p");
    expect(res.status).toBe(200);
    const input = server.invoker.calls.at(-1)!.input as Record<string, unknown>;
    expect(input).toEqual({ a: "2", b: "x", empty: "", sp: "a b c", ["__proto__"]: "p" });
    expect(Object.getPrototypeOf(input)).toBe(Object.prototype);
  });

  it("merges path params into the query map and the body (params win)", async () => {
    await server.fetch("/lb_worker/items/42?id=query&x=1");
    expect(server.invoker.calls.at(-1)!.input).toEqual({ id: "42", x: "1" });
    const put = await server.fetch("/lb_worker/items/7", { method: "PUT", headers: { "content-type": "application/json" }, body: '{"id":"body","n":2}' });
    expect(put.status).toBe(200);
    expect(server.invoker.calls.at(-1)!.input).toEqual({ id: "7", n: 2 });
    await server.fetch("/lb_worker/items/a%20b%2Fc", { method: "PATCH", headers: { "content-type": "application/json" }, body: "{}" });
    expect(server.invoker.calls.at(-1)!.input).toEqual({ id: "a b/c" });
  });

  it("prefers a literal segment over a parameter", async () => {
    await server.fetch("/lb_worker/items/new");
    expect(server.invoker.calls.at(-1)!.entry.export).toBe("newItem");
  });

  it("DELETE: empty body counts as {}; a non-object body passes only without path params", async () => {
    const del = await server.fetch("/lb_worker/items/9", { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(server.invoker.calls.at(-1)!.input).toEqual({ id: "9" });
    const purge = await server.fetch("/lb_worker/purge", { method: "DELETE", headers: { "content-type": "application/json" }, body: "[1,2]" });
    expect(purge.status).toBe(200);
    expect(server.invoker.calls.at(-1)!.input).toEqual([1, 2]);
    const bad = await server.fetch("/lb_worker/items/9", { method: "DELETE", headers: { "content-type": "application/json" }, body: "[1]" });
    expect(bad.status).toBe(422);
  });

  it("POST/PUT/PATCH need an object body (422), an empty body counts as {}", async () => {
    expect((await server.post("/lb_worker/process", "[1]")).status).toBe(422);
    expect((await server.post("/lb_worker/process", "null")).status).toBe(422);
    const empty = await server.fetch("/lb_worker/process", { method: "POST" });
    expect(empty.status).toBe(200);
    expect(server.invoker.calls.at(-1)!.input).toEqual({});
  });

  it("returns the function's value as JSON: null stays null, undefined is 204", async () => {
    server.invoker.behaviours.set("health", async () => ({ output: null }));
    server.invoker.behaviours.set("nothing", async () => ({ output: undefined }));
    try {
      const nul = await server.fetch("/lb_worker/health");
      expect(nul.status).toBe(200);
      expect(await nul.text()).toBe("null");
      const none = await server.fetch("/lb_worker/nothing");
      expect(none.status).toBe(204);
      expect(await none.text()).toBe("");
    } finally {
      server.invoker.behaviours.delete("health");
      server.invoker.behaviours.delete("nothing");
    }
  });

  it("renders values JSON has no form for (bigint, Map, Set, typed arrays)", async () => {
    server.invoker.behaviours.set("health", async () => ({
      output: { big: 12345678901234567890n, map: new Map([["k", 1]]), set: new Set([1, 2]), bytes: new Uint8Array([1, 2]) },
    }));
    try {
      const res = await server.fetch("/lb_worker/health");
      expect(await json(res)).toEqual({ big: "12345678901234567890", map: { k: 1 }, set: [1, 2], bytes: [1, 2] });
    } finally {
      server.invoker.behaviours.delete("health");
    }
  });

  it("a return value with a cycle is 500 FUNCTION_ERROR", async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    server.invoker.behaviours.set("localEcho", async () => ({ output: cyclic }));
    try {
      const { status, body } = await server.post("/tools/local/echo", {});
      expect(status).toBe(500);
      expect(body).toMatchObject({ error: { code: "FUNCTION_ERROR" } });
    } finally {
      server.invoker.behaviours.delete("localEcho");
    }
  });

  it("wrong method on an LB path is 405 listing the served methods", async () => {
    const res = await server.fetch("/lb_worker/items/1", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, PUT, PATCH, DELETE");
    const options = await server.fetch("/lb_worker/items/1", { method: "OPTIONS" });
    expect(options.status).toBe(204);
    expect(options.headers.get("allow")).toBe("GET, HEAD, PUT, PATCH, DELETE, OPTIONS");
  });

  it("a trailing slash matches the same route", async () => {
    expect((await server.fetch("/lb_worker/health/")).status).toBe(200);
  });
});

describe("errors", () => {
  it("unknown route: 404 ROUTE_NOT_FOUND", async () => {
    const res = await server.fetch("/nowhere/run_sync", { method: "POST" });
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({ error: { code: "ROUTE_NOT_FOUND", message: expect.stringContaining("/nowhere/run_sync"), hint: expect.any(String) } });
    expect((await server.fetch("/gpu_worker%ZZ/run_sync", { method: "POST" })).status).toBe(404);
  });

  it("invalid JSON: 400 INVALID_JSON; invalid UTF-8: 400 INVALID_JSON", async () => {
    const bad = await server.post("/gpu_worker/run_sync", '{"input": ');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: "INVALID_JSON" } });
    const bytes = await server.fetch("/gpu_worker/run_sync", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    });
    expect(bytes.status).toBe(400);
    expect(await json(bytes)).toMatchObject({ error: { code: "INVALID_JSON" } });
  });

  it("accepts a UTF-8 BOM, no Content-Type, and +json types", async () => {
    const bom = await server.fetch("/gpu_worker/run_sync", { method: "POST", headers: { "content-type": "application/json" }, body: '\ufeff{"input":1}' });
    expect(bom.status).toBe(200);
    const none = await server.fetch("/gpu_worker/run_sync", { method: "POST", body: new Blob(['{"input":2}']) });
    expect(none.status).toBe(200);
    const vendor = await server.post("/gpu_worker/run_sync", { input: 3 }, { "content-type": "application/vnd.api+json; charset=UTF-8" });
    expect(vendor.status).toBe(200);
  });

  it("accepts curl's default form type and text/plain when the body is JSON", async () => {
    for (const type of ["application/x-www-form-urlencoded", "text/plain"]) {
      const res = await server.post("/gpu_worker/run_sync", '{"input":1}', { "content-type": type });
      expect(res.status, type).toBe(200);
    }
    const notJson = await server.post("/gpu_worker/run_sync", "input=1", { "content-type": "application/x-www-form-urlencoded" });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { code: "INVALID_JSON" } });
  });

  it("refuses cross-site and same-site browser requests to function routes (403), but not links to built-ins", async () => {
    const refused = await server.post("/gpu_worker/run_sync", '{"input":1}', { "content-type": "text/plain", "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors" });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: "FORBIDDEN", hint: expect.any(String) } });
    // Another port on localhost is same-site, not same-origin (test/unit/server/host-guard.test.ts has the rest).
    const sameSite = await server.post("/gpu_worker/run_sync", '{"input":1}', { "sec-fetch-site": "same-site", "sec-fetch-mode": "cors" });
    expect(sameSite.status).toBe(403);
    const docs = await server.fetch("/docs", { headers: { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" } });
    expect(docs.status).toBe(200);
  });

  it("unsupported content type or encoding: 415", async () => {
    const cases: Record<string, string>[] = [
      { "content-type": "multipart/form-data; boundary=x" },
      { "content-type": "application/xml" },
      { "content-type": "application/json; charset=latin1" },
      { "content-type": "application/json", "content-encoding": "gzip" },
    ];
    for (const headers of cases) {
      const res = await server.post("/gpu_worker/run_sync", '{"input":1}', headers);
      expect(res.status, JSON.stringify(headers)).toBe(415);
      expect(res.body).toMatchObject({ error: { code: "INVALID_BODY", hint: expect.any(String) } });
    }
  });

  it("JSON nested deeper than the limit: 422", async () => {
    const deep = "[".repeat(600) + "]".repeat(600);
    const res = await server.post("/gpu_worker/run_sync", `{"input":${deep}}`);
    expect(res.status).toBe(422);
    const ok = "[".repeat(100) + "]".repeat(100);
    expect((await server.post("/gpu_worker/run_sync", `{"input":${ok}}`)).status).toBe(200);
  });

  it("maps the invoker's AppErrors to their status, with details", async () => {
    const { AppError } = await import("../../src/common/errors.js");
    const cases = [
      [new AppError("FUNCTION_ERROR", "boom", { details: { name: "TypeError", stack: "TypeError: boom\n    at boom.ts:7", logs: ["hello"] } }), 500],
      [new AppError("FUNCTION_TIMEOUT", "took too long"), 504],
      [new AppError("PROVISION_FAILED", "no key", { hint: "set RUNPOD_API_KEY" }), 503],
      [new AppError("WORKER_UNREACHABLE", "connection refused"), 502],
      [new AppError("UPSTREAM_TIMEOUT", "runpod slow"), 504],
      [new AppError("FUNCTION_LOAD_FAILED", "syntax"), 503],
    ] as const;
    for (const [error, status] of cases) {
      server.invoker.behaviours.set("gpuHello", async () => {
        throw error;
      });
      const res = await server.post("/gpu_worker/run_sync", { input: 1 });
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ error: { code: error.code, message: error.message } });
    }
    const fnError = cases[0][0];
    server.invoker.behaviours.set("gpuHello", async () => {
      throw fnError;
    });
    const res = await server.post("/gpu_worker/run_sync", { input: 1 });
    expect(res.body).toEqual({ error: { code: "FUNCTION_ERROR", message: "boom", name: "TypeError", stack: "TypeError: boom\n    at boom.ts:7", logs: ["hello"] } });
    server.invoker.behaviours.delete("gpuHello");
    // system errors reach app.on("error") and the console; the user's own errors only the request line
    expect(server.logger.lines.some((l) => l.startsWith("PROVISION_FAILED on POST /gpu_worker/run_sync"))).toBe(true);
    expect(server.logger.lines.some((l) => l.startsWith("WORKER_UNREACHABLE on POST"))).toBe(true);
    expect(server.logger.lines.some((l) => l.startsWith("FUNCTION_ERROR on"))).toBe(false);
  });

  it("a non-AppError is a generic 500 INTERNAL, logged with its stack", async () => {
    server.invoker.behaviours.set("gpuHello", async () => {
      throw new Error("secret internals at /home/me");
    });
    try {
      const res = await server.post("/gpu_worker/run_sync", { input: 1 }, { "x-request-id": "bug-1" });
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ error: { code: "INTERNAL" } });
      expect(JSON.stringify(res.body)).not.toContain("secret internals");
      expect(JSON.stringify(res.body)).toContain("bug-1");
      const logged = server.logger.lines.join("\n");
      expect(logged).toContain("INTERNAL");
      expect(logged).toMatch(/Error: secret internals at \/home\/me\n\s+at /);
      expect((await server.fetch("/ping")).status).toBe(200);
    } finally {
      server.invoker.behaviours.delete("gpuHello");
    }
  });
});

describe("request log", () => {
  it("writes one line per request with endpoint, status and duration", async () => {
    await server.post("/gpu_worker/run_sync", { input: 1 });
    const line = server.logger.lines.findLast((l) => l.includes("/gpu_worker/run_sync"));
    expect(line).toMatch(/^\d\d:\d\d:\d\d POST \/gpu_worker\/run_sync → live-gpu-worker 200 \d+ ms$/);
    await server.fetch("/nowhere");
    expect(server.logger.lines.findLast((l) => l.includes("/nowhere"))).toMatch(/GET \/nowhere 404 \d+ ms ROUTE_NOT_FOUND$/);
  });
});

describe("with onRequestLog and a small body limit", () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ bodyLimitBytes: 1024, recordRequests: true });
  });
  afterAll(async () => {
    await small.close();
  });

  it("413 BODY_TOO_LARGE past the limit, and closes the connection", async () => {
    const res = await small.post("/gpu_worker/run_sync", { input: "x".repeat(2048) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: "BODY_TOO_LARGE", limitBytes: 1024 } });
    expect(res.headers.get("connection")).toBe("close");
    expect((await small.post("/gpu_worker/run_sync", { input: "x".repeat(900) })).status).toBe(200);
  });

  it("hands records to onRequestLog instead of the logger", async () => {
    await small.fetch("/lb_worker/health");
    await expect.poll(() => small.records.find((r) => r.path === "/lb_worker/health")).toMatchObject({
      method: "GET",
      status: 200,
      endpointName: "live-lb-worker",
      clientGone: false,
    });
    expect(small.logger.lines.some((l) => l.includes("/lb_worker/health"))).toBe(false);
  });
});

describe("host guard (DNS rebinding)", () => {
  it("accepts localhost, *.localhost and IP literals, refuses other host names with 403", async () => {
    const { request } = await import("node:http");
    const url = new URL(server.url);
    const get = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path: "/ping", headers: { host } }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    for (const host of [`localhost:${url.port}`, "app.localhost", "127.0.0.1", "192.168.1.5:8888", "[::1]:8888"]) {
      expect((await get(host)).status, host).toBe(200);
    }
    const refused = await get("rebind.attacker.example:8888");
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "FORBIDDEN", hint: expect.stringMatching(/FLASH_ALLOWED_HOSTS/) } });
  });
});
