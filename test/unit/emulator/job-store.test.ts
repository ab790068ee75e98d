import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { jobInput, takeStreamChunks, toJobState, type JobRecord } from "../../../src/emulator/job-record.js";
import { HttpError } from "../../../src/emulator/http-error.js";
import { JOB_OVERHEAD_BYTES, JobStore, type JobStoreHooks } from "../../../src/emulator/job-store.js";

const EP = "abcdefghijklmn";

function createStore(executionTimeout = 0, memoryBytes?: number) {
  const events: string[] = [];
  const hooks: JobStoreHooks = {
    queued: (ep) => events.push(`queued ${ep}`),
    assigned: (job) => events.push(`assigned ${job.id} ${job.workerId}`),
    released: (job, worker) => events.push(`released ${job.id} ${worker} ${job.status}`),
    stop: (worker, job) => events.push(`stop ${worker} ${job}`),
    terminal: (job) => events.push(`terminal ${job.id} ${job.status}`),
  };
  const store = new JobStore({
    hooks,
    executionTimeout: () => executionTimeout,
    retention: { runMs: 60_000, runsyncMs: 10_000 },
    ...(memoryBytes !== undefined ? { memoryBytes } : {}),
  });
  return { store, events };
}

describe("JobStore", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("hands a submitted job straight to a held job-take", async () => {
    const { store, events } = createStore();
    const take = store.take(EP, "w1", 1, 30_000);
    const job = store.submit(EP, { input: jobInput({ a: 1 }) }, false);
    expect(await take.jobs).toEqual([job]);
    expect(job.status).toBe("IN_PROGRESS");
    expect(job.workerId).toBe("w1");
    expect(events).toEqual([`assigned ${job.id} w1`]);
    expect(store.counters(EP)).toMatchObject({ inProgress: 1, inQueue: 0 });
    store.close();
  });

  it("queues when no worker waits, and asks for scale-up", async () => {
    const { store, events } = createStore();
    const job = store.submit(EP, { input: jobInput(1) }, false);
    expect(job.status).toBe("IN_QUEUE");
    expect(events).toEqual([`queued ${EP}`]);
    const batch = store.take(EP, "w1", 5, 30_000);
    expect(await batch.jobs).toEqual([job]);
    store.close();
  });

  it("ends a held job-take empty after the hold time", async () => {
    const { store } = createStore();
    const take = store.take(EP, "w1", 1, 1000);
    vi.advanceTimersByTime(1000);
    expect(await take.jobs).toEqual([]);
    store.close();
  });

  it("completes, fails on an error body, and records progress", () => {
    const { store, events } = createStore();
    const a = store.submit(EP, { input: jobInput(1) }, false);
    const b = store.submit(EP, { input: jobInput(2) }, false);
    void store.take(EP, "w1", 2, 0);
    expect(store.complete(a, "w1", { status: "IN_PROGRESS", output: { pct: 50 } }, false)).toBe("progress");
    expect(toJobState(a, Date.now())).toMatchObject({ status: "IN_PROGRESS", output: { pct: 50 } });
    expect(store.complete(a, "w1", { output: "ok" }, false)).toBe("done");
    expect(store.complete(b, "w1", { error: "boom" }, false)).toBe("done");
    expect(a.status).toBe("COMPLETED");
    expect(b).toMatchObject({ status: "FAILED", error: "boom" });
    expect(store.complete(a, "w1", { output: "late" }, false)).toBe("ignored");
    expect(events).toContain(`released ${a.id} w1 COMPLETED`);
    expect(events).toContain(`terminal ${b.id} FAILED`);
    expect(store.counters(EP)).toMatchObject({ completed: 1, failed: 1, inProgress: 0 });
    store.close();
  });

  it("ignores results from a worker the job is not assigned to", () => {
    const { store } = createStore();
    const job = store.submit(EP, { input: jobInput(1) }, false);
    void store.take(EP, "w1", 1, 0);
    expect(store.complete(job, "w2", { output: 1 }, false)).toBe("ignored");
    expect(job.status).toBe("IN_PROGRESS");
    store.close();
  });

  it("cancels queued jobs without delivering them, and tells the worker about running ones", async () => {
    const { store, events } = createStore();
    const queued = store.submit(EP, { input: jobInput(1) }, false);
    store.cancel(queued);
    expect(queued.status).toBe("CANCELLED");
    const running = store.submit(EP, { input: jobInput(2) }, false);
    expect(await store.take(EP, "w1", 5, 0).jobs).toEqual([running]);
    store.cancel(running);
    expect(running.status).toBe("CANCELLED");
    expect(events).toContain(`stop w1 ${running.id}`);
    expect(store.counters(EP)).toMatchObject({ inQueue: 0, inProgress: 0 });
    store.close();
  });

  it("times a running job out as TIMED_OUT and tells the worker to stop it", () => {
    const { store, events } = createStore(5000);
    const job = store.submit(EP, { input: jobInput(1) }, false);
    void store.take(EP, "w1", 1, 0);
    vi.advanceTimersByTime(4999);
    expect(job.status).toBe("IN_PROGRESS");
    vi.advanceTimersByTime(1);
    expect(job).toMatchObject({ status: "TIMED_OUT", error: "job exceeded its execution timeout of 5000 ms" });
    expect(events).toContain(`stop w1 ${job.id}`);
    store.close();
  });

  it("never fires an execution timer above Node's 2^31-1 ms limit at once (an endpoint persisted with a huge timeout)", () => {
    const { store } = createStore(3_000_000_000);
    const job = store.submit(EP, { input: jobInput(1) }, false);
    void store.take(EP, "w1", 1, 0);
    vi.advanceTimersByTime(60_000);
    expect(job.status).toBe("IN_PROGRESS");
    store.close();
  });

  it("shows workerId on every ended job, \"\" when no worker took it", () => {
    const { store } = createStore();
    const queued = store.submit(EP, { input: jobInput(1) }, false);
    expect(toJobState(queued, Date.now())).not.toHaveProperty("workerId");
    store.cancel(queued);
    expect(toJobState(queued, Date.now())).toMatchObject({ status: "CANCELLED", workerId: "" });
    const ran = store.submit(EP, { input: jobInput(2) }, false);
    void store.take(EP, "w1", 1, 0);
    store.complete(ran, "w1", { error: "x" }, false);
    expect(toJobState(ran, Date.now())).toMatchObject({ status: "FAILED", workerId: "w1" });
    store.retry(ran);
    expect(toJobState(ran, Date.now())).not.toHaveProperty("workerId");
    store.close();
  });

  it("lets policy.executionTimeout override the endpoint timeout", () => {
    const { store } = createStore(0);
    const job = store.submit(EP, { input: jobInput(1), policy: { executionTimeout: 100 } }, false);
    void store.take(EP, "w1", 1, 0);
    vi.advanceTimersByTime(100);
    expect(job.status).toBe("TIMED_OUT");
    store.close();
  });

  it("retries FAILED and TIMED_OUT jobs with the same id, and only those", async () => {
    const { store } = createStore();
    const job = store.submit(EP, { input: jobInput(1) }, false);
    void store.take(EP, "w1", 1, 0);
    expect(store.retry(job)).toBe(false);
    store.complete(job, "w1", { error: "x" }, false);
    expect(store.retry(job)).toBe(true);
    expect(job).toMatchObject({ status: "IN_QUEUE", retries: 1, error: undefined, workerId: undefined });
    expect(await store.take(EP, "w2", 1, 0).jobs).toEqual([job]);
    expect(store.counters(EP).retried).toBe(1);
    store.close();
  });

  it("never hands out a job twice when it failed in the queue and was retried", async () => {
    const { store } = createStore();
    const job = store.submit(EP, { input: jobInput(1) }, false);
    expect(store.purge(EP, "FAILED", "workers keep crashing")).toBe(1);
    store.retry(job);
    const taken = await store.take(EP, "w1", 10, 0).jobs;
    expect(taken).toEqual([job]);
    store.close();
  });

  it("purges only queued jobs", async () => {
    const { store } = createStore();
    const running = store.submit(EP, { input: jobInput(1) }, false);
    await store.take(EP, "w1", 1, 0).jobs;
    store.submit(EP, { input: jobInput(2) }, false);
    store.submit(EP, { input: jobInput(3) }, false);
    expect(store.purge(EP)).toBe(2);
    expect(running.status).toBe("IN_PROGRESS");
    expect(store.counters(EP).inQueue).toBe(0);
    store.close();
  });

  it("deletes a job when its TTL passes, in any state", () => {
    const { store, events } = createStore();
    const job = store.submit(EP, { input: jobInput(1), policy: { ttl: 10_000 } }, false);
    void store.take(EP, "w1", 1, 0);
    vi.advanceTimersByTime(10_000);
    expect(store.get(EP, job.id)).toBeUndefined();
    expect(job.deleted).toBe(true);
    expect(events).toContain(`stop w1 ${job.id}`);
    expect(store.counters(EP).inProgress).toBe(0);
    store.close();
  });

  it("forgets ended jobs after their retention (runsync sooner than run)", () => {
    const { store } = createStore();
    const run = store.submit(EP, { input: jobInput(1) }, false);
    const sync = store.submit(EP, { input: jobInput(2) }, true);
    void store.take(EP, "w1", 2, 0);
    store.complete(run, "w1", { output: 1 }, false);
    store.complete(sync, "w1", { output: 2 }, false);
    vi.advanceTimersByTime(15_000);
    expect(store.get(EP, sync.id)).toBeUndefined();
    expect(store.get(EP, run.id)).toBe(run);
    vi.advanceTimersByTime(60_000);
    expect(store.get(EP, run.id)).toBeUndefined();
    store.close();
  });

  it("wakes waiters on change and resolves them at the timeout otherwise", async () => {
    const { store } = createStore();
    const job = store.submit(EP, { input: jobInput(1) }, false);
    const terminal = (j: JobRecord) => j.status === "COMPLETED";
    const early = store.waitFor(job, 60_000, terminal);
    const late = store.waitFor(job, 1000, terminal);
    vi.advanceTimersByTime(1000);
    await late.done;
    expect(job.status).toBe("IN_QUEUE");
    void store.take(EP, "w1", 1, 0);
    store.complete(job, "w1", { output: 1 }, false);
    await early.done;
    expect(job.status).toBe("COMPLETED");
    store.close();
  });

  it("fails the jobs of a worker that went away", () => {
    const { store } = createStore();
    const job = store.submit(EP, { input: jobInput(1) }, false);
    void store.take(EP, "w1", 1, 0);
    expect(store.failWorkerJobs("w1", "worker w1 exited with code 1 while running the job")).toBe(1);
    expect(job).toMatchObject({ status: "FAILED", error: "worker w1 exited with code 1 while running the job" });
    store.close();
  });

  it("fails open jobs and forgets all jobs when the endpoint is deleted", () => {
    const { store } = createStore();
    const job = store.submit(EP, { input: jobInput(1) }, false);
    store.dropEndpoint(EP, "endpoint deleted");
    expect(job).toMatchObject({ status: "FAILED", error: "endpoint deleted", deleted: true });
    expect(store.get(EP, job.id)).toBeUndefined();
    store.close();
  });
});

