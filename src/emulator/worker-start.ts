/**
 * Starting one pool worker: an injected cold start or image pull first
 * (faults.ts; the worker stays initializing meanwhile), then its process or
 * container (worker-spawner.ts), and a warning if it never gets ready.
 */
import type { Logger } from "../common/logger.js";
import type { EndpointRecord } from "./endpoint-store.js";
import type { FaultRegistry } from "./faults.js";
import type { PoolWorker } from "./pool-worker.js";
import type { WorkerExit } from "./worker-launcher.js";
import { spawnWorker, type SpawnSettings } from "./worker-spawner.js";

/** A worker still booting after this long gets a warning in the log. */
const SILENT_WORKER_MS = 60_000;

/** What the pool gives the start of one worker. */
export interface WorkerStartHost {
  settings: SpawnSettings & { faults?: Pick<FaultRegistry, "takeWorkerStart"> };
  /** The endpoint's logger. */
  logger: Logger;
  /** Still registered, not stopping, the emulator not closing. */
  wanted(): boolean;
  /** Drops the worker from the pool (it was stopped before it started). */
  forget(): void;
  onLine(stream: "stdout" | "stderr", line: string): void;
  onExit(exit: WorkerExit): void;
  onReady(): void;
}

/** Starts a registered worker, after the injected delays of its endpoint if any. */
export function launchPoolWorker(worker: PoolWorker, record: EndpointRecord, host: WorkerStartHost): void {
  const endpoint = record.endpoint;
  const delays = host.settings.faults?.takeWorkerStart(endpoint) ?? { coldStartMs: 0, imagePullMs: 0 };
  if (delays.imagePullMs > 0) host.logger.info(`pulling image ${endpoint.image ?? "(none)"} (${delays.imagePullMs / 1000} s, an injected fault)`);
  const delayMs = delays.coldStartMs + delays.imagePullMs;
  if (delayMs <= 0) return spawn(worker, record, host);
  // Booting (initializing in /health) until the process starts; a stop meanwhile forgets it.
  worker.startTimer = setTimeout(() => {
    worker.startTimer = undefined;
    if (host.wanted()) spawn(worker, record, host);
  }, delayMs);
}

function spawn(worker: PoolWorker, record: EndpointRecord, host: WorkerStartHost): void {
  const log = host.logger;
  spawnWorker(worker, record, host.settings, {
    stillWanted: () => {
      if (!worker.stopping && host.wanted()) return true;
      host.forget();
      return false;
    },
    onLine: host.onLine,
    onExit: host.onExit,
    onHealth: (state) => {
      if (worker.stopping) return;
      if (state === "ready") host.onReady();
      else worker.phase = state === "unhealthy" && worker.everReady ? "unhealthy" : "initializing";
    },
  }).then(
    () => {
      if (!worker.process) return;
      log.debug(`started worker ${worker.id}${worker.process.pid !== undefined ? ` (pid ${worker.process.pid})` : ""}`);
      const args = record.endpoint.args ?? "";
      warnIfSilent(worker, record, host, args.length > 60 ? `${args.slice(0, 60)}…` : args);
    },
    (error: unknown) => {
      log.error(`could not start a worker: ${(error as Error).message}`);
      host.forget();
    },
  );
}

/**
 * A process that never asks for a job (or never passes a health check) holds
 * its endpoint's jobs forever, as on Runpod; say so once instead of staying silent.
 */
function warnIfSilent(worker: PoolWorker, record: EndpointRecord, host: WorkerStartHost, display: string): void {
  const timer = setTimeout(() => {
    if (!host.wanted() || worker.everReady) return;
    const what = record.endpoint.type === "LOAD_BALANCER" ? "answered 200 on its health check" : "asked for a job";
    host.logger.warn(`worker ${worker.id} has not ${what} after ${SILENT_WORKER_MS / 1000} s; is \`${display}\` a Runpod worker?`);
  }, SILENT_WORKER_MS);
  timer.unref();
}
