/**
 * How a request becomes the function's input, and how a result becomes the
 * response. The rules (README.md, "Routes"):
 *
 * - QB: the body must be a JSON object (an empty body counts as `{}`); the
 *   input is `body.input` when the key exists (even when it is null), else
 *   the whole body.
 * - LB with a body method (POST, PUT, PATCH, DELETE): the JSON body (empty
 *   counts as `{}`), which must be an object for POST/PUT/PATCH; path
 *   parameters are merged in and win over body keys.
 * - LB GET (and HEAD): the query string as a string map (repeated keys: the
 *   last wins), with path parameters merged in (they win).
 *
 * The input is then checked against the function's parameter type when its
 * schemas are ready (`typed-input.ts`), which converts the text that came
 * from the URL where the type says number or boolean.
 */
import type { IncomingMessage } from "node:http";
import type { HttpMethod } from "../sdk/registry.js";
import { AppError } from "../common/errors.js";
import { isRecord } from "../common/is-record.js";
import { readJsonBody } from "./body-reader.js";
import type { ReadJsonBodyOptions } from "./body-reader.js";

/** Methods whose LB routes read a JSON body. */
const BODY_METHODS: ReadonlySet<HttpMethod> = new Set<HttpMethod>(["POST", "PUT", "PATCH", "DELETE"]);
/** Methods whose LB body must be an object (so path params can always be merged). */
const OBJECT_BODY_METHODS: ReadonlySet<HttpMethod> = new Set<HttpMethod>(["POST", "PUT", "PATCH"]);

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** True when an LB route with this method takes its input from a JSON body. */
export function lbReadsBody(method: HttpMethod): boolean {
  return BODY_METHODS.has(method);
}

/** A function's input as read from a request, with where it came from (for the paths of mismatches). */
export interface RequestInput {
  value: unknown;
  /** JSON path of the input in the request: `$.input` (QB with an "input" key) or `$`. */
  rootPath: "$" | "$.input";
  /** Nothing was sent: no body, `{}`, or (LB) no query, body key or path parameter. */
  empty: boolean;
  /** Top-level keys whose values came from the URL as text (query string, path parameters). */
  fromUrl: readonly string[];
}

/** The QB input of a request body. */
export async function readQbRequest(req: IncomingMessage, options: ReadJsonBodyOptions): Promise<RequestInput> {
  const body = await readJsonBody(req, options);
  const value = body.present ? body.value : {};
  if (!isRecord(value)) {
    throw new AppError("INVALID_BODY", `A queue-based route takes a JSON object, not ${describe(value)}`, {
      hint: 'Send {"input": <your input>}; the function receives the value of "input".',
    });
  }
  if (Object.hasOwn(value, "input")) return { value: value.input, rootPath: "$.input", empty: false, fromUrl: [] };
  return { value, rootPath: "$", empty: Object.keys(value).length === 0, fromUrl: [] };
}

/** The QB input of a request body. */
export async function readQbInput(req: IncomingMessage, options: ReadJsonBodyOptions): Promise<unknown> {
  return (await readQbRequest(req, options)).value;
}

/** The query string as a flat string map; a repeated key keeps its last value. */
export function queryToMap(querystring: string): Record<string, string> {
  const map = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(querystring)) map.set(key, value);
  // fromEntries defines own properties: `?__proto__=x` stays an ordinary key.
  return Object.fromEntries(map);
}

/** The LB input of a request, with the keys that came from the URL. */
export async function readLbRequest(
  req: IncomingMessage,
  method: HttpMethod,
  querystring: string,
  params: Record<string, string>,
  options: ReadJsonBodyOptions,
): Promise<RequestInput> {
  const input = (value: unknown, fromUrl: readonly string[]): RequestInput => ({
    value,
    rootPath: "$",
    empty: isRecord(value) && Object.keys(value).length === 0,
    fromUrl,
  });
  if (!lbReadsBody(method)) {
    const value = { ...queryToMap(querystring), ...params };
    return input(value, Object.keys(value));
  }
  const body = await readJsonBody(req, options);
  const value = body.present ? body.value : {};
  if (isRecord(value)) return input({ ...value, ...params }, Object.keys(params));
  if (OBJECT_BODY_METHODS.has(method)) {
    throw new AppError("INVALID_BODY", `A ${method} route takes a JSON object, not ${describe(value)}`, {
      hint: "Wrap the value in an object, e.g. {\"items\": [...]}.",
    });
  }
  if (Object.keys(params).length > 0) {
    throw new AppError("INVALID_BODY", `This ${method} route has path parameters, so its body must be a JSON object, not ${describe(value)}`, {
      hint: `The path parameters (${Object.keys(params).join(", ")}) are merged into the body object.`,
    });
  }
  return input(value, []);
}
