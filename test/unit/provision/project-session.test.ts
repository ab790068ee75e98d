/**
 * Claiming a project for a `flash dev` session, with the session lock's
 * liveness rules driven by a manual clock: refused at once for a live session
 * on this machine, refused after watching the heartbeat of one across the
 * host/container boundary, taken over when that heartbeat stops; a newer
 * version's cache is refused at start without keeping the project.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { claimProjectSession } from "../../../src/provision/project-session.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { beatHandMade, handMadeLock } from "../../helpers/lock-fixtures.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-session-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const lockPath = () => join(dir, "session.lock");

describe("claimProjectSession", () => {
  it("refuses at once while a session of this machine runs, naming its pid", async () => {
    const first = await claimProjectSession(dir, { logger: createMemoryLogger(), env: {} });
    const clock = new FakeClock();
    const second = claimProjectSession(dir, { logger: createMemoryLogger(), env: {}, lock: { clock } });
    await expect(second).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringMatching(new RegExp(`already running for this project: pid ${process.pid} on this machine`)),
      hint: expect.stringMatching(new RegExp(`kill ${process.pid}`)),
    });
    await first.release();
    const third = await claimProjectSession(dir, { logger: createMemoryLogger(), env: {} });
    await third.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("watches a session across the host/container boundary, and refuses it while its heartbeat moves", async () => {
    const clock = new FakeClock();
    await handMadeLock(lockPath(), { machine: "container|b|pid:[9]", pid: 7, host: "3f2a1b", info: { inContainer: true } }, clock.wallNow());
    const logger = createMemoryLogger();
    const claiming = claimProjectSession(dir, { logger, env: {}, lock: { clock, pollMs: 500 } });
    const settled = claiming.then(
      () => true,
      () => true,
    );
    let done = false;
    void settled.then(() => (done = true));
    let beats = 0;
    while (!done) {
      await Promise.race([clock.nextSleep(), settled]);
      await beatHandMade(lockPath(), clock.wallNow() + 500);
      await clock.advance(500);
      beats++;
    }
    await expect(claiming).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/pid 7 in a dev container \(host 3f2a1b\)/) });
    // It watched for longer than the staleness window before giving up.
    expect(beats * 500).toBeGreaterThan(10_000);
    expect(logger.lines.some((l) => l.includes("checking for 10 s whether it is still running"))).toBe(true);
  });

  it("takes the project over from a session across the boundary whose heartbeat stopped", async () => {
    const clock = new FakeClock();
    await handMadeLock(lockPath(), { machine: "container|b|pid:[9]", pid: 7 }, clock.wallNow());
    const claiming = claimProjectSession(dir, { logger: createMemoryLogger(), env: {}, lock: { clock, pollMs: 500 } });
    const settled = claiming.then(
      () => true,
      () => true,
    );
    let done = false;
    void settled.then(() => (done = true));
    while (!done) {
      await Promise.race([clock.nextSleep(), settled]);
      await clock.advance(500);
    }
    const session = await claiming;
    // Not before its heartbeat had stood still for the staleness window.
    expect(clock.now()).toBeGreaterThan(10_000);
    await session.release();
  });

  it("takes the project over at once from a session of a replaced dev container of the same name", { timeout: 10_000 }, async () => {
    const clock = new FakeClock();
    const info = { inContainer: true, container: "flash-dev-demo-1a2b3c" };
    // Heartbeat fresh, but that container is gone: this one has its name now.
    await handMadeLock(lockPath(), { machine: "old-container|b|pid:[9]", pid: 7, info }, clock.wallNow());
    const logger = createMemoryLogger();
    const session = await claimProjectSession(dir, { logger, env: { FLASH_IN_CONTAINER: "1", FLASH_CONTAINER_NAME: info.container }, lock: { clock } });
    expect(logger.lines.some((l) => l.includes("previous session of this dev container (pid 7) is gone"))).toBe(true);
    await session.release();
    // Another container's session is not taken for gone.
    await handMadeLock(lockPath(), { machine: "other-container|b|pid:[9]", pid: 7, info: { ...info, container: "flash-dev-other-4d5e6f" } }, clock.wallNow());
    const waiting = claimProjectSession(dir, { logger, env: { FLASH_IN_CONTAINER: "1", FLASH_CONTAINER_NAME: info.container }, lock: { clock } });
    await clock.nextSleep();
    await clock.advance(60_000);
    await (await waiting).release();
    // It was watched, as any session across the boundary, not taken for gone.
    expect(logger.lines.some((l) => l.includes("checking for 10 s whether it is still running"))).toBe(true);
  });

  it("refuses a newer version's resources.json at start, and gives the project back", async () => {
    await writeFile(join(dir, "resources.json"), JSON.stringify({ version: 9, endpoints: {} }));
    await expect(claimProjectSession(dir, { logger: createMemoryLogger(), env: {} })).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringMatching(/cache version 9; this flash-ts reads version 1/),
    });
    expect(await readdir(dir)).toEqual(["resources.json"]);
  });
});
