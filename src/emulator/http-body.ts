/**
 * The emulator's request bodies, on the shared reader (common/request-body.ts):
 * read with a size limit per API family and counted against the emulator's
 * budget of bodies in flight, parsed as JSON whatever the Content-Type says
 * (runpod-python posts JSON as form-urlencoded), with the shared nesting limit.
 * Errors come out as HttpErrors in the emulator's shapes.
 */
import type { IncomingMessage } from "node:http";
import { RUNPOD_LIMITS } from "../common/body-limits.js";
import type { ByteBudget } from "../common/byte-budget.js";
import { formatBytes } from "../common/byte-budget.js";
import { isAppError } from "../common/errors.js";
import { readBody as readSharedBody, readJsonRequest, releaseBody } from "../common/request-body.js";
import type { ReadBodyOptions } from "../common/request-body.js";
import type { CloseSignal } from "../common/request-body.js";
import { HttpError } from "./http-error.js";

/** Size limits per API family, in bytes (Runpod's, docs/limits.md). */
export const BODY_LIMITS = {
  run: RUNPOD_LIMITS.run,
  runsync: RUNPOD_LIMITS.runsync,
  rest: 1024 * 1024,
  lb: RUNPOD_LIMITS.loadBalanced,
  jobDone: RUNPOD_LIMITS.jobResult,
  jobStream: RUNPOD_LIMITS.streamChunk,
  /** Bodies we ignore (cancel, purge-queue, status): small, but read so keep-alive stays healthy. */
  small: 64 * 1024,
} as const;

/** Default budget of request bodies held at once (docs/limits.md, Memory bounds). */
export const DEFAULT_BODY_MEMORY_BYTES = 128 * 1024 * 1024;

/**
 * Beyond this much over the limit we stop reading and drop the connection:
 * reading (and discarding) a moderately oversized body first lets clients see
 * the 413 instead of a reset socket, but we will not swallow gigabytes.
 */
const DISCARD_CAP = 64 * 1024 * 1024;

const budgets = new WeakMap<IncomingMessage, { budget: ByteBudget; response: CloseSignal }>();

/**
 * Makes every body read for this request count against `budget` until
 * `response` closes; the app calls it for each request it serves.
 */
export function attachBodyBudget(req: IncomingMessage, response: CloseSignal, budget: ByteBudget): void {
  budgets.set(req, { budget, response });
}

/** The body's bytes no longer count against the budget (it has been handed on, e.g. as a job). */
export { releaseBody };

/** A body that was read but cannot be used (too large, too deep, not JSON): the HttpError to answer with. */
export function bodyError(error: unknown): HttpError {
  if (!isAppError(error)) return error instanceof HttpError ? error : new HttpError(500, (error as Error)?.message ?? String(error));
  const limit = error.details?.limitBytes;
  switch (error.code) {
    case "BODY_TOO_LARGE":
      // Always with Connection: close, so an oversized upload is not read to its end to reuse the socket.
      return new HttpError(413, `request body exceeds the limit of ${formatBytes(typeof limit === "number" ? limit : 0)}`, undefined, { closeConnection: true });
    case "SERVICE_UNAVAILABLE":
      return new HttpError(503, `${error.message}; retry shortly, or raise FLASH_EMULATOR_BODY_MEMORY_MB`, undefined, {
        closeConnection: error.details?.bodyUnread === true,
        retryAfterSeconds: 1,
      });
    case "INVALID_JSON":
      return new HttpError(400, `invalid JSON body: ${String(error.details?.reason ?? error.message)}`);
    case "INVALID_BODY":
      return new HttpError(422, `request body is nested more than ${String(error.details?.maxDepth)} levels deep; flatten it`);
    default:
      return new HttpError(error.status, error.message);
  }
}

function readOptions(req: IncomingMessage, limit: number, inFlightBudget = true): ReadBodyOptions {
  const attached = inFlightBudget ? budgets.get(req) : undefined;
  return { limit, discardUpTo: DISCARD_CAP, ...(attached ? { budget: attached.budget, heldUntil: attached.response } : {}) };
}

