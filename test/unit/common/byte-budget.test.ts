import { describe, expect, it } from "vitest";
import { ByteBudget, formatBytes, megabytesFromEnv } from "../../../src/common/byte-budget.js";
import { hasCode } from "../../../src/common/errors.js";

describe("byte budget", () => {
  it("takes what fits and refuses the rest, until bytes are given back", () => {
    const budget = new ByteBudget(100);
    expect(budget.tryTake(60)).toBe(true);
    expect(budget.tryTake(50)).toBe(false);
    expect(budget.usedBytes).toBe(60);
    expect(budget.tryTake(40)).toBe(true);
    expect(budget.fits(1)).toBe(false);
    budget.give(40);
    expect(budget.fits(40)).toBe(true);
    expect(budget.usedBytes).toBe(60);
  });

  it("serves one item larger than the whole budget, alone", () => {
    const budget = new ByteBudget(100);
    expect(budget.tryTake(500)).toBe(true);
    expect(budget.tryTake(1)).toBe(false);
    budget.give(500);
    expect(budget.usedBytes).toBe(0);
  });

  it("reservations grow while they fit and are given back once", () => {
    const budget = new ByteBudget(100);
    const a = budget.reserve(30)!;
    const b = budget.reserve(0)!;
    expect(b.grow(60)).toBe(true);
    expect(b.grow(20)).toBe(false);
    expect(b.bytes).toBe(60);
    expect(budget.reserve(20)).toBeUndefined();
    a.release();
    a.release();
    expect(budget.usedBytes).toBe(60);
    expect(b.grow(20)).toBe(true);
    b.release();
    expect(b.grow(1)).toBe(false);
    expect(budget.usedBytes).toBe(0);
  });

  it("a reservation alone in the budget may grow past it; not while others hold bytes", () => {
    const budget = new ByteBudget(100);
    const alone = budget.reserve(50)!;
    expect(alone.grow(500)).toBe(true);
    expect(budget.usedBytes).toBe(550);
    alone.release();
    const first = budget.reserve(10)!;
    const second = budget.reserve(10)!;
    expect(second.grow(200)).toBe(false);
    first.release();
    expect(second.grow(200)).toBe(true);
  });

  it("take() accepts data that must be kept, and then nothing else fits", () => {
    const budget = new ByteBudget(100);
    budget.take(150);
    expect(budget.fits(1)).toBe(false);
    budget.give(1000);
    expect(budget.usedBytes).toBe(0);
  });

  it("refuses a limit that is not a positive number", () => {
    expect(() => new ByteBudget(0)).toThrow(RangeError);
    expect(() => new ByteBudget(Number.NaN)).toThrow(RangeError);
  });

  it("reads megabytes from the environment", () => {
    expect(megabytesFromEnv({}, "X_MB", 5)).toBe(5);
    expect(megabytesFromEnv({ X_MB: " " }, "X_MB", 5)).toBe(5);
    expect(megabytesFromEnv({ X_MB: "1.5" }, "X_MB", 5)).toBe(1.5 * 1024 * 1024);
    for (const bad of ["0", "-1", "lots", "Infinity"]) {
      let error: unknown;
      try {
        megabytesFromEnv({ X_MB: bad }, "X_MB", 5);
      } catch (e) {
        error = e;
      }
      expect(hasCode(error, "INVALID_CONFIG"), bad).toBe(true);
    }
  });

  it("formats sizes", () => {
    expect(formatBytes(10 * 1024 * 1024)).toBe("10 MB");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(12)).toBe("12 bytes");
  });
});
