/**
 * The function-call protocol between a caller (the dev server, or the SDK
 * inside a worker calling another endpoint) and the worker runtime.
 *
 * A QB job's `input` is a FunctionRequest and its `output` a FunctionResponse;
 * an LB worker takes the same request at `POST /execute` and answers with the
 * same response. Arguments and results are encoded with value-codec so that
 * Date, bytes, Map, Set and BigInt survive the trip.
 *
 * Modules are content-addressed: `module.hash` is the sha256 of `module.code`.
 * A caller may omit `code` for a module it believes the worker has seen; a
 * worker that has not seen it answers `error.kind = "module-missing"` and the
 * caller sends the request again with the code.
 *
 * The worker runtime itself travels the same way (docs/internals.md, "The
 * worker runtime"): a request names the caller's runtime in `runtime`
 * (version and sha256 of the bundle); a worker started from the bootstrap
 * that does not have that bundle answers `runtime-missing`, and the caller
 * sends it again with `runtime.gzip`.
 */
import * as v from "valibot";
import { AppError } from "./errors.js";
import { isRecord } from "./is-record.js";
import { fields, issuePath, stringArray } from "./schema.js";
import type { JsonValue } from "./value-codec.js";

export const FUNCTION_PROTOCOL_VERSION = 1 as const;

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Encoded values are checked by the value codec when decoded, not here: no copy of large arguments. */
const encoded = v.custom<JsonValue>(() => true);
/**
 * An encoded value that is null when absent. Typed as `encoded`: valibot's
 * fallback types compare the recursive JsonValue with itself until TypeScript
 * gives up, and a fallback does not change what the schema outputs.
 */
const encodedOrNull = v.fallback(encoded as v.GenericSchema, null) as unknown as typeof encoded;
const encodedList = (message: string) => v.custom<JsonValue[]>(Array.isArray, message);

/** The bundled ES module that contains the function (and everything it imports from the project). */
const ModuleRefSchema = fields(
  {
    /** sha256 hex of `code`. */
    hash: v.pipe(v.string("must be a sha256 hex string"), v.regex(SHA256_HEX, "must be a sha256 hex string")),
    /** The bundle text (ESM, inline source map). Omitted when the worker is believed to have it. */
    code: v.optional(v.string("must be a string")),
  },
  "must be { hash, code? }",
);

/** Which function in the module to run: identified by its defining file and export name. */
const FunctionTargetSchema = fields(
  {
    /** Path of the file that defines the function, relative to the project root, with `/` separators. */
    file: v.string("must be a string"),
    /** Export name in that file (`default` for a default export). */
    export: v.string("must be a string"),
    /** For an `@remote` class: the method to call. */
    method: v.optional(v.string("must be a string")),
  },
  "must have string `file` and `export`",
);

/** An endpoint a function may dispatch to (used for calls between remote functions). */
const EndpointRefSchema = fields(
  {
    id: v.string("must be a string"),
    /** The endpoint's name, e.g. `live-gpu-worker`. */
    name: v.string("must be a string"),
    kind: v.picklist(["QB", "LB"], 'must be "QB" or "LB"'),
    /** For LB endpoints: the base URL requests go to. */
    url: v.optional(v.string("must be a string")),
  },
  'must be { id, name, kind: "QB" | "LB" }',
);

/** The worker runtime the caller runs, which the worker must run too. */
const RuntimeRefSchema = fields(
  {
    /** flash-ts version of the caller. */
    version: v.pipe(v.string("must be a version string"), v.minLength(1, "must be a version string"), v.maxLength(100, "must be a version string")),
    /** sha256 hex of the runtime bundle's text. */
    hash: v.pipe(v.string("must be a sha256 hex string"), v.regex(SHA256_HEX, "must be a sha256 hex string")),
    /** The bundle, gzip-compressed and base64-encoded; sent when the worker is believed not to have it. */
    gzip: v.optional(v.string("must be a base64 string")),
  },
  "must be { version, hash, gzip? }",
);

/** A function call, as the caller sends it and the worker parses it. Unknown fields are dropped. */
export const FunctionRequestSchema = fields(
  {
    /** Protocol version. */
    flash: v.literal(FUNCTION_PROTOCOL_VERSION, (issue) => `unsupported protocol version ${JSON.stringify(issue.input)} (this worker speaks ${FUNCTION_PROTOCOL_VERSION})`),
    module: ModuleRefSchema,
    target: FunctionTargetSchema,
    /** Positional arguments, each encoded with encodeValue(). */
    args: encodedList("must be an array"),
    /** For classes: the instance to use (created on first use with `args`, then reused by id). */
    instance: v.optional(fields({ id: v.string("must be a string"), args: encodedList("must be an array") }, "must be { id: string, args: [] }")),
    /** npm package specs the module needs on the worker (installed once, cached). */
    dependencies: v.optional(stringArray("must be an array of strings")),
    /** Endpoints of the resource configs reachable from this module, keyed by config name. */
    endpoints: v.optional(v.record(v.string(), EndpointRefSchema, "must be an object")),
    /** Execution timeout the worker enforces itself (ms); 0 or absent means none. */
    timeoutMs: v.optional(v.pipe(v.number("must be a non-negative number"), v.minValue(0, "must be a non-negative number"))),
    /** The caller's worker runtime (absent from callers older than runtime delivery). */
    runtime: v.optional(RuntimeRefSchema),
  },
  "expected an object",
);

