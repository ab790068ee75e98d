/**
 * A job of an Endpoint client on a queue-based endpoint: its status, a wait
 * for its end (long polls of status-sync), its cancel (docs/internals.md,
 * "Endpoint").
 */
import { Backoff } from "../common/backoff.js";
import type { BackoffPolicy } from "../common/backoff.js";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import type { JobState, JobStatus } from "../runpod/wire-types.js";
import { EndpointJobError } from "./endpoint-errors.js";
import type { EndpointJobErrorReason } from "./endpoint-errors.js";
import { checkTimeout, notFound } from "./endpoint-runpod.js";
import type { Clients } from "./endpoint-runpod.js";

/** Options of `job.wait()`. */
export interface WaitOptions {
  /** Give up waiting after this many ms (the job keeps running). Default: wait until it ends. */
  timeout?: number;
  signal?: AbortSignal;
}

/** Pause between polls of a server that answers status-sync at once: 250 ms growing ×1.5 to 5 s, as Python's EndpointJob paces its polls. */
const POLL_PAUSE: BackoffPolicy = { initialMs: 250, factor: 1.5, maxMs: 5_000 };
/** Longest single status-sync hold asked for. */
export const LONG_POLL_MS = 90_000;

/** A job on a queue-based endpoint, as `run()` returns it. */
export class EndpointJob<T = unknown> {
  readonly id: string;
  readonly endpointId: string;
  #state: Partial<JobState> & { status: JobStatus };
  readonly #who: string;
  readonly #clients: () => Promise<Clients>;
  readonly #clock: Clock;

  /** @internal made by Endpoint's run(), runsync() and job(). */
  constructor(init: { endpointId: string; state: Partial<JobState> & { id: string; status: JobStatus }; who: string; clients: () => Promise<Clients>; clock?: Clock }) {
    this.id = init.state.id;
    this.endpointId = init.endpointId;
    this.#state = init.state;
    this.#who = init.who;
    this.#clients = init.clients;
    this.#clock = init.clock ?? systemClock;
  }

  /** The status last seen (`IN_QUEUE` right after run()). */
  get lastStatus(): JobStatus {
    return this.#state.status;
  }
  /** The job's output, once it completed (or a failed job's partial output). */
  get output(): T | undefined {
    return this.#state.output as T | undefined;
  }
  /** The job's error text, when it failed. */
  get error(): string | undefined {
    return this.#state.error;
  }
  /** True once the job is COMPLETED, FAILED, CANCELLED or TIMED_OUT. */
  get done(): boolean {
    return ["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(this.#state.status);
  }
  /** The last job object received (delayTime, executionTime, workerId, …). */
  get state(): Readonly<Partial<JobState>> {
    return { ...this.#state };
  }

  #update(state: Partial<JobState> & { status: JobStatus }): void {
    this.#state = { ...this.#state, ...state };
  }

  #endedError(reason: EndpointJobErrorReason, extra: { timeoutMs?: number; cancelled?: boolean } = {}): EndpointJobError {
    const s = this.#state;
    return new EndpointJobError({ reason, who: this.#who, endpointId: this.endpointId, jobId: this.id, jobStatus: s.status, jobError: s.error, output: s.output, ...extra });
  }

  /** @internal This job if it COMPLETED; its EndpointJobError if it ended otherwise. */
  settle(): this {
    const status = this.#state.status;
    if (status === "FAILED" || status === "TIMED_OUT" || status === "CANCELLED") throw this.#endedError(status);
    return this;
  }

  /** Asks for the job's status (`GET /status`); updates output and error. */
  async status(options: { signal?: AbortSignal } = {}): Promise<JobStatus> {
    const { jobs, runpod } = await this.#clients();
    try {
      this.#update(await jobs.status(this.endpointId, this.id, options));
    } catch (error) {
      throw notFound(error, runpod, this.#who, `job ${this.id} on endpoint ${this.endpointId}`);
    }
    return this.#state.status;
  }

  /**
   * Waits until the job ends (long polls of `status-sync`). Resolves with the
   * job when it COMPLETED; rejects with an {@link EndpointJobError} when it
   * FAILED, TIMED_OUT or was CANCELLED, or when `timeout` ran out first (the
   * job keeps running then).
   */
  async wait(options: WaitOptions = {}): Promise<this> {
    const { timeout, signal } = options;
    checkTimeout(this.#who, "timeout", timeout);
    if (this.done) return this.settle();
    const { jobs, runpod } = await this.#clients();
    const clock = this.#clock;
    const started = clock.now();
    const stop = new AbortController();
    const timer = new AbortController();
    const timedOut = new Error("wait timeout");
    if (timeout !== undefined) clock.sleep(timeout, timer.signal).then(() => stop.abort(timedOut), () => undefined);
    const onAbort = (): void => stop.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const pause = new Backoff(POLL_PAUSE);
      while (!this.done) {
        const left = timeout === undefined ? LONG_POLL_MS : timeout - (clock.now() - started);
        const waitMs = runpod.clampWaitMs(Math.min(left, LONG_POLL_MS));
        const pollStarted = clock.now();
        this.#update(await jobs.statusSync(this.endpointId, this.id, { waitMs, signal: stop.signal }));
        // A server that does not hold status-sync answers at once: pause (growing) instead of spinning.
        if (!this.done && clock.now() - pollStarted < waitMs / 2) {
          await pause.wait(clock, stop.signal);
        }
      }
    } catch (error) {
      if (stop.signal.aborted && stop.signal.reason === timedOut) throw this.#endedError("WAIT_TIMEOUT", { timeoutMs: timeout! });
      throw notFound(error, runpod, this.#who, `job ${this.id} on endpoint ${this.endpointId}`);
    } finally {
      timer.abort();
      signal?.removeEventListener("abort", onAbort);
    }
    return this.settle();
  }

  /** Cancels the job (`POST /cancel`); resolves with the job, whose status is then CANCELLED (or how it had ended). */
  async cancel(options: { signal?: AbortSignal } = {}): Promise<this> {
    const { jobs, runpod } = await this.#clients();
    try {
      const answer = await jobs.cancel(this.endpointId, this.id, options);
      this.#update({ status: answer.status });
    } catch (error) {
      throw notFound(error, runpod, this.#who, `job ${this.id} on endpoint ${this.endpointId}`);
    }
    return this;
  }
}

