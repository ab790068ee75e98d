import { utimesSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadIgnoreRules } from "../../../src/discovery/ignore-rules.js";
import { createProjectScanner } from "../../../src/discovery/scan-project.js";
import { writeProject } from "./helpers.js";

const REMOTE = 'import { remote } from "flash-ts";\n';
const PLAIN = "export const x = 1;\n";

describe("ignore rules", () => {
  it("skips always-skipped and hidden folders, test files and declarations", () => {
    const root = writeProject({});
    const rules = loadIgnoreRules(root);
    for (const path of [
      "node_modules/x/index.ts",
      "sub/node_modules/y.ts",
      ".git/hooks/a.js",
      ".runpod/x.ts",
      ".cache/a.ts",
      "dist/a.js",
      "packages/p/dist/a.js",
      "build/a.js",
      "test/a.ts",
      "src/tests/a.ts",
      "src/__tests__/a.ts",
      "a.test.ts",
      "src/b.spec.mjs",
    ]) {
      expect(rules.isIgnored(path), path).toBe(true);
    }
    expect(rules.isIgnored("dist", true)).toBe(true);
    expect(rules.isIgnored("dist/")).toBe(true);
    expect(rules.isIgnored("src/a.ts")).toBe(false);
    expect(rules.isIgnored("package.json")).toBe(false);
    expect(rules.isIgnored("testing/a.ts")).toBe(false);
    expect(rules.isScannable("types.d.ts")).toBe(false);
    expect(rules.isScannable("a.d.mts")).toBe(false);
    expect(rules.isScannable("a.tsx")).toBe(false);
    expect(rules.isScannable("a.cjs")).toBe(false);
    for (const ok of ["a.ts", "a.mts", "a.cts", "a.js", "a.mjs"]) expect(rules.isScannable(ok), ok).toBe(true);
  });

  it("honours .gitignore and .flashignore with negation; .flashignore has the last word", () => {
    const root = writeProject({
      ".gitignore": "generated/\n*.gen.ts\n!keep.gen.ts\nsecret.ts\n",
      ".flashignore": "# comment\nscratch/\n!secret.ts\nlegacy/**\n!legacy/still.ts\n",
    });
    const rules = loadIgnoreRules(root);
    expect(rules.isIgnored("generated", true)).toBe(true);
    expect(rules.isIgnored("generated/a.ts")).toBe(true);
    expect(rules.isIgnored("x/y.gen.ts")).toBe(true);
    expect(rules.isIgnored("keep.gen.ts")).toBe(false);
    expect(rules.isIgnored("scratch/a.ts")).toBe(true);
    expect(rules.isIgnored("secret.ts")).toBe(false);
    expect(rules.isIgnored("legacy/old.ts")).toBe(true);
    expect(rules.isIgnored("legacy/still.ts")).toBe(false);
    expect(rules.isIgnored("src/a.ts")).toBe(false);
  });

  it("does not let a negation re-include node_modules or a test folder", () => {
    const root = writeProject({ ".flashignore": "!node_modules/\n!test/\n!dist/\n" });
    const rules = loadIgnoreRules(root);
    expect(rules.isIgnored("node_modules/a.ts")).toBe(true);
    expect(rules.isIgnored("test/a.ts")).toBe(true);
    expect(rules.isIgnored("dist/a.ts")).toBe(true);
  });
});

describe("project scanner", () => {
  it("lists scannable files and the candidates among them", async () => {
    const root = writeProject({
      ".gitignore": "ignored/\n*.gen.ts\n!keep.gen.ts\n",
      ".flashignore": "skip.ts\n",
      "a.ts": REMOTE,
      "b.mts": PLAIN,
      "c.js": "// uses remote()\n",
      "d.mjs": REMOTE,
      "e.cts": REMOTE,
      "f.d.ts": REMOTE,
      "g.tsx": REMOTE,
      "x.gen.ts": REMOTE,
      "keep.gen.ts": REMOTE,
      "skip.ts": REMOTE,
      "ignored/a.ts": REMOTE,
      "node_modules/pkg/index.js": REMOTE,
      "dist/out.js": REMOTE,
      "build/out.js": REMOTE,
      ".hidden/a.ts": REMOTE,
      ".runpod/a.ts": REMOTE,
      "test/a.ts": REMOTE,
      "tests/a.ts": REMOTE,
      "src/a.test.ts": REMOTE,
      "src/a.spec.js": REMOTE,
      "src/deep/ok.ts": REMOTE,
      "README.md": "remote",
    });
    const scanner = createProjectScanner(root);
    await scanner.scanAll();
    expect(scanner.files()).toEqual(["a.ts", "b.mts", "c.js", "d.mjs", "e.cts", "keep.gen.ts", "src/deep/ok.ts"]);
    expect(scanner.candidates()).toEqual(["a.ts", "c.js", "d.mjs", "e.cts", "keep.gen.ts", "src/deep/ok.ts"]);
  });

  it("re-reads only files whose mtime or size changed", async () => {
    const root = writeProject({ "a.ts": PLAIN, "b.ts": REMOTE });
    const file = join(root, "a.ts");
    // Whole seconds: a Date round trip would lose the sub-millisecond part of mtimeMs.
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    const scanner = createProjectScanner(root);
    await scanner.scanAll();
    expect(scanner.candidates()).toEqual(["b.ts"]);

    // Same size and mtime: the cached answer stands (the file is not read again).
    const sameSize = "remote".padEnd(PLAIN.length - 1, " ") + "\n";
    writeFileSync(file, sameSize);
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    await scanner.scanAll();
    expect(scanner.candidates()).toEqual(["b.ts"]);

    writeFileSync(file, REMOTE + "// grown\n");
    await scanner.scanAll();
    expect(scanner.candidates()).toEqual(["a.ts", "b.ts"]);
  });

  it("updates incrementally: added, changed, removed files and folders", async () => {
    const root = writeProject({ "a.ts": REMOTE, "lib/x.ts": PLAIN, "lib/y.ts": REMOTE });
    const scanner = createProjectScanner(root);
    await scanner.scanAll();
    expect(scanner.candidates()).toEqual(["a.ts", "lib/y.ts"]);

    writeProject({ "new/n.ts": REMOTE, "new/deeper/m.ts": REMOTE, "new/node_modules/z.ts": REMOTE }, root);
    writeFileSync(join(root, "lib/x.ts"), REMOTE + "// now a candidate\n");
    const changed = await scanner.update(["new", "lib/x.ts", "README.md"]);
    expect([...changed].sort()).toEqual(["lib/x.ts", "new/deeper/m.ts", "new/n.ts"]);
    expect(scanner.candidates()).toEqual(["a.ts", "lib/x.ts", "lib/y.ts", "new/deeper/m.ts", "new/n.ts"]);

    rmSync(join(root, "lib"), { recursive: true });
    rmSync(join(root, "a.ts"));
    await scanner.update(["lib", "a.ts"]);
    expect(scanner.files()).toEqual(["new/deeper/m.ts", "new/n.ts"]);

    // A path that becomes ignored is dropped even if it exists.
    writeFileSync(join(root, "new/n.test.ts"), REMOTE);
    await scanner.update(["new/n.test.ts"]);
    expect(scanner.files()).not.toContain("new/n.test.ts");
  });
});
