/**
 * The workers of every endpoint: starting them from the endpoint's start
 * command, scaling between workers.min and workers.max, stopping them after
 * idleTimeout, replacing crashed ones with back-off, recycling them when the
 * endpoint's container settings change, and knowing which are idle, busy or
 * booting (for health, scaling and load-balanced routing).
 *
 * Scaling is re-evaluated on events only (a job queued or released, a worker
 * ready or gone, an endpoint changed), coalesced per endpoint in a microtask.
 *
 * At most `maxProcesses` worker processes run at once across all endpoints
 * (docs/limits.md, Emulator bounds): past it, wanted workers wait (their jobs
 * stay queued) until another process exits, with one warning per endpoint.
 * Workers held back like this, or by an injected "no capacity" fault, count
 * as `throttled` in `/health`, as workers Runpod cannot place do; injected
 * cold starts and image pulls keep a new worker initializing before its
 * process starts (faults.ts).
 */
import type { Logger } from "../common/logger.js";
import type { EndpointRecord, EndpointStore } from "./endpoint-store.js";
import { createRunpodId } from "./ids.js";
import type { JobStore } from "./job-store.js";
import { countWorkers, createPoolWorker, snapshotWorker, type PoolWorker, type WorkerSnapshot } from "./pool-worker.js";
import { CrashTracker } from "./crash-tracker.js";
import { planScaling } from "./scaling-plan.js";
import type { StopChannel } from "./stop-channel.js";
import { describeExit, type WorkerExit } from "./worker-launcher.js";
import { LbRouter } from "./lb-router.js";
import { WORKER_START_FAILED, formatJobError } from "../runpod/wire-types.js";
import { describeWorkerCommand, type SpawnSettings } from "./worker-spawner.js";
import { launchPoolWorker } from "./worker-start.js";
import type { FaultRegistry } from "./faults.js";
import { WorkerCapacity } from "./worker-capacity.js";

/** One line of worker output, for a custom sink. */
export interface WorkerLogLine {
  endpointId: string;
  endpointName: string;
  workerId: string;
  stream: "stdout" | "stderr";
  line: string;
}

/** What the pool needs; spawn settings (URLs, keys, env, cwd, launcher) are passed on to spawnWorker. */
export interface WorkerPoolOptions extends SpawnSettings {
  endpoints: EndpointStore;
  jobs: JobStore;
  stops: StopChannel;
  logger: Logger;
  stopGraceMs: number;
  onWorkerLog?: (line: WorkerLogLine) => void;
  workerLogPrefix?: (endpoint: { id: string; name: string }) => string;
  /** Worker processes running at once, all endpoints together. Default DEFAULT_MAX_WORKER_PROCESSES. */
  maxProcesses?: number;
  /** Injected worker faults (cold starts, image pulls, no capacity); the pool plans again when they change. */
  faults?: Pick<FaultRegistry, "takeWorkerStart" | "isThrottled" | "onChange">;
  now?: () => number;
}

/** Default of WorkerPoolOptions.maxProcesses. */
export const DEFAULT_MAX_WORKER_PROCESSES = 16;

interface EndpointRuntime {
  workers: Set<PoolWorker>;
  crashes: CrashTracker;
  backoffTimer: NodeJS.Timeout | undefined;
  imageNoted: boolean;
  /** Why the last worker could not start at all; work queued while waiting to retry fails with it. */
  unstartable: { message: string; hint: string } | undefined;
}

/** Outside workers not heard from for this long no longer count in health. */
const EXTERNAL_TTL_MS = 60_000;

/** The workers of all endpoints of one emulator. */
export class WorkerPool {
  private readonly runtimes = new Map<string, EndpointRuntime>();
  private readonly byId = new Map<string, PoolWorker>();
  private readonly pending = new Set<string>();
  /** What may start now (the process cap, "no capacity" faults); the rest is `/health`'s throttled. */
  private readonly capacity: WorkerCapacity;
  private readonly now: () => number;
  private closing = false;
  /** Load-balanced request routing over this pool's ready workers. */
  readonly lb: LbRouter;

