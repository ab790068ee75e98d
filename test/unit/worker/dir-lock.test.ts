import { mkdir, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withDirLock } from "../../../src/worker/dir-lock.js";
import { tempDir } from "../../helpers/worker-bundles.js";

/** A pid that does not exist (above the usual pid_max of 2^22). */
const DEAD_PID = 2 ** 22 + 12345;

let dir: { path: string; remove: () => Promise<void> };
beforeAll(async () => (dir = await tempDir("flash-dir-lock-")));
afterAll(() => dir.remove());

async function abandonedLock(name: string): Promise<string> {
  const lock = join(dir.path, name);
  await mkdir(lock);
  await writeFile(join(lock, "owner.json"), JSON.stringify({ pid: DEAD_PID, host: hostname() }));
  return lock;
}

/** Entries next to the lock that belong to it (the lock itself, folders moved aside). */
async function leftovers(lock: string): Promise<string[]> {
  const base = lock.slice(dir.path.length + 1);
  return (await readdir(dir.path)).filter((name) => name === base || name.startsWith(`${base}.`));
}

describe("withDirLock taking over an abandoned lock", () => {
  it("lets exactly one of several concurrent takers hold it at a time", async () => {
    // Many rounds: the race between takers who all judged the same lock abandoned is a matter of timing.
    for (let round = 0; round < 25; round++) {
      const lock = await abandonedLock(`race-${round}.lock`);
      let holders = 0;
      let most = 0;
      let runs = 0;
      const hold = async (): Promise<void> => {
        holders++;
        runs++;
        most = Math.max(most, holders);
        // Stay inside long enough for an overlapping holder to show.
        await new Promise((resolve) => setTimeout(resolve, 5));
        holders--;
      };
      await Promise.all(Array.from({ length: 4 }, () => withDirLock(lock, hold, { pollMs: 2 })));
      expect({ round, most, runs }).toEqual({ round, most: 1, runs: 4 });
      expect(await leftovers(lock)).toEqual([]);
    }
  });

  it("takes over a lock without an owner file once it is older than the grace, not before", { timeout: 10_000 }, async () => {
    const lock = join(dir.path, "ownerless.lock");
    await mkdir(lock);
    let waiting!: () => void;
    const waits = new Promise<void>((resolve) => (waiting = resolve));
    let entered = false;
    const pending = withDirLock(lock, async () => void (entered = true), { pollMs: 10, onWait: waiting });
    // Fresh: its holder may be about to write the owner file, so it is waited for.
    await waits;
    expect(entered).toBe(false);
    // As if made 40 s ago by a holder that died before writing its owner file.
    const past = new Date(Date.now() - 40_000);
    await utimes(lock, past, past);
    await pending;
    expect(entered).toBe(true);
    expect(await leftovers(lock)).toEqual([]);
  });

  it("takes over an unreadable owner file after the grace too", { timeout: 10_000 }, async () => {
    const lock = join(dir.path, "garbled.lock");
    await mkdir(lock);
    await writeFile(join(lock, "owner.json"), '{"pid": 12');
    const past = new Date(Date.now() - 40_000);
    await utimes(lock, past, past);
    expect(await withDirLock(lock, async () => "got it", { pollMs: 10 })).toBe("got it");
  });

  it("clears a takeover guard left by a taker that died, after the grace", { timeout: 10_000 }, async () => {
    const lock = join(dir.path, "guarded.lock");
    await mkdir(lock);
    await writeFile(join(lock, "owner.json"), JSON.stringify({ pid: DEAD_PID, host: hostname(), token: "dead-holder" }));
    const guard = `${lock}.takeover-dead-holder`;
    await mkdir(guard);
    const past = new Date(Date.now() - 40_000);
    await utimes(guard, past, past);
    expect(await withDirLock(lock, async () => "got it", { pollMs: 10 })).toBe("got it");
    expect(await leftovers(lock)).toEqual([]);
  });

  it("honours a custom owner grace", { timeout: 10_000 }, async () => {
    const lock = join(dir.path, "short-grace.lock");
    await mkdir(lock);
    const past = new Date(Date.now() - 2_000);
    await utimes(lock, past, past);
    expect(await withDirLock(lock, async () => "got it", { pollMs: 10, ownerGraceMs: 1_000 })).toBe("got it");
  });
});

describe("withDirLock releasing", () => {
  it("does not remove a lock that is no longer its own", async () => {
    const lock = join(dir.path, "taken.lock");
    const other = JSON.stringify({ pid: DEAD_PID, host: hostname(), token: "someone-else" });
    await withDirLock(lock, async () => {
      // Taken over while we held it (say we were stuck past staleMs): the folder is another holder's now.
      await rm(lock, { recursive: true, force: true });
      await mkdir(lock);
      await writeFile(join(lock, "owner.json"), other);
    });
    expect(await readFile(join(lock, "owner.json"), "utf8")).toBe(other);
    await rm(lock, { recursive: true, force: true });
  });

  it("removes its own lock", async () => {
    const lock = join(dir.path, "mine.lock");
    await withDirLock(lock, async () => {
      const owner = JSON.parse(await readFile(join(lock, "owner.json"), "utf8")) as { pid: number; token: string };
      expect(owner.pid).toBe(process.pid);
      expect(owner.token).toMatch(/^[0-9a-f-]{36}$/);
    });
    expect(await leftovers(lock)).toEqual([]);
  });
});
