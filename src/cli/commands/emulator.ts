/** `flash emulator`: run the local Runpod Serverless emulator until Ctrl-C. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { AppError } from "../../common/errors.js";
import type { Command } from "../context.js";

const USAGE = `Usage: flash emulator [options]

Runs a local emulator of Runpod Serverless (REST v2, job API, worker protocol,
load-balanced routing) with real workers: local processes, or Docker containers.

Options:
  --port <n>         port to listen on (default 0: any free port)
  --host <host>      interface to bind (default 127.0.0.1)
  --state-dir <dir>  keep endpoints in <dir> so their ids survive restarts
  --api-key-file <f> require the key in file <f> from clients (Bearer or raw
                     Authorization); or set FLASH_EMULATOR_API_KEY
  --api-key <key>    the same, but visible to every local user in \`ps\`
  --workers <mode>   process (default): local processes; container: Docker containers of
                     each endpoint's image, started as Runpod starts them (env FLASH_EMULATOR_WORKERS)
  --worker-egress <p>  container workers may reach: public (default: the internet, never this
                     machine or private networks), none, or host names (a,b,.c) (env FLASH_EMULATOR_WORKER_EGRESS)
  -h, --help         show this help

Without a key, any local process can create endpoints, and an endpoint's
start command runs as a shell command under your account: set a key on a
machine others share. Off loopback (--host 0.0.0.0) a key is required.
`;

const command: Command = async (argv, ctx) => {
  let values: { port?: string; host?: string; "state-dir"?: string; "api-key"?: string; "api-key-file"?: string; workers?: string; "worker-egress"?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "state-dir": { type: "string" },
        "api-key": { type: "string" },
        "api-key-file": { type: "string" },
        workers: { type: "string" },
        "worker-egress": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new AppError("INVALID_INPUT", (error as Error).message, { hint: "Run `flash emulator --help` for the options." });
  }
  if (values.help) {
    ctx.stdout(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AppError("INVALID_INPUT", `--port must be an integer between 0 and 65535, got "${values.port}"`);
  }

  const [{ startEmulator, parseWorkerMode, parseEgressPolicy }, { resolveEmulatorKey }] = await Promise.all([import("../../emulator/index.js"), import("../../emulator/auth.js")]);
  const apiKey = await resolveEmulatorKey({
    flag: values["api-key"],
    file: values["api-key-file"] === undefined ? undefined : resolve(ctx.cwd, values["api-key-file"]),
    env: ctx.env,
  });
  for (const warning of apiKey.warnings) ctx.logger.warn(warning);
  const host = values.host ?? "127.0.0.1";
  const workers = parseWorkerMode(values.workers ?? ctx.env.FLASH_EMULATOR_WORKERS, values.workers !== undefined ? "--workers" : "FLASH_EMULATOR_WORKERS");
  const workerEgress = parseEgressPolicy(values["worker-egress"] ?? ctx.env.FLASH_EMULATOR_WORKER_EGRESS);
  const emulator = await startEmulator({
    workers,
    workerEgress,
    port,
    host,
    ...(values["state-dir"] ? { stateDir: resolve(ctx.cwd, values["state-dir"]) } : {}),
    ...(apiKey.key ? { apiKey: apiKey.key } : {}),
    logger: ctx.logger,
    cwd: ctx.cwd,
    env: ctx.env,
  });

  ctx.stdout(
    [
      `Runpod Serverless emulator listening on ${emulator.url}`,
      "Point clients at it with:",
      `  export RUNPOD_API_BASE_URL=${emulator.url}`,
      `  export RUNPOD_ENDPOINT_BASE_URL=${emulator.url}/v2`,
      "",
    ].join("\n"),
  );
  if (apiKey.key) {
    ctx.logger.info(`Clients must send the API key (from ${apiKey.source}).`);
  } else {
    ctx.logger.warn(
      "Running without an API key: any process on this machine can create endpoints here, and an endpoint's start command runs as a shell command under your account. " +
        "Set FLASH_EMULATOR_API_KEY or pass --api-key-file <file> on a machine others share.",
    );
  }
  if (values["state-dir"]) ctx.logger.info(`Endpoints are kept in ${resolve(ctx.cwd, values["state-dir"])}`);
  ctx.logger.info("Press Ctrl-C to stop.");

  await new Promise<void>((done) => {
    ctx.onShutdown((_signal, force) => {
      // A second Ctrl-C does not wait for workers' grace period.
      if (force) void emulator.close({ force: true });
      done();
    });
  });
  ctx.logger.info("Stopping the emulator and its workers…");
  const started = Date.now();
  await emulator.close();
  ctx.logger.info(`Stopped in ${Date.now() - started} ms`);
  return 0;
};

export default command;
