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
import { AppError } from "./errors.js";
import { isRecord } from "./is-record.js";
import type { JsonValue } from "./value-codec.js";

export const FUNCTION_PROTOCOL_VERSION = 1 as const;

/** The bundled ES module that contains the function (and everything it imports from the project). */
export interface ModuleRef {
  /** sha256 hex of `code`. */
  hash: string;
  /** The bundle text (ESM, inline source map). Omitted when the worker is believed to have it. */
  code?: string;
}

/** Which function in the module to run: identified by its defining file and export name. */
export interface FunctionTarget {
  /** Path of the file that defines the function, relative to the project root, with `/` separators. */
  file: string;
  /** Export name in that file (`default` for a default export). */
  export: string;
  /** For an `@remote` class: the method to call. */
  method?: string;
}

export type EndpointKind = "QB" | "LB";

/** An endpoint a function may dispatch to (used for calls between remote functions). */
export interface EndpointRef {
  id: string;
  /** The endpoint's name, e.g. `live-gpu-worker`. */
  name: string;
  kind: EndpointKind;
  /** For LB endpoints: the base URL requests go to. */
  url?: string;
}

/** The worker runtime the caller runs, which the worker must run too. */
export interface RuntimeRef {
  /** flash-ts version of the caller. */
  version: string;
  /** sha256 hex of the runtime bundle's text. */
  hash: string;
  /** The bundle, gzip-compressed and base64-encoded; sent when the worker is believed not to have it. */
  gzip?: string;
}

export interface FunctionRequest {
  /** Protocol version. */
  flash: typeof FUNCTION_PROTOCOL_VERSION;
  module: ModuleRef;
  target: FunctionTarget;
  /** Positional arguments, each encoded with encodeValue(). */
  args: JsonValue[];
  /** For classes: the instance to use (created on first use with `args`, then reused by id). */
  instance?: { id: string; args: JsonValue[] };
  /** npm package specs the module needs on the worker (installed once, cached). */
  dependencies?: string[];
  /** Endpoints of the resource configs reachable from this module, keyed by config name. */
  endpoints?: Record<string, EndpointRef>;
  /** Execution timeout the worker enforces itself (ms); 0 or absent means none. */
  timeoutMs?: number;
  /** The caller's worker runtime (absent from callers older than runtime delivery). */
  runtime?: RuntimeRef;
}

export interface FunctionLog {
  stream: "stdout" | "stderr";
  text: string;
  /** The endpoint whose function wrote it, when not the one called: a nested call's output (its callee). */
  endpoint?: string;
}

export type FunctionErrorKind =
  /** the user's function threw */
  | "function"
  /** the worker has not seen the module; resend with code */
  | "module-missing"
  /** `dependencies` could not be installed */
  | "dependencies"
  /** the module failed to load, or the target is not a remote function in it */
  | "load"
  /** the worker's own timeout cut the call */
  | "timeout"
  /** a bug or unexpected condition in the runtime */
  | "runtime"
  /** the worker (its bootstrap) does not have the caller's runtime; resend with `runtime.gzip` */
  | "runtime-missing"
  /** the worker runs another runtime than the caller's; the message names both */
  | "runtime-mismatch"
  /** the worker's image cannot run the runtime (e.g. its Node.js is too old); the message says what it lacks */
  | "unsupported-worker";

/** Every error kind, for validating what a worker sent. */
export const FUNCTION_ERROR_KINDS: readonly FunctionErrorKind[] = [
  "function",
  "module-missing",
  "dependencies",
  "load",
  "timeout",
  "runtime",
  "runtime-missing",
  "runtime-mismatch",
  "unsupported-worker",
];

export interface RemoteErrorInfo {
  kind: FunctionErrorKind;
  name: string;
  message: string;
  stack?: string;
  /**
   * The value the function threw when it was not an Error (`throw {code: 42}`,
   * `throw null`), encoded with encodeValue(); absent for Errors and for values
   * that cannot be encoded. `message` describes it either way.
   */
  thrown?: JsonValue;
}

export interface FunctionSuccess {
  flash: typeof FUNCTION_PROTOCOL_VERSION;
  ok: true;
  result: JsonValue;
  logs: FunctionLog[];
  durationMs: number;
}

export interface FunctionFailure {
  flash: typeof FUNCTION_PROTOCOL_VERSION;
  ok: false;
  error: RemoteErrorInfo;
  logs: FunctionLog[];
  durationMs: number;
}

export type FunctionResponse = FunctionSuccess | FunctionFailure;

function fail(message: string): never {
  throw new AppError("INVALID_INPUT", `invalid function request: ${message}`);
}

/** True when `value` looks like a FunctionRequest (cheap check used to tell it from a plain job input). */
export function isFunctionRequest(value: unknown): boolean {
  return isRecord(value) && value.flash === FUNCTION_PROTOCOL_VERSION && isRecord(value.module) && isRecord(value.target);
}

