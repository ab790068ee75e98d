/**
 * A file that had routes and looks empty, or without remote functions, is an
 * in-place save half done until it has stayed so for the settle delay: its
 * last good version keeps serving and the manifest asks for a recheck. Time
 * is a fake clock; the files are real.
 */
import { rmSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../../src/common/clock.js";
import { openDiscovery, qbModule, routeList, writeProject } from "./helpers.js";

function fakeClock(): Clock & { advance(ms: number): void } {
  let t = 1000;
  return {
    now: () => t,
    wallNow: () => Date.now(),
    sleep: async () => undefined,
    advance(ms) {
      t += ms;
    },
  };
}

const HEADER = 'import { remote, CpuLiveServerless } from "flash-ts";\n';

describe("files that look half-saved", () => {
  it("an emptied file keeps its routes until it has stayed empty for the settle delay", async () => {
    const root = writeProject({ "package.json": '{ "type": "module" }', "a.ts": qbModule("a"), "b.ts": qbModule("b") });
    const clock = fakeClock();
    const discovery = openDiscovery({ root, clock, settleMs: 1000 });
    const good = await discovery.discover();
    expect(routeList(good)).toEqual(["POST /a/run_sync", "POST /b/run_sync"]);
    expect(good.unsettled).toBeUndefined();

    truncateSync(join(root, "a.ts"));
    const empty = await discovery.discover(["a.ts"]);
    expect(routeList(empty)).toEqual(["POST /a/run_sync", "POST /b/run_sync"]);
    expect(empty.modules["a.ts"]!.hash).toBe(good.modules["a.ts"]!.hash);
    expect(empty.unsettled).toEqual({ files: ["a.ts"], recheckInMs: 1000 });
    expect(empty.watchedInputs).toContain("a.ts");
    expect(empty.issues).toEqual([]);

    clock.advance(600);
    const stillEmpty = await discovery.discover(["a.ts"]);
    expect(routeList(stillEmpty)).toContain("POST /a/run_sync");
    expect(stillEmpty.unsettled).toEqual({ files: ["a.ts"], recheckInMs: 400 });

    clock.advance(400);
    const settled = await discovery.discover(["a.ts"]);
    expect(routeList(settled)).toEqual(["POST /b/run_sync"]);
    expect(settled.unsettled).toBeUndefined();
    expect(settled.modules["a.ts"]).toBeUndefined();
  });

  it("a prefix that parses but exports nothing is held too, and the rest of the save is served", async () => {
    const root = writeProject({ "package.json": '{ "type": "module" }', "a.ts": qbModule("a") });
    const clock = fakeClock();
    const discovery = openDiscovery({ root, clock, settleMs: 1000 });
    const good = await discovery.discover();

    writeFileSync(join(root, "a.ts"), HEADER);
    const partial = await discovery.discover(["a.ts"]);
    expect(routeList(partial)).toEqual(["POST /a/run_sync"]);
    expect(partial.modules["a.ts"]!.hash).toBe(good.modules["a.ts"]!.hash);
    expect(partial.unsettled?.files).toEqual(["a.ts"]);

    clock.advance(200);
    writeFileSync(join(root, "a.ts"), qbModule("a", "renamed"));
    const done = await discovery.discover(["a.ts"]);
    expect(routeList(done)).toEqual(["POST /a/run_sync"]);
    expect(done.functions[0]!.export).toBe("renamed");
    expect(done.unsettled).toBeUndefined();
  });

  it("a file still being written (its size or mtime changing) is not settled, however long it has looked empty", async () => {
    const root = writeProject({ "package.json": '{ "type": "module" }', "a.ts": qbModule("a") });
    const clock = fakeClock();
    const discovery = openDiscovery({ root, clock, settleMs: 1000 });
    await discovery.discover();
    writeFileSync(join(root, "a.ts"), "// one\n");
    expect((await discovery.discover(["a.ts"])).unsettled?.files).toEqual(["a.ts"]);
    clock.advance(900);
    writeFileSync(join(root, "a.ts"), "// one, two\n");
    utimesSync(join(root, "a.ts"), new Date(), new Date(Date.now() + 5000));
    clock.advance(900);
    const later = await discovery.discover(["a.ts"]);
    expect(routeList(later)).toEqual(["POST /a/run_sync"]);
    expect(later.unsettled).toEqual({ files: ["a.ts"], recheckInMs: 1000 });
    clock.advance(1000);
    expect(routeList(await discovery.discover(["a.ts"]))).toEqual([]);
  });

  it("a deleted file, or one that never had routes, is not held", async () => {
    const root = writeProject({ "package.json": '{ "type": "module" }', "a.ts": qbModule("a"), "b.ts": qbModule("b"), "c.ts": HEADER + "// remote, later\n" });
    const clock = fakeClock();
    const discovery = openDiscovery({ root, clock, settleMs: 1000 });
    expect(routeList(await discovery.discover())).toEqual(["POST /a/run_sync", "POST /b/run_sync"]);
    rmSync(join(root, "a.ts"));
    truncateSync(join(root, "c.ts"));
    const after = await discovery.discover(["a.ts", "c.ts"]);
    expect(routeList(after)).toEqual(["POST /b/run_sync"]);
    expect(after.unsettled).toBeUndefined();
  });
});
