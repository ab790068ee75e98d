/**
 * Request and response schemas of remote functions, from their TypeScript
 * types, computed in a worker thread without running user code.
 *
 *   const schemas = createTypeSchemaService({ root, reservedNames: ["Error"] });
 *   const outcome = await schemas.extract(manifest.functions.map(({ id, file, export: name, method }) => ({ id, file, export: name, ...(method ? { method } : {}) })));
 *   if (outcome.status === "done") use(outcome.set.functions[id], outcome.set.definitions);
 *
 * This entry point does not load the TypeScript compiler (only the thread
 * does); `./extractor.js` is the synchronous core, for tests and benchmarks.
 * How the schemas appear in requests (the dev server's input rules) is
 * `server/request-schemas.ts`.
 * See docs/type-schemas.md.
 */
export { createTypeSchemaService } from "./schema-service.js";
export type { ExtractOutcome, TypeSchemaService, TypeSchemaServiceOptions } from "./schema-service.js";
export type { ExtractOptions, FunctionSchemas, SchemaIssue, SchemaSet, SchemaTarget } from "./extractor.js";
export type { SchemaNote } from "./schema-walk.js";
export type { ProgramStats } from "./program-host.js";
export { DEFINITIONS_PREFIX } from "../../common/json-schema.js";
export type { JsonSchema, JsonTypeName } from "../../common/json-schema.js";
