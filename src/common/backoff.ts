/**
 * The one growing pause of flash-ts: retries of Runpod calls, polls of a
 * server that answers at once, a worker asking for jobs after a refusal, the
 * emulator restarting workers that keep exiting. Each says how it grows
 * (first pause, factor, ceiling, jitter); this module does the arithmetic and
 * the waiting, on an injectable Clock so tests move time themselves.
 */
import type { Clock } from "./clock.js";

export interface BackoffPolicy {
  /** The first pause (ms). */
  initialMs: number;
  /** Each pause is the previous one times this (default 2). */
  factor?: number;
  /** No pause is longer (ms). */
  maxMs: number;
  /**
   * Randomness, 0 (none, the default) to 1: a pause is drawn between
   * `(1 - jitter)` and all of its step, so clients that failed together do
   * not retry together.
   */
  jitter?: number;
}

/** The pause before retry number `retry` (1 = the first retry), for one-shot computations. */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const step = policy.initialMs * (policy.factor ?? 2) ** Math.max(0, retry - 1);
  const jitter = policy.jitter ?? 0;
  return Math.min(policy.maxMs, jitter > 0 ? step * (1 - jitter + random() * jitter) : step);
}

/** A sequence of pauses that grows until reset (a success starts it over). */
export class Backoff {
  #retry = 0;
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;

  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    this.#policy = policy;
    this.#random = random;
  }

  /** How many pauses were taken since the last reset. */
  get retries(): number {
    return this.#retry;
  }

  /** The next pause (ms); the one after it is longer, up to the ceiling. */
  next(): number {
    return backoffDelay(this.#policy, ++this.#retry, this.#random);
  }

  /** Waits the next pause on `clock`; rejects with the signal's reason when aborted. */
  wait(clock: Clock, signal?: AbortSignal): Promise<void> {
    return clock.sleep(this.next(), signal);
  }

  /** Back to the first pause. */
  reset(): void {
    this.#retry = 0;
  }
}
