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

/** True when `pid` (of this machine) no longer exists. */
export function isLocalProcessGone(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid);
}
