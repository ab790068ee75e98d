/**
 * Issue acceptance (Endpoint client mode): a plain `node` script, importing
 * the package under test as a user's program would, drives endpoints of a
 * real `flash emulator` process through run / status / wait / cancel,
 * runsync, load-balanced calls and a lookup by name; a job whose wait ran out
 * is cancelled and the cancel reaches its worker; a function running on a
 * worker calls another endpoint the same way; every bad input is a clear,
 * coded error; and the script exits by itself when it is done.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/common/package-info.js";
import { FAKE_WORKER_COMMAND } from "../helpers/emulator.js";
import { FIXTURES } from "../helpers/paths.js";
import { killProcesses, startCli, startProcess } from "../helpers/processes.js";
import type { StartedProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const KEY = "endpoint-client-key-123";
let dir: string;
let emulator: StartedProcess;
let url: string;
const ids: Record<string, string> = {};

async function createEndpoint(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${url}/v2/serverless`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "QUEUE", scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, image: "node:24-bookworm-slim", cpu: [{ id: "cpu3c", vcpuCount: 2 }], args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 2, idleTimeout: 30 }, ...body }),
  });
  if (res.status !== 201) throw new Error(`create ${String(body.name)}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** Runs a script of the fixture folder with `node`, the way a user would, and waits for it to exit. */
async function runScript(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | string; steps: Map<string, unknown>; output: string }> {
  const script = startProcess(process.execPath, [join(dir, file)], { cwd: dir, env });
  const code = await script.closed;
  const steps = new Map<string, unknown>();
  for (const line of script.stdout().split("\n")) {
    if (!line.startsWith("{")) continue;
    const { step, value } = JSON.parse(line) as { step: string; value: unknown };
    steps.set(step, value);
  }
  return { code, steps, output: script.output() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "endpoint-client-"));
  // The user's project: the scripts, with flash-ts installed (the package under test).
  await mkdir(join(dir, "node_modules"));
  await symlink(PACKAGE_ROOT, join(dir, "node_modules", "flash-ts"), "dir");
  for (const file of ["drive.mjs", "relay.mjs"]) await copyFile(join(FIXTURES, "endpoint-client", file), join(dir, file));
  await mkdir(join(dir, "markers"));

  emulator = startCli(["emulator", "--port", "0", "--state-dir", join(dir, "state")], { env: { FLASH_EMULATOR_API_KEY: KEY } });
  url = (await emulator.waitForOutput(/listening on (http:\/\/127\.0\.0\.1:\d+)/, { stream: "stdout" }))[1]!;
  ids.QB_ID = await createEndpoint({ name: "client-queue" });
  // The endpoint's own execution limit (no minimum, unlike a job's policy) makes a job TIMED_OUT quickly.
  ids.QUICK_ID = await createEndpoint({ name: "client-quick", timeout: 1_000 });
  ids.LB_ID = await createEndpoint({ name: "client-lb", type: "LOAD_BALANCER", scaling: { type: "REQUEST_COUNT", requestCount: 1 }, workers: { min: 1, max: 1, idleTimeout: 30 } });
  ids.RELAY_ID = await createEndpoint({ name: "client-relay", args: `flash worker --handler ${JSON.stringify(join(dir, "relay.mjs"))}` });
});

afterAll(async () => {
  emulator?.child.kill("SIGINT");
  await emulator?.exited;
  await killProcesses();
  await rm(dir, { recursive: true, force: true });
});

describe("an Endpoint client in a plain node script, against flash emulator", () => {
  let run: Awaited<ReturnType<typeof runScript>>;
  const step = (name: string): unknown => {
    if (!run.steps.has(name)) throw new Error(`the script printed no step ${name}:\n${run.output.slice(-4000)}`);
    return run.steps.get(name);
  };

  beforeAll(async () => {
    run = await runScript("drive.mjs", { ...ids, MARKER_DIR: join(dir, "markers"), RUNPOD_API_KEY: KEY, RUNPOD_API_BASE_URL: url, RUNPOD_ENDPOINT_BASE_URL: `${url}/v2` });
  }, 180_000);

  it("runs to the end and exits by itself with code 0", () => {
    expect(run.code, run.output.slice(-4000)).toBe(0);
    expect(step("end")).toBe(true);
  });

  it("runsync returns the finished job; run returns at once, status and wait follow it to COMPLETED", () => {
    expect(step("runsync")).toMatchObject({ status: "COMPLETED", output: { answer: 42 } });
    expect(step("run")).toMatchObject({ id: expect.any(String), status: "IN_QUEUE" });
    expect(["IN_QUEUE", "IN_PROGRESS"]).toContain(step("status"));
    expect(step("wait")).toEqual({ status: "COMPLETED", output: "slow done", done: true });
  });

  it("a wait that runs out leaves the job running; cancel stops it on its worker", async () => {
    expect(step("waitTimeout")).toMatchObject({ error: { isJobError: true, reason: "WAIT_TIMEOUT", code: "UPSTREAM_TIMEOUT", cancelled: false } });
    expect(step("afterWaitTimeout")).toBe("IN_PROGRESS");
    expect(step("cancel")).toBe("CANCELLED");
    expect(step("waitCancelled")).toMatchObject({ error: { isJobError: true, reason: "CANCELLED", code: "FUNCTION_CANCELLED" } });
    // The worker got the job-stop and abandoned the job.
    const marker = join(dir, "markers", `${String(step("slowId"))}.stopped`);
    await waitFor("the worker to stop the cancelled job", () => existsSync(marker));
  });

  it("a job that fails or times out is a typed error", () => {
    expect(step("failed")).toMatchObject({ error: { isJobError: true, reason: "FAILED", code: "FUNCTION_ERROR", jobError: "bad input" } });
    expect(step("timedOut")).toMatchObject({ error: { isJobError: true, reason: "TIMED_OUT", code: "FUNCTION_TIMEOUT" } });
  });

  it("an unknown endpoint id and a value JSON cannot carry are clear, coded errors", () => {
    expect(step("unknownId")).toMatchObject({ error: { code: "NOT_FOUND", message: expect.stringContaining("endpoint doesnotexist1 was not found") } });
    expect(step("nonJson")).toMatchObject({ error: { code: "INVALID_INPUT", message: "input.callback is a function, which JSON cannot carry" } });
  });

  it("calls load-balanced endpoints with JSON bodies and query strings; a non-2xx answer is an error", () => {
    expect(step("lbPost")).toMatchObject({ method: "POST", path: "/echo", body: '{"a":1}' });
    expect(step("lbGet")).toMatchObject({ method: "GET", path: "/items?q=x" });
    expect(step("lbStatus")).toMatchObject({ error: { code: "INVALID_INPUT", message: expect.stringContaining("failed with HTTP 418") } });
  });

  it("finds an endpoint by name through the control plane", () => {
    expect(step("byName")).toBe(7);
  });

  it("works inside a function running on a worker, with the worker's own key and URLs", () => {
    expect(step("relay")).toMatchObject({ relayed: "via relay", worker: expect.any(String) });
  });
});

describe("without a key, against Runpod itself", () => {
  it("the script fails at once with UNAUTHORIZED naming RUNPOD_API_KEY, and exits", async () => {
    const { code, steps, output } = await runScript("drive.mjs", { ...ids });
    expect(code).not.toBe(0);
    expect(steps.size).toBe(0);
    expect(output).toMatch(/RUNPOD_API_KEY is not set, and calls to Runpod need an API key/);
    expect(output).toContain("code: 'UNAUTHORIZED'");
  });
});
