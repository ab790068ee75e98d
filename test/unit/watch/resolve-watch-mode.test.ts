import { describe, expect, it, vi } from "vitest";
import { hasCode } from "../../../src/common/errors.js";
import { createTempProject } from "./watch-helpers.js";
import { createWatcher } from "../../../src/watch/create-watcher.js";
import { resolveWatchMode } from "../../../src/watch/resolve-watch-mode.js";

describe("resolveWatchMode", () => {
  it("uses native events outside the dev container", () => {
    expect(resolveWatchMode({})).toBe("native");
    expect(resolveWatchMode({ FLASH_IN_CONTAINER: "0" })).toBe("native");
  });

  it("polls inside the dev container", () => {
    expect(resolveWatchMode({ FLASH_IN_CONTAINER: "1" })).toBe("poll");
    expect(resolveWatchMode({ FLASH_IN_CONTAINER: "true" })).toBe("poll");
  });

  it("lets FLASH_WATCH force either mode", () => {
    expect(resolveWatchMode({ FLASH_WATCH: "poll" })).toBe("poll");
    expect(resolveWatchMode({ FLASH_WATCH: " Native ", FLASH_IN_CONTAINER: "1" })).toBe("native");
    expect(resolveWatchMode({ FLASH_WATCH: "auto", FLASH_IN_CONTAINER: "1" })).toBe("poll");
    expect(resolveWatchMode({ FLASH_WATCH: "", FLASH_IN_CONTAINER: "1" })).toBe("poll");
  });

  it("rejects an unknown FLASH_WATCH value with a coded error", () => {
    let error: unknown;
    try {
      resolveWatchMode({ FLASH_WATCH: "inotify" });
    } catch (e) {
      error = e;
    }
    expect(hasCode(error, "INVALID_INPUT")).toBe(true);
    expect(String(error)).toContain("FLASH_WATCH");
  });

  it("is what createWatcher uses in auto mode", async () => {
    const project = createTempProject({ "a.ts": "" });
    vi.stubEnv("FLASH_WATCH", "");
    vi.stubEnv("FLASH_IN_CONTAINER", "1");
    const watcher = createWatcher({ root: project.root });
    try {
      expect(watcher.mode).toBe("poll");
      await watcher.ready;
    } finally {
      await watcher.close();
      project.cleanup();
    }
  });

  it("rejects bad intervals", () => {
    expect(() => createWatcher({ root: ".", mode: "poll", hotIntervalMs: 0 })).toThrow(/hotIntervalMs/);
    expect(() => createWatcher({ root: ".", mode: "poll", coldIntervalMs: Number.NaN })).toThrow(/coldIntervalMs/);
  });
});
