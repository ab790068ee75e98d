/**
 * Serialises reloads: changes that arrive while a reload runs are collected
 * and handled by one more run afterwards (never two at once, never lost).
 * The route table is told of each change as it arrives (`onPending`, so the
 * requests it may affect wait from then on) and of each run taking the
 * changes collected so far (`onRun`), so a request waits for the run that
 * applies the change it arrived after, not for an earlier one.
 */
export interface Reloader {
  /** Queues paths for the next reload; `onPending` runs synchronously with them. */
  schedule(paths: readonly string[]): void;
  /**
   * Schedules `paths` after `afterMs` (files that looked half-saved, to be
   * looked at again). Replaces any earlier recheck; an empty list cancels it.
   */
  recheckLater(paths: readonly string[], afterMs: number): void;
  /** Resolves when no reload is pending or running. */
  idle(): Promise<void>;
  /** Stops scheduling new runs; resolves when the current one is done. */
  close(): Promise<void>;
}

export function createReloader(options: {
  run: (paths: string[]) => Promise<void>;
  /** Changes arrived (before or during a run). */
  onPending: (paths: readonly string[]) => void;
  /** A run is about to apply every change that arrived so far. */
  onRun: (paths: readonly string[]) => void;
}): Reloader {
  const pending = new Set<string>();
  let running: Promise<void> | undefined;
  let closed = false;
  let recheck: NodeJS.Timeout | undefined;

  const loop = async (): Promise<void> => {
    while (pending.size > 0 && !closed) {
      const paths = [...pending];
      pending.clear();
      options.onRun(paths);
      await options.run(paths);
    }
  };

  const schedule = (paths: readonly string[]): void => {
    if (closed || paths.length === 0) return;
    for (const p of paths) pending.add(p);
    options.onPending(paths);
    running ??= loop().finally(() => {
      running = undefined;
    });
  };

  return {
    schedule,
    recheckLater(paths, afterMs) {
      clearTimeout(recheck);
      recheck = undefined;
      if (closed || paths.length === 0) return;
      const due = [...paths];
      recheck = setTimeout(() => {
        recheck = undefined;
        schedule(due);
      }, afterMs);
      recheck.unref();
    },
    async idle() {
      while (running) await running;
    },
    async close() {
      closed = true;
      clearTimeout(recheck);
      pending.clear();
      while (running) await running;
    },
  };
}
