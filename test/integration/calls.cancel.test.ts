/**
 * Abandoned calls are cancelled (issue 7 item 3): a job whose caller went
 * away, whose parent job was cancelled or timed out, or that was in flight
 * at Ctrl-C ends CANCELLED on the platform at once, and its worker stops
 * running it. Real `flash dev` processes; "Runpod" is a separate emulator
 * with an API key (the base-URL variables point there), so the job states
 * can be read from outside the dev server, even after it exited.
 */
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../src/emulator/index.js";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { nullLogger } from "../../src/common/logger.js";
import { startDevProcess } from "../helpers/dev-process.js";
import { waitFor } from "../helpers/wait.js";
import type { DevProcess } from "../helpers/dev-process.js";

const KEY = "rpa_CANCELTESTKEY_0123456789";

const files: Record<string, string> = {
  "one.ts": `import { remote, CpuLiveServerless } from "flash-ts";
const one = new CpuLiveServerless({ name: "one", workersMax: 1 });
export const slow = remote(one, async (input: { ms: number }) => {
  await new Promise((resolve) => setTimeout(resolve, input.ms));
  return { slept: input.ms };
});
export const quick = remote(one, async () => ({ quick: true }));
`,
  "nest.ts": `import { remote, CpuLiveServerless } from "flash-ts";
const outer = new CpuLiveServerless({ name: "outer" });
const outerShort = new CpuLiveServerless({ name: "outer-short", executionTimeoutMs: 3000 });
const inner = new CpuLiveServerless({ name: "inner", workersMax: 2 });
export const innerSlow = remote(inner, async (ms: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
});
export const outerCall = remote(outer, async (input: { ms: number }) => innerSlow(input.ms));
export const outerTimesOut = remote(outerShort, async (input: { ms: number }) => innerSlow(input.ms));
export const localCall = remote(outer, { local: true }, async (input: { ms: number }) => innerSlow(input.ms));
`,
};

