/**
 * How many of the workers an endpoint wants may start now. Two things hold
 * workers back: the emulator's cap on worker processes, all endpoints
 * together (docs/limits.md, Emulator bounds), and an injected "no capacity"
 * fault (faults.ts). Workers held back are counted as `throttled` in
 * `/health`, as Runpod counts workers it cannot place on a machine; their jobs
 * stay queued until they can start.
 */
import type { Logger } from "../common/logger.js";
import type { FaultRegistry } from "./faults.js";

export class WorkerCapacity {
  /** Endpoints held back by the process cap (warned once; planned again when a process exits). */
  readonly #capped = new Set<string>();
  /** Workers wanted and not started, per endpoint. */
  readonly #held = new Map<string, number>();

  constructor(
    private readonly maxProcesses: number,
    private readonly faults: Pick<FaultRegistry, "isThrottled"> | undefined,
  ) {}

  /**
   * Of `wanted` new workers, how many may start now, given `running` processes
   * of all endpoints; the rest are remembered as held back.
   */
  admit(endpoint: { id: string; name: string }, wanted: number, running: number, log: Logger): number {
    if (wanted <= 0) {
      this.forget(endpoint.id);
      return 0;
    }
    if (this.faults?.isThrottled(endpoint)) {
      this.#held.set(endpoint.id, wanted);
      return 0;
    }
    const start = Math.min(wanted, Math.max(0, this.maxProcesses - running));
    if (start === wanted) {
      this.forget(endpoint.id);
      return start;
    }
    this.#held.set(endpoint.id, wanted - start);
    if (!this.#capped.has(endpoint.id)) {
      this.#capped.add(endpoint.id);
      log.warn(
        `${wanted - start} more worker(s) wanted, but ${this.maxProcesses} worker processes already run (the emulator's cap); ` +
          "they start as others exit. Raise FLASH_EMULATOR_MAX_WORKERS to run more at once.",
      );
    }
    return start;
  }

  /** Workers of the endpoint held back now (`/health`'s throttled). */
  held(endpointId: string): number {
    return this.#held.get(endpointId) ?? 0;
  }

  /** Endpoints waiting for a process slot: plan them again when one comes free. */
  waitingForSlot(): string[] {
    return [...this.#capped];
  }

  /** The endpoint wants nothing more, or is gone. */
  forget(endpointId: string): void {
    this.#capped.delete(endpointId);
    this.#held.delete(endpointId);
  }
}
