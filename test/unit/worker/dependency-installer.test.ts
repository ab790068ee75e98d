import { describe, expect, it } from "vitest";
import { resolveDependencySet } from "../../../src/worker/dependency-installer.js";

describe("resolveDependencySet", () => {
  it("sorts, de-duplicates and drops flash-ts itself", () => {
    const a = resolveDependencySet(["b@1", "a@2", "b@1", "flash-ts@0.1.0", "flash-ts"]);
    expect(a.specs).toEqual(["a@2", "b@1"]);
    expect(a.key).toMatch(/^[0-9a-f]{16}$/);
    expect(resolveDependencySet(["a@2", "b@1"]).key).toBe(a.key);
    expect(resolveDependencySet([]).key).toBe("none");
    expect(resolveDependencySet(undefined).key).toBe("none");
    expect(resolveDependencySet(["flash-ts"]).key).toBe("none");
  });

  it("refuses specs npm would read as options", () => {
    expect(() => resolveDependencySet(["--registry=http://evil"])).toThrow(/not an npm package spec/);
    expect(() => resolveDependencySet(["a b"])).toThrow(/not an npm package spec/);
  });
});
