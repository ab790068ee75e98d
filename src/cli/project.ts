/** The project folder of a command (`--cwd`) and its `.env`, as `flash dev` takes them. */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { AppError } from "../common/errors.js";
import { registerSecret } from "../common/redact.js";
import { applyEnvFile, loadEnvFile } from "../dev/env-file.js";
import type { EnvFileState } from "../dev/env-file.js";
import type { ProjectEndpoints } from "../dev/project-endpoints.js";
import type { CommandContext } from "./context.js";

export async function resolveProjectRoot(ctx: CommandContext, cwd: string | undefined): Promise<string> {
  const root = resolve(ctx.cwd, cwd ?? ".");
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new AppError("INVALID_INPUT", `project folder ${root} does not exist`, { hint: "Run it in your project folder, or pass --cwd <dir>." });
  return root;
}

/** Applies the project's `.env` (found upward; the shell wins) to `env`. */
export async function loadProjectEnv(root: string, env: NodeJS.ProcessEnv): Promise<EnvFileState> {
  const loaded = await loadEnvFile(root, env);
  const state = applyEnvFile(env, loaded.values, undefined, loaded.path).state;
  registerSecret(env.RUNPOD_API_KEY);
  return state;
}

/**
 * The Runpod endpoints of the project a command runs in (`--cwd`), opened
 * after its `.env` is applied, since the key may be there. close() them.
 * Loaded here, not at the top: `flash dev` uses this file and needs none of it.
 */
export async function openCommandEndpoints(ctx: CommandContext, cwd: string | undefined, command: string): Promise<{ root: string; found: ProjectEndpoints }> {
  const root = await resolveProjectRoot(ctx, cwd);
  await loadProjectEnv(root, ctx.env);
  const { openProjectEndpoints } = await import("../dev/project-endpoints.js");
  return { root, found: await openProjectEndpoints({ projectRoot: root, env: ctx.env, logger: ctx.logger, command }) };
}
