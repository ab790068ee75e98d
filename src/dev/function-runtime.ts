/**
 * The function runtime of a session: what it takes to call the project's
 * remote functions from this process, with no HTTP server and no watcher
 * (docs/internals.md, "The dev session"). It owns the backend (swappable,
 * drained), the provisioner behind it, the invoker (which is also this
 * process's SDK dispatcher), the local runner, and discovery of the manifest.
 * `flash dev` puts a server and a watcher around it; a script runner can use
 * it alone.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Discovery, DiscoveryOptions } from "../discovery/discovery.js";
import type { Manifest } from "../discovery/manifest.js";
import { setDispatcher } from "../sdk/registry.js";
import type { Clock } from "../common/clock.js";
import { toAppError } from "../common/errors.js";
import { stableHash } from "../common/hash.js";
import type { Logger } from "../common/logger.js";
import { provisionOnStart } from "./auto-provision.js";
import type { Backend, BackendOptions } from "./backend.js";
import { BackendHolder } from "./backend-holder.js";
import { observeCalls } from "./call-events.js";
import type { BackendChoice, InspectTarget } from "./dev-options.js";
import { createLocalRunner } from "./local-runner.js";
import { RemoteInvoker } from "./remote-invoker.js";
import type { ConfigConflict, DevSessionEmitter } from "./session-events.js";

/** Variables the backend is built from: a change to one of them restarts it. */
export const BACKEND_SETTINGS: ReadonlySet<string> = new Set([
  "RUNPOD_API_KEY",
  "RUNPOD_API_BASE_URL",
  "RUNPOD_ENDPOINT_BASE_URL",
  "FLASH_GPU_IMAGE",
  "FLASH_CPU_IMAGE",
  "FLASH_WORKER_COMMAND",
]);

export interface FunctionRuntimeOptions {
  projectRoot: string;
  backend: BackendChoice;
  /** The environment the backend is configured from (read again on restartBackend). */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  events: DevSessionEmitter;
  clock: Clock;
  startBackend: (options: BackendOptions) => Promise<Backend>;
  createDiscovery: (options: DiscoveryOptions) => Discovery;
  /** Longest wait for a replaced backend's calls (BackendHolder's default when absent). */
  drainDeadlineMs?: number;
  /** `--inspect`: workers with an inspector each, and no execution timeouts (a debugger may hold a call paused). */
  inspect?: InspectTarget;
}

export interface FunctionRuntime {
  readonly discovery: Discovery;
  readonly backends: BackendHolder;
  /** Runs functions: the dev server's invoker, and this process's SDK dispatcher. */
  readonly invoker: RemoteInvoker;
  /** The last generation discovered. */
  readonly manifest: Manifest | undefined;
  /**
   * Runs discovery (a full scan, or the work `paths` affect; `fresh` imports
   * every module again) and makes the new generation callable. Emits nothing:
   * the caller reports it when the console should say so (see `report`).
   */
  discover(paths?: readonly string[], options?: { fresh?: boolean }): Promise<Manifest>;
  /** Emits `discovered` for a manifest: its issues and config conflicts. */
  report(manifest: Manifest, phase: "start" | "reload"): void;
  /** Endpoints at start: --auto-provision, or the orphans note. */
  provision(options: { autoProvision: boolean; yes: boolean; confirm?: (question: string) => Promise<boolean> }): Promise<void>;
  /** A new backend from the current environment; calls in flight finish on the old one. */
  restartBackend(): Promise<void>;
  /** Abandons every call in flight (their jobs are cancelled). The first step of stopping. */
  abandonCalls(): Promise<void>;
  /**
   * Reviews the endpoints (`cleanup` deletes this project's; otherwise those
   * that bill while idle are named), then closes everything. `review: false`
   * skips the review (a start that failed). Idempotent.
   */
  close(options?: { cleanup?: boolean; review?: boolean }): Promise<void>;
}

/** Configs that share a name but not their settings: they would update one endpoint back and forth. */
export function findConfigConflicts(manifest: Manifest): ConfigConflict[] {
  const byName = new Map<string, { hash: string; file: string }>();
  const conflicts = new Map<string, ConfigConflict>();
  for (const fn of manifest.functions) {
    const hash = stableHash(fn.config);
    const seen = byName.get(fn.config.name);
    if (!seen) byName.set(fn.config.name, { hash, file: fn.file });
    else if (seen.hash !== hash && !conflicts.has(fn.config.name)) {
      conflicts.set(fn.config.name, { name: fn.config.name, endpointName: fn.config.endpointName, files: [seen.file, fn.file] });
    }
  }
  return [...conflicts.values()];
}

