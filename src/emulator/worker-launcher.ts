/**
 * Starts and stops worker processes. Each worker runs in its own process
 * group so that stopping it reaches everything it started (a shell and its
 * children, npm, …): SIGTERM to the group, SIGKILL after a grace period, and
 * a final SIGKILL to the group once the leader is gone so nothing is left
 * behind. Output is split into lines for the logger.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { isProcessAlive } from "../common/process-alive.js";
import type { StartCommand } from "./start-command.js";

/** How a worker process ended. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: string;
  /**
   * Set when no worker of this endpoint can start as things are (an image the
   * engine does not have, a start command the image cannot run): queued work
   * fails at once with this message instead of after several tries.
   */
  unstartable?: { message: string; hint: string };
}

/** A running worker process (its process group). */
export interface WorkerProcess {
  readonly pid: number | undefined;
  /** Resolves once the process is gone and its output is flushed; never rejects. */
  readonly exited: Promise<WorkerExit>;
  /** SIGTERM the group, SIGKILL it after `graceMs`; resolves when the process is gone. */
  terminate(graceMs: number): Promise<WorkerExit>;
  /** SIGKILL the group now (synchronous; used when the emulator's own process exits). */
  kill(): void;
}

/** What to run, where, and where its output lines go. */
export interface LaunchOptions {
  command: StartCommand;
  env: Record<string, string>;
  cwd: string;
  onLine: (stream: "stdout" | "stderr", line: string) => void;
}

/** Lines longer than this are cut (a worker printing megabytes on one line must not hold it all). */
const MAX_LINE = 16 * 1024;

/** Spawns a worker in its own process group. */
export function launchWorkerProcess(options: LaunchOptions): WorkerProcess {
  const child = spawn(options.command.file, options.command.args, {
    cwd: options.cwd,
    env: options.env,
    // Own process group (and session): the whole tree can be signalled at once.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid;
  let exit: WorkerExit | undefined;

  const signalGroup = (signal: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  };

  for (const stream of ["stdout", "stderr"] as const) {
    const input = child[stream];
    if (!input) continue;
    const lines = createInterface({ input, crlfDelay: Infinity });
    lines.on("line", (line) => options.onLine(stream, line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}… (line cut)` : line));
  }

  const exited = new Promise<WorkerExit>((resolve) => {
    child.once("error", (error) => {
      // Spawn failures emit `error` and may never emit `close`.
      if (pid === undefined) resolve((exit = { code: null, signal: null, error: error.message }));
    });
    child.once("exit", () => {
      // The leader is gone; whatever it started in its group goes with it.
      signalGroup("SIGKILL");
    });
    child.once("close", (code, signal) => {
      const result = (exit ??= { code, signal });
      // Grandchildren killed with the group are reaped by init, not by us: wait until the
      // group is really empty so "stopped" means no process of it is left.
      void waitForGroupGone(pid).then(() => resolve(result));
    });
  });

  let terminating: Promise<WorkerExit> | undefined;
  return {
    pid,
    exited,
    terminate(graceMs) {
      if (exit) return Promise.resolve(exit);
      terminating ??= (async () => {
        signalGroup("SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), graceMs)));
        const first = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (first === "timeout") signalGroup("SIGKILL");
        return exited;
      })();
      return terminating;
    },
    kill() {
      if (!exit) signalGroup("SIGKILL");
    },
  };
}

/** True while any process of the group led by `pid` exists (zombies included). */
function groupExists(pid: number): boolean {
  return isProcessAlive(-pid);
}

/** Polls (briefly) until the group is gone, re-sending SIGKILL; gives up after `timeoutMs`. */
async function waitForGroupGone(pid: number | undefined, timeoutMs = 2000): Promise<void> {
  if (pid === undefined) return;
  const deadline = Date.now() + timeoutMs;
  while (groupExists(pid) && Date.now() < deadline) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How a worker's end reads in a message: `code 1`, `signal SIGKILL`, or the spawn error. */
export function describeExit(exit: WorkerExit): string {
  if (exit.error) return `could not start (${exit.error})`;
  if (exit.signal) return `signal ${exit.signal}`;
  return `code ${exit.code ?? "unknown"}`;
}
