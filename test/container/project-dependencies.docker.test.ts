/**
 * The project's own npm dependencies in the dev container, through the host
 * CLI: an install that fails inside stops `flash dev` with npm's reason,
 * instead of serving a project whose imports are missing. (The README's
 * install path — flash-ts from a tarball outside the project, next to another
 * dependency — is served in test/e2e/start-a-project.test.ts.)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailability } from "./docker-available.js";
import { cleanupProject, devImage, fetchJson, freePort, projectContainers, startHost, waitFor } from "./docker-helpers.js";

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
