/** The one growing pause (common/backoff.ts). */
import { describe, expect, it } from "vitest";
import { Backoff, backoffDelay } from "../../../src/common/backoff.js";
import { FakeClock } from "../../helpers/fake-clock.js";

describe("backoffDelay", () => {
  it("grows by the factor from the first pause up to the ceiling", () => {
    const policy = { initialMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3, 4].map((n) => backoffDelay({ initialMs: 250, factor: 1.5, maxMs: 500 }, n))).toEqual([250, 375, 500, 500]);
  });

  it("draws a jittered pause between (1 - jitter) and all of the step", () => {
    const policy = { initialMs: 1000, maxMs: 10_000, jitter: 0.5 };
    expect(backoffDelay(policy, 2, () => 0)).toBe(1000);
    expect(backoffDelay(policy, 2, () => 0.999999)).toBeCloseTo(2000, 0);
  });
});

describe("Backoff", () => {
  it("hands out growing pauses until reset, then starts over", () => {
    const backoff = new Backoff({ initialMs: 250, maxMs: 2000 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([250, 500, 1000, 2000, 2000]);
    expect(backoff.retries).toBe(5);
    backoff.reset();
    expect(backoff.next()).toBe(250);
  });

  it("waits its pauses on the clock it is given", async () => {
    const clock = new FakeClock();
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
    let woke = false;
    const waiting = backoff.wait(clock).then(() => (woke = true));
    await clock.sleepingFor(100);
    await clock.advance(99);
    expect(woke).toBe(false);
    await clock.advance(1);
    await waiting;
    expect(woke).toBe(true);
  });

  it("stops waiting when aborted", async () => {
    const clock = new FakeClock();
    const stop = new AbortController();
    const waiting = new Backoff({ initialMs: 100, maxMs: 1000 }).wait(clock, stop.signal);
    stop.abort(new Error("stopped"));
    await expect(waiting).rejects.toThrow("stopped");
  });
});
