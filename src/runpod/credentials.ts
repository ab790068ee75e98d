/**
 * The Runpod API key, from the environment or from the credentials file that
 * runpod-python and Python Flash share: `~/.runpod/config.toml`, a TOML file
 * of profiles where flash reads and writes `api_key` of `[default]`
 * (docs/internals.md, "Credentials"). `RUNPOD_API_KEY` (shell or `.env`) wins
 * over the file.
 *
 * Only the TOML the file holds in practice is read: tables, comments, and
 * string values; anything else in it is left alone, and writing the key
 * changes only the `api_key` line of `[default]`, so other profiles and
 * settings survive a `flash login`.
 */
import { chmod, mkdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, sep } from "node:path";
import { writeFileAtomic } from "../common/atomic-write.js";
import { AppError } from "../common/errors.js";

/** Points flash at another credentials file (tests; several accounts). */
export const CREDENTIALS_FILE_ENV = "FLASH_CREDENTIALS_FILE";
/** The profile runpod-python and Python Flash read. */
export const DEFAULT_PROFILE = "default";
const KEY_NAME = "api_key";

/** Where the API key came from. */
export type ApiKeySource = "env" | "credentials" | "none";

export interface ApiKeyResolution {
  apiKey: string | undefined;
  source: ApiKeySource;
  /** The credentials file looked at (absolute). */
  path: string;
  /** Why the file gave no key although it exists (unreadable, not TOML, no [default] api_key). */
  problem?: string;
}

/** The home folder the way runpod-python's `expanduser` finds it: `HOME` first. */
function home(env: NodeJS.ProcessEnv): string {
  return env.HOME?.trim() || homedir();
}

/** `~/.runpod/config.toml`, or `FLASH_CREDENTIALS_FILE`. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return env[CREDENTIALS_FILE_ENV]?.trim() || join(home(env), ".runpod", "config.toml");
}

/** A path for people: the home folder as `~`. */
export function displayPath(path: string, env: NodeJS.ProcessEnv = process.env): string {
  const h = home(env);
  return path === h || path.startsWith(h + sep) ? `~${path.slice(h.length)}` : path;
}

/** One line of the file, as far as flash cares. */
type Line = { kind: "table"; name: string } | { kind: "string"; key: string; value: string } | { kind: "other" };

const BARE = /^[A-Za-z0-9_-]+$/;

function unquoteKey(raw: string): string | undefined {
  const key = raw.trim();
  if (BARE.test(key)) return key;
  const quoted = /^"((?:[^"\\]|\\.)*)"$|^'([^']*)'$/.exec(key);
  if (!quoted) return undefined;
  return quoted[2] ?? unescapeBasic(quoted[1] ?? "");
}

function unescapeBasic(text: string): string | undefined {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = text[++i];
    const simple: Record<string, string> = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", '"': '"', "\\": "\\" };
    if (next !== undefined && next in simple) out += simple[next];
    else if (next === "u" || next === "U") {
      const len = next === "u" ? 4 : 8;
      const hex = text.slice(i + 1, i + 1 + len);
      if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== len) return undefined;
      out += String.fromCodePoint(parseInt(hex, 16));
      i += len;
    } else return undefined;
  }
  return out;
}

