/**
 * The worker runtime (`flash worker`): what runs on a Runpod worker, or a
 * worker the local emulator starts.
 *
 *   RUNPOD_WEBHOOK_GET_JOB set  → queue mode (queue-worker.ts) over the worker protocol
 *   PORT set                    → load-balanced mode (lb-server.ts)
 *   neither, or --test-input    → one job from --test-input / ./test_input.json, then exit
 *
 * Jobs are flash function calls (FunctionRequest in, FunctionResponse out)
 * unless a `--handler` module is given, which runs a plain Runpod handler.
 */
import type { FunctionClient } from "../calls/function-client.js";
import { AppError } from "../common/errors.js";
import { nullLogger } from "../common/logger.js";
import type { Logger } from "../common/logger.js";
import { readPackageVersion } from "../common/package-info.js";
import { installConsoleCapture } from "./console-capture.js";
import { createExecutor, defaultCacheDir } from "./execute.js";
import type { Executor } from "./execute.js";
import { createHandlerRunner, loadHandler } from "./handler-mode.js";
import { createFunctionJobRunner } from "./job-runner.js";
import type { JobRunner } from "./job-runner.js";
import { loadTestJob, runOneShot } from "./one-shot.js";
import type { WorkerJob } from "./platform-client.js";
import type { AdoptedLbServers } from "./lb-server.js";
import { guardExecutor } from "./runtime-guard.js";
import type { RuntimeIdentity } from "./runtime-guard.js";
import { createSystemDependencies, parseSystemDependencies } from "./system-dependencies.js";

/** What a nested call rejects with when the remote function failed (its name, message and remote stack). */
export { FunctionCallError } from "../calls/call-errors.js";
export { createExecutor, defaultCacheDir } from "./execute.js";
export type { Executor, ExecutorOptions, ExecuteOptions, ModuleSource } from "./execute.js";
export type { Handler, HandlerContext } from "./handler-mode.js";
export type { RuntimeIdentity } from "./runtime-guard.js";

export type WorkerMode = "queue" | "load-balancer" | "one-shot";

export interface WorkerOptions {
  /** Environment to read (RUNPOD_*, PORT, FLASH_WORKER_*). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Resolves --handler and ./test_input.json. Default process.cwd(). */
  cwd?: string;
  logger?: Logger;
  /** Where the one-shot result is printed. Default process.stdout. */
  stdout?: (text: string) => void;
  /** A plain Runpod handler module to run instead of flash functions. */
  handler?: string;
  /** Jobs at a time in queue mode; beats FLASH_WORKER_CONCURRENCY and a handler's `concurrency` export. */
  concurrency?: number;
  /** The one-shot job as JSON text (`{"input": …}`); forces the one-shot mode. */
  testInput?: string;
  /** Sends nested remote calls to other endpoints (src/calls). Absent: they fail with a clear error. */
  calls?: FunctionClient;
  /** The module cache. Default FLASH_WORKER_CACHE or `<tmpdir>/flash-ts-worker`. */
  cacheDir?: string;
  /** This runtime's version (pings, user agent, mismatch checks). Default: the package's. */
  version?: string;
  /** The runtime callers must run too; default `{ version }`. */
  identity?: RuntimeIdentity;
  /** A module exporting the SDK for user modules (the delivered bundle); default this package. */
  sdkEntry?: string;
  /** Queue mode: jobs already taken (by the bootstrap) that this worker must run and answer. */
  initialJobs?: WorkerJob[];
  /** Load-balanced mode: servers that already listen (the bootstrap's) instead of new ones. */
  adopt?: AdoptedLbServers;
}

export interface WorkerHandle {
  readonly mode: WorkerMode;
  /** LB mode: the bound port. */
  readonly port?: number;
  /** Resolves when the worker has stopped. */
  readonly closed: Promise<void>;
  /** Graceful stop: no new work, work in flight finishes. Idempotent. */
  close(): Promise<void>;
  /** Immediate stop: work in flight is abandoned (queue mode posts nothing for it). */
  abort(): Promise<void>;
  /** 0, or 1 when the one-shot job failed. Read after `closed`. */
  readonly exitCode: number;
}

/** Which mode the environment and options select. */
export function resolveWorkerMode(env: NodeJS.ProcessEnv, options: { testInput?: string }): WorkerMode {
  if (options.testInput !== undefined) return "one-shot";
  if (env.RUNPOD_WEBHOOK_GET_JOB) return "queue";
  if (env.PORT !== undefined && env.PORT !== "") return "load-balancer";
  return "one-shot";
}

