/**
 * The input validator: every mismatch by JSON path, union branches chosen
 * sensibly, conversions (dates, query strings), and bounded work on
 * hostile input.
 */
import { describe, expect, it } from "vitest";
import { invalidInputError, validateInput } from "../../../src/server/input-validation.js";
import type { JsonSchema } from "../../../src/common/json-schema.js";
import { toErrorBody } from "../../../src/common/errors.js";

const REF = "#/components/schemas/";

const definitions: Record<string, JsonSchema> = {
  Item: { title: "Item", type: "object", properties: { name: { type: "string" }, qty: { type: "number" } }, required: ["name"] },
  Color: { title: "Color", type: "string", enum: ["red", "green"] },
  Tree: { title: "Tree", type: "object", properties: { value: { type: "number" }, children: { type: "array", items: { $ref: `${REF}Tree` } } }, required: ["value", "children"] },
  Shape: {
    title: "Shape",
    anyOf: [
      { type: "object", properties: { kind: { type: "string", const: "circle" }, r: { type: "number" } }, required: ["kind", "r"] },
      { type: "object", properties: { kind: { type: "string", const: "square" }, side: { type: "number" } }, required: ["kind", "side"] },
    ],
  },
};

const order: JsonSchema = {
  type: "object",
  properties: {
    items: { type: "array", items: { $ref: `${REF}Item` } },
    color: { $ref: `${REF}Color` },
    note: { type: ["string", "null"] },
    at: { type: "string", format: "date-time", "x-flash-type": "Date" },
    pair: { type: "array", prefixItems: [{ type: "string" }, { type: "number" }], minItems: 2, maxItems: 2, items: false },
    extra: { type: "object", additionalProperties: { type: "boolean" } },
    anything: { "x-flash-any": "unknown" },
  },
  required: ["items", "color"],
};

function mismatches(schema: JsonSchema, value: unknown, options: Parameters<typeof validateInput>[2] = {}): string[] {
  const result = validateInput(schema, value, { definitions, ...options });
  return result.ok ? [] : result.mismatches.map((m) => `${m.path}: ${m.message}`);
}

