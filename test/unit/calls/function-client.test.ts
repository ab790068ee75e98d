/**
 * The function client with in-memory stand-ins for the job API, the LB client
 * and a local runner: request building, module delivery and the resend, the
 * waits, the observer, abandoning calls and close(). The error table is in
 * call-errors.test.ts; the real clients and emulator in test/integration/calls.*.
 */
import { describe, expect, it } from "vitest";
import { createFunctionClient } from "../../../src/calls/function-client.js";
import type { FunctionCall, JobApi, LoadBalancerApi, LocalRunner } from "../../../src/calls/function-client.js";
import { AppError } from "../../../src/common/errors.js";
import { FUNCTION_PROTOCOL_VERSION } from "../../../src/common/function-protocol.js";
import type { EndpointRef, FunctionRequest, FunctionResponse } from "../../../src/common/function-protocol.js";
import type { RunToCompletionOptions } from "../../../src/runpod/job-client.js";
import type { JobRequest, JobState } from "../../../src/runpod/wire-types.js";
import { encodeValue } from "../../../src/common/value-codec.js";

const qb: EndpointRef = { id: "ep-q", name: "live-q", kind: "QB" };
const lb: EndpointRef = { id: "ep-l", name: "live-l", kind: "LB", url: "http://127.0.0.1:9/lb/ep-l" };
const HASH = "a".repeat(64);

function ok(value: unknown, logs: FunctionResponse["logs"] = []): FunctionResponse {
  return { flash: FUNCTION_PROTOCOL_VERSION, ok: true, result: encodeValue(value), logs, durationMs: 1 };
}
const missing: FunctionResponse = { flash: 1, ok: false, error: { kind: "module-missing", name: "ModuleMissing", message: "send the code" }, logs: [], durationMs: 1 };

interface Submitted {
  endpointId: string;
  request: JobRequest;
  options: RunToCompletionOptions;
}

/** A job API whose jobs are answered by `answer` (or held until aborted when it returns undefined). */
function fakeJobs(answer: (request: FunctionRequest, n: number) => JobState | undefined): JobApi & { submitted: Submitted[] } {
  const submitted: Submitted[] = [];
  return {
    submitted,
    async runToCompletion(endpointId, request, options) {
      submitted.push({ endpointId, request, options });
      const id = `job-${submitted.length}`;
      options.onSubmitted?.({ id, status: "IN_QUEUE" });
      const state = answer(request.input as FunctionRequest, submitted.length);
      if (state) {
        options.onStatus?.({ ...state, id });
        return { ...state, id };
      }
      return new Promise<JobState>((_resolve, reject) => {
        options.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true });
      });
    },
  };
}

const completed = (response: FunctionResponse): JobState => ({ id: "", status: "COMPLETED", delayTime: 1, executionTime: 1, output: response });
const noLb: LoadBalancerApi = { request: async () => ({ status: 500, headers: {}, body: null }) };

function baseCall(extra: Partial<FunctionCall> = {}): FunctionCall {
  return { to: { endpoint: qb }, module: { hash: HASH, code: () => "export {}" }, target: { file: "f.ts", export: "f" }, args: [], ...extra };
}

