/**
 * `startEmulator()`: the local Runpod Serverless emulator on one port — REST
 * v2, the job API, the worker protocol and load-balanced routing — with real
 * worker processes. Point clients at it with
 * `RUNPOD_API_BASE_URL={url}` and `RUNPOD_ENDPOINT_BASE_URL={url}/v2`.
 */
import { createServer, type Server } from "node:http";
import { requestTimeoutOptions, type RequestTimeouts } from "../common/body-limits.js";
import { ByteBudget, megabytesFromEnv } from "../common/byte-budget.js";
import { AppError } from "../common/errors.js";
import { createLogger, type Logger } from "../common/logger.js";
import { CLI_ENTRY } from "../common/package-info.js";
import { registerSecret } from "../common/redact.js";
import { assertKeyForBind } from "./auth.js";
import { createEmulatorApp } from "./create-emulator-app.js";
import type { EmulatorContext } from "./emulator-context.js";
import { EndpointStore } from "./endpoint-store.js";
import { createFaultRegistry, type Faults } from "./faults.js";
import { DEFAULT_BODY_MEMORY_BYTES } from "./http-body.js";
import { createWorkerKey } from "./ids.js";
import { toJobState } from "./job-record.js";
import { DEFAULT_JOB_MEMORY_BYTES, JobStore } from "./job-store.js";
import { createWorkerAgent } from "./lb-proxy.js";
import { isLocalHostname } from "./request-guard.js";
import type { WorkerSnapshot } from "./pool-worker.js";
import { StopChannel } from "./stop-channel.js";
import { WebhookSender } from "./webhook-sender.js";
import { DEFAULT_MAX_WORKER_PROCESSES, WorkerPool, type WorkerLogLine } from "./worker-pool.js";
import type { WorkerContainerRuntime } from "../container/container-runtime.js";
import { ContainerWorkers } from "./container-workers.js";
import { InspectorPorts, isPortFree } from "./inspector-ports.js";
import type { InspectSettings } from "./inspector-ports.js";
import { MAX_TIMEOUT_MS } from "./job-record.js";
import type { EgressPolicy } from "./egress-proxy.js";

/** Options of startEmulator; every field has a default. */
export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Where endpoints are persisted (atomically) so their ids survive restarts. In memory when absent. */
  stateDir?: string;
  /** When set, every client request must carry it (`Authorization: Bearer <k>` or the raw key). */
  apiKey?: string;
  /** The key workers get as RUNPOD_AI_API_KEY (random by default). */
  workerApiKey?: string;
  logger?: Logger;
  /** Prefix of worker output lines (`[<prefix>] …`); default the endpoint name. */
  workerLogPrefix?: (endpoint: { id: string; name: string }) => string;
  /** Receives worker output lines instead of the logger. */
  onWorkerLog?: (line: WorkerLogLine) => void;
  /** Working directory of worker processes; default process.cwd(). */
  cwd?: string;
  /** Where PATH, HOME, npm_config_* … for workers come from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Extra variables for every worker (the endpoint env wins). */
  workerEnv?: Record<string, string>;
  /** SIGTERM → SIGKILL grace when stopping a worker. Default 5000 ms. */
  workerStopGraceMs?: number;
  /** How long job-take / job-stop long-polls are held. Default 30000 ms. */
  longPollMs?: number;
  /** How long /stream holds with nothing new. Default 5000 ms. */
  streamHoldMs?: number;
  /** How long an LB request waits for a ready worker. Default 120000 ms (Runpod: 2 min). */
  lbWorkerWaitMs?: number;
  /** LB request processing timeout. Default 330000 ms (Runpod: 5.5 min). */
  lbRequestTimeoutMs?: number;
  /** Webhook retry delay. Default 10000 ms. */
  webhookRetryDelayMs?: number;
  /** How long ended jobs stay readable. Default /run 30 min, /runsync 1 min. */
  resultRetention?: { runMs?: number; runsyncMs?: number };
  /** LB health-check cadence. */
  healthCheck?: { bootIntervalMs?: number; readyIntervalMs?: number };
  /** Request bodies held at once, in bytes; past it requests get 503 with Retry-After. Default FLASH_EMULATOR_BODY_MEMORY_MB, else 128 MB. */
  bodyMemoryBytes?: number;
  /** Job data held at once (queued inputs, kept results), in bytes; past it /run gets 429. Default FLASH_EMULATOR_JOB_MEMORY_MB, else 256 MB. */
  jobMemoryBytes?: number;
  /** How long a client may take to send its request. Default REQUEST_TIMEOUTS (docs/limits.md). */
  requestTimeouts?: RequestTimeouts;
  /** Worker processes running at once, all endpoints together. Default FLASH_EMULATOR_MAX_WORKERS, else 16. */
  maxWorkerProcesses?: number;
  /**
   * `process` (default): workers are local processes running the endpoint's start command.
   * `container`: each worker is a Docker container of the endpoint's image, as on Runpod.
   */
  workers?: "process" | "container";
  /** Container workers: the engine (default: the Docker engine found as the docker CLI would). */
  containerRuntime?: WorkerContainerRuntime;
  /** Container workers: what they may reach outside (default `public`; see egress-proxy.ts). */
  workerEgress?: EgressPolicy;
  /**
   * Process workers get a Node inspector each, on the lowest free port of the
   * range (`flash dev --inspect`). `basePort` must be free at start.
   */
  inspect?: InspectSettings;
  /**
   * False: no job times out (neither the endpoint's `timeout` nor a job's
   * `policy.executionTimeout`) and load-balanced requests have no processing
   * limit, so a call a debugger holds paused is not ended. Default true.
   */
  executionTimeouts?: boolean;
}

