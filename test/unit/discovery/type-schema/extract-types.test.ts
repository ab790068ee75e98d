/**
 * TypeScript types → JSON Schema, read by the real compiler from the fixture
 * project (test/fixtures/type-schema/project): every kind of type the
 * extractor handles, and the ones it documents as "any".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTypeSchemaExtractor } from "../../../../src/discovery/type-schema/extractor.js";
import type { SchemaSet, TypeSchemaExtractor } from "../../../../src/discovery/type-schema/extractor.js";
import { copyProject, REF, target } from "./helpers.js";

let extractor: TypeSchemaExtractor;
let set: SchemaSet;

beforeAll(() => {
  extractor = createTypeSchemaExtractor({ root: copyProject() });
  set = extractor.extract([
    target("workers/kinds.ts", "everything"),
    target("workers/users.ts", "createUser"),
    target("workers/users.ts", "listUsers"),
    target("workers/users.ts", "configure"),
    target("workers/opaque.ts", "opaque"),
    target("workers/opaque.ts", "needsMethod"),
    target("workers/opaque.ts", "generic"),
    target("workers/edge.ts", "deep"),
    target("workers/edge.ts", "overloaded"),
    target("workers/edge.ts", "oddKeys"),
  ]);
});
afterAll(() => extractor.dispose());

const prop = (defName: string, name: string): unknown => set.definitions[defName]?.properties?.[name];

describe("primitives, literals and unions", () => {
  it("maps primitives, null and optional properties", () => {
    const everything = set.definitions.Everything!;
    expect(set.functions["workers/kinds.ts#everything"]!.input).toEqual({ $ref: `${REF}Everything` });
    expect(prop("Everything", "text")).toEqual({ type: "string" });
    expect(prop("Everything", "count")).toEqual({ type: "number" });
    expect(prop("Everything", "flag")).toEqual({ type: "boolean" });
    expect(prop("Everything", "nothing")).toEqual({ type: "null" });
    // `maybe?: number` and `orUndefined: string | undefined` may both be left out of JSON.
    expect(prop("Everything", "maybe")).toEqual({ type: "number" });
    expect(prop("Everything", "orUndefined")).toEqual({ type: "string" });
    expect(everything.required).not.toContain("maybe");
    expect(everything.required).not.toContain("orUndefined");
    expect(everything.required).toContain("text");
  });

  it("maps literal unions to enums, mixed unions to type lists, and a nullable union folds null in", () => {
    expect(set.definitions.Color).toEqual({ title: "Color", type: "string", enum: ["red", "green", "blue"] });
    expect(prop("Everything", "color")).toEqual({ $ref: `${REF}Color` });
    expect(prop("Everything", "level")).toEqual({ type: "number", enum: [1, 2, 3] });
    expect(prop("Everything", "mixed")).toEqual({ type: ["string", "number"] });
    expect(prop("Everything", "nullableColor")).toEqual({ type: ["string", "null"], enum: ["red", "green", "blue", null] });
    expect(prop("Address", "zip")).toEqual({ type: ["string", "null"] });
  });

  it("sends branded primitives and template literal types as strings", () => {
    expect(prop("Everything", "id")).toEqual({ type: "string" });
    expect(prop("Everything", "template")).toEqual({ type: "string" });
  });
});

describe("arrays, tuples and records", () => {
  it("maps arrays (readonly too) and nested arrays", () => {
    expect(prop("Everything", "matrix")).toEqual({ type: "array", items: { type: "array", items: { type: "number" } } });
    expect(prop("Everything", "readonlyList")).toEqual({ type: "array", items: { type: "string" } });
  });

  it("maps tuples with prefixItems, optional elements and rest elements", () => {
    expect(prop("Everything", "pair")).toEqual({ type: "array", prefixItems: [{ type: "string" }, { type: "number" }], minItems: 2, maxItems: 2, items: false });
    expect(prop("Everything", "optionalTail")).toEqual({ type: "array", prefixItems: [{ type: "string" }, { type: "number" }], minItems: 1, maxItems: 2, items: false });
    expect(prop("Everything", "rest")).toEqual({ type: "array", prefixItems: [{ type: "string" }], minItems: 1, items: { type: "number" } });
  });

  it("maps records and index signatures to additionalProperties, and finite-key records to properties", () => {
    expect(prop("Everything", "scores")).toEqual({ type: "object", additionalProperties: { type: "number" } });
    expect(prop("Everything", "lookup")).toEqual({ type: "object", properties: { fixed: { type: "boolean" } }, required: ["fixed"], additionalProperties: { type: "boolean" } });
    expect(prop("Everything", "keyed")).toEqual({ type: "object", properties: { a: { type: "string" }, b: { type: "string" } }, required: ["a", "b"] });
  });
});

describe("named types", () => {
  it("defines interfaces imported from other files once and refers to them, with their JSDoc", () => {
    expect(set.functions["workers/users.ts#createUser"]!.output).toEqual({ $ref: `${REF}User` });
    const user = set.definitions.User!;
    expect(user).toMatchObject({ title: "User", type: "object", description: "A registered user.", required: ["id", "name", "role", "tags", "createdAt"] });
    expect(user.properties!.id).toEqual({ type: "string", description: "Server-assigned id." });
    expect(user.properties!.address).toEqual({ $ref: `${REF}Address` });
    expect(user.properties!.legacy).toEqual({ type: "boolean", deprecated: true });
    expect(set.definitions.Address).toEqual({
      title: "Address",
      type: "object",
      properties: { street: { type: "string" }, city: { type: "string" }, zip: { type: ["string", "null"] } },
      required: ["street", "city", "zip"],
    });
  });

  it("maps string and numeric enums", () => {
    expect(set.definitions.Role).toEqual({ title: "Role", type: "string", enum: ["admin", "member"], description: "What a user may do." });
    expect(set.definitions.Priority).toEqual({ title: "Priority", type: "number", enum: [0, 1] });
    expect(set.definitions.User!.properties!.role).toEqual({ $ref: `${REF}Role` });
  });

  it("maps Date to a date-time string", () => {
    expect(set.definitions.User!.properties!.createdAt).toEqual({ type: "string", format: "date-time", "x-flash-type": "Date" });
  });

  it("names instantiated generics by their arguments and inlines library mapped types", () => {
    expect(set.functions["workers/users.ts#listUsers"]!.output).toEqual({ $ref: `${REF}Page_User` });
    expect(set.definitions.Page_User).toEqual({
      title: "Page_User",
      type: "object",
      properties: { items: { type: "array", items: { $ref: `${REF}User` } }, next: { type: ["string", "null"] }, total: { type: "number" } },
      required: ["items", "next", "total"],
    });
    expect(set.functions["workers/users.ts#configure"]!.output).toEqual({ $ref: `${REF}Result_number` });
    expect(set.definitions.Result_number!.anyOf).toEqual([
      { type: "object", properties: { ok: { type: "boolean", const: true }, value: { type: "number" } }, required: ["ok", "value"] },
      { type: "object", properties: { ok: { type: "boolean", const: false }, error: { type: "string" } }, required: ["ok", "error"] },
    ]);
    // Omit<User, "id"> is the library's mapped type: inlined, with the remaining properties.
    const user = set.functions["workers/users.ts#createUser"]!.input!.properties!.user!;
    expect(user.type).toBe("object");
    expect(Object.keys(user.properties!)).toEqual(["name", "email", "role", "tags", "createdAt", "address", "legacy"]);
  });

  it("reads types from a package's .d.ts", () => {
    expect(set.functions["workers/users.ts#configure"]!.input!.properties!.options).toEqual({ $ref: `${REF}LibOptions` });
    expect(set.definitions.LibOptions).toEqual({
      title: "LibOptions",
      type: "object",
      description: "Options of the library.",
      properties: { level: { type: "string", enum: ["low", "high"] }, retries: { type: "number" } },
      required: ["level"],
    });
  });

  it("ends recursive types with a $ref to themselves", () => {
    expect(set.definitions.TreeNode).toEqual({
      title: "TreeNode",
      type: "object",
      properties: { value: { type: "number" }, children: { type: "array", items: { $ref: `${REF}TreeNode` } } },
      required: ["value", "children"],
    });
    expect(set.definitions.Json!.anyOf).toEqual(
      expect.arrayContaining([
        { type: "array", items: { $ref: `${REF}Json` } },
        { type: "object", additionalProperties: { $ref: `${REF}Json` } },
        { type: "string" },
        { type: "number" },
        { type: "boolean" },
        { type: "null" },
      ]),
    );
  });

  it("ends an endless generic expansion at the depth limit, as any", () => {
    const fn = set.functions["workers/edge.ts#deep"]!;
    expect(fn.input).toEqual({ $ref: `${REF}Deep_string` });
    expect(set.definitions.Deep_string!.properties!.next).toEqual({ $ref: `${REF}Deep_stringList` });
    // Each level is its own definition (the label is shortened past a few levels; the type is not confused with the last).
    expect(set.definitions.Deep_stringList!.properties!.value).toEqual({ type: "array", items: { type: "string" } });
    expect(fn.notes.input.length).toBeGreaterThan(0);
    expect(new Set(fn.notes.input.map((n) => n.reason))).toEqual(new Set(["nested too deeply"]));
    const deepDefs = Object.entries(set.definitions).filter(([n]) => n.startsWith("Deep"));
    expect(deepDefs.length).toBeLessThan(70);
    expect(deepDefs.every(([name, d]) => d.properties?.next?.$ref !== `${REF}${name}`)).toBe(true);
  });

  it("keeps property names that mean something to JavaScript objects as plain keys", () => {
    const fn = set.functions["workers/edge.ts#oddKeys"]!;
    expect(Object.keys(fn.input!.properties!)).toEqual(["__proto__", "odd key", "constructor"]);
    expect(Object.getPrototypeOf(fn.input!.properties)).toBe(Object.prototype);
    expect(Object.keys(fn.example as object)).toEqual(["__proto__", "odd key", "constructor"]);
  });

  it("describes the last signature of an overloaded function", () => {
    expect(set.functions["workers/edge.ts#overloaded"]!.input).toEqual({ type: "object", properties: { a: { type: ["string", "number"] } }, required: ["a"] });
  });

  it("uses a generic parameter's constraint", () => {
    expect(set.functions["workers/opaque.ts#generic"]!.input).toEqual({ type: "object", properties: { id: { type: "string" } }, required: ["id"] });
  });
});

describe("types with no JSON schema become any", () => {
  it("marks any, unknown, bigint, symbol, built-ins and stateful classes, and drops optional functions", () => {
    const input = set.functions["workers/opaque.ts#opaque"]!.input!;
    expect(input.properties!.anything).toEqual({ "x-flash-any": "any" });
    expect(input.properties!.something).toEqual({ "x-flash-any": "unknown" });
    expect(input.properties!.map).toEqual({ "x-flash-any": "Map" });
    expect(input.properties!.set).toEqual({ "x-flash-any": "Set" });
    expect(input.properties!.bytes).toEqual({ "x-flash-any": "Uint8Array" });
    expect(input.properties!.pattern).toEqual({ "x-flash-any": "RegExp" });
    expect(input.properties!.symbol).toEqual({ "x-flash-any": "symbol" });
    expect(input.properties).not.toHaveProperty("callback");
    expect(set.definitions.Counter).toEqual({ title: "Counter", "x-flash-any": "class instance with methods or private state" });
    // A class with public data only is a plain object on the wire.
    expect(set.definitions.PlainPoint).toEqual({ title: "PlainPoint", type: "object", properties: { x: { type: "number" }, y: { type: "number" } }, required: ["x", "y"] });
    expect(prop("Everything", "big")).toEqual({ "x-flash-any": "bigint" });
  });

  it("lists where a function's input is not validated, through definitions", () => {
    expect(set.functions["workers/opaque.ts#opaque"]!.notes.input).toEqual([
      { path: "$.anything", reason: "any" },
      { path: "$.something", reason: "unknown" },
      { path: "$.counter", reason: "class instance with methods or private state" },
      { path: "$.map", reason: "Map" },
      { path: "$.set", reason: "Set" },
      { path: "$.bytes", reason: "Uint8Array" },
      { path: "$.pattern", reason: "RegExp" },
      { path: "$.symbol", reason: "symbol" },
    ]);
    expect(set.functions["workers/kinds.ts#everything"]!.notes.input).toEqual([{ path: "$.big", reason: "bigint" }]);
  });

  it("gives up an object with a required method (JSON cannot carry it)", () => {
    expect(set.functions["workers/opaque.ts#needsMethod"]!.input).toEqual({ "x-flash-any": 'has a method or function property "greet"' });
  });
});
