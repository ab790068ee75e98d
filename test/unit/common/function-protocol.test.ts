import { describe, expect, it } from "vitest";
import { parseFunctionRequest, parseFunctionResponse, isFunctionRequest } from "../../../src/common/function-protocol.js";
import { sha256 } from "../../../src/common/hash.js";

const hash = sha256("export {}");

describe("function protocol", () => {
  it("accepts a valid request and drops unknown fields", () => {
    const req = parseFunctionRequest({
      flash: 1,
      module: { hash, code: "export {}" },
      target: { file: "a.ts", export: "f" },
      args: [1],
      endpoints: { gpu: { id: "abc", name: "live-gpu", kind: "QB" } },
      extra: "dropped",
    });
    expect(req).toEqual({
      flash: 1,
      module: { hash, code: "export {}" },
      target: { file: "a.ts", export: "f" },
      args: [1],
      endpoints: { gpu: { id: "abc", name: "live-gpu", kind: "QB" } },
    });
    expect(isFunctionRequest(req)).toBe(true);
    expect(isFunctionRequest({ input: 1 })).toBe(false);
  });

  it.each([
    [null, /expected an object/],
    [{ flash: 2 }, /unsupported protocol version/],
    [{ flash: 1, module: { hash: "xyz" } }, /module.hash/],
    [{ flash: 1, module: { hash }, target: { file: "a.ts" } }, /target/],
    [{ flash: 1, module: { hash }, target: { file: "a", export: "b" }, args: {} }, /args/],
    [{ flash: 1, module: { hash }, target: { file: "a", export: "b" }, args: [], endpoints: { x: { id: 1 } } }, /endpoints.x/],
  ])("rejects %j", (value, message) => {
    expect(() => parseFunctionRequest(value)).toThrow(message);
  });

  it("parses responses and rejects things that are not one", () => {
    expect(parseFunctionResponse({ flash: 1, ok: true, result: 3, logs: [{ stream: "stdout", text: "hi" }, { bad: 1 }], durationMs: 2 })).toEqual({
      flash: 1,
      ok: true,
      result: 3,
      logs: [{ stream: "stdout", text: "hi" }],
      durationMs: 2,
    });
    expect(parseFunctionResponse({ flash: 1, ok: false, error: { kind: "weird", message: "m" } })).toMatchObject({
      ok: false,
      error: { kind: "runtime", name: "Error", message: "m" },
    });
    expect(() => parseFunctionResponse({ hello: 1 })).toThrow(/not a flash-ts function response/);
  });

  it("keeps the value a function threw when it was not an Error (null included), and nothing when there was none", () => {
    const failure = (error: Record<string, unknown>) => parseFunctionResponse({ flash: 1, ok: false, error: { kind: "function", name: "Error", message: "m", ...error }, logs: [], durationMs: 1 });
    expect(failure({ thrown: { code: 42 } })).toMatchObject({ error: { thrown: { code: 42 } } });
    const withNull = failure({ thrown: null });
    expect(!withNull.ok && "thrown" in withNull.error && withNull.error.thrown).toBe(null);
    const without = failure({});
    expect(!without.ok && "thrown" in without.error).toBe(false);
  });
});

describe("function protocol: runtime delivery", () => {
  const runtimeHash = sha256("runtime text");

  it("carries the caller's runtime reference (and its code) through parsing", () => {
    const base = { flash: 1, module: { hash }, target: { file: "a.ts", export: "f" }, args: [] };
    expect(parseFunctionRequest({ ...base, runtime: { version: "0.1.0", hash: runtimeHash } }).runtime).toEqual({ version: "0.1.0", hash: runtimeHash });
    expect(parseFunctionRequest({ ...base, runtime: { version: "0.1.0", hash: runtimeHash, gzip: "H4sI" } }).runtime).toEqual({
      version: "0.1.0",
      hash: runtimeHash,
      gzip: "H4sI",
    });
    expect(parseFunctionRequest(base).runtime).toBeUndefined();
  });

  it.each([
    [{ version: 1, hash: runtimeHash }, /runtime.version/],
    [{ version: "0.1.0", hash: "nope" }, /runtime.hash/],
    [{ version: "0.1.0", hash: runtimeHash, gzip: 3 }, /runtime.gzip/],
    ["0.1.0", /runtime must be/],
  ])("rejects the runtime reference %j", (runtime, message) => {
    expect(() => parseFunctionRequest({ flash: 1, module: { hash }, target: { file: "a", export: "b" }, args: [], runtime })).toThrow(message);
  });

  it.each(["runtime-missing", "runtime-mismatch", "unsupported-worker"] as const)("keeps the error kind %s in responses", (kind) => {
    expect(parseFunctionResponse({ flash: 1, ok: false, error: { kind, name: "X", message: "m" } })).toMatchObject({ ok: false, error: { kind } });
  });
});
