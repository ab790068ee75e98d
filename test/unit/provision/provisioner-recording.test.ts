/**
 * A created endpoint is never forgotten: when `.runpod/resources.json` cannot
 * be written after a create (it is a folder, its lock is held, its folder is
 * read-only), later calls, a restart, and another session sharing the
 * provider find the endpoint again instead of creating another one; it is
 * recorded as soon as the cache can be written. Duplicates left on the
 * provider by older versions are reported and offered to the orphan logic.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProvisioner } from "../../../src/provision/provisioner.js";
import { createResourceCache } from "../../../src/provision/resource-cache.js";
import { CONFIG_HASH_ENV, PROJECT_MARKER_ENV, endpointConfigHash, resolveWorkerRuntime, toCreateEndpointRequest } from "../../../src/provision/endpoint-request.js";
import { acquireLock } from "../../../src/common/lock.js";
import type { HeldLock } from "../../../src/common/lock.js";
import { CpuLiveLoadBalancer, LiveServerless, GpuGroup } from "../../../src/sdk/index.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { createFakeControlPlane } from "./fake-control-plane.js";

const PROJECT = "project-aaaa-1111";
/** Lock timings short enough that a held lock fails a cache write quickly. */
const SHORT_LOCK = { staleMs: 300, heartbeatMs: 50, timeoutMs: 400, pollMs: 10 };