let runpod: EmulatorHandle;
let stateDir: string;
let dir: string;
let dev: DevProcess;
const workerLines: string[] = [];

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "flash-cancel-runpod-"));
  runpod = await startEmulator({ apiKey: KEY, stateDir, logger: nullLogger, onWorkerLog: (l) => void workerLines.push(`[${l.endpointName}] ${l.line}`) });
  dir = await mkdtemp(join(tmpdir(), "flash-cancel-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, ".env"), `RUNPOD_API_KEY=${KEY}\n`);
  dev = await startDevProcess(dir, [], { RUNPOD_API_BASE_URL: runpod.url, RUNPOD_ENDPOINT_BASE_URL: `${runpod.url}/v2` });
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  await runpod?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

function endpointOf(name: string): { id: string; workers: { jobs: string[] }[] } | undefined {
  return runpod.state().endpoints.find((e) => e.name === name);
}

/**
 * Waits until a worker of the endpoint runs a job, and returns that job's id.
 * Fails at once, saying so, when `call` (which should start it) answered before any such job ran.
 */
async function runningJob(endpointName: string, call: StartedCall, exclude: ReadonlySet<string> = new Set()): Promise<{ endpointId: string; jobId: string }> {
  let found: { endpointId: string; jobId: string } | undefined;
  await waitFor(`a running job on ${endpointName}`, () => {
    const endpoint = endpointOf(endpointName);
    const jobId = endpoint?.workers.flatMap((w) => w.jobs).find((id) => !exclude.has(id));
    if (endpoint && jobId) found = { endpointId: endpoint.id, jobId };
    return found !== undefined || call.answer() !== undefined;
  }, 30_000);
  if (!found) throw new Error(`the call answered ${JSON.stringify(call.answer())} before any job ran on ${endpointName}`);
  return found;
}

async function jobStatus(endpointId: string, jobId: string): Promise<string> {
  const res = await fetch(`${runpod.url}/v2/${endpointId}/status/${jobId}`, { headers: { authorization: `Bearer ${KEY}` } });
  const body = (await res.json()) as { status?: string };
  return body.status ?? `HTTP ${res.status}`;
}

type CallAnswer = { status: number; text: string } | "aborted";
interface StartedCall {
  abort(): void;
  /** Never rejects. */
  done: Promise<CallAnswer>;
  /** The answer once it came, else undefined. */
  answer(): CallAnswer | undefined;
}

/** Starts a call the test can abandon. */
function startCall(path: string, body: unknown): StartedCall {
  const controller = new AbortController();
  let answer: CallAnswer | undefined;
  const done = fetch(dev.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: controller.signal })
    .then(
      async (res): Promise<CallAnswer> => ({ status: res.status, text: await res.text() }),
      () => "aborted" as const,
    )
    .then((value) => (answer = value));
  return { abort: () => controller.abort(), done, answer: () => answer };
}

async function waitForStatus(endpointId: string, jobId: string, wanted: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  let last = "";
  await waitFor(`job ${jobId} to be ${wanted}`, async () => (last = await jobStatus(endpointId, jobId)) === wanted, timeoutMs, 20).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last status ${last}`);
  });
  return performance.now() - started;
}

describe("abandoned calls are cancelled", () => {
  it("a 15 s job abandoned by its client after 2 s is CANCELLED within 1 s, and its worker stops running it", async () => {
    const submitted = performance.now();
    const call = startCall("/one/slow/run_sync", { input: { ms: 15_000 } });
    const { endpointId, jobId } = await runningJob("live-one", call);
    // The client gives up 2 s after it asked (the job is running by then).
    await waitFor("2 s after the call", () => performance.now() - submitted >= 2000, 5000);
    expect(await jobStatus(endpointId, jobId)).toBe("IN_PROGRESS");
    call.abort();
    const elapsed = await waitForStatus(endpointId, jobId, "CANCELLED", 5000);
    expect(elapsed).toBeLessThan(1000);
    // The worker was told (job-stop) and freed its only slot: the next call on this
    // workersMax-1 endpoint runs now, long before the 15 s job would have ended.
    await waitFor("the worker to stop the job", () => workerLines.some((l) => l.includes(`job ${jobId} was stopped by the platform`)), 5000);
    const next = await fetch(dev.url + "/one/quick/run_sync", { method: "POST", headers: { "content-type": "application/json" }, body: '{"input":{}}' });
    expect(next.status).toBe(200);
    expect(await next.json()).toMatchObject({ output: { quick: true } });
    expect(performance.now() - submitted).toBeLessThan(15_000);
    expect(await call.done).toBe("aborted");
  });

  it("a nested call is cancelled when its parent job is cancelled", async () => {
    const call = startCall("/nest/outerCall/run_sync", { input: { ms: 15_000 } });
    const inner = await runningJob("live-inner", call);
    call.abort();
    await waitForStatus(inner.endpointId, inner.jobId, "CANCELLED", 5000);
    expect(await call.done).toBe("aborted");
  });

  it("a remote call made by a local function is cancelled when the local call's client goes away", async () => {
    const before = new Set(endpointOf("live-inner")?.workers.flatMap((w) => w.jobs) ?? []);
    const call = startCall("/nest/localCall/run_sync", { input: { ms: 15_000 } });
    const inner = await runningJob("live-inner", call, before);
    call.abort();
    await waitForStatus(inner.endpointId, inner.jobId, "CANCELLED", 5000);
    expect(await call.done).toBe("aborted");
  });

  it("a nested call is cancelled when its parent times out", async () => {
    const before = new Set(endpointOf("live-inner")?.workers.flatMap((w) => w.jobs) ?? []);
    const call = startCall("/nest/outerTimesOut/run_sync", { input: { ms: 15_000 } });
    const inner = await runningJob("live-inner", call, before);
    const answer = await call.done;
    expect(answer).not.toBe("aborted");
    if (answer === "aborted") return;
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: "FUNCTION_TIMEOUT" } });
    await waitForStatus(inner.endpointId, inner.jobId, "CANCELLED", 5000);
  });

  it("a reload does not cancel a call whose client still waits: it finishes on its generation", async () => {
    const before = new Set(endpointOf("live-one")?.workers.flatMap((w) => w.jobs) ?? []);
    const call = startCall("/one/slow/run_sync", { input: { ms: 3000 } });
    const { endpointId, jobId } = await runningJob("live-one", call, before);
    const from = dev.output().length;
    await appendFile(join(dir, "one.ts"), "\n// saved while a call runs\n");
    await dev.waitForOutput(/Reloaded \d+ route/, 30_000, from);
    const answer = await call.done;
    expect(answer).not.toBe("aborted");
    if (answer === "aborted") return;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ output: { slept: 3000 } });
    expect(await jobStatus(endpointId, jobId)).toBe("COMPLETED");
  });

  it("Ctrl-C with a call in flight: that job ends CANCELLED before flash dev exits", async () => {
    const before = new Set(endpointOf("live-one")?.workers.flatMap((w) => w.jobs) ?? []);
    const call = startCall("/one/slow/run_sync", { input: { ms: 15_000 } });
    const { endpointId, jobId } = await runningJob("live-one", call, before);
    const stopped = performance.now();
    const code = await dev.stop("SIGINT");
    expect(code).toBe(0);
    expect(performance.now() - stopped).toBeLessThan(10_000);
    expect(await jobStatus(endpointId, jobId)).toBe("CANCELLED");
    // The session abandoned the call itself (rather than the server cutting the connection later): the client is told.
    const answer = await call.done;
    expect(answer).not.toBe("aborted");
    if (answer === "aborted") return;
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: "SERVICE_UNAVAILABLE", message: expect.stringContaining("flash dev is stopping") } });
  });
});
