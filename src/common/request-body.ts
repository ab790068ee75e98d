/**
 * The one request-body reader of the dev server, the emulator and the
 * load-balanced worker (docs/limits.md):
 *
 * - a size limit, checked against Content-Length before anything is read and
 *   again while reading, so an oversized body is never buffered;
 * - a memory budget shared by every body the server holds: the bytes are
 *   reserved before they arrive (the declared length, or chunk by chunk) and
 *   given back when the response closes, and a body that does not fit is
 *   refused at once (503 SERVICE_UNAVAILABLE, with `retryAfterSeconds`);
 * - one buffer per body: with a Content-Length the bytes are copied into a
 *   buffer of that size as they arrive, instead of collecting chunks and
 *   concatenating them (which holds the body twice);
 * - a client that goes away mid-body rejects with `details.clientClosed`;
 * - JSON parsing (UTF-8, blank = absent) with a nesting limit; before it, the
 *   reservation grows to what the parsed value is expected to cost (many small
 *   values cost the heap several times their text), so a body that would not
 *   fit once parsed is refused (503) before it is.
 */
import type { IncomingMessage } from "node:http";
import { MAX_JSON_DEPTH } from "./body-limits.js";
import { formatBytes } from "./byte-budget.js";
import type { BudgetReservation, ByteBudget } from "./byte-budget.js";
import { AppError } from "./errors.js";

/** Something that says when the request is over (the ServerResponse). */
export interface CloseSignal {
  once(event: "close", listener: () => void): unknown;
}

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** Largest body accepted, in bytes. */
  limit: number;
  /** Bytes in flight are counted here; with it, `heldUntil` says when they are given back. */
  budget?: ByteBudget;
  /** The response: the body's bytes stay reserved until it closes (or {@link releaseBody}). */
  heldUntil?: CloseSignal;
  /** Said when the budget is spent (what to change). */
  overloadHint?: string;
  /**
   * Read and drop up to this many bytes of a refused body before failing, so a
   * client still uploading sees the answer instead of a reset connection.
   * Default 0: stop reading at once; the answer must then close the connection.
   */
  discardUpTo?: number;
}

/** A parsed body; `present: false` for an empty or blank body. */
export type JsonBody = { present: false } | { present: true; value: unknown };

/** What {@link scanJson} learns from a JSON text without parsing it. */
export interface JsonScan {
  /** Deepest nesting of arrays and objects. */
  depth: number;
  /** Estimated heap bytes of the parsed value: the text, plus PARSED_BYTES_PER_VALUE per value. */
  parsedBytes: number;
}

/**
 * Heap bytes a parsed JSON value costs beyond its text, per value (an array
 * slot or object field and the number or pointer in it): an estimate, so that
 * ten megabytes of `[1,1,1,…]` count for the ~90 MB they take once parsed.
 */
export const PARSED_BYTES_PER_VALUE = 16;

const reservations = new WeakMap<IncomingMessage, BudgetReservation>();

/**
 * True when the request carries a body at all (type-is's rule): a chunked
 * body, or a non-zero Content-Length.
 */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  return length !== undefined && length !== "0";
}

function declaredLength(req: IncomingMessage): number | undefined {
  if (req.headers["transfer-encoding"] !== undefined) return undefined;
  const declared = Number(req.headers["content-length"] ?? 0);
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
}

function tooLarge(limit: number, unread: boolean, declaredBytes?: number): AppError {
  return new AppError("BODY_TOO_LARGE", `The request body is larger than the limit of ${formatBytes(limit)}`, {
    hint: "Send a smaller body, or pass large data by reference (a URL or a network volume path).",
    details: { limitBytes: limit, ...(declaredBytes !== undefined ? { declaredBytes } : {}), bodyUnread: unread },
  });
}

function overloaded(budget: ByteBudget, hint: string | undefined, unread: boolean): AppError {
  return new AppError(
    "SERVICE_UNAVAILABLE",
    `The server is busy: it already holds ${formatBytes(budget.usedBytes)} of request bodies (its limit is ${formatBytes(budget.limitBytes)})`,
    {
      hint: hint ?? "Retry after the time in Retry-After, or send fewer large bodies at once.",
      details: { retryAfterSeconds: 1, budgetBytes: budget.limitBytes, bodyUnread: unread },
    },
  );
}

function cutOff(cause?: unknown): AppError {
  return new AppError("INVALID_INPUT", "The request body ended early (the client closed the connection)", {
    cause,
    details: { clientClosed: true },
  });
}

function overloadedAfterRead(budget: ByteBudget, hint: string | undefined, parsedBytes: number): AppError {
  const error = overloaded(budget, hint, false);
  return new AppError(error.code, `${error.message}; this body would take about ${formatBytes(parsedBytes)} once parsed`, {
    ...(error.hint ? { hint: error.hint } : {}),
    ...(error.details ? { details: error.details } : {}),
  });
}

/** Gives a body's reserved bytes back before its response closes (e.g. once it has been handed on). */
export function releaseBody(req: IncomingMessage): void {
  reservations.get(req)?.release();
  reservations.delete(req);
}

/**
 * Reads the whole body. Rejects with BODY_TOO_LARGE (413), SERVICE_UNAVAILABLE
 * (503, the budget is spent) or INVALID_INPUT with `details.clientClosed`;
 * the first two carry `details.bodyUnread` unless the rest was discarded.
 */
