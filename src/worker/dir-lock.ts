/**
 * An inter-process lock on a directory name: `mkdir` is atomic on every file
 * system we care about, so whoever creates the directory holds the lock.
 * Several worker processes share one cache, and only one of them may run
 * `npm install` into a given folder at a time.
 *
 * A holder that died leaves the directory behind; it is taken over when its
 * owner (same host) no longer exists, when it has not been refreshed for
 * `staleMs` (the holder touches it while it works), or when it still has no
 * readable owner file `ownerGraceMs` after it was made (the holder died
 * between `mkdir` and writing that file).
 *
 * Taking over must not break a lock someone else just took: several waiters
 * can judge the same lock abandoned, and a plain `rm` by the slower one would
 * delete the lock the faster one made right after. Nor can the slower one
 * simply check again before removing (that is the same race, only narrower).
 * So each lock has an identity (the holder's token in its owner file, or
 * inode and mtime while it has none), and removing the lock of a given
 * identity is itself guarded by a `mkdir` of `<lock>.takeover-<identity>`:
 * only one waiter wins it, and that one, while it holds it, judges the lock
 * again and checks it still has that identity. A lock of that identity cannot
 * come back once gone, and nobody else may remove it, so what it then moves
 * aside (`rename`, so the lock path is free at once) is that abandoned lock.
 * A taker that died holding the guard leaves it behind: it is removed after
 * `ownerGraceMs` (two waiters removing such a guard at once is the one race
 * left, and it needs a taker to die in the middle of a takeover first).
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { isProcessAlive } from "../shared/process-alive.js";

export interface DirLockOptions {
  /** A lock not refreshed for this long is considered abandoned. Default 10 minutes. */
  staleMs?: number;
  /** A lock still without a readable owner file this long after it was made is considered abandoned. Default 30 s. */
  ownerGraceMs?: number;
  /** How often a waiting process checks the lock again. Default 200 ms. */
  pollMs?: number;
  /** Called once when this process has to wait for another holder. */
  onWait?: () => void;
}

interface Owner {
  pid: number;
  host: string;
  /** Tells one holding from another (pids are reused); older holders wrote none. */
  token?: string;
}

const OWNER_FILE = "owner.json";
/** Tokens end up in a folder name; anything else in an owner file is not trusted as one. */
const TOKEN_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

/** The owner file of a lock folder, or undefined when it is missing, partly written or not ours to read. */
async function readOwner(dir: string): Promise<Owner | undefined> {
  try {
    const value = JSON.parse(await readFile(join(dir, OWNER_FILE), "utf8")) as unknown;
    if (typeof value !== "object" || value === null) return undefined;
    const { pid, host, token } = value as Record<string, unknown>;
    if (typeof pid !== "number" || typeof host !== "string") return undefined;
    return { pid, host, ...(typeof token === "string" && TOKEN_PATTERN.test(token) ? { token } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * The identity of the lock now at `lockDir` if it is abandoned, else undefined
 * (held, or gone). The identity is usable in a file name.
 */
async function abandonedIdentity(lockDir: string, staleMs: number, ownerGraceMs: number): Promise<string | undefined> {
  let info;
  try {
    info = await stat(lockDir);
  } catch {
    return undefined; // released meanwhile: the next mkdir will tell
  }
  const owner = await readOwner(lockDir);
  // Writing the owner file changes the folder's mtime, so an ownerless lock keeps this identity until it gets one.
  const identity = owner?.token ?? `${info.ino}-${Math.round(info.mtimeMs * 1000)}`;
  const age = Date.now() - info.mtimeMs;
  if (age > staleMs) return identity;
  // The owner file is written right after mkdir: a fresh lock without one is being set up,
  // an old one lost its holder in between.
  if (!owner) return age > ownerGraceMs ? identity : undefined;
  return owner.host === hostname() && owner.pid !== process.pid && !isProcessAlive(owner.pid) ? identity : undefined;
}

/**
 * Removes the abandoned lock of `identity`, unless another waiter did it already.
 * False when another waiter is doing it right now (then wait a little before looking again).
 */
async function takeOver(lockDir: string, identity: string, staleMs: number, ownerGraceMs: number): Promise<boolean> {
  const guard = `${lockDir}.takeover-${identity}`;
  try {
    await mkdir(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    // Another waiter is taking it over. One that died doing so must not block everyone for good.
    const info = await stat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > ownerGraceMs) await rm(guard, { recursive: true, force: true });
    return false;
  }
  try {
    // Judged again under the guard: it may have been taken over and released since, or refreshed.
    if ((await abandonedIdentity(lockDir, staleMs, ownerGraceMs)) !== identity) return true;
    const aside = `${lockDir}.stale-${process.pid}-${randomUUID()}`;
    try {
      await rename(lockDir, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
      throw error;
    }
    await rm(aside, { recursive: true, force: true });
    return true;
  } finally {
    await rm(guard, { recursive: true, force: true });
  }
}

/**
 * Writes our owner file into the folder we just made, and checks that it is there.
 * The file is created exclusively so that, whatever happened to the folder, we never
 * overwrite another holder's. False means "not ours after all, try again".
 */
async function claim(lockDir: string, token: string): Promise<boolean> {
  try {
    await writeFile(join(lockDir, OWNER_FILE), JSON.stringify({ pid: process.pid, host: hostname(), token } satisfies Owner), { flag: "wx" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EEXIST") return false;
    // Do not leave an ownerless lock behind for others to wait out.
    await rm(lockDir, { recursive: true, force: true });
    throw error;
  }
  return (await readOwner(lockDir))?.token === token;
}

/** Runs `fn` while holding the lock directory `lockDir` (created next to what it protects). */
export async function withDirLock<T>(lockDir: string, fn: () => Promise<T>, options: DirLockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? 10 * 60_000;
  const ownerGraceMs = options.ownerGraceMs ?? 30_000;
  const pollMs = options.pollMs ?? 200;
  const token = randomUUID();
  let waited = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      if (await claim(lockDir, token)) break;
      continue;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const identity = await abandonedIdentity(lockDir, staleMs, ownerGraceMs);
    if (identity !== undefined && (await takeOver(lockDir, identity, staleMs, ownerGraceMs))) continue;
    if (!waited) {
      waited = true;
      options.onWait?.();
    }
    await delay(pollMs);
  }
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
    // Only release what is still ours: if we were taken over as stale, the folder is someone else's lock now.
    if ((await readOwner(lockDir))?.token === token) await rm(lockDir, { recursive: true, force: true });
  }
}
