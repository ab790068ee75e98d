/**
 * Serialises reloads: changes that arrive while a reload runs are collected
 * and handled by one more run afterwards (never two at once, never lost).
 * Requests are held by the route table from the first change until the
 * reload that covers it has finished.
 */
export interface Reloader {
  /** Queues paths for the next reload; `onPending` runs synchronously, and again before every run. */
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
  onPending: () => void;
}): Reloader {
  const pending = new Set<string>();
  let running: Promise<void> | undefined;
  let closed = false;
  let recheck: NodeJS.Timeout | undefined;

  const loop = async (): Promise<void> => {
    while (pending.size > 0 && !closed) {
      // The previous run's endReload released held requests; changes that
      // arrived during it must hold new requests again until this run ends.
      options.onPending();
      const paths = [...pending];
      pending.clear();
      await options.run(paths);
    }
  };

  const schedule = (paths: readonly string[]): void => {
    if (closed || paths.length === 0) return;
    for (const p of paths) pending.add(p);
    options.onPending();
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
