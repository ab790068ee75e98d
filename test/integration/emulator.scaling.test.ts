/**
 * Worker scaling and process lifecycle with real worker processes (the
 * generic fake worker): workers.max, workers.min, idleTimeout, PATCH, crash
 * loops, endpoint delete and close() leaving no process behind.
 */
import { describe, expect, it } from "vitest";
import { parseJobError } from "../../src/runpod/wire-types.js";
import type { JobState } from "../../src/runpod/wire-types.js";
import { emulatorPerTest, FAKE_WORKER_COMMAND, maxOverlap, workerPids, type TestEmulator } from "../helpers/emulator.js";
import { isGroupAlive } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const emulator = emulatorPerTest();

type Output = { workerId: string; start: number; end: number };

const liveWorkers = (t: TestEmulator, endpointId: string) => t.emulator.state().endpoints.find((e) => e.id === endpointId)?.workers.filter((w) => w.state !== "stopping") ?? [];

describe("scaling", () => {
  it("workersMax 2 with four slow concurrent jobs runs two at a time", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "max-two", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 2, idleTimeout: 30 } });
    const jobs = await Promise.all(
      [1, 2, 3, 4].map(() => t.json<JobState>(`/v2/${ep.id}/runsync?wait=60000`, { method: "POST", json: { input: { sleepMs: 700 } } })),
    );
    expect(jobs.every((j) => j.status === "COMPLETED")).toBe(true);
    const outputs = jobs.map((j) => j.output as Output);
    expect(new Set(outputs.map((o) => o.workerId)).size).toBe(2);
    expect(maxOverlap(outputs)).toBe(2);
  });

  it("workersMin 1 keeps one worker warm past its idle timeout", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "warm", args: FAKE_WORKER_COMMAND, workers: { min: 1, max: 2, idleTimeout: 1 } });
    const [warm] = await waitFor("a warm worker", () => {
      const ready = liveWorkers(t, ep.id).filter((w) => w.state === "ready");
      return ready.length === 1 ? ready : undefined;
    });
    // Wait (on the emulator's own clock) until it has been idle for twice its idle timeout.
    await waitFor("two idle timeouts", () => (liveWorkers(t, ep.id)[0]?.idleMs ?? 0) >= 2000, 10_000);
    expect(liveWorkers(t, ep.id).map((w) => w.id)).toEqual([warm!.id]);
    const job = await t.json<JobState>(`/v2/${ep.id}/runsync`, { method: "POST", json: { input: { output: 1 } } });
    expect(job.workerId).toBe(warm!.id);
    expect(job.delayTime).toBeLessThan(1000);
  });

  it("stops a worker after idleTimeout seconds idle", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "idle", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 1, idleTimeout: 1 } });
    const job = await t.json<JobState>(`/v2/${ep.id}/runsync`, { method: "POST", json: { input: { output: 1 } } });
    expect(job.status).toBe("COMPLETED");
    const [pid] = workerPids(t.emulator);
    const finished = Date.now();
    await waitFor("the idle worker to stop", () => liveWorkers(t, ep.id).length === 0, 10_000);
    expect(Date.now() - finished).toBeGreaterThanOrEqual(800);
    await waitFor("the worker process to exit", () => !isGroupAlive(pid!));
    const health = await t.json<{ workers: Record<string, number> }>(`/v2/${ep.id}/health`);
    expect(health.workers).toMatchObject({ idle: 0, ready: 0, running: 0, initializing: 0 });
  });

  it("PATCH raises workers.min (scales up) and a new start command replaces idle workers", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "patched", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 3, idleTimeout: 30 } });
    await t.json(`/v2/serverless/${ep.id}`, { method: "PATCH", json: { workers: { min: 2 } } });
    const first = await waitFor("two workers", () => {
      const ready = liveWorkers(t, ep.id).filter((w) => w.state === "ready");
      return ready.length === 2 ? ready.map((w) => w.id) : undefined;
    });
    await t.json(`/v2/serverless/${ep.id}`, { method: "PATCH", json: { env: { FAKE_MARK: "v2" } } });
    await waitFor("replacement workers", () => {
      const ready = liveWorkers(t, ep.id).filter((w) => w.state === "ready");
      return ready.length === 2 && ready.every((w) => !first.includes(w.id) && w.version === 2);
    });
  });

  it("with workers.max 0 jobs stay queued and no worker starts", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "zero", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 0, idleTimeout: 5 } });
    const res = await t.json<JobState>(`/v2/${ep.id}/runsync?wait=1000`, { method: "POST", json: { input: 1 } });
    expect(res.status).toBe("IN_QUEUE");
    expect(liveWorkers(t, ep.id)).toEqual([]);
  });

  it("backs off a crash loop and fails queued jobs with a clear error", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "crashy", args: FAKE_WORKER_COMMAND, env: { FAKE_WORKER_EXIT_AT_START: "1" }, workers: { min: 0, max: 1, idleTimeout: 5 } });
    const res = await t.json<JobState>(`/v2/${ep.id}/runsync?wait=30000`, { method: "POST", json: { input: 1 } });
    expect(res.status).toBe("FAILED");
    // runpod-python's error shape, so clients can tell it from a function's failure.
    expect(parseJobError(res.error)?.error_message).toMatch(/workers of endpoint "crashy" keep exiting before they are ready \(last: code 1\)/);
    expect(t.logs.some((l) => l.includes("[crashy] fake worker") && l.includes("failing at start"))).toBe(true);
    expect(t.logs.some((l) => /\[crashy\] workers keep exiting \(\d+ in a row\); next start in/.test(l))).toBe(true);
  });
});

