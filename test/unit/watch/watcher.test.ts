/**
 * Behaviour both watcher modes share, on real temp directories. Tests wait for
 * events; "nothing else arrives" is shown by a later sentinel change that
 * arrives alone (anything caused by the earlier writes would have come with
 * it or before it), never by a pause.
 */
import { chmodSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as spacing } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { createWatcher } from "../../../src/watch/create-watcher.js";
import { describeWatcher } from "../../../src/watch/describe-watcher.js";
import type { CreateWatcherOptions, Watcher, WatchMode } from "../../../src/watch/types.js";
import { waitFor } from "../../helpers/wait.js";
import { BatchRecorder, createTempProject, type TempProject } from "./watch-helpers.js";

/** Short intervals so that cold changes show up within a second in poll mode. */
const COLD_MS = 400;
const COLD_TIMEOUT = COLD_MS * 3 + 2000;
const HOT_TIMEOUT = 2000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Writes a sentinel file (after everything the test did) and waits for it: a
 * watcher that would report anything more of what came before has done so by
 * then.
 */
async function afterSentinel(p: TempProject, rec: BatchRecorder, rel: string, timeoutMs: number): Promise<void> {
  p.write(rel);
  await rec.waitFor(rel, "add", timeoutMs);
}

function project(files: Record<string, string> = {}): TempProject {
  const p = createTempProject(files);
  cleanups.push(() => p.cleanup());
  return p;
}

async function start(mode: WatchMode, p: TempProject, options: Partial<CreateWatcherOptions> = {}): Promise<{ watcher: Watcher; rec: BatchRecorder }> {
  const watcher = createWatcher({ root: p.root, mode, debounceMs: 30, hotIntervalMs: 20, coldIntervalMs: COLD_MS, ...options });
  cleanups.push(() => watcher.close());
  const rec = new BatchRecorder(watcher);
  await watcher.ready;
  return { watcher, rec };
}

const SOURCE = { "src/hot.ts": "export const a = 1;\n", "src/lib/cold.ts": "export const b = 1;\n", "README.md": "# x\n" };

