#!/usr/bin/env node
/**
 * The dev image's entrypoint (after tini): prepares the workspace, then runs
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
 *   skips it), and `flash-ts` resolvable to the image's own copy.
 */
import { spawn } from "node:child_process";
import { accessSync, chownSync, constants, existsSync, mkdirSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { createLogger } from "../shared/logger.js";
import { CLI_ENTRY, PACKAGE_ROOT } from "../shared/package-info.js";
import { CONTAINER_PORT, WORKSPACE } from "./dev-container-spec.js";
import { ensureDependencies, linkOwnPackage } from "./workspace-deps.js";

const logger = createLogger({ prefix: "container" });
const DEFAULT_COMMAND = ["flash", "dev", "--host", "0.0.0.0", "--port", String(CONTAINER_PORT)];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const command = args.length > 0 ? args : DEFAULT_COMMAND;

  const projectDir = resolveProjectDir(process.env.FLASH_PROJECT_DIR);
  if (projectDir) process.chdir(projectDir);
  const cwd = process.cwd();

  dropPrivileges(cwd);
  ensureHome();

  if (process.env.FLASH_SKIP_INSTALL !== "1") {
    // Preparing is a convenience: whatever goes wrong here, the server still starts and says what it misses.
    try {
      await ensureDependencies({ projectDir: cwd, logger });
      linkOwnPackage(cwd, PACKAGE_ROOT);
    } catch (error) {
      logger.warn(`Could not prepare the project's dependencies: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  if (process.env.FLASH_KEEP_ALIVE === "1") {
    // Dev Containers: the server is the container's main process, but the container must outlive it
    // (a crash or Ctrl-C in an attached terminal), so a terminal can start it again.
    const code = await runChild(command);
    logger.warn(`${command.join(" ")} exited with code ${code}; the container stays up (FLASH_KEEP_ALIVE=1).`);
    await new Promise<void>((resolve) => {
      process.once("SIGTERM", () => resolve());
      process.once("SIGINT", () => resolve());
      setInterval(() => {}, 1 << 30);
    });
    return 0;
  }

  if (command[0] === "flash") {
    // The CLI runs its main() on import and owns the process from here (signals, exit code).
    process.argv = [process.execPath, CLI_ENTRY, ...command.slice(1)];
    await import(pathToFileURL(CLI_ENTRY).href);
    return -1;
  }
  return runChild(command);
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
    const [file, ...args] = command;
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
