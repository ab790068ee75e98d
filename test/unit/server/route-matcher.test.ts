import { describe, expect, it } from "vitest";
import { compilePath, matchPattern, splitPath, toRequestSegments } from "../../../src/server/route-matcher.js";

describe("route matcher", () => {
  it("splits paths, ignoring one trailing slash", () => {
    expect(splitPath("/")).toEqual([]);
    expect(splitPath("/a/b/")).toEqual(["a", "b"]);
    expect(splitPath("/a//b")).toEqual(["a", "", "b"]);
  });

  it("compiles :name and {name} parameters and leaves path-to-regexp syntax literal", () => {
    const p = compilePath("/lb/items/:id/{part}");
    expect(p.params).toEqual(["id", "part"]);
    expect(p.openapiPath).toBe("/lb/items/{id}/{part}");
    expect(compilePath("/a/:x").shapeKey).toBe(compilePath("/a/{y}").shapeKey);
    const odd = compilePath("/files/(weird)*+[x]/run_sync");
    expect(odd.params).toEqual([]);
    expect(matchPattern(odd, toRequestSegments("/files/(weird)*+[x]/run_sync"))).toBeDefined();
  });

  it("matches literals case-sensitively and params as one non-empty decoded segment", () => {
    const p = compilePath("/lb/items/:id");
    expect(matchPattern(p, toRequestSegments("/lb/items/a%20b"))?.params).toEqual({ id: "a b" });
    expect(matchPattern(p, toRequestSegments("/lb/items/a%2Fb"))?.params).toEqual({ id: "a/b" });
    expect(matchPattern(p, toRequestSegments("/lb/items/"))).toBeUndefined();
    expect(matchPattern(p, toRequestSegments("/LB/items/1"))).toBeUndefined();
    expect(matchPattern(p, toRequestSegments("/lb/items/1/2"))).toBeUndefined();
    expect(matchPattern(p, toRequestSegments("/lb/items/%E0%A4%A"))?.params).toEqual({ id: "%E0%A4%A" });
  });

  it("scores literal segments above parameters", () => {
    const literal = matchPattern(compilePath("/a/new"), ["a", "new"])!;
    const param = matchPattern(compilePath("/a/:id"), ["a", "new"])!;
    expect(literal.score > param.score).toBe(true);
  });

  it("keeps a parameter named __proto__ as data", () => {
    const m = matchPattern(compilePath("/a/:__proto__"), ["a", "x"])!;
    expect(Object.getPrototypeOf(m.params)).toBe(Object.prototype);
    expect(Object.keys(m.params)).toEqual(["__proto__"]);
  });
});
