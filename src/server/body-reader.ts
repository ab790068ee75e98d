/**
 * Reads a JSON request body with a hard size limit. The limit is enforced
 * while reading (and up front from Content-Length), so an oversized body is
 * never buffered; the caller answers 413 and closes the connection.
 */
import type { IncomingMessage } from "node:http";
import { AppError } from "../shared/errors.js";

/** Options of {@link readJsonBody}. */
export interface ReadJsonBodyOptions {
  /** Maximum body size in bytes. */
  limit: number;
  /**
   * Maximum nesting of arrays/objects. Deeper bodies are refused (422): the
   * value codec and JSON.stringify recurse, and a 100,000-level body would
   * otherwise end as a stack overflow somewhere downstream.
   * @default 512
   */
  maxDepth?: number;
}

/** A parsed body; `present: false` for an empty (or whitespace-only) body. */
export type JsonBody = { present: false } | { present: true; value: unknown };

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/;

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

function tooLarge(limit: number): AppError {
  return new AppError("BODY_TOO_LARGE", `The request body is larger than the limit of ${formatBytes(limit)}`, {
    hint: "Send a smaller body, or pass large data by reference (a URL or a network volume path).",
    details: { limitBytes: limit },
  });
}

/**
 * True when the request carries a body at all (same rule as type-is's
 * hasBody): a chunked body, or a non-zero Content-Length.
 */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  return length !== undefined && length !== "0";
}

/**
 * Checks Content-Type and Content-Encoding of a body route. Accepted:
 * `application/json` and `application/*+json`, and — because `curl -d` sends
 * `application/x-www-form-urlencoded` and people forget `-H` — that and
 * `text/plain`, with no charset or UTF-8, or no Content-Type at all; the body
 * must parse as JSON either way. Anything else (multipart, XML, …) is 415.
 * Cross-site browser requests, which can use those "simple" types without a
 * preflight, are refused before this by the cross-site guard.
 */
export function checkJsonContentType(req: IncomingMessage): void {
  const encoding = req.headers["content-encoding"]?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    throw new AppError("INVALID_BODY", `Content-Encoding "${encoding}" is not supported`, {
      status: 415,
      hint: "Send the JSON body uncompressed.",
    });
  }
  const header = req.headers["content-type"];
  if (header === undefined || header.trim() === "") return;
  const [type = "", ...params] = header.split(";").map((part) => part.trim());
  const charset = params
    .map((p) => p.split("="))
    .find(([k]) => k?.trim().toLowerCase() === "charset")?.[1]
    ?.trim()
    .replace(/^"|"$/g, "")
    .toLowerCase();
  const lower = type.toLowerCase();
  const typeOk = JSON_TYPE.test(lower) || lower === "application/x-www-form-urlencoded" || lower === "text/plain";
  if (!typeOk || (charset !== undefined && charset !== "utf-8" && charset !== "utf8")) {
    throw new AppError("INVALID_BODY", `Content-Type "${header}" is not supported; the body must be JSON`, {
      status: 415,
      hint: 'Send the body as JSON with "Content-Type: application/json" (curl: -H "Content-Type: application/json").',
    });
  }
}

/** Reads the raw body, failing as soon as it grows past `limit`. */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // Stop reading here; the 413 goes out with Connection: close, so the
        // rest of the upload is never read, let alone collected.
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const cutOff = (cause?: unknown): AppError =>
      new AppError("INVALID_INPUT", "The request body ended early (the client closed the connection)", { cause });
    const onError = (err: Error): void => {
      cleanup();
      reject(cutOff(err));
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(cutOff());
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/** Nesting depth of a JSON text, counted without recursion (strings skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads and parses a JSON body. Throws 400 INVALID_JSON (bad UTF-8, bad
 * JSON), 413 BODY_TOO_LARGE, 415 (INVALID_BODY) for a non-JSON content type,
 * 422 INVALID_BODY for nesting beyond `maxDepth`.
 */
export async function readJsonBody(req: IncomingMessage, options: ReadJsonBodyOptions): Promise<JsonBody> {
  if (!hasBody(req)) return { present: false };
  checkJsonContentType(req);
  const raw = await readRawBody(req, options.limit);
  let text: string;
  try {
    text = utf8.decode(raw); // also drops a leading BOM, which JSON.parse would reject
  } catch {
    throw new AppError("INVALID_JSON", "The request body is not valid UTF-8", { hint: "Send the body as UTF-8 encoded JSON." });
  }
  if (text.trim() === "") return { present: false };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new AppError("INVALID_JSON", `The request body is not valid JSON: ${detail}`, {
      hint: 'Check the body with a JSON validator; QB routes expect e.g. {"input": {…}}.',
    });
  }
  const maxDepth = options.maxDepth ?? 512;
  if (typeof value === "object" && value !== null && jsonDepth(text) > maxDepth) {
    throw new AppError("INVALID_BODY", `The request body is nested more than ${maxDepth} levels deep`, {
      hint: "Flatten the data structure.",
    });
  }
  return { present: true, value };
}
