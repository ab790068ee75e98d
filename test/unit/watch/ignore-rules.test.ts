import { describe, expect, it } from "vitest";
import { createIgnoreMatcher, isEditorTempFile, normalizeRelPath } from "../../../src/watch/ignore-rules.js";

describe("isEditorTempFile", () => {
  it.each(["a.ts.swp", ".a.ts.swx", ".a.ts.swo", "a.ts~", ".#a.ts", "#a.ts#", "4913", "x.tmp", "X.TMP", ".DS_Store", "a.ts___jb_tmp___", "a.ts___jb_old___"])(
    "%s is editor litter",
    (name) => expect(isEditorTempFile(name)).toBe(true),
  );

  it.each(["a.ts", ".env", "swp.ts", "tmp", "4913.ts", "template.ts", ".gitignore"])("%s is a real file", (name) =>
    expect(isEditorTempFile(name)).toBe(false),
  );
});

describe("createIgnoreMatcher", () => {
  const matcher = createIgnoreMatcher();

  it("skips dependency, VCS, state and build folders at any depth, and hidden folders", () => {
    for (const dir of ["node_modules", ".git", ".runpod", "dist", "build", ".cache", "src/node_modules", "pkg/dist", "a/.hidden"]) {
      expect(matcher(dir, true), dir).toBe(true);
    }
    expect(matcher("src", true)).toBe(false);
    expect(matcher("distribution", true)).toBe(false);
  });

  it("keeps files named like skipped folders, and hidden files", () => {
    expect(matcher("build", false)).toBe(false);
    expect(matcher(".gitignore", false)).toBe(false);
    expect(matcher("src/.eslintrc", false)).toBe(false);
  });

  it("skips editor temp files anywhere", () => {
    expect(matcher("src/a.ts.swp", false)).toBe(true);
    expect(matcher("4913", false)).toBe(true);
  });

  it("consults the caller's predicate for the rest, never for the root .env", () => {
    const seen: string[] = [];
    const ignoreEverything = createIgnoreMatcher((rel) => {
      seen.push(rel);
      return true;
    });
    expect(ignoreEverything(".env", false)).toBe(false);
    expect(ignoreEverything("src/.env", false)).toBe(true);
    expect(ignoreEverything("src/a.ts", false)).toBe(true);
    expect(ignoreEverything("node_modules", true)).toBe(true);
    expect(seen).toEqual(["src/.env", "src/a.ts"]);
  });

  it("treats a throwing predicate as 'not ignored'", () => {
    const throwing = createIgnoreMatcher(() => {
      throw new Error("bad rules");
    });
    expect(throwing("src/a.ts", false)).toBe(false);
  });
});

describe("normalizeRelPath", () => {
  it("normalises separators and dots", () => {
    expect(normalizeRelPath("./src//a.ts")).toBe("src/a.ts");
    expect(normalizeRelPath("src\\lib\\b.ts")).toBe("src/lib/b.ts");
  });

  it("refuses paths outside the root", () => {
    expect(normalizeRelPath("../x.ts")).toBeUndefined();
    expect(normalizeRelPath("/etc/passwd")).toBeUndefined();
    expect(normalizeRelPath("C:/x.ts")).toBeUndefined();
    expect(normalizeRelPath("")).toBeUndefined();
  });
});