describe("function client: requests", () => {
  it("sends a QB job whose input is the FunctionRequest, with the job policy and a wait of limit + grace", async () => {
    const jobs = fakeJobs(() => completed(ok({ at: new Date(0) })));
    const client = createFunctionClient({ jobs, loadBalancer: noLb, graceMs: 1000 });
    const endpoints = { q: qb };
    const result = await client.call(
      baseCall({
        target: { file: "f.ts", export: "C", method: "m" },
        args: [new Date(0), 2n],
        instance: { id: "C@1", args: ["x"] },
        dependencies: ["sharp@0.34"],
        endpoints,
        executionTimeoutMs: 30_000,
      }),
    );
    expect(result).toMatchObject({ value: { at: new Date(0) }, jobId: "job-1" });
    const [sent] = jobs.submitted;
    expect(sent?.endpointId).toBe("ep-q");
    expect(sent?.request).toEqual({
      input: {
        flash: 1,
        module: { hash: HASH, code: "export {}" },
        target: { file: "f.ts", export: "C", method: "m" },
        args: [encodeValue(new Date(0)), encodeValue(2n)],
        instance: { id: "C@1", args: ["x"] },
        dependencies: ["sharp@0.34"],
        endpoints,
        timeoutMs: 30_000,
      },
      policy: { executionTimeout: 30_000 },
    });
    expect(sent?.options.timeoutMs).toBeGreaterThan(30_000);
    expect(sent?.options.timeoutMs).toBeLessThanOrEqual(31_000);
  });

  it("sends no policy under Runpod's 5 s minimum and waits the default for functions without a limit", async () => {
    const jobs = fakeJobs(() => completed(ok(1)));
    const client = createFunctionClient({ jobs, loadBalancer: noLb, defaultWaitMs: 7777 });
    await client.call(baseCall({ executionTimeoutMs: 1500 }));
    await client.call(baseCall());
    expect(jobs.submitted[0]?.request).not.toHaveProperty("policy");
    expect((jobs.submitted[0]?.request.input as FunctionRequest).timeoutMs).toBe(1500);
    expect(jobs.submitted[1]?.request.input).not.toHaveProperty("timeoutMs");
    expect(jobs.submitted[1]?.options.timeoutMs).toBeLessThanOrEqual(7777);
  });

  it("a caller's wait (a parent's remaining time) bounds the call", async () => {
    const jobs = fakeJobs(() => completed(ok(1)));
    await createFunctionClient({ jobs, loadBalancer: noLb }).call(baseCall({ executionTimeoutMs: 60_000, waitMs: 1234 }));
    expect(jobs.submitted[0]?.options.timeoutMs).toBeLessThanOrEqual(1234);
  });

  it("posts LB calls to /execute of the endpoint's URL", async () => {
    const calls: unknown[] = [];
    const client = createFunctionClient({
      jobs: fakeJobs(() => undefined),
      loadBalancer: { request: async (target, options) => (calls.push([target, options.method, options.path, (options.json as FunctionRequest).target]), { status: 200, headers: {}, body: ok(3) }) },
    });
    expect((await client.call(baseCall({ to: { endpoint: lb } }))).value).toBe(3);
    expect(calls).toEqual([["http://127.0.0.1:9/lb/ep-l", "POST", "/execute", { file: "f.ts", export: "f" }]]);
  });

  it("refuses arguments that cannot be sent, naming them, and sends nothing", async () => {
    const jobs = fakeJobs(() => completed(ok(1)));
    const error = await createFunctionClient({ jobs, loadBalancer: noLb })
      .call(baseCall({ args: [{ onDone: () => 1 }] }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("arguments[0].onDone is a function, which cannot be sent") });
    expect(jobs.submitted).toEqual([]);
  });

  it("rejects an answer that is not a function response with UPSTREAM_ERROR naming the endpoint and job", async () => {
    const jobs = fakeJobs(() => ({ id: "", status: "COMPLETED", delayTime: 1, executionTime: 1, output: { hello: 1 } }));
    await expect(createFunctionClient({ jobs, loadBalancer: noLb }).call(baseCall())).rejects.toMatchObject({ code: "UPSTREAM_ERROR", details: { endpoint: "live-q", jobId: "job-1" } });
  });

  it("a FAILED job is WORKER_CRASHED with its job id", async () => {
    const jobs = fakeJobs(() => ({ id: "", status: "FAILED", delayTime: 1, executionTime: 1, error: "boom" }));
    await expect(createFunctionClient({ jobs, loadBalancer: noLb }).call(baseCall())).rejects.toMatchObject({ code: "WORKER_CRASHED", details: { endpoint: "live-q", jobId: "job-1" } });
  });
});

describe("function client: module delivery", () => {
  it("sends the code once per endpoint, then only the hash", async () => {
    const jobs = fakeJobs(() => completed(ok(1)));
    const client = createFunctionClient({ jobs, loadBalancer: noLb });
    await client.call(baseCall());
    await client.call(baseCall());
    await client.call(baseCall({ to: { endpoint: { ...qb, id: "ep-other" } } }));
    expect(jobs.submitted.map((s) => [s.endpointId, (s.request.input as FunctionRequest).module.code !== undefined])).toEqual([
      ["ep-q", true],
      ["ep-q", false],
      ["ep-other", true],
    ]);
  });

  it("resends with the code when the endpoint answers module-missing, and remembers it again", async () => {
    let lost = false;
    const jobs = fakeJobs((request) => completed(lost && request.module.code === undefined ? missing : ok(1)));
    const client = createFunctionClient({ jobs, loadBalancer: noLb });
    await client.call(baseCall());
    lost = true; // the worker was replaced
    const attempts: number[] = [];
    await client.call(baseCall({ observer: { submitted: (e) => attempts.push(e.attempt) } }));
    lost = false;
    await client.call(baseCall());
    expect(jobs.submitted.map((s) => (s.request.input as FunctionRequest).module.code !== undefined)).toEqual([true, false, true, false]);
    expect(attempts).toEqual([1, 2]);
  });

  it("does not loop when the code itself does not help, and sends the code next time", async () => {
    const jobs = fakeJobs(() => completed(missing));
    const client = createFunctionClient({ jobs, loadBalancer: noLb });
    await expect(client.call(baseCall())).rejects.toMatchObject({ code: "UPSTREAM_ERROR" });
    await expect(client.call(baseCall())).rejects.toMatchObject({ code: "UPSTREAM_ERROR" });
    expect(jobs.submitted.map((s) => (s.request.input as FunctionRequest).module.code !== undefined)).toEqual([true, true]);
  });

  it("reads the code only when an endpoint needs it", async () => {
    let reads = 0;
    const jobs = fakeJobs(() => completed(ok(1)));
    const client = createFunctionClient({ jobs, loadBalancer: noLb });
    const call = baseCall({ module: { hash: HASH, code: () => (reads++, "export {}") } });
    await client.call(call);
    await client.call(call);
    expect(reads).toBe(1);
  });
});

