import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { RunpodError } from "../../../src/runpod/errors.js";
import { clampWaitMs, createJobClient } from "../../../src/runpod/job-client.js";
import type { JobClient } from "../../../src/runpod/job-client.js";
import type { JobState, StreamChunk } from "../../../src/runpod/wire-types.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { refusedUrl, sendJson, startFakeServer } from "./fake-server.js";
import type { FakeServer, RecordedRequest } from "./fake-server.js";

const KEY = "rpa_JOBKEY1234567";

let server: FakeServer;
let jobs: JobClient;

beforeEach(async () => {
  server = await startFakeServer();
  jobs = createJobClient({ apiKey: KEY, endpointBaseUrl: `${server.url}/v2`, retry: { attempts: 3, baseDelayMs: 1 } });
});

afterEach(async () => {
  await jobs.close();
  await server.close();
});

/** A job client whose deadlines and pauses follow `clock` (closed after the test). */
function clockedJobs(clock: FakeClock): JobClient {
  const client = createJobClient({ apiKey: KEY, endpointBaseUrl: `${server.url}/v2`, retry: { attempts: 3, baseDelayMs: 1 }, clock });
  onTestFinished(() => client.close());
  return client;
}

/** Resolves with the next request to a path containing `part`. */
async function requestTo(part: string): Promise<RecordedRequest> {
  const seen = server.requests.find((r) => r.path.includes(part));
  if (seen) return seen;
  for (;;) {
    const req = await server.nextRequest();
    if (req.path.includes(part)) return req;
  }
}

function job(id: string, status: JobState["status"], extra: Partial<JobState> = {}): JobState {
  return { id, status, delayTime: 3, executionTime: 7, workerId: "w1", ...extra };
}

describe("job API calls", () => {
  it("run POSTs the request to /v2/{endpoint}/run with Bearer auth", async () => {
    server.handle((_req, res) => sendJson(res, 200, { id: "j1", status: "IN_QUEUE" }));
    const answer = await jobs.run("ep1", { input: { x: 1 }, policy: { ttl: 60000 } });
    expect(answer).toEqual({ id: "j1", status: "IN_QUEUE" });
    const [req] = server.requests;
    expect(req).toMatchObject({ method: "POST", url: "/v2/ep1/run", json: { input: { x: 1 }, policy: { ttl: 60000 } } });
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("runSync sends ?wait= (clamped) and returns the job state", async () => {
    server.handle((_req, res) => sendJson(res, 200, job("j1", "COMPLETED", { output: 42 })));
    expect(await jobs.runSync("ep1", { input: 1 }, { waitMs: 2500 })).toMatchObject({ id: "j1", status: "COMPLETED", output: 42 });
    await jobs.runSync("ep1", { input: 1 }, { waitMs: 5 });
    await jobs.runSync("ep1", { input: 1 });
    expect(server.requests.map((r) => r.url)).toEqual(["/v2/ep1/runsync?wait=2500", "/v2/ep1/runsync?wait=1000", "/v2/ep1/runsync?wait=90000"]);
    expect(server.requests[0]?.method).toBe("POST");
  });

  it("status, statusSync and stream GET their paths", async () => {
    server.handle((req, res) => {
      if (req.path.includes("/stream/")) sendJson(res, 200, { status: "IN_PROGRESS", stream: [{ output: "a" }] });
      else sendJson(res, 200, job("j 1", "IN_PROGRESS"));
    });
    await jobs.status("ep1", "j 1");
    await jobs.statusSync("ep1", "j 1", { waitMs: 4000 });
    expect(await jobs.stream("ep1", "j 1")).toEqual({ status: "IN_PROGRESS", stream: [{ output: "a" }] });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET /v2/ep1/status/j%201",
      "GET /v2/ep1/status-sync/j%201?wait=4000",
      "GET /v2/ep1/stream/j%201",
    ]);
  });

  it("cancel, retry and purgeQueue POST, health GETs", async () => {
    server.handle((req, res) => {
      if (req.path.endsWith("/purge-queue")) sendJson(res, 200, { removed: 2, status: "completed" });
      else if (req.path.endsWith("/health")) sendJson(res, 200, { jobs: { completed: 1 }, workers: { idle: 1 } });
      else if (req.path.includes("/cancel/")) sendJson(res, 200, { id: "j1", status: "CANCELLED" });
      else sendJson(res, 200, { id: "j1", status: "IN_QUEUE" });
    });
    expect(await jobs.cancel("ep1", "j1")).toMatchObject({ id: "j1", status: "CANCELLED" });
    expect(await jobs.retry("ep1", "j1")).toMatchObject({ id: "j1", status: "IN_QUEUE" });
    expect(await jobs.purgeQueue("ep1")).toEqual({ removed: 2, status: "completed" });
    const health = await jobs.health("ep1");
    expect(health.jobs).toEqual({ completed: 1, failed: 0, inProgress: 0, inQueue: 0, retried: 0 });
    expect(health.workers).toEqual({ idle: 1, initializing: 0, ready: 0, running: 0, throttled: 0, unhealthy: 0 });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /v2/ep1/cancel/j1",
      "POST /v2/ep1/retry/j1",
      "POST /v2/ep1/purge-queue",
      "GET /v2/ep1/health",
    ]);
  });

  it("omits the Authorization header without a key", async () => {
    const anonymous = createJobClient({ apiKey: undefined, endpointBaseUrl: `${server.url}/v2/` });
    try {
      server.handle((_req, res) => sendJson(res, 200, job("j1", "IN_QUEUE")));
      await anonymous.status("ep1", "j1");
      expect(server.requests[0]?.headers.authorization).toBeUndefined();
      expect(server.requests[0]?.url).toBe("/v2/ep1/status/j1");
    } finally {
      await anonymous.close();
    }
  });

  it("rejects empty ids without a request", async () => {
    await expect(jobs.status("", "j1")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(jobs.cancel("ep1", "")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(server.requests).toHaveLength(0);
  });
});

