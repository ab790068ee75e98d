/**
 * Checks that a value an Endpoint client sends (a job input, a request body)
 * arrives as written: JSON.stringify drops functions, symbols and undefined
 * array items or turns them into null, writes NaN and Infinity as null, Maps
 * and Sets as {}, and throws on BigInt and cycles. A client of an arbitrary
 * endpoint sends plain JSON (not flash-ts's value codec, which only flash-ts
 * workers read), so each of those is an error naming where it is instead.
 */
import { AppError } from "../common/errors.js";
import { MAX_JSON_DEPTH } from "../common/body-limits.js";

/** Objects JSON.stringify turns into `{}` or an index map, losing their content. */
const LOSSY = [Map, Set, WeakMap, WeakSet, RegExp, Error, Promise, ArrayBuffer, DataView] as const;

function describeType(value: unknown): string {
  if (typeof value === "object" && value !== null) return value.constructor?.name ?? "object";
  return typeof value;
}

function fail(path: string, what: string): never {
  throw new AppError("INVALID_INPUT", `${path} is ${what}, which JSON cannot carry`, {
    hint: "Send plain JSON: objects, arrays, strings, finite numbers, booleans and null (convert dates to strings, Maps to objects, binary to base64).",
    details: { path },
  });
}

function check(value: unknown, path: string, seen: Set<object>, depth: number): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) fail(path, String(value));
      return;
    case "undefined":
      return fail(path, "undefined");
    case "bigint":
    case "function":
    case "symbol":
      return fail(path, `a ${typeof value}`);
  }
  if (value === null) return;
  const obj = value as object;
  // An object that says how it becomes JSON (a Date, a class with toJSON) is sent as it says.
  if (typeof (obj as { toJSON?: unknown }).toJSON === "function") return;
  if (depth > MAX_JSON_DEPTH) fail(path, `nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (seen.has(obj)) fail(path, "a reference back to an enclosing value (a cycle)");
  if (ArrayBuffer.isView(obj) || LOSSY.some((type) => obj instanceof type)) fail(path, `a ${describeType(obj)}`);
  seen.add(obj);
  if (Array.isArray(obj)) {
    obj.forEach((item, i) => check(item, `${path}[${i}]`, seen, depth + 1));
  } else {
    for (const [key, item] of Object.entries(obj)) {
      // An undefined property is absent in JSON, as in TypeScript's optional fields: not an error.
      if (item !== undefined) check(item, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, seen, depth + 1);
    }
  }
  seen.delete(obj);
}

/**
 * Throws unless `value` survives JSON.stringify unchanged.
 * @param path how the value is named in the error, e.g. `input`.
 * @throws AppError INVALID_INPUT naming the first offending path (details.path).
 */
export function assertJsonValue(value: unknown, path: string): void {
  check(value, path, new Set(), 0);
}
