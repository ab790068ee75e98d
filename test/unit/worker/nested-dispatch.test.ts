import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFunctionClient } from "../../../src/calls/function-client.js";
import type { JobApi, LoadBalancerApi } from "../../../src/calls/function-client.js";
import type { RunToCompletionOptions } from "../../../src/runpod/job-client.js";
import type { EndpointRef, FunctionRequest } from "../../../src/common/function-protocol.js";
import { createExecutor } from "../../../src/worker/execute.js";
import type { Executor } from "../../../src/worker/execute.js";
import { bundle, makeRequest, resultOf, tempDir, unique } from "../../helpers/worker-bundles.js";

/**
 * In-process stand-ins for the job API and the LB client: "endpoints" are
 * executors with caches of their own (so a first call without code really
 * misses), all in this process; the function client above them is the real one.
 */
class FakeEndpoints {
  readonly sent: { endpoint: string; kind: "QB" | "LB"; request: FunctionRequest; timeoutMs: number; signal: AbortSignal | undefined }[] = [];
  constructor(private readonly remote: () => Executor) {}
  readonly jobs: JobApi = {
    runToCompletion: async (endpointId, job, options: RunToCompletionOptions) => {
      const request = job.input as FunctionRequest;
      this.sent.push({ endpoint: endpointId, kind: "QB", request, timeoutMs: options.timeoutMs, signal: options.signal });
      options.onSubmitted?.({ id: `job-${this.sent.length}`, status: "IN_QUEUE" });
      const output = await this.remote().execute(request, options.signal ? { signal: options.signal } : {});
      return { id: `job-${this.sent.length}`, status: "COMPLETED", delayTime: 0, executionTime: 1, output };
    },
  };
  readonly loadBalancer: LoadBalancerApi = {
    request: async (target, options) => {
      const request = options.json as FunctionRequest;
      this.sent.push({ endpoint: target, kind: "LB", request, timeoutMs: options.timeoutMs ?? 0, signal: options.signal });
      return { status: 200, headers: {}, body: await this.remote().execute(request, options.signal ? { signal: options.signal } : {}) };
    },
  };
}

const dirs: { remove: () => Promise<void> }[] = [];
let remoteExecutor: Executor;
let transport: FakeEndpoints;
let executor: Executor;

async function newRemote(): Promise<Executor> {
  const dir = await tempDir();
  dirs.push(dir);
  // The remote side never dispatches here; the caller's dispatcher stays the active one.
  return createExecutor({ cacheDir: dir.path, installDispatcher: false });
}

beforeAll(async () => {
  remoteExecutor = await newRemote();
  transport = new FakeEndpoints(() => remoteExecutor);
  const dir = await tempDir();
  dirs.push(dir);
  executor = createExecutor({ cacheDir: dir.path, calls: createFunctionClient({ jobs: transport.jobs, loadBalancer: transport.loadBalancer }) });
});
afterAll(async () => {
  executor.close();
  remoteExecutor.close();
  for (const dir of dirs) await dir.remove();
});

const endpoints: Record<string, EndpointRef> = {
  cpu: { id: "ep-cpu", name: "live-cpu", kind: "QB" },
  gpu: { id: "ep-gpu", name: "live-gpu", kind: "QB", },
  api: { id: "ep-api", name: "live-api", kind: "LB", url: "http://127.0.0.1:1/lb/ep-api" },
};

const pipeline = () =>
  bundle(
    `import { remote, CpuLiveServerless, LiveServerless, CpuLiveLoadBalancer } from "flash-ts";
// ${unique()}
const cpu = new CpuLiveServerless({ name: "cpu" });
const gpu = new LiveServerless({ name: "gpu", executionTimeoutMs: 30000 });
const api = new CpuLiveLoadBalancer({ name: "api" });
const nowhere = new CpuLiveServerless({ name: "nowhere" });
export const square = remote(gpu, async (x) => { console.log("squaring", x); return { value: x * x, at: new Date(0), big: BigInt(x) }; });
export const fails = remote(gpu, async () => { throw new TypeError("remote went wrong"); });
export const lbEcho = remote(api, { method: "POST", path: "/echo" }, async (body) => ({ echoed: body }));
export const lost = remote(nowhere, async () => 1);
export const main = remote(cpu, async (x) => {
  const r = await square(x);
  return { r, isDate: r.at instanceof Date, big: typeof r.big };
});
export const catches = remote(cpu, async () => { try { await fails(); } catch (e) { return { name: e.name, message: e.message, stack: e.stack }; } });
export const viaLb = remote(cpu, async (b) => lbEcho(b));
export const toNowhere = remote(cpu, async () => lost());
export const rethrows = remote(cpu, async () => fails());
export const hangs = remote(gpu, () => new Promise(() => {}));
export const waitsOnHang = remote(cpu, async () => hangs());`,
    "pipeline.ts",
    ["square", "fails", "lbEcho", "lost", "main", "catches", "viaLb", "toNowhere", "rethrows", "hangs", "waitsOnHang"],
  );

