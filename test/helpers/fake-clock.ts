/**
 * A Clock (src/common/clock.ts) that moves only when the test says so. Code
 * under test registers sleeps; the test waits until it does (`sleeping()`, an
 * event), then moves time with `advance()`. Nothing depends on how fast the
 * machine is, and a test of a 30-second timeout takes milliseconds.
 */
import type { Clock } from "../../src/common/clock.js";

interface Sleeper {
  at: number;
  ms: number;
  resolve(): void;
}

export class FakeClock implements Clock {
  #now = 0;
  readonly #wallOrigin: number;
  #sleepers: Sleeper[] = [];
  #onSleep = new Set<() => void>();

  /** `wallOrigin` is what wallNow() answers before any advance (default: the real time at construction). */
  constructor(wallOrigin = Date.now()) {
    this.#wallOrigin = wallOrigin;
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#wallOrigin + this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper: Sleeper = {
        at: this.#now + Math.max(0, ms),
        ms,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
      for (const listener of [...this.#onSleep]) listener();
    });
  }

  /** The durations of the sleeps now pending, in the order they were asked for. */
  pending(): number[] {
    return this.#sleepers.map((s) => s.ms);
  }

  /** Resolves once at least `count` sleeps are pending. */
  sleeping(count = 1): Promise<void> {
    return this.#when(() => this.#sleepers.length >= count);
  }

  /** Resolves at the next call to sleep(): the code under test has done all it can without time passing. */
  nextSleep(): Promise<void> {
    return new Promise((resolve) => {
      const notify = (): void => {
        this.#onSleep.delete(notify);
        resolve();
      };
      this.#onSleep.add(notify);
    });
  }

  /** Resolves once a sleep of exactly `ms` is pending (the code under test reached that wait). */
  sleepingFor(ms: number): Promise<void> {
    return this.#when(() => this.#sleepers.some((s) => s.ms === ms));
  }

  #when(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!condition()) return;
        this.#onSleep.delete(check);
        resolve();
      };
      this.#onSleep.add(check);
      check();
    });
  }

  /**
   * Moves time forward by `ms` at once, waking nothing: for fakes that stand
   * for slow synchronous work (a stat on a slow mount) measured by the code
   * under test. Sleeps that fell due wake at the next advance().
   */
  tick(ms: number): void {
    this.#now += ms;
  }

  /**
   * Moves time forward by `ms`, waking every sleep that falls due, earliest
   * first. After each wake-up the woken code runs until it waits again (on
   * I/O or another sleep), so a sleep it starts that falls due within `ms`
   * is woken too.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      const due = this.#sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#sleepers = this.#sleepers.filter((s) => s !== due);
      this.#now = Math.max(this.#now, due.at);
      due.resolve();
    }
    // Never backwards: tick() during the woken code may have gone past the target.
    this.#now = Math.max(this.#now, target);
    await settle();
  }
}

/** Lets pending promise callbacks (and those they queue) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
