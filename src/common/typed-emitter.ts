/**
 * A small typed event emitter: an event map (name → payload) checked by the
 * compiler, listeners that cannot break the emitter or each other, and
 * `once` as a promise so tests and controllers wait on an event instead of
 * polling. Listeners are added by code, never per request, so the bound on
 * them only catches a leak.
 */
import { AppError } from "./errors.js";

/** A read-only view of an emitter: what subscribers get. */
export interface Subscribable<E extends object> {
  /** Subscribes to one kind; returns the unsubscribe function. */
  on<K extends keyof E>(kind: K, listener: (event: E[K]) => void): () => void;
  /** Subscribes to every kind (a renderer, a recorder, a bridge); returns the unsubscribe function. */
  onAny(listener: <K extends keyof E>(kind: K, event: E[K]) => void): () => void;
  /**
   * The next event of `kind` that `filter` accepts (every one when absent).
   * Rejects with the signal's reason when it is aborted first.
   */
  once<K extends keyof E>(kind: K, filter?: (event: E[K]) => boolean, signal?: AbortSignal): Promise<E[K]>;
}

export interface TypedEmitterOptions {
  /** Listeners allowed per kind (and for onAny). Default 100. */
  maxListeners?: number;
  /** Receives what a listener threw. Default: ignored. */
  onListenerError?: (error: unknown, kind: PropertyKey) => void;
}

type AnyListener<E> = <K extends keyof E>(kind: K, event: E[K]) => void;

export class TypedEmitter<E extends object> implements Subscribable<E> {
  readonly #listeners = new Map<keyof E, Set<(event: never) => void>>();
  readonly #any = new Set<AnyListener<E>>();
  readonly #max: number;
  readonly #onError: (error: unknown, kind: PropertyKey) => void;

  constructor(options: TypedEmitterOptions = {}) {
    this.#max = options.maxListeners ?? 100;
    this.#onError = options.onListenerError ?? (() => {});
  }

  on<K extends keyof E>(kind: K, listener: (event: E[K]) => void): () => void {
    let set = this.#listeners.get(kind);
    if (!set) this.#listeners.set(kind, (set = new Set()));
    this.#checkBound(set.size, String(kind));
    const entry = listener as (event: never) => void;
    set.add(entry);
    return () => void set.delete(entry);
  }

  onAny(listener: AnyListener<E>): () => void {
    this.#checkBound(this.#any.size, "any event");
    this.#any.add(listener);
    return () => void this.#any.delete(listener);
  }

  once<K extends keyof E>(kind: K, filter?: (event: E[K]) => boolean, signal?: AbortSignal): Promise<E[K]> {
    return new Promise<E[K]>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = (): void => {
        off();
        reject(signal?.reason as Error);
      };
      const off = this.on(kind, (event) => {
        if (filter && !filter(event)) return;
        off();
        signal?.removeEventListener("abort", onAbort);
        resolve(event);
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Delivers `event` to the listeners of its kind, then to onAny listeners, synchronously. */
  emit<K extends keyof E>(kind: K, event: E[K]): void {
    const set = this.#listeners.get(kind);
    // Copies: a listener may unsubscribe itself (once) while we iterate.
    for (const listener of set ? [...set] : []) this.#call(kind, () => (listener as (event: E[K]) => void)(event));
    for (const listener of [...this.#any]) this.#call(kind, () => listener(kind, event));
  }

  /** Listeners of `kind` now (tests, leak checks). */
  listenerCount(kind: keyof E): number {
    return this.#listeners.get(kind)?.size ?? 0;
  }

  #call(kind: keyof E, run: () => void): void {
    try {
      run();
    } catch (error) {
      try {
        this.#onError(error, kind);
      } catch {
        // The error reporter itself failed: nothing more to do.
      }
    }
  }

  #checkBound(size: number, what: string): void {
    if (size >= this.#max) {
      throw new AppError("INTERNAL", `more than ${this.#max} listeners of ${what}: a subscription leaks`, {
        hint: "Unsubscribe with the function on() returns when the listener is no longer needed.",
      });
    }
  }
}
