/** The worker pool's scaling and lifecycle rules, with a fake process launcher. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CreateEndpointRequest } from "../../../src/runpod/wire-types.js";
import { EndpointStore } from "../../../src/emulator/endpoint-store.js";
import { JobStore } from "../../../src/emulator/job-store.js";
import { jobInput } from "../../../src/emulator/job-record.js";
import { StopChannel } from "../../../src/emulator/stop-channel.js";
import type { LaunchOptions, WorkerExit, WorkerProcess } from "../../../src/emulator/worker-launcher.js";
import { WorkerPool } from "../../../src/emulator/worker-pool.js";
import { createFaultRegistry } from "../../../src/emulator/faults.js";
import { createMemoryLogger } from "../../../src/common/logger.js";

class FakeProcess implements WorkerProcess {
  static nextPid = 1000;
  readonly pid = FakeProcess.nextPid++;
  readonly exited: Promise<WorkerExit>;
  terminated = false;
  private settle!: (exit: WorkerExit) => void;
  constructor(readonly options: LaunchOptions) {
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }
  terminate(): Promise<WorkerExit> {
    this.terminated = true;
    this.settle({ code: null, signal: "SIGTERM" });
    return this.exited;
  }
  kill(): void {
    this.settle({ code: null, signal: "SIGKILL" });
  }
  crash(code: number): void {
    this.settle({ code, signal: null });
  }
  get workerId(): string {
    return this.options.env.RUNPOD_POD_ID!;
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function setup(options: { maxProcesses?: number } = {}) {
  const logger = createMemoryLogger();
  const faults = createFaultRegistry();
  const endpoints = new EndpointStore({ logger });
  const stops = new StopChannel();
  const procs: FakeProcess[] = [];
  // The job hooks run only after `pool` below exists.
  const jobs = new JobStore({
    hooks: {
      queued: (ep) => pool.evaluate(ep),
      assigned: (job) => pool.onAssigned(job.workerId!),
      released: (job, w) => pool.onReleased(w, job.status === "COMPLETED"),
      stop: (w, j) => stops.request(w, j),
      terminal: () => {},
    },
    executionTimeout: () => 0,
  });
  const pool: WorkerPool = new WorkerPool({
    baseUrl: () => "http://127.0.0.1:1",
    workerKey: "key",
    endpoints,
    jobs,
    stops,
    logger,
    cwd: "/tmp",
    hostEnv: {},
    stopGraceMs: 10,
    runtime: { execPath: "/node", cliEntry: "/cli.js" },
    launch: (options) => {
      const proc = new FakeProcess(options);
      procs.push(proc);
      return proc;
    },
    findPort: async () => 40000 + procs.length,
    faults,
    ...(options.maxProcesses ? { maxProcesses: options.maxProcesses } : {}),
  });
  const create = (over: Partial<CreateEndpointRequest> = {}) =>
    endpoints.create({
      name: "ep",
      type: "QUEUE",
      scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
      image: "img",
      args: "flash worker",
      cpu: [{ id: "cpu3c", vcpuCount: 2 }],
      workers: { min: 0, max: 2, idleTimeout: 5 },
      ...over,
    }).endpoint.id;
  const alive = () => procs.filter((p) => !p.terminated);
  return { logger, endpoints, jobs, stops, pool, procs, create, alive, faults };
}

describe("WorkerPool", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps workers.min running and starts the local runtime for `flash worker`", async () => {
    const t = setup();
    t.create({ workers: { min: 1, max: 3, idleTimeout: 5 } });
    t.pool.evaluateAll();
    await flush();
    expect(t.procs).toHaveLength(1);
    expect(t.procs[0]!.options.command).toMatchObject({ file: "/node", args: ["/cli.js", "worker"], local: true });
    expect(t.logger.lines.some((l) => l.includes("the image img is not used"))).toBe(true);
  });

  it("scales up for queued jobs up to workers.max and not beyond", async () => {
    const t = setup();
    const ep = t.create({ workers: { min: 0, max: 2, idleTimeout: 5 } });
    for (let i = 0; i < 4; i++) t.jobs.submit(ep, { input: jobInput(i) }, false);
    await flush();
    expect(t.procs).toHaveLength(2);
    expect(t.pool.counts(ep)).toMatchObject({ initializing: 2 });
  });

  it("starts nothing with workers.max 0", async () => {
    const t = setup();
    const ep = t.create({ workers: { min: 0, max: 0, idleTimeout: 5 } });
    t.jobs.submit(ep, { input: jobInput(1) }, false);
    await flush();
    expect(t.procs).toHaveLength(0);
    expect(t.jobs.counters(ep).inQueue).toBe(1);
  });

  it("stops a worker idle for idleTimeout, but not below workers.min", async () => {
    const t = setup();
    const ep = t.create({ workers: { min: 1, max: 3, idleTimeout: 5 } });
    t.pool.evaluateAll();
    const jobs = [t.jobs.submit(ep, { input: jobInput(1) }, false), t.jobs.submit(ep, { input: jobInput(2) }, false)];
    await flush();
    expect(t.procs).toHaveLength(2);
    for (const [i, p] of t.procs.entries()) {
      t.pool.touch(ep, p.workerId);
      await t.jobs.take(ep, p.workerId, 1, 0).jobs;
      expect(t.pool.counts(ep)).toMatchObject({ running: 1 });
      t.jobs.complete(jobs[i]!, p.workerId, { output: i }, false);
    }
    await flush();
    expect(t.pool.counts(ep)).toMatchObject({ ready: 2, idle: 2, running: 0 });
    vi.advanceTimersByTime(4999);
    expect(t.alive()).toHaveLength(2);
    vi.advanceTimersByTime(1);
    await flush();
    expect(t.alive()).toHaveLength(1);
    vi.advanceTimersByTime(60_000);
    await flush();
    expect(t.alive()).toHaveLength(1);
  });

  it("does not stop a worker that was busy for part of its idle timeout", async () => {
    const t = setup();
    const ep = t.create({ workers: { min: 0, max: 1, idleTimeout: 5 } });
    const job = t.jobs.submit(ep, { input: jobInput(1) }, false);
    await flush();
    const id = t.procs[0]!.workerId;
    t.pool.touch(ep, id);
    vi.advanceTimersByTime(3000);
    await t.jobs.take(ep, id, 1, 0).jobs;
    vi.advanceTimersByTime(3000);
    t.jobs.complete(job, id, { output: 1 }, false);
    await flush();
    vi.advanceTimersByTime(4000);
    await flush();
    expect(t.alive()).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    await flush();
    expect(t.alive()).toHaveLength(0);
  });

  it("fails the job of a worker that exits while running it, and replaces the worker", async () => {
    const t = setup();
    const ep = t.create({ workers: { min: 1, max: 1, idleTimeout: 5 } });
    t.pool.evaluateAll();
    await flush();
    const first = t.procs[0]!;
    t.pool.touch(ep, first.workerId);
    const job = t.jobs.submit(ep, { input: jobInput(1) }, false);
    await t.jobs.take(ep, first.workerId, 1, 0).jobs;
    first.crash(137);
    await flush();
    expect(job).toMatchObject({ status: "FAILED", error: `worker ${first.workerId} exited with code 137 while running the job` });
    expect(t.procs).toHaveLength(2);
  });

  it("backs off crash loops and fails queued jobs once workers keep dying before they are ready", async () => {
    const t = setup();
    const ep = t.create({ workers: { min: 0, max: 1, idleTimeout: 5 } });
    const job = t.jobs.submit(ep, { input: jobInput(1) }, false);
    await flush();
    t.procs[0]!.crash(1);
    await flush();
    expect(t.procs).toHaveLength(2);
    t.procs[1]!.crash(1);
    await flush();
    expect(t.procs).toHaveLength(2);
    vi.advanceTimersByTime(1000);
    await flush();
    expect(t.procs).toHaveLength(3);
    t.procs[2]!.crash(1);
    await flush();
    expect(job.status).toBe("FAILED");
    expect(job.error).toMatch(/keep exiting before they are ready \(last: code 1\)/);
  });

  it("replaces idle workers when the endpoint's start command changes", async () => {
    const t = setup();
    const ep = t.create({ workers: { min: 1, max: 1, idleTimeout: 5 } });
    t.pool.evaluateAll();
    await flush();
    t.pool.touch(ep, t.procs[0]!.workerId);
    t.endpoints.update(ep, { args: "flash worker --handler h.js" });
    t.pool.evaluate(ep);
    await flush();
    await flush();
    expect(t.procs[0]!.terminated).toBe(true);
    expect(t.procs).toHaveLength(2);
    expect(t.procs[1]!.options.command.args).toEqual(["/cli.js", "worker", "--handler", "h.js"]);
  });

  it("counts outside workers that poll with their own id", () => {
    const t = setup();
    const ep = t.create();
    t.pool.touch(ep, "external-1");
    expect(t.pool.counts(ep)).toMatchObject({ ready: 1, idle: 1 });
  });

  it("stops every worker on close", async () => {
    const t = setup();
    t.create({ workers: { min: 2, max: 2, idleTimeout: 5 } });
    t.pool.evaluateAll();
    await flush();
    await t.pool.close();
    expect(t.procs.every((p) => p.terminated)).toBe(true);
  });
});

describe("WorkerPool under worker faults", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a cold start keeps each new worker initializing for its length before its process starts", async () => {
    const t = setup();
    const ep = t.create({ name: "cold" });
    t.faults.add({ endpoint: "cold", coldStartMs: 3000 });
    t.jobs.submit(ep, { input: jobInput(1) }, false);
    await flush();
    expect(t.procs).toHaveLength(0);
    expect(t.pool.counts(ep)).toMatchObject({ initializing: 1, ready: 0, throttled: 0 });
    vi.advanceTimersByTime(2999);
    await flush();
    expect(t.procs).toHaveLength(0);
    vi.advanceTimersByTime(1);
    await flush();
    expect(t.procs).toHaveLength(1);
    expect(t.pool.counts(ep)).toMatchObject({ initializing: 1 });
  });

  it("a throttled endpoint starts no workers and counts the wanted ones as throttled until the fault goes", async () => {
    const t = setup();
    const ep = t.create({ name: "busy", workers: { min: 0, max: 2, idleTimeout: 5 } });
    const rule = t.faults.add({ endpoint: ep, throttled: true });
    t.jobs.submit(ep, { input: jobInput(1) }, false);
    t.jobs.submit(ep, { input: jobInput(2) }, false);
    await flush();
    expect(t.procs).toHaveLength(0);
    expect(t.pool.counts(ep)).toMatchObject({ throttled: 2, initializing: 0 });
    expect(t.jobs.counters(ep).inQueue).toBe(2);
    t.faults.remove(rule.id);
    await flush();
    expect(t.procs).toHaveLength(2);
    expect(t.pool.counts(ep)).toMatchObject({ throttled: 0, initializing: 2 });
  });

  it("a slow image pull delays the next `times` worker starts and says so", async () => {
    const t = setup();
    const ep = t.create({ name: "pull", workers: { min: 0, max: 2, idleTimeout: 5 } });
    t.faults.add({ endpoint: "pull", imagePullMs: 5000, times: 1 });
    t.jobs.submit(ep, { input: jobInput(1) }, false);
    await flush();
    expect(t.procs).toHaveLength(0);
    expect(t.logger.lines.some((l) => /\[pull\] pulling image img \(5 s, an injected fault\)/.test(l))).toBe(true);
    t.jobs.submit(ep, { input: jobInput(2) }, false);
    await flush();
    expect(t.procs).toHaveLength(1);
    vi.advanceTimersByTime(5000);
    await flush();
    expect(t.procs).toHaveLength(2);
  });

  it("a worker stopped during its cold start never starts", async () => {
    const t = setup();
    const ep = t.create({ name: "gone", workers: { min: 0, max: 1, idleTimeout: 5 } });
    t.faults.add({ endpoint: "gone", coldStartMs: 3000 });
    t.jobs.submit(ep, { input: jobInput(1) }, false);
    await flush();
    await t.pool.deleteEndpoint(ep);
    vi.advanceTimersByTime(5000);
    await flush();
    expect(t.procs).toHaveLength(0);
  });

  it("counts workers held back by the process cap as throttled", async () => {
    const t = setup({ maxProcesses: 1 });
    const ep = t.create({ workers: { min: 0, max: 3, idleTimeout: 5 } });
    for (let i = 0; i < 3; i++) t.jobs.submit(ep, { input: jobInput(i) }, false);
    await flush();
    expect(t.procs).toHaveLength(1);
    expect(t.pool.counts(ep)).toMatchObject({ initializing: 1, throttled: 2 });
  });
});
