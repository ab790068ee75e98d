/**
 * `flash worker …` (the package under test's CLI) as a child process for the
 * worker-protocol tests, with its output collected so tests wait on lines
 * instead of sleeping. killWorkerProcesses() in afterEach kills the ones a
 * failed test left behind.
 */
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { FIXTURES } from "./paths.js";
import { killProcesses, startCli } from "./processes.js";

export const HANDLERS = join(FIXTURES, "worker", "handlers");

export interface WorkerProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (or the signal name), once all its output has been read. */
  exited: Promise<number | string>;
  /** Resolves when stderr matches. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  signal(name: NodeJS.Signals): void;
}

export function startWorkerProcess(args: string[], env: Record<string, string>, cwd?: string): WorkerProcess {
  const started = startCli(["worker", ...args], { env, ...(cwd ? { cwd } : {}) });
  return {
    child: started.child,
    get stdout() {
      return started.stdout();
    },
    get stderr() {
      return started.stderr();
    },
    exited: started.closed,
    waitForStderr: (pattern, timeoutMs = 20_000) => started.waitForOutput(pattern, { timeoutMs, stream: "stderr" }),
    signal: (name) => void started.child.kill(name),
  };
}

/** Kills every worker process still running; for afterEach. */
export const killWorkerProcesses = killProcesses;
