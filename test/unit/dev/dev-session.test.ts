/**
 * The dev session in this process, driven through its parts: a fake backend,
 * a watcher the test triggers, a discovery serving hand-written manifests and
 * a fake clock; the server, the route table, the reload controller, the
 * invoker and the function-call client are real. Every test waits on the
 * session's events, never on console text.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveDevOptions } from "../../../src/dev/dev-options.js";
import type { DevFlags } from "../../../src/dev/dev-options.js";
import { startDevSession } from "../../../src/dev/dev-session.js";
import type { DevSession } from "../../../src/dev/dev-session.js";
import { DevSessionEmitter } from "../../../src/dev/session-events.js";
import type { DevSessionEventName, DevSessionEvents } from "../../../src/dev/session-events.js";
import type { DevSessionParts } from "../../../src/dev/session-parts.js";
import type { FunctionEntry } from "../../../src/discovery/manifest.js";
import { AppError, isAppError } from "../../../src/common/errors.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { deferred, qbEntry } from "../../helpers/server-fixtures.js";
import { FakeDiscovery, FakeWatcher, fakeBackend } from "./fake-parts.js";
import type { FakeBackend } from "./fake-parts.js";

interface Started {
  session: DevSession;
  events: DevSessionEmitter;
  /** Every event so far, in order. */
  seen: { kind: DevSessionEventName; event: unknown }[];
  discovery: FakeDiscovery;
  watcher: FakeWatcher;
  backends: FakeBackend[];
  printed: string[];
  logger: ReturnType<typeof createMemoryLogger>;
  env: NodeJS.ProcessEnv;
  dir: string;
}

let running: Started | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await running?.session.close();
  running = undefined;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function start(functions: FunctionEntry[], flags: DevFlags = {}, parts: Partial<DevSessionParts> = {}): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), "flash-session-"));
  dirs.push(dir);
  const discovery = new FakeDiscovery(functions);
  const watcher = new FakeWatcher();
  const backends: FakeBackend[] = [];
  const events = new DevSessionEmitter();
  const seen: Started["seen"] = [];
  events.onAny((kind, event) => seen.push({ kind, event }));
  const printed: string[] = [];
  const logger = createMemoryLogger("debug");
  const env: NodeJS.ProcessEnv = {};
  const session = await startDevSession(
    { ...resolveDevOptions({ port: "0", local: true, ...flags }, {}, dir), env, logger },
    {
      clock: new FakeClock(),
      createDiscovery: () => discovery,
      createWatcher: () => watcher,
      startBackend: async () => {
        const backend = fakeBackend(`fake backend ${backends.length + 1}`);
        backends.push(backend);
        return backend;
      },
      print: (text) => printed.push(text),
      // No TypeScript thread here: session-schemas.test.ts tests the schemas with a service it answers.
      createSchemaService: () => ({ extract: () => new Promise(() => {}), close: async () => {} }),
      events,
      ...parts,
    },
  );
  running = { session, events, seen, discovery, watcher, backends, printed, logger, env, dir };
  return running;
}

const kinds = (s: Started): DevSessionEventName[] => s.seen.map((e) => e.kind);
const eventsOf = <K extends DevSessionEventName>(s: Started, kind: K): DevSessionEvents[K][] =>
  s.seen.filter((e) => e.kind === kind).map((e) => e.event as DevSessionEvents[K]);

