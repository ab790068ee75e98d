/** A worker as the pool tracks it: a process the emulator started, or an outside worker that called in. */
import type { WorkerProcess } from "./worker-launcher.js";

/** Lifecycle phase: booting, routable, or failing its health checks. */
export type WorkerPhase = "initializing" | "ready" | "unhealthy";

/** A worker tracked by the pool. */
export interface PoolWorker {
  readonly id: string;
  readonly endpointId: string;
  /** The endpoint version it was started from (launched workers). */
  readonly version: number;
  /** `external`: a worker we did not start that polls with its own id (tests, a developer's worker). */
  readonly kind: "launched" | "external";
  phase: WorkerPhase;
  /** Being stopped: gets no more jobs or requests. */
  stopping: boolean;
  /** Became ready at least once. */
  everReady: boolean;
  process: WorkerProcess | undefined;
  /** Load-balanced workers: the port it serves on. */
  port: number | undefined;
  /** Load-balanced workers: the address it serves on (a container's IP; default 127.0.0.1). */
  host: string | undefined;
  /** Load-balanced workers: requests being proxied to it. */
  inFlight: number;
  startedAt: number;
  lastSeen: number;
  /** When it last became idle (undefined while busy). */
  idleSince: number | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** An injected cold start or image pull: the process starts when it fires. */
  startTimer: NodeJS.Timeout | undefined;
  health: { stop(): void } | undefined;
  /** Stop once idle (the worker asked for it with `stopPod`). */
  drain: boolean;
}

/** Shape of `/__emulator/state` workers. */
export interface WorkerSnapshot {
  id: string;
  endpointId: string;
  kind: "launched" | "external";
  state: WorkerPhase | "stopping";
  pid?: number;
  port?: number;
  /** Container workers: the address the emulator reaches it at. */
  host?: string;
  version: number;
  busy: boolean;
  jobs: string[];
  inFlight: number;
  /** ms since it became idle; absent while busy. */
  idleMs?: number;
  uptimeMs: number;
}

/** A new worker record, booting, idle. */
export function createPoolWorker(init: { id: string; endpointId: string; kind: "launched" | "external"; version: number; now: number }): PoolWorker {
  return {
    id: init.id,
    endpointId: init.endpointId,
    version: init.version,
    kind: init.kind,
    phase: "initializing",
    stopping: false,
    everReady: false,
    process: undefined,
    port: undefined,
    host: undefined,
    inFlight: 0,
    startedAt: init.now,
    lastSeen: init.now,
    idleSince: undefined,
    idleTimer: undefined,
    startTimer: undefined,
    health: undefined,
    drain: false,
  };
}

/** The `workers` counters of `/health` over an endpoint's workers. */
export function countWorkers(workers: Iterable<PoolWorker>, isBusy: (w: PoolWorker) => boolean): {
  idle: number;
  initializing: number;
  ready: number;
  running: number;
  throttled: number;
  unhealthy: number;
} {
  const out = { idle: 0, initializing: 0, ready: 0, running: 0, throttled: 0, unhealthy: 0 };
  for (const worker of workers) {
    if (worker.stopping) continue;
    if (worker.phase === "initializing") out.initializing++;
    else if (worker.phase === "unhealthy") out.unhealthy++;
    else {
      // `ready` counts every routable worker; `idle` and `running` split it by work.
      out.ready++;
      if (isBusy(worker)) out.running++;
      else out.idle++;
    }
  }
  return out;
}

/** The state-dump view of a worker. */
export function snapshotWorker(w: PoolWorker, jobs: string[], busy: boolean, now: number): WorkerSnapshot {
  const snap: WorkerSnapshot = {
    id: w.id,
    endpointId: w.endpointId,
    kind: w.kind,
    state: w.stopping ? "stopping" : w.phase,
    version: w.version,
    busy,
    jobs,
    inFlight: w.inFlight,
    uptimeMs: now - w.startedAt,
  };
  if (w.process?.pid !== undefined) snap.pid = w.process.pid;
  if (w.port !== undefined) snap.port = w.port;
  if (w.host !== undefined) snap.host = w.host;
  if (w.idleSince !== undefined) snap.idleMs = now - w.idleSince;
  return snap;
}