describe.each<WatchMode>(["poll", "native"])("%s watcher", (mode) => {
  it("reports add, change and unlink of a hot file", async () => {
    const p = project(SOURCE);
    const { watcher, rec } = await start(mode, p);
    watcher.setHotFiles(["src/hot.ts", "./src/new-hot.ts"]);
    p.write("src/hot.ts", "export const a = 2;\n");
    await rec.waitFor("src/hot.ts", "change", HOT_TIMEOUT);
    p.write("src/new-hot.ts");
    await rec.waitFor("src/new-hot.ts", "add", HOT_TIMEOUT);
    p.remove("src/hot.ts");
    await rec.waitFor("src/hot.ts", "unlink", HOT_TIMEOUT);
  });

  it("reports add, change and unlink of a cold file within the slow interval", async () => {
    const p = project(SOURCE);
    const { rec } = await start(mode, p);
    p.write("src/lib/cold.ts", "export const b = 22;\n");
    await rec.waitFor("src/lib/cold.ts", "change", COLD_TIMEOUT);
    p.write("src/lib/other.ts");
    await rec.waitFor("src/lib/other.ts", "add", COLD_TIMEOUT);
    p.remove("src/lib/cold.ts");
    await rec.waitFor("src/lib/cold.ts", "unlink", COLD_TIMEOUT);
    expect(rec.events.every((e) => e.path.startsWith("src/lib/"))).toBe(true);
  });

  it("finds new directories and the files in them, and reports a removed directory's files", async () => {
    const p = project(SOURCE);
    const { rec } = await start(mode, p);
    p.write("src/feature/deep/er/a.ts");
    p.write("src/feature/b.ts");
    await rec.waitFor("src/feature/deep/er/a.ts", "add", COLD_TIMEOUT);
    await rec.waitFor("src/feature/b.ts", "add", COLD_TIMEOUT);
    p.remove("src/feature");
    await rec.waitFor("src/feature/deep/er/a.ts", "unlink", COLD_TIMEOUT);
    await rec.waitFor("src/feature/b.ts", "unlink", COLD_TIMEOUT);
  });

  it("never reports ignored paths or editor temp files", async () => {
    const p = project(SOURCE);
    const { rec } = await start(mode, p, { isIgnored: (rel, isDir) => (isDir && rel === "generated") || rel.endsWith(".log") });
    const noise = [
      "node_modules/pkg/index.js",
      "src/node_modules/x.js",
      ".git/HEAD",
      ".runpod/resources.json",
      "dist/index.js",
      "build/out.js",
      ".cache/x.ts",
      "src/.hidden/x.ts",
      "generated/api.ts",
      "debug.log",
      "src/hot.ts.swp",
      "src/.hot.ts.swx",
      "src/hot.ts~",
      "src/.#hot.ts",
      "src/4913",
      "src/x.tmp",
      ".DS_Store",
    ];
    for (const rel of noise) p.write(rel);
    // Written last: once it is reported, anything watched among the above would have been too.
    await afterSentinel(p, rec, "src/lib/sentinel.ts", COLD_TIMEOUT);
    await afterSentinel(p, rec, "src/lib/sentinel-2.ts", COLD_TIMEOUT);
    expect(rec.events.map((e) => e.path)).toEqual(["src/lib/sentinel.ts", "src/lib/sentinel-2.ts"]);
  });

  it("reports the root .env even when the predicate ignores it", async () => {
    const p = project(SOURCE);
    const { rec } = await start(mode, p, { isIgnored: (rel) => rel === ".env" });
    p.write(".env", "A=1\n");
    await rec.waitFor(".env", "add", HOT_TIMEOUT);
    p.write(".env", "A=22\n");
    await rec.waitFor(".env", "change", HOT_TIMEOUT);
    p.remove(".env");
    await rec.waitFor(".env", "unlink", HOT_TIMEOUT);
  });

  it("turns several quick saves into one batch", async () => {
    const p = project({ ...SOURCE, "src/a.ts": "", "src/b.ts": "" });
    const { watcher, rec } = await start(mode, p, { debounceMs: 100 });
    watcher.setHotFiles(["src/hot.ts", "src/a.ts", "src/b.ts"]);
    for (const rel of ["src/hot.ts", "src/a.ts", "src/b.ts"]) {
      p.write(rel);
      await spacing(5); // the input: saves a few ms apart, well within the debounce
    }
    await waitFor("three changes", () => rec.events.length >= 3, HOT_TIMEOUT);
    await afterSentinel(p, rec, "src/sentinel.ts", COLD_TIMEOUT);
    expect(rec.batches).toHaveLength(2);
    expect(rec.batches[0]?.paths.sort()).toEqual(["src/a.ts", "src/b.ts", "src/hot.ts"]);
    expect(rec.batches[0]?.events.every((e) => e.kind === "change")).toBe(true);
    expect(rec.batches[1]?.paths).toEqual(["src/sentinel.ts"]);
  });

  it("delivers a git-checkout-sized change to hot and cold files as one batch", async () => {
    const files: Record<string, string> = { "src/hot.ts": "" };
    for (let d = 0; d < 8; d++) for (let f = 0; f < 5; f++) files[`src/pkg${d}/m${f}.ts`] = "old\n";
    const p = project(files);
    // A debounce with room for a loaded machine (native events of one checkout can spread out there).
    const { watcher, rec } = await start(mode, p, { debounceMs: 150 });
    watcher.setHotFiles(["src/hot.ts"]);
    // git replaces a file by unlinking it and creating it again.
    const changed = Object.keys(files);
    for (const rel of changed) {
      unlinkSync(join(p.root, rel));
      writeFileSync(join(p.root, rel), "new content\n");
    }
    p.write("src/pkg9/new.ts");
    await waitFor("every file of the checkout", () => rec.events.length >= changed.length + 1, COLD_TIMEOUT);
    expect(rec.batches).toHaveLength(1);
    expect(new Set(rec.batches[0]?.paths)).toEqual(new Set([...changed, "src/pkg9/new.ts"]));
  });

  it("sees atomic saves (temp file + rename, and vim's backup + rewrite) as a change", async () => {
    const p = project(SOURCE);
    const { watcher, rec } = await start(mode, p);
    watcher.setHotFiles(["src/hot.ts"]);
    writeFileSync(join(p.root, "src/hot.ts.tmp"), "export const a = 3;\n");
    renameSync(join(p.root, "src/hot.ts.tmp"), join(p.root, "src/hot.ts"));
    await rec.waitFor("src/hot.ts", "change", HOT_TIMEOUT);
    rec.clear();
    renameSync(join(p.root, "src/lib/cold.ts"), join(p.root, "src/lib/cold.ts~"));
    writeFileSync(join(p.root, "src/lib/cold.ts"), "export const b = 3;\n");
    rmSync(join(p.root, "src/lib/cold.ts~"));
    await rec.waitFor("src/lib/cold.ts", undefined, COLD_TIMEOUT);
    await afterSentinel(p, rec, "src/lib/sentinel.ts", COLD_TIMEOUT);
    expect(rec.events).toEqual([
      { path: "src/lib/cold.ts", kind: "change" },
      { path: "src/lib/sentinel.ts", kind: "add" },
    ]);
  });

  it("copes with a file replaced by a directory and back", async () => {
    const p = project(SOURCE);
    const { rec } = await start(mode, p);
    p.remove("src/lib/cold.ts");
    mkdirSync(join(p.root, "src/lib/cold.ts"));
    p.write("src/lib/cold.ts/inner.ts");
    await rec.waitFor("src/lib/cold.ts/inner.ts", "add", COLD_TIMEOUT);
    expect(rec.has("src/lib/cold.ts", "unlink")).toBe(true);
    p.remove("src/lib/cold.ts");
    p.write("src/lib/cold.ts");
    await rec.waitFor("src/lib/cold.ts/inner.ts", "unlink", COLD_TIMEOUT);
    await rec.waitFor("src/lib/cold.ts", "add", COLD_TIMEOUT);
  });

  it("keeps watching when a listener throws", async () => {
    const p = project(SOURCE);
    const logger = createMemoryLogger();
    const { watcher, rec } = await start(mode, p, { logger });
    watcher.setHotFiles(["src/hot.ts"]);
    watcher.onChange(() => {
      throw new Error("listener bug");
    });
    p.write("src/hot.ts");
    await rec.waitFor("src/hot.ts", "change", HOT_TIMEOUT);
    rec.clear();
    p.write("src/hot.ts");
    await rec.waitFor("src/hot.ts", "change", HOT_TIMEOUT);
    expect(logger.lines.some((l) => l.includes("listener bug"))).toBe(true);
  });

  it("reports what it watches", async () => {
    const p = project({ ...SOURCE, ".env": "A=1\n", "node_modules/x/index.js": "" });
    const { watcher } = await start(mode, p);
    watcher.setHotFiles(["src/hot.ts", "src/missing.ts", "node_modules/x/index.js", "../outside.ts"]);
    const stats = watcher.stats();
    expect(stats).toMatchObject({ mode, hotFiles: 2, coldFiles: 2, directories: 3 });
    if (mode === "poll") {
      expect(stats).toMatchObject({ hotIntervalMs: 20, coldIntervalMs: COLD_MS });
      expect(describeWatcher(stats)).toBe("watching 4 files by polling (2 hot every 20 ms, the rest every 400 ms)");
    } else {
      expect(stats).toMatchObject({ hotIntervalMs: null, coldIntervalMs: null });
      expect(describeWatcher(stats)).toBe("watching 4 files with native file events");
    }
  });

  it("stops everything on close: no events, no timers or handles left, close twice is fine", async () => {
    const kinds = ["Timeout", "Immediate", "FSEventWrap", "StatWatcher"];
    const count = () => process.getActiveResourcesInfo().filter((r) => kinds.includes(r)).length;
    // Handles of watchers closed by earlier tests go away asynchronously: start from a stable count.
    let last = -1;
    await waitFor("a stable handle count", () => last === (last = count()));
    const before = count();
    const p = project(SOURCE);
    const { watcher, rec } = await start(mode, p);
    watcher.setHotFiles(["src/hot.ts"]);
    expect(count()).toBeGreaterThan(before);
    p.write("src/hot.ts");
    await watcher.close();
    await watcher.close();
    p.write("src/hot.ts");
    p.write("src/new.ts");
    // Once its timers and handles are gone, nothing can deliver a batch any more.
    await waitFor("the watcher's timers and handles to be released", () => count() <= before);
    expect(rec.batches).toHaveLength(0);
    // A closed watcher ignores further calls.
    watcher.setHotFiles(["src/new.ts"]);
    expect(watcher.onChange(() => {})).toBeTypeOf("function");
  });

  it("resolves ready when closed during its initial scan", async () => {
    const p = project(SOURCE);
    const watcher = createWatcher({ root: p.root, mode });
    await watcher.close();
    await watcher.ready;
  });

  it("starts on a root that does not exist yet and picks it up when it appears", async () => {
    const p = project();
    const root = join(p.root, "later");
    const watcher = createWatcher({ root, mode, debounceMs: 30, hotIntervalMs: 20, coldIntervalMs: COLD_MS });
    cleanups.push(() => watcher.close());
    const rec = new BatchRecorder(watcher);
    await watcher.ready;
    mkdirSync(join(root, "src"), { recursive: true });
    writeFileSync(join(root, "src/a.ts"), "x");
    await rec.waitFor("src/a.ts", "add", COLD_TIMEOUT);
  });
});

