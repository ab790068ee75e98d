/**
 * Poll mode: the watcher used inside the dev container, where bind mounts
 * from macOS/Windows hosts deliver no file events.
 *
 * Why not chokidar's polling: chokidar 6 `usePolling` stats every path from
 * JavaScript on every interval. Measured on the 2-core dev machine over a
 * 5,000-file tree it idles at 128 % of a core at 100 ms and 20 % at 1 s
 * (BENCHMARKS.md, "Watcher CPU while idle"), and nodemon's legacy polling at ~35 %. The cost is
 * "paths ÷ interval", so the only way to be both fast and cheap is to poll
 * few paths often and many paths rarely:
 *
 * - **Hot tier** — the files that can change the served code (what the dev
 *   server passes to `setHotFiles`: discovered modules and their project
 *   imports, plus `.env`) and their parent directories: one `statSync` each,
 *   every `hotIntervalMs` (75 ms). A few dozen stats at ~3 µs each.
 * - **Cold tier** — every other directory and file, swept in small slices
 *   (4 per second) so that one full sweep takes `coldIntervalMs` (3 s):
 *   directories by mtime (listed again only when it moved: that is how
 *   added/removed/renamed files show up), files by mtime+size+inode.
 * - **Settle** — before a batch is delivered, every known directory is
 *   stat'ed once more (one stat per directory, ~0.3 ms for 5,000 files), so
 *   the rest of a burst such as a `git checkout` (which recreates files and
 *   so moves directory mtimes) lands in the same batch as the hot file that
 *   revealed it.
 * - Ignored paths are never visited: not listed, not stat'ed.
 *
 * Self-tuning: each tier measures how long its work takes. The hot interval
 * stretches so that hot rounds use at most ~2 % of wall time, and a cold
 * slice stops after a 10 ms budget (the sweep then takes longer). On a slow
 * bind mount the intervals grow instead of the CPU use or event-loop stalls;
 * `stats()` reports the effective intervals.
 *
 * Measured on the same 2-core machine (bench/watch-idle-cpu.mjs: 5,000
 * files + 10,000 ignored, 10 hot, run side by side): 1.1–1.9 % of a core
 * idle with the defaults, against nodemon --legacy-watch 19–47 % and
 * chokidar 6 polling 83–102 % (100 ms) / 11–17 % (1 s). About 0.3 % of ours
 * is the hot tier (timer wake-ups dominate), the rest the 3 s sweep (~6 µs
 * per path). bench/watch-latency.mjs: hot file write → batch p50 ~77 ms,
 * p95 ~115 ms (40 ms debounce + half a 75 ms interval on average); 50 ms hot
 * polling would give p50 ~70 ms for +0.3 % CPU.
 */
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import { ChangeBatcher } from "./change-batcher.js";
import { createIgnoreMatcher, ENV_FILE, isIgnoredFilePath, normalizeRelPath } from "./ignore-rules.js";
import { PollTree } from "./poll-tree.js";
import type { FileChangeBatch, IgnorePredicate, Watcher, WatcherStats } from "./types.js";

/** Options of {@link startPollWatcher}; every value resolved. */
export interface PollWatcherOptions {
  root: string;
  isIgnored: IgnorePredicate | undefined;
  debounceMs: number;
  maxBatchWaitMs: number;
  hotIntervalMs: number;
  coldIntervalMs: number;
  logger: Logger;
  /** Schedules the rounds and measures what they cost. */
  clock: Clock;
}

/** The cold tier wakes this often and does 1/(coldIntervalMs/SLICE_MS) of a sweep. */
const SLICE_MS = 250;
/** Wall-time budget of one cold slice; what is left waits for the next slice. */
const SLICE_BUDGET_MS = 10;
/** Wall-time budget of one step of the initial scan before yielding to the event loop. */
const SCAN_BUDGET_MS = 20;
/** Hot rounds may take at most this share of wall time; beyond it the interval grows. */
const HOT_DUTY = 0.02;
/** Every Nth sweep lists every directory regardless of its mtime (coarse or lying mtimes on some mounts). */
const FULL_RELIST_EVERY = 10;

/**
 * Starts the two-tier poll watcher on `root`. The initial scan runs in
 * slices; `ready` resolves when it is done.
 */
export function startPollWatcher(options: PollWatcherOptions): Watcher {
  return new PollWatcher(options);
}

