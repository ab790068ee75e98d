/**
 * The project's own npm dependencies in the dev container, through the host
 * CLI as a new user runs it:
 * - the README's install path: package.json names flash-ts by a tarball
 *   outside the project (`npm install ../flash-ts-0.1.0.tgz`), next to another
 *   dependency (`ms`); the other dependency is installed inside and the
 *   image's flash-ts serves the project;
 * - an install that fails inside stops `flash dev` with npm's reason, instead
 *   of serving a project whose imports are missing.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packedFlashTs } from "../e2e/packed-flash-ts.js";
import { dockerAvailability } from "./docker-available.js";
import { cleanupProject, devImage, fetchJson, freePort, projectContainers, startHost, waitFor } from "./docker-helpers.js";

const run = promisify(execFile);
const docker = await dockerAvailability();

const HELLO = `import { remote, CpuLiveServerless } from "flash-ts";
import ms from "ms";
const cpu = new CpuLiveServerless({ name: "deps-check" });
export const hello = remote(cpu, async (input: { ms?: number }) => ({ took: ms(input?.ms ?? 90_000) }));
`;

describe.skipIf(!docker.available)("the project's dependencies in the dev container (Docker)", () => {
  let work: string;
  const projects: string[] = [];
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "flash-deps-"));
    await devImage();
  }, 600_000);
  afterAll(async () => {
    for (const p of projects) await cleanupProject(p);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it("flash-ts installed from a tarball outside the project: the other dependencies are installed inside and the project is served", async () => {
    const tarball = join(work, basename(await packedFlashTs()));
    copyFileSync(await packedFlashTs(), tarball);
    const dir = join(work, "app");
    projects.push(dir);
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", dependencies: { ms: "2.1.3" } }, null, 2));
    writeFileSync(join(dir, "hello.ts"), HELLO);
    // As "Using it in your project" says: the tarball's path, relative to the project, lands in package.json.
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", `../${basename(tarball)}`], { cwd: dir, timeout: 240_000 });

    const port = await freePort();
    const host = startHost(["dev", "--port", String(port), "--local"], { cwd: dir, useCli: true });
    try {
      const answer = await waitFor("a call that uses ms", async () => {
        const r = await fetchJson(`http://127.0.0.1:${port}/hello/run_sync`, { input: { ms: 90_000 } });
        return r?.status === 200 ? r : undefined;
      }, 240_000, 250).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- output ---\n${host.output()}`);
      });
      expect(answer.json).toMatchObject({ status: "COMPLETED", output: { took: "2m" } });
    } finally {
      host.child.kill("SIGINT");
      await host.exited;
    }
    expect(await projectContainers(dir)).toEqual([]);
  }, 420_000);

  it("an install that fails inside stops flash dev with npm's reason and leaves no container", async () => {
    const dir = join(work, "broken");
    projects.push(dir);
    mkdirSync(dir);
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: "broken", private: true, type: "module", dependencies: { "not-there": "file:./vendor/not-there.tgz" } }, null, 2),
    );
    writeFileSync(join(dir, "hello.ts"), HELLO);
    const port = await freePort();
    const host = startHost(["dev", "--port", String(port), "--local"], { cwd: dir, useCli: true });
    let outcome: { exited: number } | { served: true };
    try {
      // Serving anyway is the failure this test is about: stop waiting as soon as it happens.
      outcome = await Promise.race([
        host.exited.then((code) => ({ exited: code })),
        waitFor("GET / served", async () => ((await fetchJson(`http://127.0.0.1:${port}/`))?.status === 200 ? { served: true as const } : undefined), 240_000, 250),
      ]);
    } finally {
      host.child.kill("SIGINT");
      await host.exited;
    }
    expect("served" in outcome, `flash dev served despite the failed install:\n${host.output()}`).toBe(false);
    expect("exited" in outcome && outcome.exited).not.toBe(0);
    expect(host.output()).toMatch(/Installing the project's dependencies failed/);
    expect(host.output()).toMatch(/vendor\/not-there\.tgz/); // npm's own reason is shown
    expect(host.output()).not.toMatch(/Flash Dev Server/); // nothing was served
    expect(await projectContainers(dir)).toEqual([]);
  }, 300_000);
});
