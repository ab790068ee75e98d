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

  it("validates worker faults: an endpoint and at least one effect, never mixed with route effects", () => {
    expect(validateFaultRule({ endpoint: "ep", coldStartMs: 3000 })).toEqual({ endpoint: "ep", coldStartMs: 3000 });
    expect(validateFaultRule({ endpoint: "ep", throttled: true })).toEqual({ endpoint: "ep", throttled: true });
    expect(validateFaultRule({ endpoint: "ep", imagePullMs: 10, times: 2 })).toEqual({ endpoint: "ep", imagePullMs: 10, times: 2 });
    expect(() => validateFaultRule({ endpoint: "ep" })).toThrow(/coldStartMs, imagePullMs or throttled/);
    expect(() => validateFaultRule({ endpoint: "", throttled: true })).toThrow(/endpoint/);
    expect(() => validateFaultRule({ endpoint: "ep", coldStartMs: -1 })).toThrow(/coldStartMs/);
    expect(() => validateFaultRule({ endpoint: "ep", route: "x", throttled: true })).toThrow(/either/);
    expect(() => validateFaultRule({ endpoint: "ep", status: 500 })).toThrow(/either/);
    expect(() => validateFaultRule({ route: "x", coldStartMs: 10 })).toThrow(/either/);
    expect(() => validateFaultRule({ endpoint: "ep", throttled: true, times: 1 })).toThrow(/times/);
  });

  it("finds the worker faults of an endpoint by name or id, counts starts against `times`, and tells listeners of changes", () => {
    const faults = createFaultRegistry();
    const changes: number[] = [];
    faults.onChange(() => changes.push(faults.list().length));
    faults.add({ endpoint: "ep-name", coldStartMs: 100 });
    faults.add({ endpoint: "ep-id", imagePullMs: 50, times: 1 });
    const ep = { id: "ep-id", name: "ep-name" };
    expect(faults.isThrottled(ep)).toBe(false);
    expect(faults.takeWorkerStart(ep)).toEqual({ coldStartMs: 100, imagePullMs: 50 });
    expect(faults.takeWorkerStart(ep)).toEqual({ coldStartMs: 100, imagePullMs: 0 });
    expect(faults.takeWorkerStart({ id: "other", name: "other" })).toEqual({ coldStartMs: 0, imagePullMs: 0 });
    const throttled = faults.add({ endpoint: "ep-id", throttled: true });
    expect(faults.isThrottled(ep)).toBe(true);
    faults.remove(throttled.id);
    expect(faults.isThrottled(ep)).toBe(false);
    // Route rules never match endpoints, nor the reverse.
    expect(faults.take("POST", "/ep-name")).toBeUndefined();
    expect(changes).toEqual([1, 2, 1, 2, 1]);
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
