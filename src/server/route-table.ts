/**
 * The swappable routing state of the dev server. The HTTP server never
 * restarts on a code change: the dev loop builds a new manifest beside the
 * old one and hands it here, and the table swaps one reference.
 *
 * Invariants:
 * - A request captures a generation once (`acquire`) and keeps it, so a swap
 *   never changes which function or bundle an in-flight request runs.
 * - A request that a pending or running reload may affect waits for it
 *   (bounded by `reloadWaitMs`) instead of seeing a half-built state or an
 *   error; every other request is served at once by the current generation,
 *   so a file whose import hangs holds only its own routes. A reload names
 *   what it may affect as route path prefixes (each changed file's and each
 *   file importing it), or everything; a route belongs to the file whose
 *   prefix it starts with (docs/internals.md, "Reloads").
 * - A failed reload never replaces a good generation; it is only remembered
 *   so it can be reported.
 */
import type { DiscoveryIssue, Manifest } from "../discovery/manifest.js";
import { AppError, isAppError } from "../common/errors.js";
import { createRouteGeneration } from "./route-generation.js";
import type { RouteGeneration, RouteGenerationOptions, RouteInfo } from "./route-generation.js";
import { compilePath, toRequestSegments } from "./route-matcher.js";
import type { PathPattern } from "./route-matcher.js";

/** What a reload may change: every route, or the routes under these path prefixes (`/workers/gpu`). */
export type ReloadScope = "all" | readonly string[];

/** One batch of changes, applied by one reload run; its waiters are released when it ends. */
interface ReloadBatch {
  /** undefined: every route. */
  prefixes: PathPattern[] | undefined;
  promise: Promise<void>;
  resolve: () => void;
}

function newBatch(scope: ReloadScope): ReloadBatch {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const batch: ReloadBatch = { prefixes: [], promise, resolve };
  widen(batch, scope);
  return batch;
}

function widen(batch: ReloadBatch, scope: ReloadScope): void {
  if (scope === "all") batch.prefixes = undefined;
  else if (batch.prefixes) batch.prefixes.push(...scope.map((prefix) => compilePath(prefix)));
}

/** True when the batch may change what `path` serves: it is under one of the prefixes (a prefix segment `:x` matches any). */
function covers(batch: ReloadBatch, path: string | undefined): boolean {
  if (!batch.prefixes || path === undefined) return true;
  const segments = toRequestSegments(path);
  return batch.prefixes.some(
    (prefix) =>
      prefix.segments.length <= segments.length &&
      prefix.segments.every((want, i) => (want.kind === "literal" ? want.value === segments[i] : segments[i] !== "")),
  );
}

/** How a reload ended. */
export type ReloadOutcome =
  | { ok: true; manifest: Manifest }
  | { ok: false; error: unknown; issues?: readonly DiscoveryIssue[] };

/** The last failed reload, kept for reporting. */
export interface ReloadFailure {
  error: unknown;
  issues: readonly DiscoveryIssue[];
  at: Date;
}

export interface RouteTableOptions extends RouteGenerationOptions {
  /**
   * How long a request waits for a running reload before it is answered
   * 503 RELOAD_TIMEOUT. Longer than discovery's import timeout (10 s), so a
   * request for a file whose top level hangs gets the file's last good
   * version when the import is cut, not an error.
   * @default 15_000
   */
  reloadWaitMs?: number;
}

/** Called after every successful swap. */
export type SwapListener = (generation: RouteGeneration, previous: RouteGeneration | undefined) => void;

const MAX_ISSUES_IN_MESSAGE = 5;

/** One line per issue: `file:line: message`. */
export function formatIssue(issue: DiscoveryIssue): string {
  const where = issue.line === undefined ? issue.file : issue.column === undefined ? `${issue.file}:${issue.line}` : `${issue.file}:${issue.line}:${issue.column}`;
  return `${where}: ${issue.message}`;
}

export class RouteTable {
  readonly #options: RouteTableOptions;
  readonly #reloadWaitMs: number;
  #current: RouteGeneration | undefined;
  #failure: ReloadFailure | undefined;
  /** Changes a reload run is applying now. */
  #running: ReloadBatch | undefined;
  /** Changes that arrived since; the next run applies them. */
  #pending: ReloadBatch | undefined;
  #waiting = 0;
  readonly #listeners = new Set<SwapListener>();

  constructor(options: RouteTableOptions = {}) {
    this.#options = options;
    this.#reloadWaitMs = options.reloadWaitMs ?? 15_000;
  }

  /** The generation being served (the last good one), if any. */
  get current(): RouteGeneration | undefined {
    return this.#current;
  }

  /** The last failed reload, cleared by the next successful one. */
  get lastFailure(): ReloadFailure | undefined {
    return this.#failure;
  }

  get isReloading(): boolean {
    return this.#running !== undefined || this.#pending !== undefined;
  }

  /** How many requests are waiting for a reload to finish (diagnostics and tests). */
  get waitingRequests(): number {
    return this.#waiting;
  }

