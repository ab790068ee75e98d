/**
 * The validator on schemas the extractor really generates from the
 * type-schema fixture: a queue request's `input` and a GET route's query.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTypeSchemaExtractor } from "../../../src/discovery/type-schema/extractor.js";
import type { SchemaSet, TypeSchemaExtractor } from "../../../src/discovery/type-schema/extractor.js";
import { validateInput } from "../../../src/server/input-validation.js";
import { copyProject, target } from "../discovery/type-schema/helpers.js";

let extractor: TypeSchemaExtractor;
let set: SchemaSet;

beforeAll(() => {
  extractor = createTypeSchemaExtractor({ root: copyProject() });
  set = extractor.extract([target("workers/users.ts", "createUser"), target("workers/users.ts", "listUsers"), target("workers/kinds.ts", "everything")]);
});
afterAll(() => extractor.dispose());

describe("validating against generated schemas", () => {
  it("accepts the documented example and names each wrong field of a queue request's input", () => {
    const fn = set.functions["workers/users.ts#createUser"]!;
    const options = { definitions: set.definitions, rootPath: "$.input", reviveDates: true };
    const ok = validateInput(fn.input!, fn.example, options);
    expect(ok.ok).toBe(true);
    expect((ok as { value: { user: { createdAt: unknown } } }).value.user.createdAt).toBeInstanceOf(Date);
    const bad = validateInput(fn.input!, { user: { name: 7, role: "owner", tags: ["a", 2], createdAt: "soon" }, priority: 5 }, options);
    expect(bad.ok || bad.mismatches.map((m) => `${m.path}: ${m.message}`)).toEqual([
      "$.input.user.name: expected string, got number",
      '$.input.user.role: expected one of "admin", "member", got "owner"',
      "$.input.user.tags[1]: expected string, got number",
      '$.input.user.createdAt: expected a date-time string (ISO 8601, e.g. 2025-01-01T00:00:00Z), got "soon"',
      "$.input.priority: expected one of 0, 1, got 5",
    ]);
  });

  it("converts a GET route's query strings to the types its parameter declares", () => {
    const fn = set.functions["workers/users.ts#listUsers"]!;
    expect(validateInput(fn.input!, { page: "2", limit: "10" }, { definitions: set.definitions, coerceKeys: ["page", "limit"] })).toEqual({ ok: true, value: { page: "2", limit: 10 } });
  });

  it("passes every generated example of a large type", () => {
    const fn = set.functions["workers/kinds.ts#everything"]!;
    expect(validateInput(fn.input!, fn.example, { definitions: set.definitions })).toEqual({ ok: true, value: fn.example });
  });
});
