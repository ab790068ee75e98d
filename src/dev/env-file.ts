/**
 * `.env` handling for `flash dev`: values from `<project>/.env` fill in
 * variables the shell did not set (the shell wins). When the file changes,
 * the previous file values are taken back out and the new ones applied, so
 * a restart sees exactly "shell + current .env".
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "dotenv";
import { AppError } from "../shared/errors.js";

export interface EnvFileState {
  /** Keys whose value currently comes from the file. */
  applied: Map<string, string>;
}

/** Reads and parses `<root>/.env`; a missing file is an empty one. */
export async function readEnvFile(root: string): Promise<Record<string, string>> {
  const path = join(root, ".env");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new AppError("INVALID_CONFIG", `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parse(text);
}

/**
 * Applies file values to `env` where the shell did not set them, undoing the
 * values a previous call applied. Returns the new state and the keys whose
 * effective value changed.
 */
export function applyEnvFile(
  env: NodeJS.ProcessEnv,
  values: Record<string, string>,
  previous: EnvFileState = { applied: new Map() },
): { state: EnvFileState; changed: string[] } {
  const changed = new Set<string>();
  for (const [key, value] of previous.applied) {
    // Only take back what we put there; if someone changed it since, leave it.
    if (env[key] === value) {
      delete env[key];
      changed.add(key);
    }
  }
  const applied = new Map<string, string>();
  for (const [key, value] of Object.entries(values)) {
    if (env[key] !== undefined) continue; // the shell wins
    env[key] = value;
    applied.set(key, value);
    if (previous.applied.get(key) === value) changed.delete(key);
    else changed.add(key);
  }
  return { state: { applied }, changed: [...changed].sort() };
}
