/**
 * The one inter-process lock of flash-ts (docs/internals.md, "Locks"): the
 * endpoint cache and the project id in `.runpod/`, the `flash dev` session,
 * and the worker's dependency installs all use it.
 *
 * A lock is a directory whose `owner.json` names its holder (pid, host,
 * machine identity, a random token). It must hold across the host and the dev
 * container sharing a folder through a bind mount, where pids of one side mean
 * nothing on the other and flock is not reliable, so:
 *
 * - It is created whole: the directory is made under a temporary name with its
 *   owner file in it, then renamed onto the lock path. Renaming a directory
 *   onto a non-empty one fails, so exactly one creator wins, and a lock never
 *   exists without an owner (nobody has to guess about a half-made one).
 * - Its holder refreshes the owner file's mtime (the heartbeat) every
 *   `heartbeatMs`. A lock is abandoned when its holder is a dead pid on this
 *   machine (taken over at once), or when its heartbeat has not moved for
 *   `staleMs` while a waiter watched it. For a holder on this machine (same
 *   clock), a heartbeat older than `staleMs` is enough; across the bind mount
 *   clocks may disagree, so only the watched heartbeat counts there.
 * - Taking over never removes a lock someone else just took. Several waiters
 *   may judge the same lock abandoned; a plain `rm` by the slower one would
 *   delete the faster one's new lock. So a lock's identity (its token) names a
 *   guard, `<lock>.takeover-<token>-<n>`, created the same whole way; only the
 *   waiter holding it may move that lock aside, after judging it again under
 *   the guard. A lock of a given token cannot come back once gone, so what it
 *   moves is the abandoned lock. A guard whose creator died is itself judged
 *   like a lock; the next number is used instead of removing it, so two
 *   waiters never share a guard. Release goes through the same guard, so a
 *   holder that was taken over never deletes its successor's lock.
 * - Whatever a killed process leaves next to the lock (temporary directories,
 *   moved-aside locks, old guards) is swept by the next holder.
 *
 * proper-lockfile was considered: it judges staleness by mtime only (a
 * `kill -9` blocks everyone for the whole stale period, no pid check) and
 * removes a stale lock with a plain rmdir, the race described above.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rename, rm, utimes, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import { AppError } from "./errors.js";
import { Judge, look, OWNER_FILE } from "./lock-judge.js";
import type { LockHolder, LockOwner } from "./lock-judge.js";
import { currentMachine, currentProcessStart, isLocalProcessGone, machineTag } from "./machine.js";

export type { LockHolder, LockOwner } from "./lock-judge.js";

export interface LockOptions {
  clock?: Clock;
  /** A lock whose heartbeat is older than this is abandoned. Default 10 s. */
  staleMs?: number;
  /** How often the holder refreshes its heartbeat. Default 1 s; at most staleMs / 3. */
  heartbeatMs?: number;
  /** Give up waiting after this long (CONFLICT). Default 30 s; must exceed staleMs. */
  timeoutMs?: number;
  /** Delay between attempts while waiting. Default 25 ms. */
  pollMs?: number;
  /** Called once, when this call has to wait for a live holder. */
  onWait?: (holder: LockHolder) => void;
  /**
   * Asked each time the lock is found held: "fail" gives up at once (CONFLICT);
   * "gone" says the caller knows that holder no longer exists (it is taken over,
   * through the guard like any abandoned lock). Default "wait".
   */
  onBusy?: (holder: LockHolder) => "wait" | "fail" | "gone";
  /** Called when this holder finds its lock taken over (it was judged abandoned). */
  onLost?: (holder: LockHolder | undefined) => void;
  /** Stored in the owner file, shown to waiters. */
  info?: Record<string, string | number | boolean>;
  /** The machine identity to claim (tests simulate another host with it). Default: this machine's. */
  machine?: string;
}

export interface HeldLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** Aborted when the lock was found taken over while held. */
  readonly signal: AbortSignal;
  /** Refreshes the heartbeat now (the holder does it every heartbeatMs); false when the lock is no longer ours. */
  beat(): Promise<boolean>;
  /** Releases the lock if it is still ours, never anyone else's. Idempotent. */
  release(): Promise<void>;
}

export const LOCK_DEFAULTS = { staleMs: 10_000, heartbeatMs: 1_000, timeoutMs: 30_000, pollMs: 25 } as const;

/** Guards tried per lock identity before waiting: each one past the first means a taker died mid-takeover. */
const MAX_GUARDS = 32;
/** File system answers to "the target already exists" when renaming a directory onto it. */
const BUSY_CODES = new Set(["EEXIST", "ENOTEMPTY", "ENOTDIR", ...(process.platform === "win32" ? ["EPERM"] : [])]);

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/**
 * Creates `target` whole (a temporary directory with the owner file, renamed
 * onto it). False when something is already there, or when a sweeper removed
 * our temporary directory under us (then simply try again).
 */
