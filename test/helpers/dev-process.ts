/**
 * Runs `flash dev` (the package under test's CLI) as a child process against
 * a project folder, the way a user would, and gives tests its URL, its output
 * and a clean stop.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, killIfAlive, processTree, startProcess } from "./processes.js";
import type { StartedProcess } from "./processes.js";

export { REPO_ROOT } from "./paths.js";

export interface DevProcess {
  url: string;
  child: StartedProcess["child"];
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

/**
 * Starts `flash dev --no-container --port 0` in `projectDir`. `bin` is the
 * flash executable to run (default: the package under test's CLI).
 */
export async function startDevProcess(projectDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, bin?: string): Promise<DevProcess> {
  const [command, ...prefix] = bin ? [bin] : [process.execPath, CLI];
  const started = startProcess(command!, [...prefix, "dev", "--no-container", "--port", "0", ...args], { cwd: projectDir, env: { FLASH_CONTAINER: "0", ...env } });
  const { child } = started;
  const waitForOutput = (pattern: RegExp, timeoutMs = 30_000, from = 0): Promise<RegExpMatchArray> => started.waitForOutput(pattern, { timeoutMs, from });

  const match = await waitForOutput(/Flash Dev Server {2}(http:\/\/\S+)/, 60_000);
  await waitForOutput(/Press Ctrl\+C to stop/, 30_000);
  return {
    url: match[1]!,
    child,
    output: started.output,
    waitForOutput,
    processTree: () => processTree(child.pid!),
    async stop(signal = "SIGINT", { timeoutMs = 20_000, reap = true } = {}) {
      if (child.exitCode !== null) return child.exitCode;
      const tree = processTree(child.pid!);
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        const code = await started.exited;
        return typeof code === "number" ? code : null;
      } finally {
        clearTimeout(timer);
        // Never leave workers behind, whatever happened to the CLI.
        for (const pid of reap ? tree.slice(1) : []) killIfAlive(pid);
      }
    },
  };
}
