/** `flash emulator` as a user runs it: the built CLI, its output, Ctrl-C stopping workers. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FAKE_WORKER_COMMAND, FIXTURES } from "../helpers/emulator.js";
import { CLI, isGroupAlive } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe("flash emulator", () => {
  it("prints the URL and the env vars, serves with the API key and stops its workers on Ctrl-C", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "emu-cli-"));
    dirs.push(stateDir);
    const child = spawn(process.execPath, [CLI, "emulator", "--port", "0", "--state-dir", stateDir, "--api-key", "cli-key-123456"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const url = await waitFor("the URL", () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]);
    expect(stdout).toContain(`export RUNPOD_API_BASE_URL=${url}`);
    expect(stdout).toContain(`export RUNPOD_ENDPOINT_BASE_URL=${url}/v2`);

    const auth = { authorization: "Bearer cli-key-123456", "content-type": "application/json" };
    expect((await fetch(`${url}/v2/serverless`)).status).toBe(401);
    const created = await fetch(`${url}/v2/serverless`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "cli-warm", type: "QUEUE", scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, image: "x", cpu: [{ id: "cpu3c", vcpuCount: 2 }], args: FAKE_WORKER_COMMAND, workers: { min: 1, max: 1, idleTimeout: 30 } }),
    });
    expect(created.status).toBe(201);
    const state = await waitFor("a ready worker", async () => {
      const s = (await (await fetch(`${url}/__emulator/state`, { headers: auth })).json()) as { endpoints: { workers: { state: string; pid: number }[] }[] };
      return s.endpoints[0]?.workers[0]?.state === "ready" ? s : undefined;
    });
    const pid = state.endpoints[0]!.workers[0]!.pid;
    await waitFor("worker output in the log", () => stderr.includes("[cli-warm] fake worker"));

    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    expect(stderr).toMatch(/Stopped in \d+ ms/);
    expect(isGroupAlive(pid)).toBe(false);
  });

  it("leaves no flash worker behind when the emulator itself is SIGKILLed", async () => {
    const help = spawnSync(process.execPath, [CLI, "worker", "--help"], { encoding: "utf8" });
    if (!help.stdout.includes("--handler")) return;
    const child = spawn(process.execPath, [CLI, "emulator", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stdout = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.resume();
    const url = await waitFor("the URL", () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]);
    const args = `flash worker --handler ${JSON.stringify(join(FIXTURES, "handlers", "echo.mjs"))}`;
    const created = await fetch(`${url}/v2/serverless`, {
      method: "POST",
      body: JSON.stringify({ name: "orphan-check", type: "QUEUE", scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, image: "x", cpu: [{ id: "cpu3c", vcpuCount: 2 }], args, workers: { min: 1, max: 1, idleTimeout: 30 } }),
    });
    expect(created.status).toBe(201);
    const pid = await waitFor("a ready worker", async () => {
      const s = (await (await fetch(`${url}/__emulator/state`)).json()) as { endpoints: { workers: { state: string; pid: number }[] }[] };
      const w = s.endpoints[0]?.workers[0];
      return w?.state === "ready" ? w.pid : undefined;
    }, 30_000);
    child.kill("SIGKILL");
    await waitFor("the orphaned worker to exit", () => !isGroupAlive(pid), 15_000);
  });

  it("shows help and rejects bad flags", () => {
    const help = spawnSync(process.execPath, [CLI, "emulator", "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--state-dir");
    const bad = spawnSync(process.execPath, [CLI, "emulator", "--port", "70000"], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--port must be an integer");
  });
});