  /** The routes of the current generation (for the banner and the docs). */
  routes(): readonly RouteInfo[] {
    return this.#current?.routes ?? [];
  }

  /** Subscribes to swaps; returns the unsubscribe function. */
  onSwap(listener: SwapListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Announces changes that a reload will apply (default: ones that may
   * change any route): from now on, requests they may affect wait for the
   * {@link endReload} that applies them. Changes announced while a run is in
   * progress (after {@link startReload}) wait for the next run.
   */
  beginReload(scope: ReloadScope = "all"): void {
    if (this.#pending) widen(this.#pending, scope);
    else this.#pending = newBatch(scope);
  }

  /** A reload run takes every announced change: the next {@link endReload} applies them. */
  startReload(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending) return;
    if (!this.#running) {
      this.#running = pending;
      return;
    }
    // A run already in progress takes the new changes too: its end releases both.
    const running = this.#running;
    if (pending.prefixes === undefined) running.prefixes = undefined;
    else if (running.prefixes) running.prefixes.push(...pending.prefixes);
    void running.promise.then(pending.resolve);
  }

  /**
   * Ends the running reload (or the announced one when no run was started,
   * or swaps directly when there is none). On success the new generation is
   * served from now on; on failure the last good generation keeps serving.
   * The requests waiting for it are released either way. Returns the
   * generation now served.
   */
  endReload(outcome: ReloadOutcome): RouteGeneration | undefined {
    const previous = this.#current;
    if (outcome.ok) {
      this.#current = createRouteGeneration(outcome.manifest, this.#options);
      this.#failure = undefined;
    } else {
      this.#failure = { error: outcome.error, issues: outcome.issues ?? [], at: new Date() };
    }
    let ended: ReloadBatch | undefined;
    if (this.#running) {
      ended = this.#running;
      this.#running = undefined;
    } else {
      ended = this.#pending;
      this.#pending = undefined;
    }
    ended?.resolve();
    if (outcome.ok && this.#current) {
      for (const listener of this.#listeners) listener(this.#current, previous);
    }
    return this.#current;
  }

  /** Swaps to `manifest` at once (a reload that begins and ends now). */
  load(manifest: Manifest): RouteGeneration {
    this.beginReload();
    return this.endReload({ ok: true, manifest })!;
  }

  /**
   * Waits (bounded) for the reloads announced so far that may affect `path`
   * (every reload without a path). Throws RELOAD_TIMEOUT when the bound
   * passes, or the signal's reason when the client goes away.
   */
  async waitForReload(signal?: AbortSignal, path?: string): Promise<void> {
    // The pending batch ends after the running one, so waiting for it covers both.
    const reload = this.#pending && covers(this.#pending, path) ? this.#pending : this.#running && covers(this.#running, path) ? this.#running : undefined;
    if (!reload) return;
    signal?.throwIfAborted();
    this.#waiting++;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        reload.promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(
              new AppError("RELOAD_TIMEOUT", `The dev server is still reloading after ${Math.round(this.#reloadWaitMs / 1000)} s`, {
                hint: "Retry in a moment; the console shows what the reload is waiting for.",
              }),
            );
          }, this.#reloadWaitMs);
          if (signal) {
            onAbort = () => reject(signal.reason);
            signal.addEventListener("abort", onAbort, { once: true });
          }
        }),
      ]);
    } finally {
      this.#waiting--;
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * The generation a request for `path` should run on: waits for reloads
   * that may affect it (all of them without a path), then captures the
   * current generation. Throws 503 FUNCTION_LOAD_FAILED when no generation
   * ever loaded because loading failed, or SERVICE_UNAVAILABLE before the
   * first load began.
   */
  async acquire(signal?: AbortSignal, path?: string): Promise<RouteGeneration> {
    await this.waitForReload(signal, this.#current ? path : undefined);
    if (this.#current) return this.#current;
    throw this.#notReadyError();
  }

  #notReadyError(): AppError {
    const failure = this.#failure;
    if (!failure) {
      return new AppError("SERVICE_UNAVAILABLE", "The dev server has not loaded any functions yet", {
        hint: "Retry in a moment.",
      });
    }
    // Errors first: they are why nothing is served; warnings only add context.
    const issues = [...failure.issues].sort((a, b) => Number(a.severity === "warning") - Number(b.severity === "warning"));
    const cause = failure.error;
    const head = isAppError(cause) || cause instanceof Error ? cause.message : String(cause);
    const lines = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map(formatIssue);
    if (issues.length > MAX_ISSUES_IN_MESSAGE) lines.push(`… and ${issues.length - MAX_ISSUES_IN_MESSAGE} more`);
    const message = lines.length > 0 ? `Your functions could not be loaded:\n${lines.join("\n")}` : `Your functions could not be loaded: ${head}`;
    return new AppError("FUNCTION_LOAD_FAILED", message, {
      hint: "Fix the error and save; the dev server reloads by itself.",
      details: { issues: issues.map((i) => ({ ...i })) },
    });
  }
}
