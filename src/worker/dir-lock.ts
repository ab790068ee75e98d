/**
 * An inter-process lock on a directory name: `mkdir` is atomic on every file
 * system we care about, so whoever creates the directory holds the lock.
 * Several worker processes share one cache, and only one of them may run
 * `npm install` into a given folder at a time.
 *
 * A holder that died leaves the directory behind; it is taken over when its
 * owner (same host) no longer exists, or when it has not been refreshed for
 * `staleMs` (the holder touches it while it works).
 */
import { mkdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

export interface DirLockOptions {
  /** A lock not refreshed for this long is considered abandoned. Default 10 minutes. */
  staleMs?: number;
  /** How often a waiting process checks the lock again. Default 200 ms. */
  pollMs?: number;
  /** Called once when this process has to wait for another holder. */
  onWait?: () => void;
}

interface Owner {
  pid: number;
  host: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function isAbandoned(lockDir: string, staleMs: number): Promise<boolean> {
  try {
    const info = await stat(lockDir);
    if (Date.now() - info.mtimeMs > staleMs) return true;
    const owner = JSON.parse(await readFile(join(lockDir, "owner.json"), "utf8")) as Owner;
    return owner.host === hostname() && owner.pid !== process.pid && !isAlive(owner.pid);
  } catch {
    // The owner file is written right after mkdir; give a fresh lock the benefit of the doubt.
    return false;
  }
}

/** Runs `fn` while holding the lock directory `lockDir` (created next to what it protects). */
export async function withDirLock<T>(lockDir: string, fn: () => Promise<T>, options: DirLockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 200;
  let waited = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (await isAbandoned(lockDir, staleMs)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!waited) {
      waited = true;
      options.onWait?.();
    }
    await delay(pollMs);
  }
  await writeFile(join(lockDir, "owner.json"), JSON.stringify({ pid: process.pid, host: hostname() } satisfies Owner));
  // Keep the lock fresh while a long install runs, so nobody mistakes it for abandoned.
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(lockDir, now, now).catch(() => {});
  }, Math.max(1000, Math.floor(staleMs / 4)));
  refresh.unref();
  try {
    return await fn();
  } finally {
    clearInterval(refresh);
    await rm(lockDir, { recursive: true, force: true });
  }
}