function parseIntEnv(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AppError("INVALID_INPUT", `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

/** Starts the worker in the mode the environment selects. */
export async function runWorker(options: WorkerOptions = {}): Promise<WorkerHandle> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const logger = options.logger ?? nullLogger;
  const mode = resolveWorkerMode(env, options);
  const version = options.version ?? readPackageVersion();
  const identity = options.identity ?? { version };
  const systemPackages = parseSystemDependencies(env.FLASH_SYSTEM_DEPENDENCIES);
  // Set once a caller with another runtime shows up: this worker retires after answering it.
  let retire: (() => void) | undefined;
  let retireRequested = false;
  const onRuntimeMismatch = (): void => {
    retireRequested = true;
    logger.warn("a caller runs another flash-ts runtime: this worker retires after answering it");
    queueMicrotask(() => retire?.());
  };
  const envConcurrency = parseIntEnv(env, "FLASH_WORKER_CONCURRENCY", 1, 1000);
  const echoLogs = env.FLASH_WORKER_ECHO_LOGS === "1" || env.FLASH_WORKER_ECHO_LOGS === "true";
  if (options.handler && mode === "load-balancer") {
    throw new AppError("INVALID_INPUT", "--handler runs queue-based workers (RUNPOD_WEBHOOK_GET_JOB) or one job locally; load-balanced workers (PORT) serve flash functions", {
      hint: "Unset PORT, or drop --handler.",
    });
  }

  let executor: Executor | undefined;
  const makeExecutor = (): Executor => {
    if (executor) return executor;
    const cacheDir = options.cacheDir ?? defaultCacheDir(env);
    const inner = createExecutor({
      cacheDir,
      logger: logger.child("runtime"),
      echoLogs,
      ...(options.calls ? { calls: options.calls } : {}),
      ...(options.sdkEntry ? { sdkEntry: options.sdkEntry } : {}),
    });
    const systemDependencies =
      systemPackages.length > 0
        ? createSystemDependencies({
            packages: systemPackages,
            // Workers the emulator runs as local processes must not install packages on the developer's machine.
            mode: env.FLASH_SYSTEM_DEPENDENCIES_INSTALL === "0" ? "check" : "install",
            cacheDir,
            logger: logger.child("apt"),
          })
        : undefined;
    return (executor = guardExecutor(inner, { identity, onRuntimeMismatch, ...(systemDependencies ? { systemDependencies } : {}) }));
  };

  let releaseConsole: (() => void) | undefined;
  const cleanup = (): void => {
    executor?.close();
    releaseConsole?.();
  };

  /** `liveLogs`: the function's console output also goes out as job stream chunks while it runs (queue mode). */
  async function makeRunner(workerId: string, liveLogs = false): Promise<JobRunner> {
    try {
      if (options.handler) {
        // Handler output goes to stderr: stdout carries the one-shot result.
        releaseConsole = installConsoleCapture();
        return createHandlerRunner(await loadHandler(options.handler, cwd), { workerId, version });
      }
      const exec = makeExecutor();
      await exec.prepare();
      return createFunctionJobRunner(exec, { liveLogs });
    } catch (error) {
      cleanup();
      throw error;
    }
  }

  if (mode === "queue") {
    // Loaded only here: undici takes a few hundred ms to import, which the other modes need not pay.
    const [{ createPlatformClient, resolvePlatformConfig }, { startQueueWorker }] = await Promise.all([import("./platform-client.js"), import("./queue-worker.js")]);
    const config = resolvePlatformConfig(env, version);
    const runner = await makeRunner(config.workerId, true);
    const concurrency = options.concurrency ?? envConcurrency ?? runner.concurrency ?? 1;
    const client = createPlatformClient(config, { logger: logger.child("platform") });
    const worker = startQueueWorker({ client, runner, concurrency, logger, ...(options.initialJobs ? { initialJobs: options.initialJobs } : {}) });
    retire = () => void worker.close();
    if (retireRequested) retire();
    const closed = worker.closed.finally(cleanup);
    return { mode, closed, close: () => worker.close().then(() => closed), abort: () => worker.abort().then(() => closed), exitCode: 0 };
  }

  if (mode === "load-balancer") {
    const port = parseIntEnv(env, "PORT", 0, 65535) as number;
    const healthPort = parseIntEnv(env, "PORT_HEALTH", 0, 65535);
    const rawPath = env.HEALTH_CHECK_PATH || "/ping";
    const { adoptLbServers, startLbServer } = await import("./lb-server.js");
    const exec = makeExecutor();
    const handling = {
      healthPath: rawPath.startsWith("/") ? rawPath : `/${rawPath}`,
      execute: (request: Parameters<Executor["execute"]>[0], opts: { signal: AbortSignal }) => exec.execute(request, opts),
      logger,
    };
    const server = options.adopt
      ? adoptLbServers(options.adopt, handling)
      : await startLbServer({ ...handling, port, host: env.FLASH_WORKER_HOST || "0.0.0.0", ...(healthPort !== undefined ? { healthPort } : {}) });
    logger.info(`load-balanced mode: listening on ${server.url}`);
    let exitCode = 0;
    let closing: Promise<void> | undefined;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
    const stop = (force = false): Promise<void> => {
      const stopping = force ? server.abort() : server.close();
      return (closing ??= stopping.finally(() => exec.close()).then(resolveClosed)).then(() => closed);
    };
    // Answer the caller first (the response is being written), then stop taking requests.
    retire = () => void setImmediate(() => void stop());
    if (retireRequested) retire();
    const started = performance.now();
    exec.prepare().then(
      () => {
        server.setReady();
        logger.info(`ready in ${Math.round(performance.now() - started)} ms`);
      },
      (error: unknown) => {
        // Without a module cache nothing can run; stopping lets the platform replace the worker.
        logger.error(`could not prepare the module cache in ${exec.cacheDir}: ${(error as Error).message}`);
        exitCode = 1;
        void stop();
      },
    );
    return {
      mode,
      port: server.port,
      closed,
      close: () => stop(),
      abort: () => stop(true),
      get exitCode() {
        return exitCode;
      },
    };
  }

  // one-shot: read the job first, so a missing or malformed one fails before anything loads
  const job = await loadTestJob(options.testInput, cwd);
  const runner = await makeRunner(env.RUNPOD_POD_ID || "local");
  const controller = new AbortController();
  let exitCode = 0;
  const stdout = options.stdout ?? ((text: string) => void process.stdout.write(text));
  const closed = runOneShot({ runner, job, logger, stdout, signal: controller.signal })
    .then((outcome) => {
      exitCode = outcome.failed ? 1 : 0;
    })
    .finally(cleanup);
  return {
    mode,
    closed,
    close: () => closed,
    abort: () => {
      controller.abort(new Error("the worker is stopping"));
      return closed;
    },
    get exitCode() {
      return exitCode;
    },
  };
}
