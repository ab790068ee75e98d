import { describe, expect, it } from "vitest";
import { createReloader } from "../../../src/dev/reloader.js";

describe("reloader", () => {
  it("runs one reload at a time, folds changes that arrive meanwhile into the next, and holds requests before each run", async () => {
    const runs: string[][] = [];
    const finish: (() => void)[] = [];
    const holdsAtRunStart: number[] = [];
    let holds = 0;
    let runStarted: () => void = () => {};
    const reloader = createReloader({
      onPending: () => holds++,
      run: (paths) =>
        new Promise<void>((resolve) => {
          runs.push(paths);
          holdsAtRunStart.push(holds);
          finish.push(resolve);
          runStarted();
        }),
    });
    reloader.schedule(["a.ts"]);
    reloader.schedule(["b.ts"]); // arrives during run 1
    reloader.schedule(["c.ts", "b.ts"]);
    expect(runs).toEqual([["a.ts"]]);
    const holdsBefore = holds;
    const secondRun = new Promise<void>((resolve) => (runStarted = resolve));
    finish[0]!(); // run 1 ends: the route table would release held requests here
    await secondRun;
    expect(runs).toEqual([["a.ts"], ["b.ts", "c.ts"]]);
    // Run 2 asked the route table to hold requests again before it started.
    expect(holdsAtRunStart[1]).toBeGreaterThan(holdsBefore);
    finish[1]!();
    await reloader.idle();
    await reloader.close();
    reloader.schedule(["d.ts"]);
    expect(runs).toHaveLength(2);
  });
});
