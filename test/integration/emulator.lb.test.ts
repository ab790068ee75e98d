/**
 * Load-balanced routing against a real emulator and real LB worker processes
 * (the fake worker serving HTTP on PORT): path and Host routing, health
 * checks (204 booting → 200 ready), round-robin, scale from zero, errors.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Endpoint } from "../../src/runpod/wire-types.js";
import { FAKE_WORKER_COMMAND, useEmulator, type TestEmulator } from "../helpers/emulator.js";
import { waitFor } from "../helpers/wait.js";

let t: TestEmulator;
let lb: Endpoint;

beforeAll(async () => {
  t = await useEmulator();
  // Workers answer 204 on /ping for their first 300 ms: requests must wait until they are ready.
  lb = await t.createEndpoint({ name: "lb-worker", type: "LOAD_BALANCER", args: FAKE_WORKER_COMMAND, env: { FAKE_WORKER_BOOT_MS: "300" }, workers: { min: 0, max: 2, idleTimeout: 30 } });
});
afterAll(async () => {
  await t.close();
});

type Echo = { method: string; path: string; headers: Record<string, string>; body: string; workerId: string };

describe("load-balanced routing", () => {
  it("starts a worker on the first request, waits until it is ready and proxies the request", async () => {
    const res = await t.fetch(`/lb/${lb.id}/process?x=1`, { method: "POST", json: { hello: "lb" }, headers: { authorization: "Bearer user-key", "x-custom": "yes" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-runpod-worker-id")).toMatch(/^[a-z0-9]{14}$/);
    expect(res.headers.get("x-fake")).toBe("1");
    const echo = (await res.json()) as Echo;
    expect(echo).toMatchObject({ method: "POST", path: "/process?x=1", body: '{"hello":"lb"}', workerId: res.headers.get("x-runpod-worker-id") });
    expect(echo.headers["x-custom"]).toBe("yes");
    expect(echo.headers.authorization).toBeUndefined();
  });

  it("passes through any method and status", async () => {
    const put = await t.fetch(`/lb/${lb.id}/items/7?status=201`, { method: "PUT", body: "raw" });
    expect(put.status).toBe(201);
    expect(((await put.json()) as Echo).method).toBe("PUT");
    const del = await t.fetch(`/lb/${lb.id}/items/7`, { method: "DELETE" });
    expect(((await del.json()) as Echo).method).toBe("DELETE");
  });

  it("routes on the Host header {endpointId}.<anything>", async () => {
    const port = new URL(t.url).port;
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/via-host", headers: { host: `${lb.id}.localhost:${port}` } }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.end();
    });
    expect((JSON.parse(body) as Echo).path).toBe("/via-host");
  });

  it("spreads concurrent requests over the ready workers, up to workers.max", async () => {
    const ids = new Set<string>();
    await waitFor("a second worker to serve", async () => {
      const answers = await Promise.all([1, 2, 3, 4].map(() => t.fetch(`/lb/${lb.id}/slow?ms=200`)));
      for (const a of answers) {
        ids.add(a.headers.get("x-runpod-worker-id")!);
        await a.arrayBuffer();
      }
      return ids.size === 2;
    });
    expect(t.emulator.state().endpoints.find((e) => e.id === lb.id)!.workers.length).toBeLessThanOrEqual(2);
  });

  it("prefers the worker named in X-Runpod-Worker-Id", async () => {
    const first = await t.fetch(`/lb/${lb.id}/a`);
    const id = first.headers.get("x-runpod-worker-id")!;
    await first.arrayBuffer();
    for (let i = 0; i < 3; i++) {
      const res = await t.fetch(`/lb/${lb.id}/b`, { headers: { "x-runpod-worker-id": id } });
      expect(res.headers.get("x-runpod-worker-id")).toBe(id);
      await res.arrayBuffer();
    }
  });

  it("health for an LB endpoint works through the job API too", async () => {
    const health = await t.json<{ workers: Record<string, number> }>(`/v2/${lb.id}/health`);
    expect(health.workers.ready).toBeGreaterThan(0);
  });

  it("answers errors as JSON: QB endpoints, no workers, unknown endpoints, job API on LB, oversized", async () => {
    const qb = await t.createEndpoint({ name: "qb", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 0, idleTimeout: 5 } });
    const notLb = await t.fetch(`/lb/${qb.id}/x`);
    expect(notLb.status).toBe(400);
    expect(await notLb.json()).toEqual({ error: "not allowed for QB API", status: 400 });

    const none = await t.createEndpoint({ name: "none", type: "LOAD_BALANCER", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 0, idleTimeout: 5 } });
    const noWorkers = await t.fetch(`/lb/${none.id}/x`);
    expect(noWorkers.status).toBe(503);
    expect(await noWorkers.json()).toEqual({ error: "no workers available", status: 503 });

    expect((await t.fetch(`/lb/zzzzzzzzzzzzzz/x`)).status).toBe(404);
    const run = await t.fetch(`/v2/${lb.id}/run`, { method: "POST", json: { input: {} } });
    expect(run.status).toBe(400);
    expect(((await run.json()) as { error: string }).error).toMatch(/not allowed for LB API/);

    const big = await t.fetch(`/lb/${lb.id}/big`, { method: "POST", body: "x".repeat(31 * 1024 * 1024) });
    expect(big.status).toBe(413);
  });

  describe("a client that leaves before the answer", () => {
    /** Sends a GET and drops the connection after `ms`, before any answer. */
    const abandon = (path: string, ms: number): Promise<void> =>
      new Promise((resolve) => {
        const req = request({ host: "127.0.0.1", port: new URL(t.url).port, path, agent: false });
        req.on("error", () => {});
        req.end();
        setTimeout(() => {
          req.destroy();
          resolve();
        }, ms);
      });
    const workersOf = (id: string) => t.emulator.state().endpoints.find((e) => e.id === id)!.workers;

    it("while the worker works: the slot is released and the worker serves the next request", async () => {
      const ep = await t.createEndpoint({ name: "lb-abandoned", type: "LOAD_BALANCER", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 1, idleTimeout: 30 } });
      const warm = await t.fetch(`/lb/${ep.id}/warm`);
      const workerId = warm.headers.get("x-runpod-worker-id");
      await warm.arrayBuffer();
      await abandon(`/lb/${ep.id}/slow?ms=1500`, 300);
      await waitFor("the worker slot to be released", () => workersOf(ep.id)[0]?.inFlight === 0, 5000);
      expect(workersOf(ep.id)[0]).toMatchObject({ id: workerId, busy: false, inFlight: 0 });
      const next = await t.fetch(`/lb/${ep.id}/next`);
      expect(next.status).toBe(200);
      expect(next.headers.get("x-runpod-worker-id")).toBe(workerId);
      await next.arrayBuffer();
      expect(workersOf(ep.id)[0]!.inFlight).toBe(0);
    });

    it("while waiting for a worker: the wait is dropped and the worker, once ready, is idle", async () => {
      const ep = await t.createEndpoint({ name: "lb-abandoned-wait", type: "LOAD_BALANCER", args: FAKE_WORKER_COMMAND, env: { FAKE_WORKER_BOOT_MS: "1500" }, workers: { min: 0, max: 1, idleTimeout: 30 } });
      await abandon(`/lb/${ep.id}/x`, 300);
      // A waiting request is handed a worker in the same tick it turns ready: afterwards, nothing may hold it.
      await waitFor("the worker to be ready", () => workersOf(ep.id)[0]?.state === "ready");
      expect(workersOf(ep.id)[0]).toMatchObject({ busy: false, inFlight: 0 });
      const next = await t.fetch(`/lb/${ep.id}/next`);
      expect(next.status).toBe(200);
      expect(next.headers.get("x-runpod-worker-id")).toBe(workersOf(ep.id)[0]!.id);
      await next.arrayBuffer();
      expect(workersOf(ep.id)[0]!.inFlight).toBe(0);
    });
  });

  it("answers 503 when no worker becomes ready in time", async () => {
    const slow = await useEmulator({ lbWorkerWaitMs: 300 });
    try {
      const never = await slow.createEndpoint({ name: "never-ready", type: "LOAD_BALANCER", args: FAKE_WORKER_COMMAND, env: { FAKE_WORKER_BOOT_MS: "600000" }, workers: { min: 0, max: 1, idleTimeout: 5 } });
      const res = await slow.fetch(`/lb/${never.id}/x`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: "no workers available", status: 503 });
      expect(slow.emulator.state().endpoints[0]!.workers[0]).toMatchObject({ state: "initializing" });
    } finally {
      await slow.close();
    }
  });
});