let dir: string;
let held: HeldLock | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-recording-"));
});
afterEach(async () => {
  await held?.release();
  held = undefined;
  await chmod(dir, 0o755).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const gpu = new LiveServerless({ name: "gpu-worker", gpus: [GpuGroup.ADA_24], workersMax: 3 }).toSpec();
const lb = new CpuLiveLoadBalancer({ name: "lb" }).toSpec();

function setup() {
  const controlPlane = createFakeControlPlane();
  const logger = createMemoryLogger();
  const runtime = resolveWorkerRuntime({}, "1.2.3", PROJECT);
  const make = () => createProvisioner({ controlPlane, cache: createResourceCache(dir, logger, { lock: SHORT_LOCK }), backend: "local", runtime, logger });
  const creates = () => controlPlane.calls.filter((c) => c.startsWith("create")).length;
  return { controlPlane, logger, runtime, make, creates };
}

/** Runs `fn` as an unprivileged user when we are root (root writes to read-only folders). */
async function unprivileged<T>(fn: () => Promise<T>): Promise<T> {
  const root = process.getuid?.() === 0;
  if (root) process.seteuid!(65534);
  try {
    return await fn();
  } finally {
    if (root) process.seteuid!(0);
  }
}

type Breakage = "EISDIR" | "held lock" | "read-only folder";

/** Makes writes of the cache fail; returns how to run code under it and how to undo it. */
async function breakCache(how: Breakage): Promise<{ run: <T>(fn: () => Promise<T>) => Promise<T>; repair: () => Promise<void> }> {
  const cachePath = join(dir, "resources.json");
  const plain = <T>(fn: () => Promise<T>): Promise<T> => fn();
  if (how === "EISDIR") {
    await mkdir(cachePath);
    return { run: plain, repair: () => rm(cachePath, { recursive: true }) };
  }
  if (how === "held lock") {
    held = await acquireLock(`${cachePath}.lock`, SHORT_LOCK);
    const lock = held;
    return { run: plain, repair: () => lock.release() };
  }
  await chmod(join(dir, ".."), 0o755).catch(() => {});
  await chmod(dir, 0o555);
  return { run: unprivileged, repair: () => chmod(dir, 0o755) };
}

async function cachedIds(): Promise<string[]> {
  const file = JSON.parse(await readFile(join(dir, "resources.json"), "utf8")) as { endpoints: Record<string, { id: string }> };
  return Object.values(file.endpoints).map((e) => e.id);
}

describe("a cache write that fails after a create", () => {
  for (const how of ["EISDIR", "held lock", "read-only folder"] as const) {
    it(`(${how}) creates the endpoint once across calls, a restart and another session, and records it once it can`, async () => {
      const { make, creates, logger } = setup();
      const broken = await breakCache(how);
      const p = make();
      const first = await broken.run(() => p.ensureEndpoint(gpu));
      // The call that created it succeeded, and said why the cache does not have it.
      expect(creates()).toBe(1);
      expect(logger.lines.some((l) => l.includes(first.id) && l.includes("resources.json"))).toBe(true);
      for (let i = 0; i < 4; i++) expect((await broken.run(() => p.ensureEndpoint(gpu))).id).toBe(first.id);
      // A restart (or the container's session) with the cache still unwritable finds it on the provider.
      expect((await broken.run(() => make().ensureEndpoint(gpu))).id).toBe(first.id);
      expect(creates()).toBe(1);
      // Once the cache can be written, the next call records it.
      await broken.repair();
      await p.ensureEndpoint(gpu);
      expect(await cachedIds()).toEqual([first.id]);
      expect(creates()).toBe(1);
    });
  }

  it("looks the endpoint up on a fresh provider list before creating, not on one read earlier", async () => {
    const { make, creates } = setup();
    const broken = await breakCache("EISDIR");
    const early = make();
    await early.ensureEndpoint(lb); // reads the provider's list now, before gpu-worker exists
    const other = make();
    const created = await other.ensureEndpoint(gpu); // created, but not cached
    expect((await early.ensureEndpoint(gpu)).id).toBe(created.id);
    expect(creates()).toBe(2); // lb and gpu-worker, once each
    await broken.repair();
  });
});

describe("duplicates of this project's endpoints on the provider", () => {
  async function seedDuplicates(setupResult: ReturnType<typeof setup>): Promise<string[]> {
    const { controlPlane, runtime } = setupResult;
    const body = toCreateEndpointRequest(gpu, runtime);
    const ids: string[] = [];
    // Three endpoints of one name, as the old bug left them; the middle one has an outdated config.
    for (const hash of [endpointConfigHash(gpu, runtime), "outdated", endpointConfigHash(gpu, runtime)]) {
      ids.push((await controlPlane.createEndpoint({ ...body, env: { ...body.env, [CONFIG_HASH_ENV]: hash } })).id);
    }
    // Someone else's endpoint of the same name is none of our business.
    await controlPlane.createEndpoint({ ...body, env: { ...body.env, [PROJECT_MARKER_ENV]: "another-project-2222" } });
    controlPlane.calls.length = 0;
    return ids;
  }

  it("adopts one, reports the others by id, and hands them to the orphan logic and --cleanup", async () => {
    const s = setup();
    const ids = await seedDuplicates(s);
    const p = s.make();
    const kept = await p.ensureEndpoint(gpu);
    expect(kept.id).toBe(ids[0]); // the oldest with the current config
    expect(s.creates()).toBe(0);
    const warning = s.logger.lines.find((l) => l.includes("live-gpu-worker") && l.includes(ids[1]!) && l.includes(ids[2]!));
    expect(warning).toBeDefined();

    const orphans = await p.findOrphans([gpu]);
    expect(orphans.map((o) => o.id).sort()).toEqual([ids[1], ids[2]].sort());
    expect((await p.cachedEndpoints()).map((e) => e.id).sort()).toEqual([...ids].sort());

    const result = await p.deleteEndpoints(orphans);
    expect(result.failed).toEqual([]);
    expect([...s.controlPlane.endpoints.keys()].filter((id) => ids.includes(id))).toEqual([ids[0]]);
    // The kept endpoint is still cached and in use.
    expect(await cachedIds()).toEqual([ids[0]]);
    expect((await p.ensureEndpoint(gpu)).id).toBe(ids[0]);
    expect(await p.findOrphans([gpu])).toEqual([]);
  });

  it("are found by the orphan logic even when the cache already has the endpoint", async () => {
    const s = setup();
    const ids = await seedDuplicates(s);
    await s.make().ensureEndpoint(gpu);
    // A later session: the cache is complete, so provisioning never lists the provider.
    s.logger.lines.length = 0;
    const orphans = await s.make().findOrphans([gpu]);
    expect(orphans.map((o) => o.id).sort()).toEqual([ids[1], ids[2]].sort());
    expect(s.logger.lines.some((l) => l.includes("live-gpu-worker") && l.includes(ids[1]!) && l.includes(ids[2]!))).toBe(true);
  });
});

describe("a corrupt cache", () => {
  it("has its endpoints recovered from the provider, orphans included, and recorded again", async () => {
    const controlPlane = createFakeControlPlane();
    const logger = createMemoryLogger();
    const runtime = resolveWorkerRuntime({}, "1.2.3", PROJECT);
    const make = () => createProvisioner({ controlPlane, cache: createResourceCache(dir, logger, { lock: SHORT_LOCK }), backend: "local", runtime, logger });
    const gpu = new LiveServerless({ name: "gpu-worker" }).toSpec();
    const old = new CpuLiveLoadBalancer({ name: "old-lb" }).toSpec();
    const first = make();
    const gpuEndpoint = await first.ensureEndpoint(gpu);
    const oldEndpoint = await first.ensureEndpoint(old);
    await writeFile(join(dir, "resources.json"), "{ garbage");

    // The code no longer has old-lb: it must still be found as an orphan (it bills).
    const p = make();
    const orphans = await p.findOrphans([gpu]);
    expect(orphans.map((o) => [o.name, o.id])).toEqual([["live-old-lb", oldEndpoint.id]]);
    const file = JSON.parse(await readFile(join(dir, "resources.json"), "utf8")) as { endpoints: Record<string, { id: string }> };
    expect(Object.values(file.endpoints).map((e) => e.id).sort()).toEqual([gpuEndpoint.id, oldEndpoint.id].sort());
    expect(logger.lines.some((l) => l.includes("Recovered 2 endpoint(s)"))).toBe(true);
    expect((await p.ensureEndpoint(gpu)).id).toBe(gpuEndpoint.id);
    expect(controlPlane.calls.filter((c) => c.startsWith("create"))).toHaveLength(2);
  });
});
