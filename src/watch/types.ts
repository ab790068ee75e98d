/**
 * The file watcher seam, in our vocabulary. Nothing from chokidar (or any other
 * watching library) crosses this interface: the dev server sees batches of
 * project-relative paths and a few numbers it can print.
 */
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";

/** How a watcher learns about changes: stat polling, or the OS's file events (inotify/FSEvents). */
export type WatchMode = "poll" | "native";

/** What happened to one file, after coalescing (an add then a change is an add). */
export type FileChangeKind = "add" | "change" | "unlink";

/** One file's net change within a batch. */
export interface FileChangeEvent {
  /** Relative to the watched root, `/` separators, no leading `./`. */
  path: string;
  kind: FileChangeKind;
}

/**
 * Everything that changed in one burst of activity (several quick saves, a
 * `git checkout`): one batch, one reload. A path appears at most once.
 */
export interface FileChangeBatch {
  /** The changed paths, in the order they were first seen (same order as `events`). */
  paths: string[];
  events: FileChangeEvent[];
}

/** What a watcher is doing, for the console ("watching 5,000 files by polling …"). */
export interface WatcherStats {
  mode: WatchMode;
  /** Existing files watched with low latency: those given to `setHotFiles`, plus `.env`. */
  hotFiles: number;
  /** Every other file being watched. */
  coldFiles: number;
  /** Directories being watched (the root included). */
  directories: number;
  /**
   * Poll mode: how often hot files are checked, in ms. This is the effective
   * interval, which grows above the configured one when a round of stats gets
   * slow (a slow bind mount), so that polling stays within its CPU budget.
   * `null` in native mode.
   */
  hotIntervalMs: number | null;
  /** Poll mode: how long a full sweep of the other files and directories takes, in ms. `null` in native mode. */
  coldIntervalMs: number | null;
}

/** A running file watcher. */
export interface Watcher {
  readonly mode: WatchMode;
  /** Resolves once the initial scan is done; changes are reported from then on. */
  ready: Promise<void>;
  /**
   * Subscribes to batches. Returns the unsubscribe function. A listener that
   * throws (or returns a rejected promise) is logged and never stops the watcher.
   */
  onChange(listener: (batch: FileChangeBatch) => void): () => void;
  /**
   * The files that can change the served code (discovered modules, their
   * project imports): watched with low latency. Replaces the previous set.
   * `.env` at the root is always hot. Ignored paths are dropped.
   */
  setHotFiles(relPaths: Iterable<string>): void;
  stats(): WatcherStats;
  /** Stops everything (timers, OS watches, listeners). Idempotent. */
  close(): Promise<void>;
}

/**
 * A predicate over project-relative paths (`/` separators). Called for files
 * and directories; returning true for a directory skips everything under it.
 */
export type IgnorePredicate = (relPath: string, isDir: boolean) => boolean;

/** Options of {@link createWatcher}. */
export interface CreateWatcherOptions {
  /** The project root. Events are reported relative to it. */
  root: string;
  /** `auto` (default) decides with {@link resolveWatchMode} from `process.env`. */
  mode?: WatchMode | "auto";
  /**
   * Extra paths to ignore (e.g. `.gitignore` / `.flashignore` rules), on top of
   * the built-in rules that always apply: `node_modules`, `.git`, `.runpod`,
   * `dist`, `build`, hidden folders, editor temp files. Never consulted for `.env`.
   */
  isIgnored?: IgnorePredicate;
  /** Quiet time that closes a batch, in ms. Default 40. */
  debounceMs?: number;
  /** A batch is delivered at the latest this long after its first event, even if changes keep coming. Default 1000. */
  maxBatchWaitMs?: number;
  /** Poll mode: how often hot files are stat'ed, in ms. Default 75. */
  hotIntervalMs?: number;
  /** Poll mode: how long one full sweep of the rest of the tree takes, in ms. Default 3000. */
  coldIntervalMs?: number;
  logger?: Logger;
  /** Poll mode: the time its rounds are scheduled on and measured by (tests drive a fake one). */
  clock?: Clock;
}
