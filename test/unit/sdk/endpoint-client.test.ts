/**
 * The Endpoint client against a small fake of Runpod's job and LB APIs (a
 * real HTTP server on 127.0.0.1:0), with a fake clock for the waits: what it
 * sends, how a job's end becomes a value or a typed error, and every bad
 * input refused before a request leaves. The real emulator drives it in
 * test/integration/endpoint.client.test.ts.
 */
import type { ServerResponse } from "node:http";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Endpoint, EndpointJobError } from "../../../src/sdk/index.js";
import { createEndpointClient } from "../../../src/sdk/endpoint-client.js";
import type { EndpointClient } from "../../../src/sdk/endpoint-client.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { sendJson, startFakeServer } from "../runpod/fake-server.js";
import type { FakeServer, RecordedRequest } from "../runpod/fake-server.js";

let server: FakeServer;
let clock: FakeClock;
let client: EndpointClient;
/** What status and status-sync answer (the job's state). */
let jobState: Record<string, unknown>;

function route(req: RecordedRequest, res: ServerResponse): void {
  const [, , endpoint, op, jobId] = req.path.split("/");
  if (endpoint !== "abc123") return sendJson(res, 404, { error: `endpoint ${endpoint} not found`, status: 404 });
  if (op === "run") return sendJson(res, 200, { id: "job-1", status: "IN_QUEUE" });
  if (op === "status" || op === "status-sync") return sendJson(res, 200, { id: jobId, delayTime: 5, executionTime: 7, ...jobState });
  if (op === "cancel") return sendJson(res, 200, { id: jobId, status: "CANCELLED" });
  sendJson(res, 404, { error: "route not found" });
}

beforeEach(async () => {
  server = await startFakeServer(route);
  vi.stubEnv("RUNPOD_API_KEY", "test-key-123");
  vi.stubEnv("RUNPOD_ENDPOINT_BASE_URL", `${server.url}/v2`);
  vi.stubEnv("RUNPOD_API_BASE_URL", server.url);
  clock = new FakeClock();
  client = createEndpointClient({ id: "abc123" }, 'Endpoint({ id: "abc123" })', clock);
  jobState = { status: "IN_PROGRESS" };
});
afterEach(async () => {
  await server.close();
});

async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

describe("run, status, wait, cancel", () => {
  it("run queues {input} with the key and returns the job at once", async () => {
    const job = await client.run({ prompt: "hi" }, { policy: { ttl: 60_000 } });
    expect(job).toMatchObject({ id: "job-1", endpointId: "abc123", lastStatus: "IN_QUEUE", done: false });
    const sent = server.requests[0]!;
    expect(sent).toMatchObject({ method: "POST", path: "/v2/abc123/run", json: { input: { prompt: "hi" }, policy: { ttl: 60_000 } } });
    expect(sent.headers.authorization).toBe("Bearer test-key-123");
  });

  it("status() reads the job; wait() resolves with the output once it COMPLETED", async () => {
    const job = await client.run({});
    expect(await job.status()).toBe("IN_PROGRESS");
    jobState = { status: "COMPLETED", output: { answer: 42 } };
    expect(await job.wait()).toBe(job);
    expect(job).toMatchObject({ done: true, lastStatus: "COMPLETED", output: { answer: 42 }, error: undefined });
    expect(job.state).toMatchObject({ executionTime: 7 });
    expect(server.requests.some((r) => r.path === "/v2/abc123/status-sync/job-1")).toBe(true);
  });

  it.each([
    ["FAILED", { status: "FAILED", error: "handler raised ValueError" }, "FUNCTION_ERROR", /job job-1 failed: handler raised ValueError/],
    ["TIMED_OUT", { status: "TIMED_OUT" }, "FUNCTION_TIMEOUT", /ran longer than its execution timeout/],
    ["CANCELLED", { status: "CANCELLED" }, "FUNCTION_CANCELLED", /was cancelled/],
  ])("wait() rejects with an EndpointJobError when the job ends %s", async (reason, state, code, message) => {
    const job = await client.run({});
    jobState = state;
    const error = await rejection(job.wait());
    expect(error).toBeInstanceOf(EndpointJobError);
    expect(error).toMatchObject({ reason, code, jobId: "job-1", endpointId: "abc123", message });
    expect(job.lastStatus).toBe(reason);
  });

  it("wait({ timeout }) gives up with WAIT_TIMEOUT and leaves the job running", async () => {
    const job = await client.run({});
    const waiting = rejection(job.wait({ timeout: 10_000 }));
    await clock.sleepingFor(250); // the server answered status-sync at once: the client pauses
    await clock.advance(10_000);
    const error = await waiting;
    expect(error).toBeInstanceOf(EndpointJobError);
    expect(error).toMatchObject({ reason: "WAIT_TIMEOUT", code: "UPSTREAM_TIMEOUT", cancelled: false, jobStatus: "IN_PROGRESS", message: /did not finish within 10000 ms \(it is IN_PROGRESS and keeps running\)/ });
    expect(server.requests.some((r) => r.path.startsWith("/v2/abc123/cancel"))).toBe(false);
  });

  it("cancel() cancels the job and reads its new status", async () => {
    const job = await client.run({});
    expect(await job.cancel()).toBe(job);
    expect(job.lastStatus).toBe("CANCELLED");
    expect(server.requests.at(-1)).toMatchObject({ method: "POST", path: "/v2/abc123/cancel/job-1" });
  });

  it("job(id) attaches to a job submitted earlier", async () => {
    jobState = { status: "COMPLETED", output: "earlier" };
    const job = client.job("job-9");
    expect(await job.status()).toBe("COMPLETED");
    expect(job.output).toBe("earlier");
  });
});

