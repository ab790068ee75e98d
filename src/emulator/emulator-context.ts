/** What every route module of the emulator works with. */
import type { Logger } from "../common/logger.js";
import type { EndpointStore } from "./endpoint-store.js";
import type { FaultRegistry } from "./faults.js";
import type { JobStore } from "./job-store.js";
import type { StopChannel } from "./stop-channel.js";
import type { WorkerPool } from "./worker-pool.js";

/** Hold and wait times (options of startEmulator, with their defaults applied). */
export interface EmulatorTimings {
  /** How long job-take and job-stop long-polls are held before a 204. */
  longPollMs: number;
  /** How long /stream holds when there is nothing new (unless `?wait=` says otherwise). */
  streamHoldMs: number;
  /** How long a load-balanced request waits for a ready worker before 503. */
  lbWorkerWaitMs: number;
  /** Processing timeout of a load-balanced request. */
  lbRequestTimeoutMs: number;
}

/** Shared state and settings handed to every route module. */
export interface EmulatorContext {
  endpoints: EndpointStore;
  jobs: JobStore;
  pool: WorkerPool;
  stops: StopChannel;
  faults: FaultRegistry;
  logger: Logger;
  /** Keys accepted on the job API, REST v2, LB and admin routes; empty = no auth. */
  clientKeys: readonly string[];
  /** Keys accepted on worker routes. */
  workerKeys: readonly string[];
  baseUrl(): string;
  timings: EmulatorTimings;
  /** The `/__emulator/state` document. */
  state(): unknown;
  isClosing(): boolean;
}
