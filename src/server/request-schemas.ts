/**
 * How a function's input schema appears in a request, by the dev server's
 * input rules (README "Routes"):
 *
 * - queue-based: the body is `{"input": T}`; a body without an `input` key
 *   is passed whole, so a bare object T works too (when T is an object
 *   without an `input` property of its own);
 * - load-balanced: the input object is the JSON body (or, for GET, the query
 *   string) with the path parameters merged in; so the body (or query)
 *   carries T's properties minus the path parameters (text in the URL,
 *   converted where T says number or boolean).
 */
import type { FunctionSchemas } from "../discovery/type-schema/index.js";
import type { JsonSchema } from "../common/json-schema.js";
import { resolveRef } from "../common/json-schema.js";

/** The request body schema of a queue-based route. */
export function queueRequestSchema(fn: Pick<FunctionSchemas, "input" | "inputRequired">): JsonSchema {
  const input = fn.input ?? { description: "Ignored: the function takes no input." };
  return {
    type: "object",
    description: 'The function receives the value of "input"; a body without an "input" key is passed whole.',
    properties: { input },
    ...(fn.input && fn.inputRequired ? { required: ["input"] } : {}),
  };
}

/** One query or path parameter of a load-balanced route. */
export interface RouteParameter {
  name: string;
  required: boolean;
  schema: JsonSchema;
  description?: string;
}

/** The parts of a load-balanced request that carry the input. */
export interface LoadBalancedRequest {
  /** The JSON body schema (body methods only). */
  body?: JsonSchema;
  /** Query parameters (GET): one per property of the input. */
  query: RouteParameter[];
  /** Path parameters, typed from the input's properties of the same name (they arrive as text). */
  path: RouteParameter[];
}

/** Splits a load-balanced function's input schema into body, query and path parameters. */
export function loadBalancedRequest(
  fn: Pick<FunctionSchemas, "input">,
  definitions: Readonly<Record<string, JsonSchema>>,
  route: { method: string; pathParams: readonly string[] },
): LoadBalancedRequest {
  const input = fn.input === null ? undefined : resolveRef(fn.input, definitions);
  const objectLike = input !== undefined && input.type === "object" && input.properties !== undefined;
  const properties = objectLike ? input.properties! : {};
  const required = new Set(objectLike ? (input.required ?? []) : []);
  const path: RouteParameter[] = route.pathParams.map((name) => ({
    name,
    required: true,
    schema: Object.hasOwn(properties, name) ? properties[name]! : { type: "string" },
  }));
  const pathSet = new Set(route.pathParams);
  const rest = Object.entries(properties).filter(([name]) => !pathSet.has(name));
  if (route.method.toUpperCase() === "GET" || route.method.toUpperCase() === "HEAD") {
    const query = rest.map(([name, schema]) => ({ name, required: required.has(name), schema }));
    return { query, path };
  }
  if (!objectLike) return { body: fn.input ?? {}, query: [], path };
  const body: JsonSchema = { ...input, properties: Object.fromEntries(rest) };
  const bodyRequired = [...required].filter((name) => !pathSet.has(name));
  if (bodyRequired.length > 0) body.required = bodyRequired;
  else delete body.required;
  return { body, query: [], path };
}
