/**
 * Checks a request's input against its function's parameter type, with the
 * schemas of the generation the request was routed on (docs/type-schemas.md,
 * "Validation"). A mismatch is `422 INVALID_INPUT` listing each by JSON
 * path; a match goes to the function as the type describes it: text from
 * the URL converted where the type says number, boolean or null, and
 * date-time strings revived as Dates where it says `Date`. Without ready
 * schemas (being computed, off, failed) the input goes through unchecked and
 * unconverted.
 */
import type { GenerationSchemas } from "./function-schemas.js";
import { typedFunction } from "./function-schemas.js";
import { invalidInputError, validateInput } from "./input-validation.js";
import type { RequestInput } from "./request-input.js";
import type { RouteInfo } from "./route-generation.js";

/** The value to pass to the function; throws 422 INVALID_INPUT when the input does not match its type. */
export function checkInput(schemas: GenerationSchemas, route: RouteInfo, input: RequestInput): unknown {
  const typed = typedFunction(schemas, route.entry.id);
  if ("untyped" in typed) return input.value;
  const { fn } = typed;
  // A function without a parameter ignores its input; an optional one may be left out.
  if (fn.input === null || (!fn.inputRequired && input.empty)) return input.value;
  const result = validateInput(fn.input, input.value, {
    definitions: typed.schemas.definitions,
    rootPath: input.rootPath,
    coerceKeys: input.fromUrl,
    reviveDates: true,
  });
  if (!result.ok) throw invalidInputError(result, route.entry.id);
  return result.value;
}
