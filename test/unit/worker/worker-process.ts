/**
 * Runs the built CLI (`node dist/cli/index.js worker …`) as a child process
 * for the worker-protocol tests, collecting its output so tests can wait on
 * lines instead of sleeping. Every process started here is tracked so
 * afterEach can kill the ones a failed test left behind.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";

export const CLI = join(import.meta.dirname, "..", "..", "..", "dist", "cli", "index.js");
export const HANDLERS = join(import.meta.dirname, "..", "..", "fixtures", "worker", "handlers");

export interface WorkerProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** Resolves when stderr matches. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  signal(name: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();

/** A clean environment: the test runner's own Node options must not leak into the worker. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === "NODE_OPTIONS" || key.startsWith("VITEST") || key === "FORCE_COLOR") continue;
    env[key] = value;
  }
  return env;
}

export function startWorkerProcess(args: string[], env: Record<string, string>, cwd?: string): WorkerProcess {
  const child = spawn(process.execPath, [CLI, "worker", ...args], { env: { ...baseEnv(), NO_COLOR: "1", ...env }, cwd, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
    for (const listener of [...listeners]) listener();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitForStderr(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = stderr.match(pattern);
          if (!match) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(match);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`worker: timed out waiting for ${pattern} on stderr; got:\n${stderr}`));
        }, timeoutMs);
        if (!check()) listeners.add(check);
        void exited.then(() => {
          if (listeners.delete(check)) {
            clearTimeout(timer);
            if (!check()) reject(new Error(`worker exited before ${pattern} appeared on stderr:\n${stderr}`));
          }
        });
      });
    },
    signal(name) {
      child.kill(name);
    },
  };
}

/** Kills (SIGKILL, by pid) every worker process still running; for afterEach. */
export async function killWorkerProcesses(): Promise<void> {
  const left = [...running];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}
