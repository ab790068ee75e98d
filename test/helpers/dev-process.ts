/**
 * Runs the built `flash dev` CLI as a child process against a project folder,
 * the way a user would, and gives tests its URL, its output and a clean stop.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execFileSync } from "node:child_process";

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
export const CLI = join(REPO_ROOT, "dist", "cli", "index.js");

export interface DevProcess {
  url: string;
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Waits until the output matches `pattern` (after `from` characters). */
  waitForOutput(pattern: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>;
  /**
   * Sends a signal (SIGINT by default) and waits for the exit code. Unless
   * `reap` is false, any process of the session still alive afterwards is
   * killed (tests that check the clean-up itself pass `reap: false`).
   */
  stop(signal?: NodeJS.Signals, options?: { timeoutMs?: number; reap?: boolean }): Promise<number | null>;
  /** Process ids of the CLI and every descendant (workers), as of now. */
  processTree(): number[];
}

/** Copies a project (e.g. examples/hello) to a fresh temp folder. */
export async function copyProject(source: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "flash-project-"));
  await cp(source, dir, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|\.runpod)([\\/]|$)/.test(src),
  });
  return dir;
}

export async function removeProject(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

function descendants(pid: number): number[] {
  let out: string;
  try {
    out = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" });
  } catch {
    return [pid];
  }
  const children = new Map<number, number[]>();
  for (const line of out.trim().split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (p === undefined || pp === undefined) continue;
    if (!children.has(pp)) children.set(pp, []);
    children.get(pp)!.push(p);
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

export { isAlive } from "./processes.js";

/**
 * Starts `flash dev --no-container --port 0` in `projectDir`. `bin` is the
 * flash executable to run (default: this repository's built CLI).
 */
export async function startDevProcess(projectDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, bin?: string): Promise<DevProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, FLASH_CONTAINER: "0", NO_COLOR: "1", ...env };
  delete childEnv.RUNPOD_API_KEY;
  const [command, ...prefix] = bin ? [bin] : [process.execPath, CLI];
  const child = spawn(command!, [...prefix, "dev", "--no-container", "--port", "0", ...args], {
    cwd: projectDir,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolveExit) => child.on("exit", (code) => resolveExit(code)));

  const waitForOutput = (pattern: RegExp, timeoutMs = 30_000, from = 0): Promise<RegExpMatchArray> =>
    new Promise((resolveMatch, reject) => {
      const check = (): boolean => {
        const m = text.slice(from).match(pattern);
        if (m) {
          cleanup();
          resolveMatch(m);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} in:\n${text.slice(-4000)}`));
      }, timeoutMs);
      const onExit = (): void => {
        if (!check()) {
          cleanup();
          reject(new Error(`flash dev exited before printing ${pattern}:\n${text.slice(-4000)}`));
        }
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(listener);
        child.off("exit", onExit);
      };
      const listener = (): void => void check();
      if (check()) return;
      listeners.add(listener);
      child.on("exit", onExit);
    });

  const match = await waitForOutput(/Flash Dev Server {2}(http:\/\/\S+)/, 60_000);
  await waitForOutput(/Press Ctrl\+C to stop/, 30_000);
  return {
    url: match[1]!,
    child,
    output: () => text,
    waitForOutput,
    processTree: () => descendants(child.pid!),
    async stop(signal = "SIGINT", { timeoutMs = 20_000, reap = true } = {}) {
      if (child.exitCode !== null) return child.exitCode;
      const tree = descendants(child.pid!);
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
        // Never leave workers behind, whatever happened to the CLI.
        for (const pid of reap ? tree.slice(1) : []) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
    },
  };
}

/** Waits until `fn` returns true (polling), or throws with `what`. */
export async function waitUntil(fn: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function listFiles(dir: string): Promise<string[]> {
  return readdir(dir);
}
