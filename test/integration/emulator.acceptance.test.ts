/**
 * Acceptance: the official npm client `runpod-sdk`, unchanged and pointed at
 * the emulator with its `baseUrl` option, against endpoints created through
 * REST v2 whose start command is `flash worker --handler <file>` — real
 * worker processes running this package's worker runtime.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import runpodSdk from "runpod-sdk";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Endpoint, JobState } from "../../src/runpod/wire-types.js";
import { FIXTURES, maxOverlap, useEmulator, workerPids, type TestEmulator } from "../helpers/emulator.js";
import { isGroupAlive } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const KEY = "acceptance-key-42";
const ECHO = `flash worker --handler ${JSON.stringify(join(FIXTURES, "handlers", "echo.mjs"))}`;
const STREAM = `flash worker --handler ${JSON.stringify(join(FIXTURES, "handlers", "stream.mjs"))}`;

let t: TestEmulator;
let markers: string;
let stateDir: string;
let sdk: ReturnType<typeof runpodSdk>;

const endpointFor = (ep: Endpoint) => sdk.endpoint(ep.id)!;
const liveWorkers = (endpointId: string) => t.emulator.state().endpoints.find((e) => e.id === endpointId)?.workers.filter((w) => w.state !== "stopping") ?? [];

describe("runpod-sdk against the emulator with flash worker processes", () => {
  beforeAll(async () => {
    markers = await mkdtemp(join(tmpdir(), "emu-accept-"));
    stateDir = await mkdtemp(join(tmpdir(), "emu-accept-state-"));
    t = await useEmulator({ apiKey: KEY, stateDir });
    sdk = runpodSdk(KEY, { baseUrl: `${t.url}/v2` });
    // runpod-sdk's runSync logs every status-sync poll.
    vi.spyOn(console, "log").mockImplementation(() => {});
  });
  afterAll(async () => {
    const pids = t ? workerPids(t.emulator) : [];
    await t?.close();
    expect(pids.filter(isGroupAlive)).toEqual([]);
    await rm(markers, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  it("runSync, run + status, health", async () => {
    const ep = await t.createEndpoint({ name: "accept-echo", args: ECHO, workers: { min: 0, max: 2, idleTimeout: 30 } });
    const endpoint = endpointFor(ep);
    const result = await endpoint.runSync({ input: { value: "hi" } }, 60_000);
    expect(result).toMatchObject({ status: "COMPLETED", completed: true, succeeded: true, output: { echo: "hi" } });

    const started = await endpoint.run({ input: { value: 2, sleepMs: 200 } }, 10_000);
    expect(started).toMatchObject({ status: "IN_QUEUE" });
    const id = (started as { id: string }).id;
    const done = await waitFor("the job to complete", async () => {
      // The declared type omits the `completed` flag the client adds at run time.
      const s = (await endpoint.status(id, 10_000)) as { completed?: boolean };
      return s.completed ? s : undefined;
    });
    expect(done).toMatchObject({ id, status: "COMPLETED", output: { echo: 2 }, succeeded: true });

    const health = await endpoint.health(10_000);
    expect(health.jobs.completed).toBeGreaterThanOrEqual(2);
    expect(health.workers).toMatchObject({ initializing: expect.any(Number), idle: expect.any(Number), ready: expect.any(Number), running: expect.any(Number), throttled: 0 });
    expect(health.workers.ready).toBeGreaterThanOrEqual(1);
  });

  it("stream yields each chunk of a generator handler", async () => {
    const ep = await t.createEndpoint({ name: "accept-stream", args: STREAM, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const endpoint = endpointFor(ep);
    const { id } = (await endpoint.run({ input: { chunks: ["a", "b", "c", "d"], delayMs: 30 } }, 10_000)) as { id: string };
    const chunks: unknown[] = [];
    for await (const chunk of endpoint.stream(id, 60_000)) chunks.push(chunk);
    expect(chunks).toEqual([{ output: "a" }, { output: "b" }, { output: "c" }, { output: "d" }]);
    expect(await endpoint.status(id, 10_000)).toMatchObject({ status: "COMPLETED", output: ["a", "b", "c", "d"] });
  });

  it("cancel reaches the running handler through its abort signal; purgeQueue removes queued jobs", async () => {
    const ep = await t.createEndpoint({ name: "accept-cancel", args: ECHO, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const endpoint = endpointFor(ep);
    const { id } = (await endpoint.run({ input: { sleepMs: 60_000, markerDir: markers } }, 10_000)) as { id: string };
    await waitFor("the job to run", async () => (await endpoint.status(id, 10_000)).status === "IN_PROGRESS", 60_000);
    await endpoint.run({ input: { value: "q1" } }, 10_000);
    await endpoint.run({ input: { value: "q2" } }, 10_000);
    expect(await endpoint.purgeQueue(10_000)).toEqual({ removed: 2, status: "completed" });
    expect(await endpoint.cancel(id, 10_000)).toMatchObject({ id, status: "CANCELLED" });
    await waitFor("the handler to observe its abort signal", () => existsSync(join(markers, `${id}.aborted`)));
    expect(await endpoint.status(id, 10_000)).toMatchObject({ status: "CANCELLED" });
    // The worker is free again for the next job.
    expect(await endpoint.runSync({ input: { value: "after" } }, 60_000)).toMatchObject({ status: "COMPLETED", output: { echo: "after" } });
  });

  it("a runsync that outlasts `wait` returns the id with a non-terminal status; status-sync later returns COMPLETED", async () => {
    const ep = await t.createEndpoint({ name: "accept-wait", args: ECHO, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const res = await t.fetch(`/v2/${ep.id}/runsync?wait=1000`, { method: "POST", json: { input: { value: "late", sleepMs: 2500 } } });
    expect(res.status).toBe(200);
    const pending = (await res.json()) as JobState;
    expect(["IN_QUEUE", "IN_PROGRESS"]).toContain(pending.status);
    const done = await endpointFor(ep).statusSync(pending.id, 60_000);
    expect(done).toMatchObject({ id: pending.id, status: "COMPLETED", output: { echo: "late" } });
  });

  it("a job over the endpoint's execution timeout ends TIMED_OUT and its handler is stopped", async () => {
    const ep = await t.createEndpoint({ name: "accept-timeout", args: ECHO, timeout: 1500, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const result = await endpointFor(ep).runSync({ input: { sleepMs: 60_000, markerDir: markers } }, 60_000);
    expect(result).toMatchObject({ status: "TIMED_OUT", completed: true, succeeded: false });
    await waitFor("the handler to observe its abort signal", () => existsSync(join(markers, `${result.id}.aborted`)));
  });

  it("workersMax 2 with four slow concurrent jobs runs two at a time", async () => {
    const ep = await t.createEndpoint({ name: "accept-max", args: ECHO, workers: { min: 0, max: 2, idleTimeout: 30 } });
    const endpoint = endpointFor(ep);
    const results = await Promise.all([1, 2, 3, 4].map((value) => endpoint.runSync({ input: { value, sleepMs: 800 } }, 60_000)));
    const outputs = results.map((r) => (r as { output: { workerId: string; start: number; end: number } }).output);
    expect(new Set(outputs.map((o) => o.workerId)).size).toBe(2);
    expect(maxOverlap(outputs)).toBe(2);
  });

  it("workersMin 1 keeps one worker warm; an idle worker above min stops after idleTimeout", async () => {
    const ep = await t.createEndpoint({ name: "accept-warm", args: ECHO, workers: { min: 1, max: 2, idleTimeout: 1 } });
    await waitFor("the warm worker", () => liveWorkers(ep.id).find((w) => w.state === "ready"), 60_000);
    const endpoint = endpointFor(ep);
    // Two concurrent jobs need a second worker; once both are idle for a second one goes, one stays.
    await Promise.all([1, 2].map(() => endpoint.runSync({ input: { sleepMs: 500 } }, 60_000)));
    await waitFor("the extra worker to stop", () => liveWorkers(ep.id).length === 1, 20_000);
    const [kept] = liveWorkers(ep.id);
    await waitFor("two idle timeouts", () => (liveWorkers(ep.id)[0]?.idleMs ?? 0) >= 2000, 10_000);
    expect(liveWorkers(ep.id).map((w) => w.id)).toEqual([kept!.id]);
  });

  it("bad input gets JSON errors", async () => {
    const ep = await t.createEndpoint({ name: "accept-errors", args: ECHO, workers: { min: 0, max: 0, idleTimeout: 5 } });
    const cases: [string, RequestInit & { json?: unknown }, number][] = [
      [`/v2/${ep.id}/run`, { method: "POST", body: "{", headers: { "content-type": "application/json" } }, 400],
      [`/v2/${ep.id}/run`, { method: "POST", json: { notInput: 1 } }, 400],
      [`/v2/zzzzzzzzzzzzzz/run`, { method: "POST", json: { input: 1 } }, 404],
      [`/v2/${ep.id}/status/unknown-job`, {}, 404],
      [`/v2/${ep.id}/health`, { headers: { authorization: "Bearer wrong" } }, 401],
      [`/v2/${ep.id}/run`, { method: "POST", body: JSON.stringify({ input: "x".repeat(11 * 1024 * 1024) }), headers: { "content-type": "application/json" } }, 413],
    ];
    for (const [path, init, status] of cases) {
      const res = await t.fetch(path, init);
      expect(res.status, path).toBe(status);
      expect(await res.json()).toMatchObject({ error: expect.any(String), status });
    }
  });

  it("endpoints survive a restart with the same state dir", async () => {
    const ep = await t.createEndpoint({ name: "accept-restart", args: ECHO, workers: { min: 0, max: 1, idleTimeout: 5 } });
    const pids = workerPids(t.emulator);
    await t.close();
    expect(pids.filter(isGroupAlive)).toEqual([]);
    t = await useEmulator({ apiKey: KEY, stateDir });
    sdk = runpodSdk(KEY, { baseUrl: `${t.url}/v2` });
    expect(await t.json<Endpoint>(`/v2/serverless/${ep.id}`)).toMatchObject({ id: ep.id, name: "accept-restart" });
    expect(await endpointFor(ep).runSync({ input: { value: "again" } }, 60_000)).toMatchObject({ status: "COMPLETED", output: { echo: "again" } });
  });
});