describe("poll watcher only", () => {
  it("notices a new file next to a hot file at hot speed", async () => {
    const p = project(SOURCE);
    const { watcher, rec } = await start("poll", p, { coldIntervalMs: 60_000 });
    watcher.setHotFiles(["src/hot.ts"]);
    p.write("src/new-module.ts");
    await rec.waitFor("src/new-module.ts", "add", HOT_TIMEOUT);
  });

  it("lets a hot change pull recreated cold files into the same batch (no waiting for the sweep)", async () => {
    const p = project(SOURCE);
    const { watcher, rec } = await start("poll", p, { coldIntervalMs: 60_000 });
    watcher.setHotFiles(["src/hot.ts"]);
    p.remove("src/lib/cold.ts");
    p.write("src/lib/cold.ts", "recreated\n");
    p.write("src/lib/added.ts");
    p.write("src/hot.ts");
    await rec.waitFor("src/hot.ts", "change", HOT_TIMEOUT);
    expect(rec.batches).toHaveLength(1);
    expect(rec.batches[0]?.events).toEqual(
      expect.arrayContaining([
        { path: "src/hot.ts", kind: "change" },
        { path: "src/lib/cold.ts", kind: "change" },
        { path: "src/lib/added.ts", kind: "add" },
      ]),
    );
  });

  it("ignores chmod-only changes", async () => {
    const p = project({ ...SOURCE, "src/sentinel.ts": "1\n" });
    const { watcher, rec } = await start("poll", p);
    // All hot: every hot round checks all three, so the round that sees the sentinel's
    // new content has checked the chmod-ed files too (hot and cold files are compared alike).
    watcher.setHotFiles(["src/hot.ts", "src/lib/cold.ts", "src/sentinel.ts"]);
    chmodSync(join(p.root, "src/hot.ts"), 0o600);
    chmodSync(join(p.root, "src/lib/cold.ts"), 0o600);
    p.write("src/sentinel.ts", "22\n");
    await rec.waitFor("src/sentinel.ts", "change", HOT_TIMEOUT);
    expect(rec.events).toEqual([{ path: "src/sentinel.ts", kind: "change" }]);
  });
});
