/**
 * Lock folders made by hand, as another process would leave them (for the
 * lock's unit tests and the integration tests of its users).
 */
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LockOwner } from "../../src/common/lock.js";
import { currentMachine } from "../../src/common/machine.js";

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
