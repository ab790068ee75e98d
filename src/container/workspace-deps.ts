/**
 * The project's npm dependencies inside the container. They live in a named
 * volume over `<project>/node_modules` (modules the host built for another OS
 * are never used) and are installed by npm inside, once per lockfile: a
 * small state file in the volume records what was installed.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";

/** The state file, inside node_modules so it goes when the volume goes. */
export const DEPS_STATE_FILE = ".flash-ts-deps.json";

export interface DependencyPlan {
  /** Install needed. */
  install: boolean;
  /** Why (for the log). */
  reason: string;
  /** `npm ci` with a lockfile, `npm install` without. */
  command: string[];
  /** What to record after a successful install. */
  key: string;
}

/**
 * Decides whether `projectDir` needs `npm ci`/`npm install`: when it has a
 * package.json whose lockfile (or manifest, without one), Node major or
 * platform differ from what the volume last installed. Undefined without a
 * package.json.
 */
export function planDependencies(projectDir: string, nodeVersion = process.version): DependencyPlan | undefined {
  const manifest = join(projectDir, "package.json");
  if (!existsSync(manifest)) return undefined;
  const lockName = ["npm-shrinkwrap.json", "package-lock.json"].find((name) => existsSync(join(projectDir, name)));
  const source = lockName ?? "package.json";
  const hash = createHash("sha256");
  hash.update(`${nodeVersion.split(".")[0]} ${process.platform} ${process.arch}\0`);
  hash.update(readFileSync(join(projectDir, source)));
  const key = hash.digest("hex").slice(0, 16);
  const command = lockName
    ? ["npm", "ci", "--no-audit", "--no-fund", "--no-progress", "--loglevel=warn"]
    : ["npm", "install", "--no-audit", "--no-fund", "--no-progress", "--no-package-lock", "--loglevel=warn"];
  let previous: string | undefined;
  try {
    previous = (JSON.parse(readFileSync(join(projectDir, "node_modules", DEPS_STATE_FILE), "utf8")) as { key?: string }).key;
  } catch {
    previous = undefined;
  }
  if (previous === key) return { install: false, reason: "up to date", command, key };
  return { install: true, reason: previous ? `${source} changed` : "first start with this volume", command, key };
}

export interface EnsureDependenciesOptions {
  projectDir: string;
  logger: Logger;
  /** Runs a command in `cwd`, output to our stdio; resolves to its exit code. */
  run?: (command: string[], cwd: string) => Promise<number>;
  now?: () => number;
  /**
   * The caller has just installed them, in this container, from the current
   * lockfile (a team project's first start: its container script installs
   * flash-ts itself before this code exists): record that, install nothing.
   */
  justInstalled?: boolean;
}

/**
 * Installs the dependencies when the plan says so; returns whether it ran an
 * install. A failed install ends the start (`DEPENDENCY_INSTALL_FAILED`, after
 * npm's own output): serving a project whose imports are missing would only
 * hide the reason behind "Cannot find package" on every call.
 */
export async function ensureDependencies(options: EnsureDependenciesOptions): Promise<boolean> {
  const { projectDir, logger } = options;
  const plan = planDependencies(projectDir);
  if (!plan || !plan.install) return false;
  if (options.justInstalled) {
    recordInstall(projectDir, plan.key, logger);
    return false;
  }
  const now = options.now ?? Date.now;
  const run = options.run ?? runInherit;
  logger.info(`Installing the project's dependencies in the container (${plan.reason}): ${plan.command.join(" ")}`);
  const started = now();
  const code = await run(plan.command, projectDir);
  if (code !== 0) {
    throw new AppError("DEPENDENCY_INSTALL_FAILED", `Installing the project's dependencies failed: ${plan.command.slice(0, 2).join(" ")} exited with code ${code} (npm's reason is above).`, {
      hint:
        "Fix package.json or the lockfile and start again. A dependency named by a path must be inside the project folder, or next to it " +
        "when you start flash dev on the host (it mounts such paths into the container).",
      details: { command: plan.command, exitCode: code },
    });
  }
  recordInstall(projectDir, plan.key, logger);
  logger.info(`Dependencies installed in ${((now() - started) / 1000).toFixed(1)} s.`);
  return true;
}

function recordInstall(projectDir: string, key: string, logger: Logger): void {
  try {
    // npm creates no node_modules for a project without dependencies: make it, to remember the install.
    mkdirSync(join(projectDir, "node_modules"), { recursive: true });
    writeFileSync(join(projectDir, "node_modules", DEPS_STATE_FILE), JSON.stringify({ key, installedAt: new Date().toISOString() }) + "\n");
  } catch (error) {
    logger.debug(`Could not record the install: ${String(error)}`);
  }
}

/**
 * Makes `import "flash-ts"` resolve to the image's own flash-ts for code that
 * Node loads from the project (discovery already links it for bundles): a
 * symlink `node_modules/flash-ts`, added only when the project did not install
 * one and only when node_modules is a separate mount (the volume), so a link to
 * a container path never lands in the user's own folder.
 */
export function linkOwnPackage(projectDir: string, packageRoot: string): boolean {
  const modules = join(projectDir, "node_modules");
  const target = join(modules, "flash-ts");
  try {
    if (!existsSync(modules) || !isMountPoint(modules)) return false;
    try {
      lstatSync(target);
      return false; // the project's own (or an earlier link)
    } catch {
      // missing: link it
    }
    mkdirSync(modules, { recursive: true });
    symlinkSync(packageRoot, target, "dir");
    return true;
  } catch {
    return false;
  }
}

/** True when `dir` is a mount point: listed in /proc/self/mountinfo, or on another device than its parent. */
export function isMountPoint(dir: string, mountInfo = "/proc/self/mountinfo"): boolean {
  try {
    // Field 5 is the mount point, with spaces and other specials octal-escaped.
    const points = readFileSync(mountInfo, "utf8")
      .split("\n")
      .map((line) => line.split(" ")[4])
      .filter((p): p is string => p !== undefined)
      .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))));
    if (points.includes(dir)) return true;
  } catch {
    // no /proc (not Linux): compare devices
  }
  try {
    return statSync(dir).dev !== statSync(join(dir, "..")).dev;
  } catch {
    return false;
  }
}

function runInherit(command: string[], cwd: string): Promise<number> {
  return new Promise((resolve) => {
    const [file, ...args] = command;
    const child = spawn(file ?? "npm", args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", () => resolve(127));
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
