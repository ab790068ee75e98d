/**
 * A reload holds only the requests it may affect: those under the route
 * prefixes it names. Everything else is served at once by the current
 * generation.
 */
import { describe, expect, it } from "vitest";
import { RouteTable } from "../../../src/server/route-table.js";
import type { RouteGeneration } from "../../../src/server/route-generation.js";
import { manifestOf, qbEntry } from "../../helpers/server-fixtures.js";

function table(): RouteTable {
  const t = new RouteTable();
  t.load(manifestOf([qbEntry("a.ts", "a"), qbEntry("b.ts", "b"), qbEntry("ab.ts", "ab")], 1));
  return t;
}

/** Resolves to the generation id, or "waiting" if acquire has not settled by the next macrotask. */
async function settledId(promise: Promise<RouteGeneration>): Promise<number | "waiting"> {
  const marker = new Promise<"waiting">((resolve) => setImmediate(() => resolve("waiting")));
  return Promise.race([promise.then((g) => g.id), marker]);
}

const next = (id: number) => ({ ok: true as const, manifest: manifestOf([qbEntry("a.ts", "a"), qbEntry("b.ts", "b"), qbEntry("ab.ts", "ab")], id) });

describe("reloads scoped to route prefixes", () => {
  it("serves routes outside the scope at once, and holds the ones inside", async () => {
    const t = table();
    t.beginReload(["/a"]);
    t.startReload();
    expect(await settledId(t.acquire(undefined, "/b/run_sync"))).toBe(1);
    expect(await settledId(t.acquire(undefined, "/ab/run_sync")), "/ab is not under /a").toBe(1);
    expect(await settledId(t.acquire(undefined, "/nothing/here")), "a 404 outside the scope").toBe(1);
    const held = t.acquire(undefined, "/a/run_sync");
    const heldSub = t.acquire(undefined, "/a/new/run_sync");
    expect(await settledId(held)).toBe("waiting");
    expect(t.waitingRequests).toBe(2);
    t.endReload(next(2));
    expect((await held).id).toBe(2);
    expect((await heldSub).id).toBe(2);
  });

  it("a change that arrives during a run holds its requests until the next run has applied it", async () => {
    const t = table();
    t.beginReload(["/a"]);
    t.startReload();
    t.beginReload(["/b"]); // saved while the run for a.ts is in progress
    const b = t.acquire(undefined, "/b/run_sync");
    const a = t.acquire(undefined, "/a/run_sync");
    t.endReload(next(2)); // the run for a.ts ends
    expect((await a).id).toBe(2);
    expect(await settledId(b)).toBe("waiting");
    t.startReload();
    t.endReload(next(3));
    expect((await b).id).toBe(3);
    expect(t.isReloading).toBe(false);
  });

  it('"all", a request without a path, and a table with nothing loaded yet wait for the reload', async () => {
    const t = table();
    t.beginReload(["/a"]);
    t.beginReload("all");
    const b = t.acquire(undefined, "/b/run_sync");
    const noPath = t.acquire();
    expect(await settledId(b)).toBe("waiting");
    t.endReload(next(2));
    expect((await b).id).toBe(2);
    expect((await noPath).id).toBe(2);

    const empty = new RouteTable();
    empty.beginReload(["/a"]);
    const first = empty.acquire(undefined, "/b/run_sync");
    expect(await settledId(first)).toBe("waiting");
    empty.endReload(next(1));
    expect((await first).id).toBe(1);
  });

  it("matches a prefix segment written as a parameter against any segment", async () => {
    const t = table();
    t.beginReload(["/users/:id"]);
    expect(await settledId(t.acquire(undefined, "/users/42/run_sync"))).toBe("waiting");
    expect(await settledId(t.acquire(undefined, "/users"))).toBe(1);
    t.endReload(next(2));
  });
});
