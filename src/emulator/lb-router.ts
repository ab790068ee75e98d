/**
 * Picks the worker a load-balanced request goes to: round-robin over the
 * endpoint's ready, up-to-date workers (a soft `X-Runpod-Worker-Id` affinity
 * wins when that worker is ready). With none ready the request waits — and
 * asks the pool to start one — until a worker turns ready or the wait ends.
 */
import { HttpError } from "./http-error.js";
import type { PoolWorker } from "./pool-worker.js";

/** What the router needs from the worker pool. */
export interface LbRouterDeps {
  workersOf(endpointId: string): ReadonlySet<PoolWorker>;
  isFresh(worker: PoolWorker): boolean;
  /** False when the endpoint can have no workers at all (workers.max 0). */
  canStart(endpointId: string): boolean;
  /** Demand changed: the pool should re-plan the endpoint. */
  wanted(endpointId: string): void;
  busyChanged(worker: PoolWorker): void;
}

interface Waiter {
  affinity: string | undefined;
  resolve(worker: PoolWorker): void;
  reject(error: HttpError): void;
}

/** Round-robin routing of load-balanced requests, with waiting for a ready worker. */
export class LbRouter {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly cursor = new Map<string, number>();

  constructor(private readonly deps: LbRouterDeps) {}

  /**
   * A ready worker for the request (its in-flight count taken), waiting up to
   * `timeoutMs`; 503 if none. When `signal` aborts (the client went away) a
   * waiting request stops waiting and rejects, so no worker is claimed for it.
   */
  acquire(endpointId: string, options: { affinity?: string; timeoutMs: number; signal?: AbortSignal }): Promise<PoolWorker> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new HttpError(499, "client closed the request"));
    const ready = this.pick(endpointId, options.affinity);
    if (ready) return Promise.resolve(this.claim(ready));
    if (!this.deps.canStart(endpointId)) return Promise.reject(new HttpError(503, "no workers available"));
    return new Promise<PoolWorker>((resolve, reject) => {
      let set = this.waiters.get(endpointId);
      if (!set) this.waiters.set(endpointId, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        set.delete(waiter);
        if (set.size === 0 && this.waiters.get(endpointId) === set) this.waiters.delete(endpointId);
      };
      const waiter: Waiter = {
        affinity: options.affinity,
        resolve: (worker) => {
          done();
          resolve(this.claim(worker));
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.reject(new HttpError(499, "client closed the request"));
      const timer = setTimeout(() => waiter.reject(new HttpError(503, "no workers available")), options.timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      set.add(waiter);
      this.deps.wanted(endpointId);
    });
  }

  /** The request finished on `worker`. */
  release(worker: PoolWorker): void {
    worker.inFlight = Math.max(0, worker.inFlight - 1);
    this.deps.busyChanged(worker);
  }

  /** Requests waiting for a worker on this endpoint. */
  waiting(endpointId: string): number {
    return this.waiters.get(endpointId)?.size ?? 0;
  }

  /** A worker became ready: hand it (and any other ready ones) to waiting requests. */
  workerReady(worker: PoolWorker): void {
    const set = this.waiters.get(worker.endpointId);
    if (!set) return;
    for (const waiter of [...set]) {
      const pick = this.pick(worker.endpointId, waiter.affinity);
      if (!pick) break;
      waiter.resolve(pick);
    }
  }

  rejectWaiters(endpointId: string, status: number, message: string): void {
    for (const waiter of [...(this.waiters.get(endpointId) ?? [])]) waiter.reject(new HttpError(status, message));
  }

  rejectAll(status: number, message: string): void {
    for (const endpointId of this.waiters.keys()) this.rejectWaiters(endpointId, status, message);
  }

  private claim(worker: PoolWorker): PoolWorker {
    worker.inFlight++;
    this.deps.busyChanged(worker);
    // More requests in flight may call for another worker (REQUEST_COUNT scaling).
    this.deps.wanted(worker.endpointId);
    return worker;
  }

  private pick(endpointId: string, affinity: string | undefined): PoolWorker | undefined {
    const ready = [...this.deps.workersOf(endpointId)].filter((w) => w.phase === "ready" && !w.stopping && w.port !== undefined && this.deps.isFresh(w));
    if (ready.length === 0) return undefined;
    if (affinity) {
      const match = ready.find((w) => w.id === affinity);
      if (match) return match;
    }
    const index = (this.cursor.get(endpointId) ?? 0) % ready.length;
    this.cursor.set(endpointId, index + 1);
    return ready[index];
  }
}
