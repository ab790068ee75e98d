/**
 * Which machine a process runs on, as far as pids are concerned. A pid
 * written by one process can be checked by another only when both see the
 * same process table: same host name, same boot (pids restart after a reboot)
 * and same pid namespace (the dev container has its own, even on the same
 * kernel). Locks compare these identities before trusting a pid
 * (docs/internals.md, "Locks").
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { sha256 } from "./hash.js";
import { isProcessAlive } from "./process-alive.js";

let cached: string | undefined;

function readOr(read: () => string, fallback: string): string {
  try {
    return read().trim();
  } catch {
    return fallback;
  }
}

/** `<hostname>|<boot id>|<pid namespace>`; the last two are empty where the system does not tell. */
export function currentMachine(): string {
  cached ??= [
    hostname(),
    readOr(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"), ""),
    readOr(() => readlinkSync("/proc/self/ns/pid"), ""),
  ].join("|");
  return cached;
}

/** 8 hex characters of a machine identity, for file names. */
export function machineTag(machine: string): string {
  return sha256(machine).slice(0, 8);
}

/**
 * When a process of this machine started (clock ticks since boot, from
 * /proc/<pid>/stat), or undefined where the system does not tell. With the
 * pid it names one process for good: pids are reused, and a restarted
 * container may even get its old pid namespace's number back.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses); starttime is field 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

let ownStart: string | undefined | null = null;

/** This process's start time (see processStartTime). */
export function currentProcessStart(): string | undefined {
  if (ownStart === null) ownStart = processStartTime(process.pid);
  return ownStart;
}

/**
 * True when the process `pid` of this machine, started at `started` (when
 * known), no longer exists: no such pid, or a different process now has it.
 */
export function isLocalProcessGone(pid: number, started?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (!isProcessAlive(pid)) return true;
  if (started === undefined) return false;
  const now = pid === process.pid ? currentProcessStart() : processStartTime(pid);
  return now !== undefined && now !== started;
}
