/**
 * What a call shows while it is in flight: a QB job's console output read
 * from its stream as the worker sends it (and left out of the final logs once
 * shown), and the endpoint's health for calls in flight over a second, polled
 * once per endpoint. Stand-ins for the job API; the real clients and emulator
 * are in test/integration/dev.live-calls.test.ts.
 */
import { describe, expect, it } from "vitest";
import { createFunctionClient } from "../../../src/calls/function-client.js";
import type { CallObserver, FunctionCall, JobApi, LoadBalancerApi } from "../../../src/calls/index.js";
import { FUNCTION_PROTOCOL_VERSION } from "../../../src/common/function-protocol.js";
import type { EndpointRef, FunctionLog, FunctionResponse } from "../../../src/common/function-protocol.js";
import type { HealthResponse, JobState, StreamResponse } from "../../../src/runpod/wire-types.js";
import { encodeValue } from "../../../src/common/value-codec.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { waitFor } from "../../helpers/wait.js";

const qb: EndpointRef = { id: "ep-q", name: "live-q", kind: "QB" };
const HASH = "a".repeat(64);
const noLb: LoadBalancerApi = { request: async () => ({ status: 500, headers: {}, body: null }) };

const line = (text: string, extra: Partial<FunctionLog> = {}): FunctionLog => ({ stream: "stdout", text, ...extra });
const response = (logs: FunctionLog[]): FunctionResponse => ({ flash: FUNCTION_PROTOCOL_VERSION, ok: true, result: encodeValue("done"), logs, durationMs: 1 });
const health = (workers: Partial<HealthResponse["workers"]> = {}): HealthResponse => ({
  jobs: { completed: 0, failed: 0, inProgress: 0, inQueue: 1, retried: 0 },
  workers: { idle: 0, initializing: 0, ready: 0, running: 0, throttled: 0, unhealthy: 0, ...workers },
});

/**
 * A job API whose jobs end when the test says so, with a stream the test feeds
 * (long-polled: a read waits for the next answer) and a health counter.
 */
function liveJobs() {
  const answers: StreamResponse[] = [];
  let wake: (() => void) | undefined;
  const finish = new Map<string, (state: JobState) => void>();
  const streamSignals: AbortSignal[] = [];
  let healthCalls = 0;
  let healthAnswer: () => Promise<HealthResponse> = async () => health();
  const jobs: Required<JobApi> = {
    async runToCompletion(_endpointId, _request, options) {
      const id = `job-${finish.size + 1}`;
      options.onSubmitted?.({ id, status: "IN_QUEUE" });
      return new Promise<JobState>((resolve, reject) => {
        finish.set(id, resolve);
        options.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true });
      });
    },
    async stream(_endpointId, jobId, options = {}) {
      if (options.signal) streamSignals.push(options.signal);
      while (answers.length === 0) {
        await new Promise<void>((resolve, reject) => {
          wake = resolve;
          options.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true });
        });
      }
      return { id: jobId, ...answers.shift()! };
    },
    async health() {
      healthCalls++;
      return healthAnswer();
    },
  };
  return {
    jobs,
    streamSignals,
    healthCalls: () => healthCalls,
    answerHealth(answer: () => Promise<HealthResponse>) {
      healthAnswer = answer;
    },
    push(answer: StreamResponse) {
      answers.push(answer);
      wake?.();
    },
    complete(jobId: string, logs: FunctionLog[]) {
      finish.get(jobId)?.({ id: jobId, status: "COMPLETED", delayTime: 1, executionTime: 1, output: response(logs) });
    },
  };
}

function recorder() {
  const logs: FunctionLog[][] = [];
  const dropped: number[] = [];
  const healths: HealthResponse["workers"][] = [];
  const observer: CallObserver = {
    logs: (l) => logs.push([...l]),
    logsDropped: (e) => dropped.push(e.count),
    health: (e) => healths.push(e.workers),
  };
  return { logs, dropped, healths, observer };
}

