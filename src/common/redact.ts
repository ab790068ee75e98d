/**
 * Secret redaction for everything we print. Secret values (the Runpod API key,
 * an emulator key) are registered once at start-up; any text that passes
 * through the logger has them replaced, and `Authorization`/`Bearer` values are
 * masked even when they were never registered.
 */

const secrets = new Set<string>();

/** Registers a value that must never be printed. Short values are ignored (they would mask ordinary text). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) secrets.add(value);
}

const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{6,}/g;
const AUTH_HEADER = /("?authorization"?\s*[:=]\s*"?)(?!Bearer\b)[^\s",}]{6,}/gi;
const API_KEY_PARAM = /\b(api_key=)[^&\s"]+/gi;

/** Returns `text` with every registered secret and bearer token masked. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join("***");
  }
  return out.replace(BEARER, "$1***").replace(AUTH_HEADER, "$1***").replace(API_KEY_PARAM, "$1***");
}
