/**
 * The emulator's bounds against a real emulator with real worker processes
 * (docs/limits.md): memory for bodies in flight and for jobs (429/503 with
 * Retry-After, then normal service), results over Runpod's limit failing
 * their job at once, the nesting limit at submission, endpoint and webhook
 * limits, the cap on worker processes, and request timeouts.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Endpoint, JobState } from "../../src/runpod/wire-types.js";
import { createLogger } from "../../src/common/logger.js";
import { openRaw as openRawAt, withContinue, type RawExchange } from "../helpers/raw-http.js";
import { FAKE_WORKER_COMMAND, FIXTURES, useEmulator, type TestEmulator } from "../helpers/emulator.js";
import { waitFor } from "../helpers/wait.js";

const KB = 1024;
const MB = 1024 * KB;
const ECHO = `flash worker --handler ${JSON.stringify(join(FIXTURES, "handlers", "echo.mjs"))}`;

let t: TestEmulator;
let fake: Endpoint;
let parked: Endpoint;
/** Every line the emulator logged; with colour on, the level shows (debug lines start with ESC[90m, warnings ESC[33m, errors ESC[31m). */
const logs: string[] = [];
const [DEBUG, WARN, ERROR, RESET] = ["90", "33", "31", "0"].map((code) => `\u001b[${code}m`) as [string, string, string, string];
const plain = (line: string): string => [DEBUG, WARN, ERROR, RESET].reduce((text, code) => text.replaceAll(code, ""), line);
const isWarnOrError = (line: string): boolean => line.startsWith(WARN) || line.startsWith(ERROR);

beforeAll(async () => {
  t = await useEmulator({
    logger: createLogger({ level: "debug", color: true, write: (line) => logs.push(line) }),
    bodyMemoryBytes: 2 * MB,
    jobMemoryBytes: 4 * MB,
    requestTimeouts: { headersTimeoutMs: 500, requestTimeoutMs: 1500 },
  });
  fake = await t.createEndpoint({ name: "bounds-fake", args: FAKE_WORKER_COMMAND, timeout: 60_000, workers: { min: 0, max: 1, idleTimeout: 30 } });
  // workers.max 0: jobs stay queued.
  parked = await t.createEndpoint({ name: "bounds-parked", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 0, idleTimeout: 5 } });
});
afterAll(async () => {
  await t.close();
});

const openRaw = (head: string): Promise<RawExchange> => openRawAt(t.url, head);

const postHead = (path: string, length: number): string =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
const body = (bytes: number): string => JSON.stringify({ input: "x".repeat(bytes - 12) });