describe("validateInput", () => {
  it("accepts a matching value and returns it unchanged", () => {
    const value = { items: [{ name: "a", qty: 1 }], color: "red", note: null, at: "2025-01-01T10:00:00Z", pair: ["x", 1], extra: { a: true }, anything: () => 1 };
    const result = validateInput(order, value, { definitions });
    expect(result).toEqual({ ok: true, value });
    expect(result.ok && result.value).toBe(value);
  });

  it("lists every mismatch by JSON path", () => {
    const value = { items: [{ name: "a" }, { name: "b" }, { name: 3, qty: "x" }], color: "blue", note: 5, at: "yesterday", pair: ["x"], extra: { a: "no", "odd key": 1 } };
    expect(mismatches(order, value, { rootPath: "$.input" })).toEqual([
      "$.input.items[2].name: expected string, got number",
      "$.input.items[2].qty: expected number, got string",
      '$.input.color: expected one of "red", "green", got "blue"',
      "$.input.note: expected string or null, got number",
      '$.input.at: expected a date-time string (ISO 8601, e.g. 2025-01-01T00:00:00Z), got "yesterday"',
      "$.input.pair: expected at least 2 items, got 1",
      "$.input.extra.a: expected boolean, got string",
      '$.input.extra["odd key"]: expected boolean, got number',
    ]);
  });

  it("names missing required properties and wrong top-level types", () => {
    expect(mismatches(order, {})).toEqual(["$.items: missing (expected array)", "$.color: missing (expected Color)"]);
    expect(mismatches(order, [1])).toEqual(["$: expected object, got array"]);
    expect(mismatches({ type: "number" }, "3")).toEqual(['$: expected number, got string']);
  });

  it("checks tuples, integers, consts, never and refused extra properties", () => {
    const tuple: JsonSchema = { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], minItems: 1, maxItems: 2, items: false };
    expect(mismatches(tuple, ["a", 1.5, true])).toEqual(["$: expected at most 2 items, got 3", "$[1]: expected integer, got number"]);
    expect(mismatches({ type: "boolean", const: true }, false)).toEqual(["$: expected true, got false"]);
    expect(mismatches({ not: {} }, 1)).toEqual(["$: expected nothing (never), got number"]);
    expect(mismatches({ type: "object", properties: { a: { type: "number" } }, additionalProperties: false }, { a: 1, b: 2 })).toEqual(["$.b: unexpected property"]);
  });

  it("reports the union branch a value was meant for (by its discriminator), else what was expected", () => {
    const shape: JsonSchema = { $ref: `${REF}Shape` };
    expect(mismatches(shape, { kind: "circle", r: 1 })).toEqual([]);
    expect(mismatches(shape, { kind: "square", side: "big" })).toEqual(["$.side: expected number, got string"]);
    expect(mismatches(shape, { kind: "triangle" })).toEqual(['$.kind: expected one of "circle", "square", got "triangle"']);
    expect(mismatches(shape, { r: 1 })).toEqual(['$.kind: missing (expected one of "circle", "square")']);
    expect(mismatches({ anyOf: [{ type: "object", required: ["a"] }, { type: "object", required: ["b"] }] }, {})).toEqual(["$: expected object, got object"]);
    expect(mismatches({ anyOf: [{ $ref: `${REF}Item` }, { type: "null" }] }, "x")).toEqual(['$: expected Item or null, got "x"']);
    // One branch admits the type: its mismatches are the useful ones.
    expect(mismatches({ anyOf: [{ $ref: `${REF}Item` }, { type: "string" }] }, { qty: 1 })).toEqual(["$.name: missing (expected string)"]);
  });

  it("follows recursive references", () => {
    const tree = { value: 1, children: [{ value: 2, children: [{ value: "3", children: [] }] }] };
    expect(mismatches({ $ref: `${REF}Tree` }, tree)).toEqual(["$.children[0].children[0].value: expected number, got string"]);
  });

  it("stops listing at maxMismatches and says the list is cut", () => {
    const result = validateInput({ type: "array", items: { type: "string" } }, [1, 2, 3, 4, 5], { maxMismatches: 2 });
    expect(result).toEqual({
      ok: false,
      truncated: true,
      mismatches: [
        { path: "$[0]", message: "expected string, got number" },
        { path: "$[1]", message: "expected string, got number" },
      ],
    });
  });

  it("turns date-time strings into Dates where the type is Date, when asked", () => {
    const schema: JsonSchema = { type: "object", properties: { at: { type: "string", format: "date-time", "x-flash-type": "Date" }, list: { type: "array", items: { type: "string", format: "date-time", "x-flash-type": "Date" } } } };
    const value = { at: "2025-01-01T10:00:00.000Z", list: ["2025-02-01T00:00:00Z"], other: 1 };
    const result = validateInput(schema, value, { reviveDates: true });
    expect(result.ok).toBe(true);
    const revived = (result as { value: { at: Date; list: Date[]; other: number } }).value;
    expect(revived.at).toEqual(new Date("2025-01-01T10:00:00.000Z"));
    expect(revived.list[0]).toEqual(new Date("2025-02-01T00:00:00Z"));
    expect(revived.other).toBe(1);
    expect(value.at).toBe("2025-01-01T10:00:00.000Z"); // the input itself is not modified
  });

  it("converts query and path strings to the number, boolean or null the type asks for, only for the keys named", () => {
    const schema: JsonSchema = {
      type: "object",
      properties: { limit: { type: "number" }, all: { type: "boolean" }, cursor: { type: ["string", "null"] }, id: { type: "number" }, body: { type: "number" } },
    };
    const result = validateInput(schema, { limit: "20", all: "true", cursor: "null", id: "7", body: "3" }, { coerceKeys: ["limit", "all", "cursor", "id"] });
    expect(result).toEqual({ ok: false, truncated: false, mismatches: [{ path: "$.body", message: "expected number, got string" }] });
    const ok = validateInput(schema, { limit: "20", all: "false", cursor: "null", id: "7" }, { coerceKeys: ["limit", "all", "cursor", "id"] });
    // A string-or-null keeps the text "null": the type takes strings.
    expect(ok).toEqual({ ok: true, value: { limit: 20, all: false, cursor: "null", id: 7 } });
    expect(mismatches(schema, { limit: "twenty" }, { coerceKeys: ["limit"] })).toEqual(['$.limit: expected number, got "twenty"']);
  });

  it("treats a __proto__ key as data and never reads schemas off Object.prototype", () => {
    const value = JSON.parse('{"__proto__": {"x": 1}, "constructor": 5, "n": "1"}') as Record<string, unknown>;
    const schema: JsonSchema = { type: "object", properties: { n: { type: "number" } }, additionalProperties: { type: "object" } };
    expect(mismatches(schema, value)).toEqual(["$.constructor: expected object, got number", "$.n: expected number, got string"]);
    const coerced = validateInput({ type: "object", properties: { __proto__: { type: "number" } } as Record<string, JsonSchema> }, JSON.parse('{"__proto__": "2"}'), { coerceKeys: ["__proto__"] });
    expect(coerced.ok).toBe(true);
    expect(Object.getPrototypeOf((coerced as { value: object }).value)).toBe(Object.prototype);
  });
});

describe("bounded work on hostile input", () => {
  it("refuses a value nested deeper than maxDepth without recursing into it", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(validateInput({ type: "array", items: {} }, deep)).toEqual({ ok: false, truncated: true, mismatches: [{ path: "$", message: "nested deeper than 512 levels" }] });
  });

  it("gives up with a clear mismatch when nested unions would need too many readings", () => {
    // Each level is a union of two object shapes that differ only deep down: every level doubles the work.
    const defs: Record<string, JsonSchema> = {
      Node: {
        anyOf: [
          { type: "object", properties: { next: { $ref: `${REF}Node` }, end: { type: "string" } } },
          { type: "object", properties: { next: { $ref: `${REF}Node` }, end: { type: "number" } } },
        ],
      },
    };
    let value: Record<string, unknown> = { end: true };
    for (let i = 0; i < 20; i++) value = { next: value };
    const result = validateInput({ $ref: `${REF}Node` }, value, { definitions: defs });
    expect(result.ok).toBe(false);
    expect(result.ok || result.mismatches.at(-1)).toEqual({ path: "$", message: "too complex to check against the parameter type (its unions allow too many readings)" });
  });
});

describe("invalidInputError", () => {
  it("is a 422 INVALID_INPUT that lists each mismatch", () => {
    const result = validateInput(order, { items: [{ name: 1 }], color: "red" }, { definitions, rootPath: "$.input" });
    if (result.ok) throw new Error("expected a mismatch");
    const error = invalidInputError(result, "workers/orders.ts#place");
    expect(error.status).toBe(422);
    expect(toErrorBody(error)).toEqual({
      error: {
        code: "INVALID_INPUT",
        message: "The input does not match the parameter type of workers/orders.ts#place: $.input.items[0].name: expected string, got number",
        hint: "Fix the listed fields; GET /docs shows the expected shape with an example.",
        mismatches: [{ path: "$.input.items[0].name", message: "expected string, got number" }],
      },
    });
  });
});
