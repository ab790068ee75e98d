/**
 * The job API and the worker protocol against a real emulator, with real
 * worker processes started from a generic start command (a small Node script
 * speaking the protocol, test/fixtures/emulator/fake-worker.mjs).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Endpoint, JobState } from "../../src/runpod/wire-types.js";
import { FAKE_WORKER_COMMAND, useEmulator, type TestEmulator } from "../helpers/emulator.js";
import { waitFor } from "../helpers/wait.js";

const KEY = "job-api-key-1234";
let t: TestEmulator;
let ep: Endpoint;
let parked: Endpoint;
let quick: Endpoint;
let markers: string;

beforeAll(async () => {
  markers = await mkdtemp(join(tmpdir(), "emu-markers-"));
  t = await useEmulator({ apiKey: KEY });
  ep = await t.createEndpoint({ name: "fake-queue", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 3, idleTimeout: 30 } });
  // workers.max 0: jobs stay queued, so queue-only behaviour can be observed.
  parked = await t.createEndpoint({ name: "parked", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 0, idleTimeout: 5 } });
  // policy.executionTimeout starts at 5 s; a short timeout goes on the endpoint, which has no minimum.
  quick = await t.createEndpoint({ name: "quick-timeout", args: FAKE_WORKER_COMMAND, timeout: 500, workers: { min: 0, max: 1, idleTimeout: 30 } });
});
afterAll(async () => {
  await t.close();
  await rm(markers, { recursive: true, force: true });
});

const run = (endpointId: string, input: unknown, extra: Record<string, unknown> = {}) =>
  t.json<{ id: string; status: string }>(`/v2/${endpointId}/run`, { method: "POST", json: { input, ...extra } });
const status = (endpointId: string, id: string) => t.json<JobState>(`/v2/${endpointId}/status/${id}`);

describe("job API", () => {
  it("runsync returns the finished job with all fields", async () => {
    const job = await t.json<JobState>(`/v2/${ep.id}/runsync`, { method: "POST", json: { input: { output: { answer: 42 } } } });
    expect(job).toMatchObject({ status: "COMPLETED", output: { answer: 42 }, workerId: expect.stringMatching(/^[a-z0-9]{14}$/) });
    expect(job.id).toMatch(/^sync-/);
    expect(Number.isInteger(job.delayTime) && Number.isInteger(job.executionTime)).toBe(true);
  });

  it("run + status (GET and POST) and status-sync", async () => {
    const { id, status: first } = await run(ep.id, { sleepMs: 300, output: "done" });
    expect(first).toBe("IN_QUEUE");
    expect(["IN_QUEUE", "IN_PROGRESS"]).toContain((await status(ep.id, id)).status);
    const done = await t.json<JobState>(`/v2/${ep.id}/status-sync/${id}?wait=20000`);
    expect(done).toMatchObject({ id, status: "COMPLETED", output: "done" });
    expect(await t.json(`/v2/${ep.id}/status/${id}`, { method: "POST" })).toMatchObject({ status: "COMPLETED" });
  });

  it("runsync whose job outlasts `wait` answers 200 with a non-terminal status; status-sync gets the result", async () => {
    const res = await t.fetch(`/v2/${ep.id}/runsync?wait=1000`, { method: "POST", json: { input: { sleepMs: 2500, output: "slow" } } });
    expect(res.status).toBe(200);
    const pending = (await res.json()) as JobState;
    expect(["IN_QUEUE", "IN_PROGRESS"]).toContain(pending.status);
    expect(pending.id).toBeTruthy();
    const done = await t.json<JobState>(`/v2/${ep.id}/status-sync/${pending.id}?wait=20000`);
    expect(done).toMatchObject({ status: "COMPLETED", output: "slow" });
  });

  it("a job-done body with error makes the job FAILED; retry requeues it with the same id", async () => {
    const failed = await t.json<JobState>(`/v2/${ep.id}/runsync`, { method: "POST", json: { input: { fail: "bad input" } } });
    expect(failed).toMatchObject({ status: "FAILED", error: "bad input" });
    const retried = await t.json(`/v2/${ep.id}/retry/${failed.id}`, { method: "POST" });
    expect(retried).toEqual({ id: failed.id, status: "IN_QUEUE" });
    const again = await t.json<JobState>(`/v2/${ep.id}/status-sync/${failed.id}?wait=20000`);
    expect(again).toMatchObject({ id: failed.id, status: "FAILED", retries: 1 });
    const completed = await t.json<JobState>(`/v2/${ep.id}/runsync`, { method: "POST", json: { input: { output: 1 } } });
    const refused = await t.fetch(`/v2/${ep.id}/retry/${completed.id}`, { method: "POST" });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: `job ${completed.id} is COMPLETED; only FAILED or TIMED_OUT jobs can be retried`, status: 400 });
  });

  it("stream returns each chunk once, always with a stream array, GET or POST", async () => {
    const { id } = await run(ep.id, { chunks: ["a", "b", "c"], chunkDelayMs: 50, output: ["a", "b", "c"] });
    const seen: unknown[] = [];
    let last = "";
    for (let i = 0; i < 50 && !["COMPLETED", "FAILED"].includes(last); i++) {
      const res = await t.json<{ status: string; stream: { output: unknown }[] }>(`/v2/${ep.id}/stream/${id}`, { method: i % 2 ? "POST" : "GET" });
      expect(Array.isArray(res.stream)).toBe(true);
      seen.push(...res.stream.map((c) => c.output));
      last = res.status;
    }
    expect(last).toBe("COMPLETED");
    expect(seen).toEqual(["a", "b", "c"]);
    const after = await t.json<{ status: string; stream: unknown[] }>(`/v2/${ep.id}/stream/${id}`);
    expect(after).toMatchObject({ status: "COMPLETED", stream: [] });
  });

  it("progress updates show as output while the job runs", async () => {
    const { id } = await run(ep.id, { progress: { pct: 50 }, sleepMs: 1500, output: "end" });
    const during = await waitFor("progress output", async () => {
      const s = await status(ep.id, id);
      return s.status === "IN_PROGRESS" && s.output ? s : undefined;
    });
    expect(during.output).toEqual({ pct: 50 });
    expect(await t.json<JobState>(`/v2/${ep.id}/status-sync/${id}?wait=20000`)).toMatchObject({ status: "COMPLETED", output: "end" });
  });

  it("cancel removes a queued job and tells a running worker to stop", async () => {
    const queued = await run(parked.id, { output: 1 });
    expect(await t.json(`/v2/${parked.id}/cancel/${queued.id}`, { method: "POST", json: {} })).toEqual({ id: queued.id, status: "CANCELLED" });
    // An ended job always names its worker, "" when none took it (docs/internals.md, The emulator).
    expect(await status(parked.id, queued.id)).toMatchObject({ status: "CANCELLED", workerId: "" });

    const running = await run(ep.id, { sleepMs: 30_000, markerDir: markers });
    await waitFor("job in progress", async () => (await status(ep.id, running.id)).status === "IN_PROGRESS");
    expect(await t.json(`/v2/${ep.id}/cancel/${running.id}`, { method: "POST" })).toEqual({ id: running.id, status: "CANCELLED" });
    await waitFor("the worker to stop the job", () => existsSync(join(markers, `${running.id}.stopped`)));
    expect((await status(ep.id, running.id)).status).toBe("CANCELLED");
  });

  it("a job over its execution timeout ends TIMED_OUT and the worker is told to stop it", async () => {
    const { id } = await run(quick.id, { sleepMs: 30_000, markerDir: markers });
    const done = await t.json<JobState>(`/v2/${quick.id}/status-sync/${id}?wait=20000`);
    expect(done).toMatchObject({ status: "TIMED_OUT", error: "job exceeded its execution timeout of 500 ms" });
    await waitFor("the worker to stop the job", () => existsSync(join(markers, `${id}.stopped`)));
    const retried = await t.json(`/v2/${quick.id}/retry/${id}`, { method: "POST" });
    expect(retried).toEqual({ id, status: "IN_QUEUE" });
    await t.json(`/v2/${quick.id}/cancel/${id}`, { method: "POST" });
  });

  it("policy.executionTimeout wins over the endpoint timeout", async () => {
    const done = await t.json<JobState>(`/v2/${quick.id}/runsync`, { method: "POST", json: { input: { sleepMs: 1000, output: "in time" }, policy: { executionTimeout: 5000 } } });
    expect(done).toMatchObject({ status: "COMPLETED", output: "in time" });
  });

  it("policy.ttl within its range is taken (expiry itself: job-store.test.ts, at 10 s it is too slow here)", async () => {
    const { id } = await run(parked.id, {}, { policy: { ttl: 10_000, executionTimeout: 7 * 24 * 3600 * 1000 } });
    expect((await status(parked.id, id)).status).toBe("IN_QUEUE");
    await t.json(`/v2/${parked.id}/cancel/${id}`, { method: "POST" });
  });

  it("refuses policy timeouts outside Runpod's ranges with 400 (above 2^31-1 ms Node would fire them at once)", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ executionTimeout: 500 }, /^policy\.executionTimeout must be a number of milliseconds from 5000 \(5 s\) to 604800000 \(7 days\)$/],
      [{ executionTimeout: 2 ** 31 }, /^policy\.executionTimeout .* to 604800000 \(7 days\)$/],
      [{ executionTimeout: 7 * 24 * 3600 * 1000 + 1 }, /^policy\.executionTimeout /],
      [{ ttl: 300 }, /^policy\.ttl must be a number of milliseconds from 10000 \(10 s\) to 604800000 \(7 days\)$/],
      [{ ttl: 2 ** 31 }, /^policy\.ttl /],
    ];
    const queuedBefore = (await t.json<{ jobs: { inQueue: number } }>(`/v2/${parked.id}/health`)).jobs.inQueue;
    for (const [policy, message] of cases) {
      for (const op of ["run", "runsync"]) {
        const res = await t.fetch(`/v2/${parked.id}/${op}`, { method: "POST", json: { input: 1, policy } });
        expect(res.status, `${op} ${JSON.stringify(policy)}`).toBe(400);
        const body = (await res.json()) as { error: string; status: number };
        expect(body.status).toBe(400);
        expect(body.error).toMatch(message);
      }
    }
    expect((await t.json<{ jobs: { inQueue: number } }>(`/v2/${parked.id}/health`)).jobs.inQueue).toBe(queuedBefore);
  });

  it("purge-queue removes queued jobs only", async () => {
    await run(parked.id, 1);
    await run(parked.id, 2);
    expect(await t.json(`/v2/${parked.id}/purge-queue`, { method: "POST", json: {} })).toEqual({ removed: 2, status: "completed" });
    expect(await t.json(`/v2/${parked.id}/purge-queue`, { method: "POST" })).toEqual({ removed: 0, status: "completed" });
  });

  it("health has every counter", async () => {
    await run(parked.id, 1);
    const health = await t.json<{ jobs: Record<string, number>; workers: Record<string, number> }>(`/v2/${parked.id}/health`);
    expect(Object.keys(health.jobs).sort()).toEqual(["completed", "failed", "inProgress", "inQueue", "retried"]);
    expect(Object.keys(health.workers).sort()).toEqual(["idle", "initializing", "ready", "running", "throttled", "unhealthy"]);
    expect(health.jobs.inQueue).toBe(1);
    await t.json(`/v2/${parked.id}/purge-queue`, { method: "POST" });
    const busy = await t.json<{ jobs: Record<string, number>; workers: Record<string, number> }>(`/v2/${ep.id}/health`);
    expect(busy.jobs.completed).toBeGreaterThan(0);
    expect(busy.workers.ready).toBeGreaterThan(0);
  });

  it("posts the status object to the job's webhook when it ends, retrying non-200 answers", async () => {
    const received: unknown[] = [];
    let calls = 0;
    const hook: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        calls++;
        if (calls === 1) return void res.writeHead(500).end();
        received.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    try {
      const address = hook.address() as { port: number };
      const { id } = await run(ep.id, { output: "hooked" }, { webhook: `http://127.0.0.1:${address.port}/hook` });
      await waitFor("the webhook", () => received.length === 1);
      expect(received[0]).toMatchObject({ id, status: "COMPLETED", output: "hooked" });
      expect(calls).toBe(2);
    } finally {
      await new Promise((resolve) => hook.close(resolve));
    }
  });

  it("a worker that exits while running a job fails it with a clear error and is replaced", async () => {
    const crashed = await t.json<JobState>(`/v2/${ep.id}/runsync`, { method: "POST", json: { input: { crash: 3 } } });
    expect(crashed.status).toBe("FAILED");
    expect(crashed.error).toMatch(new RegExp(`^worker ${crashed.workerId} exited with code 3 while running the job$`));
    expect(await t.json<JobState>(`/v2/${ep.id}/runsync`, { method: "POST", json: { input: { output: "still" } } })).toMatchObject({ status: "COMPLETED" });
  });

  it("shows worker output prefixed with the endpoint name", () => {
    expect(t.logs.some((line) => line.startsWith("[fake-queue] fake worker"))).toBe(true);
  });
});

describe("bad input gets JSON errors", () => {
  const expectError = async (res: Response, status: number, message?: RegExp) => {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: string; status: number };
    expect(body.status).toBe(status);
    expect(typeof body.error).toBe("string");
    if (message) expect(body.error).toMatch(message);
  };

  it("invalid JSON → 400", async () => {
    await expectError(await t.fetch(`/v2/${ep.id}/run`, { method: "POST", body: "{oops", headers: { "content-type": "application/json" } }), 400, /invalid JSON/);
  });

  it("missing input → 400", async () => {
    await expectError(await t.fetch(`/v2/${ep.id}/run`, { method: "POST", json: { nope: 1 } }), 400, /missing "input"/);
    await expectError(await t.fetch(`/v2/${ep.id}/runsync`, { method: "POST", json: [] }), 400);
  });

  it("unknown endpoint or job → 404", async () => {
    await expectError(await t.fetch(`/v2/zzzzzzzzzzzzzz/run`, { method: "POST", json: { input: {} } }), 404, /endpoint zzzzzzzzzzzzzz not found/);
    await expectError(await t.fetch(`/v2/${ep.id}/status/no-such-job`), 404, /job no-such-job not found/);
    await expectError(await t.fetch(`/v2/${ep.id}/nonsense`), 404);
  });

  it("wrong or missing key → 401", async () => {
    await expectError(await fetch(`${t.url}/v2/${ep.id}/health`), 401);
    await expectError(await fetch(`${t.url}/v2/${ep.id}/health`, { headers: { authorization: "Bearer wrong" } }), 401);
    expect((await fetch(`${t.url}/v2/${ep.id}/health`, { headers: { authorization: KEY } })).status).toBe(200);
  });

  it("oversized bodies → 413 (run 10 MB, runsync 20 MB)", async () => {
    const big = (mb: number) => JSON.stringify({ input: "x".repeat(mb * 1024 * 1024) });
    await expectError(await t.fetch(`/v2/${ep.id}/run`, { method: "POST", body: big(11), headers: { "content-type": "application/json" } }), 413);
    await expectError(await t.fetch(`/v2/${ep.id}/runsync`, { method: "POST", body: big(21), headers: { "content-type": "application/json" } }), 413);
    // 11 MB is fine for runsync (the job stays queued on the parked endpoint).
    const ok = await t.fetch(`/v2/${parked.id}/runsync?wait=1000`, { method: "POST", body: big(11), headers: { "content-type": "application/json" } });
    expect(ok.status).toBe(200);
    await t.json(`/v2/${parked.id}/purge-queue`, { method: "POST" });
  });

  it("a 413 closes the connection, so an oversized upload is not read to its end", async () => {
    const port = Number(new URL(t.url).port);
    // Declared far over the limit, nothing sent: the answer comes at once and the socket closes.
    const raw = await new Promise<{ text: string; closedByServer: boolean }>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let text = "";
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ text, closedByServer: false });
      }, 5000);
      socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
      socket.on("end", () => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, closedByServer: true });
      });
      socket.on("error", reject);
      socket.write(`POST /v2/${ep.id}/run HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${200 * 1024 * 1024}\r\n\r\n{"input":"`);
    });
    expect(raw.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(raw.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(raw.closedByServer).toBe(true);

    // Moderately over: read and discarded (the client sees the 413, not a reset), then closed too.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method: "POST", path: `/v2/${ep.id}/run`, headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" } }, resolve);
      req.on("error", reject);
      req.end(JSON.stringify({ input: "x".repeat(11 * 1024 * 1024) }));
    });
    res.resume();
    expect(res.statusCode).toBe(413);
    expect(res.headers.connection).toBe("close");
  });

  it("wrong method → 405", async () => {
    await expectError(await t.fetch(`/v2/${ep.id}/run`), 405);
  });
});

describe("robustness", () => {
  it("answers every malformed request with a JSON error and keeps serving", async () => {
    const worker = { authorization: t.emulator.workerApiKey };
    const auth = { authorization: KEY };
    const cases: [string, RequestInit][] = [
      [`/v2/${parked.id}/runsync?wait=abc`, { method: "POST", headers: auth, body: "null" }],
      [`/v2/${parked.id}/runsync?wait=-5`, { method: "POST", headers: auth, body: '"just a string"' }],
      [`/v2/${parked.id}/run`, { method: "POST", headers: auth, body: JSON.stringify({ input: 1, policy: { ttl: "soon" } }) }],
      [`/v2/${parked.id}/run`, { method: "POST", headers: auth, body: JSON.stringify({ input: 1, webhook: 42 }) }],
      [`/v2/${parked.id}/stream/%zz?wait=NaN`, { headers: auth }],
      [`/v2//run`, { method: "POST", headers: auth, body: "{}" }],
      [`/v2/${parked.id}/status/`, { headers: auth }],
      [`/v2/${parked.id}/status/a/b`, { headers: auth }],
      [`/v2/${parked.id}/job-done/w1/nope`, { method: "POST", headers: worker, body: "[1,2" }],
      [`/v2/${parked.id}/job-done/w1/nope`, { method: "POST", headers: worker, body: "[1,2]" }],
      [`/v2/${parked.id}/job-take-batch/w1?batch_size=-3`, { method: "DELETE", headers: worker }],
      [`/v2/${parked.id}/job-take`, { headers: worker }],
      [`/lb/`, { headers: auth }],
      [`/lb/${parked.id}`, { method: "OPTIONS", headers: auth }],
      [`/__emulator/faults`, { method: "POST", headers: auth, body: "[{}]" }],
      [`/__emulator/nothing`, { headers: auth }],
      [`/v2/serverless/${parked.id}`, { method: "PATCH", headers: auth, body: JSON.stringify({ type: "LOAD_BALANCER", workers: { min: -1 } }) }],
      [`/v2/serverless/${parked.id}/workers/x`, { headers: auth }],
      [`/${"a".repeat(5000)}`, {}],
    ];
    for (const [path, init] of cases) {
      const res = await fetch(t.url + path, init);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      const body = (await res.json()) as { status?: number };
      expect(body.status, path).toBe(res.status);
    }
    expect((await t.fetch(`/v2/${parked.id}/health`)).status).toBe(200);
  });
});

describe("worker protocol", () => {
  const worker = (path: string, init: RequestInit = {}) => fetch(`${t.url}/v2/${parked.id}/${path}`, { ...init, headers: { authorization: t.emulator.workerApiKey, ...(init.headers ?? {}) } });

  it("authenticates workers with the raw worker key", async () => {
    expect((await fetch(`${t.url}/v2/${parked.id}/ping/outsider?gpu=EMU`)).status).toBe(401);
    expect((await worker("ping/outsider?gpu=EMU&job_id=")).status).toBe(200);
  });

  it("holds job-take until a job arrives; job-done parses JSON whatever the content type", async () => {
    const take = worker("job-take/outsider1?gpu=EMU&job_in_progress=0");
    const { id } = await run(parked.id, { hello: "world" }, { webhook: "http://127.0.0.1:1/none" });
    const res = await take;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, input: { hello: "world" }, webhook: "http://127.0.0.1:1/none" });
    expect((await status(parked.id, id)).workerId).toBe("outsider1");

    const stream = await worker(`job-stream/outsider1/${id}?gpu=EMU&isStream=false`, { method: "POST", body: JSON.stringify({ output: "chunk" }), headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(stream.status).toBe(200);
    const done = await worker(`job-done/outsider1/${id}?gpu=EMU&isStream=true`, { method: "POST", body: JSON.stringify({ output: ["chunk"] }), headers: { "content-type": "application/x-www-form-urlencoded", charset: "utf-8" } });
    expect(done.status).toBe(200);
    expect(await status(parked.id, id)).toMatchObject({ status: "COMPLETED", output: ["chunk"], workerId: "outsider1" });
    const streamed = await t.json<{ stream: unknown[] }>(`/v2/${parked.id}/stream/${id}`);
    expect(streamed.stream).toEqual([{ output: "chunk" }]);
  });

  it("a held /stream read answers when the job starts, so a live view learns it at once", async () => {
    const { id } = await run(parked.id, "start me");
    // Held far longer than the test may take: only the start can end it.
    const held = t.json<{ status: string; stream: unknown[] }>(`/v2/${parked.id}/stream/${id}?wait=30000`);
    const take = await worker("job-take/outsider3?gpu=EMU&job_in_progress=0");
    expect(((await take.json()) as { id: string }).id).toBe(id);
    expect(await held).toMatchObject({ status: "IN_PROGRESS", stream: [] });
    await worker(`job-done/outsider3/${id}?gpu=EMU&isStream=false`, { method: "POST", body: "{}" });
    // The test's own limit is half the hold: it passes only if the start ended the read.
  }, 15_000);

  it("job-take-batch hands out up to batch_size jobs", async () => {
    const ids = [(await run(parked.id, 1)).id, (await run(parked.id, 2)).id, (await run(parked.id, 3)).id];
    const res = await worker("job-take-batch/outsider2?gpu=EMU&batch_size=2&job_in_progress=0");
    const jobs = (await res.json()) as { id: string }[];
    expect(jobs.map((j) => j.id)).toEqual(ids.slice(0, 2));
    for (const j of jobs) await worker(`job-done/outsider2/${j.id}?gpu=EMU&isStream=false`, { method: "POST", body: "{}" });
    await t.json(`/v2/${parked.id}/purge-queue`, { method: "POST" });
  });

  it("job-stop delivers cancellations of the worker's jobs", async () => {
    const { id } = await run(parked.id, "stop me");
    const taken = await worker("job-take/outsider3?gpu=EMU");
    expect(((await taken.json()) as { id: string }).id).toBe(id);
    const stop = worker("job-stop/outsider3?gpu=EMU");
    await t.json(`/v2/${parked.id}/cancel/${id}`, { method: "POST" });
    const res = await stop;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ jobsToStop: [id] });
    const late = await worker(`job-done/outsider3/${id}?gpu=EMU`, { method: "POST", body: JSON.stringify({ output: "late" }) });
    expect(late.status).toBe(200);
    expect((await status(parked.id, id)).status).toBe("CANCELLED");
  });

  it("job-done for an unknown job → 404", async () => {
    expect((await worker(`job-done/outsider4/nope?gpu=EMU`, { method: "POST", body: "{}" })).status).toBe(404);
  });
});
