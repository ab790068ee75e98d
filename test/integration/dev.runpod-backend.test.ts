/**
 * The Runpod path of `flash dev`: with RUNPOD_API_KEY set, the dev server
 * provisions and calls through Runpod's REST v2, job API and LB endpoints.
 * A separate emulator with an API key stands in for Runpod (the base-URL
 * variables point there), so the whole path runs for real: auth on every
 * call, the bootstrap start command (the runtime travels with the calls), a pipeline whose
 * worker calls other endpoints with the key. The key never reaches the
 * console or the .runpod cache.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../src/emulator/index.js";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { nullLogger } from "../../src/shared/logger.js";
import { REPO_ROOT, copyProject, startDevProcess } from "../helpers/dev-process.js";
import type { DevProcess } from "../helpers/dev-process.js";

const KEY = "rpa_TESTKEY_0123456789abcdef";
let runpod: EmulatorHandle;
let stateDir: string;
let dir: string;
let dev: DevProcess;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "flash-fake-runpod-"));
  runpod = await startEmulator({ apiKey: KEY, stateDir, logger: nullLogger });
  dir = await copyProject(join(REPO_ROOT, "examples", "hello"));
  await writeFile(join(dir, ".env"), `RUNPOD_API_KEY=${KEY}\n`);
  dev = await startDevProcess(dir, [], {
    RUNPOD_API_BASE_URL: runpod.url,
    RUNPOD_ENDPOINT_BASE_URL: `${runpod.url}/v2`,
  });
});

afterAll(async () => {
  await dev?.stop();
  await runpod?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(dev.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("flash dev with RUNPOD_API_KEY (a stand-in Runpod)", () => {
  it("runs on the Runpod backend", () => {
    expect(dev.output()).toContain(`Backend: Runpod (${runpod.url})`);
  });

  it("provisions with the key and runs QB, LB and pipeline calls", async () => {
    expect((await post("/gpu_worker/run_sync", { input: { message: "remote" } })).body).toMatchObject({ status: "COMPLETED", output: { message: "remote" } });
    expect((await post("/lb_worker/process", { x: 1 })).body).toMatchObject({ status: "success", echo: { x: 1 } });
    const pipeline = await post("/pipeline/greet", { name: "Lin" });
    expect(pipeline.status, JSON.stringify(pipeline.body)).toBe(200);
    expect(pipeline.body).toMatchObject({ result: "HELLO LIN" });

    const list = (await (await fetch(`${runpod.url}/v2/serverless`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as {
      endpoints: { name: string; args?: string; env?: Record<string, string> }[];
    };
    const names = list.endpoints.map((e) => e.name).sort();
    expect(names).toEqual(["live-cpu-worker", "live-gpu-worker", "live-lb-worker", "live-pipeline"]);
    for (const e of list.endpoints) {
      expect(e.args).toMatch(/^node -e '[^']+'$/);
      expect(e.env?.FLASH_PROJECT_ID).toEqual(expect.any(String));
    }
  });

  it("never writes the key to the console or the endpoint cache", async () => {
    expect(dev.output()).not.toContain(KEY);
    const cache = await readFile(join(dir, ".runpod", "resources.json"), "utf8");
    expect(cache).not.toContain(KEY);
    expect(JSON.parse(cache)).toMatchObject({ version: 1 });
  });

  it("a wrong key fails provisioning with a clear 503", async () => {
    await dev.stop();
    await rm(join(dir, ".runpod"), { recursive: true, force: true });
    await writeFile(join(dir, ".env"), "RUNPOD_API_KEY=rpa_wrong_key_000000\n");
    dev = await startDevProcess(dir, [], { RUNPOD_API_BASE_URL: runpod.url, RUNPOD_ENDPOINT_BASE_URL: `${runpod.url}/v2` });
    const res = await post("/cpu_worker/run_sync", { input: {} });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: "PROVISION_FAILED", hint: expect.stringMatching(/RUNPOD_API_KEY/) } });
    expect(dev.output()).not.toContain("rpa_wrong_key_000000");
  });
});