class PollWatcher implements Watcher {
  readonly mode = "poll" as const;
  readonly ready: Promise<void>;
  readonly #options: PollWatcherOptions;
  readonly #ignored: IgnorePredicate;
  readonly #tree: PollTree;
  readonly #batcher: ChangeBatcher;
  readonly #logger: Logger;
  readonly #clock: Clock;
  /** Aborted by close(): cancels the sleeps before the next hot round and cold slice. */
  readonly #stop = new AbortController();
  /** Hot files, and the directories holding them (polled with them so a new sibling shows up fast). */
  #hotFiles = new Set<string>([ENV_FILE]);
  #hotDirs = new Set<string>([""]);
  #scanImmediate: NodeJS.Immediate | undefined;
  #hotCostMs = 0;
  #effectiveHotMs: number;
  #sweepDirs: string[] = [];
  #sweepFiles: string[] = [];
  #sweepIndex = 0;
  #sweepStartedAt = 0;
  #lastSweepMs = 0;
  #sweeps = 0;
  readonly #reportedProblems = new Set<string>();
  #closed = false;
  #resolveReady: () => void = () => {};

  constructor(options: PollWatcherOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#clock = options.clock;
    this.#effectiveHotMs = options.hotIntervalMs;
    this.#ignored = createIgnoreMatcher(options.isIgnored);
    this.#batcher = new ChangeBatcher({
      debounceMs: options.debounceMs,
      maxWaitMs: options.maxBatchWaitMs,
      logger: options.logger,
      settle: () => this.#settle(),
    });
    this.#tree = new PollTree(options.root, this.#ignored, {
      emit: (path, kind) => this.#batcher.push(path, kind),
      problem: (path, error) => this.#problem(path, error),
    });
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
    const startedAt = this.#clock.now();
    const scanStep = (): void => {
      this.#scanImmediate = undefined;
      if (this.#closed) return;
      if (!this.#guard("initial scan", () => this.#drainPending(this.#clock.now() + SCAN_BUDGET_MS))) {
        this.#scanImmediate = setImmediate(scanStep);
        return;
      }
      this.#tree.silent = false;
      this.#logger.debug(
        `watch: polling ${this.#tree.files.size} files in ${this.#tree.dirs.size} directories ` +
          `(initial scan ${Math.round(this.#clock.now() - startedAt)} ms)`,
      );
      this.#scheduleHot();
      this.#scheduleCold();
      this.#resolveReady();
    };
    this.#scanImmediate = setImmediate(scanStep);
  }

  onChange(listener: (batch: FileChangeBatch) => void): () => void {
    return this.#batcher.subscribe(listener);
  }

  setHotFiles(relPaths: Iterable<string>): void {
    if (this.#closed) return;
    const files = new Set<string>([ENV_FILE]);
    for (const raw of relPaths) {
      const rel = normalizeRelPath(raw);
      if (rel !== undefined && !isIgnoredFilePath(this.#ignored, rel)) files.add(rel);
    }
    const dirs = new Set<string>();
    for (const rel of files) {
      const slash = rel.lastIndexOf("/");
      dirs.add(slash === -1 ? "" : rel.slice(0, slash));
      // Record the current state silently: whoever made it hot has just read
      // it, and only later changes are news.
      this.#tree.baselineFile(rel);
    }
    this.#hotFiles = files;
    this.#hotDirs = dirs;
  }

  stats(): WatcherStats {
    let hotKnown = 0;
    for (const rel of this.#hotFiles) if (this.#tree.files.has(rel)) hotKnown++;
    const configuredCold = this.#options.coldIntervalMs;
    // Timer slop makes a sweep a little longer than planned; only report a
    // different interval when the budget really stretched it.
    const coldMs = this.#lastSweepMs > configuredCold * 1.25 ? Math.round(this.#lastSweepMs) : configuredCold;
    return {
      mode: "poll",
      hotFiles: hotKnown,
      coldFiles: this.#tree.files.size - hotKnown,
      directories: this.#tree.dirs.size,
      hotIntervalMs: this.#effectiveHotMs,
      coldIntervalMs: coldMs,
    };
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#stop.abort();
      if (this.#scanImmediate !== undefined) clearImmediate(this.#scanImmediate);
      this.#scanImmediate = undefined;
      this.#batcher.close();
      this.#resolveReady();
    }
    return Promise.resolve();
  }

  /** Runs `round` after `ms`, unless the watcher is closed first. */
  #after(ms: number, round: () => void): void {
    if (this.#closed) return;
    this.#clock.sleep(ms, this.#stop.signal).then(
      () => {
        if (!this.#closed) round();
      },
      () => undefined, // closed
    );
  }

  #scheduleHot(): void {
    this.#after(this.#effectiveHotMs, this.#hotRound);
  }

  #hotRound = (): void => {
    const started = this.#clock.now();
    this.#guard("hot poll", () => {
      for (const rel of this.#hotDirs) this.#tree.checkDir(rel);
      for (const rel of this.#hotFiles) this.#tree.checkFile(rel);
      this.#drainPending(this.#clock.now() + SLICE_BUDGET_MS);
    });
    // A smoothed cost, so one slow round (GC, a noisy neighbour) does not
    // stretch the interval; the interval only grows when stats are slow.
    this.#hotCostMs = this.#hotCostMs * 0.8 + (this.#clock.now() - started) * 0.2;
    const next = Math.max(this.#options.hotIntervalMs, Math.round(this.#hotCostMs / HOT_DUTY));
    if (next !== this.#effectiveHotMs) {
      if (Math.abs(next - this.#effectiveHotMs) > this.#effectiveHotMs * 0.5) {
        this.#logger.debug(`watch: hot files now polled every ${next} ms (a round takes ${this.#hotCostMs.toFixed(2)} ms)`);
      }
      this.#effectiveHotMs = next;
    }
    this.#scheduleHot();
  };

  #scheduleCold(): void {
    this.#after(SLICE_MS, this.#coldSlice);
  }

  #coldSlice = (): void => {
    this.#guard("sweep", () => {
      if (this.#sweepIndex >= this.#sweepDirs.length + this.#sweepFiles.length) this.#startSweep();
      const total = this.#sweepDirs.length + this.#sweepFiles.length;
      const quota = Math.ceil((total * SLICE_MS) / this.#options.coldIntervalMs);
      const end = Math.min(total, this.#sweepIndex + quota);
      const deadline = this.#clock.now() + SLICE_BUDGET_MS;
      const dirCount = this.#sweepDirs.length;
      while (this.#sweepIndex < end) {
        const i = this.#sweepIndex++;
        if (i < dirCount) this.#tree.checkDir(this.#sweepDirs[i] as string);
        else {
          const rel = this.#sweepFiles[i - dirCount] as string;
          // Removed since the sweep started (or reported by a listing): nothing to compare.
          if (this.#tree.files.has(rel)) this.#tree.checkFile(rel);
        }
        if ((this.#sweepIndex & 31) === 0 && this.#clock.now() > deadline) break;
      }
      this.#drainPending(deadline);
      if (this.#sweepIndex >= total) this.#lastSweepMs = this.#clock.now() - this.#sweepStartedAt;
    });
    this.#scheduleCold();
  };

  #startSweep(): void {
    this.#sweeps++;
    if (this.#sweeps % FULL_RELIST_EVERY === 0) this.#tree.recheckAllDirs();
    this.#sweepDirs = [...this.#tree.dirs.keys()];
    this.#sweepFiles = [];
    for (const rel of this.#tree.files.keys()) if (!this.#hotFiles.has(rel)) this.#sweepFiles.push(rel);
    this.#sweepIndex = 0;
    this.#sweepStartedAt = this.#clock.now();
  }

  /** Lists newly found directories until the deadline. Returns true when none are left. */
  #drainPending(deadline: number): boolean {
    const pending = this.#tree.pendingDirs;
    while (pending.length > 0) {
      this.#tree.checkDir(pending.pop() as string);
      if (this.#clock.now() > deadline) break;
    }
    return pending.length === 0;
  }

  /** Before delivering a batch: one stat per directory, and list whatever that turned up. */
  #settle(): void {
    if (this.#closed) return;
    for (const rel of [...this.#tree.dirs.keys()]) this.#tree.checkDir(rel);
    this.#drainPending(Number.POSITIVE_INFINITY);
  }

  /** Runs one unit of polling work; an unexpected exception is logged, never thrown into a timer. */
  #guard<T>(what: string, work: () => T): T | true {
    try {
      return work();
    } catch (error) {
      this.#logger.warn(`watch: ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      return true;
    }
  }

  #problem(path: string, error: unknown): void {
    if (this.#reportedProblems.has(path)) return;
    this.#reportedProblems.add(path);
    const code = (error as { code?: unknown } | null)?.code;
    this.#logger.debug(`watch: cannot read ${path || "."} (${typeof code === "string" ? code : String(error)}); skipping it`);
  }
}
