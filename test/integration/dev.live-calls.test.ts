/**
 * What `flash dev --runpod` shows while calls are in flight, through a
 * stand-in Runpod (a real `flash emulator --api-key` process, its fault hooks
 * making the states happen): a cold start reads queued → worker initializing
 * → running → done; a slow endpoint create reads provisioning the endpoint; a throttled endpoint says so with its hint; a function's
 * console output reaches the console while it runs, once, with the result
 * unchanged; a nested call's lines carry the callee's endpoint. Output is
 * piped here, so these are the plain lines (the terminal's are in
 * dev.live-calls-tty.test.ts).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, startDevProcess } from "../helpers/dev-process.js";
import { FIXTURES } from "../helpers/paths.js";
import type { DevProcess } from "../helpers/dev-process.js";
import { startStandInRunpod } from "../helpers/stand-in-runpod.js";
import type { StandInRunpod } from "../helpers/stand-in-runpod.js";

const KEY = "rpa_LIVE_CALLS_0123456789abcdef";
let runpod: StandInRunpod;
let project: string;
let gates: string;
let dev: DevProcess;

beforeAll(async () => {
  runpod = await startStandInRunpod(KEY);
  project = await copyProject(join(FIXTURES, "projects", "live-calls"));
  gates = await mkdtemp(join(tmpdir(), "flash-live-gates-"));
  dev = await startDevProcess(project, ["--runpod"], { ...runpod.env, RUNPOD_API_KEY: KEY });
});

afterAll(async () => {
  if (process.env.SHOW_DEV_OUTPUT) process.stdout.write(dev.output());
  await dev?.stop();
  await runpod?.stop();
  if (project) await rm(project, { recursive: true, force: true });
  if (gates) await rm(gates, { recursive: true, force: true });
});

async function fault(rule: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${runpod.url}/__emulator/faults`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: JSON.stringify(rule) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

async function removeFault(id: string): Promise<void> {
  expect((await fetch(`${runpod.url}/__emulator/faults/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
}

function post(path: string, input: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return fetch(dev.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input }) }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
  }));
}

/** The console's lines since `from`. */
const linesSince = (from: number): string[] => dev.output().slice(from).split("\n");

describe("live call state", () => {
  it("a cold start of 3 s reads queued, worker initializing, running, then done, in that order", async () => {
    await fault({ endpoint: "live-cold", coldStartMs: 3000, times: 1 });
    const from = dev.output().length;
    const res = await post("/cold/run_sync", { n: 7 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: "COMPLETED", output: { n: 7 } });
    await dev.waitForOutput(/\[live-cold\] POST \/cold\/run_sync: done in \d+\.\d s/, 10_000, from);
    const states = linesSince(from)
      .filter((l) => l.startsWith("[live-cold] POST /cold/run_sync: "))
      .map((l) => l.slice("[live-cold] POST /cold/run_sync: ".length).replace(/ in \d+\.\d s$/, ""));
    // Provisioning the new endpoint may show first; each state once, in this order.
    expect(states.filter((s) => s !== "provisioning the endpoint")).toEqual(["queued", "worker initializing (cold start)", "running", "done"]);
  });

  it("a call whose endpoint is slow to create says it is provisioning the endpoint, then runs", async () => {
    // The stand-in takes 2.5 s to create an endpoint: the call waits on provisioning, not on a job.
    const id = await fault({ route: "^POST /v2/serverless$", latencyMs: 2500, times: 1 });
    const from = dev.output().length;
    const res = await post("/inner/run_sync", { x: 2 });
    await removeFault(id).catch(() => undefined); // used up already when the create went through
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await dev.waitForOutput(/\[live-inner\] POST \/inner\/run_sync: done in \d+\.\d s/, 10_000, from);
    const states = linesSince(from)
      .filter((l) => l.startsWith("[live-inner] POST /inner/run_sync: "))
      .map((l) => l.slice("[live-inner] POST /inner/run_sync: ".length).replace(/ in \d+\.\d s$/, ""));
    expect(states[0]).toBe("provisioning the endpoint");
    expect(states.at(-1)).toBe("done");
  });

  it("a throttled endpoint says so, with the hint, until a worker can start", async () => {
    const id = await fault({ endpoint: "live-busy", throttled: true });
    const from = dev.output().length;
    const pending = post("/busy/run_sync", { n: 1 });
    await dev.waitForOutput(/\[live-busy\] POST \/busy\/run_sync: throttled: no capacity for a worker right now\n {2}hint: .*wider pool/, 30_000, from);
    await removeFault(id);
    const res = await pending;
    expect(res.body).toMatchObject({ status: "COMPLETED", output: { n: 1 } });
    await dev.waitForOutput(/\[live-busy\] POST \/busy\/run_sync: done in/, 10_000, from);
  });
});

describe("live logs", () => {
  it("a function's lines reach the console while it runs, each once, and the result is unchanged", async () => {
    const from = dev.output().length;
    // Outside the project, so opening it reloads nothing.
    const gate = join(gates, "chatty.gate");
    let answered = false;
    const pending = post("/chatty/run_sync", { lines: 7, gate }).finally(() => (answered = true));
    // Every line is on the console while the function still holds its answer (it waits for the gate).
    await dev.waitForOutput(/\[live-chatty\] tick 6\n/, 60_000, from);
    expect(answered).toBe(false);
    await writeFile(gate, "");
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "COMPLETED", output: { printed: 7, at: "1970-01-01T00:00:00.000Z" } });
    await dev.waitForOutput(/\[live-chatty\] POST \/chatty\/run_sync: done in/, 10_000, from);
    const ticks = linesSince(from).filter((l) => /^\[live-chatty\] tick \d$/.test(l));
    expect(ticks).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `[live-chatty] tick ${i}`));
  });

  it("a nested call's lines carry the callee's endpoint", async () => {
    const from = dev.output().length;
    const res = await post("/outer/run_sync", { x: 20 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ output: 41 });
    await dev.waitForOutput(/\[live-outer\] outer got 40/, 10_000, from);
    const lines = linesSince(from);
    expect(lines).toContain("[live-outer] outer calls inner");
    expect(lines).toContain("[live-inner] inner got 20");
    expect(lines.some((l) => /\[live-outer\] inner got/.test(l))).toBe(false);
    // Each once: the lines streamed live are not printed again with the result.
    expect(lines.filter((l) => l.endsWith("inner got 20"))).toHaveLength(1);
  });
});
