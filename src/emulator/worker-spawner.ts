/**
 * Turns a registered pool worker into a running process or container:
 * resolves the start command, builds the worker's environment, picks a port
 * for load-balanced workers and starts their health checks.
 *
 * Process workers (the default) run the endpoint's `args` on this machine;
 * container workers run the endpoint's image the way Runpod does
 * (container-workers.ts, docs/internals.md "The emulator").
 */
import type { EndpointRecord } from "./endpoint-store.js";
import type { ContainerWorkers } from "./container-workers.js";
import type { InspectorPorts } from "./inspector-ports.js";
import { startHealthChecks, type LbHealthState } from "./lb-health.js";
import type { PoolWorker } from "./pool-worker.js";
import { containerCommand, resolveStartCommand } from "./start-command.js";
import { buildWorkerEnv } from "./worker-env.js";
import { launchWorkerProcess, type WorkerExit } from "./worker-launcher.js";
import { Backoff } from "../common/backoff.js";
import { findFreePort } from "../common/ports.js";

/** Emulator-wide settings for spawning workers. */
export interface SpawnSettings {
  baseUrl: () => string;
  workerKey: string;
  cwd: string;
  hostEnv: NodeJS.ProcessEnv;
  workerEnv?: Record<string, string>;
  healthCheck?: { bootIntervalMs?: number; readyIntervalMs?: number };
  launch?: typeof launchWorkerProcess;
  findPort?: () => Promise<number>;
  runtime: { execPath: string; cliEntry: string };
  /** Container workers: the shared network, proxy and launcher; absent for process workers. */
  containers?: ContainerWorkers;
  /** Container workers: the emulator's URL on the workers' network. */
  containerBaseUrl?: () => string;
  /** `flash dev --inspect`: process workers running Node get an inspector on one of these ports. */
  inspector?: InspectorPorts;
}

/** How the spawned process reports back to the pool. */
export interface SpawnCallbacks {
  /** False when the worker was stopped (or the emulator closed) while a port was being found. */
  stillWanted(): boolean;
  onLine(stream: "stdout" | "stderr", line: string): void;
  onExit(exit: WorkerExit): void;
  onHealth(state: LbHealthState): void;
}

/** The port a load-balanced container serves on: the endpoint's PORT, else Runpod's default 80. */
function containerPort(env: Record<string, string>, name: "PORT" | "PORT_HEALTH", fallback: number): number {
  const value = Number(env[name]);
  return Number.isInteger(value) && value > 0 && value < 65536 ? value : fallback;
}

/** How the pool names what a worker runs, for its log line. */
export function describeWorkerCommand(record: EndpointRecord, settings: SpawnSettings): string {
  const args = record.endpoint.args ?? "";
  if (settings.containers) return `containers of ${record.endpoint.image} running ${args.trim() === "" ? "its default command" : `\`${args.length > 60 ? args.slice(0, 60) + "…" : args}\``}`;
  const command = resolveStartCommand(args, settings.runtime);
  const image = record.endpoint.image ? ` (as local processes; the image ${record.endpoint.image} is not used)` : "";
  return `\`${command.display.length > 60 ? command.display.slice(0, 60) + "…" : command.display}\`${command.local ? " with this flash-ts" : ""} in ${settings.cwd}${image}`;
}

