/**
 * A stand-in Runpod for tests of commands that talk to Runpod: a real
 * `flash emulator --api-key <key>` process, and the variables that point
 * flash's clients at it. Also a one-shot CLI runner with standard input.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Endpoint } from "../../src/runpod/wire-types.js";
import { copyProject, REPO_ROOT, startDevProcess } from "./dev-process.js";
import { CLI, childEnv, startCli } from "./processes.js";
import type { StartedProcess } from "./processes.js";

export interface StandInRunpod {
  url: string;
  key: string;
  /** RUNPOD_API_BASE_URL and RUNPOD_ENDPOINT_BASE_URL for it. */
  env: { RUNPOD_API_BASE_URL: string; RUNPOD_ENDPOINT_BASE_URL: string };
  process: StartedProcess;
  /** GET /v2/serverless with the key. */
  listEndpoints(): Promise<Endpoint[]>;
  /** POST /v2/serverless with the key (a queue endpoint on a fake worker unless `body` says otherwise). */
  createEndpoint(body: Record<string, unknown>): Promise<Endpoint>;
  stop(): Promise<void>;
}

/** A copy of examples/hello whose endpoints exist on `runpod` (made by `flash dev --auto-provision`), with the key in its .env. */
export async function provisionedProject(runpod: StandInRunpod): Promise<string> {
  const dir = await copyProject(join(REPO_ROOT, "examples", "hello"));
  await writeFile(join(dir, ".env"), `RUNPOD_API_KEY=${runpod.key}\n`);
  const dev = await startDevProcess(dir, ["--auto-provision", "--yes"], runpod.env);
  await dev.stop();
  return dir;
}

export async function startStandInRunpod(key: string): Promise<StandInRunpod> {
  const stateDir = await mkdtemp(join(tmpdir(), "flash-stand-in-runpod-"));
  const child = startCli(["emulator", "--port", "0", "--state-dir", stateDir, "--api-key", key]);
  const url = (await child.waitForOutput(/listening on (http:\/\/127\.0\.0\.1:\d+)/, { stream: "stdout" }))[1]!;
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  return {
    url,
    key,
    env: { RUNPOD_API_BASE_URL: url, RUNPOD_ENDPOINT_BASE_URL: `${url}/v2` },
    process: child,
    async listEndpoints() {
      const res = await fetch(`${url}/v2/serverless`, { headers });
      if (res.status !== 200) throw new Error(`GET /v2/serverless: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { endpoints: Endpoint[] }).endpoints;
    },
    async createEndpoint(body) {
      const res = await fetch(`${url}/v2/serverless`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          type: "QUEUE",
          scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
          image: "node:24-bookworm-slim",
          cpu: [{ id: "cpu3c", vcpuCount: 2 }],
          args: "flash worker",
          workers: { min: 0, max: 1, idleTimeout: 5 },
          ...body,
        }),
      });
      if (res.status !== 201) throw new Error(`POST /v2/serverless: ${res.status} ${await res.text()}`);
      return (await res.json()) as Endpoint;
    },
    async stop() {
      if (child.child.exitCode === null) {
        child.child.kill("SIGINT");
        await child.exited;
      }
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `flash <args>` to its end, with `input` on standard input (closed after it). */
export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: childEnv(options.env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`flash ${args.join(" ")} did not finish in ${options.timeoutMs ?? 60_000} ms:\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}
