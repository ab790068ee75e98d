import { describe, expect, it } from "vitest";
import { FUNCTION_PROTOCOL_VERSION } from "../../../src/shared/function-protocol.js";
import type { FunctionRequest } from "../../../src/shared/function-protocol.js";
import { createJobClient } from "../../../src/runpod/job-client.js";
import { createLoadBalancerClient } from "../../../src/runpod/load-balancer-client.js";
import { createNestedTransport } from "../../../src/worker/nested-transport.js";
import type { JobApiLike, LoadBalancerLike } from "../../../src/worker/nested-transport.js";

const request: FunctionRequest = { flash: 1, module: { hash: "a".repeat(64) }, target: { file: "f.ts", export: "f" }, args: [], timeoutMs: 5000 };
const response = { flash: FUNCTION_PROTOCOL_VERSION, ok: true, result: 3, logs: [], durationMs: 1 };
const qb = { id: "ep-q", name: "live-q", kind: "QB" as const };
const lb = { id: "ep-l", name: "live-l", kind: "LB" as const, url: "http://127.0.0.1:9/lb/ep-l" };

describe("nested transport over the job API and LB clients", () => {
  it("fits the real clients of src/runpod (checked by the compiler)", () => {
    const jobs: JobApiLike = createJobClient({ apiKey: undefined, endpointBaseUrl: "http://127.0.0.1:9/v2" });
    const loadBalancer: LoadBalancerLike = createLoadBalancerClient({ apiKey: undefined, endpointBaseUrl: "http://127.0.0.1:9/v2" });
    expect(createNestedTransport({ jobs, loadBalancer })).toBeDefined();
  });

  it("runs a job with the request as input and returns its output", async () => {
    const calls: unknown[] = [];
    const transport = createNestedTransport({
      jobs: { runToCompletion: async (...args) => (calls.push(args), { id: "j1", status: "COMPLETED", output: response }) },
      loadBalancer: { request: async () => ({ status: 500, body: null }) },
    });
    expect(await transport.callQueue(qb, request, { timeoutMs: 1234 })).toEqual(response);
    expect(calls).toEqual([["ep-q", { input: request, policy: { executionTimeout: 5000 } }, { timeoutMs: 1234 }]]);
  });

  it("turns a failed, timed out or cancelled job into an error naming the endpoint", async () => {
    for (const [status, pattern] of [["FAILED", /live-q: boom/], ["TIMED_OUT", /timed out/], ["CANCELLED", /cancelled/]] as const) {
      const transport = createNestedTransport({
        jobs: { runToCompletion: async () => ({ id: "j", status, error: "boom" }) },
        loadBalancer: { request: async () => ({ status: 200, body: response }) },
      });
      await expect(transport.callQueue(qb, request, {})).rejects.toThrow(pattern);
    }
  });

  it("posts to /execute of the LB endpoint's URL", async () => {
    const calls: unknown[] = [];
    const transport = createNestedTransport({
      jobs: { runToCompletion: async () => ({ id: "j", status: "FAILED" }) },
      loadBalancer: { request: async (...args) => (calls.push(args), { status: 200, body: response }) },
    });
    expect(await transport.callLoadBalancer(lb, request, {})).toEqual(response);
    expect(calls).toEqual([["http://127.0.0.1:9/lb/ep-l", { method: "POST", path: "/execute", json: request, timeoutMs: 65_000 }]]);
    const failing = createNestedTransport({
      jobs: { runToCompletion: async () => ({ id: "j", status: "FAILED" }) },
      loadBalancer: { request: async () => ({ status: 503, body: { error: "no workers" } }) },
    });
    await expect(failing.callLoadBalancer(lb, request, {})).rejects.toThrow(/live-l answered 503/);
  });
});
