/**
 * One list of folders that never hold source (common/project-folders.ts),
 * read by discovery and the watcher alike; the one difference (test folders,
 * skipped by discovery only) is explicit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadIgnoreRules } from "../../../src/discovery/ignore-rules.js";
import { NEVER_SOURCE_DIRS, TEST_DIRS } from "../../../src/common/project-folders.js";
import { createIgnoreMatcher } from "../../../src/watch/ignore-rules.js";

const root = mkdtempSync(join(tmpdir(), "flash-folders-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("folders that never hold source", () => {
  const discovery = loadIgnoreRules(root);
  const watcher = createIgnoreMatcher();

  it("are skipped by discovery and by the watcher, hidden folders included", () => {
    for (const name of [...NEVER_SOURCE_DIRS, ".git", ".runpod", ".cache"]) {
      expect(discovery.isIgnored(`${name}/x.ts`), name).toBe(true);
      expect(discovery.isIgnored(`src/${name}`, true), name).toBe(true);
      expect(watcher(name, true), name).toBe(true);
    }
  });

  it("test folders: discovery skips them, the watcher's own rules do not", () => {
    for (const name of TEST_DIRS) {
      expect(discovery.isIgnored(`${name}/x.ts`), name).toBe(true);
      expect(watcher(name, true), name).toBe(false);
    }
  });

  it("other folders: neither skips them", () => {
    expect(discovery.isIgnored("src/x.ts")).toBe(false);
    expect(watcher("src", true)).toBe(false);
  });
});