describe("memory for bodies in flight", () => {
  it("answers 503 with Retry-After while the bodies being received fill the budget, and serves again once they are gone", async () => {
    // A slow upload holds 1.5 MB of the 2 MB budget while it arrives. Once its "100 Continue"
    // is back, the emulator is reading it (and has reserved its declared length).
    const slow = await openRaw(withContinue(postHead(`/v2/${parked.id}/run`, 1.5 * MB)));
    await waitFor("100 Continue", () => slow.received().includes("100 Continue"));
    slow.socket.write('{"input":"');
    const refused = await t.fetch(`/v2/${parked.id}/run`, { method: "POST", body: body(1 * MB), headers: { "content-type": "application/json" } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({ status: 503, error: expect.stringMatching(/busy.*1\.5 MB of request bodies.*FLASH_EMULATOR_BODY_MEMORY_MB/) });
    slow.socket.destroy();
    await waitFor("a 1 MB body to be taken again", async () => {
      const res = await t.fetch(`/v2/${parked.id}/run`, { method: "POST", body: body(1 * MB), headers: { "content-type": "application/json" } });
      await res.text();
      return res.status === 200;
    });
    await t.json(`/v2/${parked.id}/purge-queue`, { method: "POST" });
  });
});

describe("memory for jobs", () => {
  it("answers /run 429 with Retry-After when queued jobs fill the job memory, and takes jobs again once they are gone", async () => {
    const submit = () => t.fetch(`/v2/${parked.id}/run`, { method: "POST", body: body(1 * MB), headers: { "content-type": "application/json" } });
    let accepted = 0;
    let refused: Response | undefined;
    while (!refused && accepted < 10) {
      const res = await submit();
      if (res.status === 200) {
        accepted++;
        await res.text();
      } else refused = res;
    }
    expect(accepted).toBe(3);
    expect(refused?.status).toBe(429);
    expect(refused?.headers.get("retry-after")).toBe("2");
    expect(await refused?.json()).toMatchObject({ status: 429, error: expect.stringMatching(/job data.*limit of 4 MB.*FLASH_EMULATOR_JOB_MEMORY_MB/) });
    // Purged (CANCELLED) jobs no longer hold their input: the next job fits.
    expect(await t.json(`/v2/${parked.id}/purge-queue`, { method: "POST" })).toMatchObject({ removed: 3 });
    const again = await submit();
    expect(again.status).toBe(200);
    await again.text();
    await t.json(`/v2/${parked.id}/purge-queue`, { method: "POST" });
  });
});

describe("results over Runpod's limit", () => {
  it("a result post over 20 MB is refused and fails its job at once, naming the size and the limit", async () => {
    const started = Date.now();
    const job = await t.json<JobState>(`/v2/${fake.id}/runsync?wait=30000`, { method: "POST", json: { input: { outputBytes: 21 * MB } } });
    expect(job.status).toBe("FAILED");
    expect(job.error).toMatch(/the job's result \(21(\.0)? MB, over the limit of 20 MB for a job result\)/);
    // Well inside the endpoint's 60 s execution timeout.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("a flash worker whose handler returns more than 20 MB fails the job with the size and the limit", async () => {
    const echo = await t.createEndpoint({ name: "bounds-echo", args: ECHO, timeout: 60_000, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const job = await t.json<JobState>(`/v2/${echo.id}/runsync?wait=30000`, { method: "POST", json: { input: { resultBytes: 21 * MB } } });
    expect(job.status).toBe("FAILED");
    expect(job.error).toMatch(/the job's result is 21(\.0)? MB, over Runpod's limit of 20 MB for a job result/);
    await t.fetch(`/v2/serverless/${echo.id}`, { method: "DELETE" });
  });
});

describe("input nesting", () => {
  it("refuses /run input nested 100,000 levels with 422 at submission", async () => {
    const deep = `{"input":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const res = await t.fetch(`/v2/${parked.id}/run`, { method: "POST", body: deep, headers: { "content-type": "application/json" } });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ status: 422, error: expect.stringMatching(/nested more than 512 levels/) });
    expect((await t.json<{ jobs: { inQueue: number } }>(`/v2/${parked.id}/health`)).jobs.inQueue).toBe(0);
  });
});

describe("endpoint and webhook limits", () => {
  const create = (overrides: Record<string, unknown>) =>
    t.fetch("/v2/serverless", {
      method: "POST",
      json: { name: "limits", type: "QUEUE", scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, image: "x", cpu: [{ id: "cpu3c", vcpuCount: 2 }], ...overrides },
    });

  it("refuses workers.max past 1000, a 100 KB name and control characters with 400 problem JSON", async () => {
    for (const [overrides, detail] of [
      [{ workers: { min: 0, max: 1e9 } }, /\$\.workers\.max: must be <= 1000/],
      [{ workers: { min: 1001, max: 1001 } }, /\$\.workers\.min: must be <= 1000/],
      [{ name: "n".repeat(100 * KB) }, /\$\.name: must be at most 128 characters/],
      [{ name: "a\nb" }, /\$\.name: must not contain control characters/],
    ] as const) {
      const res = await create(overrides);
      expect(res.status, JSON.stringify(overrides).slice(0, 80)).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
      const problem = (await res.json()) as { title: string; errors: string[] };
      expect(problem.title).toBe("Bad Request");
      expect(problem.errors.join("\n")).toMatch(detail);
    }
    const patch = await t.fetch(`/v2/serverless/${parked.id}`, { method: "PATCH", json: { workers: { max: 5000 } } });
    expect(patch.status).toBe(400);
    await patch.text();
  });

  it("refuses webhooks that are not http(s) or point at a link-local address with 400; loopback is fine", async () => {
    for (const webhook of ["file:///etc/passwd", "gopher://x", "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook", "http://[::ffff:169.254.169.254]/", "http://2852039166/", `http://x/${"a".repeat(3000)}`]) {
      const res = await t.fetch(`/v2/${parked.id}/run`, { method: "POST", json: { input: 1, webhook } });
      expect(res.status, webhook.slice(0, 60)).toBe(400);
      expect(await res.json()).toMatchObject({ status: 400, error: expect.stringMatching(/webhook/) });
    }
    const ok = await t.fetch(`/v2/${parked.id}/run`, { method: "POST", json: { input: 1, webhook: "http://127.0.0.1:9/hook" } });
    expect(ok.status).toBe(200);
    await ok.text();
    await t.json(`/v2/${parked.id}/purge-queue`, { method: "POST" });
  });
});

describe("worker processes", () => {
  it("runs at most the cap of worker processes at once; jobs wanting more wait in the queue until one exits", async () => {
    // An emulator of its own, so no other test's workers hold a slot.
    const lines: string[] = [];
    const own = await useEmulator({ maxWorkerProcesses: 2, logger: createLogger({ level: "debug", write: (line) => lines.push(line) }) });
    try {
      const warm = await own.createEndpoint({ name: "bounds-warm", args: FAKE_WORKER_COMMAND, workers: { min: 5, max: 5, idleTimeout: 30 } });
      const waiting = await own.createEndpoint({ name: "bounds-waiting", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 1, idleTimeout: 30 } });
      const workersOf = (id: string) => own.emulator.state().endpoints.find((e) => e.id === id)?.workers.length ?? 0;
      await waitFor("the cap to be reported", () => lines.some((l) => /\[bounds-warm\] 3 more worker\(s\) wanted, but 2 worker processes already run/.test(l)));
      expect(workersOf(warm.id)).toBe(2);
      const { id } = await own.json<{ id: string }>(`/v2/${waiting.id}/run`, { method: "POST", json: { input: { output: "ran" } } });
      await waitFor("the cap to hold the second endpoint back", () => lines.some((l) => /\[bounds-waiting\] 1 more worker\(s\) wanted/.test(l)));
      expect(workersOf(waiting.id)).toBe(0);
      expect((await own.json<JobState>(`/v2/${waiting.id}/status/${id}`)).status).toBe("IN_QUEUE");
      // Deleting the warm endpoint frees its processes: the queued job gets a worker and runs.
      await own.fetch(`/v2/serverless/${warm.id}`, { method: "DELETE" });
      expect(await own.json<JobState>(`/v2/${waiting.id}/status-sync/${id}?wait=30000`)).toMatchObject({ status: "COMPLETED", output: "ran" });
    } finally {
      await own.close();
    }
  });
});

describe("slow clients", () => {
  it("cuts off a client that declares a body and sends nothing, after the request timeout", async () => {
    const silent = await openRaw(postHead(`/v2/${parked.id}/run`, 1 * MB));
    await silent.closed(10_000);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("a client that leaves mid-body is one debug line, not an error", async () => {
    const before = logs.length;
    const cut = await openRaw(withContinue(postHead(`/v2/${parked.id}/run`, 100 * KB)));
    await waitFor("100 Continue", () => cut.received().includes("100 Continue"));
    cut.socket.write('{"input":"xxxx');
    cut.socket.destroy();
    await waitFor("the debug line", () => logs.slice(before).some((l) => l.includes("Client left during POST")));
    const mine = logs.slice(before).filter((l) => l.includes(`/v2/${parked.id}/run`));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.startsWith(DEBUG)).toBe(true);
    // No stack, no warning or error.
    expect(logs.slice(before).filter((l) => /^\s+at /.test(plain(l)) || isWarnOrError(l))).toEqual([]);
  });
});
