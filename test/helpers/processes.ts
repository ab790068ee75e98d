/**
 * Child processes for tests: start one with a clean environment, read its
 * output, wait for a line (an event, not a poll), and make sure none
 * outlives its test. Also pid checks for the clean-up assertions.
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { CLI_ENTRY } from "../../src/common/package-info.js";
import { isProcessAlive } from "../../src/common/process-alive.js";

/**
 * The `flash` CLI of the package under test: the project's global setup
 * chooses it (src/ freshly built, or dist/ for the container and e2e tests),
 * so no test runs a missing or stale build (docs/internals.md, "Tests").
 */
export const CLI = CLI_ENTRY;

export interface StartedProcess {
  child: ChildProcess;
  /** stdout and stderr interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** The exit code, or the signal's name. */
  exited: Promise<number | string>;
  /** Like `exited`, but only once all output has been read (a descendant still holding the pipes delays it). */
  closed: Promise<number | string>;
  /**
   * Resolves with the first match of `pattern` in the output (in `stream`,
   * default both; after `from` characters). Rejects when the process closes
   * its output without printing it, or after `timeoutMs`.
   */
  waitForOutput(pattern: RegExp, options?: { timeoutMs?: number; from?: number; stream?: "stdout" | "stderr" }): Promise<RegExpMatchArray>;
}

const running = new Set<ChildProcess>();

/** A credentials file that does not exist. */
const NO_CREDENTIALS = "/nonexistent/flash-tests/config.toml";

/**
 * The test runner's environment without what must not reach a child: the
 * runner's Node options and markers, colours, and a Runpod key the person
 * running the tests may have exported.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === "NODE_OPTIONS" || key.startsWith("VITEST") || key === "FORCE_COLOR" || key === "RUNPOD_API_KEY" || key === "FLASH_CREDENTIALS_FILE") continue;
    env[key] = value;
  }
  // Never the credentials of the person running the tests (~/.runpod/config.toml): a test that
  // wants a credentials file names one (FLASH_CREDENTIALS_FILE, or "" for HOME's).
  return { ...env, NO_COLOR: "1", FLASH_CREDENTIALS_FILE: NO_CREDENTIALS, ...extra };
}

/** Starts `file args` with `childEnv(env)`; killProcesses() stops it if the test does not. */
export function startProcess(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): StartedProcess {
  const child = spawn(file, args, { cwd: options.cwd, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const text = { all: "", stdout: "", stderr: "" };
  const listeners = new Set<() => void>();
  let closed = false;
  const onData = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
    const s = chunk.toString("utf8");
    text[stream] += s;
    text.all += s;
    for (const listener of [...listeners]) listener();
  };
  child.stdout!.on("data", onData("stdout"));
  child.stderr!.on("data", onData("stderr"));
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
  });
  // "close" comes after the last output: only then can a missing line be declared missing.
  const closedPromise = new Promise<void>((resolve) =>
    child.once("close", () => {
      closed = true;
      for (const listener of [...listeners]) listener();
      resolve();
    }),
  ).then(() => exited);

  const waitForOutput: StartedProcess["waitForOutput"] = (pattern, { timeoutMs = 30_000, from = 0, stream } = {}) =>
    new Promise((resolve, reject) => {
      const source = (): string => (stream ? text[stream] : text.all).slice(from);
      const finish = (): void => {
        listeners.delete(check);
        clearTimeout(timer);
      };
      const check = (): void => {
        const match = source().match(pattern);
        if (match) {
          finish();
          resolve(match);
        } else if (closed) {
          finish();
          reject(new Error(`${file} ${args.join(" ")} exited without printing ${pattern}:\n${source().slice(-4000)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} in:\n${source().slice(-4000)}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  return {
    child,
    output: () => text.all,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    exited,
    closed: closedPromise,
    waitForOutput,
  };
}

/** Starts `flash <args>` from the package under test. */
export function startCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): StartedProcess {
  return startProcess(process.execPath, [CLI, ...args], options);
}

/** SIGKILLs every process startProcess() started that is still running; for afterEach. */
export async function killProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}

/** SIGKILLs `pid` unless it is already gone. */
export function killIfAlive(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

export { isProcessAlive as isAlive } from "../../src/common/process-alive.js";

/** True while any process of the group led by `pid` exists (workers run in their own group). */
export function isGroupAlive(pid: number): boolean {
  return isProcessAlive(-pid);
}

/** `pid` and all its descendants, as of now (from `ps`). */
export function processTree(pid: number): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" });
  const children = new Map<number, number[]>();
  for (const line of out.trim().split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (p === undefined || pp === undefined) continue;
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const result: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    result.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return result;
}