export type ModuleRef = v.InferOutput<typeof ModuleRefSchema>;
export type FunctionTarget = v.InferOutput<typeof FunctionTargetSchema>;
export type EndpointRef = v.InferOutput<typeof EndpointRefSchema>;
export type EndpointKind = EndpointRef["kind"];
export type RuntimeRef = v.InferOutput<typeof RuntimeRefSchema>;
export type FunctionRequest = v.InferOutput<typeof FunctionRequestSchema>;

/** Every error kind, for validating what a worker sent. */
export const FUNCTION_ERROR_KINDS = [
  /** the user's function threw */
  "function",
  /** the worker has not seen the module; resend with code */
  "module-missing",
  /** `dependencies` could not be installed */
  "dependencies",
  /** the module failed to load, or the target is not a remote function in it */
  "load",
  /** the worker's own timeout cut the call */
  "timeout",
  /** a bug or unexpected condition in the runtime */
  "runtime",
  /** the worker (its bootstrap) does not have the caller's runtime; resend with `runtime.gzip` */
  "runtime-missing",
  /** the worker runs another runtime than the caller's; the message names both */
  "runtime-mismatch",
  /** the worker's image cannot run the runtime (e.g. its Node.js is too old); the message says what it lacks */
  "unsupported-worker",
] as const;
export type FunctionErrorKind = (typeof FUNCTION_ERROR_KINDS)[number];

const FunctionLogSchema = v.object({
  stream: v.picklist(["stdout", "stderr"]),
  text: v.string(),
  /** The endpoint whose function wrote it, when not the one called: a nested call's output (its callee). */
  endpoint: v.optional(v.string()),
});
export type FunctionLog = v.InferOutput<typeof FunctionLogSchema>;

/** A readable log line as the caller keeps it: only its known fields, and no empty endpoint. */
function cleanLog(line: FunctionLog): FunctionLog {
  return { stream: line.stream, text: line.text, ...(line.endpoint ? { endpoint: line.endpoint } : {}) };
}

/**
 * A response is read leniently, since a worker of another version may send
 * more or less: unreadable log lines are dropped, an unknown error kind is
 * `runtime`, missing text gets a default. Only something that is not a
 * function response at all (no `flash: 1`, no boolean `ok`) is refused.
 */
const RemoteErrorInfoSchema = v.object({
  kind: v.fallback(v.picklist(FUNCTION_ERROR_KINDS), "runtime"),
  name: v.fallback(v.string(), "Error"),
  message: v.fallback(v.string(), "unknown error"),
  stack: v.fallback(v.optional(v.string()), undefined),
  /**
   * The value the function threw when it was not an Error (`throw {code: 42}`,
   * `throw null`), encoded with encodeValue(); absent for Errors and for values
   * that cannot be encoded. `message` describes it either way.
   */
  thrown: v.optional(encoded),
});
export type RemoteErrorInfo = v.InferOutput<typeof RemoteErrorInfoSchema>;

const logs = v.fallback(
  v.pipe(
    v.array(v.unknown()),
    v.filterItems((item) => v.is(FunctionLogSchema, item)),
    v.transform((items) => (items as FunctionLog[]).map(cleanLog)),
  ),
  [],
);
const durationMs = v.fallback(v.number(), 0);

const FunctionSuccessSchema = v.object({
  flash: v.literal(FUNCTION_PROTOCOL_VERSION),
  ok: v.literal(true),
  // `never`: null is a JsonValue, and spares TypeScript comparing the recursive JsonValue with itself.
  result: encodedOrNull,
  logs,
  durationMs,
});
const FunctionFailureSchema = v.object({
  flash: v.literal(FUNCTION_PROTOCOL_VERSION),
  ok: v.literal(false),
  error: v.fallback(RemoteErrorInfoSchema, { kind: "runtime", name: "Error", message: "unknown error" }),
  logs,
  durationMs,
});
/** What a worker answers a function call with, and what the caller parses. */
export const FunctionResponseSchema = v.variant("ok", [FunctionSuccessSchema, FunctionFailureSchema]);

export type FunctionSuccess = v.InferOutput<typeof FunctionSuccessSchema>;
export type FunctionFailure = v.InferOutput<typeof FunctionFailureSchema>;
export type FunctionResponse = FunctionSuccess | FunctionFailure;

/** True when `value` looks like a FunctionRequest (cheap check used to tell it from a plain job input). */
export function isFunctionRequest(value: unknown): boolean {
  return isRecord(value) && value.flash === FUNCTION_PROTOCOL_VERSION && isRecord(value.module) && isRecord(value.target);
}

/** Validates an untrusted value as a FunctionRequest; throws AppError(INVALID_INPUT) naming the bad field. */
export function parseFunctionRequest(value: unknown): FunctionRequest {
  const result = v.safeParse(FunctionRequestSchema, value, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = issuePath(issue);
  throw new AppError("INVALID_INPUT", `invalid function request: ${path ? `${path} ` : ""}${issue.message}`);
}

/** Validates an untrusted value as a FunctionResponse (what a caller receives back). */
export function parseFunctionResponse(value: unknown): FunctionResponse {
  const result = v.safeParse(FunctionResponseSchema, value, { abortEarly: true });
  if (result.success) return result.output;
  throw new AppError("UPSTREAM_ERROR", "the worker answered with something that is not a flash-ts function response", {
    hint: "Is the endpoint running the flash-ts worker runtime (`flash worker`)?",
    details: { received: truncateForDisplay(value) },
  });
}

function truncateForDisplay(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 300 ? text.slice(0, 300) + "…" : text;
}
