/**
 * `flash login`: store the Runpod API key in `~/.runpod/config.toml`, where
 * runpod-python and Python Flash keep it too, so `flash dev`, `flash
 * endpoints` and `flash undeploy` find it without RUNPOD_API_KEY.
 */
import { AppError, hasCode } from "../../common/errors.js";
import { registerSecret } from "../../common/redact.js";
import { resolveRunpodConfig } from "../../runpod/config.js";
import { createControlPlaneClient } from "../../runpod/control-plane.js";
import { checkApiKey, credentialsPath, displayPath, saveApiKey } from "../../runpod/credentials.js";
import { parseCommandArgs } from "../command-args.js";
import type { Command } from "../context.js";
import { readKeyFromStdin, readHiddenLine } from "../prompt.js";

export const LOGIN_HELP = `Usage: flash login [options]

Store your Runpod API key in ~/.runpod/config.toml (profile "default", mode
0600), the file runpod-python and Python Flash read. flash dev, flash endpoints
and flash undeploy use it when RUNPOD_API_KEY is not set.

On a terminal the key is asked for without echo; otherwise it is read from
standard input (echo "$KEY" | flash login). Get a key at
https://console.runpod.io/user/settings (API Keys).

Options:
  --no-verify   save without checking the key with Runpod first
  -h, --help    show this help

Env: RUNPOD_API_BASE_URL (where the key is checked), FLASH_CREDENTIALS_FILE
(another file instead of ~/.runpod/config.toml).
`;

async function readKey(): Promise<string> {
  if (process.stdin.isTTY) return readHiddenLine("Runpod API key (input hidden): ", { input: process.stdin, output: process.stderr });
  return readKeyFromStdin(process.stdin);
}

/** Lists the account's endpoints with the key: a 401 means Runpod does not know it. */
async function verify(apiKey: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { apiBaseUrl } = resolveRunpodConfig({ ...env, RUNPOD_API_KEY: apiKey });
  const client = createControlPlaneClient({ apiKey, apiBaseUrl, retry: { attempts: 2, baseDelayMs: 250 } });
  try {
    await client.listEndpoints();
  } catch (error) {
    if (hasCode(error, "UNAUTHORIZED") || hasCode(error, "FORBIDDEN")) {
      throw new AppError("UNAUTHORIZED", `Runpod refused this API key (${apiBaseUrl}); nothing was saved`, {
        hint: "Copy the key again from https://console.runpod.io/user/settings (API Keys). A key needs read/write access to serverless endpoints.",
        cause: error,
      });
    }
    throw new AppError("UPSTREAM_ERROR", `could not check the key with Runpod: ${(error as Error).message}; nothing was saved`, {
      hint: "Check your connection (or RUNPOD_API_BASE_URL), or save it anyway with flash login --no-verify.",
      cause: error,
    });
  } finally {
    await client.close();
  }
}

const command: Command = async (argv, ctx) => {
  const { values } = parseCommandArgs("login", { args: argv, allowNegative: true, options: { verify: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    ctx.stdout(LOGIN_HELP);
    return 0;
  }
  const apiKey = checkApiKey(await readKey());
  registerSecret(apiKey);
  if (values.verify !== false) await verify(apiKey, ctx.env);
  const path = await saveApiKey(apiKey, ctx.env);
  ctx.stderr(`✓ Saved the API key to ${displayPath(path, ctx.env)} (profile "default", mode 0600)${values.verify !== false ? "; Runpod accepted it" : ""}.\n`);
  if (ctx.env.RUNPOD_API_KEY?.trim()) {
    ctx.stderr(`  Note: RUNPOD_API_KEY is set in this shell and wins over ${displayPath(credentialsPath(ctx.env), ctx.env)}.\n`);
  }
  return 0;
};

export default command;
