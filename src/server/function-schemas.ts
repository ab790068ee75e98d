/**
 * The type schemas of a route generation, as the dev server uses them: to
 * check a request's input (`typed-input.ts`) and to document the routes
 * (`openapi.ts`). They are computed off the request path, after the
 * generation is served (`dev/session-schemas.ts`), so a generation starts
 * without them: its requests are then served unvalidated, never held for
 * the compiler (docs/type-schemas.md, "Wiring"). A request uses the schemas
 * of the generation it was routed on, never those of a newer one.
 */
import type { FunctionSchemas, SchemaIssue } from "../discovery/type-schema/index.js";
import type { JsonSchema } from "../common/json-schema.js";
import type { RouteGeneration } from "./route-generation.js";

/** The schemas of one generation, or why there are none. */
export type GenerationSchemas =
  /** Turned off (`FLASH_SCHEMAS=0`), or no source. */
  | { status: "off" }
  /** Being computed: served unvalidated meanwhile. */
  | { status: "pending" }
  /** The extraction failed: served unvalidated. */
  | { status: "failed"; message: string }
  | {
      status: "ready";
      /** By function id. */
      functions: Readonly<Record<string, FunctionSchemas>>;
      /** Named types (`components.schemas`). */
      definitions: Readonly<Record<string, JsonSchema>>;
      /** Functions whose schemas could not be made (documented as "any"). */
      issues: readonly SchemaIssue[];
      /** Functions served without types in this generation, by id: why (e.g. their file failed to load and an older version is served). */
      untyped: Readonly<Record<string, string>>;
    };

export type ReadySchemas = Extract<GenerationSchemas, { status: "ready" }>;

/** Where the server finds a generation's schemas. */
export interface SchemaSource {
  forGeneration(generation: RouteGeneration): GenerationSchemas;
}

/** No schemas for any generation. */
export const NO_SCHEMAS: SchemaSource = { forGeneration: () => ({ status: "off" }) };

/** The OpenAPI document's own component names: generated type names must not take them. */
export const RESERVED_SCHEMA_NAMES: readonly string[] = ["Error", "QueueRequest", "QueueResponse"];

/** One function's schemas when its requests are checked against them; otherwise why not. */
export function typedFunction(schemas: GenerationSchemas, id: string): { fn: FunctionSchemas; schemas: ReadySchemas } | { untyped: string } {
  switch (schemas.status) {
    case "off":
      return { untyped: "type schemas are off (FLASH_SCHEMAS=0)" };
    case "pending":
      return { untyped: "the types are being computed; requests are not validated until they are ready" };
    case "failed":
      return { untyped: `the types could not be computed: ${schemas.message}` };
  }
  if (Object.hasOwn(schemas.untyped, id)) return { untyped: schemas.untyped[id]! };
  const fn = Object.hasOwn(schemas.functions, id) ? schemas.functions[id] : undefined;
  if (!fn) return { untyped: "no schema was computed for this function" };
  return { fn, schemas };
}
