/**
 * `flash dev` on the host, as a child process, against a real Docker engine:
 * the URL answers, SIGINT leaves no container behind, a container left by a
 * killed CLI is replaced, an engine that is not there and a taken port are one
 * clear error each.
 *
 * Two hosts are driven: the harness (runDevContainer wired to signals exactly
 * as the CLI does) with a stand-in server inside, which tests the container
 * machinery alone; and the real `flash dev` CLI serving the fixture project.
 */
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { dockerAvailability } from "./docker-available.js";
import { cleanupProject, devImage, fetchJson, freePort, projectContainers, startHost, STAND_IN, tempProject, waitFor } from "./docker-helpers.js";

const docker = await dockerAvailability();

describe.skipIf(!docker.available)("flash dev on the host (Docker)", () => {
  const projects: string[] = [];
  beforeAll(async () => {
    await devImage();
  }, 600_000);
  afterAll(async () => {
    for (const p of projects) await cleanupProject(p);
  }, 120_000);

  const project = (): string => {
    const p = tempProject();
    projects.push(p);
    return p;
  };

  describe.each([
    { host: "harness with a stand-in server", useCli: false },
    { host: "the flash CLI", useCli: true },
  ])("$host", ({ useCli }) => {
    const argsFor = (port: number): string[] => (useCli ? ["dev", "--port", String(port), "--local"] : [JSON.stringify({ port, command: STAND_IN })]);

    it("serves on the published port; SIGINT stops it and leaves no container within 10 s", async () => {
      const dir = project();
      const port = await freePort();
      const host = startHost(argsFor(port), { cwd: dir, useCli });
      try {
        const root = await waitFor("GET /", async () => {
          const r = await fetchJson(`http://127.0.0.1:${port}/`);
          return r?.status === 200 ? r : undefined;
        }, 180_000, 100).catch((error: unknown) => {
          throw new Error(`${String(error)}\n--- output ---\n${host.output()}`);
        });
        expect(root.json).toMatchObject({ message: "Flash Dev Server" });
        expect(await projectContainers(dir)).toHaveLength(1);

        const stopped = Date.now();
        host.child.kill("SIGINT");
        await waitFor("no container", async () => ((await projectContainers(dir)).length === 0 ? true : undefined), 10_000, 100);
        expect(Date.now() - stopped).toBeLessThan(10_000);
        await host.exited;
      } finally {
        host.child.kill("SIGKILL");
      }
    }, 300_000);

    it("after SIGKILL of the CLI, the next start removes the stale container and serves", async () => {
      const dir = project();
      const port = await freePort();
      const first = startHost(argsFor(port), { cwd: dir, useCli });
      // Whatever fails below, no server may outlive the test.
      onTestFinished(() => void first.child.kill("SIGKILL"));
      await waitFor("first server", async () => ((await fetchJson(`http://127.0.0.1:${port}/`))?.status === 200 ? true : undefined), 180_000, 100).catch(
        (error: unknown) => {
          throw new Error(`${String(error)}\n--- output ---\n${first.output()}`);
        },
      );
      const [staleId] = await projectContainers(dir);
      first.child.kill("SIGKILL");
      await first.exited;
      // The engine keeps the container of a killed client running (moby#20171).
      expect(await projectContainers(dir)).toEqual([staleId]);

      const second = startHost(argsFor(port), { cwd: dir, useCli });
      try {
        await waitFor("second server", async () => {
          const ids = await projectContainers(dir);
          const r = await fetchJson(`http://127.0.0.1:${port}/`);
          return ids.length === 1 && ids[0] !== staleId && r?.status === 200 ? true : undefined;
        }, 180_000, 100).catch((error: unknown) => {
          throw new Error(`${String(error)}\n--- output ---\n${second.output()}`);
        });
        expect(second.output()).toMatch(/left by an earlier flash dev/);
        second.child.kill("SIGINT");
        await waitFor("no container", async () => ((await projectContainers(dir)).length === 0 ? true : undefined), 10_000, 100);
      } finally {
        second.child.kill("SIGKILL");
      }
    }, 300_000);

    it("with DOCKER_HOST pointing at nothing: one clear error and exit code 1", async () => {
      const dir = project();
      const host = startHost(argsFor(await freePort()), { cwd: dir, useCli, env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
      try {
        expect(await host.exited).toBe(1);
        const lines = host.output().trim().split("\n");
        expect(lines[0]).toMatch(/^✖ The Docker engine at unix:\/\/\/nonexistent\/docker\.sock does not answer/);
        expect(host.output()).toMatch(/DOCKER_HOST/);
        expect(host.output()).not.toMatch(/at .*\.js:\d+/); // no stack trace
      } finally {
        host.child.kill("SIGKILL");
      }
    }, 30_000);

    describe("with the port taken", () => {
      let server: Server;
      let port: number;
      beforeAll(async () => {
        server = createServer();
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        port = (server.address() as { port: number }).port;
      });
      afterAll(() => new Promise<void>((r) => server.close(() => r())));

      it("says so clearly, exits 1 and leaves no container", async () => {
        const dir = project();
        const host = startHost(argsFor(port), { cwd: dir, useCli });
        try {
          expect(await host.exited).toBe(1);
          expect(host.output()).toMatch(new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use`));
          expect(host.output()).toMatch(/--port/);
          expect(await projectContainers(dir)).toEqual([]);
        } finally {
          host.child.kill("SIGKILL");
        }
      }, 60_000);
    });
  });
});
