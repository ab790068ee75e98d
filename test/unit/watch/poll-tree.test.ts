/**
 * PollTree on real directories, with node:fs wrapped so that some paths can
 * be made to fail with EACCES (the tests run as root, where chmod cannot
 * deny anything) and so that a directory can vanish between being found and
 * being listed.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createIgnoreMatcher } from "../../../src/watch/ignore-rules.js";
import { PollTree } from "../../../src/watch/poll-tree.js";
import type { FileChangeKind } from "../../../src/watch/types.js";
import { denied, resetFaults } from "./fs-faults.js";
import { createTempProject, type TempProject } from "./watch-helpers.js";

vi.mock("node:fs", async (importOriginal) => (await import("./fs-faults.js")).withFaults(await importOriginal()));

let project: TempProject | undefined;
afterEach(() => {
  resetFaults();
  project?.cleanup();
  project = undefined;
});

function setup(files: Record<string, string>) {
  project = createTempProject(files);
  const events: [string, FileChangeKind][] = [];
  const problems: string[] = [];
  const tree = new PollTree(project.root, createIgnoreMatcher(), {
    emit: (path, kind) => events.push([path, kind]),
    problem: (path) => problems.push(path),
  });
  const drain = (): void => {
    while (tree.pendingDirs.length > 0) tree.checkDir(tree.pendingDirs.pop() as string);
  };
  const sweep = (): void => {
    for (const dir of [...tree.dirs.keys()]) tree.checkDir(dir);
    for (const file of [...tree.files.keys()]) tree.checkFile(file);
    drain();
  };
  return { root: project.root, tree, events, problems, drain, sweep };
}

describe("PollTree", () => {
  it("scans silently, then reports differences", () => {
    const t = setup({ "a.ts": "1", "src/b.ts": "2", "node_modules/x.js": "", ".git/HEAD": "" });
    t.drain();
    expect([...t.tree.files.keys()].sort()).toEqual(["a.ts", "src/b.ts"]);
    expect([...t.tree.dirs.keys()].sort()).toEqual(["", "src"]);
    expect(t.events).toEqual([]);
    t.tree.silent = false;
    writeFileSync(join(t.root, "src/b.ts"), "22");
    writeFileSync(join(t.root, "src/c.ts"), "3");
    rmSync(join(t.root, "a.ts"));
    t.sweep();
    expect(t.events.sort()).toEqual([
      ["a.ts", "unlink"],
      ["src/b.ts", "change"],
      ["src/c.ts", "add"],
    ]);
  });

  it("survives a directory removed between being found and being listed", () => {
    const t = setup({ "gone/deeper/x.ts": "", "kept/y.ts": "" });
    // List the root only: "gone" and "kept" are now pending.
    t.tree.checkDir(t.tree.pendingDirs.pop() as string);
    expect([...t.tree.pendingDirs].sort()).toEqual(["gone", "kept"]);
    rmSync(join(t.root, "gone"), { recursive: true });
    t.drain();
    expect(t.tree.dirs.has("gone")).toBe(false);
    expect([...t.tree.files.keys()]).toEqual(["kept/y.ts"]);
    expect(t.problems).toEqual([]);
  });

  it("reports an unreadable directory as a problem and keeps what it knew", () => {
    const t = setup({ "locked/a.ts": "", "open/b.ts": "" });
    t.drain();
    t.tree.silent = false;
    denied.add(join(t.root, "locked"));
    denied.add(join(t.root, "locked/a.ts"));
    writeFileSync(join(t.root, "open/c.ts"), "");
    t.sweep();
    t.sweep();
    expect(t.events).toEqual([["open/c.ts", "add"]]);
    expect(t.tree.files.has("locked/a.ts")).toBe(true);
    expect(t.problems).toContain("locked");
    expect(t.problems).toContain("locked/a.ts");
  });

  it("does not descend into symlinked directories but watches symlinked files", () => {
    const t = setup({ "src/real.ts": "", "other/x.ts": "" });
    symlinkSync(join(t.root, "src"), join(t.root, "loop"));
    symlinkSync(join(t.root, "src/real.ts"), join(t.root, "link.ts"));
    t.drain();
    expect([...t.tree.files.keys()].sort()).toEqual(["link.ts", "other/x.ts", "src/real.ts"]);
    expect(t.tree.dirs.has("loop")).toBe(false);
  });

  it("turns a directory into a file and back", () => {
    const t = setup({ "x/inner.ts": "" });
    t.drain();
    t.tree.silent = false;
    rmSync(join(t.root, "x"), { recursive: true });
    writeFileSync(join(t.root, "x"), "now a file");
    t.sweep();
    t.sweep();
    expect(t.events).toEqual([
      ["x/inner.ts", "unlink"],
      ["x", "add"],
    ]);
    t.events.length = 0;
    rmSync(join(t.root, "x"));
    mkdirSync(join(t.root, "x"));
    writeFileSync(join(t.root, "x/again.ts"), "");
    t.sweep();
    t.sweep();
    expect(t.events).toEqual([
      ["x", "unlink"],
      ["x/again.ts", "add"],
    ]);
  });

  it("treats the root like any directory: gone means every file unlinked, back means added", () => {
    const t = setup({ "a.ts": "" });
    t.drain();
    t.tree.silent = false;
    rmSync(t.root, { recursive: true });
    t.sweep();
    expect(t.events).toEqual([["a.ts", "unlink"]]);
    mkdirSync(t.root);
    writeFileSync(join(t.root, "b.ts"), "");
    t.sweep();
    expect(t.events).toEqual([
      ["a.ts", "unlink"],
      ["b.ts", "add"],
    ]);
  });
});
