/**
 * A wrapper of node:fs for tests that need filesystem faults real
 * directories cannot produce here: EACCES (the tests run as root, where
 * chmod denies nothing) and slow stats (a slow bind mount), which move the
 * FakeClock the watcher measures its rounds by.
 *
 *   vi.mock("node:fs", async (orig) => (await import("./fs-faults.js")).withFaults(await orig()));
 */
import type * as FS from "node:fs";
import type { FakeClock } from "../../helpers/fake-clock.js";

/** Absolute paths whose stat/readdir fail with EACCES. */
export const denied = new Set<string>();
/** Absolute paths whose stat takes this many ms of `faults.clock`. */
export const slow = new Map<string, number>();
/** The clock slow stats take their time from (the one the watcher under test measures with). */
export const faults: { clock?: FakeClock } = {};

function check(path: unknown): void {
  const key = String(path);
  const delay = slow.get(key);
  if (delay !== undefined) {
    if (!faults.clock) throw new Error("fs-faults: a slow path needs faults.clock");
    faults.clock.tick(delay);
  }
  if (denied.has(key)) throw Object.assign(new Error(`EACCES: permission denied, '${key}'`), { code: "EACCES" });
}

export function withFaults(fs: typeof FS): typeof FS {
  return {
    ...fs,
    statSync: ((path: string, options?: object) => (check(path), fs.statSync(path, options))) as typeof fs.statSync,
    readdirSync: ((path: string, options?: object) => (check(path), fs.readdirSync(path, options as never))) as typeof fs.readdirSync,
  };
}

export function resetFaults(): void {
  denied.clear();
  slow.clear();
  delete faults.clock;
}
