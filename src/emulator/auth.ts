/**
 * API keys. The job API, REST v2 and LB routes accept the emulator's key as
 * `Authorization: Bearer <k>` or the raw `<k>` (Runpod's docs show both);
 * worker routes take the raw per-emulator worker key, as runpod-python sends
 * it. Also where `flash emulator` finds its key, and when it may run without.
 */
import { timingSafeEqual } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { AppError } from "../common/errors.js";

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

/** The variable the emulator's client key is read from (`flash emulator`, and `flash dev`'s embedded emulator). */
export const EMULATOR_KEY_ENV = "FLASH_EMULATOR_API_KEY";

/** Where the emulator's key came from, for `flash emulator`. */
export interface ResolvedEmulatorKey {
  key: string | undefined;
  source: "--api-key" | "--api-key-file" | typeof EMULATOR_KEY_ENV | "none";
  /** Things the user should know (a key on the command line, a key file others can read). */
  warnings: string[];
}

const KEY_HINT = `Put the key in ${EMULATOR_KEY_ENV} or in a file only you can read (--api-key-file), not on the command line.`;

/**
 * The key of `flash emulator`, from `--api-key`, `--api-key-file` or
 * FLASH_EMULATOR_API_KEY (a flag beats the variable). A key on the command line
 * is visible to every local user through `ps`, so the other two exist and
 * using the flag is warned about. A key file's content is trimmed (a trailing
 * newline is not part of the key); an empty or unreadable file is an error.
 */
export async function resolveEmulatorKey(input: { flag?: string | undefined; file?: string | undefined; env: NodeJS.ProcessEnv }): Promise<ResolvedEmulatorKey> {
  if (input.flag !== undefined && input.file !== undefined) {
    throw new AppError("INVALID_INPUT", "give either --api-key or --api-key-file, not both", { hint: KEY_HINT });
  }
  if (input.file !== undefined) {
    let text: string;
    let mode: number;
    try {
      [text, mode] = await Promise.all([readFile(input.file, "utf8"), stat(input.file).then((s) => s.mode)]);
    } catch (error) {
      throw new AppError("INVALID_INPUT", `cannot read the API key file ${input.file}: ${(error as Error).message}`, {
        hint: "Check the path; the file holds the key alone (e.g. `openssl rand -hex 24 > emulator.key && chmod 600 emulator.key`).",
        cause: error,
      });
    }
    const key = text.trim();
    if (key === "") throw new AppError("INVALID_INPUT", `the API key file ${input.file} is empty`, { hint: "Write the key into it (one line)." });
    const warnings = (mode & 0o077) !== 0 ? [`the API key file ${input.file} can be read by other users; run: chmod 600 ${input.file}`] : [];
    return { key, source: "--api-key-file", warnings };
  }
  if (input.flag !== undefined) {
    const key = input.flag.trim();
    if (key === "") throw new AppError("INVALID_INPUT", "--api-key is empty", { hint: KEY_HINT });
    return { key, source: "--api-key", warnings: [`--api-key is visible to every user of this machine (ps). ${KEY_HINT}`] };
  }
  const fromEnv = input.env[EMULATOR_KEY_ENV]?.trim();
  if (fromEnv) return { key: fromEnv, source: EMULATOR_KEY_ENV, warnings: [] };
  return { key: undefined, source: "none", warnings: [] };
}

/**
 * An emulator without a key runs any endpoint's `args` as a shell command for
 * whoever can reach it. On loopback that is every local process (warned
 * about by the CLI); on any other interface it is the network, so it is
 * refused.
 */
export function assertKeyForBind(host: string, apiKey: string | undefined, isLoopback: (host: string) => boolean): void {
  if (apiKey || isLoopback(host)) return;
  throw new AppError("INVALID_INPUT", `refusing to listen on ${host} without an API key: anyone who can reach it could run shell commands on this machine`, {
    hint: `Set ${EMULATOR_KEY_ENV} or pass --api-key-file <file>, or listen on 127.0.0.1.`,
  });
}
