/**
 * Native mode: chokidar on the OS's file events (inotify on Linux, FSEvents /
 * ReadDirectoryChangesW through recursive `fs.watch` on macOS/Windows). Idle
 * cost is ~0 % CPU; latency is the event plus our debounce. This is the only
 * file in the project that imports chokidar, and none of its types leave it.
 */
import { statSync, type Stats } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { Logger } from "../common/logger.js";
import { ChangeBatcher } from "./change-batcher.js";
import { createIgnoreMatcher, ENV_FILE, isIgnoredFilePath, normalizeRelPath } from "./ignore-rules.js";
import type { FileChangeBatch, FileChangeKind, IgnorePredicate, Watcher, WatcherStats } from "./types.js";

/** Options of {@link startChokidarWatcher}; every value resolved. */
export interface ChokidarWatcherOptions {
  root: string;
  isIgnored: IgnorePredicate | undefined;
  debounceMs: number;
  maxBatchWaitMs: number;
  logger: Logger;
}

/** Starts watching `root` with native events. `ready` resolves after chokidar's initial scan. */
export function startChokidarWatcher(options: ChokidarWatcherOptions): Watcher {
  return new ChokidarWatcher(options);
}

class ChokidarWatcher implements Watcher {
  readonly mode = "native" as const;
  readonly ready: Promise<void>;
  readonly #root: string;
  readonly #ignored: IgnorePredicate;
  readonly #batcher: ChangeBatcher;
  readonly #logger: Logger;
  readonly #fsw: FSWatcher;
  #hotFiles = new Set<string>([ENV_FILE]);
  readonly #files = new Set<string>();
  readonly #dirs = new Set<string>();
  readonly #reportedErrors = new Set<string>();
  #closing: Promise<void> | undefined;
  /** Also called by close(), so that nobody waits forever on a watcher closed during its scan. */
  #resolveReady: () => void = () => {};