describe("runsync", () => {
  it("resolves with the finished job", async () => {
    jobState = { status: "COMPLETED", output: [1, 2] };
    const job = await client.runsync({ n: 2 });
    expect(job).toMatchObject({ id: "job-1", lastStatus: "COMPLETED", output: [1, 2] });
  });

  it("takes timeouts up to the longest a Node timer can wait", async () => {
    jobState = { status: "COMPLETED", output: "patient" };
    expect((await client.runsync({}, { timeout: 2_147_483_647 })).output).toBe("patient");
    expect(await rejection(client.runsync({}, { timeout: 2_147_483_648 }))).toMatchObject({ code: "INVALID_INPUT", message: /timeout must be a number of milliseconds/ });
  });

  it("rejects a failed job with its EndpointJobError", async () => {
    jobState = { status: "FAILED", error: "boom" };
    expect(await rejection(client.runsync({}))).toMatchObject({ reason: "FAILED", jobError: "boom" });
  });

  it("cancels the job when its timeout runs out (nobody else has its id)", async () => {
    const waiting = rejection(client.runsync({}, { timeout: 5_000 }));
    await clock.sleepingFor(5_000); // the deadline is set
    await clock.advance(5_000);
    const error = await waiting;
    expect(error).toMatchObject({ reason: "WAIT_TIMEOUT", cancelled: true, jobId: "job-1", message: /did not finish within 5000 ms, so it was cancelled/ });
    expect(server.requests.some((r) => r.method === "POST" && r.path === "/v2/abc123/cancel/job-1")).toBe(true);
  });
});

