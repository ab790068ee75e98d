/**
 * `flash dev`: serve the project's remote functions on localhost with hot
 * reload — in the dev container when a Docker engine answers, directly
 * otherwise (or with --no-container, or inside the container itself).
 */
import { parseCommandArgs } from "../command-args.js";
import { AppError } from "../../common/errors.js";
import { registerSecret } from "../../common/redact.js";
import { resolveDevOptions } from "../../dev/dev-options.js";
import type { DevFlags } from "../../dev/dev-options.js";
import { displayPath, resolveApiKey } from "../../runpod/credentials.js";
import { askYesNo } from "../prompt.js";
import type { Command, CommandContext } from "../context.js";
import { runInContainerIfAvailable } from "./dev-container.js";
import { loadProjectEnv, resolveProjectRoot } from "../project.js";

export const DEV_HELP = `Usage: flash dev [options]

Serve every remote function of the project as an HTTP route, hot-reloaded on
every save, executed on Runpod Serverless (with a key) or on the local
emulator of it (no key, or --local).

Options:
  --host <host>        interface to listen on (env FLASH_HOST; default localhost)
  -p, --port <port>    port (env FLASH_PORT; default 8888; the next free one if taken)
  --reload             reload on file changes (default)
  --no-reload          do not watch files
  --local              run on the local emulator even if a key is found
  --runpod             run on Runpod (needs a key)
  --auto-provision     provision every endpoint before serving, delete orphans
  -y, --yes            do not ask before provisioning more than 5 endpoints
  --cleanup            delete this project's endpoints on exit
  --inspect[=port]     let a debugger attach to the workers (local emulator, on
                       this machine): each worker's inspector listens on
                       127.0.0.1, the first on port (default 9229), the next
                       on port+1, … up to port+15; execution timeouts are off
  --no-container       run directly on this machine, not in the dev container
                       (env FLASH_CONTAINER=0); --container requires it
  --image <image>      dev container image to use (env FLASH_DEV_IMAGE)
  --cwd <dir>          the project folder (default: the current folder)
  -h, --help           show this help

The nearest .env from the project folder up to the repository root is loaded
(the shell's environment wins); editing it reloads with the new values. The
key is RUNPOD_API_KEY, else the one \`flash login\` stored in
~/.runpod/config.toml.
`;

interface ParsedDevArgs {
  flags: DevFlags;
  /** --container (true) or --no-container (false). */
  container: boolean | undefined;
  image?: string;
  cwd?: string;
  help: boolean;
  /** The options to forward to a `flash dev` inside the container. */
  forward: string[];
}

