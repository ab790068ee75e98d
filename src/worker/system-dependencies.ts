/**
 * `systemDependencies` of a resource config: Debian packages a worker needs
 * (ffmpeg, libgl1 …), given to the worker as FLASH_SYSTEM_DEPENDENCIES and
 * installed with apt once per worker, before the first call runs
 * (docs/internals.md, "The worker runtime"). The install's output goes into
 * that call's logs, so the dev server shows it; a failed install fails the
 * call (kind `dependencies`) with apt's own error. A marker file in the cache
 * makes a restarted runtime in the same container skip the work.
 *
 * Workers the emulator runs as local processes get
 * FLASH_SYSTEM_DEPENDENCIES_INSTALL=0: they only check that the packages are
 * there, because installing system packages on the developer's machine is
 * not a worker's business.
 */
import { spawn } from "node:child_process";
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../common/errors.js";
import { isDebianPackageName } from "../sdk/resources.js";
import { sha256 } from "../common/hash.js";
import type { Logger } from "../common/logger.js";
import { CallError } from "./call-error.js";


/** Splits FLASH_SYSTEM_DEPENDENCIES (spaces or commas) and checks every name; throws INVALID_INPUT on a bad one. */
export function parseSystemDependencies(raw: string | undefined): string[] {
  const names = (raw ?? "").split(/[\s,]+/).filter((n) => n !== "");
  for (const name of names) {
    if (!isDebianPackageName(name)) {
      throw new AppError("INVALID_INPUT", `FLASH_SYSTEM_DEPENDENCIES: ${JSON.stringify(name)} is not a Debian package name`, {
        hint: "Use names as apt-get takes them, e.g. ffmpeg or libgl1 (optionally name=version).",
      });
    }
  }
  return [...new Set(names)].sort();
}

/** The result of one command. */
export interface CommandResult {
  /** Exit code; null when killed. */
  code: number | null;
  /** The last part of stdout and stderr together. */
  output: string;
}

/** Runs a command, handing each output line to `onLine`; rejects with ENOENT when it does not exist. */
export type CommandRunner = (command: string, args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void) => Promise<CommandResult>;

/** How much of a failed command's output the error keeps. */
const ERROR_OUTPUT_CHARS = 4000;

export const runCommand: CommandRunner = (command, args, env, onLine) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let partial = "";
    const take = (chunk: Buffer): void => {
      const text = chunk.toString("utf8");
      output = (output + text).slice(-ERROR_OUTPUT_CHARS);
      const lines = (partial + text).split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") onLine(line);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", reject);
    child.on("close", (code) => {
      if (partial.trim() !== "") onLine(partial);
      resolve({ code, output });
    });
  });

export interface SystemDependencyOptions {
  packages: readonly string[];
  /** `install`: apt-get what is missing; `check`: only fail when something is missing. */
  mode: "install" | "check";
  /** Where the marker of a finished install is kept. */
  cacheDir: string;
  logger: Logger;
  run?: CommandRunner;
  /** The process's uid (apt-get needs root); default process.getuid(). */
  uid?: number;
  env?: NodeJS.ProcessEnv;
}

export interface SystemDependencies {
  /** Resolves once the packages are there; `log` receives the install's output. Throws CallError("dependencies"). */
  ensure(log: (line: string) => void): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export function createSystemDependencies(options: SystemDependencyOptions): SystemDependencies {
  const { packages, logger } = options;
  const run = options.run ?? runCommand;
  const env = { ...(options.env ?? process.env), DEBIAN_FRONTEND: "noninteractive" };
  const marker = join(options.cacheDir, `system-deps-${sha256(packages.join("\n")).slice(0, 16)}.installed`);
  let done: Promise<void> | undefined;
  let current: ((line: string) => void) | undefined;
  const fail = (message: string): CallError => new CallError("dependencies", message, { name: "SystemDependencyError" });

  /** Packages dpkg does not report as installed; undefined when there is no dpkg to ask. */
  async function missing(): Promise<string[] | undefined> {
    const names = packages.map((p) => p.split("=")[0] as string);
    let result: CommandResult;
    try {
      result = await run("dpkg-query", ["-W", "-f=${Package} ${db:Status-Status}\n", ...names], env, () => {});
    } catch {
      return undefined;
    }
    // Unknown packages make dpkg-query exit 1 and print nothing for them: absent from `installed`.
    const installed = new Set(
      result.output
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter((words) => words[1] === "installed")
        .map((words) => (words[0] as string).split(":")[0]),
    );
    return packages.filter((p) => !installed.has(p.split("=")[0] as string));
  }

  async function apt(args: string[]): Promise<void> {
    let result: CommandResult;
    try {
      result = await run("apt-get", args, env, (line) => current?.(line));
    } catch (error) {
      throw fail(`could not run apt-get to install ${packages.join(" ")}: ${(error as Error).message}; systemDependencies need a Debian or Ubuntu image`);
    }
    if (result.code !== 0) throw fail(`apt-get ${args.join(" ")} failed (exit ${result.code ?? "signal"}):\n${result.output.trim()}`);
  }

  async function install(): Promise<void> {
    if (await exists(marker)) return;
    const absent = await missing();
    if (absent === undefined && options.mode === "check") {
      logger.warn(`cannot check systemDependencies (${packages.join(", ")}) here: there is no dpkg-query`);
      return;
    }
    if (absent !== undefined && absent.length === 0) {
      await mkdir(options.cacheDir, { recursive: true });
      await writeFile(marker, packages.join("\n") + "\n");
      return;
    }
    const wanted = absent ?? [...packages];
    if (options.mode === "check") {
      throw fail(
        `systemDependencies ${wanted.join(", ")} are not installed here, and workers the emulator runs as local processes never install system packages; ` +
          "install them on this machine, or run the emulator's workers as containers (FLASH_EMULATOR_WORKERS=container)",
      );
    }
    const uid = options.uid ?? process.getuid?.();
    if (uid !== undefined && uid !== 0) throw fail(`installing systemDependencies (${wanted.join(", ")}) needs root, but this worker runs as uid ${uid}; use an image that runs as root`);
    const started = performance.now();
    logger.info(`installing system packages: ${wanted.join(" ")}`);
    current?.(`[flash worker] installing system packages: ${wanted.join(" ")}`);
    await apt(["update", "-q"]);
    await apt(["install", "-y", "-q", "--no-install-recommends", ...wanted]);
    await mkdir(options.cacheDir, { recursive: true });
    await writeFile(marker, packages.join("\n") + "\n");
    const ms = Math.round(performance.now() - started);
    logger.info(`installed system packages in ${ms} ms`);
    current?.(`[flash worker] installed ${wanted.join(" ")} in ${ms} ms`);
  }

  return {
    ensure(log) {
      if (packages.length === 0) return Promise.resolve();
      if (!done) {
        current = log;
        done = install().finally(() => (current = undefined));
        // A failure is not remembered: the next call tries again (mirrors have bad moments).
        done.catch(() => (done = undefined));
      }
      return done;
    },
  };
}
