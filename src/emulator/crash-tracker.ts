/**
 * Crash-loop bookkeeping for one endpoint's workers. Unexpected exits soon
 * after start delay the next start (0, 1 s, 2 s, 4 s … 30 s); when workers
 * keep dying before they ever become ready, queued work is failed with a
 * clear error instead of waiting forever.
 */
import { backoffDelay } from "../common/backoff.js";
import type { BackoffPolicy } from "../common/backoff.js";

/** A worker exiting sooner than this after its start counts as a crash-loop failure. */
export const EARLY_EXIT_MS = 30_000;
/** After this many workers in a row die before becoming ready, queued jobs are failed. */
export const START_FAILURES_BEFORE_FAILING_JOBS = 3;

/**
 * Delay before the next start after consecutive early failures: the first
 * restart is immediate, then 1 s, 2 s, 4 s … capped at 30 s.
 */
export function crashBackoffMs(consecutiveFailures: number): number {
  if (consecutiveFailures <= 1) return 0;
  return backoffDelay(RESTART_BACKOFF, consecutiveFailures - 1);
}

const RESTART_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000 };

/** Consecutive-failure counters and the next allowed start time of one endpoint. */
export class CrashTracker {
  /** Consecutive early exits. */
  failures = 0;
  /** Consecutive exits of workers that never became ready. */
  startFailures = 0;
  /** No new worker before this time (ms epoch). */
  notBefore = 0;

  /** A worker exited without being asked to. */
  recordExit(uptimeMs: number, everReady: boolean, now: number): { backoffMs: number; failQueued: boolean } {
    if (uptimeMs >= EARLY_EXIT_MS) {
      this.failures = 0;
      return { backoffMs: 0, failQueued: false };
    }
    this.failures++;
    const backoffMs = crashBackoffMs(this.failures);
    this.notBefore = now + backoffMs;
    if (everReady) return { backoffMs, failQueued: false };
    this.startFailures++;
    return { backoffMs, failQueued: this.startFailures >= START_FAILURES_BEFORE_FAILING_JOBS };
  }

  /** A worker completed a job: whatever crashed before, workers can work. */
  recordSuccess(): void {
    this.failures = 0;
  }

  /** A worker became ready. */
  recordReady(): void {
    this.startFailures = 0;
  }

  /** How long to wait before the next start (<= 0: now). */
  waitMs(now: number): number {
    return this.notBefore - now;
  }
}