/** The `/__emulator/state` document. */
export interface EmulatorState {
  url: string;
  endpoints: {
    id: string;
    name: string;
    type: string;
    version: number;
    jobs: { completed: number; failed: number; inProgress: number; inQueue: number; retried: number };
    workers: WorkerSnapshot[];
  }[];
  faults: ReturnType<Faults["list"]>;
}

/** A running emulator. */
export interface EmulatorHandle {
  /** `http://<host>:<port>`; the REST base. The job API base is `${url}/v2`. */
  readonly url: string;
  readonly port: number;
  /** The key workers authenticate with (for outside workers in tests). */
  readonly workerApiKey: string;
  /** Fault injection (latency, errors, dropped connections). */
  readonly faults: Faults;
  state(): EmulatorState;
  /** Stops every worker (SIGTERM, then SIGKILL after the grace period) and the server. Idempotent. */
  close(options?: { force?: boolean }): Promise<void>;
}

/** Process-exit safety net: every live pool's workers are SIGKILLed if the host process exits without close(). */
const livePools = new Set<WorkerPool>();
const killAllOnExit = (): void => {
  for (const pool of livePools) pool.killAll();
};

/** Starts the emulator (and `workers.min` workers of persisted endpoints); resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const logger = options.logger ?? createLogger();
  const host = options.host ?? "127.0.0.1";
  assertKeyForBind(host, options.apiKey, isLocalHostname);
  const workerKey = options.workerApiKey ?? createWorkerKey();
  registerSecret(workerKey);
  registerSecret(options.apiKey);

  const env = options.env ?? process.env;
  const bodyBudget = new ByteBudget(options.bodyMemoryBytes ?? megabytesFromEnv(env, "FLASH_EMULATOR_BODY_MEMORY_MB", DEFAULT_BODY_MEMORY_BYTES));
  const jobMemoryBytes = options.jobMemoryBytes ?? megabytesFromEnv(env, "FLASH_EMULATOR_JOB_MEMORY_MB", DEFAULT_JOB_MEMORY_BYTES);

  if (options.inspect) await checkInspect(options);
  const endpoints = new EndpointStore({ ...(options.stateDir ? { stateDir: options.stateDir } : {}), logger });
  await endpoints.load();
  const containers = options.workers === "container" ? await startContainerWorkers(options, logger) : undefined;

  let baseUrl = "";
  let containerBaseUrl = "";
  let closing = false;
  const stops = new StopChannel();
  const webhooks = new WebhookSender({ logger, ...(options.webhookRetryDelayMs !== undefined ? { retryDelayMs: options.webhookRetryDelayMs } : {}) });
  // The pool and the job store refer to each other: the hooks below run only after `pool` exists.
  const jobs = new JobStore({
    hooks: {
      queued: (endpointId) => pool.evaluate(endpointId),
      assigned: (job) => pool.onAssigned(job.workerId!),
      released: (job, workerId) => pool.onReleased(workerId, job.status === "COMPLETED"),
      stop: (workerId, jobId) => stops.request(workerId, jobId),
      terminal: (job) => {
        if (job.webhook) webhooks.send(job.webhook, toJobState(job, Date.now()));
      },
    },
    executionTimeout: (endpointId) => endpoints.get(endpointId)?.endpoint.timeout ?? 0,
    ...(options.executionTimeouts === false ? { executionTimeouts: false } : {}),
    memoryBytes: jobMemoryBytes,
    ...(options.resultRetention ? { retention: options.resultRetention } : {}),
  });
  const faults = createFaultRegistry();
  const pool = new WorkerPool({
    faults,
    baseUrl: () => baseUrl,
    workerKey,
    endpoints,
    jobs,
    stops,
    logger,
    cwd: options.cwd ?? process.cwd(),
    hostEnv: options.env ?? process.env,
    ...(options.workerEnv ? { workerEnv: options.workerEnv } : {}),
    stopGraceMs: options.workerStopGraceMs ?? 5000,
    runtime: { execPath: process.execPath, cliEntry: CLI_ENTRY },
    ...(containers ? { containers, containerBaseUrl: () => containerBaseUrl } : {}),
    ...(options.inspect ? { inspector: new InspectorPorts(options.inspect) } : {}),
    ...(options.onWorkerLog ? { onWorkerLog: options.onWorkerLog } : {}),
    ...(options.workerLogPrefix ? { workerLogPrefix: options.workerLogPrefix } : {}),
    ...(options.healthCheck ? { healthCheck: options.healthCheck } : {}),
    maxProcesses: options.maxWorkerProcesses ?? countFromEnv(env, "FLASH_EMULATOR_MAX_WORKERS", DEFAULT_MAX_WORKER_PROCESSES),
  });

  const state = (): EmulatorState => ({
    url: baseUrl,
    endpoints: endpoints.list().map((r) => ({
      id: r.endpoint.id,
      name: r.endpoint.name,
      type: r.endpoint.type,
      version: r.version,
      jobs: jobs.counters(r.endpoint.id),
      workers: pool.snapshot(r.endpoint.id),
    })),
    faults: faults.list(),
  });

  const context: EmulatorContext = {
    endpoints,
    jobs,
    pool,
    stops,
    faults,
    logger,
    clientKeys: options.apiKey ? [options.apiKey, workerKey] : [],
    workerKeys: options.apiKey ? [workerKey, options.apiKey] : [workerKey],
    baseUrl: () => baseUrl,
    timings: {
      longPollMs: options.longPollMs ?? 30_000,
      streamHoldMs: options.streamHoldMs ?? 5000,
      lbWorkerWaitMs: options.lbWorkerWaitMs ?? 120_000,
      lbRequestTimeoutMs: options.executionTimeouts === false ? MAX_TIMEOUT_MS : (options.lbRequestTimeoutMs ?? 330_000),
    },
    state,
    isClosing: () => closing,
  };
  const agent = createWorkerAgent();
  // On a loopback bind only local Host names are served (DNS rebinding); elsewhere clients use other names.
  const app = createEmulatorApp(context, agent, { checkHost: isLocalHostname(host), bodyBudget });
  // Bounded time to send a request; the answer (a long-poll, runsync) may take minutes.
  const server = createServer(requestTimeoutOptions(options.requestTimeouts), app.callback());
  server.keepAliveTimeout = 65_000;

  // Container workers reach the emulator at their network's gateway address, where a second
  // listener serves the same app; the Host check is off there (workers use that address as host).
  const workerServer = containers
    ? createServer(requestTimeoutOptions(options.requestTimeouts), createEmulatorApp(context, agent, { checkHost: false, bodyBudget }).callback())
    : undefined;
  if (workerServer) workerServer.keepAliveTimeout = 65_000;
  let port: number;
  try {
    port = await listen(server, options.port ?? 0, host);
    if (workerServer && containers) containerBaseUrl = `http://${urlHost(containers.gateway)}:${await listen(workerServer, 0, containers.gateway)}`;
  } catch (error) {
    jobs.close();
    stops.close();
    agent.destroy();
    server.close();
    await containers?.close();
    throw error;
  }
  baseUrl = `http://${urlHost(host)}:${port}`;
  if (livePools.size === 0) process.on("exit", killAllOnExit);
  livePools.add(pool);
  pool.evaluateAll();
  logger.debug(`Emulator listening on ${baseUrl}`);

  let closed: Promise<void> | undefined;
  const close = (closeOptions: { force?: boolean } = {}): Promise<void> => {
    if (closeOptions.force) pool.killAll();
    closed ??= (async () => {
      closing = true;
      // Held runsync/status-sync/stream requests answer with the job as it is; held takes end empty.
      jobs.close();
      stops.close();
      await pool.close();
      webhooks.close();
      agent.destroy();
      await containers?.close();
      await Promise.all(
        [server, ...(workerServer ? [workerServer] : [])].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      await endpoints.flush();
      livePools.delete(pool);
      if (livePools.size === 0) process.off("exit", killAllOnExit);
    })();
    return closed;
  };

  return { url: baseUrl, port, workerApiKey: workerKey, faults, state, close };
}

/** `inspect` needs process workers and its first port free: refused at start, naming the port, rather than a worker without a debugger later. */
async function checkInspect(options: EmulatorOptions): Promise<void> {
  const inspect = options.inspect!;
  if (options.workers === "container") {
    throw new AppError("INVALID_INPUT", "--inspect debugs workers that run as processes on this machine, not container workers", {
      hint: "Unset FLASH_EMULATOR_WORKERS=container to debug.",
    });
  }
  if (!(await isPortFree(inspect.host, inspect.basePort))) {
    throw new AppError("PORT_IN_USE", `--inspect: port ${inspect.basePort} on ${inspect.host} is in use (another program, or a process being debugged?)`, {
      hint: `Pass --inspect=<port> with a free port; workers take it and the next ${inspect.count - 1}, one each.`,
    });
  }
}

