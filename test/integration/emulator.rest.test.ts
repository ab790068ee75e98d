/** REST v2 `/v2/serverless` against a real emulator: CRUD, validation, auth, persistence. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Endpoint } from "../../src/runpod/wire-types.js";
import { emulatorPerTest, useEmulator } from "../helpers/emulator.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
// Registered after the folders' clean-up, so it runs first: emulators close before their state folders go.
const emulator = emulatorPerTest();

const body = {
  name: "live-gpu-worker",
  type: "QUEUE",
  scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
  image: "node:24-bookworm-slim",
  args: "npx -y flash-ts@0.1.0 worker",
  gpu: { pools: ["ADA_24"], count: 1 },
  workers: { min: 0, max: 0, idleTimeout: 5 },
  env: { A: "1" },
  ports: ["8000/http"],
};

describe("REST v2 serverless endpoints", () => {
  it("creates (201), lists, gets, patches and deletes (204)", async () => {
    const t = await emulator();
    const created = await t.json<Endpoint>("/v2/serverless", { method: "POST", json: body }, 201);
    expect(created.id).toMatch(/^[a-z0-9]{14}$/);
    expect(created).toMatchObject({
      name: "live-gpu-worker",
      type: "QUEUE",
      args: "npx -y flash-ts@0.1.0 worker",
      env: { A: "1" },
      ports: ["8000/http"],
      workers: { min: 0, max: 0, idleTimeout: 5 },
      timeout: 300_000,
      flashboot: "OFF",
      requestUrls: {
        run: `${t.url}/v2/${created.id}/run`,
        runSync: `${t.url}/v2/${created.id}/runsync`,
        status: `${t.url}/v2/${created.id}/status/{job_id}`,
        health: `${t.url}/v2/${created.id}/health`,
      },
    });
    expect(new Date(created.createdAt).toString()).not.toBe("Invalid Date");

    expect(await t.json<{ endpoints: Endpoint[] }>("/v2/serverless")).toEqual({ endpoints: [created] });
    expect(await t.json(`/v2/serverless/${created.id}`)).toEqual(created);

    const patched = await t.json<Endpoint>(`/v2/serverless/${created.id}`, { method: "PATCH", json: { workers: { max: 2 }, timeout: 1000 } });
    expect(patched).toMatchObject({ workers: { min: 0, max: 2, idleTimeout: 5 }, timeout: 1000, env: { A: "1" }, name: "live-gpu-worker" });

    const del = await t.fetch(`/v2/serverless/${created.id}`, { method: "DELETE" });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    expect((await t.fetch(`/v2/serverless/${created.id}`)).status).toBe(404);
  });

  it("gives load-balanced endpoints base and health URLs under /lb", async () => {
    const t = await emulator();
    const lb = await t.json<Endpoint>("/v2/serverless", { method: "POST", json: { ...body, type: "LOAD_BALANCER", scaling: { type: "REQUEST_COUNT", requestCount: 2 } } }, 201);
    expect(lb.requestUrls).toEqual({ base: `${t.url}/lb/${lb.id}`, health: `${t.url}/lb/${lb.id}/ping` });
  });

  it("answers errors as problem JSON", async () => {
    const t = await emulator();
    const bad = await t.fetch("/v2/serverless", { method: "POST", json: { image: "x" } });
    expect(bad.status).toBe(422);
    expect(bad.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const problem = (await bad.json()) as { title: string; status: number; detail: string; errors: string[] };
    expect(problem).toMatchObject({ title: "Unprocessable Entity", status: 422, detail: "Request validation failed." });
    expect(problem.errors).toEqual(expect.arrayContaining(["$.name: expected string", "$.type: is required"]));

    const lbQueueDelay = await t.fetch("/v2/serverless", { method: "POST", json: { ...body, type: "LOAD_BALANCER" } });
    expect(lbQueueDelay.status).toBe(422);

    const invalid = await t.fetch("/v2/serverless", { method: "POST", body: "{nope", headers: { "content-type": "application/json" } });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ title: "Bad Request", status: 400, detail: expect.stringMatching(/invalid JSON/) });

    const missing = await t.fetch("/v2/serverless/aaaaaaaaaaaaaa");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ title: "Not Found", status: 404, detail: "endpoint aaaaaaaaaaaaaa not found" });

    const tooBig = await t.fetch("/v2/serverless", { method: "POST", json: { ...body, env: { BIG: "x".repeat(1024 * 1024) } } });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ status: 413 });

    const method = await t.fetch("/v2/serverless", { method: "PUT" });
    expect(method.status).toBe(405);
  });

  it("takes an endpoint timeout from 0 to 7 days and refuses others with 422 (above 2^31-1 ms Node would fire it at once)", async () => {
    const t = await emulator();
    for (const timeout of [0, 1, 7 * 24 * 3600 * 1000]) {
      expect((await t.json<Endpoint>("/v2/serverless", { method: "POST", json: { ...body, timeout } }, 201)).timeout).toBe(timeout);
    }
    const created = await t.json<Endpoint>("/v2/serverless", { method: "POST", json: body }, 201);
    const refusals = [
      t.fetch("/v2/serverless", { method: "POST", json: { ...body, timeout: 2 ** 31 } }),
      t.fetch("/v2/serverless", { method: "POST", json: { ...body, timeout: -1 } }),
      t.fetch(`/v2/serverless/${created.id}`, { method: "PATCH", json: { timeout: 7 * 24 * 3600 * 1000 + 1 } }),
    ];
    for (const res of await Promise.all(refusals)) {
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toEqual({
        title: "Unprocessable Entity",
        status: 422,
        detail: "Request validation failed.",
        errors: ["$.timeout: must be an integer number of milliseconds from 0 (no timeout) to 604800000 (7 days)"],
      });
    }
    expect((await t.json<Endpoint>(`/v2/serverless/${created.id}`)).timeout).toBe(300_000);
  });

  it("requires the API key when started with one (Bearer or raw)", async () => {
    const t = await emulator({ apiKey: "test-key-123456" });
    expect((await t.fetch("/v2/serverless", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const none = await fetch(`${t.url}/v2/serverless`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ title: "Unauthorized", status: 401 });
    expect((await t.fetch("/v2/serverless", { headers: { authorization: "test-key-123456" } })).status).toBe(200);
    expect((await t.fetch("/v2/serverless")).status).toBe(200);
  });

  it("keeps endpoints across a restart with the same state dir", async () => {
    const dir = await mkdtemp(join(tmpdir(), "emu-state-"));
    dirs.push(dir);
    const first = await emulator({ stateDir: dir });
    const created = await first.json<Endpoint>("/v2/serverless", { method: "POST", json: body }, 201);
    await first.json(`/v2/serverless/${created.id}`, { method: "PATCH", json: { name: "renamed" } });
    await first.close();

    const second = await emulator({ stateDir: dir });
    const again = await second.json<Endpoint>(`/v2/serverless/${created.id}`);
    expect(again).toMatchObject({ id: created.id, name: "renamed", createdAt: created.createdAt });
    expect(again.requestUrls).toMatchObject({ run: `${second.url}/v2/${created.id}/run` });
    // The job API works for the restored endpoint (workers.max 0 keeps the job queued).
    const run = await second.json<{ id: string; status: string }>(`/v2/${created.id}/run`, { method: "POST", json: { input: {} } });
    expect(run.status).toBe("IN_QUEUE");
  });

  it("refuses a port in use with a coded error", async () => {
    const first = await emulator();
    await expect(useEmulator({ port: first.emulator.port })).rejects.toMatchObject({ code: "PORT_IN_USE" });
  });

  it("starts with no endpoints when the state file is bad, and says so", async () => {
    const dir = await mkdtemp(join(tmpdir(), "emu-state-"));
    dirs.push(dir);
    await writeFile(join(dir, "emulator-state.json"), "garbage");
    const t = await emulator({ stateDir: dir });
    expect(await t.json("/v2/serverless")).toEqual({ endpoints: [] });
    expect(t.logs.join("\n")).toMatch(/not valid JSON/);
  });
});