describe("process lifecycle", () => {
  it("DELETE stops the endpoint's workers and fails its open jobs", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "doomed", args: FAKE_WORKER_COMMAND, workers: { min: 1, max: 1, idleTimeout: 30 } });
    await waitFor("a worker", () => liveWorkers(t, ep.id).some((w) => w.state === "ready"));
    const running = await t.json<{ id: string }>(`/v2/${ep.id}/run`, { method: "POST", json: { input: { sleepMs: 30_000 } } });
    const queued = await t.json<{ id: string }>(`/v2/${ep.id}/run`, { method: "POST", json: { input: { sleepMs: 30_000 } } });
    await waitFor("the job to run", async () => (await t.json<JobState>(`/v2/${ep.id}/status/${running.id}`)).status === "IN_PROGRESS");
    const waiting = t.json<JobState>(`/v2/${ep.id}/status-sync/${queued.id}?wait=30000`);
    const pids = workerPids(t.emulator);
    expect((await t.fetch(`/v2/serverless/${ep.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await waiting).toMatchObject({ status: "FAILED", error: `endpoint ${ep.id} was deleted` });
    await waitFor("worker processes to exit", () => pids.every((pid) => !isGroupAlive(pid)));
    expect((await t.fetch(`/v2/${ep.id}/status/${running.id}`)).status).toBe(404);
  });

  it("close() stops every worker, even one that ignores SIGTERM, and is idempotent", async () => {
    const t = await emulator({ workerStopGraceMs: 500 });
    await t.createEndpoint({ name: "a", args: FAKE_WORKER_COMMAND, workers: { min: 2, max: 2, idleTimeout: 30 } });
    await t.createEndpoint({ name: "stubborn", args: FAKE_WORKER_COMMAND, env: { FAKE_WORKER_IGNORE_SIGTERM: "1" }, workers: { min: 1, max: 1, idleTimeout: 30 } });
    await waitFor("three workers", () => t.emulator.state().endpoints.flatMap((e) => e.workers).filter((w) => w.state === "ready").length === 3);
    const pids = workerPids(t.emulator);
    expect(pids).toHaveLength(3);
    await Promise.all([t.close(), t.close()]);
    await t.close();
    expect(pids.filter(isGroupAlive)).toEqual([]);
  });
});
