/**
 * Reading generated schemas: where they say "any" (for the docs and the
 * README's list of types that are not validated) and an example value (to
 * pre-fill the docs page's try-it form). Both follow `$ref`s into the
 * definitions, each definition at most once per walk, so recursive types end.
 */
import { definitionName, jsonPathKey } from "../../common/json-schema.js";
import type { JsonSchema, JsonTypeName } from "../../common/json-schema.js";
import type { JsonValue } from "../../common/value-codec.js";

/** A place in a function's input or output that is not validated, and why. */
export interface SchemaNote {
  /** JSON path in the value (`$.items[].cb`; `[]` is any array item, `.*` any extra key). */
  path: string;
  /** Why: "any", "unknown", "function", "Map", "class instance with methods or private state", … */
  reason: string;
}

const MAX_NOTES = 50;

/** Every `x-flash-any` reachable from `schema`, with its path. */
export function collectNotes(schema: JsonSchema, definitions: Record<string, JsonSchema>): SchemaNote[] {
  const notes: SchemaNote[] = [];
  const seen = new Set<string>();
  const walk = (s: JsonSchema, path: string): void => {
    if (notes.length >= MAX_NOTES) return;
    if (s["x-flash-any"] !== undefined) {
      notes.push({ path, reason: s["x-flash-any"] });
      return;
    }
    if (s.$ref !== undefined) {
      const name = definitionName(s.$ref);
      if (name === undefined || seen.has(name)) return;
      seen.add(name);
      const target = definitions[name];
      if (target) walk(target, path);
      return;
    }
    for (const [key, value] of Object.entries(s.properties ?? {})) walk(value, `${path}${jsonPathKey(key)}`);
    if (typeof s.additionalProperties === "object") walk(s.additionalProperties, `${path}.*`);
    s.prefixItems?.forEach((item, i) => walk(item, `${path}[${i}]`));
    if (typeof s.items === "object") walk(s.items, `${path}[]`);
    for (const member of s.anyOf ?? []) walk(member, path);
  };
  walk(schema, "$");
  return notes;
}


const EXAMPLE_DATE = "2025-01-01T00:00:00.000Z";

/**
 * A value that matches `schema`: enum/const values, one item per array,
 * every property (optional ones too, so the form shows them) except where
 * that would recurse into a definition already being expanded.
 */
export function exampleOf(schema: JsonSchema, definitions: Record<string, JsonSchema>): JsonValue {
  const expanding = new Set<string>();
  const example = (s: JsonSchema, depth: number): JsonValue | undefined => {
    if (depth > 12) return undefined;
    if (s.examples?.length) return s.examples[0]!;
    if (s.const !== undefined) return s.const;
    if (s.enum?.length) return s.enum[0]!;
    if (s.$ref !== undefined) {
      const name = definitionName(s.$ref);
      const target = name === undefined ? undefined : definitions[name];
      if (!target || expanding.has(name!)) return undefined;
      expanding.add(name!);
      try {
        return example(target, depth + 1);
      } finally {
        expanding.delete(name!);
      }
    }
    if (s.anyOf?.length) {
      for (const member of s.anyOf) {
        const value = example(member, depth + 1);
        if (value !== undefined && value !== null) return value;
      }
      return null;
    }
    const type = firstType(s.type);
    switch (type) {
      case "string":
        return s.format === "date-time" ? EXAMPLE_DATE : "string";
      case "number":
      case "integer":
        return 0;
      case "boolean":
        return true;
      case "null":
        return null;
      case "array": {
        if (s.prefixItems) return s.prefixItems.map((item) => example(item, depth + 1) ?? null);
        const item = typeof s.items === "object" ? example(s.items, depth + 1) : undefined;
        return item === undefined ? [] : [item];
      }
      case "object": {
        const out: [string, JsonValue][] = [];
        const required = new Set(s.required ?? []);
        for (const [key, value] of Object.entries(s.properties ?? {})) {
          const v = example(value, depth + 1);
          if (v !== undefined) out.push([key, v]);
          else if (required.has(key)) out.push([key, null]);
        }
        return Object.fromEntries(out); // a "__proto__" key stays a key
      }
      default:
        return s["x-flash-any"] !== undefined || Object.keys(s).length === 0 ? {} : undefined;
    }
  };
  return example(schema, 0) ?? {};
}

function firstType(type: JsonTypeName | JsonTypeName[] | undefined): JsonTypeName | undefined {
  if (Array.isArray(type)) return type.find((t) => t !== "null") ?? type[0];
  return type;
}

/** Names of the definitions `schemas` reach through `$ref`s, transitively. */
export function reachableDefinitions(schemas: readonly JsonSchema[], definitions: Record<string, JsonSchema>): Set<string> {
  const seen = new Set<string>();
  const walk = (s: JsonSchema): void => {
    if (s.$ref !== undefined) {
      const name = definitionName(s.$ref);
      if (name === undefined || seen.has(name) || !definitions[name]) return;
      seen.add(name);
      walk(definitions[name]);
      return;
    }
    for (const value of Object.values(s.properties ?? {})) walk(value);
    if (typeof s.additionalProperties === "object") walk(s.additionalProperties);
    s.prefixItems?.forEach(walk);
    if (typeof s.items === "object") walk(s.items);
    s.anyOf?.forEach(walk);
    if (s.not) walk(s.not);
  };
  schemas.forEach(walk);
  return seen;
}