  constructor(private readonly options: WorkerPoolOptions) {
    this.now = options.now ?? Date.now;
    this.capacity = new WorkerCapacity(Math.max(1, options.maxProcesses ?? DEFAULT_MAX_WORKER_PROCESSES), options.faults);
    this.lb = new LbRouter({
      workersOf: (endpointId) => this.runtimes.get(endpointId)?.workers ?? new Set(),
      isFresh: (worker) => worker.version === this.options.endpoints.get(worker.endpointId)?.version,
      canStart: (endpointId) => (this.options.endpoints.get(endpointId)?.endpoint.workers.max ?? 0) > 0,
      wanted: (endpointId) => this.evaluate(endpointId),
      busyChanged: (worker) => this.busyChanged(worker),
    });
    options.faults?.onChange(() => this.evaluateAll());
  }

  /** Re-plans an endpoint's workers soon (coalesced). */
  evaluate(endpointId: string): void {
    if (this.closing || this.pending.has(endpointId)) return;
    this.pending.add(endpointId);
    queueMicrotask(() => {
      this.pending.delete(endpointId);
      this.plan(endpointId);
    });
  }

  /** Plans every known endpoint (start-up: workers.min for each). */
  evaluateAll(): void {
    for (const record of this.options.endpoints.list()) this.evaluate(record.endpoint.id);
  }

  /**
   * A worker called a worker route. Launched queue workers become ready on
   * first contact (unless `readiness` is false: an unhealthy report);
   * unknown ids become outside workers of the endpoint.
   */
  touch(endpointId: string, workerId: string, readiness = true): PoolWorker {
    let worker = this.byId.get(workerId);
    if (!worker) {
      worker = createPoolWorker({ id: workerId, endpointId, kind: "external", version: 0, now: this.now() });
      worker.phase = "ready";
      worker.everReady = true;
      worker.idleSince = this.now();
      this.byId.set(workerId, worker);
      this.pruneExternal();
    }
    worker.lastSeen = this.now();
    if (readiness && worker.kind === "launched" && worker.phase === "initializing" && !worker.stopping) this.becameReady(worker);
    return worker;
  }

  /** A worker reported `status=unhealthy` on its ping (a failed fitness check). */
  markUnhealthy(worker: PoolWorker): void {
    worker.phase = "unhealthy";
  }

  /** A job was handed to a worker. */
  onAssigned(workerId: string): void {
    const worker = this.byId.get(workerId);
    if (worker) this.busyChanged(worker);
  }

  /** A job stopped occupying a worker. */
  onReleased(workerId: string, completed: boolean): void {
    const worker = this.byId.get(workerId);
    if (!worker) return;
    if (completed) {
      const rt = this.runtimes.get(worker.endpointId);
      rt?.crashes.recordSuccess();
    }
    this.busyChanged(worker);
  }

  /** The worker asked to be stopped after its job (`stopPod`, runpod-python's refresh_worker). */
  drainAfterJob(worker: PoolWorker): void {
    worker.drain = true;
    if (!this.isBusy(worker)) void this.stop(worker, "it asked to be refreshed");
  }

  /** Health counters of an endpoint's workers. */
  counts(endpointId: string): ReturnType<typeof countWorkers> {
    const now = this.now();
    const workers = [...this.byId.values()].filter(
      (w) => w.endpointId === endpointId && (w.kind === "launched" || now - w.lastSeen <= EXTERNAL_TTL_MS),
    );
    const counts = countWorkers(workers, (w) => this.isBusy(w));
    counts.throttled += this.capacity.held(endpointId);
    return counts;
  }

  snapshot(endpointId?: string): WorkerSnapshot[] {
    const now = this.now();
    return [...this.byId.values()]
      .filter((w) => endpointId === undefined || w.endpointId === endpointId)
      .map((w) => snapshotWorker(w, [...this.options.jobs.jobsOf(w.id)].map((j) => j.id), this.isBusy(w), now));
  }

