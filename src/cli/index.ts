#!/usr/bin/env node
/**
 * The `flash` binary. The only place that exits the process or installs
 * signal handlers; commands are loaded lazily so `flash worker` does not pay
 * for Koa, esbuild or dockerode.
 */
import { createLogger } from "../common/logger.js";
import { isAppError } from "../common/errors.js";
import { renderError } from "./render-error.js";
import type { Command, CommandContext } from "./context.js";

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  init: { summary: "write a new project: example workers, tsconfig, compose.yaml, devcontainer", load: () => import("./commands/init.js") },
  dev: { summary: "serve the project's remote functions on localhost with hot reload", load: () => import("./commands/dev.js") },
  run: { summary: "run a script whose remote function calls run on their endpoints", load: () => import("./commands/run.js") },
  worker: { summary: "run the worker runtime (what a Runpod worker runs)", load: () => import("./commands/worker.js") },
  emulator: { summary: "run the local emulator of Runpod Serverless", load: () => import("./commands/emulator.js") },
  endpoints: { summary: "list this project's endpoints on Runpod", load: () => import("./commands/endpoints.js") },
  undeploy: { summary: "delete this project's endpoints on Runpod", load: () => import("./commands/undeploy.js") },
  login: { summary: "store your Runpod API key in ~/.runpod/config.toml", load: () => import("./commands/login.js") },
};

function usage(): string {
  const lines = ["Usage: flash <command> [options]", "", "Commands:"];
  for (const [name, { summary }] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${summary}`);
  lines.push("", "Run `flash <command> --help` for the options of a command.");
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage() + "\n");
    return name ? 0 : 1;
  }
  if (name === "--version" || name === "-v") {
    const { readPackageVersion } = await import("../common/package-info.js");
    process.stdout.write(readPackageVersion() + "\n");
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`flash: unknown command "${name}"\n\n${usage()}\n`);
    return 1;
  }

  const shutdownHandlers: ((signal: NodeJS.Signals, force: boolean) => void)[] = [];
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (shutdownHandlers.length === 0 || signals > 2) process.exit(130);
    for (const handler of shutdownHandlers) handler(signal, signals > 1);
    // A forced stop gets a moment to clean up (e.g. remove a container), then exits regardless.
    if (signals > 1) setTimeout(() => process.exit(130), 5000).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const ctx: CommandContext = {
    cwd: process.cwd(),
    env: process.env,
    logger: createLogger(),
    stderr: (text) => void process.stderr.write(text),
    stdout: (text) => void process.stdout.write(text),
    onShutdown: (handler) => void shutdownHandlers.push(handler),
    isInteractive: process.stdin.isTTY === true && process.stdout.isTTY === true,
  };
  const command = (await entry.load()).default;
  return command(rest, ctx);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Commands close their own handles; a stray timer in user code must not keep us alive.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  (error: unknown) => {
    process.stderr.write(renderError(error) + "\n");
    process.exit(isAppError(error) && error.isUserError ? 1 : 2);
  },
);
