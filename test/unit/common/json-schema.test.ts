/** The shared JSON Schema helpers: reference names, resolution, path steps. */
import { describe, expect, it } from "vitest";
import { definitionName, jsonPathKey, resolveRef } from "../../../src/common/json-schema.js";
import type { JsonSchema } from "../../../src/common/json-schema.js";

describe("json-schema helpers", () => {
  it("reads definition names from component and $defs references only", () => {
    expect(definitionName("#/components/schemas/Page_User")).toBe("Page_User");
    expect(definitionName("#/$defs/Tree")).toBe("Tree");
    expect(definitionName("https://example.com/schema.json")).toBeUndefined();
  });

  it("resolves chains of references, and dangling or cyclic ones to {}", () => {
    const defs: Record<string, JsonSchema> = {
      A: { $ref: "#/components/schemas/B" },
      B: { type: "string" },
      Loop: { $ref: "#/components/schemas/Loop" },
    };
    expect(resolveRef({ $ref: "#/components/schemas/A" }, defs)).toEqual({ type: "string" });
    expect(resolveRef({ $ref: "#/components/schemas/Missing" }, defs)).toEqual({});
    expect(resolveRef({ $ref: "#/components/schemas/Loop" }, defs)).toEqual({});
    expect(resolveRef({ $ref: "#/components/schemas/toString" }, defs)).toEqual({});
    expect(resolveRef({ type: "number" }, defs)).toEqual({ type: "number" });
  });

  it("writes identifier keys with a dot and others quoted", () => {
    expect(jsonPathKey("name")).toBe(".name");
    expect(jsonPathKey("$id_2")).toBe(".$id_2");
    expect(jsonPathKey("odd key")).toBe('["odd key"]');
    expect(jsonPathKey("2x")).toBe('["2x"]');
  });
});