const call = (observer: CallObserver, extra: Partial<FunctionCall> = {}): FunctionCall => ({
  to: { endpoint: qb },
  module: { hash: HASH, code: () => "export {}" },
  target: { file: "f.ts", export: "f" },
  args: [],
  observer,
  ...extra,
});

/** The stream of a job is first read a quarter of a second after it was submitted. */
async function firstStreamRead(clock: FakeClock): Promise<void> {
  await clock.sleepingFor(250);
  await clock.advance(250);
}

describe("live logs of a QB call", () => {
  it("reads no stream for a call that ends within its first quarter second: its lines come with the result", async () => {
    const t = liveJobs();
    const r = recorder();
    const clock = new FakeClock();
    const client = createFunctionClient({ jobs: t.jobs, loadBalancer: noLb, clock });
    const pending = client.call(call(r.observer));
    await clock.sleepingFor(250);
    t.complete("job-1", [line("quick")]);
    const result = await pending;
    expect(result.logs).toEqual([line("quick")]);
    await clock.advance(250);
    expect(t.streamSignals).toHaveLength(0);
  });


  it("shows the lines the worker streams before the call returns, then only the lines not yet shown; the result keeps them all", async () => {
    const t = liveJobs();
    const r = recorder();
    const clock = new FakeClock();
    const client = createFunctionClient({ jobs: t.jobs, loadBalancer: noLb, clock });
    let settled = false;
    const pending = client.call(call(r.observer)).finally(() => (settled = true));
    await firstStreamRead(clock);
    t.push({ status: "IN_PROGRESS", stream: [{ output: { flashLogs: 1, logs: [{ stream: "stdout", text: "one", seq: 0 }, { stream: "stderr", text: "two", seq: 1 }] } }] });
    await waitFor("the streamed lines", () => r.logs.length === 1);
    expect(r.logs[0]).toEqual([line("one"), { stream: "stderr", text: "two" }]);
    expect(settled).toBe(false);
    // Nested calls' lines keep their callee's label.
    t.push({ status: "IN_PROGRESS", stream: [{ output: { flashLogs: 1, logs: [{ stream: "stdout", text: "inner", seq: 2, endpoint: "live-inner" }], dropped: 4 } }] });
    await waitFor("the second chunk", () => r.logs.length === 2);
    expect(r.logs[1]).toEqual([line("inner", { endpoint: "live-inner" })]);
    expect(r.dropped).toEqual([4]);

    const all = [line("one"), { stream: "stderr" as const, text: "two" }, line("inner", { endpoint: "live-inner" }), line("three")];
    t.complete("job-1", all);
    const result = await pending;
    expect(result.logs).toEqual(all);
    expect(r.logs).toHaveLength(3);
    expect(r.logs[2]).toEqual([line("three")]);
    // The stream is no longer read once the job ended.
    expect(t.streamSignals.every((s) => s.aborted)).toBe(true);
  });

  it("ignores stream chunks that are not live logs (the emulator streams a job's output once at its end)", async () => {
    const t = liveJobs();
    const r = recorder();
    const clock = new FakeClock();
    const client = createFunctionClient({ jobs: t.jobs, loadBalancer: noLb, clock });
    const pending = client.call(call(r.observer));
    await firstStreamRead(clock);
    t.push({ status: "IN_PROGRESS", stream: [{ output: response([line("x")]) }, { output: "text" }] });
    t.push({ status: "IN_PROGRESS", stream: [{ output: { flashLogs: 1, logs: [{ stream: "stdout", text: "x", seq: 0 }] } }] });
    await waitFor("the live line", () => r.logs.length === 1);
    t.complete("job-1", [line("x")]);
    await pending;
    expect(r.logs).toEqual([[line("x")]]);
  });

  it("without a stream to read, the lines come with the answer as before", async () => {
    const t = liveJobs();
    const r = recorder();
    const client = createFunctionClient({ jobs: { runToCompletion: t.jobs.runToCompletion }, loadBalancer: noLb, clock: new FakeClock() });
    const pending = client.call(call(r.observer));
    await waitFor("the job", () => t.streamSignals.length === 0 && r.logs.length === 0);
    t.complete("job-1", [line("a"), line("b")]);
    await pending;
    expect(r.logs).toEqual([[line("a"), line("b")]]);
  });
});

