/**
 * Poll-mode behaviour that needs filesystem faults: permission errors are
 * logged once, and slow stats stretch the hot interval instead of the CPU.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { createWatcher } from "../../../src/watch/create-watcher.js";
import type { Watcher } from "../../../src/watch/types.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { denied, faults, resetFaults, slow } from "./fs-faults.js";
import { BatchRecorder, createTempProject, type TempProject } from "./watch-helpers.js";

vi.mock("node:fs", async (importOriginal) => (await import("./fs-faults.js")).withFaults(await importOriginal()));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  resetFaults();
});

function project(files: Record<string, string>): TempProject {
  const p = createTempProject(files);
  cleanups.push(() => p.cleanup());
  return p;
}

describe("poll watcher under filesystem faults", () => {
  it("logs an unreadable directory once, at debug, and keeps watching the rest", async () => {
    const p = project({ "locked/a.ts": "", "open/b.ts": "" });
    const logger = createMemoryLogger("debug");
    const watcher = createWatcher({ root: p.root, mode: "poll", hotIntervalMs: 20, coldIntervalMs: 250, logger });
    cleanups.push(() => watcher.close());
    const rec = new BatchRecorder(watcher);
    await watcher.ready;
    denied.add(join(p.root, "locked"));
    denied.add(join(p.root, "locked/a.ts"));
    p.write("open/c.ts");
    await rec.waitFor("open/c.ts", "add", 3000);
    // Several more sweeps (each one a sentinel round trip) hit the same errors.
    for (const name of ["d", "e", "f"]) {
      p.write(`open/${name}.ts`);
      await rec.waitFor(`open/${name}.ts`, "add", 3000);
    }
    const lines = logger.lines.filter((l) => l.includes("cannot read"));
    expect(lines.filter((l) => l.includes("locked/a.ts"))).toHaveLength(1);
    expect(lines.every((l) => l.includes("EACCES"))).toBe(true);
    expect(rec.events.some((e) => e.path.startsWith("locked/"))).toBe(false);
  });

  it("stretches the hot interval when stats are slow, and reports it", async () => {
    const hot = Array.from({ length: 5 }, (_, i) => `src/m${i}.ts`);
    const p = project(Object.fromEntries(hot.map((rel) => [rel, ""])));
    // The watcher measures its rounds on this clock, and the slow stats take their time from it:
    // what a round costs does not depend on how busy the machine is.
    const clock = (faults.clock = new FakeClock());
    const watcher = createWatcher({ root: p.root, mode: "poll", hotIntervalMs: 20, coldIntervalMs: 3000, clock });
    cleanups.push(() => watcher.close());
    await watcher.ready;
    watcher.setHotFiles(hot);
    // 5 files × 1 ms = a 5 ms round: at a 2 % duty cycle that is a round every 250 ms.
    for (const rel of hot) slow.set(join(p.root, rel), 1);
    const grown = await hotRoundsUntil(watcher, clock, (ms) => ms >= 100);
    // Smoothed: it grows over a few rounds, not in one jump.
    expect(grown.length).toBeGreaterThan(2);
    expect(grown.every((ms, i) => i === 0 || ms > grown[i - 1]!)).toBe(true);
    slow.clear();
    const back = await hotRoundsUntil(watcher, clock, (ms) => ms === 20);
    expect(back.length).toBeGreaterThan(2);
    expect(back.every((ms, i) => i === 0 || ms < back[i - 1]!)).toBe(true);
  });
});

/**
 * Runs hot rounds one by one (advancing the clock by the interval each was
 * scheduled with) until `done` holds for the reported interval; returns the
 * intervals seen. Fails after 100 rounds.
 */
async function hotRoundsUntil(watcher: Watcher, clock: FakeClock, done: (ms: number) => boolean): Promise<number[]> {
  const seen: number[] = [];
  for (let round = 0; round < 100; round++) {
    const ms = watcher.stats().hotIntervalMs!;
    seen.push(ms);
    if (done(ms)) return seen;
    await clock.sleepingFor(ms);
    await clock.advance(ms);
  }
  throw new Error(`the hot interval never got there: ${seen.join(", ")}`);
}
