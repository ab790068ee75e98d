/**
 * The swappable routing state of the dev server. The HTTP server never
 * restarts on a code change: the dev loop builds a new manifest beside the
 * old one and hands it here, and the table swaps one reference.
 *
 * Invariants:
 * - A request captures a generation once (`acquire`) and keeps it, so a swap
 *   never changes which function or bundle an in-flight request runs.
 * - Requests that arrive while a reload is running wait for it (bounded by
 *   `reloadWaitMs`) instead of seeing a half-built state or an error.
 * - A failed reload never replaces a good generation; it is only remembered
 *   so it can be reported.
 */
import type { DiscoveryIssue, Manifest } from "../discovery/manifest.js";
import { AppError, isAppError } from "../shared/errors.js";
import { createRouteGeneration } from "./route-generation.js";
import type { RouteGeneration, RouteGenerationOptions, RouteInfo } from "./route-generation.js";

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
   * 503 RELOAD_TIMEOUT.
   * @default 10_000
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
  #reload: { promise: Promise<void>; resolve: () => void } | undefined;
  #waiting = 0;
  readonly #listeners = new Set<SwapListener>();

  constructor(options: RouteTableOptions = {}) {
    this.#options = options;
    this.#reloadWaitMs = options.reloadWaitMs ?? 10_000;
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
    return this.#reload !== undefined;
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
   * Marks a reload as running: new requests wait for {@link endReload}.
   * Idempotent, so a superseding reload can call it again; waiters are
   * released by the next `endReload` only.
   */
  beginReload(): void {
    if (this.#reload) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#reload = { promise, resolve };
  }

  /**
   * Ends the running reload (or swaps directly when none is running). On
   * success the new generation is served from now on; on failure the last
   * good generation keeps serving. Waiting requests are released either way.
   * Returns the generation now served.
   */
  endReload(outcome: ReloadOutcome): RouteGeneration | undefined {
    const previous = this.#current;
    if (outcome.ok) {
      this.#current = createRouteGeneration(outcome.manifest, this.#options);
      this.#failure = undefined;
    } else {
      this.#failure = { error: outcome.error, issues: outcome.issues ?? [], at: new Date() };
    }
    const reload = this.#reload;
    this.#reload = undefined;
    reload?.resolve();
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
   * Waits for a running reload to end (bounded). Throws RELOAD_TIMEOUT when
   * the bound passes, or the signal's reason when the client goes away.
   */
  async waitForReload(signal?: AbortSignal): Promise<void> {
    const reload = this.#reload;
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
   * The generation a function request should run on: waits for a running
   * reload, then captures the current generation. Throws 503
   * FUNCTION_LOAD_FAILED when no generation ever loaded because loading
   * failed, or SERVICE_UNAVAILABLE before the first load began.
   */
  async acquire(signal?: AbortSignal): Promise<RouteGeneration> {
    await this.waitForReload(signal);
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
