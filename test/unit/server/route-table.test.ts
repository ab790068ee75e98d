import { afterEach, describe, expect, it, vi } from "vitest";
import { hasCode } from "../../../src/common/errors.js";
import { createRouteGeneration } from "../../../src/server/route-generation.js";
import { RouteTable } from "../../../src/server/route-table.js";
import { lbEntry, manifestOf, qbEntry, standardFunctions } from "../../helpers/server-fixtures.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("createRouteGeneration", () => {
  it("compiles routes and aliases and looks them up", () => {
    const gen = createRouteGeneration(manifestOf(standardFunctions(), 4));
    expect(gen.id).toBe(4);
    expect(gen.routes.map((r) => r.path)).toContain("/gpu_worker/run_sync");
    const alias = gen.lookup("POST", "/gpu_worker/runsync");
    expect(alias).toMatchObject({ kind: "found", route: { alias: true, route: { path: "/gpu_worker/run_sync" } } });
    expect(gen.lookup("HEAD", "/lb_worker/health")).toMatchObject({ kind: "found" });
    expect(gen.lookup("GET", "/lb_worker/process")).toEqual({ kind: "method-not-allowed", allow: ["POST"] });
    expect(gen.lookup("GET", "/missing")).toEqual({ kind: "not-found" });
  });

  it("drops routes that shadow built-in paths or collide, and reports them as issues", () => {
    const gen = createRouteGeneration(
      manifestOf([
        lbEntry("docs.ts", "page", "GET", "/"),
        lbEntry("ping.ts", "p", "GET", "/"),
        lbEntry("__flash/x.ts", "x", "GET", "/y"),
        lbEntry("a.ts", "one", "GET", "/items/:id"),
        lbEntry("a.ts", "two", "GET", "/items/{other}"),
        lbEntry("a.ts", "three", "POST", "/items/:id"),
        qbEntry("q.ts", "q"),
      ]),
    );
    expect(gen.routes.map((r) => r.entry.export)).toEqual(["one", "three", "q"]);
    expect(gen.issues.map((i) => [i.code, i.file])).toEqual([
      ["ROUTE_COLLISION", "docs.ts"],
      ["ROUTE_COLLISION", "ping.ts"],
      ["ROUTE_COLLISION", "__flash/x.ts"],
      ["ROUTE_COLLISION", "a.ts"],
    ]);
    expect(gen.issues[3]!.message).toContain("a.ts#one");
  });
});

describe("RouteTable", () => {
  it("has no generation until loaded; routes() follows the current one", () => {
    const table = new RouteTable();
    expect(table.current).toBeUndefined();
    expect(table.routes()).toEqual([]);
    table.load(manifestOf([qbEntry("q.ts", "q")]));
    expect(table.routes().map((r) => r.path)).toEqual(["/q/run_sync"]);
  });

  it("acquire waits for a running reload and returns the new generation", async () => {
    const table = new RouteTable();
    table.load(manifestOf([qbEntry("q.ts", "q")], 1));
    table.beginReload();
    table.beginReload(); // idempotent
    const pending = table.acquire();
    expect(table.waitingRequests).toBe(1);
    table.endReload({ ok: true, manifest: manifestOf([qbEntry("q.ts", "q")], 2) });
    expect((await pending).id).toBe(2);
    expect(table.isReloading).toBe(false);
  });

  it("a failed reload keeps the last good generation and records the failure until the next success", async () => {
    const table = new RouteTable();
    const swaps: number[] = [];
    table.onSwap((g) => swaps.push(g.id));
    table.load(manifestOf([qbEntry("q.ts", "q")], 1));
    table.beginReload();
    const pending = table.acquire();
    table.endReload({ ok: false, error: new Error("boom"), issues: [{ code: "FUNCTION_LOAD_FAILED", file: "q.ts", message: "boom" }] });
    expect((await pending).id).toBe(1);
    expect(table.lastFailure?.issues).toHaveLength(1);
    table.load(manifestOf([qbEntry("q.ts", "q")], 3));
    expect(table.lastFailure).toBeUndefined();
    expect(swaps).toEqual([1, 3]);
  });

  it("without a good generation: SERVICE_UNAVAILABLE, then FUNCTION_LOAD_FAILED naming the issues", async () => {
    const table = new RouteTable();
    await expect(table.acquire()).rejects.toSatisfy((e) => hasCode(e, "SERVICE_UNAVAILABLE"));
    const issues = Array.from({ length: 7 }, (_, i) => ({ code: "FUNCTION_LOAD_FAILED" as const, file: `f${i}.ts`, line: i + 1, message: `bad ${i}` }));
    table.endReload({ ok: false, error: new Error("loading failed"), issues });
    const error = await table.acquire().catch((e: unknown) => e);
    expect(hasCode(error, "FUNCTION_LOAD_FAILED")).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain("f0.ts:1: bad 0");
    expect(message).toContain("… and 2 more");
    table.endReload({ ok: false, error: new Error("plain failure") });
    await expect(table.acquire()).rejects.toThrow("plain failure");
  });

  it("gives up waiting after reloadWaitMs with RELOAD_TIMEOUT", async () => {
    vi.useFakeTimers();
    const table = new RouteTable({ reloadWaitMs: 10_000 });
    table.load(manifestOf([qbEntry("q.ts", "q")]));
    table.beginReload();
    const pending = table.acquire().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(table.waitingRequests).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(hasCode(await pending, "RELOAD_TIMEOUT")).toBe(true);
    expect(table.waitingRequests).toBe(0);
  });

  it("stops waiting when the request's signal aborts", async () => {
    const table = new RouteTable();
    table.beginReload();
    const controller = new AbortController();
    const pending = table.acquire(controller.signal).catch((e: unknown) => e);
    controller.abort(new Error("gone"));
    expect(await pending).toMatchObject({ message: "gone" });
    expect(table.waitingRequests).toBe(0);
  });
});