export function parseDevArgs(argv: string[]): ParsedDevArgs {
  const parsed = parseCommandArgs("dev", {
    // `--inspect` alone, as Node takes it: a string option needs a value.
    args: argv.map((arg) => (arg === "--inspect" ? "--inspect=" : arg)),
    allowNegative: true,
    options: {
      host: { type: "string" },
      port: { type: "string", short: "p" },
      reload: { type: "boolean" },
      local: { type: "boolean" },
      runpod: { type: "boolean" },
      "auto-provision": { type: "boolean" },
      yes: { type: "boolean", short: "y" },
      cleanup: { type: "boolean" },
      inspect: { type: "string" },
      container: { type: "boolean" },
      image: { type: "string" },
      cwd: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const v = parsed.values;
  const flags: DevFlags = {};
  if (v.host !== undefined) flags.host = v.host;
  if (v.port !== undefined) flags.port = v.port;
  if (v.reload !== undefined) flags.reload = v.reload;
  if (v.local !== undefined) flags.local = v.local;
  if (v.runpod !== undefined) flags.runpod = v.runpod;
  if (v["auto-provision"] !== undefined) flags.autoProvision = v["auto-provision"];
  if (v.yes !== undefined) flags.yes = v.yes;
  if (v.cleanup !== undefined) flags.cleanup = v.cleanup;
  if (v.inspect !== undefined) flags.inspect = v.inspect;
  const forward: string[] = [];
  if (flags.reload === false) forward.push("--no-reload");
  if (flags.local) forward.push("--local");
  if (flags.runpod) forward.push("--runpod");
  if (flags.autoProvision) forward.push("--auto-provision");
  if (flags.yes) forward.push("--yes");
  if (flags.cleanup) forward.push("--cleanup");
  return {
    flags,
    container: v.container,
    ...(v.image !== undefined ? { image: v.image } : {}),
    ...(v.cwd !== undefined ? { cwd: v.cwd } : {}),
    help: v.help === true,
    forward,
  };
}

function describeThrown(value: unknown): string {
  return value instanceof Error ? (value.stack ?? value.message) : String(value);
}

function confirmer(ctx: CommandContext): ((question: string) => Promise<boolean>) | undefined {
  if (!ctx.isInteractive) return undefined;
  return (question) => askYesNo(question, { input: process.stdin, output: process.stderr });
}

const command: Command = async (argv, ctx) => {
  const args = parseDevArgs(argv);
  if (args.help) {
    ctx.stdout(DEV_HELP);
    return 0;
  }
  const root = await resolveProjectRoot(ctx, args.cwd);
  const env = ctx.env;
  const envFile = await loadProjectEnv(root, env);
  const key = await resolveApiKey(env);
  registerSecret(key.apiKey);
  const options = resolveDevOptions(args.flags, env, root, { key, ...(envFile.applied.has("RUNPOD_API_KEY") && envFile.path ? { envFile: envFile.path } : {}) });

  // The workers' inspectors listen on 127.0.0.1, which a port published from a container does not reach.
  if (options.inspect && args.container === true) {
    throw new AppError("INVALID_INPUT", "--inspect runs flash dev on this machine: a debugger cannot reach workers inside the dev container", {
      hint: "Drop --container; in a devcontainer, run flash dev --inspect in its terminal.",
    });
  }
  const code = await runInContainerIfAvailable({
    ctx,
    root,
    options,
    flag: options.inspect ? false : args.container,
    image: args.image ?? env.FLASH_DEV_IMAGE,
    forward: args.forward,
    envFromFile: envFile.applied.keys(),
    ...(envFile.path ? { envFile: envFile.path } : {}),
    ...(key.source === "credentials" && key.apiKey && options.backend === "runpod" ? { handOverKey: { apiKey: key.apiKey, source: `${displayPath(key.path, env)} on the host` } } : {}),
  });
  if (code !== undefined) return code;

  // Local functions and module top-level code run in this process: a stray
  // rejection or throw in them is reported, not fatal to the dev server.
  process.on("unhandledRejection", (reason) => ctx.logger.error(`unhandled rejection (in a local function or module code?): ${describeThrown(reason)}`));
  process.on("uncaughtException", (error) => ctx.logger.error(`uncaught exception (in a local function or module code?): ${describeThrown(error)}`));

  const confirm = confirmer(ctx);
  // Loaded only to serve here: the host side of the dev container never needs Koa, esbuild or the clients.
  const [{ startDevSession }, { createConsoleRenderer }] = await Promise.all([import("../../dev/dev-session.js"), import("../../dev/console-renderer.js")]);
  // Live lines for calls in flight when stderr is a terminal (docs/internals.md, "Live call state"); plain lines otherwise.
  const terminal = process.stderr.isTTY === true && process.env.TERM !== "dumb" ? process.stderr : undefined;
  const session = await startDevSession(
    { ...options, env, logger: ctx.logger, envFile },
    { print: (text) => ctx.stderr(text + "\n"), render: createConsoleRenderer({ terminal }), ...(confirm ? { confirm } : {}) },
  );
  await new Promise<void>((resolveStop) => {
    ctx.onShutdown((_signal, force) => {
      if (force) {
        ctx.stderr("Forcing stop.\n");
        return;
      }
      ctx.stderr("\nStopping… (press Ctrl+C again to force)\n");
      resolveStop();
    });
  });
  await session.close();
  ctx.stderr("Server stopped.\n");
  return 0;
};

export default command;