  /** The endpoint is gone: its workers stop (their jobs were already failed by the job store). */
  async deleteEndpoint(endpointId: string): Promise<void> {
    const rt = this.runtimes.get(endpointId);
    this.lb.rejectWaiters(endpointId, 404, `endpoint ${endpointId} was deleted`);
    this.capacity.forget(endpointId);
    for (const worker of [...this.byId.values()]) if (worker.endpointId === endpointId && worker.kind === "external") this.byId.delete(worker.id);
    if (!rt) return;
    clearTimeout(rt.backoffTimer);
    await Promise.all([...rt.workers].map((w) => this.stop(w, "its endpoint was deleted")));
    this.runtimes.delete(endpointId);
  }

  /** Stops every worker (SIGTERM, SIGKILL after the grace period) and waits until all are gone. */
  async close(): Promise<void> {
    this.closing = true;
    this.lb.rejectAll(503, "the emulator is shutting down");
    for (const rt of this.runtimes.values()) clearTimeout(rt.backoffTimer);
    const all = [...this.runtimes.values()].flatMap((rt) => [...rt.workers]);
    await Promise.all(all.map((w) => this.stop(w, "the emulator is shutting down")));
  }

  /** SIGKILLs every worker group now, synchronously (the host process is exiting). */
  killAll(): void {
    for (const rt of this.runtimes.values()) for (const w of rt.workers) w.process?.kill();
  }

  isBusy(worker: PoolWorker): boolean {
    return worker.inFlight > 0 || this.options.jobs.jobsOf(worker.id).size > 0;
  }

  private runtime(endpointId: string): EndpointRuntime {
    let rt = this.runtimes.get(endpointId);
    if (!rt) {
      rt = { workers: new Set(), crashes: new CrashTracker(), backoffTimer: undefined, imageNoted: false, unstartable: undefined };
      this.runtimes.set(endpointId, rt);
    }
    return rt;
  }

  private plan(endpointId: string): void {
    if (this.closing) return;
    const record = this.options.endpoints.get(endpointId);
    if (!record) return;
    const rt = this.runtime(endpointId);
    const live = [...rt.workers].filter((w) => !w.stopping);
    const isLb = record.endpoint.type === "LOAD_BALANCER";
    const scaling = record.endpoint.scaling;
    const plan = planScaling({
      min: record.endpoint.workers.min,
      max: record.endpoint.workers.max,
      workers: live.map((w) => ({ id: w.id, phase: w.phase, busy: this.isBusy(w), stale: w.version !== record.version })),
      waiting: isLb ? this.lb.waiting(endpointId) : this.options.jobs.counters(endpointId).inQueue,
      ...(isLb ? { lb: { inFlight: live.reduce((n, w) => n + w.inFlight, 0), requestCount: scaling.type === "REQUEST_COUNT" ? scaling.requestCount : 1 } } : {}),
    });
    for (const id of plan.stop) {
      const worker = this.byId.get(id);
      if (worker) void this.stop(worker, worker.version !== record.version ? "the endpoint's settings changed" : "the endpoint is above workers.max");
    }
    for (const worker of live) if (!worker.stopping && !this.isBusy(worker) && worker.phase !== "initializing") this.armIdleTimer(worker);
    if (plan.start <= 0) {
      this.capacity.forget(endpointId);
      return;
    }
    const wait = rt.crashes.waitMs(this.now());
    if (wait > 0 && rt.unstartable && plan.start > 0) {
      // Nothing can start as things are: work arriving now fails at once (the next start still retries).
      this.failQueued(record, rt.unstartable.message, rt.unstartable.hint);
    }
    if (wait > 0) {
      rt.backoffTimer ??= setTimeout(() => {
        rt.backoffTimer = undefined;
        this.evaluate(endpointId);
      }, wait);
      return;
    }
    const start = this.capacity.admit(record.endpoint, plan.start, this.launchedCount(), this.logger(record));
    for (let i = 0; i < start; i++) this.start(record, rt);
  }

  /** Worker processes launched and not yet gone, all endpoints together. */
  private launchedCount(): number {
    let n = 0;
    for (const rt of this.runtimes.values()) n += rt.workers.size;
    return n;
  }

