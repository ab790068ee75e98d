import { describe, expect, it } from "vitest";
import { extractKey, isAuthorized } from "../../../src/emulator/auth.js";
import { createFaultRegistry, validateFaultRule } from "../../../src/emulator/faults.js";
import { HttpError } from "../../../src/emulator/http-error.js";

describe("fault registry", () => {
  it("matches METHOD + path against the rule's pattern and counts hits", () => {
    const faults = createFaultRegistry();
    const rule = faults.add({ route: "^POST /v2/[^/]+/runsync$", status: 500 });
    expect(faults.take("GET", "/v2/abc/runsync")).toBeUndefined();
    expect(faults.take("POST", "/v2/abc/runsync")).toMatchObject({ id: rule.id, status: 500, hits: 1 });
    expect(faults.list()).toHaveLength(1);
  });

  it("removes a rule once it has been applied `times` times", () => {
    const faults = createFaultRegistry();
    faults.add({ route: "job-done", drop: true, times: 2 });
    expect(faults.take("POST", "/v2/x/job-done/w/j")).toBeDefined();
    expect(faults.take("POST", "/v2/x/job-done/w/j")).toBeDefined();
    expect(faults.take("POST", "/v2/x/job-done/w/j")).toBeUndefined();
    expect(faults.list()).toEqual([]);
  });

  it("validates rules", () => {
    expect(() => validateFaultRule({ route: "(" })).toThrow(HttpError);
    expect(() => validateFaultRule({ route: "x" })).toThrow(/at least one/);
    expect(() => validateFaultRule({ route: "x", status: 99 })).toThrow(/status/);
    expect(validateFaultRule({ route: "x", latencyMs: 10, times: 1 })).toEqual({ route: "x", latencyMs: 10, times: 1 });
  });
});

describe("API key checks", () => {
  it("accepts Bearer and raw keys", () => {
    expect(extractKey("Bearer abc")).toBe("abc");
    expect(extractKey("abc")).toBe("abc");
    expect(extractKey(undefined)).toBeUndefined();
    expect(isAuthorized("Bearer k1", ["k1"])).toBe(true);
    expect(isAuthorized("k1", ["k0", "k1"])).toBe(true);
    expect(isAuthorized("Bearer nope", ["k1"])).toBe(false);
    expect(isAuthorized(undefined, ["k1"])).toBe(false);
    expect(isAuthorized(undefined, [])).toBe(true);
  });
});
