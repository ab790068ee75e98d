/**
 * The backend calls go through, swappable. A `.env` change that configures
 * the backend (the key, the base URLs, the worker images) starts a new one;
 * calls already running keep the one they started on, and the old backend is
 * closed when its last call ends (an event, not a poll), or at a deadline on
 * the clock when a call never ends, or when the session closes.
 */
import type { Clock } from "../common/clock.js";
import { TypedEmitter } from "../common/typed-emitter.js";
import type { Backend } from "./backend.js";
import type { BackendInfo, DevSessionEmitter } from "./session-events.js";

/** How long a replaced backend waits for its calls: the longest call a default endpoint allows, and then some. */
export const DEFAULT_DRAIN_DEADLINE_MS = 15 * 60_000;

export interface BackendHolderOptions {
  first: Backend;
  clock: Clock;
  events: DevSessionEmitter;
  /** Longest wait for a replaced backend's calls. Default {@link DEFAULT_DRAIN_DEADLINE_MS}. */
  drainDeadlineMs?: number;
}

export function backendInfo(backend: Backend): BackendInfo {
  return { kind: backend.kind, description: backend.description };
}

export class BackendHolder {
  #current: Backend;
  readonly #clock: Clock;
  readonly #events: DevSessionEmitter;
  readonly #deadlineMs: number;
  readonly #inFlight = new Map<Backend, number>();
  /** Fires when a backend's last call ends. */
  readonly #idle = new TypedEmitter<{ idle: Backend }>({ maxListeners: 1000 });
  /** Replaced backends still draining: aborting the controller closes them now. */
  readonly #draining = new Map<Backend, { controller: AbortController; closed: Promise<void> }>();
  #closing: Promise<void> | undefined;

  constructor(options: BackendHolderOptions) {
    this.#current = options.first;
    this.#clock = options.clock;
    this.#events = options.events;
    this.#deadlineMs = options.drainDeadlineMs ?? DEFAULT_DRAIN_DEADLINE_MS;
  }

  /** The backend new calls go to. */
  get current(): Backend {
    return this.#current;
  }

  /** Calls running on `backend` (default: the current one). */
  inFlight(backend: Backend = this.#current): number {
    return this.#inFlight.get(backend) ?? 0;
  }

  /** Runs `use` on the current backend, counted as in flight on it until it settles. */
  async use<T>(use: (backend: Backend) => Promise<T>): Promise<T> {
    const backend = this.#current;
    this.#inFlight.set(backend, this.inFlight(backend) + 1);
    try {
      return await use(backend);
    } finally {
      const left = this.inFlight(backend) - 1;
      if (left > 0) this.#inFlight.set(backend, left);
      else {
        this.#inFlight.delete(backend);
        this.#idle.emit("idle", backend);
      }
    }
  }

  /** Makes `next` the current backend; the previous one drains, then closes. */
  swap(next: Backend, reason: "env"): void {
    const old = this.#current;
    this.#current = next;
    this.#events.emit("backendSwapped", { from: backendInfo(old), to: backendInfo(next), reason });
    const controller = new AbortController();
    const closed = this.#retire(old, controller.signal).finally(() => this.#draining.delete(old));
    this.#draining.set(old, { controller, closed });
  }

  /** Closes the current backend and every one still draining (their calls were abandoned already). Idempotent. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      const draining = [...this.#draining.values()];
      for (const d of draining) d.controller.abort();
      await Promise.all([...draining.map((d) => d.closed), this.#closeQuietly(this.#current)]);
    })());
  }

  async #retire(old: Backend, signal: AbortSignal): Promise<void> {
    const started = this.#clock.now();
    let drained = true;
    if (this.inFlight(old) > 0) {
      const stop = new AbortController();
      const both = AbortSignal.any([signal, stop.signal]);
      const idle = this.#idle.once("idle", (b) => b === old, both).then(
        () => true,
        () => false,
      );
      const deadline = this.#clock.sleep(this.#deadlineMs, both).then(
        () => false,
        () => false,
      );
      drained = await Promise.race([idle, deadline]);
      stop.abort(); // the loser stops waiting
    }
    await this.#closeQuietly(old);
    this.#events.emit("backendRetired", { backend: backendInfo(old), drained, waitedMs: this.#clock.now() - started });
  }

  async #closeQuietly(backend: Backend): Promise<void> {
    try {
      await backend.close();
    } catch (error) {
      this.#events.emit("debug", { message: `closing the backend (${backend.description}): ${String(error)}` });
    }
  }
}
