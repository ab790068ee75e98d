/**
 * The Runpod path of `flash dev`: with RUNPOD_API_KEY set, the dev server
 * provisions and calls through Runpod's REST v2, job API and LB endpoints.
 * A separate emulator with an API key stands in for Runpod (the base-URL
 * variables point there), so the whole path runs for real: auth on every
 * call, the bootstrap start command (the runtime travels with the calls), a pipeline whose
 * worker calls other endpoints with the key. The key never reaches the
 * console (at debug level, where the most is logged), the files under
 * .runpod/, /openapi.json, /docs or an error response.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../src/emulator/index.js";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { nullLogger } from "../../src/common/logger.js";
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
  await writeFile(
    join(dir, "failing.ts"),
    `import { remote, CpuLiveServerless } from "flash-ts";
export const fail = remote(new CpuLiveServerless({ name: "failing" }), async () => { throw new Error("failed on purpose"); });
`,
  );
  dev = await startDevProcess(dir, [], { ...DEV_ENV, RUNPOD_API_BASE_URL: runpod.url, RUNPOD_ENDPOINT_BASE_URL: `${runpod.url}/v2` });
});

/** Debug level: a key that slips into a debug line must be caught too. */
const DEV_ENV = { FLASH_LOG_LEVEL: "debug" };

/** Every file under `root`, with its text. */
async function filesUnder(root: string): Promise<{ path: string; text: string }[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => ({ path: join(e.parentPath, e.name), text: await readFile(join(e.parentPath, e.name), "utf8") })),
  );
}

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

  it("never shows the key: not in error responses, /openapi.json, /docs, the console at debug level or any file under .runpod", async () => {
    const responses: string[] = [];
    const failed = await fetch(`${dev.url}/failing/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    responses.push(await failed.text());
    expect(failed.status).toBe(500);
    expect(responses[0]).toMatch(/failed on purpose/);
    const badJson = await fetch(`${dev.url}/gpu_worker/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(badJson.status).toBe(400);
    responses.push(await badJson.text());
    const missing = await fetch(`${dev.url}/nowhere`);
    expect(missing.status).toBe(404);
    responses.push(await missing.text());
    const openapi = await fetch(`${dev.url}/openapi.json`);
    expect(openapi.status).toBe(200);
    const docs = await fetch(`${dev.url}/docs`);
    expect(docs.status).toBe(200);
    for (const text of [...responses, await openapi.text(), await docs.text()]) expect(text).not.toContain(KEY);

    // The calls above were logged; at debug level the HTTP calls to Runpod are too.
    await dev.waitForOutput(/POST \/failing\/run_sync → live-failing 500/);
    expect(dev.output()).toMatch(/GET .*\/v2\/serverless/);
    expect(dev.output()).not.toContain(KEY);

    const files = await filesUnder(join(dir, ".runpod"));
    expect(files.map((f) => f.path)).toContain(join(dir, ".runpod", "resources.json"));
    for (const file of files) expect(file.text, file.path).not.toContain(KEY);
    expect(JSON.parse(files.find((f) => f.path.endsWith("resources.json"))!.text)).toMatchObject({ version: 1 });
  });

  it("a wrong key fails provisioning with a clear 503", async () => {
    await dev.stop();
    await rm(join(dir, ".runpod"), { recursive: true, force: true });
    await writeFile(join(dir, ".env"), "RUNPOD_API_KEY=rpa_wrong_key_000000\n");
    dev = await startDevProcess(dir, [], { ...DEV_ENV, RUNPOD_API_BASE_URL: runpod.url, RUNPOD_ENDPOINT_BASE_URL: `${runpod.url}/v2` });
    const res = await post("/cpu_worker/run_sync", { input: {} });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: "PROVISION_FAILED", hint: expect.stringMatching(/RUNPOD_API_KEY/) } });
    expect(JSON.stringify(res.body)).not.toContain("rpa_wrong_key_000000");
    expect(dev.output()).not.toContain("rpa_wrong_key_000000");
  });
});
