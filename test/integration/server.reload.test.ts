/**
 * Route table swaps seen through HTTP: requests held during a reload, in-flight
 * requests finishing on their generation, failed reloads, no generation yet,
 * the reload wait bound, and clients that go away.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { AppError } from "../../src/common/errors.js";
import { deferred, lbEntry, manifestOf, qbEntry, standardFunctions, startTestServer } from "../helpers/server-fixtures.js";
import type { TestServer } from "../helpers/server-fixtures.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("reloads", () => {
  it("holds requests that arrive during a reload and serves them on the new generation", async () => {
    server = await startTestServer();
    const s = server;
    s.routes.beginReload();
    const existing = s.post("/gpu_worker/run_sync", { input: "held" });
    const added = s.post("/added/run_sync", { input: "new route" });
    await vi.waitFor(() => expect(s.routes.waitingRequests).toBe(2));
    expect(s.invoker.calls).toHaveLength(0);

    s.routes.endReload({ ok: true, manifest: manifestOf([...standardFunctions(), qbEntry("added.ts", "added")], 2) });
    const [a, b] = await Promise.all([existing, added]);
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ output: { generation: 2, input: "held" } });
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ output: { fn: "added.ts#added", generation: 2 } });
    // each held request ran exactly once
    expect(s.invoker.calls).toHaveLength(2);
    expect(s.routes.waitingRequests).toBe(0);
  });

  it("lets in-flight requests finish on the generation they started with", async () => {
    server = await startTestServer();
    const s = server;
    const release = deferred();
    s.invoker.behaviours.set("gpuHello", async (entry, input, ctx) => {
      await release.promise;
      return { output: { fn: entry.id, generation: ctx.manifest.generation, input } };
    });
    const inFlight = s.post("/gpu_worker/run_sync", { input: "old" });
    await vi.waitFor(() => expect(s.invoker.calls).toHaveLength(1));

    // gen 2 drops gpu_worker.ts entirely
    const withoutGpu = standardFunctions().filter((f) => f.file !== "gpu_worker.ts");
    s.routes.load(manifestOf(withoutGpu, 2));
    expect((await s.post("/gpu_worker/run_sync", { input: "new" })).status).toBe(404);

    release.resolve();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ output: { fn: "gpu_worker.ts#gpuHello", generation: 1, input: "old" } });
    expect(s.invoker.calls[0]!.ctx.manifest.generation).toBe(1);
  });

  it("keeps serving the last good generation after a failed reload, and reports the failure", async () => {
    server = await startTestServer();
    const s = server;
    s.routes.beginReload();
    const held = s.post("/gpu_worker/run_sync", { input: 1 });
    await vi.waitFor(() => expect(s.routes.waitingRequests).toBe(1));
    s.routes.endReload({
      ok: false,
      error: new AppError("FUNCTION_LOAD_FAILED", "gpu_worker.ts failed to load"),
      issues: [{ code: "FUNCTION_LOAD_FAILED", file: "gpu_worker.ts", line: 7, message: "SyntaxError: Unexpected token" }],
    });
    const res = await held;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ output: { generation: 1 } });

    const doc = (await (await s.fetch("/openapi.json")).json()) as Record<string, unknown>;
    expect(doc["x-flash-reload-error"]).toMatchObject({ message: "gpu_worker.ts failed to load", issues: ["gpu_worker.ts:7: SyntaxError: Unexpected token"] });
    expect(doc["x-flash-generation"]).toBe(1);

    s.routes.load(manifestOf(standardFunctions(), 3));
    const after = (await (await s.fetch("/openapi.json")).json()) as Record<string, unknown>;
    expect(after["x-flash-reload-error"]).toBeUndefined();
    expect(after["x-flash-generation"]).toBe(3);
  });

  it("the openapi document waits for a running reload", async () => {
    server = await startTestServer();
    const s = server;
    s.routes.beginReload();
    const docPromise = s.fetch("/openapi.json").then((r) => r.json() as Promise<{ paths: Record<string, unknown> }>);
    await vi.waitFor(() => expect(s.routes.waitingRequests).toBe(1));
    s.routes.endReload({ ok: true, manifest: manifestOf([qbEntry("only.ts", "only")], 2) });
    const doc = await docPromise;
    expect(Object.keys(doc.paths).sort()).toEqual(["/", "/only/run_sync", "/only/runsync", "/ping"]);
  });
});

describe("without a good generation", () => {
  it("answers health routes, and 503 for function routes: not loaded yet, then FUNCTION_LOAD_FAILED naming the issues", async () => {
    server = await startTestServer({ manifest: null });
    const s = server;
    expect((await s.fetch("/")).status).toBe(200);
    expect((await s.fetch("/ping")).status).toBe(200);
    expect((await s.fetch("/docs")).status).toBe(200);

    const early = await s.post("/gpu_worker/run_sync", {});
    expect(early.status).toBe(503);
    expect(early.body).toMatchObject({ error: { code: "SERVICE_UNAVAILABLE" } });
    expect(early.headers.get("retry-after")).toBe("1");

    s.routes.beginReload();
    s.routes.endReload({
      ok: false,
      error: new AppError("FUNCTION_LOAD_FAILED", "2 files failed"),
      issues: [
        { code: "FUNCTION_LOAD_FAILED", file: "a.ts", line: 3, message: "ReferenceError: x is not defined" },
        { code: "ROUTE_COLLISION", file: "b.ts", message: "POST /b/run_sync is also produced by c.ts", related: ["c.ts"] },
      ],
    });
    const res = await s.post("/gpu_worker/run_sync", {});
    expect(res.status).toBe(503);
    const error = (res.body as { error: { code: string; message: string; issues: unknown[] } }).error;
    expect(error.code).toBe("FUNCTION_LOAD_FAILED");
    expect(error.message).toContain("a.ts:3: ReferenceError: x is not defined");
    expect(error.message).toContain("b.ts: POST /b/run_sync");
    expect(error.issues).toHaveLength(2);
    expect((await s.fetch("/ping")).status).toBe(200);
    const doc = (await (await s.fetch("/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(["/", "/ping"]);

    s.routes.load(manifestOf(standardFunctions(), 2));
    expect((await s.post("/gpu_worker/run_sync", {})).status).toBe(200);
  });

  it("a generation with issues still serves its good routes; a missing route's 404 names the broken files", async () => {
    server = await startTestServer({
      manifest: manifestOf([lbEntry("ok.ts", "ok", "GET", "/ok")], 1, [
        { code: "FUNCTION_LOAD_FAILED", file: "broken.ts", line: 2, message: "SyntaxError: Unexpected end of input" },
      ]),
    });
    expect((await server.fetch("/ok/ok")).status).toBe(200);
    const res = await server.post("/broken/run_sync", {});
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: "ROUTE_NOT_FOUND", hint: expect.stringContaining("broken.ts:2") } });
  });
});

describe("bounds and disconnects", () => {
  it("a reload that outlasts the wait bound gives 503 RELOAD_TIMEOUT with Retry-After", async () => {
    server = await startTestServer({ table: { reloadWaitMs: 100 } });
    server.routes.beginReload();
    const res = await server.post("/gpu_worker/run_sync", {});
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: "RELOAD_TIMEOUT" } });
    expect(res.headers.get("retry-after")).toBe("1");
    expect(server.invoker.calls).toHaveLength(0);
    server.routes.endReload({ ok: true, manifest: manifestOf(standardFunctions(), 2) });
  });

  it("a client that leaves while waiting for a reload stops waiting", async () => {
    server = await startTestServer({ recordRequests: true });
    const s = server;
    s.routes.beginReload();
    const abort = new AbortController();
    const request = s.fetch("/gpu_worker/run_sync", { method: "POST", headers: { "content-type": "application/json" }, body: "{}", signal: abort.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(s.routes.waitingRequests).toBe(1));
    abort.abort();
    await request;
    await vi.waitFor(() => expect(s.routes.waitingRequests).toBe(0));
    s.routes.endReload({ ok: true, manifest: manifestOf(standardFunctions(), 2) });
    await vi.waitFor(() => expect(s.records.find((r) => r.path === "/gpu_worker/run_sync")).toMatchObject({ clientGone: true, status: 499 }));
    expect(s.invoker.calls).toHaveLength(0);
  });

  it("a client that leaves during a call aborts the invoker's signal, quietly", async () => {
    server = await startTestServer({ recordRequests: true });
    const s = server;
    let seen: AbortSignal | undefined;
    s.invoker.behaviours.set("gpuHello", (_entry, _input, ctx) => {
      seen = ctx.signal;
      return new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error)));
    });
    const abort = new AbortController();
    const request = s.fetch("/gpu_worker/run_sync", { method: "POST", headers: { "content-type": "application/json" }, body: "{}", signal: abort.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(seen).toBeDefined());
    abort.abort();
    await request;
    await vi.waitFor(() => expect(seen!.aborted).toBe(true));
    await vi.waitFor(() => expect(s.records.find((r) => r.path === "/gpu_worker/run_sync")).toMatchObject({ clientGone: true }));
    expect(s.logger.lines.join("\n")).not.toMatch(/Internal error|SERVICE_UNAVAILABLE/);
    expect((await s.fetch("/ping")).status).toBe(200);
  });
});