describe("stream chunks", () => {
  it("delivers each chunk once, and a non-streamed result as one final chunk", () => {
    const { store } = createStore();
    const job = store.submit(EP, { input: jobInput(1) }, false);
    void store.take(EP, "w1", 1, 0);
    store.appendChunk(job, "w1", "a");
    store.appendChunk(job, "w1", "b");
    expect(takeStreamChunks(job, false)).toEqual([{ output: "a" }, { output: "b" }]);
    expect(takeStreamChunks(job, false)).toEqual([]);
    store.complete(job, "w1", { output: ["a", "b"] }, true);
    expect(takeStreamChunks(job, true)).toEqual([]);

    const plain = store.submit(EP, { input: jobInput(2) }, false);
    void store.take(EP, "w1", 1, 0);
    store.complete(plain, "w1", { output: 42 }, false);
    expect(takeStreamChunks(plain, true)).toEqual([{ output: 42 }]);
    expect(takeStreamChunks(plain, true)).toEqual([]);
    store.close();
  });
});

describe("job memory", () => {
  const KB = 1024;
  /** An input counted as `kb` KB (plus the per-job overhead). */
  const sized = (kb: number) => ({ json: Buffer.from('"x"'), bytes: kb * KB - JOB_OVERHEAD_BYTES });
  const refusal = (run: () => unknown): HttpError | undefined => {
    try {
      run();
    } catch (e) {
      return e as HttpError;
    }
    return undefined;
  };

  it("drops a completed or cancelled job's input at once, and keeps a failed one's for /retry", () => {
    const { store } = createStore(0, 100 * KB);
    const done = store.submit(EP, { input: sized(10) }, true);
    const failed = store.submit(EP, { input: sized(10) }, true);
    const cancelled = store.submit(EP, { input: sized(10) }, false);
    void store.take(EP, "w1", 2, 0);
    expect(store.memory.usedBytes).toBe(30 * KB);
    store.complete(done, "w1", { output: 1 }, false, 100);
    store.complete(failed, "w1", { error: "boom" }, false, 100);
    store.cancel(cancelled);
    expect(done.inputJson).toBeUndefined();
    expect(cancelled.inputJson).toBeUndefined();
    expect(failed.inputJson?.toString()).toBe('"x"');
    expect(store.memory.usedBytes).toBe(3 * JOB_OVERHEAD_BYTES + 200 + (10 * KB - JOB_OVERHEAD_BYTES));
    expect(store.retry(failed)).toBe(true);
    store.close();
  });

  it("refuses a job with 429 and Retry-After while queued inputs fill the memory, and takes it once they have run", () => {
    const { store } = createStore(0, 100 * KB);
    const queued = [store.submit(EP, { input: sized(40) }, false), store.submit(EP, { input: sized(40) }, false)];
    const error = refusal(() => store.submit(EP, { input: sized(40) }, false));
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 2 });
    expect(error?.message).toMatch(/80 KB of job data .* limit of 100 KB.*FLASH_EMULATOR_JOB_MEMORY_MB/);
    expect(store.counters(EP).inQueue).toBe(2);
    void store.take(EP, "w1", 1, 0);
    store.complete(queued[0]!, "w1", { output: 1 }, false, 10);
    expect(store.submit(EP, { input: sized(40) }, false).status).toBe("IN_QUEUE");
    store.close();
  });

  it("bounds retention by bytes: ended jobs are dropped, oldest first, to make room", () => {
    const { store } = createStore(0, 100 * KB);
    const jobs = [1, 2, 3].map(() => store.submit(EP, { input: sized(1) }, false));
    void store.take(EP, "w1", 3, 0);
    jobs.forEach((job) => store.complete(job, "w1", { output: "big" }, false, 30 * KB));
    expect(store.memory.usedBytes).toBe(3 * (JOB_OVERHEAD_BYTES + 30 * KB));
    store.submit(EP, { input: sized(20) }, false);
    // 93 KB held + 20 KB: the oldest result goes, the others stay readable.
    expect(store.get(EP, jobs[0]!.id)).toBeUndefined();
    expect(jobs[0]).toMatchObject({ deleted: true, output: undefined });
    expect(store.get(EP, jobs[1]!.id)).toBe(jobs[1]);
    expect(store.memory.usedBytes).toBe(2 * (JOB_OVERHEAD_BYTES + 30 * KB) + 20 * KB);
    store.close();
  });

  it("fails a job whose result does not fit; refuses a progress update or a chunk that does not", () => {
    const { store } = createStore(0, 100 * KB);
    const job = store.submit(EP, { input: sized(50) }, false);
    store.submit(EP, { input: sized(40) }, false);
    void store.take(EP, "w1", 1, 0);
    expect(store.complete(job, "w1", { status: "IN_PROGRESS", output: "p" }, false, 20 * KB)).toBe("full");
    expect(store.appendChunk(job, "w1", "c", 20 * KB)).toBe("full");
    expect(job.chunks).toEqual([]);
    expect(store.complete(job, "w1", { output: "r" }, false, 20 * KB)).toBe("done");
    expect(job.status).toBe("FAILED");
    expect(job.error).toMatch(/the job's result \(20 KB\) does not fit in the emulator's job memory/);
    store.close();
  });

  it("gives back the bytes of delivered stream chunks, and of deleted jobs", () => {
    const { store } = createStore(0, 100 * KB);
    const job = store.submit(EP, { input: sized(1) }, false);
    void store.take(EP, "w1", 1, 0);
    expect(store.appendChunk(job, "w1", "a", 5 * KB)).toBe(true);
    expect(store.appendChunk(job, "w1", "b", 5 * KB)).toBe(true);
    expect(store.memory.usedBytes).toBe(11 * KB);
    expect(store.takeStreamChunks(job, false)).toEqual([{ output: "a" }, { output: "b" }]);
    expect(store.memory.usedBytes).toBe(1 * KB);
    store.dropEndpoint(EP, "gone");
    expect(store.memory.usedBytes).toBe(0);
    store.close();
  });
});
