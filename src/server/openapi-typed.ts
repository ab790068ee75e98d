/**
 * The typed parts of an OpenAPI operation: request body, query and path
 * parameters and the success response, from a function's type schemas
 * (docs/type-schemas.md), by the dev server's input rules
 * (`request-schemas.ts`). `openapi.ts` uses them when the generation's
 * schemas are ready, and its untyped forms otherwise.
 */
import type { FunctionSchemas } from "../discovery/type-schema/index.js";
import { isRecord } from "../common/is-record.js";
import type { JsonSchema } from "../common/json-schema.js";
import type { JsonValue } from "../common/value-codec.js";
import { lbReadsBody } from "./request-input.js";
import { loadBalancedRequest, queueRequestSchema } from "./request-schemas.js";
import type { RouteInfo } from "./route-generation.js";

type OpenApiObject = Record<string, unknown>;

export interface TypedParts {
  parameters: OpenApiObject[];
  requestBody?: OpenApiObject;
  /** The 200 response, or undefined when there is none (an LB function that returns nothing answers 204). */
  ok?: OpenApiObject;
  /** Whether a free-form query map stands in for parameters the type does not name. */
  freeQuery: boolean;
}

const PATH_PARAM_DESCRIPTION = "Merged into the function's input (wins over body or query keys); converted where its type says number or boolean.";

const json = (schema: JsonSchema, example?: JsonValue): OpenApiObject => ({
  "application/json": { schema, ...(example !== undefined ? { example } : {}) },
});

/** The example's value for a key, when the example is an object that has it. */
function exampleAt(example: JsonValue | undefined, key: string): { example?: JsonValue } {
  return isRecord(example) && Object.hasOwn(example, key) ? { example: example[key] as JsonValue } : {};
}

/** The QB response: the job envelope with the function's output. */
export function queueResponseSchema(fn: FunctionSchemas): JsonSchema {
  return {
    type: "object",
    required: ["id", "status", "output"],
    properties: {
      id: { type: "string", description: "The Runpod job id (or a local id for local functions)." },
      status: { type: "string", const: "COMPLETED" },
      output: fn.returnsValue ? fn.output : { type: "null", description: "The function returns nothing." },
    },
  };
}

/** The typed request and response of one route (`pathParams`: the names in this path). */
export function typedParts(route: RouteInfo, pathParams: readonly string[], fn: FunctionSchemas, definitions: Readonly<Record<string, JsonSchema>>): TypedParts {
  if (route.kind === "QB") {
    const example: JsonValue = fn.input === null ? {} : { input: fn.example ?? {} };
    return {
      parameters: [],
      requestBody: { required: fn.input !== null && fn.inputRequired, content: json(queueRequestSchema(fn), example) },
      ok: { description: "The job completed", content: json(queueResponseSchema(fn)) },
      freeQuery: false,
    };
  }
  const request = loadBalancedRequest(fn, definitions, { method: route.method, pathParams });
  const parameters: OpenApiObject[] = request.path.map((p) => ({
    name: p.name,
    in: "path",
    required: true,
    schema: p.schema,
    description: PATH_PARAM_DESCRIPTION,
    ...exampleAt(fn.example, p.name),
  }));
  let requestBody: OpenApiObject | undefined;
  let freeQuery = false;
  if (!lbReadsBody(route.method)) {
    // A type without named properties (unknown, a record) takes any query parameter.
    freeQuery = fn.input !== null && request.query.length === 0;
    for (const q of request.query) {
      parameters.push({
        name: q.name,
        in: "query",
        required: q.required,
        schema: q.schema,
        ...(q.schema.description ? { description: q.schema.description } : {}),
        ...exampleAt(fn.example, q.name),
      });
    }
  } else {
    const path = new Set(pathParams);
    const example = isRecord(fn.example) ? (Object.fromEntries(Object.entries(fn.example).filter(([k]) => !path.has(k))) as JsonValue) : fn.example;
    requestBody = {
      required: false,
      description: pathParams.length > 0 ? "The path parameters are merged into this object." : "An empty body counts as {}.",
      content: json(request.body ?? {}, example ?? {}),
    };
  }
  return {
    parameters,
    ...(requestBody ? { requestBody } : {}),
    ...(fn.returnsValue ? { ok: { description: "The function's return value as JSON", content: json(fn.output) } } : {}),
    freeQuery,
  };
}
