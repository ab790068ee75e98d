/**
 * A wrapper of node:fs for tests that need filesystem faults real
 * directories cannot produce here: EACCES (the tests run as root, where
 * chmod denies nothing) and slow stats (a slow bind mount).
 *
 *   vi.mock("node:fs", async (orig) => (await import("./fs-faults.js")).withFaults(await orig()));
 */
import type * as FS from "node:fs";

/** Absolute paths whose stat/readdir fail with EACCES. */
export const denied = new Set<string>();
/** Absolute paths whose stat busy-waits this many ms first. */
export const slow = new Map<string, number>();

function check(path: unknown): void {
  const key = String(path);
  const delay = slow.get(key);
  if (delay !== undefined) {
    const until = performance.now() + delay;
    while (performance.now() < until) {
      // busy-wait: a slow stat blocks the calling thread, as a synchronous one on a slow mount does
    }
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
}