/** Reads one line: a table header, `key = "string"` / `key = 'literal'`, or anything else. */
function parseLine(line: string): Line | "invalid" {
  const text = line.trim();
  if (text === "" || text.startsWith("#")) return { kind: "other" };
  const table = /^\[\s*([^\][]+?)\s*\]\s*(#.*)?$/.exec(text);
  if (table) {
    const name = unquoteKey(table[1]!);
    return name === undefined ? "invalid" : { kind: "table", name };
  }
  if (text.startsWith("[[")) return { kind: "other" };
  const pair = /^((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.-]+))\s*=\s*(.*)$/.exec(text);
  if (!pair) return "invalid";
  const key = unquoteKey(pair[1]!);
  const rest = pair[2]!;
  const basic = /^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(rest);
  const literal = /^'([^']*)'\s*(#.*)?$/.exec(rest);
  if (key !== undefined && basic) {
    const value = unescapeBasic(basic[1]!);
    return value === undefined ? "invalid" : { kind: "string", key, value };
  }
  if (key !== undefined && literal) return { kind: "string", key, value: literal[1]! };
  // A string that does not end where it should (multi-line strings aside) is a broken file.
  if (/^["']/.test(rest) && !/^("""|''')/.test(rest)) return "invalid";
  return { kind: "other" };
}

/** The `api_key` of `profile` in the file's text, or why there is none. */
export function readApiKeyFromToml(text: string, profile = DEFAULT_PROFILE): { apiKey?: string; problem?: string } {
  let table = "";
  let found: string | undefined;
  let sawProfile = false;
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const parsed = parseLine(line);
    if (parsed === "invalid") return { problem: `it is not valid TOML (line ${index + 1})` };
    if (parsed.kind === "table") {
      table = parsed.name;
      if (table === profile) sawProfile = true;
    } else if (parsed.kind === "string" && table === profile && parsed.key === KEY_NAME) found = parsed.value;
  }
  if (found?.trim()) return { apiKey: found.trim() };
  return { problem: sawProfile ? `its [${profile}] profile has no ${KEY_NAME}` : `it has no [${profile}] profile` };
}

/** `text` with `api_key` of `profile` set to `apiKey`; everything else as it was. */
export function writeApiKeyToToml(text: string, apiKey: string, profile = DEFAULT_PROFILE): string {
  const assignment = `${KEY_NAME} = "${apiKey}"`;
  const lines = text === "" ? [] : text.replace(/\r?\n$/, "").split(/\r?\n/);
  let table = "";
  let header = -1;
  for (const [index, line] of lines.entries()) {
    const parsed = parseLine(line);
    if (parsed === "invalid") continue;
    if (parsed.kind === "table") {
      table = parsed.name;
      if (table === profile) header = index;
    } else if (parsed.kind === "string" && table === profile && parsed.key === KEY_NAME) {
      lines[index] = assignment;
      return lines.join("\n") + "\n";
    }
  }
  if (header < 0) return [`[${profile}]`, assignment, ...(lines.length > 0 ? ["", ...lines] : [])].join("\n") + "\n";
  lines.splice(header + 1, 0, assignment);
  return lines.join("\n") + "\n";
}

/**
 * Checks a key typed or piped in: one line of visible characters. Runpod keys
 * are `rpa_` and letters and digits; anything that could not be a key (spaces,
 * quotes) is refused rather than written into the file.
 */
export function checkApiKey(raw: string): string {
  const key = raw.trim();
  if (key === "") throw new AppError("INVALID_INPUT", "no API key was given", { hint: "Paste the key from https://console.runpod.io/user/settings (API Keys)." });
  if (key.length > 512 || !/^[\x21-\x7e]+$/.test(key) || /["'\\]/.test(key)) {
    throw new AppError("INVALID_INPUT", "that does not look like a Runpod API key (it has spaces, quotes or other characters a key does not have)", {
      hint: "Copy the key again from https://console.runpod.io/user/settings (API Keys), and paste it alone.",
    });
  }
  return key;
}

/** The key of the credentials file, or why it gives none. */
export async function readCredentials(env: NodeJS.ProcessEnv = process.env): Promise<{ apiKey?: string; path: string; problem?: string; exists: boolean }> {
  const path = credentialsPath(env);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { path, exists: false };
    return { path, exists: true, problem: `it cannot be read (${(error as Error).message})` };
  }
  return { path, exists: true, ...readApiKeyFromToml(text) };
}

/** RUNPOD_API_KEY if set (not blank), else the credentials file's key. */
export async function resolveApiKey(env: NodeJS.ProcessEnv = process.env): Promise<ApiKeyResolution> {
  const fromEnv = env.RUNPOD_API_KEY?.trim();
  const path = credentialsPath(env);
  if (fromEnv) return { apiKey: fromEnv, source: "env", path };
  const file = await readCredentials(env);
  if (file.apiKey) return { apiKey: file.apiKey, source: "credentials", path };
  return { apiKey: undefined, source: "none", path, ...(file.exists && file.problem ? { problem: file.problem } : {}) };
}

/**
 * Stores `apiKey` as `[default] api_key` in the credentials file: mode 0600,
 * its folder 0700 (narrowed when wider: the folder holds keys). Returns the path.
 */
export async function saveApiKey(apiKey: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const key = checkApiKey(apiKey);
  const path = credentialsPath(env);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
  let text = "";
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new AppError("INVALID_CONFIG", `cannot read ${path}: ${(error as Error).message}`, { hint: `Fix the file's permissions, or move it away and run flash login again.`, cause: error });
    }
  }
  // The temp file is created 0600, so the key is never readable by others, not even for a moment.
  await writeFileAtomic(path, writeApiKeyToToml(text, key), 0o600);
  await chmod(path, 0o600);
  return path;
}
