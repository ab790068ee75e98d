import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildEndpointReport, isStale } from "../../../src/provision/endpoint-report.js";
import { planUndeploy, runUndeploy } from "../../../src/provision/undeploy.js";
import type { UndeployEvent, UndeployRequest } from "../../../src/provision/undeploy.js";
import { createResourceCache } from "../../../src/provision/resource-cache.js";
import type { CachedEndpoint } from "../../../src/provision/resource-cache.js";
import type { ResourceSpec } from "../../../src/sdk/resources.js";
import type { Endpoint } from "../../../src/runpod/wire-types.js";
import { FakeClock } from "../../helpers/fake-clock.js";

const ME = "project-mine-0001";
const THEM = "project-them-0002";

function endpoint(id: string, name: string, marker: string | undefined, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    id,
    name,
    type: "QUEUE",
    workers: { min: 0, max: 2 },
    scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
    dataCenterIds: [],
    networkVolumes: [],
    timeout: 300000,
    flashboot: "FLASHBOOT",
    createdAt: `2025-01-01T00:00:0${id.slice(-1)}Z`,
    env: { ...(marker ? { FLASH_PROJECT_ID: marker } : {}), FLASH_CONFIG_HASH: `hash-${name}` },
    cpu: [{ id: "cpu3c", vcpuCount: 2 }],
    ...extra,
  };
}

const spec = (name: string): ResourceSpec => ({ name: name.replace(/^live-/, ""), endpointName: name }) as ResourceSpec;
const cacheEntry = (name: string, id: string): CachedEndpoint => ({
  name,
  id,
  kind: "QB",
  backend: "runpod",
  configHash: `hash-${name}`,
  createdAt: "2025-01-01T00:00:00Z",
  updatedAt: "2025-01-01T00:00:00Z",
  projectId: ME,
  workersMin: 0,
});

const listed = [
  endpoint("ep1", "live-a", ME, { workers: { min: 1, max: 2 } }),
  endpoint("ep2", "live-b", ME),
  endpoint("ep3", "live-b", ME), // a duplicate of live-b
  endpoint("ep4", "live-gone-from-code", ME),
  endpoint("ep5", "live-a", THEM),
  endpoint("ep6", "live-a", undefined),
];
const cached = [cacheEntry("live-a", "ep1"), cacheEntry("live-b", "ep2"), cacheEntry("live-deleted-elsewhere", "ep9")];

function rows(specs: ResourceSpec[] | null = [spec("live-a"), spec("live-b")]) {
  return buildEndpointReport({
    listed,
    cached,
    projectId: ME,
    specs: specs ?? undefined,
    hashOf: (s) => (s.endpointName === "live-b" ? "changed-hash" : `hash-${s.endpointName}`),
    health: new Map<string, never>([["ep1", { jobs: { completed: 0, failed: 0, inProgress: 1, inQueue: 2, retried: 0 }, workers: { idle: 1, initializing: 0, ready: 1, running: 1, throttled: 0, unhealthy: 0 } } as never]]),
  });
}

describe("the endpoint report", () => {
  it("holds this project's endpoints by marker and its cache entries, judged against the code", () => {
    const report = rows();
    expect(report.map((r) => [r.name, r.id, r.inCode, r.onProvider])).toEqual([
      ["live-a", "ep1", "yes", true],
      ["live-b", "ep2", "changed", true],
      ["live-b", "ep3", "duplicate", true],
      ["live-deleted-elsewhere", "ep9", "no", false],
      ["live-gone-from-code", "ep4", "no", true],
    ]);
    expect(report[0]).toMatchObject({ billsWhileIdle: true, workers: { running: 1, idle: 1 }, jobs: { inQueue: 2, inProgress: 1 }, compute: "CPU cpu3c-2", cached: true });
    expect(report.filter(isStale).map((r) => r.id)).toEqual(["ep3", "ep9", "ep4"]);
    expect(rows(null).every((r) => r.inCode === "unknown")).toBe(true);
  });
});

