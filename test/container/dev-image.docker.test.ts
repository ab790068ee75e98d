/**
 * The dev image itself (testcontainers): a container from it with a project
 * bind-mounted, running as another user than the test runner (files it writes
 * must be that user's), serving through the mapped port, seeing host edits by
 * polling through the bind mount, and keeping .runpod/ across a stop/start.
 *
 * Each behaviour is checked twice: with the stand-in server (the image and
 * mount machinery alone) and with the real `flash dev` (GET /, a QB call,
 * hot reload, endpoint reuse across the restart).
 */
import { readFileSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailability } from "./docker-available.js";
import { cleanupProject, devImage, fetchJson, OTHER_USER, STAND_IN, tempProject, waitFor } from "./docker-helpers.js";

const docker = await dockerAvailability();

async function startContainer(image: string, dir: string, command?: string[]): Promise<StartedTestContainer> {
  let container = new GenericContainer(image)
    .withBindMounts([{ source: dir, target: "/workspace" }])
    .withUser(`${OTHER_USER.uid}:${OTHER_USER.gid}`)
    .withLabels({ "dev.flash-ts.test": "dev-image" })
    .withExposedPorts(8888)
    .withWaitStrategy(Wait.forHttp("/ping", 8888).forStatusCode(200))
    .withStartupTimeout(180_000);
  if (command) container = container.withCommand(command);
  return container.start();
}

function editVersion(dir: string, version: number): void {
  const file = join(dir, "hello.ts");
  writeFileSync(file, readFileSync(file, "utf8").replace(/version: \d+/, `version: ${version}`));
}

/** Every file under .runpod/, with its owner. */
function runpodFiles(dir: string): { path: string; uid: number; gid: number }[] {
  const out: { path: string; uid: number; gid: number }[] = [];
  const walk = (p: string): void => {
    const s = statSync(p);
    out.push({ path: p, uid: s.uid, gid: s.gid });
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(join(dir, ".runpod"));
  return out;
}

/** Endpoint ids found anywhere in .runpod/resources.json. */
function cachedEndpointIds(dir: string): string[] {
  const ids: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if ((k === "id" || k === "endpointId") && typeof x === "string") ids.push(x);
        else visit(x);
      }
    }
  };
  visit(JSON.parse(readFileSync(join(dir, ".runpod", "resources.json"), "utf8")));
  return ids.sort();
}

describe.skipIf(!docker.available)("the dev image (Docker)", () => {
  let image: string;
  const projects: string[] = [];
  beforeAll(async () => {
    image = await devImage();
  }, 600_000);
  afterAll(async () => {
    for (const p of projects) await cleanupProject(p);
  }, 120_000);

  describe("with the stand-in server", () => {
    let dir: string;
    let container: StartedTestContainer | undefined;
    afterAll(async () => {
      await container?.stop({ remove: true, removeVolumes: true });
    }, 60_000);

    it("serves through the mapped port as the host user, with the project's dependencies installed inside", async () => {
      dir = tempProject(undefined, OTHER_USER);
      projects.push(dir);
      container = await startContainer(image, dir, STAND_IN);
      const base = `http://${container.getHost()}:${container.getMappedPort(8888)}`;
      expect((await fetchJson(`${base}/`))?.json).toEqual({ message: "Flash Dev Server", docs: "/docs" });
      const state = (await fetchJson(`${base}/state`))?.json as Record<string, unknown>;
      expect(state).toMatchObject({ uid: OTHER_USER.uid, gid: OTHER_USER.gid, deps: { ms: true }, env: { FLASH_IN_CONTAINER: "1", FLASH_WATCH: "poll" } });
      const files = runpodFiles(dir);
      expect(files.length).toBeGreaterThan(1);
      for (const f of files) expect(f, f.path).toMatchObject({ uid: OTHER_USER.uid, gid: OTHER_USER.gid });
    }, 240_000);

    it("sees a file edited on the host within 2 s (polling through the bind mount)", async () => {
      if (!container) throw new Error("no container");
      const base = `http://${container.getHost()}:${container.getMappedPort(8888)}`;
      expect((await fetchJson(`${base}/version`))?.json).toEqual({ version: 1 });
      const edited = Date.now();
      editVersion(dir, 2);
      await waitFor("version 2", async () => (((await fetchJson(`${base}/version`))?.json as { version?: number })?.version === 2 ? true : undefined), 2000, 20);
      expect(Date.now() - edited).toBeLessThan(2000);
    }, 60_000);

    it("keeps .runpod/ across a stop and start of the container", async () => {
      if (!container) throw new Error("no container");
      await container.restart();
      const base = `http://${container.getHost()}:${container.getMappedPort(8888)}`;
      const state = await waitFor("restarted", async () => {
        const r = await fetchJson(`${base}/state`);
        return r?.status === 200 ? (r.json as { starts: number }) : undefined;
      }, 60_000, 100);
      expect(state.starts).toBe(2);
    }, 120_000);
  });

  describe("with flash dev", () => {
    let dir: string;
    let container: StartedTestContainer | undefined;
    afterAll(async () => {
      await container?.stop({ remove: true, removeVolumes: true });
    }, 60_000);

    it("serves GET / and a QB run_sync call through the mapped port; files under .runpod/ are the host user's", async () => {
      dir = tempProject(undefined, OTHER_USER);
      projects.push(dir);
      container = await startContainer(image, dir);
      const base = `http://${container.getHost()}:${container.getMappedPort(8888)}`;
      expect((await fetchJson(`${base}/`))?.json).toEqual({ message: "Flash Dev Server", docs: "/docs" });
      const run = await fetchJson(`${base}/hello/run_sync`, { input: { name: "container" } });
      expect(run).toMatchObject({ status: 200, json: { status: "COMPLETED", output: { greeting: "hello container", version: 1 } } });
      const files = runpodFiles(dir);
      expect(files.length).toBeGreaterThan(1);
      for (const f of files) expect(f, f.path).toMatchObject({ uid: OTHER_USER.uid, gid: OTHER_USER.gid });
    }, 240_000);

    it("serves a file edited on the host changed within 2 s", async () => {
      if (!container) throw new Error("no container");
      const base = `http://${container.getHost()}:${container.getMappedPort(8888)}`;
      const edited = Date.now();
      editVersion(dir, 2);
      await waitFor(
        "version 2",
        async () => {
          const r = await fetchJson(`${base}/hello/run_sync`, { input: {} });
          return (r?.json as { output?: { version?: number } })?.output?.version === 2 ? true : undefined;
        },
        2000,
        50,
      );
      expect(Date.now() - edited).toBeLessThan(2000);
    }, 60_000);

    it("reuses the cached endpoints after a stop and start (none is created twice)", async () => {
      if (!container) throw new Error("no container");
      const before = cachedEndpointIds(dir);
      expect(before.length).toBeGreaterThan(0);
      await container.restart();
      const base = `http://${container.getHost()}:${container.getMappedPort(8888)}`;
      const run = await waitFor("QB call after restart", async () => {
        const r = await fetchJson(`${base}/hello/run_sync`, { input: { name: "again" } });
        return r?.status === 200 ? r : undefined;
      }, 120_000, 200);
      expect(run.json).toMatchObject({ status: "COMPLETED", output: { greeting: "hello again" } });
      expect(cachedEndpointIds(dir)).toEqual(before);
    }, 240_000);
  });
});