  private start(record: EndpointRecord, rt: EndpointRuntime): void {
    const endpoint = record.endpoint;
    const worker = createPoolWorker({ id: createRunpodId(), endpointId: endpoint.id, kind: "launched", version: record.version, now: this.now() });
    // Registered before the (async) port lookup so a concurrent plan counts it.
    rt.workers.add(worker);
    this.byId.set(worker.id, worker);
    if (!rt.imageNoted) {
      rt.imageNoted = true;
      this.logger(record).info(`workers run as ${describeWorkerCommand(record, this.options)}`);
    }
    launchPoolWorker(worker, record, {
      settings: this.options,
      logger: this.logger(record),
      wanted: () => this.byId.get(worker.id) === worker && !worker.stopping && !this.closing,
      forget: () => this.forget(worker),
      onLine: (stream, line) => this.emitLine(worker, stream, line),
      onExit: (exit) => this.exited(worker, exit),
      onReady: () => this.becameReady(worker),
    });
  }

  private becameReady(worker: PoolWorker): void {
    worker.phase = "ready";
    if (!worker.everReady) {
      worker.everReady = true;
      const rt = this.runtimes.get(worker.endpointId);
      rt?.crashes.recordReady();
      if (rt) rt.unstartable = undefined;
      const record = this.options.endpoints.get(worker.endpointId);
      if (record) this.logger(record).debug(`worker ${worker.id} ready in ${this.now() - worker.startedAt} ms`);
    }
    this.busyChanged(worker);
    this.lb.workerReady(worker);
  }

  /** Idle bookkeeping after a job or request started or ended on `worker`. */
  private busyChanged(worker: PoolWorker): void {
    if (this.isBusy(worker)) {
      worker.idleSince = undefined;
      return;
    }
    if (worker.idleSince === undefined) worker.idleSince = this.now();
    if (worker.drain) {
      void this.stop(worker, "it asked to be refreshed");
      return;
    }
    this.evaluate(worker.endpointId);
  }

  /**
   * One timer per idle worker, armed lazily: when it fires it checks how long
   * the worker has really been idle and re-arms for the rest, so busy/idle
   * flips between jobs cost no timer work.
   */
  private armIdleTimer(worker: PoolWorker): void {
    if (worker.idleTimer || worker.kind !== "launched") return;
    const record = this.options.endpoints.get(worker.endpointId);
    if (!record) return;
    const timeoutMs = (record.endpoint.workers.idleTimeout ?? 10) * 1000;
    const elapsed = worker.idleSince === undefined ? 0 : this.now() - worker.idleSince;
    worker.idleTimer = setTimeout(() => {
      worker.idleTimer = undefined;
      if (worker.stopping || this.isBusy(worker) || worker.idleSince === undefined) return;
      const current = this.options.endpoints.get(worker.endpointId);
      if (!current) return;
      const idleFor = this.now() - worker.idleSince;
      const limit = (current.endpoint.workers.idleTimeout ?? 10) * 1000;
      if (idleFor < limit) return this.armIdleTimer(worker);
      const rt = this.runtime(worker.endpointId);
      const fresh = [...rt.workers].filter((w) => !w.stopping && w.version === current.version).length;
      if (fresh > current.endpoint.workers.min) void this.stop(worker, `it was idle for ${Math.round(idleFor / 1000)} s`);
    }, Math.max(0, timeoutMs - elapsed));
    worker.idleTimer.unref();
  }

  private stop(worker: PoolWorker, reason: string): Promise<unknown> {
    if (!worker.stopping) {
      worker.stopping = true;
      clearTimeout(worker.idleTimer);
      worker.idleTimer = undefined;
      worker.health?.stop();
      this.options.jobs.releaseTakers(worker.id);
      this.options.stops.forget(worker.id);
      const record = this.options.endpoints.get(worker.endpointId);
      if (record && !this.closing) this.logger(record).debug(`stopping worker ${worker.id}: ${reason}`);
    }
    if (!worker.process) {
      this.forget(worker);
      return Promise.resolve();
    }
    return worker.process.terminate(this.options.stopGraceMs);
  }

