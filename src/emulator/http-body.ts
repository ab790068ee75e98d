/**
 * Request bodies: read with a size limit and parsed as JSON whatever the
 * Content-Type says (runpod-python posts JSON as form-urlencoded).
 */
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error.js";

/** Size limits per API family, in bytes (Runpod's documented limits where there are any). */
export const BODY_LIMITS = {
  run: 10 * 1024 * 1024,
  runsync: 20 * 1024 * 1024,
  rest: 1024 * 1024,
  lb: 30 * 1024 * 1024,
  /** Results can be as large as a runsync payload and then some; Runpod documents no limit. */
  jobDone: 50 * 1024 * 1024,
  /** Runpod documents 1 MB per stream chunk. */
  jobStream: 1024 * 1024,
  /** Bodies we ignore (cancel, purge-queue, status): small, but read so keep-alive stays healthy. */
  small: 64 * 1024,
} as const;

/**
 * Beyond this much over the limit we stop reading and drop the connection:
 * reading (and discarding) a moderately oversized body first lets clients see
 * the 413 instead of a reset socket, but we will not swallow gigabytes.
 */
const DISCARD_CAP = 64 * 1024 * 1024;

/** Reads the whole body, or throws a 413 HttpError once it exceeds `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  // Always with Connection: close, so an oversized upload is not read to its end to reuse the socket.
  const tooLarge = (): HttpError => new HttpError(413, `request body exceeds the limit of ${formatBytes(limit)}`, undefined, { closeConnection: true });
  if (Number.isFinite(declared) && declared > limit) {
    await discard(req, declared);
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      over = true;
      if (size > limit + DISCARD_CAP) {
        req.socket.destroy();
        break;
      }
      continue;
    }
    chunks.push(chunk);
  }
  if (over) throw tooLarge();
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

async function discard(req: IncomingMessage, declared: number): Promise<void> {
  // Answer without reading; the 413's Connection: close makes Node close the socket after it.
  if (declared > DISCARD_CAP) return;
  for await (const _chunk of req as AsyncIterable<Buffer>) {
    // drain
  }
}

/** Parses JSON; an empty body gives `empty`. Throws a 400 HttpError for malformed JSON. */
export function parseJson(body: Buffer, empty: unknown = undefined): unknown {
  if (body.length === 0) return empty;
  const text = body.toString("utf8");
  if (text.trim() === "") return empty;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `invalid JSON body: ${(error as Error).message}`);
  }
}

/** Reads and parses a JSON body in one step. */
export async function readJson(req: IncomingMessage, limit: number, empty: unknown = undefined): Promise<unknown> {
  return parseJson(await readBody(req, limit), empty);
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MB` : `${Math.round(bytes / 1024)} KB`;
}