describe("bad input is refused with a clear, coded error", () => {
  it("an unknown endpoint id is NOT_FOUND naming it", async () => {
    const other = createEndpointClient({ id: "nope404" }, 'Endpoint({ id: "nope404" })', clock);
    const error = await rejection(other.run({}));
    expect(error).toMatchObject({ code: "NOT_FOUND", message: /^Endpoint\(\{ id: "nope404" \}\): endpoint nope404 was not found/ });
    expect(error.hint).toMatch(/Check the id/);
  });

  it("no RUNPOD_API_KEY with Runpod as the backend is UNAUTHORIZED before any request", async () => {
    vi.stubEnv("RUNPOD_API_KEY", "");
    vi.stubEnv("RUNPOD_ENDPOINT_BASE_URL", "");
    const error = await rejection(new Endpoint({ id: "abc123" }).run({}));
    expect(error).toMatchObject({ code: "UNAUTHORIZED", message: /RUNPOD_API_KEY is not set/, hint: /Settings → API Keys/ });
  });

  it.each([
    [{ callback: () => 1 }, "input.callback is a function"],
    [{ n: Number.NaN }, "input.n is NaN"],
    [{ big: 10n }, "input.big is a bigint"],
    [{ items: [1, undefined] }, "input.items[1] is undefined"],
    [{ tags: new Set(["a"]) }, "input.tags is a Set"],
    [{ bytes: new Uint8Array(2) }, "input.bytes is a Uint8Array"],
    [{ "odd key": Symbol("s") }, 'input["odd key"] is a symbol'],
    [undefined, "input is undefined"],
  ])("a value JSON cannot carry is INVALID_INPUT naming where (%#)", async (input, where) => {
    const error = await rejection(client.run(input));
    expect(error).toMatchObject({ code: "INVALID_INPUT", message: `${where}, which JSON cannot carry` });
    expect(server.requests).toEqual([]);
  });

  it("a cycle is INVALID_INPUT; dates, toJSON values and absent optional fields are fine", async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(await rejection(client.run(cyclic))).toMatchObject({ code: "INVALID_INPUT", message: /input\.self is a reference back to an enclosing value/ });
    await client.run({ when: new Date(0), maybe: undefined });
    expect(server.requests[0]!.json).toEqual({ input: { when: "1970-01-01T00:00:00.000Z" } });
  });

  it("an input over Runpod's /run limit is BODY_TOO_LARGE before sending", async () => {
    const error = await rejection(client.run({ blob: "x".repeat(10 * 1024 * 1024) }));
    expect(error).toMatchObject({ code: "BODY_TOO_LARGE", message: /Runpod takes at most 10485760/ });
    expect(server.requests).toEqual([]);
  });
});

describe("load-balanced calls", () => {
  beforeEach(() => {
    server.handle((req, res) => {
      if (req.path.endsWith("/missing")) return sendJson(res, 404, { detail: "Not Found" });
      sendJson(res, 200, { method: req.method, path: req.path, query: Object.fromEntries(req.query), body: req.json ?? null });
    });
  });

  it("send JSON bodies and query strings to the endpoint's LB URL (the path form on a local emulator)", async () => {
    expect(await client.request("POST", "/items", { body: { name: "a" } })).toEqual({ method: "POST", path: "/lb/abc123/items", query: {}, body: { name: "a" } });
    expect(await client.request("GET", "/items", { query: { page: 2, full: true } })).toMatchObject({ method: "GET", query: { page: "2", full: "true" }, body: null });
    expect(server.requests[0]!.headers.authorization).toBe("Bearer test-key-123");
  });

  it("answer non-2xx with an error coded by status", async () => {
    expect(await rejection(client.request("GET", "/missing", {}))).toMatchObject({ code: "NOT_FOUND", message: /GET .*\/lb\/abc123\/missing failed with HTTP 404: Not Found/ });
    expect(await rejection(client.request("POST", "/x", { body: { f: () => 1 } }))).toMatchObject({ code: "INVALID_INPUT", message: /body\.f is a function/ });
  });
});

describe("Endpoint.connect({ name })", () => {
  beforeEach(() => {
    const endpoints = [
      { id: "abc123", name: "live-hello" },
      { id: "dup1", name: "twin" },
      { id: "dup2", name: "twin" },
    ];
    server.handle((req, res) => (req.path === "/v2/serverless" ? sendJson(res, 200, { endpoints: endpoints.map((e) => ({ ...e, type: "QUEUE", workers: { min: 0, max: 1 }, scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, dataCenterIds: [], networkVolumes: [], timeout: 0, flashboot: "OFF", createdAt: "" })) }) : route(req, res)));
  });

  it("finds the endpoint by name (flash dev's live-<name> too) at its first call", async () => {
    const ep = Endpoint.connect({ name: "hello" });
    expect(ep.id).toBeUndefined();
    const job = await ep.run({});
    expect(job.endpointId).toBe("abc123");
    expect(ep.id).toBe("abc123");
  });

  it("refuses a name that is missing or ambiguous", async () => {
    expect(await rejection(Endpoint.connect({ name: "nobody" }).run({}))).toMatchObject({ code: "NOT_FOUND", message: /no endpoint is named nobody or live-nobody/ });
    expect(await rejection(Endpoint.connect({ name: "twin" }).run({}))).toMatchObject({ code: "CONFLICT", message: /2 endpoints are named twin \(dup1, dup2\)/ });
  });
});
