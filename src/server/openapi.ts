/**
 * The OpenAPI 3.1 document of the dev server: the health routes and every
 * function route of a generation (aliases included), tagged per file as
 * `<prefix> [QB]` / `<prefix> [LB]` like Flash, with `x-flash-*` extensions
 * the /docs page uses to group and label routes. When the generation's type
 * schemas are ready, each function's request and response are typed from
 * its TypeScript signature, with its JSDoc (`openapi-typed.ts`); until then,
 * or for a function without usable types, they are documented as any JSON
 * and marked `x-flash-validated: false` with the reason.
 */
import { ERROR_STATUS } from "../common/errors.js";
import type { GenerationSchemas } from "./function-schemas.js";
import { typedFunction } from "./function-schemas.js";
import { typedParts } from "./openapi-typed.js";
import type { RouteGeneration, RouteInfo } from "./route-generation.js";
import { compilePath } from "./route-matcher.js";
import { lbReadsBody } from "./request-input.js";

/** A JSON object (the document is plain data). */
export type OpenApiObject = Record<string, unknown>;

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiOptions {
  /** @default "Flash Dev Server" */
  title?: string;
  /** The package version shown in `info.version`. */
  version: string;
  /** The generation's type schemas (or why there are none), noted as `x-flash-schemas`. Absent: untyped, no note. */
  schemas?: GenerationSchemas;
}

const ERROR_REF = { $ref: "#/components/responses/Error" };

const ERROR_DESCRIPTIONS: Record<string, string> = {
  "400": "INVALID_JSON: the body is not valid JSON",
  "404": "ROUTE_NOT_FOUND",
  "405": "METHOD_NOT_ALLOWED (see the Allow header)",
  "413": "BODY_TOO_LARGE",
  "415": "INVALID_BODY: the Content-Type cannot carry JSON (e.g. multipart)",
  "403": "FORBIDDEN: a cross-site browser request",
  "422": "INVALID_BODY: valid JSON of the wrong shape; INVALID_INPUT: the input does not match the function's parameter type (`mismatches` lists each by JSON path)",
  "500": "FUNCTION_ERROR (the function threw; with name, stack, logs) or INTERNAL",
  "502": "WORKER_UNREACHABLE, WORKER_CRASHED or UPSTREAM_ERROR",
  "503": "PROVISION_FAILED, FUNCTION_LOAD_FAILED or RELOAD_TIMEOUT",
  "504": "FUNCTION_TIMEOUT or UPSTREAM_TIMEOUT",
};

function errorResponses(codes: readonly string[]): OpenApiObject {
  return Object.fromEntries(codes.map((code) => [code, { ...ERROR_REF, description: ERROR_DESCRIPTIONS[code] }]));
}

const COMPONENTS: OpenApiObject = {
  schemas: {
    Error: {
      type: "object",
      required: ["error"],
      properties: {
        error: {
          type: "object",
          required: ["code", "message"],
          properties: {
            code: { type: "string", enum: Object.keys(ERROR_STATUS) },
            message: { type: "string" },
            hint: { type: "string" },
            name: { type: "string", description: "FUNCTION_ERROR: the error's class name" },
            stack: { type: "string", description: "FUNCTION_ERROR: the stack, pointing at your files" },
            logs: { description: "FUNCTION_ERROR: console output captured during the call" },
            jobId: { type: "string" },
            endpoint: { type: "string" },
          },
          additionalProperties: true,
        },
      },
    },
    QueueRequest: {
      type: "object",
      description: "The function receives `input` when the key is present, else the whole object.",
      properties: { input: { description: "The function's argument (any JSON value)." } },
      additionalProperties: true,
    },
    QueueResponse: {
      type: "object",
      required: ["id", "status", "output"],
      properties: {
        id: { type: "string", description: "The Runpod job id (or a local id for local functions)." },
        status: { type: "string", const: "COMPLETED" },
        output: { description: "The function's return value." },
      },
    },
  },
  responses: {
    Error: {
      description: "An error",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    },
  },
};

