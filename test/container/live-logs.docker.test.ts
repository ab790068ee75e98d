/**
 * Live logs in the dev container: `flash dev --local` started by the host CLI
 * runs in the dev image, its embedded emulator's workers in the same
 * container, and a function's console output reaches the host's console
 * while the function runs (it holds its answer until the test opens a gate
 * file in the mounted project), each line once, labelled with its endpoint.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES } from "../helpers/paths.js";
import { dockerAvailability } from "./docker-available.js";
import { cleanupProject, devImage, fetchJson, freePort, startHost, tempProject, waitFor } from "./docker-helpers.js";

const docker = await dockerAvailability();

describe.skipIf(!docker.available)("live logs in the dev container (Docker)", () => {
  const projects: string[] = [];
  beforeAll(async () => {
    await devImage();
  }, 600_000);
  afterAll(async () => {
    for (const p of projects) await cleanupProject(p);
  }, 120_000);

  it("a function's lines reach the console while it runs, once each, with its endpoint", async () => {
    const dir = tempProject(join(FIXTURES, "projects", "live-calls"));
    projects.push(dir);
    // .runpod/ is mounted into the container and never watched: the gate opens no reload.
    mkdirSync(join(dir, ".runpod"), { recursive: true });
    const port = await freePort();
    const host = startHost(["dev", "--port", String(port), "--local"], { cwd: dir, useCli: true });
    try {
      await waitFor("GET /", async () => ((await fetchJson(`http://127.0.0.1:${port}/`))?.status === 200 ? true : undefined), 180_000, 100).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- output ---\n${host.output()}`);
      });
      const from = host.output().length;
      let answered = false;
      const pending = fetchJson(`http://127.0.0.1:${port}/chatty/run_sync`, { input: { lines: 4, gate: "/workspace/.runpod/chatty.gate" } }).finally(() => (answered = true));
      await waitFor("the function's last line", () => (/\[live-chatty\] tick 3\n/.test(host.output().slice(from)) ? true : undefined), 120_000, 50).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- output ---\n${host.output()}`);
      });
      // On the console while the function still holds its answer.
      expect(answered).toBe(false);
      writeFileSync(join(dir, ".runpod", "chatty.gate"), "");
      const res = await pending;
      expect(res?.status).toBe(200);
      expect(res?.json).toMatchObject({ status: "COMPLETED", output: { printed: 4 } });
      await host.waitForOutput(/POST \/chatty\/run_sync → live-chatty 200/, 30_000);
      const ticks = host
        .output()
        .slice(from)
        .split(/\r?\n/)
        .filter((l) => /\[live-chatty\] tick \d$/.test(l));
      expect(ticks).toEqual([0, 1, 2, 3].map((i) => `[live-chatty] tick ${i}`));
    } finally {
      host.child.kill("SIGINT");
      await host.exited;
    }
  }, 400_000);
});
