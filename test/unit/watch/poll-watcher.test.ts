/**
 * Poll-mode behaviour that needs filesystem faults: permission errors are
 * logged once, and slow stats stretch the hot interval instead of the CPU.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryLogger } from "../../../src/shared/logger.js";
import { createWatcher } from "../../../src/watch/create-watcher.js";
import { denied, resetFaults, slow } from "./fs-faults.js";
import { waitFor } from "../../helpers/wait.js";
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
    const watcher = createWatcher({ root: p.root, mode: "poll", hotIntervalMs: 20, coldIntervalMs: 3000 });
    cleanups.push(() => watcher.close());
    await watcher.ready;
    watcher.setHotFiles(hot);
    // 5 files × 1 ms = a 5 ms round: at a 2 % duty cycle that is a round every ~250 ms.
    for (const rel of hot) slow.set(join(p.root, rel), 1);
    await waitFor("the hot interval to grow", () => (watcher.stats().hotIntervalMs ?? 0) >= 100, 5000);
    slow.clear();
    await waitFor("the hot interval to come back", () => watcher.stats().hotIntervalMs === 20, 10000);
  });
});
