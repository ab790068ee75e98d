import { describe, expect, it } from "vitest";
import { describeThrown } from "../../../src/worker/call-error.js";

describe("describeThrown: one reading of whatever a function throws", () => {
  it("keeps an Error's name, message and stack", () => {
    const error = new TypeError("bad");
    expect(describeThrown(error)).toEqual({ name: "TypeError", message: "bad", stack: error.stack });
    class QuotaError extends Error {}
    expect(describeThrown(new QuotaError("over")).name).toBe("QuotaError");
  });

  it.each([
    ["null", null, "the function threw null, which is not an Error", null],
    ["undefined", undefined, "the function threw undefined, which is not an Error", { $flash: "undefined" }],
    ["a number", 42, "the function threw 42, which is not an Error", 42],
    ["a plain object", { code: 42 }, 'the function threw {"code":42}, which is not an Error', { code: 42 }],
    ["an array", [1, "a"], 'the function threw [1,"a"], which is not an Error', [1, "a"]],
    ["a bigint", 5n, "the function threw 5n, which is not an Error", { $flash: "bigint", v: "5" }],
  ])("gives %s a readable message and keeps the value", (_what, value, message, thrown) => {
    expect(describeThrown(value)).toEqual({ name: "Error", message, thrown });
  });

  it("uses a thrown string as the message", () => {
    expect(describeThrown("out of stock")).toEqual({ name: "Error", message: "out of stock", thrown: "out of stock" });
  });

  it("describes values it cannot send, without sending them", () => {
    const info = describeThrown({ retry: () => 1 });
    expect(info.message).toBe("the function threw { retry: [Function: retry] }, which is not an Error");
    expect("thrown" in info).toBe(false);
    expect(describeThrown(new Map([["a", 1]])).message).toBe("the function threw Map(1) { 'a' => 1 }, which is not an Error");
  });

  it("never shows [object Object]", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(describeThrown(cyclic).message).not.toContain("[object Object]");
  });
});
