/**
 * The function runtime alone, with no HTTP server and no watcher: what a
 * script runner would compose (docs/internals.md, "The dev session").
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startFunctionRuntime } from "../../../src/dev/function-runtime.js";
import type { FunctionRuntime } from "../../../src/dev/function-runtime.js";
import { DevSessionEmitter } from "../../../src/dev/session-events.js";
import type { DevSessionEvents } from "../../../src/dev/session-events.js";
import type { CachedEndpoint } from "../../../src/provision/resource-cache.js";
import { getRegistry } from "../../../src/sdk/registry.js";
import { nullLogger } from "../../../src/common/logger.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { qbEntry } from "../../helpers/server-fixtures.js";
import { FakeDiscovery, fakeBackend } from "./fake-parts.js";
import type { FakeBackend } from "./fake-parts.js";

const dirs: string[] = [];
let runtime: FunctionRuntime | undefined;

afterEach(async () => {
  await runtime?.close({ review: false });
  runtime = undefined;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const cached = (name: string, workersMin: number): CachedEndpoint => ({
  name,
  id: `ep-${name}`,
  kind: "QB",
  backend: "runpod",
  configHash: "h",
  createdAt: "",
  updatedAt: "",
  projectId: "p",
  workersMin,
});

async function start(kind: "local" | "runpod" = "local") {
  const dir = await mkdtemp(join(tmpdir(), "flash-runtime-"));
  dirs.push(dir);
  const events = new DevSessionEmitter();
  const backends: FakeBackend[] = [];
  const discovery = new FakeDiscovery([qbEntry("hello.ts", "hello", { resource: "hello" })]);
  runtime = await startFunctionRuntime({
    projectRoot: dir,
    backend: kind,
    env: {},
    logger: nullLogger,
    events,
    clock: new FakeClock(),
    startBackend: async () => {
      const b = fakeBackend(`backend ${backends.length + 1}`, kind);
      backends.push(b);
      return b;
    },
    createDiscovery: () => discovery,
  });
  return { runtime, events, backends, discovery };
}

describe("function runtime (no server, no watcher)", () => {
  it("discovers, and runs a function through its invoker, which is this process's dispatcher, with call events", async () => {
    const { runtime: rt, events, backends } = await start();
    expect(getRegistry().dispatcher).toBe(rt.invoker);
    const manifest = await rt.discover();
    const finished = events.once("callFinished");
    const result = await rt.invoker.invoke(manifest.functions[0]!, { name: "script" }, { manifest, signal: new AbortController().signal, requestId: "r1" });
    expect(result).toMatchObject({ output: { echo: { name: "script" } }, jobId: "job-1" });
    expect(await finished).toMatchObject({ outcome: "completed", endpoint: "live-hello", jobId: "job-1" });
    expect(backends[0]!.ensured).toEqual(["hello"]);
  });

  it("on close: --cleanup deletes this project's endpoints; on Runpod, warm endpoints are named; no review after a failed start", async () => {
    const first = await start();
    first.backends[0]!.cached = [cached("live-a", 0)];
    const deleted = first.events.once("endpointsDeleted");
    await first.runtime.close({ cleanup: true });
    expect(await deleted).toEqual({ deleted: ["live-a"], failed: [] });
    expect(first.backends[0]!.closed).toBe(true);
    expect(getRegistry().dispatcher).toBeUndefined();

    const second = await start("runpod");
    second.backends[0]!.cached = [cached("live-warm", 1), cached("live-cold", 0)];
    const kept: DevSessionEvents["warmEndpointsKept"][] = [];
    second.events.on("warmEndpointsKept", (e) => kept.push(e));
    await second.runtime.close();
    expect(kept).toEqual([{ endpoints: [{ name: "live-warm", workersMin: 1 }] }]);

    const third = await start("runpod");
    third.backends[0]!.cached = [cached("live-warm", 1)];
    const seen: string[] = [];
    third.events.onAny((kind) => seen.push(kind));
    await third.runtime.close({ review: false });
    expect(seen).toEqual([]);
    runtime = undefined;
  });
});
