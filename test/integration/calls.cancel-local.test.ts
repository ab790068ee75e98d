/**
 * Abandoned calls on the embedded emulator (the default `flash dev`): a
 * function that never returns, on an endpoint with one worker, must not hold
 * that worker once its caller has gone (issue 7 item 3). An LB call whose
 * caller goes away releases the worker too (aborting the request is the cancel).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import { waitFor } from "../helpers/wait.js";
import type { DevProcess } from "../helpers/dev-process.js";

const KEY = "emu-cancel-local-key";

const files: Record<string, string> = {
  "single.ts": `import { remote, CpuLiveServerless, CpuLiveLoadBalancer } from "flash-ts";
const one = new CpuLiveServerless({ name: "single", workersMax: 1 });
const api = new CpuLiveLoadBalancer({ name: "single-lb", workersMax: 1 });
export const never = remote(one, () => new Promise(() => {}));
export const quick = remote(one, async () => ({ quick: true }));
export const neverLb = remote(api, { method: "POST", path: "/never" }, () => new Promise(() => {}));
`,
};

let dir: string;
let dev: DevProcess;
let emulatorUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-cancel-local-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  dev = await startDevProcess(dir, [], { FLASH_EMULATOR_API_KEY: KEY });
  emulatorUrl = dev.output().match(/Backend: local emulator at (http:\/\/\S+)/)![1]!;
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface WorkerState {
  jobs: string[];
  inFlight: number;
  busy: boolean;
}

async function workersOf(endpointName: string): Promise<WorkerState[]> {
  const res = await fetch(`${emulatorUrl}/__emulator/state`, { headers: { authorization: `Bearer ${KEY}` } });
  const state = (await res.json()) as { endpoints: { name: string; workers: WorkerState[] }[] };
  return state.endpoints.find((e) => e.name === endpointName)?.workers ?? [];
}

describe("an abandoned call does not hold the endpoint's only worker", () => {
  it("a never-returning QB function abandoned by its client does not block the next caller", async () => {
    const controller = new AbortController();
    const abandoned = fetch(`${dev.url}/single/never/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"input":{}}', signal: controller.signal }).catch(
      () => "aborted",
    );
    await waitFor("the job to run", async () => (await workersOf("live-single")).some((w) => w.jobs.length > 0), 60_000);
    controller.abort();
    expect(await abandoned).toBe("aborted");
    // Without the cancel this waits for the function's 300 s timeout.
    const next = await fetch(`${dev.url}/single/quick/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"input":{}}', signal: AbortSignal.timeout(30_000) });
    expect(next.status).toBe(200);
    expect(await next.json()).toMatchObject({ output: { quick: true } });
  });

  it("an LB call abandoned by its client releases the worker", async () => {
    const controller = new AbortController();
    const abandoned = fetch(`${dev.url}/single/never`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}", signal: controller.signal }).catch(() => "aborted");
    await waitFor("the LB request to reach the worker", async () => (await workersOf("live-single-lb")).some((w) => w.inFlight > 0), 60_000);
    controller.abort();
    expect(await abandoned).toBe("aborted");
    await waitFor("the LB worker to be released", async () => (await workersOf("live-single-lb")).every((w) => w.inFlight === 0), 5000);
  });
});