export async function startFunctionRuntime(options: FunctionRuntimeOptions): Promise<FunctionRuntime> {
  const { projectRoot: root, env, logger, events, clock } = options;
  const stateDir = join(root, ".runpod");
  await mkdir(stateDir, { recursive: true });
  const newBackend = (): Promise<Backend> =>
    options.startBackend({
      kind: options.backend,
      projectRoot: root,
      stateDir,
      env,
      logger,
      printWorkerLine: (line, stream) => events.emit("workerOutput", { line, stream }),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });

  // The first discovery runs while the backend starts (the emulator, or the Runpod clients):
  // neither needs the other, and together they are most of the time to the first routes.
  const discovery = options.createDiscovery({ root, logger: logger.child("discovery") });
  let firstDiscovery: Promise<Manifest> | undefined = discovery.discover();
  firstDiscovery.catch(() => {}); // reported where it is awaited, in discover()
  let first: Backend;
  try {
    first = await newBackend();
  } catch (error) {
    await discovery.close().catch(() => {});
    throw error;
  }
  const backends = new BackendHolder({ first, clock, events, ...(options.drainDeadlineMs !== undefined ? { drainDeadlineMs: options.drainDeadlineMs } : {}) });
  const cleanups: (() => Promise<unknown>)[] = [() => discovery.close(), () => backends.close()];
  const runCleanups = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => events.emit("debug", { message: `cleanup: ${String(e)}` }));
    cleanups.length = 0;
  };
  try {
    const invoker: RemoteInvoker = new RemoteInvoker({
      // Every use is counted on the backend it started on, so a replaced backend drains before it closes.
      ensureEndpoint: (spec) => backends.use((b) => b.provisioner.ensureEndpoint(spec)),
      queue: {
        runToCompletion: (id, req, o) => backends.use((b) => b.queue.runToCompletion(id, req, o)),
        // Live logs and endpoint health while a call is in flight (docs/internals.md, "Live logs").
        stream: (id, job, o) => backends.use((b) => b.queue.stream(id, job, o)),
        health: (id, o) => backends.use((b) => b.queue.health(id, o)),
      },
      loadBalancer: { request: (target, o) => backends.use((b) => b.loadBalancer.request(target, o)) },
      loadBalancerUrl: (id) => backends.current.loadBalancerUrl(id),
      localRunner: createLocalRunner({ bundleByHash: (hash) => invoker.bundleByHash(hash), logger }),
      logger,
      // The console renderer prints callLogs.
      printLog: () => {},
      observe: observeCalls(events, clock),
      ...(options.inspect ? { noTimeouts: true } : {}),
    });
    const restoreDispatcher = setDispatcher(invoker);
    cleanups.push(async () => restoreDispatcher());
    cleanups.push(() => invoker.close());

    let manifest: Manifest | undefined;
    let closing: Promise<void> | undefined;
    return {
      discovery,
      backends,
      invoker,
      get manifest() {
        return manifest;
      },
      async discover(paths, discoverOptions = {}) {
        // Module top-level code may read process.env (configs often do): after a
        // .env change every module is imported again, in a fresh thread.
        if (discoverOptions.fresh) discovery.invalidate();
        const started = firstDiscovery;
        firstDiscovery = undefined;
        // The first full discovery is the one started with the backend.
        const next = await (started && paths === undefined && !discoverOptions.fresh ? started : discovery.discover(paths));
        invoker.registerManifest(next);
        manifest = next;
        return next;
      },
      report(m, phase) {
        events.emit("discovered", { phase, generation: m.generation, functions: m.functions.length, issues: m.issues, conflicts: findConfigConflicts(m) });
      },
      async provision(provisionOptions) {
        if (!manifest) return;
        await provisionOnStart({ provisioner: backends.current.provisioner, manifest, events, clock, ...provisionOptions });
      },
      async restartBackend() {
        backends.swap(await newBackend(), "env");
      },
      abandonCalls: () => invoker.close(),
      close: (closeOptions = {}) =>
        (closing ??= (async () => {
          await invoker.close();
          if (closeOptions.review !== false) await finishEndpoints(backends.current, closeOptions.cleanup === true, events);
          await runCleanups();
        })()),
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}

/** On exit: delete this project's endpoints (--cleanup) or name the ones that keep billing. */
async function finishEndpoints(backend: Backend, cleanup: boolean, events: DevSessionEmitter): Promise<void> {
  try {
    const cached = await backend.provisioner.cachedEndpoints();
    if (cleanup && cached.length > 0) {
      events.emit("endpointsDeleted", await backend.provisioner.deleteEndpoints(cached));
      return;
    }
    if (backend.kind === "runpod") {
      const warm = cached.filter((e) => e.workersMin > 0);
      if (warm.length > 0) events.emit("warmEndpointsKept", { endpoints: warm.map((e) => ({ name: e.name, workersMin: e.workersMin })) });
    }
  } catch (error) {
    events.emit("endpointReviewFailed", { error: toAppError(error) });
  }
}
