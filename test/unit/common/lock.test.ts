import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLock, withLock } from "../../../src/common/lock.js";
import type { LockHolder } from "../../../src/common/lock.js";
import { currentMachine, machineTag } from "../../../src/common/machine.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { DEAD_PID, beatHandMade, handMadeLock } from "../../helpers/lock-fixtures.js";

/** Another machine (the dev container seen from the host, or the reverse): its pids mean nothing here. */
const OTHER_MACHINE = "dev-container|boot|pid:[1]";

let root: string;
let n = 0;
beforeAll(async () => (root = await mkdtemp(join(tmpdir(), "flash-lock-"))));
afterAll(() => rm(root, { recursive: true, force: true }));

/** A fresh lock path in its own folder (so leftovers can be listed). */
async function lockPath(): Promise<string> {
  const dir = join(root, `case-${++n}`);
  await mkdir(dir);
  return join(dir, "thing.lock");
}

async function folder(path: string): Promise<string[]> {
  return (await readdir(join(path, ".."))).sort();
}

async function ownerToken(path: string): Promise<string> {
  return (JSON.parse(await readFile(join(path, "owner.json"), "utf8")) as { token: string }).token;
}

describe("acquireLock", () => {
  it("takes a free lock, names its owner, and leaves nothing behind on release", async () => {
    const path = await lockPath();
    const held = await acquireLock(path);
    const owner = JSON.parse(await readFile(join(path, "owner.json"), "utf8")) as Record<string, unknown>;
    expect(owner).toMatchObject({ pid: process.pid, machine: currentMachine(), token: held.owner.token });
    await held.release();
    await held.release();
    expect(await folder(path)).toEqual([]);
  });

  it("runs holders one at a time", async () => {
    const path = await lockPath();
    let inside = 0;
    let most = 0;
    const hold = async (): Promise<void> => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((resolve) => setImmediate(resolve));
      inside--;
    };
    await Promise.all(Array.from({ length: 6 }, () => withLock(path, hold, { pollMs: 1 })));
    expect(most).toBe(1);
    expect(await folder(path)).toEqual([]);
  });

  it("takes over a dead pid's lock at once, without waiting", { timeout: 10_000 }, async () => {
    const path = await lockPath();
    await handMadeLock(path, { pid: DEAD_PID }); // heartbeat fresh: only the pid says it is gone
    const clock = new FakeClock();
    let waited = false;
    const held = await acquireLock(path, { clock, onWait: () => (waited = true) });
    expect(waited).toBe(false);
    expect(await ownerToken(path)).toBe(held.owner.token);
    await held.release();
    expect(await folder(path)).toEqual([]);
  });

  it("takes over at once a lock whose pid now belongs to another process (a reused pid, a restarted container)", { timeout: 10_000 }, async () => {
    for (const pid of [process.pid, process.ppid]) {
      const path = await lockPath();
      // Fresh heartbeat, live pid, but that pid's process started at another time than the holder did.
      await handMadeLock(path, { pid, started: "1" });
      let waited = false;
      const held = await acquireLock(path, { clock: new FakeClock(), onWait: () => (waited = true) });
      expect({ pid, waited }).toEqual({ pid, waited: false });
      await held.release();
    }
  });

  it("waits for a live holder on this machine, and can refuse at once naming it", async () => {
    const path = await lockPath();
    const first = await acquireLock(path);
    const holders: LockHolder[] = [];
    const refused = acquireLock(path, { onBusy: (h) => (holders.push(h), "fail") });
    await expect(refused).rejects.toMatchObject({ code: "CONFLICT", details: { owner: { pid: process.pid, token: first.owner.token } } });
    expect(holders[0]).toMatchObject({ local: true });

    const clock = new FakeClock();
    let waiting = false;
    const second = acquireLock(path, { clock, onWait: () => (waiting = true) });
    await clock.nextSleep();
    expect(waiting).toBe(true);
    await first.release();
    await clock.advance(25);
    const held = await second;
    expect(await ownerToken(path)).toBe(held.owner.token);
    await held.release();
  });

  it("waits for a holder on another machine while its heartbeat moves, and takes it over once it stops", async () => {
    const path = await lockPath();
    const clock = new FakeClock();
    await handMadeLock(path, { machine: OTHER_MACHINE, pid: 7 }, clock.wallNow());
    let holder: LockHolder | undefined;
    const taking = acquireLock(path, { clock, pollMs: 100, onWait: (h) => (holder = h) });
    let settled = false;
    void taking.then(() => (settled = true), () => (settled = true));
    await clock.nextSleep();
    expect(holder).toMatchObject({ local: false, owner: { pid: 7 } });
    // 20 s of a holder that beats every second: never abandoned.
    for (let s = 1; s <= 20; s++) {
      await beatHandMade(path, clock.wallNow() + 1000);
      const slept = clock.nextSleep();
      await clock.advance(1000);
      await slept; // the waiter looked again and went back to sleep
    }
    expect(settled).toBe(false);
    // The holder stops beating (killed, or its container stopped): abandoned after staleMs.
    for (let s = 0; s < 9; s++) {
      const slept = clock.nextSleep();
      await clock.advance(1000);
      await slept;
    }
    expect(settled).toBe(false);
    await clock.advance(2000);
    const held = await taking;
    expect(await ownerToken(path)).toBe(held.owner.token);
    await held.release();
    expect(await folder(path)).toEqual([]);
  });

  it("takes over at once a lock of this machine whose live pid has not beaten for staleMs (hung, or a reused pid)", { timeout: 10_000 }, async () => {
    const path = await lockPath();
    const clock = new FakeClock();
    await handMadeLock(path, { pid: process.ppid }, clock.wallNow() - 11_000);
    let waited = false;
    const held = await acquireLock(path, { clock, onWait: () => (waited = true) });
    expect(waited).toBe(false);
    await held.release();
  });

  it("does not trust the age of another machine's heartbeat (its clock may lag), only that it stopped moving", async () => {
    const path = await lockPath();
    const clock = new FakeClock();
    // Written by a clock a minute behind ours, and still beating.
    const lag = 60_000;
    await handMadeLock(path, { machine: OTHER_MACHINE, pid: 7 }, clock.wallNow() - lag);
    let settled = false;
    const taking = acquireLock(path, { clock, pollMs: 100 });
    void taking.then(() => (settled = true), () => (settled = true));
    await clock.nextSleep();
    for (let s = 1; s <= 15; s++) {
      await beatHandMade(path, clock.wallNow() + 1000 - lag);
      const slept = clock.nextSleep();
      await clock.advance(1000);
      await slept;
    }
    expect(settled).toBe(false);
    await clock.advance(11_000);
    await (await taking).release();
  });

  it("lets exactly one of several concurrent takers hold an abandoned lock at a time", async () => {
    for (let round = 0; round < 30; round++) {
      const path = await lockPath();
      await handMadeLock(path, { pid: DEAD_PID });
      let inside = 0;
      let most = 0;
      let runs = 0;
      const hold = async (): Promise<void> => {
        inside++;
        runs++;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inside--;
      };
      // Staggered starts, so that one taker's look and another's takeover interleave in every way.
      const taker = async (i: number): Promise<void> => {
        for (let k = 0; k < i; k++) await new Promise((resolve) => setImmediate(resolve));
        await withLock(path, hold, { pollMs: 1 });
      };
      await Promise.all(Array.from({ length: 6 }, (_, i) => taker(i)));
      expect({ round, most, runs }).toEqual({ round, most: 1, runs: 6 });
      expect(await folder(path)).toEqual([]);
    }
  });

  it("a holder taken over (judged abandoned) learns it, and its release leaves the new holder's lock alone", async () => {
    const path = await lockPath();
    const stalled = new FakeClock();
    const other = new FakeClock(stalled.wallNow());
    let lostTo: LockHolder | undefined;
    const first = await acquireLock(path, { clock: stalled, onLost: (h) => (lostTo = h) });
    // Same pid (alive), but no heartbeat for 11 s as the second one sees it: abandoned.
    await other.advance(11_000);
    const second = await acquireLock(path, { clock: other });
    expect(await ownerToken(path)).toBe(second.owner.token);
    // The first one's next heartbeat finds the lock someone else's.
    expect(await first.beat()).toBe(false);
    expect(first.signal.aborted).toBe(true);
    expect(lostTo?.owner?.token).toBe(second.owner.token);
    await first.release();
    expect(await ownerToken(path)).toBe(second.owner.token);
    await second.release();
    expect(await folder(path)).toEqual([]);
  });

  it("is not stopped by a takeover guard whose taker died mid-takeover", { timeout: 10_000 }, async () => {
    const path = await lockPath();
    const dead = await handMadeLock(path, { pid: DEAD_PID });
    await handMadeLock(`${path}.takeover-${dead.token}-0`, { pid: DEAD_PID });
    const clock = new FakeClock();
    let waited = false;
    const held = await acquireLock(path, { clock, onWait: () => (waited = true) });
    expect(waited).toBe(false);
    // The dead guard (of a lock that is gone for good) was swept.
    expect(await folder(path)).toEqual(["thing.lock"]);
    await held.release();
  });

  it("sweeps what killed processes left next to the lock", async () => {
    const path = await lockPath();
    const tag = machineTag(currentMachine());
    await mkdir(`${path}.new-${tag}-${DEAD_PID}-0b4c7c55-2b8e-4a47-a1a5-7d4a8a3c1f00`); // died before writing its owner file
    await handMadeLock(`${path}.aside-1f1e7a4c-93f5-4d1b-9b16-3c0f51d8f0aa`, { pid: DEAD_PID }); // died before deleting it
    await handMadeLock(`${path}.takeover-anon-1-2-0`, { pid: DEAD_PID });
    const live = `${path}.new-${tag}-${process.pid}-2d9a4b3e-7a51-44a6-bb38-0e3e0f0d1a7c`; // a live creator's: kept
    await mkdir(live);
    const held = await acquireLock(path);
    expect(await folder(path)).toEqual(["thing.lock", live.slice(live.lastIndexOf("/") + 1)]);
    await held.release();
  });

  it("takes over the lock file of an older flash-ts once it is stale", async () => {
    const path = await lockPath();
    await writeFile(path, `${DEAD_PID}@somewhere:1:abc`);
    const clock = new FakeClock();
    const old = new Date(clock.wallNow() - 60_000);
    await utimes(path, old, old);
    const held = await acquireLock(path, { clock });
    expect(await ownerToken(path)).toBe(held.owner.token);
    await held.release();
  });

  it("gives up with CONFLICT naming the holder after its timeout", async () => {
    const path = await lockPath();
    const clock = new FakeClock();
    await handMadeLock(path, { machine: OTHER_MACHINE, pid: 7, host: "box" }, clock.wallNow());
    const taking = acquireLock(path, { clock, staleMs: 60_000, timeoutMs: 90_000, pollMs: 1000 });
    const failed = expect(taking).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringContaining("pid 7 on box") });
    for (let s = 0; s < 90; s++) {
      await clock.nextSleep();
      await beatHandMade(path, clock.wallNow() + 1000);
      await clock.advance(1000);
    }
    await failed;
  });

  it("refuses timings where a waiter would give up before a lock can go stale", async () => {
    const path = await lockPath();
    await expect(acquireLock(path, { staleMs: 10_000, timeoutMs: 5_000 })).rejects.toMatchObject({ code: "INTERNAL" });
  });
});
