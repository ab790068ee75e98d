/**
 * Turns a registered pool worker into a running process: resolves the start
 * command, builds the worker's environment, picks a port for load-balanced
 * workers and starts their health checks.
 */
import type { EndpointRecord } from "./endpoint-store.js";
import { startHealthChecks, type LbHealthState } from "./lb-health.js";
import type { PoolWorker } from "./pool-worker.js";
import type { StartCommand } from "./start-command.js";
import { buildWorkerEnv } from "./worker-env.js";
import { findFreePort, launchWorkerProcess, type WorkerExit } from "./worker-launcher.js";

/** Emulator-wide settings for spawning workers. */
export interface SpawnSettings {
  baseUrl: () => string;
  workerKey: string;
  cwd: string;
  hostEnv: NodeJS.ProcessEnv;
  workerEnv?: Record<string, string>;
  healthCheck?: { bootIntervalMs?: number; readyIntervalMs?: number };
  launch?: typeof launchWorkerProcess;
  findPort?: typeof findFreePort;
}

/** How the spawned process reports back to the pool. */
export interface SpawnCallbacks {
  /** False when the worker was stopped (or the emulator closed) while a port was being found. */
  stillWanted(): boolean;
  onLine(stream: "stdout" | "stderr", line: string): void;
  onExit(exit: WorkerExit): void;
  onHealth(state: LbHealthState): void;
}

/** Starts the process of `worker` (already registered with the pool). Rejects only if it could not be spawned at all. */
export async function spawnWorker(worker: PoolWorker, record: EndpointRecord, command: StartCommand, settings: SpawnSettings, callbacks: SpawnCallbacks): Promise<void> {
  const endpoint = record.endpoint;
  const isLb = endpoint.type === "LOAD_BALANCER";
  const port = isLb ? await (settings.findPort ?? findFreePort)() : undefined;
  if (!callbacks.stillWanted()) return;
  worker.port = port;
  const env = buildWorkerEnv({
    baseUrl: settings.baseUrl(),
    endpointId: endpoint.id,
    endpointType: endpoint.type,
    workerId: worker.id,
    workerKey: settings.workerKey,
    endpointEnv: endpoint.env ?? {},
    ...(port !== undefined ? { port } : {}),
    hostEnv: settings.hostEnv,
    ...(settings.workerEnv ? { extra: settings.workerEnv } : {}),
    parentPid: process.pid,
  });
  const proc = (settings.launch ?? launchWorkerProcess)({ command, env, cwd: settings.cwd, onLine: callbacks.onLine });
  worker.process = proc;
  void proc.exited.then(callbacks.onExit);
  if (port !== undefined) {
    worker.health = startHealthChecks({ port, path: endpoint.env?.HEALTH_CHECK_PATH || "/ping", ...settings.healthCheck, onChange: callbacks.onHealth });
  }
}
