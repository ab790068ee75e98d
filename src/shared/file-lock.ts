/**
 * An inter-process lock on a file path that works across the host and a dev
 * container sharing the folder through a bind mount (flock does not cross
 * that boundary reliably; an exclusively-created lock file does). The lock
 * file holds the owner's pid, host name and time; a lock older than
 * `staleMs` is taken over, so a killed process cannot block others forever.
 */
import { open, readFile, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { AppError } from "./errors.js";

export interface FileLockOptions {
  /** Give up after this long. Default 10 s. */
  timeoutMs?: number;
  /** A lock file older than this is considered abandoned. Default 30 s. */
  staleMs?: number;
  /** Delay between attempts. Default 25 ms. */
  retryMs?: number;
}

/** Runs `fn` while holding `<path>.lock`. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const release = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Acquires `<path>.lock`; resolves to a release function. */
export async function acquireFileLock(path: string, options: FileLockOptions = {}): Promise<() => Promise<void>> {
  const lockPath = `${path}.lock`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  const retryMs = options.retryMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  const token = `${process.pid}@${hostname()}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
  for (;;) {
    try {
      const handle = await open(lockPath, "wx");
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      return async () => {
        // Only remove the lock if it is still ours (it may have been taken over as stale).
        const current = await readFile(lockPath, "utf8").catch(() => "");
        if (current === token) await rm(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const info = await stat(lockPath).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > staleMs) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new AppError("CONFLICT", `could not lock ${path} within ${timeoutMs} ms`, {
        hint: `Another flash process holds ${lockPath}. If none is running, delete that file.`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}
