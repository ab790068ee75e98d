/**
 * What a lock waiter sees and how it judges it (docs/internals.md, "Locks"):
 * the owner file of a lock or guard, and whether its holder is gone. Used by
 * common/lock.ts only.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "./clock.js";
import { isRecord } from "./is-record.js";
import { isLocalProcessGone } from "./machine.js";

export const OWNER_FILE = "owner.json";

export interface LockOwner {
  pid: number;
  /** Host name, for messages (a container's is its id). */
  host: string;
  /** Pids are comparable only between equal machine identities (see common/machine.ts). */
  machine: string;
  /** The holder process's start time, where the system tells (a reused pid is then not mistaken for it). */
  started?: string;
  /** Tells one holding from another; names the lock's takeover guards. */
  token: string;
  /** When it was taken (ISO time). */
  since: string;
  /** What the holder wanted known (e.g. that it runs in the dev container). */
  info?: Record<string, string | number | boolean>;
}

/** A lock held by someone else, as a waiter sees it. */
export interface LockHolder {
  /** Undefined for a lock without a readable owner file (made by hand, or by an older flash-ts). */
  owner: LockOwner | undefined;
  /** The holder runs on this machine (and is alive, or the lock would have been taken over). */
  local: boolean;
  /** Milliseconds since its last heartbeat, by this process's wall clock. */
  beatAgeMs: number;
}

const TOKEN_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

function parseOwner(text: string): LockOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { pid, host, machine, token, since, started, info } = value;
  if (typeof pid !== "number" || typeof host !== "string" || typeof machine !== "string" || typeof token !== "string" || !TOKEN_PATTERN.test(token)) {
    return undefined;
  }
  return {
    pid,
    host,
    machine,
    token,
    since: typeof since === "string" ? since : "",
    ...(typeof started === "string" ? { started } : {}),
    ...(isRecord(info) ? { info: info as LockOwner["info"] } : {}),
  };
}

/** What is at a lock (or guard) path now: its identity, owner and heartbeat; undefined when nothing is. */
export interface Sight {
  identity: string;
  owner: LockOwner | undefined;
  beatMs: number;
}

export async function look(path: string): Promise<Sight | undefined> {
  const ownerPath = join(path, OWNER_FILE);
  const owner = parseOwner(await readFile(ownerPath, "utf8").catch(() => ""));
  if (owner) {
    const info = await stat(ownerPath).catch(() => undefined);
    if (info) return { identity: owner.token, owner, beatMs: info.mtimeMs };
  }
  // No readable owner: a folder made by hand, or a lock file of an older flash-ts.
  // Its inode and mtime identify it (nobody refreshes it, so they do not change).
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  return { identity: `anon-${info.ino}-${Math.round(info.mtimeMs * 1000)}`, owner: undefined, beatMs: info.mtimeMs };
}

/** Judges locks for one waiter, remembering when it first saw each heartbeat value. */
export class Judge {
  private readonly seen = new Map<string, { beatMs: number; since: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly staleMs: number,
    private readonly machine: string,
  ) {}

  isLocal(sight: Sight): boolean {
    return sight.owner?.machine === this.machine;
  }

  abandoned(sight: Sight): boolean {
    const owner = sight.owner;
    const old = this.clock.wallNow() - sight.beatMs > this.staleMs;
    if (owner?.machine === this.machine) {
      // Our own pid is a holder of this process (alive) unless it started at another time:
      // an earlier process that had our pid, in a pid namespace whose number came back.
      if (isLocalProcessGone(owner.pid, owner.started)) return true;
      // Same clock: an old heartbeat means a hung holder, or a pid reused after it died.
      if (old) return true;
    } else if (!owner && old) {
      return true; // nobody refreshes an ownerless lock
    }
    // Across machines, clocks may disagree (a VM's clock lags after a laptop sleeps):
    // only a heartbeat that stopped moving while we watched counts.
    const now = this.clock.now();
    let seen = this.seen.get(sight.identity);
    if (!seen || seen.beatMs !== sight.beatMs) this.seen.set(sight.identity, (seen = { beatMs: sight.beatMs, since: now }));
    return now - seen.since > this.staleMs;
  }

  holder(sight: Sight): LockHolder {
    return { owner: sight.owner, local: this.isLocal(sight), beatAgeMs: Math.max(0, Math.round(this.clock.wallNow() - sight.beatMs)) };
  }
}
