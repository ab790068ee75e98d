/**
 * Queue mode end to end: a real `flash worker` process against a fake
 * platform speaking the worker protocol (job-take, job-done, stream, ping,
 * job-stop).
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakePlatform } from "../helpers/fake-platform.js";
import { bundle, bundleFixture, makeRequest, resultOf, tempDir, unique } from "../helpers/worker-bundles.js";
import { parseFunctionResponse } from "../../src/common/function-protocol.js";
import { HANDLERS, killWorkerProcesses, startWorkerProcess } from "../helpers/worker-process.js";

let platform: FakePlatform;
let cache: { path: string; remove: () => Promise<void> };

beforeEach(async () => {
  platform = await new FakePlatform({ holdMs: 300 }).start();
  cache = await tempDir();
});
afterEach(async () => {
  await killWorkerProcesses();
  await platform.close();
  await cache.remove();
});

const jobsHandler = join(HANDLERS, "jobs.mjs");
const env = (extra: Record<string, string> = {}) => platform.env({ FLASH_WORKER_CACHE: cache.path, ...extra });

describe("flash worker in queue mode with a handler", () => {
  it("takes a job, passes the whole job object, posts the output, and pings while it runs", async () => {
    const worker = startWorkerProcess(["--handler", jobsHandler], env());
    platform.enqueue({ id: "job-1", input: { action: "echo", value: 42 }, extra: "kept" });
    const result = await platform.waitForResult("job-1");
    expect(result.body).toEqual({ output: { echo: 42, id: "job-1", extra: "kept" } });
    expect(result.isStream).toBe("false");
    expect(result.workerId).toBe("worker-1");
    await platform.waitFor(() => platform.pings.length >= 2, "two pings");
    expect(platform.pings.every((p) => p.get("runpod_version"))).toBe(true);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("runs jobs concurrently up to --concurrency, taking them in batches", async () => {
    const worker = startWorkerProcess(["--handler", jobsHandler, "--concurrency", "4"], env());
    const ids = Array.from({ length: 8 }, (_, i) => `c${i}`);
    for (const id of ids) platform.enqueue({ id, input: { action: "barrier", size: 4 } });
    const results = await Promise.all(ids.map((id) => platform.waitForResult(id)));
    const peaks = results.map((r) => (r.body.output as { peak: number }).peak);
    expect(Math.max(...peaks)).toBe(4);
    expect(peaks[0]).toBe(4);
    const batchTakes = platform.requests.filter((r) => r.path.includes("/job-take-batch/"));
    expect(batchTakes.length).toBeGreaterThan(0);
    expect(Math.max(...batchTakes.map((r) => Number(r.query.get("batch_size"))))).toBe(4);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("uses the handler module's concurrency export unless the flag or env says otherwise", async () => {
    const worker = startWorkerProcess(["--handler", join(HANDLERS, "concurrent.mjs")], env());
    const ids = ["k0", "k1", "k2"];
    for (const id of ids) platform.enqueue({ id, input: { size: 3 } });
    const results = await Promise.all(ids.map((id) => platform.waitForResult(id)));
    expect(Math.max(...results.map((r) => (r.body.output as { peak: number }).peak))).toBe(3);
    await worker.waitForStderr(/concurrency 3/);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
    const viaEnv = startWorkerProcess(["--handler", join(HANDLERS, "concurrent.mjs")], env({ FLASH_WORKER_CONCURRENCY: "2" }));
    await viaEnv.waitForStderr(/concurrency 2/);
    viaEnv.signal("SIGTERM");
    expect(await viaEnv.exited).toBe(0);
  });

  it("posts stream chunks and the list of them as the final output with isStream=true", async () => {
    const worker = startWorkerProcess(["--handler", join(HANDLERS, "stream.mjs")], env());
    platform.enqueue({ id: "s1", input: { items: ["a", "b", "c"] } });
    const result = await platform.waitForResult("s1");
    expect(result.body).toEqual({ output: [{ item: "a" }, { item: "b" }, { item: "c" }] });
    expect(result.isStream).toBe("true");
    expect(platform.chunks.filter((c) => c.jobId === "s1").map((c) => c.body)).toEqual([{ output: { item: "a" } }, { output: { item: "b" } }, { output: { item: "c" } }]);
    expect(platform.chunks.every((c) => c.isStream === "false")).toBe(true);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("posts progress updates as IN_PROGRESS to job-done before the result", async () => {
    const worker = startWorkerProcess(["--handler", jobsHandler], env());
    platform.enqueue({ id: "p1", input: { action: "progress" } });
    const result = await platform.waitForResult("p1");
    expect(result.body).toEqual({ output: "progressed" });
    expect(platform.progress.filter((p) => p.jobId === "p1").map((p) => p.body)).toEqual([
      { status: "IN_PROGRESS", output: { step: 1 } },
      { status: "IN_PROGRESS", output: { step: 2 } },
    ]);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("shapes failures: a throw becomes a JSON error string, {error} fails gracefully, non-JSON output is an error", async () => {
    const worker = startWorkerProcess(["--handler", jobsHandler], env());
    platform.enqueue({ id: "f1", input: { action: "fail" } });
    platform.enqueue({ id: "f2", input: { action: "graceful-error" } });
    platform.enqueue({ id: "f3", input: { action: "bigint" } });
    const thrown = await platform.waitForResult("f1");
    expect(JSON.parse(thrown.body.error as string)).toMatchObject({ error_type: "TypeError", error_message: "handler failed on purpose", worker_id: "worker-1" });
    expect((await platform.waitForResult("f2")).body).toEqual({ output: { partial: 1 }, error: "bad input" });
    expect((await platform.waitForResult("f3")).body.error).toMatch(/cannot be sent as JSON/);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("cancel reaches the running worker: job-stop aborts the handler's signal, nothing is posted, the slot is freed", async () => {
    const worker = startWorkerProcess(["--handler", jobsHandler], env());
    platform.enqueue({ id: "h1", input: { action: "hang" } });
    await platform.waitFor(() => platform.taken.includes("h1"), "h1 taken");
    platform.stop("h1");
    await worker.waitForStderr(/handler saw abort of h1/);
    // Concurrency 1, and h1 never returns: the next job can only run if the slot was freed.
    platform.enqueue({ id: "after", input: { action: "echo", value: "next" } });
    expect((await platform.waitForResult("after")).body).toEqual({ output: { echo: "next", id: "after", extra: null } });
    expect(platform.results.some((r) => r.jobId === "h1")).toBe(false);
    expect(platform.progress.some((r) => r.jobId === "h1")).toBe(false);
    // The heartbeat no longer lists it.
    const pingsBefore = platform.pings.length;
    await platform.waitFor(() => platform.pings.length > pingsBefore, "a ping after the stop");
    expect(platform.pings.at(-1)?.get("job_id") ?? "").not.toContain("h1");
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("a stop that overtakes its job's take: the job is not run when it arrives, nothing is posted, the slot stays free", async () => {
    const worker = startWorkerProcess(["--handler", jobsHandler], env());
    await platform.waitFor(() => platform.requests.some((r) => r.path.includes("/job-stop/")), "the worker's first job-stop poll");
    // The platform cancelled "early" while its take answer was still on the way: the stop comes first.
    platform.stop("early");
    const polls = (): number => platform.requests.filter((r) => r.path.includes("/job-stop/")).length;
    const answeredAt = await platform.waitFor(() => platform.stopsSent.includes("early") && polls(), "the stop to be sent");
    // The worker polls again only after it handled that answer.
    await platform.waitFor(() => polls() > answeredAt, "the next job-stop poll");
    platform.enqueue({ id: "early", input: { action: "hang" } });
    await worker.waitForStderr(/job early was stopped by the platform before it started/);
    // Concurrency 1 and "early" would never return: the next job runs only if it was not started.
    platform.enqueue({ id: "next", input: { action: "echo", value: "runs" } });
    expect((await platform.waitForResult("next")).body).toEqual({ output: { echo: "runs", id: "next", extra: null } });
    expect(platform.results.some((r) => r.jobId === "early")).toBe(false);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("on SIGTERM stops taking jobs, finishes the job in flight, posts it, and exits 0", async () => {
    const worker = startWorkerProcess(["--handler", jobsHandler], env());
    platform.enqueue({ id: "t1", input: { action: "slow", ms: 400 } });
    await worker.waitForStderr(/slow job t1 started/);
    // While it runs, the heartbeat reports it.
    await platform.waitFor(() => platform.pings.some((p) => p.get("job_id") === "t1"), "a ping listing t1");
    worker.signal("SIGTERM");
    await worker.waitForStderr(/finishing 1 job/);
    platform.enqueue({ id: "t2", input: { action: "echo", value: "too late" } });
    expect(await worker.exited).toBe(0);
    expect(platform.results.find((r) => r.jobId === "t1")?.body).toEqual({ output: { slept: 400 } });
    expect(platform.taken).not.toContain("t2");
  });

  it("a second SIGTERM stops at once: the hanging job is abandoned and nothing is posted for it", async () => {
    const worker = startWorkerProcess(["--handler", jobsHandler], env());
    platform.enqueue({ id: "g1", input: { action: "hang" } });
    await platform.waitFor(() => platform.taken.includes("g1"), "g1 taken");
    worker.signal("SIGTERM");
    await worker.waitForStderr(/finishing 1 job/);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
    expect(worker.stderr).toMatch(/handler saw abort of g1/);
    expect(platform.results.some((r) => r.jobId === "g1")).toBe(false);
  });

  it("stops when its output pipe breaks (whoever started it is gone) instead of logging into the void", async () => {
    const worker = startWorkerProcess(["--handler", jobsHandler], env());
    await worker.waitForStderr(/queue mode/);
    worker.child.stderr?.destroy();
    // The job writes to stderr: the write fails with EPIPE.
    platform.enqueue({ id: "e1", input: { action: "slow", ms: 5000 } });
    expect(await worker.exited).toBe(0);
    expect(platform.results.some((r) => r.jobId === "e1")).toBe(false);
  });

  it("loads a TypeScript handler through Node's type stripping", async () => {
    const worker = startWorkerProcess(["--handler", join(HANDLERS, "typed.ts")], env());
    platform.enqueue({ id: "ts1", input: { name: "ts" } });
    expect((await platform.waitForResult("ts1")).body).toEqual({ output: { greeting: "hello ts" } });
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("exits 1 with a clear message when the handler cannot be loaded", async () => {
    const worker = startWorkerProcess(["--handler", join(HANDLERS, "missing.mjs")], env());
    expect(await worker.exited).toBe(1);
    expect(worker.stderr).toMatch(/could not load the handler/);
  });
});

describe("flash worker in queue mode with flash functions", () => {
  it("runs FunctionRequest jobs: module-missing first without code, then the function with remapped stacks", async () => {
    const worker = startWorkerProcess([], env());
    const header = `import { remote, CpuLiveServerless } from "flash-ts";\nconst cpu = new CpuLiveServerless({ name: "cpu" });\n`;
    const mod = bundle(`${header}// ${unique()}\nexport const hello = remote(cpu, async (input) => { console.log("hi", input.name); return { greeting: "hello " + input.name, at: new Date(0) }; });`, "hello.ts", ["hello"]);

    platform.enqueue({ id: "m1", input: makeRequest(mod, "hello.ts", "hello", [{ name: "x" }], { withCode: false }) });
    const missing = parseFunctionResponse((await platform.waitForResult("m1")).body.output);
    expect(!missing.ok && missing.error.kind).toBe("module-missing");

    platform.enqueue({ id: "m2", input: makeRequest(mod, "hello.ts", "hello", [{ name: "x" }]) });
    const response = parseFunctionResponse((await platform.waitForResult("m2")).body.output);
    expect(resultOf(response)).toEqual({ greeting: "hello x", at: new Date(0) });
    expect(response.logs).toEqual([{ stream: "stdout", text: "hi x" }]);

    const boom = await bundleFixture("workers/boom.ts");
    platform.enqueue({ id: "m3", input: makeRequest(boom, "workers/boom.ts", "boom", [{ n: 1 }]) });
    const failed = parseFunctionResponse((await platform.waitForResult("m3")).body.output);
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.error.stack).toMatch(/at explode \(workers\/boom\.ts:7:9\)/);
    expect(!failed.ok && failed.error.stack).not.toContain(cache.path);

    // Not a FunctionRequest at all: the job fails the Runpod way.
    platform.enqueue({ id: "m4", input: { hello: "world" } });
    expect((await platform.waitForResult("m4")).body.error).toMatch(/invalid function request/);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("runs a pipeline: the function calls another remote function through the job API, which lands on a worker", async () => {
    // Concurrency 2: the same worker takes the outer job and then the nested one.
    const worker = startWorkerProcess(["--concurrency", "2"], env());
    const mod = bundle(
      `import { remote, CpuLiveServerless, LiveServerless } from "flash-ts";
// ${unique()}
const cpu = new CpuLiveServerless({ name: "cpu" });
const gpu = new LiveServerless({ name: "gpu" });
export const embed = remote(gpu, async (text) => { console.log("embedding", text); return { vector: [text.length, 1], at: new Date(0) }; });
export const fails = remote(gpu, async () => { throw new RangeError("deep failure"); });
export const pipeline = remote(cpu, async (text) => {
  const { vector, at } = await embed(text);
  let caught;
  try { await fails(); } catch (e) { caught = e.name + ": " + e.message; }
  return { vector, isDate: at instanceof Date, caught };
});`,
      "pipeline.ts",
      ["embed", "fails", "pipeline"],
    );
    const endpoints = { cpu: { id: "ep", name: "live-cpu", kind: "QB" as const }, gpu: { id: "ep", name: "live-gpu", kind: "QB" as const } };
    platform.enqueue({ id: "outer", input: makeRequest(mod, "pipeline.ts", "pipeline", ["hello"], { endpoints }) });
    const response = parseFunctionResponse((await platform.waitForResult("outer")).body.output);
    expect(resultOf(response)).toEqual({ vector: [5, 1], isDate: true, caught: "RangeError: deep failure" });
    // The nested call's console output comes back in the outer call's logs, labelled with the callee's endpoint.
    expect(response.logs).toEqual([{ stream: "stdout", text: "embedding hello", endpoint: "live-gpu" }]);
    // Two nested jobs; the first carried the module code, the second did not need to.
    const nested = platform.results.filter((r) => r.jobId.startsWith("sync-"));
    expect(nested).toHaveLength(2);
    const inputs = platform.requests.filter((r) => r.path.endsWith("/run")).map((r) => (JSON.parse(r.body) as { input: { module: { code?: string }; target: unknown } }).input);
    expect(inputs.map((i) => [i.target, i.module.code !== undefined])).toEqual([
      [{ file: "pipeline.ts", export: "embed" }, true],
      [{ file: "pipeline.ts", export: "fails" }, false],
    ]);
    expect(platform.requests.find((r) => r.path.endsWith("/run"))?.headers.authorization).toBe("Bearer worker-secret-key");
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });
});
