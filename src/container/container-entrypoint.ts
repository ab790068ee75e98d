#!/usr/bin/env node
/**
 * The dev image's entrypoint (under the engine's init): prepares the workspace, then runs
 * the command — `flash …` in this same process (no second Node), anything else
 * as a child with signals forwarded.
 *
 * Preparing means:
 * - `FLASH_PROJECT_DIR` (relative to /workspace) picks the project to serve;
 * - started as root (compose, devcontainer), it hands the dependency volume to
 *   the project's owner (or FLASH_UID/FLASH_GID) and drops to that user, so
 *   files written into the project stay the user's; started as a user (the
 *   host CLI runs the container as the host uid:gid) it runs as is;
 * - a HOME that the user can write (an arbitrary uid has none);
 * - FLASH_KEEP_ALIVE=1 (devcontainer): the command runs as a child and the
 *   container stays up after it exits;
 * - the project's npm dependencies installed when the lockfile changed (for
 *   any command, so a shell in the container sees them too; FLASH_SKIP_INSTALL=1
 *   skips it), and `flash-ts` resolvable to the image's own copy. A failed
 *   install stops here, with npm's reason, before anything is served;
 * - FLASH_DEPS_INSTALLED=1: a team project's container script (compose.yaml,
 *   written by `flash init`) has just run the install itself, to get the
 *   flash-ts this file is part of: recorded, not repeated.
 */
import { spawn } from "node:child_process";
import { accessSync, chownSync, constants, existsSync, mkdirSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { isAppError } from "../common/errors.js";
import { createLogger } from "../common/logger.js";
import { CLI_ENTRY, PACKAGE_ROOT } from "../common/package-info.js";
import { DEV_COMMAND, WORKSPACE } from "./container-settings.js";
import { ensureDependencies, linkOwnPackage } from "./workspace-deps.js";

const logger = createLogger({ prefix: "container" });
const DEFAULT_COMMAND = [...DEV_COMMAND];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const command = args.length > 0 ? args : DEFAULT_COMMAND;

  const projectDir = resolveProjectDir(process.env.FLASH_PROJECT_DIR);
  if (projectDir) process.chdir(projectDir);
  const cwd = process.cwd();

  dropPrivileges(cwd);
  ensureHome();

  const keepAlive = process.env.FLASH_KEEP_ALIVE === "1";
  if (process.env.FLASH_SKIP_INSTALL !== "1") {
    try {
      await ensureDependencies({ projectDir: cwd, logger, justInstalled: process.env.FLASH_DEPS_INSTALLED === "1" });
    } catch (error) {
      if (!isAppError(error)) throw error;
      logger.error(`✖ ${error.message}`);
      if (error.hint) logger.error(`  ${error.hint}`);
      if (!keepAlive) return 1;
      // Dev Containers: stay up, so a terminal can fix the project and start flash dev again.
      return stayUp(`${command.join(" ")} was not started; the container stays up (FLASH_KEEP_ALIVE=1).`);
    }
    // A convenience: without the link, bundles still resolve flash-ts (discovery links it for them).
    linkOwnPackage(cwd, PACKAGE_ROOT);
  }

  if (keepAlive) {
    // Dev Containers: the server is the container's main process, but the container must outlive it
    // (a crash or Ctrl-C in an attached terminal), so a terminal can start it again.
    const code = await runChild(command);
    return stayUp(`${command.join(" ")} exited with code ${code}; the container stays up (FLASH_KEEP_ALIVE=1).`);
  }

  if (command[0] === "flash") {
    logger.debug(`workspace ready; starting ${command.join(" ")} after ${Math.round(process.uptime() * 1000)} ms`);
    // The CLI runs its main() on import and owns the process from here (signals, exit code).
    process.argv = [process.execPath, CLI_ENTRY, ...command.slice(1)];
    await import(pathToFileURL(CLI_ENTRY).href);
    return -1;
  }
  return runChild(command);
}

async function stayUp(message: string): Promise<number> {
  logger.warn(message);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
    setInterval(() => {}, 1 << 30);
  });
  return 0;
}

function resolveProjectDir(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const dir = isAbsolute(value) ? value : join(WORKSPACE, value);
  if (!existsSync(dir)) {
    logger.error(`FLASH_PROJECT_DIR=${value}: ${dir} does not exist.`);
    process.exit(1);
  }
  return dir;
}

/** As root, become the owner of the project (or FLASH_UID:FLASH_GID); stay root only for a root-owned project. */
function dropPrivileges(projectDir: string): void {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return;
  const owner = statSync(projectDir);
  const uid = process.env.FLASH_UID ? Number(process.env.FLASH_UID) : owner.uid;
  const gid = process.env.FLASH_GID ? Number(process.env.FLASH_GID) : owner.gid;
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) return;
  // The dependency volume starts out owned by root (or the image's user), and the engine creates a missing
  // bind-mount source (.runpod) as root: hand both over (not recursively: only what the engine made) first.
  for (const dir of ["node_modules", ".runpod"]) {
    const path = join(projectDir, dir);
    try {
      if (existsSync(path) && statSync(path).uid === 0) chownSync(path, uid, gid);
    } catch (error) {
      logger.debug(`Could not hand ${path} to ${uid}:${gid}: ${String(error)}`);
    }
  }
  process.setgroups?.([gid]);
  process.setgid?.(gid);
  process.setuid?.(uid);
  process.env.USER ??= String(uid);
  logger.debug(`Running as ${uid}:${gid} (the owner of ${projectDir}).`);
}

/** npm and tools need a writable HOME; a uid without a passwd entry gets `/`. */
function ensureHome(): void {
  const home = process.env.HOME;
  if (home && home !== "/") {
    try {
      accessSync(home, constants.W_OK);
      return;
    } catch {
      // not writable: use our own
    }
  }
  const fallback = "/tmp/flash-home";
  mkdirSync(fallback, { recursive: true, mode: 0o700 });
  process.env.HOME = fallback;
}

function runChild(command: string[]): Promise<number> {
  return new Promise((resolve) => {
    // `flash` is this package's CLI, whether or not it is on PATH (the stock Node image of a team project has no link).
    const [file, ...args] = command[0] === "flash" ? [process.execPath, CLI_ENTRY, ...command.slice(1)] : command;
    const child = spawn(file ?? "sh", args, { stdio: "inherit" });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const) process.on(signal, forward);
    child.once("error", (error) => {
      logger.error(`Could not run ${file}: ${error.message}`);
      resolve(127);
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1)));
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal];
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    logger.error(`The container entrypoint failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
