import { describe, expect, it } from "vitest";
import { crashBackoffMs } from "../../../src/emulator/crash-tracker.js";
import { planScaling, type ScalingWorkerView } from "../../../src/emulator/scaling-plan.js";

const w = (id: string, over: Partial<ScalingWorkerView> = {}): ScalingWorkerView => ({ id, phase: "ready", busy: false, stale: false, ...over });

describe("planScaling (queue endpoints)", () => {
  it("keeps workers.min running with nothing queued", () => {
    expect(planScaling({ min: 2, max: 3, workers: [], waiting: 0 })).toEqual({ start: 2, stop: [] });
    expect(planScaling({ min: 1, max: 3, workers: [w("a")], waiting: 0 })).toEqual({ start: 0, stop: [] });
  });

  it("starts one worker per queued job that no idle or booting worker can take, up to max", () => {
    expect(planScaling({ min: 0, max: 2, workers: [], waiting: 4 })).toEqual({ start: 2, stop: [] });
    expect(planScaling({ min: 0, max: 5, workers: [w("a", { busy: true })], waiting: 2 })).toEqual({ start: 2, stop: [] });
    expect(planScaling({ min: 0, max: 5, workers: [w("a"), w("b", { phase: "initializing" })], waiting: 2 })).toEqual({ start: 0, stop: [] });
  });

  it("starts nothing with max 0 (jobs stay queued)", () => {
    expect(planScaling({ min: 0, max: 0, workers: [], waiting: 3 })).toEqual({ start: 0, stop: [] });
  });

  it("does not count unhealthy workers as capacity", () => {
    expect(planScaling({ min: 0, max: 3, workers: [w("a", { phase: "unhealthy" })], waiting: 1 }).start).toBe(1);
  });

  it("stops idle out-of-date workers and lets busy ones finish, counting them against max", () => {
    const plan = planScaling({ min: 1, max: 2, workers: [w("old1", { stale: true }), w("old2", { stale: true, busy: true })], waiting: 0 });
    expect(plan.stop).toEqual(["old1"]);
    expect(plan.start).toBe(1);
    expect(planScaling({ min: 1, max: 1, workers: [w("old", { stale: true, busy: true })], waiting: 3 }).start).toBe(0);
  });

  it("stops idle workers above a lowered max, booting ones first", () => {
    const plan = planScaling({ min: 0, max: 1, workers: [w("a"), w("b", { phase: "initializing" }), w("c", { busy: true })], waiting: 0 });
    expect(plan.stop).toEqual(["b", "a"]);
  });
});

describe("planScaling (load-balanced endpoints)", () => {
  it("aims for ceil(requests / requestCount) workers", () => {
    expect(planScaling({ min: 0, max: 5, workers: [], waiting: 1, lb: { inFlight: 0, requestCount: 4 } }).start).toBe(1);
    expect(planScaling({ min: 0, max: 5, workers: [w("a", { busy: true })], waiting: 2, lb: { inFlight: 4, requestCount: 2 } }).start).toBe(2);
    expect(planScaling({ min: 0, max: 5, workers: [w("a")], waiting: 0, lb: { inFlight: 0, requestCount: 1 } }).start).toBe(0);
  });
});

describe("crashBackoffMs", () => {
  it("restarts the first time at once, then backs off exponentially up to 30 s", () => {
    expect([1, 2, 3, 4, 5, 10].map(crashBackoffMs)).toEqual([0, 1000, 2000, 4000, 8000, 30_000]);
  });
});