describe("response validation", () => {
  it("fills delayTime and executionTime with 0", async () => {
    server.handle((_req, res) => sendJson(res, 200, { id: "j1", status: "IN_QUEUE" }));
    expect(await jobs.status("ep1", "j1")).toEqual({ id: "j1", status: "IN_QUEUE", delayTime: 0, executionTime: 0 });
  });

  it.each([
    [{ status: "COMPLETED" }, "missing job id"],
    [{ id: "j1", status: "RUNNING" }, "unknown job status"],
    [[], "expected a job object"],
  ])("rejects %j (%s) as UPSTREAM_ERROR", async (body, why) => {
    server.handle((_req, res) => sendJson(res, 200, body));
    const error = await jobs.status("ep1", "j1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunpodError);
    expect(error).toMatchObject({ code: "UPSTREAM_ERROR", upstreamStatus: 200, body });
    expect((error as Error).message).toContain(why);
  });

  it("turns a structured job error into text", async () => {
    server.handle((_req, res) => sendJson(res, 200, job("j1", "FAILED", { error: { type: "ValueError" } as unknown as string })));
    expect((await jobs.status("ep1", "j1")).error).toBe('{"type":"ValueError"}');
  });

  it("gives a missing stream list as empty", async () => {
    server.handle((_req, res) => sendJson(res, 200, { status: "COMPLETED" }));
    expect(await jobs.stream("ep1", "j1")).toEqual({ status: "COMPLETED", stream: [] });
  });
});

describe("errors and retries", () => {
  it.each([
    [400, "INVALID_INPUT"],
    [401, "UNAUTHORIZED"],
    [404, "NOT_FOUND"],
    [429, "RATE_LIMITED"],
    [500, "UPSTREAM_ERROR"],
  ] as const)("maps a job API %i with {error} to %s", async (status, code) => {
    server.handle((_req, res) => sendJson(res, status, { error: `job api says ${status}`, status }));
    const error = await jobs.run("ep1", { input: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code, status, upstreamStatus: status, body: { error: `job api says ${status}` } });
    expect((error as Error).message).toContain(`job api says ${status}`);
  });

  it("retries GET calls (status, status-sync, stream, health) on 5xx", async () => {
    let n = 0;
    server.handle((req, res) => {
      if (++n % 2 === 1) return sendJson(res, 502, { error: "flaky" });
      if (req.path.includes("/stream/")) return sendJson(res, 200, { status: "COMPLETED", stream: [] });
      if (req.path.endsWith("/health")) return sendJson(res, 200, { jobs: {}, workers: {} });
      sendJson(res, 200, job("j1", "COMPLETED"));
    });
    await jobs.status("ep1", "j1");
    await jobs.statusSync("ep1", "j1", { waitMs: 1000 });
    await jobs.stream("ep1", "j1");
    await jobs.health("ep1");
    expect(server.requests).toHaveLength(8);
  });

  it.each(["run", "runSync", "cancel", "retry", "purgeQueue"] as const)("never retries %s", async (method) => {
    server.handle((_req, res) => sendJson(res, 503, { error: "busy" }));
    const calls = {
      run: () => jobs.run("ep1", { input: {} }),
      runSync: () => jobs.runSync("ep1", { input: {} }, { waitMs: 1000 }),
      cancel: () => jobs.cancel("ep1", "j1"),
      retry: () => jobs.retry("ep1", "j1"),
      purgeQueue: () => jobs.purgeQueue("ep1"),
    };
    await expect(calls[method]()).rejects.toMatchObject({ code: "UPSTREAM_ERROR", status: 503 });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.method).toBe("POST");
  });

  it("times out short calls after the client's timeout", async () => {
    const slow = createJobClient({ apiKey: KEY, endpointBaseUrl: server.url, timeoutMs: 100 });
    try {
      server.handle(() => {});
      await expect(slow.run("ep1", { input: {} })).rejects.toMatchObject({ code: "UPSTREAM_TIMEOUT" });
    } finally {
      await slow.close();
    }
  });

  it("names RUNPOD_ENDPOINT_BASE_URL when the job API is unreachable", async () => {
    const url = await refusedUrl();
    const offline = createJobClient({ apiKey: KEY, endpointBaseUrl: `${url}/v2` });
    try {
      const error = (await offline.run("ep1", { input: {} }).catch((e: unknown) => e)) as RunpodError;
      expect(error).toMatchObject({ code: "UPSTREAM_ERROR", upstreamStatus: undefined });
      expect(error.hint).toContain("RUNPOD_ENDPOINT_BASE_URL");
      expect(error.hint).toContain(`${url}/v2`);
    } finally {
      await offline.close();
    }
  });
});

