import { describe, expect, it } from "vitest";
import { systemClock } from "../../../src/common/clock.js";
import { FakeClock } from "../../helpers/fake-clock.js";

describe("systemClock", () => {
  it("sleeps, and rejects with the signal's reason when aborted first or already", async () => {
    await expect(systemClock.sleep(1)).resolves.toBeUndefined();
    const reason = new Error("stop");
    await expect(systemClock.sleep(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    const controller = new AbortController();
    const pending = systemClock.sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("has a monotonic now and an epoch wallNow", () => {
    const a = systemClock.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(a);
    expect(Math.abs(systemClock.wallNow() - Date.now())).toBeLessThanOrEqual(1);
  });
});

describe("FakeClock (test/helpers)", () => {
  it("wakes sleeps only when advanced past them, earliest first", async () => {
    const clock = new FakeClock(1_000_000);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push(`b@${clock.now()}`));
    void clock.sleep(100).then(() => woke.push(`a@${clock.now()}`));
    expect(clock.pending()).toEqual([300, 100]);
    await clock.advance(99);
    expect(woke).toEqual([]);
    await clock.advance(201);
    expect(woke).toEqual(["a@100", "b@300"]);
    expect(clock.wallNow()).toBe(1_000_300);
  });

  it("also wakes a sleep started by woken code when it falls due within the advance", async () => {
    const clock = new FakeClock();
    const woke: number[] = [];
    void clock.sleep(10).then(async () => {
      woke.push(clock.now());
      await clock.sleep(10);
      woke.push(clock.now());
    });
    await clock.advance(25);
    expect(woke).toEqual([10, 20]);
    expect(clock.now()).toBe(25);
  });

  it("tells the test when the code reached a sleep, and honours aborts", async () => {
    const clock = new FakeClock();
    const reached = clock.sleepingFor(500);
    const controller = new AbortController();
    const pending = clock.sleep(500, controller.signal);
    await reached;
    await clock.sleeping(1);
    controller.abort(new Error("cancelled"));
    await expect(pending).rejects.toThrow("cancelled");
    expect(clock.pending()).toEqual([]);
  });

  it("tick() moves time for measured synchronous work; advance() never goes back over it", async () => {
    const clock = new FakeClock();
    const measured: number[] = [];
    void clock.sleep(10).then(() => {
      const start = clock.now();
      clock.tick(7); // a slow synchronous step
      measured.push(clock.now() - start);
    });
    await clock.advance(10);
    expect(measured).toEqual([7]);
    expect(clock.now()).toBe(17);
  });
});
