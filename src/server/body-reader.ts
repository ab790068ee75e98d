/**
 * The dev server's JSON bodies, on the shared reader (common/request-body.ts):
 * which content types may carry JSON, and a body read with the size limit,
 * the memory budget and the nesting limit. An oversized or refused body is
 * never buffered; the caller answers 413 or 503 and closes the connection.
 */
import type { IncomingMessage } from "node:http";
import type { ByteBudget } from "../common/byte-budget.js";
import { AppError } from "../common/errors.js";
import { hasBody, readJsonRequest } from "../common/request-body.js";
import type { CloseSignal, JsonBody } from "../common/request-body.js";

/** Options of {@link readJsonBody}. */
export interface ReadJsonBodyOptions {
  /** Maximum body size in bytes. */
  limit: number;
  /**
   * Maximum nesting of arrays/objects; deeper bodies are refused (422).
   * @default MAX_JSON_DEPTH (512)
   */
  maxDepth?: number;
  /** Request bodies in flight, shared by every request of the server. */
  budget?: ByteBudget;
  /** The response: the body's bytes count against `budget` until it closes. */
  heldUntil?: CloseSignal;
}

export type { JsonBody } from "../common/request-body.js";

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/;

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

/**
 * Reads and parses a JSON body. Throws 400 INVALID_JSON (bad UTF-8, bad
 * JSON), 413 BODY_TOO_LARGE, 415 (INVALID_BODY) for a non-JSON content type,
 * 422 INVALID_BODY for nesting beyond `maxDepth`, 503 SERVICE_UNAVAILABLE
 * when the server already holds its budget of bodies.
 */
export async function readJsonBody(req: IncomingMessage, options: ReadJsonBodyOptions): Promise<JsonBody> {
  if (!hasBody(req)) return { present: false };
  checkJsonContentType(req);
  const { body } = await readJsonRequest(req, {
    ...options,
    overloadHint: "Retry after the time in Retry-After, send fewer large bodies at once, or raise FLASH_BODY_MEMORY_MB.",
  });
  return body;
}