export function readBody(req: IncomingMessage, options: ReadBodyOptions): Promise<Buffer> {
  const { limit, budget } = options;
  // The client may have gone before anyone listened: no 'close' would come any more.
  if (req.destroyed && !req.complete) return Promise.reject(cutOff());
  const declared = declaredLength(req);
  const discardUpTo = options.discardUpTo ?? 0;
  if (declared !== undefined && declared > limit) {
    const discard = declared <= limit + discardUpTo;
    const error = tooLarge(limit, !discard, declared);
    return discard ? drain(req, error) : Promise.reject(error);
  }
  let reservation: BudgetReservation | undefined;
  if (budget) {
    reservation = budget.reserve(declared ?? 0);
    if (!reservation) {
      const discard = declared !== undefined && declared <= discardUpTo;
      const error = overloaded(budget, options.overloadHint, !discard);
      return discard ? drain(req, error) : Promise.reject(error);
    }
    const held = reservation;
    reservations.set(req, held);
    options.heldUntil?.once("close", () => held.release());
  }
  return new Promise<Buffer>((resolve, reject) => {
    let whole: Buffer | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    /** Stops collecting; with `discardUpTo`, the rest is read and dropped before the rejection. */
    const fail = (makeError: (unread: boolean) => AppError): void => {
      cleanup();
      reservation?.release();
      chunks.length = 0;
      whole = undefined;
      if (size <= limit + discardUpTo && discardUpTo > 0) {
        drain(req, makeError(false), limit + discardUpTo - size).catch(reject);
        return;
      }
      req.pause();
      reject(makeError(true));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      // (A body longer than its Content-Length is stopped by Node's parser, so `declared` is never passed.)
      if (size > limit || (declared !== undefined && size > declared)) return fail((unread) => tooLarge(limit, unread));
      if (declared !== undefined) {
        whole ??= Buffer.allocUnsafe(declared);
        chunk.copy(whole, size - chunk.length);
        return;
      }
      if (reservation && !reservation.grow(chunk.length)) return fail((unread) => overloaded(budget!, options.overloadHint, unread));
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      if (declared !== undefined) resolve(whole ? whole.subarray(0, size) : Buffer.alloc(0));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reservation?.release();
      reject(cutOff(err));
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reservation?.release();
      reject(cutOff());
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/**
 * Reads and drops the rest of a refused body (at most `maxBytes` more), then
 * rejects with `error`; past `maxBytes` the connection is cut.
 */
function drain(req: IncomingMessage, error: AppError, maxBytes = Number.POSITIVE_INFINITY): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    let dropped = 0;
    const done = (): void => {
      req.off("data", onData);
      req.off("end", done);
      req.off("close", done);
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      dropped += chunk.length;
      if (dropped > maxBytes) {
        req.socket?.destroy();
        done();
      }
    };
    req.on("data", onData);
    req.on("end", done);
    req.on("close", done);
    req.resume();
  });
}

/**
 * Nesting depth and expected parsed size of JSON text given as UTF-8 bytes,
 * in one pass without recursion (brackets, commas and colons inside strings
 * do not count). Bytes are enough: in UTF-8 no byte of a multi-byte character
 * is an ASCII quote, backslash, bracket, comma or colon.
 */
export function scanJson(bytes: Uint8Array): JsonScan {
  let depth = 0;
  let max = 0;
  let separators = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x2c || c === 0x3a) separators++;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return { depth: max, parsedBytes: bytes.length + (bytes.length > 0 ? separators + 1 : 0) * PARSED_BYTES_PER_VALUE };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses a body as JSON. Throws 400 INVALID_JSON (bad UTF-8, bad JSON) and
 * 422 INVALID_BODY for nesting beyond `maxDepth` (default MAX_JSON_DEPTH).
 * `scan` is the body's scanJson, when the caller already has it.
 */
export function parseJsonBody(raw: Uint8Array, options: { maxDepth?: number; scan?: JsonScan } = {}): JsonBody {
  if (raw.length === 0) return { present: false };
  let text: string;
  try {
    text = utf8.decode(raw); // also drops a leading BOM, which JSON.parse would reject
  } catch {
    throw new AppError("INVALID_JSON", "The request body is not valid UTF-8", { hint: "Send the body as UTF-8 encoded JSON.", details: { reason: "not valid UTF-8" } });
  }
  if (text.trim() === "") return { present: false };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new AppError("INVALID_JSON", `The request body is not valid JSON: ${detail}`, {
      hint: 'Check the body with a JSON validator; QB routes expect e.g. {"input": {…}}.',
      details: { reason: detail },
    });
  }
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  if (typeof value === "object" && value !== null && (options.scan ?? scanJson(raw)).depth > maxDepth) {
    throw new AppError("INVALID_BODY", `The request body is nested more than ${maxDepth} levels deep`, {
      hint: "Flatten the data structure.",
      details: { maxDepth },
    });
  }
  return { present: true, value };
}

/** A JSON request body as read by {@link readJsonRequest}. */
export interface JsonRequestBody {
  body: JsonBody;
  /** The bytes as received. */
  raw: Buffer;
  /** What the parsed value is expected to cost the heap (JsonScan.parsedBytes). */
  parsedBytes: number;
}

/**
 * Reads a body (see {@link readBody}) and parses it as JSON (see
 * {@link parseJsonBody}). With a budget, the body's reservation first grows
 * to the expected parsed size; when that does not fit, the body is refused
 * (503) without being parsed.
 */
export async function readJsonRequest(req: IncomingMessage, options: ReadBodyOptions & { maxDepth?: number }): Promise<JsonRequestBody> {
  const raw = await readBody(req, options);
  try {
    const scan = scanJson(raw);
    const reservation = reservations.get(req);
    if (options.budget && reservation && !reservation.grow(scan.parsedBytes - raw.length)) {
      throw overloadedAfterRead(options.budget, options.overloadHint, scan.parsedBytes);
    }
    const body = parseJsonBody(raw, { scan, ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }) });
    return { body, raw, parsedBytes: scan.parsedBytes };
  } catch (error) {
    // Refused or unusable: nothing of it is kept.
    releaseBody(req);
    throw error;
  }
}
