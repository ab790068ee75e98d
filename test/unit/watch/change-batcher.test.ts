import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { ChangeBatcher } from "../../../src/watch/change-batcher.js";
import type { FileChangeBatch } from "../../../src/watch/types.js";

describe("ChangeBatcher", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(settle?: () => void) {
    const logger = createMemoryLogger();
    const batcher = new ChangeBatcher({ debounceMs: 40, maxWaitMs: 200, logger, ...(settle ? { settle } : {}) });
    const batches: FileChangeBatch[] = [];
    batcher.subscribe((b) => batches.push(b));
    return { batcher, batches, logger };
  }

  it("delivers one batch after the quiet time, listing each path once in first-seen order", () => {
    const { batcher, batches } = setup();
    batcher.push("b.ts", "change");
    vi.advanceTimersByTime(30);
    batcher.push("a.ts", "add");
    batcher.push("b.ts", "change");
    vi.advanceTimersByTime(39);
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([
      {
        paths: ["b.ts", "a.ts"],
        events: [
          { path: "b.ts", kind: "change" },
          { path: "a.ts", kind: "add" },
        ],
      },
    ]);
  });

  it("coalesces what happened to a path into its net change", () => {
    const { batcher, batches } = setup();
    batcher.push("added-then-changed", "add");
    batcher.push("added-then-changed", "change");
    batcher.push("temp", "add");
    batcher.push("temp", "unlink");
    batcher.push("replaced", "unlink");
    batcher.push("replaced", "add");
    batcher.push("changed-then-removed", "change");
    batcher.push("changed-then-removed", "unlink");
    vi.advanceTimersByTime(40);
    expect(batches[0]?.events).toEqual([
      { path: "added-then-changed", kind: "add" },
      { path: "replaced", kind: "change" },
      { path: "changed-then-removed", kind: "unlink" },
    ]);
  });

  it("delivers nothing when everything cancelled out", () => {
    const { batcher, batches } = setup();
    batcher.push("temp", "add");
    batcher.push("temp", "unlink");
    vi.advanceTimersByTime(100);
    expect(batches).toHaveLength(0);
  });

  it("delivers at the maximum wait even if changes keep coming", () => {
    const { batcher, batches } = setup();
    for (let t = 0; t < 190; t += 10) {
      batcher.push(`f${t}`, "change");
      vi.advanceTimersByTime(10);
    }
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(10);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.paths).toHaveLength(19);
  });

  it("lets settle add to the batch and waits for quiet again", () => {
    let calls = 0;
    const holder: { batcher?: ChangeBatcher } = {};
    const { batcher, batches } = setup(() => {
      calls++;
      if (calls === 1) holder.batcher?.push("found-by-settle.ts", "add");
    });
    holder.batcher = batcher;
    batcher.push("hot.ts", "change");
    vi.advanceTimersByTime(40);
    expect(calls).toBe(1);
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(40);
    expect(calls).toBe(2);
    expect(batches[0]?.paths).toEqual(["hot.ts", "found-by-settle.ts"]);
  });

  it("keeps delivering when a listener throws or rejects, and logs it", async () => {
    const { batcher, batches, logger } = setup();
    batcher.subscribe(() => {
      throw new Error("listener bug");
    });
    batcher.subscribe(() => Promise.reject(new Error("async listener bug")));
    batcher.push("a.ts", "change");
    vi.advanceTimersByTime(40);
    batcher.push("b.ts", "change");
    vi.advanceTimersByTime(40);
    await Promise.resolve();
    expect(batches.map((b) => b.paths)).toEqual([["a.ts"], ["b.ts"]]);
    expect(logger.lines.filter((l) => l.includes("Error: listener bug"))).toHaveLength(2);
    expect(logger.lines.filter((l) => l.includes("Error: async listener bug"))).toHaveLength(2);
  });

  it("unsubscribes, and after close delivers nothing and holds no timer", () => {
    const { batcher, batches } = setup();
    const other: FileChangeBatch[] = [];
    const off = batcher.subscribe((b) => other.push(b));
    off();
    batcher.push("a.ts", "change");
    batcher.close();
    batcher.close();
    expect(vi.getTimerCount()).toBe(0);
    batcher.push("b.ts", "change");
    vi.advanceTimersByTime(100);
    expect(batches).toHaveLength(0);
    expect(other).toHaveLength(0);
  });
});