describe("nested remote calls", () => {
  it("send the same module to the callee's endpoint and decode the result", async () => {
    const mod = pipeline();
    transport.sent.length = 0;
    const response = await executor.execute(makeRequest(mod, "pipeline.ts", "main", [7], { endpoints }));
    expect(resultOf(response)).toEqual({ r: { value: 49, at: new Date(0), big: 7n }, isDate: true, big: "bigint" });
    expect(transport.sent).toHaveLength(1);
    const [first] = transport.sent;
    expect(first?.endpoint).toBe("ep-gpu");
    expect(first?.kind).toBe("QB");
    expect(first?.request.module).toEqual({ hash: mod.hash, code: mod.code });
    expect(first?.request.target).toEqual({ file: "pipeline.ts", export: "square" });
    expect(first?.request.endpoints).toEqual(endpoints);
    expect(first?.request.timeoutMs).toBe(30000);
    // The callee's console output comes back with the caller's logs, labelled with the callee's endpoint.
    expect(response.logs).toEqual([{ stream: "stdout", text: "squaring 7", endpoint: "live-gpu" }]);

    // Second call: the endpoint has the module, so no code.
    transport.sent.length = 0;
    expect(resultOf(await executor.execute(makeRequest(mod, "pipeline.ts", "main", [3], { endpoints, withCode: false })))).toMatchObject({ r: { value: 9 } });
    expect(transport.sent[0]?.request.module).toEqual({ hash: mod.hash });
  });

  it("resend with code when the endpoint answers module-missing", async () => {
    const mod = pipeline();
    await executor.execute(makeRequest(mod, "pipeline.ts", "main", [2], { endpoints }));
    remoteExecutor.close();
    remoteExecutor = await newRemote(); // a new worker with an empty cache
    transport.sent.length = 0;
    const response = await executor.execute(makeRequest(mod, "pipeline.ts", "main", [4], { endpoints, withCode: false }));
    expect(resultOf(response)).toMatchObject({ r: { value: 16 } });
    expect(transport.sent.map((s) => s.request.module.code === undefined)).toEqual([true, false]);
  });

  it("rethrow the remote error with its name, message and remote stack", async () => {
    const mod = pipeline();
    const caught = resultOf(await executor.execute(makeRequest(mod, "pipeline.ts", "catches", [], { endpoints }))) as { name: string; message: string; stack: string };
    expect(caught.name).toBe("TypeError");
    expect(caught.message).toBe("remote went wrong");
    expect(caught.stack).toContain("TypeError: remote went wrong");
    const uncaught = await executor.execute(makeRequest(mod, "pipeline.ts", "rethrows", [], { endpoints }));
    expect(!uncaught.ok && uncaught.error).toMatchObject({ kind: "function", name: "TypeError", message: "remote went wrong" });
  });

  it("use the load-balancer transport for LB endpoints", async () => {
    const mod = pipeline();
    transport.sent.length = 0;
    expect(resultOf(await executor.execute(makeRequest(mod, "pipeline.ts", "viaLb", [{ a: 1 }], { endpoints })))).toEqual({ echoed: { a: 1 } });
    expect(transport.sent.map((s) => [s.kind, s.endpoint])).toEqual([["LB", "http://127.0.0.1:1/lb/ep-api"]]);
  });

  it("fail with an error naming the config when its endpoint id is missing", async () => {
    const mod = pipeline();
    const response = await executor.execute(makeRequest(mod, "pipeline.ts", "toNowhere", [], { endpoints }));
    expect(response.ok).toBe(false);
    expect(!response.ok && response.error.message).toContain('resource config "nowhere"');
  });

  it("abandon the nested call when the calling job is cancelled", async () => {
    const mod = pipeline();
    transport.sent.length = 0;
    const job = new AbortController();
    const running = executor.execute(makeRequest(mod, "pipeline.ts", "waitsOnHang", [], { endpoints }), { signal: job.signal });
    await expect.poll(() => transport.sent.length).toBe(1);
    expect(transport.sent[0]?.signal?.aborted).toBe(false);
    job.abort(new Error("was stopped by the platform"));
    await running;
    expect(transport.sent[0]?.signal?.aborted).toBe(true);
  });

  it("abandon the nested call when the calling function times out", async () => {
    const mod = pipeline();
    transport.sent.length = 0;
    const response = await executor.execute(makeRequest(mod, "pipeline.ts", "waitsOnHang", [], { endpoints, timeoutMs: 300 }));
    expect(!response.ok && response.error.kind).toBe("timeout");
    expect(transport.sent[0]?.signal?.aborted).toBe(true);
  });

  it("pass the remaining time and an abort signal along", async () => {
    const mod = pipeline();
    transport.sent.length = 0;
    await executor.execute(makeRequest(mod, "pipeline.ts", "main", [1], { endpoints, timeoutMs: 10_000 }));
    const sent = transport.sent[0];
    expect(sent?.timeoutMs).toBeGreaterThan(0);
    expect(sent?.timeoutMs).toBeLessThanOrEqual(10_000);
    expect(sent?.signal).toBeInstanceOf(AbortSignal);
  });
});
