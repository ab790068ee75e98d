/**
 * One `flash dev` per project. Two sessions on one `.runpod/` would each
 * provision and each write the cache, and the state would be whichever wrote
 * last. The session holds `.runpod/session.lock` (the lock of
 * docs/internals.md, "Locks") from start to close, so a second one, on the
 * host or in the dev container, is refused and told which process to stop.
 * A session killed with `kill -9` does not block the next: on the same
 * machine its dead pid frees the lock at once; across the host/container
 * boundary its heartbeat stops and the lock is free within 10 s, or at once
 * when the dev container that held it was replaced (a container's name is
 * unique while it exists: a session of the same container name on another
 * machine identity is one of a container that is gone).
 *
 * Claiming the project also checks that this version can use its state: a
 * newer version's resources.json is refused at start rather than at the
 * first call, and a corrupt one is kept aside and reported right away.
 */
import { join } from "node:path";
import { AppError, hasCode } from "../common/errors.js";
import { acquireLock, LOCK_DEFAULTS } from "../common/lock.js";
import type { LockHolder, LockOptions } from "../common/lock.js";
import type { Logger } from "../common/logger.js";
import { createResourceCache } from "./resource-cache.js";

export const SESSION_LOCK = "session.lock";

export interface ProjectSession {
  /** Gives the project back (idempotent). */
  release(): Promise<void>;
}

export interface ClaimOptions {
  logger: Logger;
  /**
   * The session's environment: FLASH_IN_CONTAINER tells waiters it runs in the
   * dev container, FLASH_CONTAINER_NAME which one.
   */
  env: NodeJS.ProcessEnv;
  /** Lock timings (tests shorten them). */
  lock?: Pick<LockOptions, "staleMs" | "heartbeatMs" | "pollMs" | "clock">;
}

function describeHolder(holder: LockHolder | undefined): string {
  const owner = holder?.owner;
  if (!owner) return "an unknown process";
  const where = owner.info?.inContainer === true ? `in a dev container (host ${owner.host})` : holder.local ? "on this machine" : `on host ${owner.host}`;
  const since = owner.since ? `, started ${owner.since}` : "";
  return `pid ${owner.pid} ${where}${since}`;
}

function alreadyRunning(lockPath: string, holder: LockHolder | undefined, cause: unknown): AppError {
  const pid = holder?.owner?.pid;
  return new AppError("CONFLICT", `flash dev is already running for this project: ${describeHolder(holder)}`, {
    hint:
      `Stop that session first (Ctrl+C in its terminal${pid ? `, or kill ${pid}` : ""}), then start again. ` +
      "One flash dev per project folder: two would provision and write .runpod/ over each other. " +
      `If no such process exists and this persists, delete ${lockPath}.`,
    details: { lock: lockPath, ...(holder?.owner ? { owner: holder.owner } : {}) },
    cause,
  });
}

/** Claims `stateDir` (the project's `.runpod/`) for this session, or refuses naming the session that has it. */
export async function claimProjectSession(stateDir: string, options: ClaimOptions): Promise<ProjectSession> {
  const { logger } = options;
  const lockPath = join(stateDir, SESSION_LOCK);
  const staleMs = options.lock?.staleMs ?? LOCK_DEFAULTS.staleMs;
  const container = options.env.FLASH_CONTAINER_NAME?.trim() || undefined;
  let last: LockHolder | undefined;
  let told = false;
  const held = await acquireLock(lockPath, {
    ...options.lock,
    staleMs,
    // Long enough for a holder across the bind mount to be judged by its heartbeat, no longer.
    timeoutMs: staleMs + 3 * (options.lock?.heartbeatMs ?? LOCK_DEFAULTS.heartbeatMs),
    info: { command: "flash dev", inContainer: options.env.FLASH_IN_CONTAINER === "1", ...(container ? { container } : {}) },
    onBusy: (holder) => {
      last = holder;
      // On this machine a live pid is proof enough; across the boundary only the heartbeat can tell.
      if (holder.local) return "fail";
      if (container && holder.owner?.info?.container === container) {
        logger.info(`The previous session of this dev container (pid ${holder.owner.pid}) is gone with the container it ran in; taking the project over.`);
        return "gone";
      }
      if (!told) {
        told = true;
        logger.warn(`Another flash dev holds this project (${describeHolder(holder)}); checking for ${Math.round(staleMs / 1000)} s whether it is still running…`);
      }
      return "wait";
    },
    onLost: (holder) =>
      logger.error(
        `✖ Another flash dev took this project over (${describeHolder(holder)}): it judged this session gone (was this process suspended?). ` +
          "Stop one of the two sessions.",
      ),
  }).catch((error: unknown) => {
    throw hasCode(error, "CONFLICT") ? alreadyRunning(lockPath, last, error) : error;
  });
  try {
    // Reading the cache is what refuses a newer version's file, and keeps a corrupt one aside.
    await createResourceCache(stateDir, logger).list();
  } catch (error) {
    await held.release();
    throw error;
  }
  return { release: () => held.release() };
}