/** The file path without its extension, as route prefixes are built (`workers/gpu`). */
export function filePrefix(file: string): string {
  return file.replace(/\.(?:[cm]?[jt]s)$/, "");
}

/** The tag of a route: `<prefix> [QB]` or `<prefix> [LB]`. */
export function routeTag(route: RouteInfo): string {
  return `${filePrefix(route.file)} [${route.kind}]`;
}

function functionName(route: RouteInfo): string {
  return route.entry.method ? `${route.entry.export}.${route.entry.method}` : route.entry.export;
}

function operation(route: RouteInfo, path: string, aliasOf: string | undefined, operationId: string, schemas: GenerationSchemas | undefined): OpenApiObject {
  const pattern = compilePath(path);
  const typed = schemas ? typedFunction(schemas, route.entry.id) : undefined;
  const fn = typed && "fn" in typed ? typed.fn : undefined;
  const runs =
    `Runs \`${functionName(route)}\` from \`${route.file}\` on ${route.local ? "the dev server (local)" : `\`${route.endpointName}\``}.` +
    (aliasOf ? ` Alias of \`${aliasOf}\`.` : "");
  const op: OpenApiObject = {
    tags: [routeTag(route)],
    summary: fn?.summary ?? functionName(route),
    description: fn?.description ? `${fn.description}\n\n${runs}` : runs,
    operationId,
    "x-flash-function": {
      id: route.entry.id,
      file: route.file,
      export: route.entry.export,
      ...(route.entry.method ? { method: route.entry.method } : {}),
      kind: route.kind,
      endpoint: route.endpointName,
      local: route.local,
    },
  };
  if (aliasOf) op["x-flash-alias-of"] = aliasOf;
  if (typed && "fn" in typed) {
    const parts = typedParts(route, pattern.params, typed.fn, typed.schemas.definitions);
    const parameters = [...parts.parameters, ...(parts.freeQuery ? [FREE_QUERY] : [])];
    if (parameters.length > 0) op.parameters = parameters;
    if (parts.requestBody) op.requestBody = parts.requestBody;
    const errors = route.kind === "QB" || lbReadsBody(route.method) ? BODY_ERRORS : ["422", "500", "502", "503", "504"];
    op.responses = {
      ...(parts.ok ? { "200": parts.ok } : {}),
      ...(route.kind === "LB" ? { "204": { description: "The function returned undefined" } } : {}),
      ...errorResponses(errors),
    };
    op["x-flash-validated"] = true;
    if (typed.fn.notes.input.length > 0) op["x-flash-not-validated"] = typed.fn.notes.input;
    return op;
  }
  if (typed) {
    op["x-flash-validated"] = false;
    op["x-flash-untyped"] = typed.untyped;
  }
  untypedParts(op, route, pattern.params);
  return op;
}

/** Every query parameter as a string field of the input. */
const FREE_QUERY: OpenApiObject = {
  name: "query",
  in: "query",
  required: false,
  description: "Every query parameter becomes a string field of the input (a repeated key keeps its last value).",
  schema: { type: "object", additionalProperties: { type: "string" } },
  style: "form",
  explode: true,
};

const BODY_ERRORS = ["400", "413", "415", "422", "500", "502", "503", "504"];

/** Request and responses documented as any JSON (no schemas, or not for this function). */
function untypedParts(op: OpenApiObject, route: RouteInfo, pathParams: readonly string[]): void {
  const parameters: OpenApiObject[] = pathParams.map((name) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
    description: "Merged into the function's input (wins over body or query keys).",
  }));
  if (route.kind === "QB") {
    op.requestBody = {
      required: false,
      content: { "application/json": { schema: { $ref: "#/components/schemas/QueueRequest" }, example: { input: {} } } },
    };
    op.responses = {
      "200": { description: "The job completed", content: { "application/json": { schema: { $ref: "#/components/schemas/QueueResponse" } } } },
      ...errorResponses(BODY_ERRORS),
    };
  } else if (lbReadsBody(route.method)) {
    op.requestBody = {
      required: false,
      description: "A JSON object (an empty body counts as {}); path parameters are merged in.",
      content: {
        "application/json": { schema: route.method === "DELETE" ? {} : { type: "object", additionalProperties: true }, example: {} },
      },
    };
    op.responses = lbResponses(BODY_ERRORS);
  } else {
    parameters.push(FREE_QUERY);
    op.responses = lbResponses(["500", "502", "503", "504"]);
  }
  if (parameters.length > 0) op.parameters = parameters;
}

