/**
 * API-key checks. The job API, REST v2 and LB routes accept the emulator's
 * key as `Authorization: Bearer <k>` or the raw `<k>` (Runpod's docs show
 * both); worker routes take the raw per-emulator worker key, as runpod-python
 * sends it.
 */
import { timingSafeEqual } from "node:crypto";

/** The key carried by an Authorization header value, with or without the `Bearer` scheme. */
export function extractKey(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const value = header.trim();
  const match = /^Bearer\s+(.+)$/i.exec(value);
  return (match ? match[1]! : value).trim() || undefined;
}

function equal(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** True when the header carries one of `keys`. An empty `keys` list means auth is off. */
export function isAuthorized(header: string | undefined, keys: readonly string[]): boolean {
  if (keys.length === 0) return true;
  const key = extractKey(header);
  if (key === undefined) return false;
  return keys.some((k) => equal(k, key));
}
