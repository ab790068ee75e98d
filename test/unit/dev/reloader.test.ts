import { afterEach, describe, expect, it, vi } from "vitest";
import { createReloader } from "../../../src/dev/reloader.js";

describe("reloader", () => {
  it("runs one reload at a time, folds changes that arrive meanwhile into the next, and reports each change and each run", async () => {
    const runs: string[][] = [];
    const finish: (() => void)[] = [];
    const events: string[] = [];
    let runStarted: () => void = () => {};
    const reloader = createReloader({
      onPending: (paths) => events.push(`pending ${paths.join(" ")}`),
      onRun: (paths) => events.push(`run ${paths.join(" ")}`),
      run: (paths) =>
        new Promise<void>((resolve) => {
          runs.push(paths);
          finish.push(resolve);
          runStarted();
        }),
    });
    reloader.schedule(["a.ts"]);
    reloader.schedule(["b.ts"]); // arrives during run 1
    reloader.schedule(["c.ts", "b.ts"]);
    expect(runs).toEqual([["a.ts"]]);
    const secondRun = new Promise<void>((resolve) => (runStarted = resolve));
    finish[0]!(); // run 1 ends: the route table releases the requests waiting for a.ts
    await secondRun;
    expect(runs).toEqual([["a.ts"], ["b.ts", "c.ts"]]);
    // Each change was announced when it arrived; each run said which changes it takes before it began.
    expect(events).toEqual(["pending a.ts", "run a.ts", "pending b.ts", "pending c.ts b.ts", "run b.ts c.ts"]);
    finish[1]!();
    await reloader.idle();
    await reloader.close();
    reloader.schedule(["d.ts"]);
    expect(runs).toHaveLength(2);
  });

  describe("recheckLater", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("schedules the files once the delay has passed; a newer call replaces it, an empty one cancels", async () => {
      vi.useFakeTimers();
      const runs: string[][] = [];
      const reloader = createReloader({ onPending: () => undefined, onRun: () => undefined, run: async (paths) => void runs.push(paths) });
      reloader.recheckLater(["a.ts"], 1000);
      await vi.advanceTimersByTimeAsync(999);
      expect(runs).toEqual([]);
      reloader.recheckLater(["b.ts"], 500); // replaces the recheck of a.ts
      await vi.advanceTimersByTimeAsync(500);
      expect(runs).toEqual([["b.ts"]]);
      reloader.recheckLater(["c.ts"], 100);
      reloader.recheckLater([], 0);
      await vi.advanceTimersByTimeAsync(1000);
      expect(runs).toEqual([["b.ts"]]);
      reloader.recheckLater(["d.ts"], 100);
      await reloader.close();
      await vi.advanceTimersByTimeAsync(1000);
      expect(runs).toEqual([["b.ts"]]);
    });
  });
});