async function createWhole(target: string, lockPath: string, owner: LockOwner, clock: Clock): Promise<boolean> {
  const temp = `${lockPath}.new-${machineTag(owner.machine)}-${process.pid}-${randomUUID()}`;
  await mkdir(temp);
  try {
    const ownerPath = join(temp, OWNER_FILE);
    await writeFile(ownerPath, JSON.stringify(owner) + "\n", { flag: "wx" });
    const now = new Date(clock.wallNow());
    await utimes(ownerPath, now, now);
    await rename(temp, target);
    return true;
  } catch (error) {
    await rm(temp, { recursive: true, force: true }).catch(() => {});
    if (BUSY_CODES.has(errno(error) ?? "") || errno(error) === "ENOENT") return false;
    throw error;
  }
}

/** Moves whatever is at `path` aside (so the path is free at once), then deletes it. */
async function moveAside(path: string): Promise<void> {
  const aside = `${path}.aside-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errno(error) === "ENOENT") return;
    throw error;
  }
  await rm(aside, { recursive: true, force: true }).catch(() => {});
}

interface Context {
  path: string;
  clock: Clock;
  judge: Judge;
  staleMs: number;
  pollMs: number;
  timeoutMs: number;
  machine: string;
  newOwner: () => LockOwner;
}

/** Takes the guard for removing the lock of `identity`; undefined when a live taker has it. */
async function takeGuard(ctx: Context, identity: string): Promise<(() => Promise<void>) | undefined> {
  for (let n = 0; n < MAX_GUARDS; n++) {
    const guard = `${ctx.path}.takeover-${identity}-${n}`;
    const owner = ctx.newOwner();
    if (await createWhole(guard, ctx.path, owner, ctx.clock)) {
      return async () => {
        // Ours unless we stalled past staleMs and it was judged abandoned: then leave it to its new holder.
        // Moved aside, not removed in place: a directory emptied by rm could be renamed onto by another taker.
        if ((await look(guard))?.identity === owner.token) await moveAside(guard).catch(() => {});
      };
    }
    const sight = await look(guard);
    if (sight === undefined) return undefined; // just dropped: look at the lock again
    if (!ctx.judge.abandoned(sight)) return undefined;
    // Its taker died mid-takeover: the next number, never removing this one (someone may be about to).
  }
  return undefined;
}

/**
 * Removes the lock of `identity` if, judged again under its guard, it is still
 * abandoned (or `known` gone). False when someone else is at it.
 */
async function takeOver(ctx: Context, identity: string, known = false): Promise<boolean> {
  const drop = await takeGuard(ctx, identity);
  if (!drop) return false;
  try {
    const sight = await look(ctx.path);
    if (!sight || sight.identity !== identity) return true; // already gone or replaced
    if (!known && !ctx.judge.abandoned(sight)) return false; // refreshed meanwhile
    await moveAside(ctx.path);
    return true;
  } finally {
    await drop();
  }
}

/** Clears what killed processes left next to the lock; never touches anything in use. */
async function sweep(ctx: Context, token: string): Promise<void> {
  const dir = dirname(ctx.path);
  const base = basename(ctx.path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const rest = name.slice(base.length + 1);
    const path = join(dir, name);
    let remove = false;
    if (rest.startsWith("aside-")) {
      remove = true; // moved aside by a taker or releaser that died before deleting it
    } else if (rest.startsWith("takeover-")) {
      // Guards of another identity: that lock is gone for good, nobody needs them.
      remove = !rest.startsWith(`takeover-${token}-`);
    } else if (rest.startsWith("new-")) {
      // A creator's temporary folder: remove it when its creator is gone.
      const [, tag, pid] = /^new-([0-9a-f]{8})-(\d+)-/.exec(rest) ?? [];
      const sight = await look(path);
      remove =
        (tag === machineTag(ctx.machine) && isLocalProcessGone(Number(pid))) ||
        (sight !== undefined && ctx.clock.wallNow() - sight.beatMs > 2 * ctx.staleMs);
    }
    if (remove) await rm(path, { recursive: true, force: true }).catch(() => {});
  }
}

function busyError(path: string, holder: LockHolder | undefined, waitedMs: number): AppError {
  const who = holder?.owner ? `pid ${holder.owner.pid} on ${holder.owner.host}` : "an unknown process";
  return new AppError("CONFLICT", `${path} is locked by ${who}${waitedMs > 0 ? ` (waited ${Math.round(waitedMs / 1000)} s)` : ""}`, {
    hint: `Another flash process holds this lock. If none is running, delete ${path}.`,
    details: { lock: path, ...(holder?.owner ? { owner: holder.owner } : {}) },
  });
}

/** Takes the lock at `path` (a directory next to what it protects), waiting for live holders. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const clock = options.clock ?? systemClock;
  const staleMs = options.staleMs ?? LOCK_DEFAULTS.staleMs;
  const heartbeatMs = options.heartbeatMs ?? Math.min(LOCK_DEFAULTS.heartbeatMs, Math.floor(staleMs / 3));
  const timeoutMs = options.timeoutMs ?? Math.max(LOCK_DEFAULTS.timeoutMs, 3 * staleMs);
  const pollMs = options.pollMs ?? LOCK_DEFAULTS.pollMs;
  // A waiter that gives up before an abandoned lock can go stale would report live locks that are dead.
  if (heartbeatMs <= 0 || heartbeatMs > staleMs / 3 || timeoutMs <= staleMs) {
    throw new AppError("INTERNAL", `lock timings out of range: heartbeat ${heartbeatMs} ms, stale ${staleMs} ms, timeout ${timeoutMs} ms`);
  }
  const machine = options.machine ?? currentMachine();
  const host = machine.split("|")[0] ?? "";
  const processStart = currentProcessStart();
  const newOwner = (): LockOwner => ({
    pid: process.pid,
    host,
    machine,
    ...(processStart !== undefined ? { started: processStart } : {}),
    token: randomUUID(),
    since: new Date(clock.wallNow()).toISOString(),
    ...(options.info ? { info: options.info } : {}),
  });
  const judge = new Judge(clock, staleMs, machine);
  const ctx: Context = { path, clock, judge, staleMs, pollMs, timeoutMs, machine, newOwner };
  await mkdir(dirname(path), { recursive: true });
  const me = newOwner();
  const started = clock.now();
  let waited = false;
  for (;;) {
    if (await createWhole(path, path, me, clock)) break;
    const sight = await look(path);
    if (!sight) continue; // released meanwhile
    if (judge.abandoned(sight)) {
      if (await takeOver(ctx, sight.identity)) continue;
    } else {
      const decision = options.onBusy?.(judge.holder(sight)) ?? "wait";
      if (decision === "fail") throw busyError(path, judge.holder(sight), 0);
      if (decision === "gone" && (await takeOver(ctx, sight.identity, true))) continue;
    }
    if (clock.now() - started >= timeoutMs) throw busyError(path, judge.holder(sight), clock.now() - started);
    if (!waited) {
      waited = true;
      options.onWait?.(judge.holder(sight));
    }
    await clock.sleep(pollMs);
  }
  await sweep(ctx, me.token);
  return holdLock(ctx, me, heartbeatMs, options.onLost);
}

function holdLock(ctx: Context, me: LockOwner, heartbeatMs: number, onLost: LockOptions["onLost"]): HeldLock {
  const { path, clock } = ctx;
  const lost = new AbortController();
  const stopBeating = new AbortController();
  let releasing: Promise<void> | undefined;

  const beat = async (): Promise<boolean> => {
    if (lost.signal.aborted) return false;
    const sight = await look(path);
    if (sight?.identity !== me.token) {
      if (!releasing) {
        lost.abort(new AppError("CONFLICT", `lost the lock ${path}: it was taken over`));
        onLost?.(sight ? ctx.judge.holder(sight) : undefined);
      }
      return false;
    }
    const now = new Date(clock.wallNow());
    await utimes(join(path, OWNER_FILE), now, now).catch(() => {});
    return true;
  };

  void (async () => {
    while (!stopBeating.signal.aborted) {
      try {
        await clock.sleep(heartbeatMs, stopBeating.signal);
      } catch {
        return;
      }
      if (!(await beat().catch(() => true))) return;
    }
  })();

  const release = async (): Promise<void> => {
    // Keep beating until it is gone: a waiter must not judge us abandoned mid-release.
    const started = clock.now();
    while (clock.now() - started < ctx.timeoutMs) {
      const drop = await takeGuard(ctx, me.token);
      if (drop) {
        try {
          if ((await look(path))?.identity === me.token) await moveAside(path);
        } finally {
          await drop();
        }
        return;
      }
      // A waiter is judging us right now (it will find us alive), or we were taken over.
      if ((await look(path))?.identity !== me.token) return;
      await clock.sleep(ctx.pollMs);
    }
    // Not reachable in practice (guards are held for milliseconds); once we stop beating, the lock goes stale.
  };

  return {
    path,
    owner: me,
    signal: lost.signal,
    beat,
    release: () => (releasing ??= release().finally(() => stopBeating.abort())),
  };
}

/** Runs `fn` while holding the lock at `path`. */
export async function withLock<T>(path: string, fn: (signal: AbortSignal) => Promise<T>, options: LockOptions = {}): Promise<T> {
  const held = await acquireLock(path, options);
  try {
    return await fn(held.signal);
  } finally {
    await held.release();
  }
}