/** Validates an untrusted value as a FunctionRequest; throws AppError(INVALID_INPUT) naming the bad field. */
export function parseFunctionRequest(value: unknown): FunctionRequest {
  if (!isRecord(value)) fail("expected an object");
  if (value.flash !== FUNCTION_PROTOCOL_VERSION) {
    fail(`unsupported protocol version ${JSON.stringify(value.flash)} (this worker speaks ${FUNCTION_PROTOCOL_VERSION})`);
  }
  const mod = value.module;
  if (!isRecord(mod) || typeof mod.hash !== "string" || !/^[0-9a-f]{64}$/.test(mod.hash)) {
    fail("module.hash must be a sha256 hex string");
  }
  if (mod.code !== undefined && typeof mod.code !== "string") fail("module.code must be a string");
  const target = value.target;
  if (!isRecord(target) || typeof target.file !== "string" || typeof target.export !== "string") {
    fail("target must have string `file` and `export`");
  }
  if (target.method !== undefined && typeof target.method !== "string") fail("target.method must be a string");
  if (!Array.isArray(value.args)) fail("args must be an array");
  let instance: FunctionRequest["instance"];
  if (value.instance !== undefined) {
    const inst = value.instance;
    if (!isRecord(inst) || typeof inst.id !== "string" || !Array.isArray(inst.args)) {
      fail("instance must be { id: string, args: [] }");
    }
    instance = { id: inst.id, args: inst.args as JsonValue[] };
  }
  let dependencies: string[] | undefined;
  if (value.dependencies !== undefined) {
    if (!Array.isArray(value.dependencies) || !value.dependencies.every((d) => typeof d === "string")) {
      fail("dependencies must be an array of strings");
    }
    dependencies = value.dependencies as string[];
  }
  let endpoints: Record<string, EndpointRef> | undefined;
  if (value.endpoints !== undefined) {
    if (!isRecord(value.endpoints)) fail("endpoints must be an object");
    endpoints = {};
    for (const [name, ref] of Object.entries(value.endpoints)) {
      if (!isRecord(ref) || typeof ref.id !== "string" || typeof ref.name !== "string" || (ref.kind !== "QB" && ref.kind !== "LB")) {
        fail(`endpoints.${name} must be { id, name, kind: "QB" | "LB" }`);
      }
      endpoints[name] = { id: ref.id, name: ref.name, kind: ref.kind, ...(typeof ref.url === "string" ? { url: ref.url } : {}) };
    }
  }
  if (value.timeoutMs !== undefined && (typeof value.timeoutMs !== "number" || value.timeoutMs < 0)) {
    fail("timeoutMs must be a non-negative number");
  }
  const runtime = value.runtime === undefined ? undefined : parseRuntimeRef(value.runtime);
  return {
    flash: FUNCTION_PROTOCOL_VERSION,
    module: { hash: mod.hash as string, ...(typeof mod.code === "string" ? { code: mod.code } : {}) },
    target: {
      file: target.file as string,
      export: target.export as string,
      ...(typeof target.method === "string" ? { method: target.method } : {}),
    },
    args: value.args as JsonValue[],
    ...(instance ? { instance } : {}),
    ...(dependencies ? { dependencies } : {}),
    ...(endpoints ? { endpoints } : {}),
    ...(typeof value.timeoutMs === "number" ? { timeoutMs: value.timeoutMs } : {}),
    ...(runtime ? { runtime } : {}),
  };
}

function parseRuntimeRef(value: unknown): RuntimeRef {
  if (!isRecord(value)) fail("runtime must be { version, hash, gzip? }");
  if (typeof value.version !== "string" || value.version.length === 0 || value.version.length > 100) fail("runtime.version must be a version string");
  if (typeof value.hash !== "string" || !/^[0-9a-f]{64}$/.test(value.hash)) fail("runtime.hash must be a sha256 hex string");
  if (value.gzip !== undefined && typeof value.gzip !== "string") fail("runtime.gzip must be a base64 string");
  return { version: value.version, hash: value.hash, ...(typeof value.gzip === "string" ? { gzip: value.gzip } : {}) };
}

/** Validates an untrusted value as a FunctionResponse (what a caller receives back). */
export function parseFunctionResponse(value: unknown): FunctionResponse {
  if (!isRecord(value) || value.flash !== FUNCTION_PROTOCOL_VERSION || typeof value.ok !== "boolean") {
    throw new AppError("UPSTREAM_ERROR", "the worker answered with something that is not a flash-ts function response", {
      hint: "Is the endpoint running the flash-ts worker runtime (`flash worker`)?",
      details: { received: truncateForDisplay(value) },
    });
  }
  const logs = Array.isArray(value.logs)
    ? value.logs
        .filter((l): l is FunctionLog => isRecord(l) && (l.stream === "stdout" || l.stream === "stderr") && typeof l.text === "string")
        .map((l) => ({ stream: l.stream, text: l.text, ...(typeof l.endpoint === "string" && l.endpoint !== "" ? { endpoint: l.endpoint } : {}) }))
    : [];
  const durationMs = typeof value.durationMs === "number" ? value.durationMs : 0;
  if (value.ok) {
    return { flash: FUNCTION_PROTOCOL_VERSION, ok: true, result: (value.result ?? null) as JsonValue, logs, durationMs };
  }
  const e = isRecord(value.error) ? value.error : {};
  const kinds = FUNCTION_ERROR_KINDS;
  return {
    flash: FUNCTION_PROTOCOL_VERSION,
    ok: false,
    error: {
      kind: kinds.includes(e.kind as FunctionErrorKind) ? (e.kind as FunctionErrorKind) : "runtime",
      name: typeof e.name === "string" ? e.name : "Error",
      message: typeof e.message === "string" ? e.message : "unknown error",
      ...(typeof e.stack === "string" ? { stack: e.stack } : {}),
      ...("thrown" in e && e.thrown !== undefined ? { thrown: e.thrown as JsonValue } : {}),
    },
    logs,
    durationMs,
  };
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