/** Failures of the shared reader as HttpErrors; a client that left mid-body stays as it is (the boundary logs one debug line). */
function rethrow(error: unknown): never {
  if (isAppError(error) && error.details?.clientClosed === true) throw error;
  throw bodyError(error);
}

/** Reads the whole body, or throws a 413 HttpError once it exceeds `limit` bytes (503 when the budget is spent). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return await readSharedBody(req, readOptions(req, limit));
  } catch (error) {
    rethrow(error);
  }
}

/** A JSON body: its value (`empty` for an empty body), its bytes, and what it costs parsed. */
export interface JsonBodyBytes {
  value: unknown;
  /** The body as received; parts of it can be kept verbatim instead of re-serialised. */
  raw: Buffer;
  /** Expected heap bytes of `value` (what keeping it costs). */
  parsedBytes: number;
}

/**
 * Reads and parses a JSON body; an empty body gives `empty`. Throws 400 for
 * malformed JSON, 422 when nested too deep. `inFlightBudget: false` reads it
 * outside the budget of bodies in flight: for a worker's results, which must
 * not be refused for a busy moment (the job would hang) and are bounded by
 * the job memory instead (docs/limits.md, Memory bounds).
 */
export async function readJsonBody(req: IncomingMessage, limit: number, empty: unknown = undefined, options: { inFlightBudget?: boolean } = {}): Promise<JsonBodyBytes> {
  try {
    const { body, raw, parsedBytes } = await readJsonRequest(req, readOptions(req, limit, options.inFlightBudget ?? true));
    return { value: body.present ? body.value : empty, raw, parsedBytes };
  } catch (error) {
    rethrow(error);
  }
}

/** Reads and parses a JSON body in one step. */
export async function readJson(req: IncomingMessage, limit: number, empty: unknown = undefined): Promise<unknown> {
  return (await readJsonBody(req, limit, empty)).value;
}

/**
 * Where the value of member `key` of a JSON object stands in its UTF-8 bytes
 * (`[start, end)`; the last one when the key repeats, as JSON.parse reads
 * it); undefined when the object has no such member. `json` must already
 * have parsed as an object. Bytes suffice: in UTF-8 no byte of a multi-byte
 * character is a quote, backslash, bracket, comma or colon.
 */
export function jsonMemberRange(json: Uint8Array, key: string): [number, number] | undefined {
  let found: [number, number] | undefined;
  let i = skipSpace(json, json.indexOf(0x7b) + 1);
  while (i < json.length && json[i] === 0x22) {
    const keyEnd = skipString(json, i);
    const name = JSON.parse(Buffer.from(json.buffer, json.byteOffset + i, keyEnd - i).toString("utf8")) as string;
    const start = skipSpace(json, skipSpace(json, keyEnd) + 1); // past the colon
    const end = skipValue(json, start);
    if (name === key) found = [start, end];
    i = skipSpace(json, end);
    if (json[i] !== 0x2c) break; // no comma: the closing brace
    i = skipSpace(json, i + 1);
  }
  return found;
}

function skipSpace(bytes: Uint8Array, i: number): number {
  for (let c = bytes[i]; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = bytes[++i]);
  return i;
}

/** Index just past the string starting at `i` (an opening quote). */
function skipString(bytes: Uint8Array, i: number): number {
  for (i++; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return i;
}

/** Index just past the value starting at `i`. */
function skipValue(bytes: Uint8Array, i: number): number {
  const first = bytes[i];
  if (first === 0x22) return skipString(bytes, i);
  if (first !== 0x7b && first !== 0x5b) {
    // A number, true, false or null: up to the next delimiter.
    for (let c = bytes[i]; i < bytes.length && c !== 0x2c && c !== 0x7d && c !== 0x5d && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09; c = bytes[++i]);
    return i;
  }
  let depth = 0;
  for (; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x22) i = skipString(bytes, i) - 1;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
  }
  return i;
}
