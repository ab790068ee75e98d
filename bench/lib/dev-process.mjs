// Starts the built `flash dev --no-container` on a project as a child process
// and resolves once it serves, with its URL, the embedded emulator's URL and
// the process's output.
import { spawn } from "node:child_process";
import { join } from "node:path";

const CLI = join(import.meta.dirname, "..", "..", "dist", "cli", "index.js");

// `cli`: another build's CLI (e.g. a copy of main's dist/cli/index.js), for a baseline in the same run.
export async function startDev(root, { env = {}, args = [], cli = CLI } = {}) {
  const childEnv = { ...process.env, FLASH_CONTAINER: "0", NO_COLOR: "1", ...env };
  delete childEnv.RUNPOD_API_KEY;
  const child = spawn(process.execPath, [cli, "dev", "--no-container", "--port", "0", ...args], {
    cwd: root,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const waiters = new Set();
  const onData = (chunk) => {
    output += chunk;
    for (const w of waiters) w();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const waitFor = (pattern, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = output.match(pattern);
        if (m) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${pattern}:\n${output.slice(-3000)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const started = performance.now();
  const url = (await waitFor(/Flash Dev Server {2}(http:\/\/\S+)/))[1];
  await waitFor(/Press Ctrl\+C to stop/);
  const emulatorUrl = output.match(/local emulator at (http:\/\/\S+)/)?.[1];
  const exited = new Promise((resolve) => child.on("exit", resolve));
  return {
    url,
    emulatorUrl,
    child,
    startMs: performance.now() - started,
    output: () => output,
    async stop() {
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