describe("planning an undeploy", () => {
  const plan = (request: Partial<UndeployRequest>, options: { specsKnown?: boolean; projectId?: string } = {}) =>
    planUndeploy({
      request: { targets: [], stale: false, all: false, force: false, ...request },
      listed,
      rows: rows(),
      cached,
      projectId: "projectId" in options ? options.projectId : ME,
      specsKnown: options.specsKnown ?? true,
    });

  it("by name deletes every endpoint of this project of that name, and never another's", () => {
    expect(plan({ targets: ["b"] }).delete.map((d) => d.id)).toEqual(["ep2", "ep3"]);
    expect(plan({ targets: ["live-a"] }).delete.map((d) => d.id)).toEqual(["ep1"]);
    expect(plan({ targets: ["deleted-elsewhere"] })).toMatchObject({ delete: [], forget: [{ id: "ep9" }] });
  });

  it("--stale and --all stay within this project", () => {
    expect(plan({ stale: true })).toMatchObject({ delete: [{ id: "ep3" }, { id: "ep4" }], forget: [{ id: "ep9" }] });
    expect(plan({ all: true }).delete.map((d) => d.id)).toEqual(["ep1", "ep2", "ep3", "ep4"]);
    expect(() => plan({ stale: true }, { specsKnown: false })).toThrow(expect.objectContaining({ code: "FUNCTION_LOAD_FAILED" }));
  });

  it("another project's or an unmarked endpoint: refused by id without --force, deleted by id with it, refused by name always", () => {
    expect(() => plan({ targets: ["ep5"] })).toThrow(expect.objectContaining({ code: "FORBIDDEN", message: expect.stringContaining(`it belongs to project ${THEM}`) }));
    expect(() => plan({ targets: ["ep6"] })).toThrow(/it has no FLASH_PROJECT_ID marker/);
    expect(plan({ targets: ["ep5", "ep6"], force: true }).delete).toEqual([
      { name: "live-a", id: "ep5", reason: "forced", mine: false, marker: THEM },
      { name: "live-a", id: "ep6", reason: "forced", mine: false },
    ]);
    // Without a project id every endpoint is someone else's: only --force by id works.
    expect(() => plan({ targets: ["ep1"] }, { projectId: undefined })).toThrow(/FLASH_PROJECT_ID marker of this project|belongs to project/);
  });

  it("deletes nothing when one target is unknown, and needs exactly one kind of request", () => {
    expect(() => plan({ targets: ["a", "nope"] })).toThrow(expect.objectContaining({ code: "NOT_FOUND", message: expect.stringContaining('"nope"') }));
    expect(() => plan({})).toThrow(/say which endpoints/);
    expect(() => plan({ targets: ["a"], all: true })).toThrow(/not several/);
  });
});

describe("running an undeploy", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "flash-undeploy-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reports a slow deletion while it lasts, and drops only the deleted entries from the cache", async () => {
    const cache = createResourceCache(dir);
    for (const e of cached) await cache.put(e);
    const clock = new FakeClock();
    const events: string[] = [];
    let finish: () => void = () => {};
    const deletions: string[] = [];
    const running = runUndeploy(
      { delete: [{ name: "live-a", id: "ep1", reason: "named", mine: true }], forget: [cached[2]!] },
      {
        cache,
        clock,
        progressEveryMs: 3_000,
        deleteEndpoint: (id) => {
          deletions.push(id);
          return new Promise<void>((resolve) => (finish = resolve));
        },
        onEvent: (e: UndeployEvent) => events.push(`${e.kind}${"ms" in e ? ` ${e.ms}` : ""}`),
      },
    );
    await clock.sleepingFor(3_000);
    await clock.advance(3_000);
    await clock.advance(3_000);
    finish();
    const result = await running;
    expect(deletions).toEqual(["ep1"]);
    expect(events).toEqual(["deleting", "still-deleting 3000", "still-deleting 6000", "deleted 6000", "forgotten"]);
    expect(result).toMatchObject({ deleted: [{ id: "ep1" }], failed: [], cacheProblems: [] });
    expect((await cache.list()).map((e) => e.id)).toEqual(["ep2"]);
  });

  it("a failed deletion is reported and keeps its cache entry; the others go on", async () => {
    const cache = createResourceCache(dir);
    for (const e of cached) await cache.put(e);
    const events: UndeployEvent[] = [];
    const result = await runUndeploy(
      { delete: [{ name: "live-a", id: "ep1", reason: "all", mine: true }, { name: "live-b", id: "ep2", reason: "all", mine: true }], forget: [] },
      { cache, deleteEndpoint: async (id) => { if (id === "ep1") throw new Error("boom"); }, onEvent: (e) => events.push(e) },
    );
    expect(result.failed.map((f) => f.id)).toEqual(["ep1"]);
    expect(events.find((e) => e.kind === "failed")).toMatchObject({ error: { code: "UPSTREAM_ERROR", message: "boom" } });
    expect((await cache.list()).map((e) => e.id).sort()).toEqual(["ep1", "ep9"]);
  });
});