describe("function client: observing a call", () => {
  it("reports submitted (with the job id), status, logs and finished, in order", async () => {
    const jobs = fakeJobs(() => completed(ok(1, [{ stream: "stdout", text: "working" }])));
    const seen: string[] = [];
    await createFunctionClient({ jobs, loadBalancer: noLb }).call(
      baseCall({
        observer: {
          submitted: (e) => seen.push(`submitted ${e.jobId}`),
          status: (e) => seen.push(`status ${e.status}`),
          logs: (logs) => seen.push(`logs ${logs.map((l) => l.text).join()}`),
          finished: (e) => seen.push(`finished ${e.ok} ${e.jobId}`),
        },
      }),
    );
    expect(seen).toEqual(["submitted job-1", "status COMPLETED", "logs working", "finished true job-1"]);
  });

  it("reports a failure with its coded error, and an observer that throws does not break the call", async () => {
    const jobs = fakeJobs(() => ({ id: "", status: "TIMED_OUT", delayTime: 1, executionTime: 1 }));
    const finished: unknown[] = [];
    const call = createFunctionClient({ jobs, loadBalancer: noLb }).call(
      baseCall({
        observer: {
          submitted: () => {
            throw new Error("observer bug");
          },
          finished: (e) => finished.push(e.ok ? "ok" : e.error.code),
        },
      }),
    );
    await expect(call).rejects.toMatchObject({ code: "FUNCTION_TIMEOUT" });
    expect(finished).toEqual(["FUNCTION_TIMEOUT"]);
  });
});

describe("function client: abandoning calls", () => {
  it("passes the caller's abort to the job API (which cancels the job) and rejects FUNCTION_CANCELLED", async () => {
    const jobs = fakeJobs(() => undefined);
    const client = createFunctionClient({ jobs, loadBalancer: noLb });
    const controller = new AbortController();
    const pending = client.call(baseCall({ signal: controller.signal }));
    await expect.poll(() => jobs.submitted.length).toBe(1);
    controller.abort(new Error("client went away"));
    await expect(pending).rejects.toMatchObject({ code: "FUNCTION_CANCELLED", details: { jobId: "job-1" } });
    expect(jobs.submitted[0]?.options.signal?.aborted).toBe(true);
    expect(client.inFlight).toBe(0);
  });

  it("close() abandons every call in flight with its reason, waits for them, and refuses new calls", async () => {
    const jobs = fakeJobs(() => undefined);
    const client = createFunctionClient({ jobs, loadBalancer: noLb });
    const pending = [client.call(baseCall()), client.call(baseCall({ to: { endpoint: { ...qb, id: "ep-2" } } }))];
    await expect.poll(() => jobs.submitted.length).toBe(2);
    const reason = new AppError("SERVICE_UNAVAILABLE", "flash dev is stopping");
    await client.close({ reason });
    expect(client.inFlight).toBe(0);
    for (const call of pending) await expect(call).rejects.toBe(reason);
    await expect(client.call(baseCall())).rejects.toBe(reason);
  });
});

describe("function client: local calls", () => {
  it("hands the request to the runner, streams its logs as they come and maps its failures like remote ones", async () => {
    const seen: FunctionRequest[] = [];
    const runner: LocalRunner = {
      name: "local",
      async execute(request, options) {
        seen.push(request);
        options.onLog?.({ stream: "stdout", text: "live line" });
        return { flash: 1, ok: false, error: { kind: "function", name: "Error", message: "the function threw null, which is not an Error", thrown: null }, logs: [{ stream: "stdout", text: "live line" }], durationMs: 1 };
      },
    };
    const logs: string[] = [];
    const error = await createFunctionClient({ jobs: fakeJobs(() => undefined), loadBalancer: noLb })
      .call(baseCall({ to: { local: runner }, args: [1], executionTimeoutMs: 300_000, observer: { logs: (l) => logs.push(...l.map((x) => x.text)) } }))
      .catch((e: unknown) => e);
    expect(seen[0]).toMatchObject({ module: { hash: HASH }, args: [1], timeoutMs: 300_000 });
    expect(seen[0]?.module.code).toBeUndefined();
    expect(logs).toEqual(["live line"]);
    expect(error).toMatchObject({ code: "FUNCTION_ERROR", message: "the function threw null, which is not an Error", details: { endpoint: "local", local: true, thrown: null } });
  });
});