  constructor(options: ChokidarWatcherOptions) {
    this.#root = resolve(options.root);
    this.#logger = options.logger;
    this.#ignored = createIgnoreMatcher(options.isIgnored);
    this.#batcher = new ChangeBatcher({ debounceMs: options.debounceMs, maxWaitMs: options.maxBatchWaitMs, logger: options.logger });
    this.#fsw = watch(this.#root, {
      // Files that exist at start are not news; they are counted from the scan instead.
      ignoreInitial: true,
      ignored: (path: string, stats?: Stats) => this.#isIgnored(path, stats),
      // Editors that save through a temp file and a rename produce unlink+add:
      // within 100 ms chokidar reports a single change.
      atomic: true,
      backend: "auto",
      ignorePermissionErrors: true,
      persistent: true,
    });
    const on = (kind: FileChangeKind) => (path: string) => {
      const rel = this.#rel(path);
      if (rel === undefined || rel === "") return;
      if (kind === "unlink") {
        this.#files.delete(rel);
        this.#batcher.push(rel, "unlink");
        return;
      }
      this.#reconcileTypeChange(rel);
      this.#batcher.push(rel, kind === "change" && !this.#files.has(rel) ? "add" : kind);
      this.#files.add(rel);
    };
    this.#fsw.on("add", on("add"));
    this.#fsw.on("change", on("change"));
    this.#fsw.on("unlink", on("unlink"));
    this.#fsw.on("addDir", (path) => {
      const rel = this.#rel(path);
      if (rel === undefined) return;
      if (this.#files.delete(rel)) this.#batcher.push(rel, "unlink");
      this.#dirs.add(rel);
    });
    this.#fsw.on("unlinkDir", (path) => {
      const rel = this.#rel(path);
      if (rel !== undefined) this.#dirs.delete(rel);
    });
    // Permission and missing-path errors are filtered by chokidar already;
    // what arrives here means changes may go unnoticed, so say it (once).
    this.#fsw.on("error", (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (this.#reportedErrors.has(message)) return;
      this.#reportedErrors.add(message);
      const code = (error as { code?: unknown } | null)?.code;
      const hint =
        code === "ENOSPC" || code === "EMFILE"
          ? " (the system's file watch limit is reached; raise fs.inotify.max_user_watches or set FLASH_WATCH=poll)"
          : "";
      this.#logger.warn(`watch: native file watching failed: ${message}${hint}`);
    });
    this.ready = new Promise<void>((resolveReady) => {
      this.#resolveReady = resolveReady;
      this.#fsw.once("ready", () => {
        this.#countWatched();
        this.#logger.debug(`watch: native events on ${this.#files.size} files in ${this.#dirs.size} directories`);
        resolveReady();
      });
    });
  }

  onChange(listener: (batch: FileChangeBatch) => void): () => void {
    return this.#batcher.subscribe(listener);
  }

  /** Native events already reach every watched file quickly; the hot set only feeds `stats()`. */
  setHotFiles(relPaths: Iterable<string>): void {
    const files = new Set<string>([ENV_FILE]);
    for (const raw of relPaths) {
      const rel = normalizeRelPath(raw);
      if (rel !== undefined && !isIgnoredFilePath(this.#ignored, rel)) files.add(rel);
    }
    this.#hotFiles = files;
  }

  stats(): WatcherStats {
    let hotKnown = 0;
    for (const rel of this.#hotFiles) if (this.#files.has(rel)) hotKnown++;
    return {
      mode: "native",
      hotFiles: hotKnown,
      coldFiles: this.#files.size - hotKnown,
      directories: this.#dirs.size,
      hotIntervalMs: null,
      coldIntervalMs: null,
    };
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#batcher.close();
      this.#resolveReady();
      this.#closing = this.#fsw.close().catch((error: unknown) => {
        this.#logger.debug(`watch: closing the native watcher failed: ${String(error)}`);
      });
    }
    return this.#closing;
  }

  /** Project-relative `/` path of an absolute path chokidar reports; undefined outside the root. */
  #rel(path: string): string | undefined {
    const rel = relative(this.#root, resolve(this.#root, path));
    if (rel === "") return "";
    if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
    return sep === "/" ? rel : rel.split(sep).join("/");
  }

  /**
   * chokidar asks about a path first without stats, then (for what it scans)
   * with them. Our rules depend on whether the path is a directory, so when
   * stats are missing and the answer differs between "file" and "directory",
   * one `statSync` settles it — only for those few ambiguous names.
   */
  #isIgnored(path: string, stats: Stats | undefined): boolean {
    const rel = this.#rel(path);
    if (rel === undefined || rel === "") return false; // the root and its ancestors
    if (stats) return this.#ignored(rel, stats.isDirectory());
    const asFile = this.#ignored(rel, false);
    const asDir = this.#ignored(rel, true);
    if (asFile === asDir) return asFile;
    let isDir = false;
    try {
      isDir = statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
    } catch {
      // Unreadable: decide as a file; chokidar asks again with stats if it gets that far.
    }
    return isDir ? asDir : asFile;
  }

  /**
   * chokidar 6 (native backend) reports a file replaced by a directory only as
   * the `add` of the files inside it, and a directory replaced by a file only
   * as a `change` of that path: neither the file's `unlink` nor the
   * directory's files' `unlink` arrive (measured; with and without `atomic`).
   * Our own record of files and directories fills the gap: a file whose
   * ancestor was a file, or a file where a directory was, implies those
   * unlinks.
   */
  #reconcileTypeChange(rel: string): void {
    for (let slash = rel.lastIndexOf("/"); slash > 0; slash = rel.lastIndexOf("/", slash - 1)) {
      const ancestor = rel.slice(0, slash);
      if (this.#dirs.has(ancestor)) break;
      this.#dirs.add(ancestor);
      if (this.#files.delete(ancestor)) this.#batcher.push(ancestor, "unlink");
    }
    if (!this.#dirs.delete(rel)) return;
    const prefix = `${rel}/`;
    for (const file of this.#files) {
      if (!file.startsWith(prefix)) continue;
      this.#files.delete(file);
      this.#batcher.push(file, "unlink");
    }
    for (const dir of this.#dirs) if (dir.startsWith(prefix)) this.#dirs.delete(dir);
  }

  /** Counts what the initial scan found (events keep the counts current afterwards). */
  #countWatched(): void {
    const watched = this.#fsw.getWatched();
    const dirKeys = new Set(Object.keys(watched).map((dir) => resolve(dir)));
    for (const [dir, names] of Object.entries(watched)) {
      const absDir = resolve(dir);
      const relDir = this.#rel(absDir);
      if (relDir === undefined) continue; // ancestors chokidar tracks to notice the root
      this.#dirs.add(relDir);
      for (const name of names) {
        const abs = resolve(absDir, name);
        if (dirKeys.has(abs)) continue;
        const rel = this.#rel(abs);
        if (rel !== undefined && rel !== "") this.#files.add(rel);
      }
    }
  }
}
