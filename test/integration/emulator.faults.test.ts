/** Fault injection through the admin routes and the programmatic handle. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Endpoint, HealthResponse, JobState } from "../../src/runpod/wire-types.js";
import { waitFor } from "../helpers/wait.js";
import { FAKE_WORKER_COMMAND, useEmulator, type TestEmulator } from "../helpers/emulator.js";

let t: TestEmulator;
let parked: Endpoint;

beforeAll(async () => {
  t = await useEmulator({ apiKey: "fault-key-12345" });
  parked = await t.createEndpoint({ name: "parked", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 0, idleTimeout: 5 } });
});
afterEach(async () => {
  await t.json("/__emulator/faults", { method: "DELETE" });
});
afterAll(async () => {
  await t.close();
});

describe("faults", () => {
  it("returns an injected error status and body on matching routes only, `times` times", async () => {
    const fault = await t.json<{ id: string }>("/__emulator/faults", { method: "POST", json: { route: "^POST /v2/[^/]+/run$", status: 503, body: { error: "busy" }, times: 1 } });
    expect(fault.id).toMatch(/^fault-/);
    const hit = await t.fetch(`/v2/${parked.id}/run`, { method: "POST", json: { input: 1 } });
    expect(hit.status).toBe(503);
    expect(await hit.json()).toEqual({ error: "busy" });
    expect((await t.fetch(`/v2/${parked.id}/run`, { method: "POST", json: { input: 1 } })).status).toBe(200);
    expect((await t.fetch(`/v2/${parked.id}/health`)).status).toBe(200);
    expect(await t.json("/__emulator/faults")).toEqual({ faults: [] });
  });

  it("adds latency", async () => {
    t.emulator.faults.add({ route: "health$", latencyMs: 300 });
    const started = Date.now();
    expect((await t.fetch(`/v2/${parked.id}/health`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it("drops connections", async () => {
    await t.json("/__emulator/faults", { method: "POST", json: [{ route: "^GET /v2/serverless$", drop: true }] });
    await expect(t.fetch("/v2/serverless")).rejects.toThrow();
    expect(await t.json<{ removed: number }>("/__emulator/faults", { method: "DELETE" })).toEqual({ removed: 1 });
    expect((await t.fetch("/v2/serverless")).status).toBe(200);
  });

  it("rejects bad rules and can remove one rule by id", async () => {
    const bad = await t.fetch("/__emulator/faults", { method: "POST", json: { route: "(", status: 500 } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/invalid route pattern/);
    const { id } = t.emulator.faults.add({ route: "x", status: 500 });
    expect(await t.json(`/__emulator/faults/${id}`, { method: "DELETE" })).toEqual({ removed: 1 });
    expect((await t.fetch(`/__emulator/faults/${id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("exposes the emulator state, behind the API key", async () => {
    const state = await t.json<{ url: string; endpoints: { id: string }[] }>("/__emulator/state");
    expect(state.url).toBe(t.url);
    expect(state.endpoints.map((e) => e.id)).toContain(parked.id);
    expect((await fetch(`${t.url}/__emulator/state`)).status).toBe(401);
  });
});

describe("worker faults", () => {
  it("a throttled endpoint keeps its job queued with /health counting a throttled worker, until the rule is removed", async () => {
    const ep = await t.createEndpoint({ name: "no-capacity", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 1, idleTimeout: 5 } });
    const rule = await t.json<{ id: string }>("/__emulator/faults", { method: "POST", json: { endpoint: "no-capacity", throttled: true } });
    const { id } = await t.json<{ id: string }>(`/v2/${ep.id}/run`, { method: "POST", json: { input: { n: 1 } } });
    const health = await t.json<HealthResponse>(`/v2/${ep.id}/health`);
    expect(health.workers).toMatchObject({ throttled: 1, initializing: 0, ready: 0 });
    expect(health.jobs.inQueue).toBe(1);
    expect((await t.json<JobState>(`/v2/${ep.id}/status/${id}`)).status).toBe("IN_QUEUE");
    await t.json(`/__emulator/faults/${rule.id}`, { method: "DELETE" });
    const done = await t.json<JobState>(`/v2/${ep.id}/status-sync/${id}?wait=30000`);
    expect(done.status).toBe("COMPLETED");
    expect((await t.json<HealthResponse>(`/v2/${ep.id}/health`)).workers.throttled).toBe(0);
  });

  it("a cold start keeps the new worker initializing for its length: the job waits at least that long for a worker", async () => {
    const ep = await t.createEndpoint({ name: "cold-start", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 1, idleTimeout: 5 } });
    await t.json("/__emulator/faults", { method: "POST", json: { endpoint: ep.id, coldStartMs: 1500, times: 1 } });
    const { id } = await t.json<{ id: string }>(`/v2/${ep.id}/run`, { method: "POST", json: { input: { n: 2 } } });
    expect((await t.json<HealthResponse>(`/v2/${ep.id}/health`)).workers).toMatchObject({ initializing: 1, throttled: 0 });
    // No process yet: the emulator's state lists the worker without a pid.
    const state = await t.json<{ endpoints: { id: string; workers: { pid?: number; state: string }[] }[] }>("/__emulator/state");
    expect(state.endpoints.find((e) => e.id === ep.id)?.workers).toEqual([expect.not.objectContaining({ pid: expect.anything() })]);
    const done = await t.json<JobState>(`/v2/${ep.id}/status-sync/${id}?wait=30000`);
    expect(done.status).toBe("COMPLETED");
    expect(done.delayTime).toBeGreaterThanOrEqual(1500);
    // `times: 1` used the rule up.
    await waitFor("the rule to be used up", async () => (await t.json<{ faults: unknown[] }>("/__emulator/faults")).faults.length === 0);
  });

  it("a slow image pull is logged as a pull and keeps the new worker initializing for its length", async () => {
    const ep = await t.createEndpoint({ name: "slow-pull", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 1, idleTimeout: 5 } });
    await t.json("/__emulator/faults", { method: "POST", json: { endpoint: "slow-pull", imagePullMs: 1200, times: 1 } });
    const { id } = await t.json<{ id: string }>(`/v2/${ep.id}/run`, { method: "POST", json: { input: { n: 3 } } });
    expect((await t.json<HealthResponse>(`/v2/${ep.id}/health`)).workers).toMatchObject({ initializing: 1, throttled: 0 });
    expect(t.logs.some((l) => /pulling image .*\(1\.2 s, an injected fault\)/.test(l))).toBe(true);
    const done = await t.json<JobState>(`/v2/${ep.id}/status-sync/${id}?wait=30000`);
    expect(done.status).toBe("COMPLETED");
    expect(done.delayTime).toBeGreaterThanOrEqual(1200);
  });

  it("rejects a worker fault without an effect", async () => {
    const bad = await t.fetch("/__emulator/faults", { method: "POST", json: { endpoint: "x" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/coldStartMs, imagePullMs or throttled/);
  });
});