describe("streamAll", () => {
  it("loops /stream until a terminal status, yielding every chunk", async () => {
    const answers = [
      { status: "IN_PROGRESS", stream: [{ output: "a" }, { output: "b" }] },
      { status: "IN_PROGRESS", stream: [] },
      { status: "IN_PROGRESS", stream: [{ output: "c" }] },
      { status: "COMPLETED", stream: [{ output: "d" }] },
    ];
    server.handle((_req, res) => sendJson(res, 200, answers[server.requests.length - 1]));
    const chunks: StreamChunk[] = [];
    for await (const chunk of jobs.streamAll("ep1", "j1", { idleDelayMs: 1 })) chunks.push(chunk);
    expect(chunks.map((c) => c.output)).toEqual(["a", "b", "c", "d"]);
    expect(server.requests).toHaveLength(4);
    expect(server.requests.every((r) => r.method === "GET" && r.url === "/v2/ep1/stream/j1")).toBe(true);
  });

  it("stops when the signal aborts", async () => {
    server.handle((_req, res) => sendJson(res, 200, { status: "IN_PROGRESS", stream: [] }));
    const controller = new AbortController();
    const reason = new Error("enough");
    const consume = async (): Promise<void> => {
      for await (const _chunk of jobs.streamAll("ep1", "j1", { signal: controller.signal, idleDelayMs: 10_000 })) {
        // nothing arrives
      }
    };
    const pending = consume();
    await server.nextRequest();
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});

describe("runToCompletion", () => {
  it("goes run → status-sync → COMPLETED, reporting the submission and each state", async () => {
    server.handle((req, res) => {
      if (req.path.endsWith("/run")) return sendJson(res, 200, { id: "j1", status: "IN_QUEUE" });
      const polls = server.requests.filter((r) => r.path.includes("/status-sync/")).length;
      if (polls === 1) return sendJson(res, 200, job("j1", "IN_PROGRESS"));
      sendJson(res, 200, job("j1", "COMPLETED", { output: { ok: true } }));
    });
    const seen: string[] = [];
    const final = await jobs.runToCompletion("ep1", { input: { n: 1 } }, {
      timeoutMs: 10_000,
      waitMs: 3000,
      onSubmitted: (s) => seen.push(`submitted ${s.id} ${s.status}`),
      onStatus: (s) => seen.push(s.status),
    });
    expect(final).toMatchObject({ id: "j1", status: "COMPLETED", output: { ok: true }, delayTime: 3, executionTime: 7 });
    expect(seen).toEqual(["submitted j1 IN_QUEUE", "IN_PROGRESS", "COMPLETED"]);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /v2/ep1/run",
      "GET /v2/ep1/status-sync/j1?wait=3000",
      "GET /v2/ep1/status-sync/j1?wait=3000",
    ]);
    expect(server.requests[0]?.json).toEqual({ input: { n: 1 } });
  });

  it.each(["FAILED", "CANCELLED", "TIMED_OUT"] as const)("treats %s as terminal and resolves with it", async (status) => {
    server.handle((req, res) =>
      req.path.endsWith("/run") ? sendJson(res, 200, { id: "j1", status: "IN_PROGRESS" }) : sendJson(res, 200, job("j1", status, { error: "boom" })),
    );
    expect(await jobs.runToCompletion("ep1", { input: 1 }, { timeoutMs: 5000, waitMs: 1000 })).toMatchObject({ status });
    expect(server.requests).toHaveLength(2);
  });

  it("rejects with UPSTREAM_TIMEOUT carrying the job id when the overall timeout runs out", async () => {
    server.handle((req, res) => {
      if (req.path.endsWith("/run")) sendJson(res, 200, { id: "j-slow", status: "IN_QUEUE" });
      else if (req.path.includes("/cancel/")) sendJson(res, 200, { id: "j-slow", status: "CANCELLED" });
      // status-sync is held past the deadline
    });
    const clock = new FakeClock();
    const pending = clockedJobs(clock).runToCompletion("ep1", { input: 1 }, { timeoutMs: 20_000 }).catch((e: unknown) => e);
    await requestTo("/status-sync/");
    // The long poll's own timer (wait + 15 s) is later than the overall deadline: only the deadline can end this.
    await clock.advance(20_000);
    const error = await pending;
    expect(error).toBeInstanceOf(RunpodError);
    expect(error).toMatchObject({ code: "UPSTREAM_TIMEOUT", status: 504, details: { jobId: "j-slow", endpointId: "ep1", timeoutMs: 20_000 } });
    expect((error as Error).message).toContain("j-slow");
  });

  it("pauses, growing, between the answers of a server that does not hold status-sync, until the timeout", async () => {
    server.handle((req, res) => {
      if (req.path.includes("/cancel/")) return sendJson(res, 200, { id: "j2", status: "CANCELLED" });
      sendJson(res, 200, { id: "j2", status: req.path.endsWith("/run") ? "IN_QUEUE" : "IN_PROGRESS" });
    });
    const clock = new FakeClock();
    const pending = clockedJobs(clock).runToCompletion("ep1", { input: 1 }, { timeoutMs: 20_000, waitMs: 1000 }).catch((e: unknown) => e);
    for (const [i, pause] of [50, 100, 200, 400, 800, 1000, 1000].entries()) {
      await clock.sleepingFor(pause);
      expect(server.requests).toHaveLength(i + 2); // run, then one status-sync per pause
      await clock.advance(pause);
    }
    await clock.advance(20_000);
    expect(await pending).toMatchObject({ code: "UPSTREAM_TIMEOUT", details: { jobId: "j2" } });
  });

  it("rejects with the caller's reason when the caller aborts", async () => {
    server.handle((req, res) => {
      if (req.path.endsWith("/run")) sendJson(res, 200, { id: "j1", status: "IN_QUEUE" });
      else if (req.path.includes("/cancel/")) sendJson(res, 200, { id: "j1", status: "CANCELLED" });
    });
    const controller = new AbortController();
    const pending = jobs.runToCompletion("ep1", { input: 1 }, { timeoutMs: 10_000, signal: controller.signal });
    expect((await requestTo("/status-sync/")).path).toBe("/v2/ep1/status-sync/j1");
    const reason = new Error("user cancelled");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("does not submit at all for a caller that already gave up", async () => {
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    await expect(jobs.runToCompletion("ep1", { input: 1 }, { timeoutMs: 1000, signal: controller.signal })).rejects.toThrow("gone");
    expect(server.requests).toEqual([]);
  });
});

describe("runToCompletion giving up cancels the job before it settles", () => {
  const cancels = (): string[] => server.requests.filter((r) => r.path.includes("/cancel/")).map((r) => `${r.method} ${r.path}`);

  /** run queues `id`; status-sync is held; cancel answers CANCELLED. */
  function holdStatusSync(id: string): void {
    server.handle((req, res) => {
      if (req.path.endsWith("/run")) sendJson(res, 200, { id, status: "IN_QUEUE" });
      else if (req.path.includes("/cancel/")) sendJson(res, 200, { id, status: "CANCELLED" });
    });
  }

  it("POSTs /cancel/{jobId} after the overall timeout", async () => {
    holdStatusSync("j-slow");
    const clock = new FakeClock();
    const client = clockedJobs(clock);
    const pending = client.runToCompletion("ep1", { input: 1 }, { timeoutMs: 20_000 }).catch((e: unknown) => e);
    await requestTo("/status-sync/");
    await clock.advance(20_000);
    expect(await pending).toMatchObject({ code: "UPSTREAM_TIMEOUT" });
    // close() waits for the background cancel.
    await client.close();
    expect(cancels()).toEqual(["POST /v2/ep1/cancel/j-slow"]);
    expect(server.requests.find((r) => r.path.includes("/cancel/"))?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("POSTs /cancel/{jobId} as soon as the caller aborts, whatever the job's age, and then rejects with the caller's reason", async () => {
    holdStatusSync("j-abort");
    const controller = new AbortController();
    const pending = jobs.runToCompletion("ep1", { input: 1 }, { timeoutMs: 10_000, signal: controller.signal });
    // Waiting on status-sync: the job id is known and the job not finished.
    expect((await requestTo("/status-sync/")).path).toBe("/v2/ep1/status-sync/j-abort");
    const reason = new Error("user cancelled");
    controller.abort(reason);
    expect((await server.nextRequest()).path).toBe("/v2/ep1/cancel/j-abort");
    await expect(pending).rejects.toBe(reason);
    expect(cancels()).toEqual(["POST /v2/ep1/cancel/j-abort"]);
  });

  it("an abort while /run is in flight waits for the job id and cancels that job", async () => {
    let answerRun: (() => void) | undefined;
    server.handle((req, res) => {
      if (req.path.endsWith("/run")) answerRun = () => sendJson(res, 200, { id: "j-early", status: "IN_QUEUE" });
      else if (req.path.includes("/cancel/")) sendJson(res, 200, { id: "j-early", status: "CANCELLED" });
    });
    const controller = new AbortController();
    const pending = jobs.runToCompletion("ep1", { input: 1 }, { timeoutMs: 10_000, signal: controller.signal });
    expect((await server.nextRequest()).path).toBe("/v2/ep1/run");
    controller.abort(new Error("gone"));
    answerRun!();
    await expect(pending).rejects.toThrow("gone");
    expect(server.requests.map((r) => r.path)).toEqual(["/v2/ep1/run", "/v2/ep1/cancel/j-early"]);
  });

  it("cancels during the pause between quick non-terminal answers too", async () => {
    server.handle((req, res) => {
      if (req.path.includes("/cancel/")) return sendJson(res, 200, { id: "j-busy", status: "CANCELLED" });
      sendJson(res, 200, { id: "j-busy", status: req.path.endsWith("/run") ? "IN_QUEUE" : "IN_PROGRESS" });
    });
    const clock = new FakeClock();
    const client = clockedJobs(clock);
    // A deadline shorter than the first pause (50 ms) runs out while the client pauses.
    const pending = client.runToCompletion("ep1", { input: 1 }, { timeoutMs: 40, waitMs: 1000 }).catch((e: unknown) => e);
    await clock.sleepingFor(50);
    await clock.advance(40);
    expect(await pending).toMatchObject({ code: "UPSTREAM_TIMEOUT" });
    await client.close();
    expect(cancels()).toEqual(["POST /v2/ep1/cancel/j-busy"]);
  });

  it.each(["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"] as const)("sends no cancel once the job is %s", async (status) => {
    server.handle((req, res) =>
      req.path.endsWith("/run") ? sendJson(res, 200, { id: "j1", status: "IN_PROGRESS" }) : sendJson(res, 200, job("j1", status)),
    );
    await expect(jobs.runToCompletion("ep1", { input: 1 }, { timeoutMs: 5000, waitMs: 1000 })).resolves.toMatchObject({ status });
    expect(cancels()).toEqual([]);
  });

  it("sends no cancel when a status call fails for another reason", async () => {
    server.handle((req, res) =>
      req.path.endsWith("/run") ? sendJson(res, 200, { id: "j1", status: "IN_QUEUE" }) : sendJson(res, 404, { error: "job not found", status: 404 }),
    );
    await expect(jobs.runToCompletion("ep1", { input: 1 }, { timeoutMs: 5000, waitMs: 1000 })).rejects.toBeInstanceOf(RunpodError);
    expect(cancels()).toEqual([]);
  });

  it("a cancel the server never answers delays the caller's error by the cancel's own 3 s limit, no more", async () => {
    server.handle((req, res) => {
      if (req.path.endsWith("/run")) sendJson(res, 200, { id: "j-stuck", status: "IN_QUEUE" });
      // status-sync and cancel are both held
    });
    const clock = new FakeClock();
    const client = clockedJobs(clock);
    let settled = false;
    const pending = client
      .runToCompletion("ep1", { input: 1 }, { timeoutMs: 20_000 })
      .catch((e: unknown) => e)
      .finally(() => (settled = true));
    await requestTo("/status-sync/");
    await clock.advance(20_000);
    await requestTo("/cancel/");
    expect(cancels()).toEqual(["POST /v2/ep1/cancel/j-stuck"]);
    await clock.sleepingFor(3000);
    await clock.advance(2999);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect(await pending).toMatchObject({ code: "UPSTREAM_TIMEOUT" });
  });
});

describe("clampWaitMs", () => {
  it("keeps waits within Runpod's 1000–300000 ms and defaults to 90000", () => {
    expect(clampWaitMs(undefined)).toBe(90_000);
    expect(clampWaitMs(10)).toBe(1000);
    expect(clampWaitMs(1_000_000)).toBe(300_000);
    expect(clampWaitMs(1234.4)).toBe(1234);
  });
});
