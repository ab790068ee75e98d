/**
 * `flash run script.ts [args…]`: runs a script; its calls of remote
 * functions (remote() or Endpoint) and its Endpoint clients go to the
 * endpoints through the same backend as `flash dev` — the local emulator by
 * default, Runpod with a key (docs/internals.md, "Calls from a script").
 */
import { parseCommandArgs } from "../command-args.js";
import { AppError } from "../../common/errors.js";
import { registerSecret } from "../../common/redact.js";
import { resolveDevOptions } from "../../dev/dev-options.js";
import type { DevFlags } from "../../dev/dev-options.js";
import { resolveApiKey } from "../../runpod/credentials.js";
import type { Command } from "../context.js";
import { loadProjectEnv, resolveProjectRoot } from "../project.js";

export const RUN_HELP = `Usage: flash run [options] <script> [args…]

Run a TypeScript or JavaScript file with Node.js. Calling a remote function
(remote() or Endpoint) in it runs the function on its endpoint, provisioned
as flash dev provisions it: on Runpod with a key, else on the local emulator.
The options come before the script; everything after it is the script's
(process.argv is [node, script, ...args]). The exit code is the script's.

Options:
  --local          run on the local emulator even if a key is found
  --runpod         run on Runpod (needs a key)
  --cwd <dir>      the project folder (default: the current folder)
  -h, --help       show this help

The nearest .env from the project folder up to the repository root is loaded
(the shell's environment wins), and the script sees it. The key is
RUNPOD_API_KEY, else the one \`flash login\` stored in ~/.runpod/config.toml.
Code that calls remote functions in the file that defines them goes under
\`if (import.meta.main) { … }\`: the file is loaded again on the endpoint.
`;

interface ParsedRunArgs {
  flags: DevFlags;
  cwd?: string;
  help: boolean;
  script?: string;
  args: string[];
}

/** Options up to the first word that is not one; that word is the script, the rest its arguments. */
export function parseRunArgs(argv: readonly string[]): ParsedRunArgs {
  let split = argv.length;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      split = i + 1;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      split = i;
      break;
    }
    if (arg === "--cwd") i++; // its value
  }
  const own = argv.slice(0, split).filter((a) => a !== "--");
  const parsed = parseCommandArgs(
    "run",
    {
      args: own,
      allowPositionals: false,
      options: {
        local: { type: "boolean" },
        runpod: { type: "boolean" },
        cwd: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    },
    "Run `flash run --help` for the options; they come before the script.",
  );
  const v = parsed.values;
  const flags: DevFlags = {};
  if (v.local !== undefined) flags.local = v.local;
  if (v.runpod !== undefined) flags.runpod = v.runpod;
  const [script, ...args] = argv.slice(split);
  return { flags, ...(v.cwd !== undefined ? { cwd: v.cwd } : {}), help: v.help === true, ...(script !== undefined ? { script } : {}), args };
}

const command: Command = async (argv, ctx) => {
  const parsed = parseRunArgs(argv);
  if (parsed.help) {
    ctx.stdout(RUN_HELP);
    return 0;
  }
  if (!parsed.script) throw new AppError("INVALID_INPUT", "flash run needs a script to run", { hint: "e.g. flash run main.ts; see flash run --help." });
  const root = await resolveProjectRoot(ctx, parsed.cwd);
  const env = ctx.env;
  const envFile = await loadProjectEnv(root, env);
  const key = await resolveApiKey(env);
  registerSecret(key.apiKey);
  const options = resolveDevOptions(parsed.flags, env, root, { key, ...(envFile.applied.has("RUNPOD_API_KEY") && envFile.path ? { envFile: envFile.path } : {}) });

  // Loaded only here: esbuild, the emulator and the clients.
  const { startScriptRun } = await import("../../dev/script-session.js");
  const run = await startScriptRun(
    { projectRoot: root, script: parsed.script, args: parsed.args, cwd: ctx.cwd, backend: options.backend, backendReason: options.backendReason, env, logger: ctx.logger },
    { print: (text) => ctx.stderr(text + "\n") },
  );
  ctx.onShutdown((signal, force) => run.interrupt(signal, force));
  return run.exitCode;
};

export default command;
