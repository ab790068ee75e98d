/**
 * Errors of the runtime around a call, and the one normalisation of whatever
 * a function throws. Remote calls (the worker) and local calls (the dev server
 * process) run through the same executor, so `throw null` or
 * `throw {code: 42}` reads the same wherever the function ran.
 */
import { inspect, types } from "node:util";
import type { FunctionErrorKind } from "../common/function-protocol.js";
import { encodeValue } from "../common/value-codec.js";
import type { JsonValue } from "../common/value-codec.js";

/** A failure of the runtime around a call (as opposed to the user's function throwing). */
export class CallError extends Error {
  readonly kind: FunctionErrorKind;

  constructor(kind: FunctionErrorKind, message: string, options: { name?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.name = options.name ?? "Error";
  }
}

/** What a thrown value says about itself, ready for a FunctionFailure. */
export interface ThrownInfo {
  name: string;
  message: string;
  stack?: string;
  /** The thrown value itself, encoded, when it was not an Error (and can be encoded). */
  thrown?: JsonValue;
}

/** Longest preview of a thrown non-Error in a message. */
const MAX_PREVIEW = 500;

function errorName(error: Error): string {
  return error.name && error.name !== "Error" ? error.name : (error.constructor?.name ?? "Error");
}

/** `value` as a message shows it; `sendable` says whether it encoded (no functions, symbols or cycles inside). */
function preview(value: unknown, sendable: boolean): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return `${value}n`;
    if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
    return String(value);
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  // Plain data reads best as JSON; anything else (a Map, a class instance, a function inside) as Node shows it.
  const plain = sendable && (Array.isArray(value) || proto === Object.prototype || proto === null);
  const text = plain ? JSON.stringify(value) : inspect(value, { depth: 2, breakLength: Infinity, colors: false });
  return text.length > MAX_PREVIEW ? `${text.slice(0, MAX_PREVIEW)}…` : text;
}

/**
 * Describes anything thrown. An Error keeps its name, message and stack. A
 * string becomes the message. Any other value gets a readable message
 * (`the function threw {"code":42}, which is not an Error`) and travels
 * itself in `thrown`, so callers see the original value.
 */
export function describeThrown(value: unknown): ThrownInfo {
  if (value instanceof Error || types.isNativeError(value)) {
    const error = value as Error;
    return { name: errorName(error), message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  }
  if (typeof value === "string") return { name: "Error", message: value, thrown: value };
  let thrown: JsonValue | undefined;
  try {
    thrown = encodeValue(value, "thrown");
  } catch {
    thrown = undefined;
  }
  return { name: "Error", message: `the function threw ${preview(value, thrown !== undefined)}, which is not an Error`, ...(thrown !== undefined ? { thrown } : {}) };
}
