/** `flash emulator` as a user runs it: the CLI, its output, Ctrl-C stopping workers. */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FAKE_WORKER_COMMAND, FIXTURES } from "../helpers/emulator.js";
import { CLI, isGroupAlive, killProcesses, startCli } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const dirs: string[] = [];
/** Worker process groups a test expects gone; killed here if a failure left them running. */
const groups: number[] = [];
afterEach(async () => {
  await killProcesses();
  for (const pid of groups.splice(0)) if (isGroupAlive(pid)) process.kill(-pid, "SIGKILL");
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

describe("flash emulator", () => {
  it("prints the URL and the env vars, serves with the API key and stops its workers on Ctrl-C", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "emu-cli-"));
    dirs.push(stateDir);
    const emulator = startCli(["emulator", "--port", "0", "--state-dir", stateDir, "--api-key", "cli-key-123456"]);
    const url = (await emulator.waitForOutput(LISTENING, { stream: "stdout" }))[1]!;
    expect(emulator.stdout()).toContain(`export RUNPOD_API_BASE_URL=${url}`);
    expect(emulator.stdout()).toContain(`export RUNPOD_ENDPOINT_BASE_URL=${url}/v2`);

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
    groups.push(pid);
    await emulator.waitForOutput(/\[cli-warm\] fake worker/, { stream: "stderr" });

    emulator.child.kill("SIGINT");
    expect(await emulator.exited).toBe(0);
    await emulator.waitForOutput(/Stopped in \d+ ms/, { stream: "stderr" });
    expect(isGroupAlive(pid)).toBe(false);
  });

  it("leaves no flash worker behind when the emulator itself is SIGKILLed", async () => {
    // The worker here is this package's own runtime (`flash worker --handler`), not the fake.
    const emulator = startCli(["emulator", "--port", "0"]);
    const url = (await emulator.waitForOutput(LISTENING, { stream: "stdout" }))[1]!;
    const args = `flash worker --handler ${JSON.stringify(join(FIXTURES, "handlers", "echo.mjs"))}`;
    const created = await fetch(`${url}/v2/serverless`, {
      method: "POST",
      body: JSON.stringify({ name: "orphan-check", type: "QUEUE", scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, image: "x", cpu: [{ id: "cpu3c", vcpuCount: 2 }], args, workers: { min: 1, max: 1, idleTimeout: 30 } }),
    });
    expect(created.status).toBe(201);
    const pid = await waitFor(
      "a ready worker",
      async () => {
        const s = (await (await fetch(`${url}/__emulator/state`)).json()) as { endpoints: { workers: { state: string; pid: number }[] }[] };
        const w = s.endpoints[0]?.workers[0];
        return w?.state === "ready" ? w.pid : undefined;
      },
      30_000,
    );
    groups.push(pid);
    expect(isGroupAlive(pid)).toBe(true);
    emulator.child.kill("SIGKILL");
    await waitFor("the orphaned worker to exit", () => !isGroupAlive(pid), 15_000);
  });

  it("shows help and rejects bad flags", () => {
    const help = spawnSync(process.execPath, [CLI, "emulator", "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--state-dir");
    const workerHelp = spawnSync(process.execPath, [CLI, "worker", "--help"], { encoding: "utf8" });
    expect(workerHelp.status).toBe(0);
    expect(workerHelp.stdout).toContain("--handler");
    const bad = spawnSync(process.execPath, [CLI, "emulator", "--port", "70000"], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--port must be an integer");
  });
});
