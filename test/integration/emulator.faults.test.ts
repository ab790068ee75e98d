/** Fault injection through the admin routes and the programmatic handle. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Endpoint } from "../../src/runpod/wire-types.js";
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