/** Starts the process or container of `worker` (already registered with the pool). Rejects only if it could not be started at all. */
export async function spawnWorker(worker: PoolWorker, record: EndpointRecord, settings: SpawnSettings, callbacks: SpawnCallbacks): Promise<void> {
  const endpoint = record.endpoint;
  const isLb = endpoint.type === "LOAD_BALANCER";
  const endpointEnv = endpoint.env ?? {};
  const containers = settings.containers;
  const port = !isLb ? undefined : containers ? containerPort(endpointEnv, "PORT", 80) : await (settings.findPort ?? loopbackPort)();
  if (!callbacks.stillWanted()) return;
  worker.port = port;
  const env = buildWorkerEnv({
    baseUrl: containers && settings.containerBaseUrl ? settings.containerBaseUrl() : settings.baseUrl(),
    endpointId: endpoint.id,
    endpointType: endpoint.type,
    workerId: worker.id,
    workerKey: settings.workerKey,
    endpointEnv,
    ...(port !== undefined ? { port } : {}),
    hostEnv: settings.hostEnv,
    ...(settings.workerEnv ? { extra: settings.workerEnv } : {}),
    ...(containers ? { mode: "container" as const, ...(containers.proxyUrl ? { proxyUrl: containers.proxyUrl } : {}) } : { parentPid: process.pid }),
  });
  const healthPath = endpointEnv.HEALTH_CHECK_PATH || "/ping";

  if (containers) {
    if (!endpoint.image) {
      callbacks.onExit({ code: null, signal: null, error: "no image", unstartable: { message: `endpoint ${endpoint.name} names no image, and container workers run the endpoint's image`, hint: "Give the endpoint an image (a resource config's `image`)." } });
      return;
    }
    if (port !== undefined) env.PORT_HEALTH = String(containerPort(endpointEnv, "PORT_HEALTH", port));
    const proc = containers.launch({
      workerId: worker.id,
      endpointId: endpoint.id,
      endpointName: endpoint.name,
      image: endpoint.image,
      command: containerCommand(endpoint.args ?? ""),
      env,
      onLine: callbacks.onLine,
    });
    worker.process = proc;
    void proc.exited.then(callbacks.onExit);
    if (port !== undefined) {
      const healthPort = Number(env.PORT_HEALTH);
      // Health checks start once the container has an address on the workers' network.
      void (async () => {
        const pause = new Backoff({ initialMs: 50, maxMs: 500 });
        while (!worker.stopping && worker.process === proc) {
          const wait = pause.next();
          const address = await proc.address().catch(() => undefined);
          if (address) {
            worker.host = address;
            worker.health = startHealthChecks({ host: address, port: healthPort, path: healthPath, ...settings.healthCheck, onChange: callbacks.onHealth });
            return;
          }
          if (await Promise.race([proc.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), wait))])) return;
        }
      })();
    }
    return;
  }

  let command = resolveStartCommand(endpoint.args ?? "", settings.runtime);
  let inspectPort: number | undefined;
  if (settings.inspector) {
    // Only a Node process this emulator starts itself can be given an inspector (a shell may start several).
    inspectPort = command.file === settings.runtime.execPath ? await settings.inspector.take() : undefined;
    if (!callbacks.stillWanted()) {
      if (inspectPort !== undefined) settings.inspector.release(inspectPort);
      return;
    }
    if (inspectPort !== undefined) {
      command = { ...command, args: [`--inspect=${settings.inspector.settings.host}:${inspectPort}`, ...command.args] };
    } else {
      const { basePort } = settings.inspector.settings;
      callbacks.onLine(
        "stderr",
        command.file === settings.runtime.execPath
          ? `no inspector port free in ${basePort}–${settings.inspector.lastPort}: this worker runs without one`
          : "this worker's start command runs through /bin/sh: it runs without an inspector",
      );
    }
  }
  const proc = (settings.launch ?? launchWorkerProcess)({ command, env, cwd: settings.cwd, onLine: callbacks.onLine });
  worker.process = proc;
  void proc.exited.then((exit) => {
    if (inspectPort !== undefined) settings.inspector?.release(inspectPort);
    callbacks.onExit(exit);
  });
  if (port !== undefined) {
    worker.health = startHealthChecks({ port, path: healthPath, ...settings.healthCheck, onChange: callbacks.onHealth });
  }
}

/** A free port on the loopback interface, for a load-balanced worker's PORT. */
async function loopbackPort(): Promise<number> {
  return (await findFreePort("127.0.0.1")).port;
}
