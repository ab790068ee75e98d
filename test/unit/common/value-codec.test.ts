import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue, ValueCodecError } from "../../../src/common/value-codec.js";

const roundTrip = (value: unknown) => decodeValue(JSON.parse(JSON.stringify(encodeValue(value))));

describe("value codec", () => {
  it("round-trips values JSON cannot carry", () => {
    const date = new Date("2026-01-02T03:04:05.678Z");
    const value = {
      date,
      buffer: Buffer.from("héllo"),
      bytes: new Uint8Array([1, 2, 255]),
      map: new Map<unknown, unknown>([["a", 1], [2, new Set([3n])]]),
      set: new Set(["x", "y"]),
      big: 12345678901234567890n,
      missing: undefined,
      nan: NaN,
      inf: -Infinity,
      negZero: -0,
      nested: [{ deep: new Date(0) }],
    };
    const out = roundTrip(value) as typeof value;
    expect(out.date).toEqual(date);
    expect(Buffer.isBuffer(out.buffer)).toBe(true);
    expect(out.buffer.toString()).toBe("héllo");
    expect(out.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(out.bytes)).toBe(false);
    expect([...out.bytes]).toEqual([1, 2, 255]);
    expect(out.map.get("a")).toBe(1);
    expect(out.map.get(2)).toEqual(new Set([3n]));
    expect(out.set).toEqual(new Set(["x", "y"]));
    expect(out.big).toBe(12345678901234567890n);
    expect("missing" in out).toBe(true);
    expect(out.missing).toBeUndefined();
    expect(out.nan).toBeNaN();
    expect(out.inf).toBe(-Infinity);
    expect(Object.is(out.negZero, -0)).toBe(true);
    expect(out.nested[0]!.deep).toEqual(new Date(0));
  });

  it("keeps plain JSON as it is and escapes user objects that look like tags", () => {
    const plain = { a: [1, "b", null, true], c: { d: 2.5 } };
    expect(encodeValue(plain)).toEqual(plain);
    const tricky = { $flash: "date", v: "not a date" };
    expect(roundTrip(tricky)).toEqual(tricky);
  });

  it.each([
    ["a function property", { callback: () => 1 }, "result.callback is a function, which cannot be sent"],
    ["a symbol property", { tag: Symbol("s") }, "result.tag is a symbol, which cannot be sent"],
    ["a symbol in an array", { list: [1, Symbol("s")] }, "result.list[1] is a symbol, which cannot be sent"],
    ["a function as a map value", new Map([["k", () => 1]]), "result.<value 0> is a function, which cannot be sent"],
    ["a function itself", () => 1, "result is a function, which cannot be sent"],
  ])("rejects %s with an error naming its path", (_what, value, message) => {
    expect(() => encodeValue(value, "result")).toThrow(message);
  });

  it("names the root it is given, and `value` by default", () => {
    expect(() => encodeValue({ onDone: () => 1 }, "arguments[0]")).toThrow("arguments[0].onDone is a function, which cannot be sent");
    expect(() => encodeValue({ f: () => 1 })).toThrow("value.f is a function, which cannot be sent");
    expect(() => encodeValue({ f: () => 1 })).toThrow(ValueCodecError);
  });

  it("rejects cycles with the path", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeValue(cyclic, "result")).toThrow("result.self refers back to an enclosing value (a cycle), which cannot be sent");
  });

  it("rejects malformed tags", () => {
    expect(() => decodeValue({ $flash: "bigint", v: 3 })).toThrow(/malformed/);
    expect(() => decodeValue({ $flash: "nope" })).toThrow(/unknown/);
  });
});