describe("job status while a call is in flight", () => {
  it("a watched call holds status-sync briefly and hears each change once, from status-sync and stream reads alike", async () => {
    const waits: (number | undefined)[] = [];
    const statuses: string[] = [];
    const t = liveJobs();
    const jobs: JobApi = {
      ...t.jobs,
      runToCompletion: (endpointId, request, options) => {
        waits.push(options.waitMs);
        options.onStatus?.({ id: "job-1", status: "IN_QUEUE", delayTime: 0, executionTime: 0 });
        options.onStatus?.({ id: "job-1", status: "IN_QUEUE", delayTime: 0, executionTime: 0 });
        return t.jobs.runToCompletion(endpointId, request, options);
      },
    };
    const clock = new FakeClock();
    const client = createFunctionClient({ jobs, loadBalancer: noLb, clock });
    const pending = client.call(call({ logs: () => {}, status: (e) => statuses.push(e.status) }));
    await firstStreamRead(clock);
    t.push({ status: "IN_PROGRESS", stream: [] });
    await waitFor("running", () => statuses.includes("IN_PROGRESS"));
    t.complete("job-1", []);
    await pending;
    expect(statuses).toEqual(["IN_QUEUE", "IN_PROGRESS"]);
    expect(waits).toEqual([2000]);
    // Nobody watching the status: the platform's default hold.
    await Promise.all([client.call(call({})), Promise.resolve().then(() => t.complete("job-2", []))]);
    expect(waits[1]).toBeUndefined();
  });
});

describe("endpoint health while a call is in flight", () => {
  it("is read only for calls in flight over a second, once per interval for all calls of an endpoint, and no more once they end", async () => {
    const t = liveJobs();
    const clock = new FakeClock();
    const a = recorder();
    const b = recorder();
    t.answerHealth(async () => health({ initializing: 1 }));
    const client = createFunctionClient({ jobs: t.jobs, loadBalancer: noLb, clock });
    const first = client.call(call(a.observer));
    const second = client.call(call(b.observer));
    await clock.sleepingFor(1000);
    expect(t.healthCalls()).toBe(0);
    await clock.advance(1000);
    await waitFor("both calls to hear the health", () => a.healths.length === 1 && b.healths.length === 1);
    expect(t.healthCalls()).toBe(1);
    expect(a.healths[0]).toMatchObject({ initializing: 1 });
    await clock.advance(2000);
    await waitFor("the next reading", () => a.healths.length === 2 && b.healths.length === 2);
    expect(t.healthCalls()).toBe(2);
    t.complete("job-1", []);
    t.complete("job-2", []);
    await Promise.all([first, second]);
    await clock.advance(10_000);
    expect(t.healthCalls()).toBe(2);
  });

  it("is not read for an observer that does not listen to it, nor for a call that ends within the second", async () => {
    const t = liveJobs();
    const clock = new FakeClock();
    const client = createFunctionClient({ jobs: t.jobs, loadBalancer: noLb, clock });
    const quiet = client.call(call({ logs: () => {} }));
    const quick = client.call(call(recorder().observer));
    await clock.sleeping(1);
    t.complete("job-2", []);
    await quick;
    await clock.advance(5000);
    t.complete("job-1", []);
    await quiet;
    expect(t.healthCalls()).toBe(0);
  });

  it("stops asking an endpoint whose health keeps failing", async () => {
    const t = liveJobs();
    const clock = new FakeClock();
    const r = recorder();
    t.answerHealth(async () => {
      throw new Error("404 not found");
    });
    const client = createFunctionClient({ jobs: t.jobs, loadBalancer: noLb, clock });
    const pending = client.call(call(r.observer));
    await clock.advance(1000);
    for (let i = 0; i < 10; i++) await clock.advance(2000);
    expect(t.healthCalls()).toBe(3);
    t.complete("job-1", []);
    await pending;
    expect(r.healths).toEqual([]);
  });
});
