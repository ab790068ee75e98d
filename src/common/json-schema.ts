/**
 * The JSON Schema subset flash-ts generates from TypeScript types (draft
 * 2020-12, the dialect of OpenAPI 3.1; `discovery/type-schema/`) and
 * validates requests against (`server/input-validation.ts`). Only these
 * keywords are produced, and the validator checks exactly these. Shared
 * because discovery produces them and the server consumes them.
 * See docs/type-schemas.md.
 */

import type { JsonValue } from "./value-codec.js";

/** JSON Schema primitive type names. */
export type JsonTypeName = "string" | "number" | "integer" | "boolean" | "null" | "object" | "array";

/** One schema. `{}` accepts anything. */
export interface JsonSchema {
  $ref?: string;
  type?: JsonTypeName | JsonTypeName[];
  const?: JsonValue;
  enum?: JsonValue[];
  /** Only `date-time` is produced (for `Date`). */
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  minItems?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  /** `{ not: {} }` accepts nothing (TypeScript's `never`). */
  not?: JsonSchema;
  title?: string;
  description?: string;
  deprecated?: boolean;
  examples?: JsonValue[];
  /** Set on `{}` schemas that stand for a type with no JSON schema: why (e.g. "function", "unknown"). */
  "x-flash-any"?: string;
  /** The TypeScript type a schema was made from, where it is not obvious (e.g. "Date"). */
  "x-flash-type"?: string;
}

/** Where generated schemas refer to named types: `#/components/schemas/<name>`, as in an OpenAPI document. */
export const DEFINITIONS_PREFIX = "#/components/schemas/";

/** The definition name a `$ref` points at (`#/components/schemas/<name>` or `#/$defs/<name>`), else undefined. */
export function definitionName(ref: string): string | undefined {
  for (const prefix of [DEFINITIONS_PREFIX, "#/$defs/"]) {
    // Generated names use only [A-Za-z0-9._-], so no JSON Pointer escapes to undo.
    if (ref.startsWith(prefix)) return ref.slice(prefix.length);
  }
  return undefined;
}

/**
 * Follows `$ref`s into `definitions` until a schema without one. A reference
 * that points nowhere (or a chain longer than 32) resolves to `{}`, which
 * constrains nothing.
 */
export function resolveRef(schema: JsonSchema, definitions: Readonly<Record<string, JsonSchema>>): JsonSchema {
  let s = schema;
  for (let hops = 0; s.$ref !== undefined; hops++) {
    const name = definitionName(s.$ref);
    const target = name !== undefined && hops < 32 && Object.hasOwn(definitions, name) ? definitions[name] : undefined;
    if (!target) return {};
    s = target;
  }
  return s;
}

/** One step of a JSON path: `.name`, or `["odd key"]` when the key is not an identifier. */
export function jsonPathKey(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