function lbResponses(errors: readonly string[]): OpenApiObject {
  return {
    "200": { description: "The function's return value as JSON", content: { "application/json": { schema: {} } } },
    "204": { description: "The function returned undefined" },
    ...errorResponses(errors),
  };
}

function healthPaths(): Record<string, OpenApiObject> {
  const op = (summary: string, example: unknown, operationId: string): OpenApiObject => ({
    get: {
      tags: ["health"],
      summary,
      operationId,
      responses: { "200": { description: "OK", content: { "application/json": { schema: { type: "object" }, example } } } },
    },
  });
  return {
    "/": op("Server info", { message: "Flash Dev Server", docs: "/docs" }, "root"),
    "/ping": op("Health check", { status: "healthy" }, "ping"),
  };
}

/** The document-level note on the schemas: their state, for which generation, and what went wrong. */
function schemasNote(schemas: GenerationSchemas, generation: RouteGeneration | undefined): OpenApiObject {
  return {
    status: schemas.status,
    ...(generation ? { generation: generation.id } : {}),
    ...(schemas.status === "failed" ? { message: schemas.message } : {}),
    ...(schemas.status === "ready" && schemas.issues.length > 0 ? { issues: schemas.issues } : {}),
  };
}

/** Builds the OpenAPI 3.1 document for a generation (health routes only when there is none). */
export function buildOpenApiDocument(generation: RouteGeneration | undefined, options: OpenApiOptions): OpenApiObject {
  const schemas = options.schemas;
  const paths: Record<string, OpenApiObject> = healthPaths();
  const tags = new Map<string, OpenApiObject>([["health", { name: "health", description: "Dev server health" }]]);
  const usedIds = new Set<string>(["root", "ping"]);
  const uniqueId = (base: string): string => {
    let id = base.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "") || "op";
    for (let n = 2; usedIds.has(id); n++) id = `${id.replace(/_\d+$/, "")}_${n}`;
    usedIds.add(id);
    return id;
  };

  for (const route of generation?.routes ?? []) {
    const tag = routeTag(route);
    if (!tags.has(tag)) {
      tags.set(tag, { name: tag, description: `${route.file} (${route.kind === "QB" ? "queue-based" : "load-balanced"})`, "x-flash-file": route.file });
    }
    const base = `${route.entry.id}_${route.method.toLowerCase()}`;
    const primary = compilePath(route.path).openapiPath;
    const all = [{ path: route.path, aliasOf: undefined as string | undefined }, ...route.aliases.map((a) => ({ path: a, aliasOf: primary }))];
    for (const { path, aliasOf } of all) {
      const key = compilePath(path).openapiPath;
      const item = (paths[key] ??= {});
      item[route.method.toLowerCase()] = operation(route, path, aliasOf, uniqueId(aliasOf ? `${base}_alias` : base), schemas);
    }
  }

  const doc: OpenApiObject = {
    openapi: "3.1.0",
    info: {
      title: options.title ?? "Flash Dev Server",
      version: options.version,
      description: "Built by `flash dev`. Each remote function is a route; use Try it to call one.",
    },
    tags: [...tags.values()],
    paths,
    // The named types of the parameters and results; the extractor keeps clear of the names used here.
    components:
      schemas?.status === "ready" ? { ...COMPONENTS, schemas: { ...(COMPONENTS.schemas as OpenApiObject), ...schemas.definitions } } : COMPONENTS,
  };
  if (generation) {
    doc["x-flash-generation"] = generation.id;
    if (generation.issues.length > 0) doc["x-flash-issues"] = generation.issues;
  }
  if (schemas) doc["x-flash-schemas"] = schemasNote(schemas, generation);
  return doc;
}
