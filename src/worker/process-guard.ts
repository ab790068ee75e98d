/**
 * What a worker process watches besides its work, whether it was started as
 * `flash worker` or by the bootstrap: whoever started it going away (a broken
 * output pipe, or the emulator's process — FLASH_PARENT_PID — gone, even when
 * it was killed outright), and stray errors in user code, which are reported
 * without taking down a worker that is running other jobs.
 */
import { isProcessAlive } from "../common/process-alive.js";
import type { Logger } from "../common/logger.js";

export interface ProcessGuardOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Called once when the worker has been orphaned: stop now. */
  onOrphaned(): void;
}

export interface ProcessGuard {
  /** True once orphaned: nothing may be logged any more. */
  readonly orphaned: boolean;
}

export function installProcessGuard(options: ProcessGuardOptions): ProcessGuard {
  const state = { orphaned: false };
  // Our output pipe broke: whoever started us is gone. Stop instead of logging into the void —
  // and never log the failure itself, which would fail the same way.
  const orphan = (): void => {
    if (state.orphaned) return;
    state.orphaned = true;
    options.onOrphaned();
  };
  process.stdout.on("error", orphan);
  process.stderr.on("error", orphan);

  const parentPid = Number(options.env.FLASH_PARENT_PID);
  if (Number.isInteger(parentPid) && parentPid > 1) {
    const watch = setInterval(() => {
      if (isProcessAlive(parentPid)) return;
      clearInterval(watch);
      orphan();
    }, 1000);
    watch.unref();
  }

  const report = (what: string, reason: unknown): void => {
    if (state.orphaned) return;
    try {
      options.logger.error(`${what} in user code: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
    } catch {
      orphan();
    }
  };
  process.on("unhandledRejection", (reason) => report("unhandled rejection", reason));
  process.on("uncaughtException", (error) => report("uncaught exception", error));
  return state;
}
