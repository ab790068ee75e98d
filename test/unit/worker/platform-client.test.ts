import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { nullLogger } from "../../../src/common/logger.js";
import { appendQuery, createPlatformClient, resolvePlatformConfig } from "../../../src/worker/platform-client.js";
import type { PlatformClient } from "../../../src/worker/platform-client.js";
import { FakePlatform } from "../../helpers/fake-platform.js";

/** A job-take URL that answers every request with the status and body last set, and a platform client pointed at it. */
async function answeringServer(first: number): Promise<{ client: PlatformClient; answer(status: number, body?: string): void; close(): void }> {
  let status = first;
  let body = "";
  const server = createServer((_req, res) => res.writeHead(status, { "content-type": "application/json" }).end(body));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = { RUNPOD_WEBHOOK_GET_JOB: `${base}/v2/ep/job-take/$ID?gpu=x`, RUNPOD_WEBHOOK_POST_OUTPUT: `${base}/done/$ID?x=1`, RUNPOD_POD_ID: "w" };
  return {
    client: createPlatformClient(resolvePlatformConfig(env, "1"), { logger: nullLogger }),
    answer(nextStatus, nextBody = body) {
      status = nextStatus;
      body = nextBody;
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe("resolvePlatformConfig", () => {
  const env = {
    RUNPOD_WEBHOOK_GET_JOB: "http://h/v2/ep/job-take/$ID?gpu=EMU",
    RUNPOD_WEBHOOK_POST_OUTPUT: "http://h/v2/ep/job-done/$RUNPOD_POD_ID/$ID?gpu=EMU",
    RUNPOD_WEBHOOK_POST_STREAM: "http://h/v2/ep/job-stream/$RUNPOD_POD_ID/$ID?gpu=EMU",
    RUNPOD_WEBHOOK_PING: "http://h/v2/ep/ping/$RUNPOD_POD_ID?gpu=EMU",
    RUNPOD_POD_ID: "pod-7",
    RUNPOD_AI_API_KEY: "k",
  };

  it("substitutes the worker id and derives batch and stop URLs", () => {
    const config = resolvePlatformConfig(env, "1.2.3");
    expect(config.jobTakeUrl).toBe("http://h/v2/ep/job-take/pod-7?gpu=EMU");
    expect(config.jobTakeBatchUrl).toBe("http://h/v2/ep/job-take-batch/pod-7?gpu=EMU");
    expect(config.jobStopUrl).toBe("http://h/v2/ep/job-stop/pod-7?gpu=EMU");
    // $ID stays for the job id, substituted per request.
    expect(config.jobDoneTemplate).toBe("http://h/v2/ep/job-done/pod-7/$ID?gpu=EMU");
    expect(config.streamTemplate).toBe("http://h/v2/ep/job-stream/pod-7/$ID?gpu=EMU");
    expect(config.pingUrl).toBe("http://h/v2/ep/ping/pod-7?gpu=EMU");
    expect(config.pingIntervalMs).toBe(10_000);
  });

  it("replaces $RUNPOD_POD_ID in the take URL too, and has no batch/stop URL without /job-take/", () => {
    const config = resolvePlatformConfig({ ...env, RUNPOD_WEBHOOK_GET_JOB: "http://h/take/$RUNPOD_POD_ID" }, "1");
    expect(config.jobTakeUrl).toBe("http://h/take/pod-7");
    expect(config.jobTakeBatchUrl).toBeUndefined();
    expect(config.jobStopUrl).toBeUndefined();
  });

  it("names a bad or missing variable", () => {
    expect(() => resolvePlatformConfig({ ...env, RUNPOD_WEBHOOK_POST_OUTPUT: "" }, "1")).toThrow(/RUNPOD_WEBHOOK_POST_OUTPUT is not set/);
    expect(() => resolvePlatformConfig({ ...env, RUNPOD_WEBHOOK_GET_JOB: "not a url" }, "1")).toThrow(/RUNPOD_WEBHOOK_GET_JOB is not a URL/);
    expect(() => resolvePlatformConfig({ ...env, RUNPOD_PING_INTERVAL: "soon" }, "1")).toThrow(/RUNPOD_PING_INTERVAL/);
  });

  it("appends queries with & or ? as needed", () => {
    expect(appendQuery("http://h/a?x=1", "y=2")).toBe("http://h/a?x=1&y=2");
    expect(appendQuery("http://h/a", "y=2")).toBe("http://h/a?y=2");
  });
});

describe("platform client against a fake platform", () => {
  let platform: FakePlatform | undefined;
  let client: PlatformClient | undefined;
  afterEach(async () => {
    await client?.close();
    await platform?.close();
    client = undefined;
    platform = undefined;
  });

  async function setup(options: ConstructorParameters<typeof FakePlatform>[0] = {}): Promise<{ platform: FakePlatform; client: PlatformClient }> {
    platform = await new FakePlatform(options).start();
    client = createPlatformClient(resolvePlatformConfig(platform.env(), "9.9.9"), { logger: nullLogger });
    return { platform, client };
  }

  it("takes one job with job_in_progress and the raw key, parsing JSON whatever the content type", async () => {
    const { platform, client } = await setup({ takeContentType: "text/plain" });
    platform.enqueue({ id: "j1", input: { a: 1 }, webhook: "http://x" });
    const result = await client.takeJobs(1, true, new AbortController().signal);
    expect(result.jobs).toEqual([{ id: "j1", input: { a: 1 }, webhook: "http://x" }]);
    const take = platform.requests.at(-1);
    expect(take?.path).toBe("/v2/ep/job-take/worker-1");
    expect(take?.query.get("gpu")).toBe("EMU");
    expect(take?.query.get("job_in_progress")).toBe("1");
    expect(take?.headers.authorization).toBe("worker-secret-key");
  });

  it("long-polls: a job queued while the take waits is delivered at once; an empty hold is no job", async () => {
    // Holds end when the test says so, not after a time that a loaded machine could overrun.
    const { platform, client } = await setup({ holdMs: 60_000 });
    const takes = (): number => platform.requests.filter((r) => r.path.includes("job-take")).length;
    const waiting = client.takeJobs(1, false, new AbortController().signal);
    await platform.waitFor(() => takes() === 1, "a take");
    platform.enqueue({ id: "late", input: null });
    expect((await waiting).jobs.map((j) => j.id)).toEqual(["late"]);
    const empty = client.takeJobs(1, false, new AbortController().signal);
    await platform.waitFor(() => takes() === 2, "a second take");
    platform.releaseHolds();
    expect(await empty).toEqual({ jobs: [], retryAfterMs: 0 });
  });

  it("takes a batch when more than one slot is free", async () => {
    const { platform, client } = await setup();
    for (const id of ["a", "b", "c"]) platform.enqueue({ id, input: id });
    const result = await client.takeJobs(2, false, new AbortController().signal);
    expect(result.jobs.map((j) => j.id)).toEqual(["a", "b"]);
    const take = platform.requests.at(-1);
    expect(take?.path).toBe("/v2/ep/job-take-batch/worker-1");
    expect(take?.query.get("batch_size")).toBe("2");
    expect(take?.query.get("job_in_progress")).toBe("0");
  });

  it("treats 204 and 400 as no job, pauses after a 400, backs off on 429, and ignores jobs without id/input", async () => {
    const server = await answeringServer(204);
    client = server.client;
    const signal = new AbortController().signal;
    try {
      expect(await client.takeJobs(1, false, signal)).toEqual({ jobs: [], retryAfterMs: 0 });
      server.answer(400);
      expect(await client.takeJobs(1, false, signal)).toEqual({ jobs: [], retryAfterMs: 250 });
      server.answer(429);
      expect((await client.takeJobs(1, false, signal)).retryAfterMs).toBe(5000);
      server.answer(200, JSON.stringify([{ id: "ok", input: 1 }, { id: "no-input" }, { input: 2 }]));
      expect((await client.takeJobs(3, false, signal)).jobs).toEqual([{ id: "ok", input: 1 }]);
      server.answer(200, "");
      expect((await client.takeJobs(1, false, signal)).jobs).toEqual([]);
    } finally {
      server.close();
    }
  });

  it("backs off (250 ms doubling to 2 s) on repeated 400s and unexpected statuses, resetting on a 204 or a job", async () => {
    const server = await answeringServer(400);
    client = server.client;
    const signal = new AbortController().signal;
    const pauses = async (n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await (client as PlatformClient).takeJobs(1, false, signal)).retryAfterMs);
      return out;
    };
    try {
      expect(await pauses(6)).toEqual([250, 500, 1000, 2000, 2000, 2000]);
      server.answer(204);
      expect(await pauses(1)).toEqual([0]);
      server.answer(400);
      expect(await pauses(2)).toEqual([250, 500]);
      // Other unexpected statuses share the same backoff.
      server.answer(503);
      expect(await pauses(2)).toEqual([1000, 2000]);
      server.answer(200, JSON.stringify({ id: "j", input: 1 }));
      expect(await (client as PlatformClient).takeJobs(1, false, signal)).toEqual({ jobs: [{ id: "j", input: 1 }], retryAfterMs: 0 });
      server.answer(404);
      expect(await pauses(1)).toEqual([250]);
    } finally {
      server.close();
    }
  });

  it("posts results, progress and stream chunks to the substituted URLs", async () => {
    const { platform, client } = await setup();
    expect(await client.postProgress("job/1", { pct: 50 })).toBe(true);
    expect(await client.postStreamChunk("job/1", "chunk")).toBe(true);
    expect(await client.postResult("job/1", JSON.stringify({ output: 42 }), false)).toBe(true);
    expect(platform.progress).toEqual([{ jobId: "job/1", workerId: "worker-1", body: { status: "IN_PROGRESS", output: { pct: 50 } }, isStream: "false" }]);
    expect(platform.chunks).toEqual([{ jobId: "job/1", workerId: "worker-1", body: { output: "chunk" }, isStream: "false" }]);
    expect(platform.results).toEqual([{ jobId: "job/1", workerId: "worker-1", body: { output: 42 }, isStream: "false" }]);
    const done = platform.requests.at(-1);
    expect(done?.path).toBe("/v2/ep/job-done/worker-1/job%2F1");
    expect(done?.query.get("gpu")).toBe("EMU");
    expect(done?.headers["x-request-id"]).toBe("job/1");
    expect(done?.headers.authorization).toBe("worker-secret-key");
    await client.postResult("s", JSON.stringify({ output: [] }), true);
    expect(platform.results.at(-1)?.isStream).toBe("true");
  });

  it("retries a post three times on server errors, and gives up on a refusal", async () => {
    const { platform, client } = await setup();
    platform.doneStatuses.push(500, 503);
    expect(await client.postResult("r1", JSON.stringify({ output: 1 }), false)).toBe(true);
    expect(platform.requests.filter((r) => r.path.endsWith("/r1"))).toHaveLength(3);
    platform.doneStatuses.push(500, 500, 500);
    expect(await client.postResult("r2", JSON.stringify({ output: 1 }), false)).toBe(false);
    expect(platform.requests.filter((r) => r.path.endsWith("/r2"))).toHaveLength(3);
    platform.doneStatuses.push(404);
    expect(await client.postResult("r3", JSON.stringify({ output: 1 }), false)).toBe(false);
    expect(platform.requests.filter((r) => r.path.endsWith("/r3"))).toHaveLength(1);
  });

  it("pings with the in-progress job ids and the runtime version", async () => {
    const { platform, client } = await setup();
    await client.ping(["a", "b"]);
    await client.ping([]);
    expect(platform.pings[0]?.get("job_id")).toBe("a,b");
    expect(platform.pings[0]?.get("runpod_version")).toBe("9.9.9");
    expect(platform.pings[1]?.has("job_id")).toBe(false);
    expect(platform.requests.find((r) => r.path.includes("/ping/"))?.path).toBe("/v2/ep/ping/worker-1");
  });

  it("long-polls job-stop and keeps only string ids", async () => {
    const { platform, client } = await setup({ holdMs: 60_000 });
    const first = client.pollStop(new AbortController().signal);
    await platform.waitFor(() => platform.requests.some((r) => r.path.includes("job-stop")), "a stop poll");
    platform.releaseHolds();
    expect(await first).toEqual({ jobIds: [], retryAfterMs: 0 });
    const waiting = client.pollStop(new AbortController().signal);
    await platform.waitFor(() => platform.requests.filter((r) => r.path.includes("job-stop")).length === 2, "a second stop poll");
    platform.stop("j9");
    expect(await waiting).toEqual({ jobIds: ["j9"], retryAfterMs: 0 });
    const poll = platform.requests.find((r) => r.path.includes("job-stop"));
    expect(poll?.path).toBe("/v2/ep/job-stop/worker-1");
    expect(poll?.query.get("gpu")).toBe("EMU");
    expect(poll?.query.has("job_in_progress")).toBe(false);
  });

  it("returns promptly when a take is aborted", async () => {
    const { platform, client } = await setup({ holdMs: 10_000 });
    const controller = new AbortController();
    const waiting = client.takeJobs(1, false, controller.signal);
    await platform.waitFor(() => platform.requests.some((r) => r.path.includes("job-take")), "a take");
    controller.abort();
    expect(await waiting).toEqual({ jobs: [], retryAfterMs: 0 });
  });
});