/** The engine for container workers: the one given, else the Docker engine the docker CLI would use. */
async function startContainerWorkers(options: EmulatorOptions, logger: Logger): Promise<ContainerWorkers> {
  let runtime = options.containerRuntime;
  if (!runtime) {
    // Container workers need the whole engine API (networks, exec, events): the dockerode runtime.
    const [{ detectDocker }, { createDockerContainerRuntime }] = await Promise.all([
      import("../container/detect.js"),
      import("../container/docker-container-runtime.js"),
    ]);
    const detection = await detectDocker(options.env ?? process.env);
    if (detection.status !== "available") {
      throw new AppError("DOCKER_UNAVAILABLE", `container workers need a Docker engine: ${detection.reason}`, {
        hint: "Start Docker (or point DOCKER_HOST at an engine), or run the workers as local processes (--workers process).",
      });
    }
    runtime = createDockerContainerRuntime(detection.endpoint);
  }
  return ContainerWorkers.start({ runtime, logger: logger.child("containers"), egress: options.workerEgress ?? { kind: "public" } });
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code === "EADDRINUSE") {
        reject(new AppError("PORT_IN_USE", `Port ${port} on ${host} is already in use`, { hint: "Pick another port with --port, or 0 for any free port.", cause: error }));
      } else {
        reject(error);
      }
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

/** The host as it goes in a URL: wildcard binds are reached on loopback; IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

/** A positive whole number from an environment variable; `fallback` when unset. */
function countFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new AppError("INVALID_CONFIG", `${name} must be a whole number of at least 1 (got ${JSON.stringify(raw)})`, { hint: `Unset it for the default of ${fallback}.` });
  }
  return value;
}