async function post(s: Started, path: string, body: unknown, signal?: AbortSignal): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(s.session.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const hello = qbEntry("hello.ts", "hello", { resource: "hello" });
const other = qbEntry("other.ts", "other", { resource: "other" });

describe("dev session: start", () => {
  it("reports what it discovered, then ready with the routes, the backend and the watcher", async () => {
    const s = await start([hello]);
    expect(kinds(s)).toEqual(["discovered", "ready"]);
    expect(eventsOf(s, "discovered")[0]).toMatchObject({ phase: "start", functions: 1, issues: [], conflicts: [] });
    const ready = eventsOf(s, "ready")[0]!;
    expect(ready).toMatchObject({ url: s.session.url, publicUrl: s.session.url, backend: { kind: "local", description: "fake backend 1" }, startupMs: 0 });
    expect(ready.routes.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /hello/run_sync"]);
    expect(ready.watch).toBe("watching 4 files with native file events");
    expect(s.watcher.hotFiles).toEqual(["hello.ts"]);
    // The console renders the banner from that event.
    expect(s.printed.join("\n")).toContain(`Flash Dev Server  ${s.session.url}`);
    expect(s.session.url).toMatch(/^http:\/\/localhost:\d+$/);
  });

  it("refuses a project without remote functions (NO_FUNCTIONS), and stops the backend it started", async () => {
    const error = await start([]).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe("NO_FUNCTIONS");
  });

  it("reports config conflicts and orphans on start", async () => {
    const clash = { ...qbEntry("b.ts", "b", { resource: "hello" }) };
    clash.config = { ...clash.config, workersMax: 9 };
    const backends: FakeBackend[] = [];
    const s = await start([hello, clash], {}, {
      startBackend: async () => {
        const b = fakeBackend("with an orphan");
        b.cached = [{ name: "live-gone", id: "ep-gone", kind: "QB", backend: "local", configHash: "x", createdAt: "", updatedAt: "", projectId: "p", workersMin: 0 }];
        backends.push(b);
        return b;
      },
    });
    expect(eventsOf(s, "discovered")[0]!.conflicts).toEqual([{ name: "hello", endpointName: "live-hello", files: ["hello.ts", "b.ts"] }]);
    expect(eventsOf(s, "orphansFound")).toEqual([{ names: ["live-gone"] }]);
    expect(kinds(s)).toEqual(["discovered", "orphansFound", "ready"]);
  });

  it("reports a taken port before ready", async () => {
    const s = await start([hello], { port: "8888" }, { findFreePort: async () => ({ port: 0, requested: 8888, moved: true }) });
    expect(eventsOf(s, "portMoved")).toEqual([{ requested: 8888, port: 0 }]);
    expect(kinds(s).indexOf("portMoved")).toBeLessThan(kinds(s).indexOf("ready"));
  });
});

describe("dev session: --auto-provision", () => {
  const six = Array.from({ length: 6 }, (_, i) => qbEntry(`svc${i}.ts`, "run", { resource: `svc${i}` }));

  it("provisions every endpoint before serving, after the confirm part says yes above five", async () => {
    const questions: string[] = [];
    const s = await start(six, { autoProvision: true }, { confirm: async (q) => (questions.push(q), true) });
    expect(questions).toHaveLength(1);
    expect(eventsOf(s, "provisionConfirm")[0]!.endpoints).toHaveLength(6);
    expect(eventsOf(s, "provisionStarted")).toEqual([{ count: 6 }]);
    expect(eventsOf(s, "provisionResult").map((r) => r.ok && r.outcome)).toEqual(Array(6).fill("created"));
    expect(eventsOf(s, "provisionFinished")[0]!.counts).toMatchObject({ created: 6, failed: 0 });
    expect(kinds(s).at(-1)).toBe("ready");
  });

  it("skips provisioning when the answer is no, or when nobody can be asked", async () => {
    const declined = await start(six, { autoProvision: true }, { confirm: async () => false });
    expect(eventsOf(declined, "provisionSkipped")).toEqual([{ reason: "declined", count: 6 }]);
    await declined.session.close();
    const unattended = await start(six, { autoProvision: true });
    expect(eventsOf(unattended, "provisionSkipped")).toEqual([{ reason: "no-terminal", count: 6 }]);
    expect(eventsOf(unattended, "provisionStarted")).toEqual([]);
  });
});

describe("dev session: calls", () => {
  it("reports a call from start to finish: route, request, job id, status, logs, duration", async () => {
    const s = await start([hello]);
    s.backends[0]!.behaviour = (_req, args) => ({ value: { got: args[0] }, logs: [{ stream: "stdout", text: "hello from the function\n" }] });
    const finished = s.events.once("callFinished");
    const res = await post(s, "/hello/run_sync", { input: { name: "Ada" } });
    expect(res).toMatchObject({ status: 200, body: { status: "COMPLETED", output: { got: { name: "Ada" } } } });
    const done = await finished;
    expect(done).toMatchObject({ outcome: "completed", function: "hello.ts#hello", endpoint: "live-hello", local: false, route: { method: "POST", path: "/hello/run_sync" }, jobId: "job-1" });
    const callKinds = kinds(s).filter((k) => k.startsWith("call"));
    expect(callKinds).toEqual(["callStarted", "callSubmitted", "callStatus", "callLogs", "callFinished"]);
    const ids = new Set(s.seen.filter((e) => e.kind.startsWith("call")).map((e) => (e.event as { callId: number }).callId));
    expect(ids.size).toBe(1);
    expect(eventsOf(s, "callStarted")[0]!.requestId).toEqual(expect.any(String));
    expect(eventsOf(s, "callStatus")[0]).toMatchObject({ jobId: "job-1", status: "IN_PROGRESS" });
    // The console renders the function's output from the callLogs event.
    expect(s.logger.lines).toContain("[live-hello] hello from the function");
  });

  it("a call whose endpoint cannot be provisioned still finishes, as failed", async () => {
    const s = await start([hello]);
    s.backends[0]!.provisionError = new AppError("PROVISION_FAILED", "no capacity");
    const finished = s.events.once("callFinished");
    expect((await post(s, "/hello/run_sync", {})).status).toBe(503);
    const done = await finished;
    expect(done.outcome).toBe("failed");
    expect(done.outcome !== "completed" && done.error.code).toBe("PROVISION_FAILED");
  });

  it("a call whose client goes away finishes as abandoned", async () => {
    const s = await start([hello]);
    const hold = deferred<{ value: unknown }>();
    s.backends[0]!.behaviour = () => hold.promise;
    const submitted = s.events.once("callSubmitted");
    const finished = s.events.once("callFinished");
    const controller = new AbortController();
    const request = post(s, "/hello/run_sync", {}, controller.signal).catch(() => undefined);
    await submitted;
    controller.abort();
    expect((await finished).outcome).toBe("abandoned");
    await request;
  });
});

describe("dev session: reload", () => {
  it("reloads on a relevant change: started, routes changed, finished; the new route is served", async () => {
    const s = await start([hello]);
    s.discovery.functions.push(other);
    const finished = s.events.once("reloadFinished");
    s.watcher.change("README.md"); // not code: no reload
    s.watcher.change("other.ts");
    expect(await finished).toMatchObject({ ok: true, paths: ["other.ts"], routes: 2, added: ["POST /other/run_sync"], removed: [] });
    expect(eventsOf(s, "reloadStarted")).toEqual([{ paths: ["other.ts"] }]);
    expect(eventsOf(s, "routesChanged")[0]).toMatchObject({ added: ["POST /other/run_sync"], removed: [], routes: 2 });
    expect(kinds(s).slice(-4)).toEqual(["reloadStarted", "routesChanged", "reloadFinished", "discovered"]);
    expect(s.discovery.asked.at(-1)).toEqual(["other.ts"]);
    expect((await post(s, "/other/run_sync", {})).status).toBe(200);

    s.discovery.functions = [hello];
    const removed = s.events.once("reloadFinished");
    s.watcher.change("other.ts");
    expect(await removed).toMatchObject({ ok: true, added: [], removed: ["POST /other/run_sync"] });
    expect((await post(s, "/other/run_sync", {})).status).toBe(404);
  });

  it("a failed reload keeps the last good routes serving and says why", async () => {
    const s = await start([hello]);
    s.discovery.failNext = new AppError("INTERNAL", "esbuild went away");
    const finished = s.events.once("reloadFinished");
    s.watcher.change("hello.ts");
    const done = await finished;
    expect(done.ok).toBe(false);
    expect(!done.ok && done.error.message).toBe("esbuild went away");
    expect((await post(s, "/hello/run_sync", {})).status).toBe(200);
  });

  it("session.reload() reloads every scanned file and resolves when done", async () => {
    const s = await start([hello, other]);
    await s.session.reload();
    expect(eventsOf(s, "reloadFinished")[0]).toMatchObject({ ok: true, paths: ["hello.ts", "other.ts"] });
  });

  it("a .env change that configures the backend swaps it; a call in flight finishes on the old one, which then closes", async () => {
    const s = await start([hello]);
    const [first] = s.backends;
    const hold = deferred<{ value: unknown }>();
    first!.behaviour = () => hold.promise;
    const submitted = s.events.once("callSubmitted");
    const call = post(s, "/hello/run_sync", {});
    await submitted;

    await writeFile(join(s.dir, ".env"), "FLASH_CPU_IMAGE=node:24\nGREETING=hi\n");
    const swapped = s.events.once("backendSwapped");
    const reloaded = s.events.once("reloadFinished");
    s.watcher.change(".env");
    expect(await swapped).toMatchObject({ from: { description: "fake backend 1" }, to: { description: "fake backend 2" }, reason: "env" });
    expect(await reloaded).toMatchObject({ ok: true });
    expect(eventsOf(s, "envChanged")).toEqual([{ keys: ["FLASH_CPU_IMAGE", "GREETING"], restartsBackend: true, keyIgnored: false }]);
    expect(s.env.GREETING).toBe("hi");
    // Module top-level code may read the environment: every module is imported again.
    expect(s.discovery.invalidated).toBe(1);
    expect(s.discovery.asked.at(-1)).toBeUndefined();
    expect(s.session.backend().description).toBe("fake backend 2");

    // New calls go to the new backend; the old one waits for its call.
    expect((await post(s, "/hello/run_sync", { input: 2 })).status).toBe(200);
    expect(s.backends[1]!.requests).toHaveLength(1);
    expect(first!.closed).toBe(false);
    const retired = s.events.once("backendRetired");
    hold.resolve({ value: "finished on the old backend" });
    expect((await call).body).toMatchObject({ output: "finished on the old backend" });
    expect(await retired).toMatchObject({ backend: { description: "fake backend 1" }, drained: true });
    expect(first!.closed).toBe(true);
  });

  it("a .env change of other values reloads without a new backend", async () => {
    const s = await start([hello]);
    await writeFile(join(s.dir, ".env"), "GREETING=hi\n");
    const reloaded = s.events.once("reloadFinished");
    s.watcher.change(".env");
    await reloaded;
    expect(eventsOf(s, "envChanged")).toEqual([{ keys: ["GREETING"], restartsBackend: false, keyIgnored: false }]);
    expect(eventsOf(s, "backendSwapped")).toEqual([]);
  });
});

describe("dev session: /__flash/events and close", () => {
  it("streams reloads to /docs pages, and close() ends the streams, the watcher, discovery and the backend", async () => {
    const s = await start([hello]);
    const res = await fetch(`${s.session.url}/__flash/events`);
    const reader = res.body!.getReader();
    let text = "";
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil(": connected");
    s.discovery.functions.push(other);
    s.watcher.change("other.ts");
    await readUntil("event: reload");
    expect(text).toMatch(/event: routes\ndata: \{"generation":2,"added":\["POST \/other\/run_sync"\],"removed":\[\]\}/);
    expect(text).toMatch(/event: reload\ndata: \{"ok":true,"generation":2,"routes":2\}/);

    const closed = s.events.once("closed");
    await s.session.close();
    await closed;
    expect((await reader.read()).done).toBe(true);
    expect(s.watcher.closed).toBe(true);
    expect(s.discovery.closed).toBe(true);
    expect(s.backends[0]!.closed).toBe(true);
    running = undefined;
  });
});
