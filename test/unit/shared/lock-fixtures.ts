/**
 * A manual clock for tests of code that waits or judges age (shared/clock.ts):
 * time moves only when the test advances it, and a test can wait for the code
 * under test to go to sleep (it has done everything it could without time
 * passing). Also hand-made lock folders, as another process would leave them.
 */
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../../../src/shared/clock.js";
import type { LockOwner } from "../../../src/shared/lock.js";
import { currentMachine } from "../../../src/shared/machine.js";

interface Sleeper {
  until: number;
  resolve: () => void;
}

export class FakeClock implements Clock {
  private mono = 0;
  private readonly sleepers = new Set<Sleeper>();
  private readonly onSleep = new Set<() => void>();

  constructor(private readonly wallOrigin = Date.now()) {}

  now(): number {
    return this.mono;
  }

  wallNow(): number {
    return this.wallOrigin + this.mono;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    for (const notify of [...this.onSleep]) notify();
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper: Sleeper = { until: this.mono + Math.max(0, ms), resolve };
      this.sleepers.add(sleeper);
      signal?.addEventListener(
        "abort",
        () => {
          this.sleepers.delete(sleeper);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Moves time forward, waking every sleeper whose time has come. */
  advance(ms: number): void {
    this.mono += ms;
    for (const sleeper of [...this.sleepers]) {
      if (sleeper.until <= this.mono) {
        this.sleepers.delete(sleeper);
        sleeper.resolve();
      }
    }
  }

  /** Resolves at the next call to sleep() (the code under test has nothing left to do without time passing). */
  nextSleep(): Promise<void> {
    return new Promise((resolve) => {
      const notify = (): void => {
        this.onSleep.delete(notify);
        resolve();
      };
      this.onSleep.add(notify);
    });
  }
}

/** A pid that does not exist (above the usual pid_max of 2^22). */
export const DEAD_PID = 2 ** 22 + 12345;

/** Writes a lock folder as another process would have: owner file with its heartbeat at `beatAt` (ms since epoch). */
export async function handMadeLock(path: string, owner: Partial<LockOwner>, beatAt = Date.now()): Promise<LockOwner> {
  const full: LockOwner = {
    pid: DEAD_PID,
    host: "elsewhere",
    machine: currentMachine(),
    token: `hand-made-${Math.random().toString(36).slice(2)}`,
    since: new Date(beatAt).toISOString(),
    ...owner,
  };
  await mkdir(path, { recursive: true });
  const ownerPath = join(path, "owner.json");
  await writeFile(ownerPath, JSON.stringify(full));
  await utimes(ownerPath, new Date(beatAt), new Date(beatAt));
  return full;
}

/** Moves a hand-made lock's heartbeat. */
export async function beatHandMade(path: string, at: number): Promise<void> {
  await utimes(join(path, "owner.json"), new Date(at), new Date(at));
}
