/**
 * `flash worker`: the worker runtime. Flags → WorkerOptions → runWorker();
 * the mode comes from the environment the platform (or the emulator) gives
 * the process. See src/worker/index.ts.
 */
import { AppError } from "../../common/errors.js";
import { registerSecret } from "../../common/redact.js";
import type { WorkerHandle } from "../../worker/index.js";
import type { Command } from "../context.js";

const USAGE = `Usage: flash worker [options]

Runs the flash-ts worker runtime, as a Runpod Serverless worker does.

Mode (from the environment):
  RUNPOD_WEBHOOK_GET_JOB set   queue-based: take jobs from the platform
  PORT set                     load-balanced: HTTP server (POST /execute, GET /ping)
  neither                      run one job from --test-input or ./test_input.json, print the result

Options:
  --handler <file>       run a plain Runpod handler (default export gets the job {id, input})
                         instead of flash functions
  --concurrency <n>      jobs at a time in queue mode (default 1; env FLASH_WORKER_CONCURRENCY,
                         or the handler module's \`concurrency\` export)
  --test-input <json>    run this one job locally and exit (e.g. '{"input": {"name": "x"}}')
  -h, --help             show this help

Environment: FLASH_WORKER_CACHE (module cache, default <tmpdir>/flash-ts-worker),
FLASH_WORKER_HOST (LB host, default 0.0.0.0), FLASH_WORKER_ECHO_LOGS=1 (also print captured
function output), HEALTH_CHECK_PATH, PORT_HEALTH, RUNPOD_WEBHOOK_*, RUNPOD_POD_ID,
RUNPOD_AI_API_KEY, RUNPOD_PING_INTERVAL.
`;

export interface WorkerFlags {
  help: boolean;
  handler?: string;
  concurrency?: number;
  testInput?: string;
}

function usageError(message: string): never {
  throw new AppError("INVALID_INPUT", `flash worker: ${message}`, { hint: "Run `flash worker --help` for the options." });
}

/** Parses `flash worker` flags (`--flag value` or `--flag=value`). */
export function parseWorkerFlags(argv: readonly string[]): WorkerFlags {
  const flags: WorkerFlags = { help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "-h" || arg === "--help") {
      flags.help = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) usageError(`${name} needs a value`);
      return next;
    };
    switch (name) {
      case "--handler": {
        const file = value();
        if (!file) usageError("--handler needs a file");
        flags.handler = file;
        break;
      }
      case "--concurrency": {
        const raw = value();
        const n = Number(raw);
        if (!/^\d+$/.test(raw) || n < 1 || n > 1000) usageError(`--concurrency must be a whole number from 1 to 1000 (got ${JSON.stringify(raw)})`);
        flags.concurrency = n;
        break;
      }
      case "--test-input":
      case "--test_input": // runpod-python's spelling
        flags.testInput = value();
        break;
      default:
        usageError(arg.startsWith("-") ? `unknown option ${name}` : `unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  return flags;
}

const command: Command = async (argv, ctx) => {
  const flags = parseWorkerFlags(argv);
  if (flags.help) {
    ctx.stdout(USAGE);
    return 0;
  }
  registerSecret(ctx.env.RUNPOD_AI_API_KEY);
  registerSecret(ctx.env.RUNPOD_API_KEY);

  // Signals can arrive while the runtime starts; they are applied once it is up.
  const pending: { requested?: "close" | "abort"; handle?: WorkerHandle } = {};
  const apply = (h: WorkerHandle, how: "close" | "abort"): void => void (how === "abort" ? h.abort() : h.close());

  const { installProcessGuard } = await import("../../worker/process-guard.js");
  installProcessGuard({
    env: ctx.env,
    logger: ctx.logger,
    onOrphaned: () => {
      if (pending.handle) apply(pending.handle, "abort");
      else pending.requested = "abort";
    },
  });
  ctx.onShutdown((signal, force) => {
    const how = force ? "abort" : "close";
    if (force) ctx.logger.warn(`${signal} again: stopping now`);
    else ctx.logger.info(`${signal}: finishing work in progress, then stopping (again to force)`);
    if (pending.handle) apply(pending.handle, how);
    else pending.requested = how;
  });

  const [{ runWorker }, { nestedCalls }, { packagedRuntimeDelivery }] = await Promise.all([
    import("../../worker/index.js"),
    import("../../worker/nested-calls.js"),
    import("../../worker/runtime-source.js"),
  ]);
  const handle = await runWorker({
    env: ctx.env,
    cwd: ctx.cwd,
    logger: ctx.logger.child("worker"),
    stdout: ctx.stdout,
    calls: nestedCalls(ctx.env, ctx.logger.child("nested"), () => packagedRuntimeDelivery(ctx.logger)),
    ...(flags.handler !== undefined ? { handler: flags.handler } : {}),
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(flags.testInput !== undefined ? { testInput: flags.testInput } : {}),
  });
  pending.handle = handle;
  if (pending.requested) apply(handle, pending.requested);
  await handle.closed;
  return handle.exitCode;
};
export default command;
