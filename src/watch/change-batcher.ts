/**
 * Turns a stream of per-file events into batches: a debounce (quiet time) with
 * a maximum wait, and per-path coalescing so a batch says what changed
 * overall (add+change = add, add+unlink = nothing, unlink+add = change).
 */
import type { Logger } from "../common/logger.js";
import type { FileChangeBatch, FileChangeKind } from "./types.js";

/** Options of {@link ChangeBatcher}. */
export interface ChangeBatcherOptions {
  debounceMs: number;
  maxWaitMs: number;
  logger: Logger;
  /**
   * Called just before a batch is delivered. The poll watcher uses it to
   * re-check every directory (cheap: one stat each) so that the rest of a
   * burst — the other files of a `git checkout` — joins this batch instead
   * of arriving seconds later with the slow sweep. Events it pushes delay the
   * delivery by another debounce (up to `maxWaitMs`).
   */
  settle?: () => void;
}

type Listener = (batch: FileChangeBatch) => void;

function coalesce(previous: FileChangeKind | undefined, next: FileChangeKind): FileChangeKind | null {
  if (previous === undefined) return next;
  if (previous === "add") return next === "unlink" ? null : "add";
  if (previous === "unlink") return next === "unlink" ? "unlink" : "change";
  return next === "unlink" ? "unlink" : "change";
}

/** Collects file events and delivers them to listeners in batches. */
export class ChangeBatcher {
  readonly #options: ChangeBatcherOptions;
  readonly #listeners = new Set<Listener>();
  /** Insertion-ordered: paths are reported in the order first seen. */
  readonly #pending = new Map<string, FileChangeKind>();
  #timer: NodeJS.Timeout | undefined;
  #firstEventAt = 0;
  #pushes = 0;
  #closed = false;

  constructor(options: ChangeBatcherOptions) {
    this.#options = options;
  }

  /** Adds a listener; returns its unsubscribe function. */
  subscribe(listener: Listener): () => void {
    if (this.#closed) return () => {};
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Records one file event. */
  push(path: string, kind: FileChangeKind): void {
    if (this.#closed) return;
    this.#pushes++;
    const merged = coalesce(this.#pending.get(path), kind);
    if (merged === null) this.#pending.delete(path);
    else {
      // Re-setting keeps the first-seen position, which is what we want.
      this.#pending.set(path, merged);
    }
    if (this.#timer === undefined) this.#firstEventAt = performance.now();
    this.#arm();
  }

  /** Drops pending events and listeners and clears the timer. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    this.#listeners.clear();
  }

  #arm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const untilMax = this.#firstEventAt + this.#options.maxWaitMs - performance.now();
    const wait = Math.max(0, Math.min(this.#options.debounceMs, untilMax));
    this.#timer = setTimeout(this.#fire, wait);
  }

  #fire = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const pushesBefore = this.#pushes;
    if (this.#options.settle) {
      try {
        this.#options.settle();
      } catch (error) {
        this.#options.logger.debug(`watch: settling a batch failed: ${String(error)}`);
      }
    }
    if (this.#closed) return;
    // New events re-armed the timer: wait for quiet again, unless the batch is
    // already as old as allowed (then #arm chose a zero wait and we deliver now).
    if (this.#pushes !== pushesBefore && performance.now() - this.#firstEventAt < this.#options.maxWaitMs) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deliver();
  };

  #deliver(): void {
    if (this.#pending.size === 0) return;
    const events = [...this.#pending].map(([path, kind]) => ({ path, kind }));
    this.#pending.clear();
    const batch: FileChangeBatch = { paths: events.map((e) => e.path), events };
    for (const listener of [...this.#listeners]) {
      try {
        const result: unknown = listener(batch);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.#listenerFailed(error));
      } catch (error) {
        this.#listenerFailed(error);
      }
    }
  }

  #listenerFailed(error: unknown): void {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.#options.logger.error(`watch: a change listener failed: ${detail}`);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