  private exited(worker: PoolWorker, exit: WorkerExit): void {
    const expected = worker.stopping;
    worker.stopping = true;
    this.forget(worker);
    const how = describeExit(exit);
    const failed = this.options.jobs.failWorkerJobs(worker.id, `worker ${worker.id} exited with ${how} while running the job`);
    const record = this.options.endpoints.get(worker.endpointId);
    if (!record || this.closing) return;
    const log = this.logger(record);
    if (expected) {
      log.debug(`worker ${worker.id} stopped (${how})`);
    } else {
      log.warn(`worker ${worker.id} exited with ${how}${failed > 0 ? ` while running ${failed} job(s)` : ""}`);
      const rt = this.runtime(record.endpoint.id);
      rt.unstartable = !worker.everReady ? exit.unstartable : undefined;
      this.countFailure(record, worker, how);
      if (rt.unstartable) this.failQueued(record, rt.unstartable.message, rt.unstartable.hint);
    }
    this.evaluate(worker.endpointId);
  }

  private countFailure(record: EndpointRecord, worker: PoolWorker, how: string): void {
    const rt = this.runtime(record.endpoint.id);
    const { backoffMs, failQueued } = rt.crashes.recordExit(this.now() - worker.startedAt, worker.everReady, this.now());
    const log = this.logger(record);
    if (backoffMs > 0) log.warn(`workers keep exiting (${rt.crashes.failures} in a row); next start in ${backoffMs / 1000} s`);
    if (!failQueued) return;
    this.failQueued(record, `workers of endpoint "${record.endpoint.name}" keep exiting before they are ready (last: ${how})`, "See the endpoint's worker output above for why they exit.");
  }

  /**
   * Fails what waits for an endpoint whose workers cannot start, with an error
   * clients can tell from a function's (docs/internals.md, "The emulator").
   */
  private failQueued(record: EndpointRecord, message: string, hint: string): void {
    const error = formatJobError({ error_type: WORKER_START_FAILED, error_message: message, hint });
    const failedJobs = this.options.jobs.purge(record.endpoint.id, "FAILED", error);
    this.lb.rejectWaiters(record.endpoint.id, 503, `${message}. ${hint}`);
    if (failedJobs > 0) this.logger(record).error(`failed ${failedJobs} queued job(s): ${message}`);
  }

  private forget(worker: PoolWorker): void {
    clearTimeout(worker.idleTimer);
    clearTimeout(worker.startTimer);
    worker.health?.stop();
    const removed = this.runtimes.get(worker.endpointId)?.workers.delete(worker) ?? false;
    if (this.byId.get(worker.id) === worker) this.byId.delete(worker.id);
    this.options.stops.forget(worker.id);
    // A process slot came free: endpoints held back by the cap may start one now.
    if (removed) for (const endpointId of this.capacity.waitingForSlot()) this.evaluate(endpointId);
  }

  private pruneExternal(): void {
    const now = this.now();
    for (const worker of this.byId.values()) {
      if (worker.kind === "external" && now - worker.lastSeen > EXTERNAL_TTL_MS && !this.isBusy(worker)) this.byId.delete(worker.id);
    }
  }

  private logger(record: EndpointRecord): Logger {
    const prefix = this.options.workerLogPrefix?.({ id: record.endpoint.id, name: record.endpoint.name }) ?? record.endpoint.name;
    return this.options.logger.child(prefix);
  }

  private emitLine(worker: PoolWorker, stream: "stdout" | "stderr", line: string): void {
    const record = this.options.endpoints.get(worker.endpointId);
    const name = record?.endpoint.name ?? worker.endpointId;
    if (this.options.onWorkerLog) {
      this.options.onWorkerLog({ endpointId: worker.endpointId, endpointName: name, workerId: worker.id, stream, line });
      return;
    }
    if (record) this.logger(record).info(line);
    else this.options.logger.child(name).info(line);
  }
}
