/**
 * The composition root of `flash dev`: discovery, the watcher, the Koa
 * server, provisioning and the execution backend, wired together.
 *
 *   const session = await startDevSession(options);
 *   // … serving on session.url, reloading on every save …
 *   await session.close();
 */
import { mkdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { createDiscovery } from "../discovery/index.js";
import type { Discovery, Manifest } from "../discovery/index.js";
import { megabytesFromEnv } from "../shared/byte-budget.js";
import { createDevApp, DEFAULT_BODY_MEMORY_BYTES, findFreePort, formatIssue, formatRouteTable, parseAllowedHosts, parseAllowedOrigins, RouteTable, startHttpServer } from "../server/index.js";
import type { StartedHttpServer } from "../server/index.js";
import { createWatcher, describeWatcher } from "../watch/index.js";
import type { Watcher } from "../watch/index.js";
import { setDispatcher } from "../sdk/registry.js";
import type { ResourceSpec } from "../sdk/resources.js";
import { AppError } from "../shared/errors.js";
import { stableHash } from "../shared/hash.js";
import { registerSecret } from "../shared/redact.js";
import type { Logger } from "../shared/logger.js";
import { claimProjectSession, formatDuration } from "../provision/index.js";
import { startBackend } from "./backend.js";
import type { Backend } from "./backend.js";
import type { ResolvedDevOptions } from "./dev-options.js";
import { applyEnvFile, describeEnvFile, loadEnvFile, watchOuterEnvFile } from "./env-file.js";
import type { EnvFileState } from "./env-file.js";
import { createLocalRunner } from "./local-runner.js";
import { createReloader } from "./reloader.js";
import { RemoteInvoker } from "./remote-invoker.js";
import { provisionAll } from "./auto-provision.js";

export interface DevSessionOptions extends ResolvedDevOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Human output (banner, reload lines); default: the logger. */
  print?: (text: string) => void;
  /** What `.env` contributed to `env` before the session started. */
  envFile?: EnvFileState;
  /** Asks a yes/no question (auto-provision above 5 endpoints). Absent: non-interactive. */
  confirm?: (question: string) => Promise<boolean>;
}

export interface DevSession {
  /** e.g. `http://localhost:8888` */
  url: string;
  port: number;
  /** Resolves when every reload triggered so far has finished. */
  idle(): Promise<void>;
  /** Triggers a reload as if `paths` had changed (all files when empty). */
  reload(paths?: string[]): Promise<void>;
  /** Stops everything: watcher, server, workers, emulator. Idempotent. */
  close(): Promise<void>;
}

/** Files whose change can alter what is served. */
const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs|tsx|jsx|json)$/;
const CONFIG_FILES = new Set([".env", ".flashignore", ".gitignore", "package.json"]);
/** Variables the backend is built from: a change to one of them in .env restarts it. */
const BACKEND_SETTINGS = new Set([
  "RUNPOD_API_KEY",
  "RUNPOD_API_BASE_URL",
  "RUNPOD_ENDPOINT_BASE_URL",
  "FLASH_GPU_IMAGE",
  "FLASH_CPU_IMAGE",
  "FLASH_WORKER_COMMAND",
]);

function isRelevantChange(path: string): boolean {
  return CONFIG_FILES.has(path) || (SOURCE_FILE.test(path) && !path.endsWith(".d.ts"));
}

function uniqueSpecs(manifest: Manifest): ResourceSpec[] {
  const specs = new Map<string, ResourceSpec>();
  for (const fn of manifest.functions) if (!fn.local) specs.set(fn.config.name, fn.config);
  return [...specs.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Two configs with the same name but different settings would share one
 * endpoint and update it back and forth on alternate calls: say so.
 */
function reportConfigConflicts(manifest: Manifest, logger: Logger): void {
  const byName = new Map<string, { hash: string; file: string }>();
  const reported = new Set<string>();
  for (const fn of manifest.functions) {
    const hash = stableHash(fn.config);
    const seen = byName.get(fn.config.name);
    if (!seen) byName.set(fn.config.name, { hash, file: fn.file });
    else if (seen.hash !== hash && !reported.has(fn.config.name)) {
      reported.add(fn.config.name);
      logger.error(
        `✖ two different configs are named "${fn.config.name}" (${seen.file} and ${fn.file}); they would share the endpoint ${fn.config.endpointName}. ` +
          "Give them different names, or define the config once and import it.",
      );
    }
  }
}

function safeHostname(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function describeChange(paths: string[]): string {
  const shown = paths.slice(0, 3).join(", ");
  return paths.length > 3 ? `${shown} and ${paths.length - 3} more changed` : `${shown} changed`;
}

export async function startDevSession(options: DevSessionOptions): Promise<DevSession> {
  const { projectRoot: root, logger, env } = options;
  const print = options.print ?? ((text: string) => logger.info(text));
  const stateDir = join(root, ".runpod");
  // A typo in the allowed origins is reported before anything starts.
  const allowedOrigins = parseAllowedOrigins(env.FLASH_ALLOWED_ORIGINS);
  await mkdir(stateDir, { recursive: true });

  let envFile = options.envFile ?? { applied: new Map<string, string>() };
  const printWorkerLine = (line: string, stream: "stdout" | "stderr"): void => {
    if (stream === "stderr") logger.warn(line);
    else logger.info(line);
  };
  const newBackend = (): Promise<Backend> =>
    startBackend({ kind: options.backend, projectRoot: root, stateDir, env, logger, printWorkerLine });

  // One session per project, on the host or in the container (docs/internals.md, "Locks").
  const claim = await claimProjectSession(stateDir, { logger, env });
  let backend = await newBackend().catch(async (error: unknown) => {
    await claim.release();
    throw error;
  });
  // Calls in flight per backend: a backend replaced after a .env change is
  // closed only once its calls have finished (a reload never breaks a call).
  const inFlight = new Map<Backend, number>();
  const retired = new Set<Backend>();
  const track = <T>(use: (b: Backend) => Promise<T>): Promise<T> => {
    const b = backend;
    inFlight.set(b, (inFlight.get(b) ?? 0) + 1);
    return use(b).finally(() => inFlight.set(b, (inFlight.get(b) ?? 1) - 1));
  };
  const retire = (old: Backend): void => {
    retired.add(old);
    void (async () => {
      const deadline = Date.now() + 15 * 60_000;
      while (retired.has(old) && (inFlight.get(old) ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      inFlight.delete(old);
      retired.delete(old);
      await old.close();
    })().catch((error: unknown) => logger.debug(`closing the previous backend: ${String(error)}`));
  };
  const cleanups: (() => Promise<unknown>)[] = [() => claim.release(), () => backend.close()];
  const closeAll = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => logger.debug(`cleanup: ${String(e)}`));
  };

  let discovery: Discovery | undefined;
  let server: StartedHttpServer | undefined;
  let watcher: Watcher | undefined;
  try {
    const invoker: RemoteInvoker = new RemoteInvoker({
      ensureEndpoint: (spec) => track((b) => b.provisioner.ensureEndpoint(spec)),
      queue: { runToCompletion: (id, req, o) => track((b) => b.queue.runToCompletion(id, req, o)) },
      loadBalancer: { request: (target, o) => track((b) => b.loadBalancer.request(target, o)) },
      loadBalancerUrl: (id) => backend.loadBalancerUrl(id),
      localRunner: createLocalRunner({ bundleByHash: (hash) => invoker.bundleByHash(hash), logger }),
      logger,
    });
    const restoreDispatcher = setDispatcher(invoker);
    cleanups.push(async () => restoreDispatcher());
    // Calls still in flight when the session ends are abandoned: their jobs are cancelled.
    cleanups.push(() => invoker.close());

    discovery = createDiscovery({ root, logger: logger.child("discovery") });
    const disc = discovery;
    cleanups.push(() => disc.close());
    const started = Date.now();
    let manifest = await disc.discover();
    for (const issue of manifest.issues) logger.error(`✖ ${formatIssue(issue)}`);
    if (manifest.functions.length === 0 && manifest.issues.length === 0) {
      throw new AppError("NO_FUNCTIONS", `no remote functions found in ${root}`, {
        hint: [
          "Export a function wrapped in remote() from a .ts or .js file, for example:",
          "",
          '  import { remote, LiveServerless } from "flash-ts";',
          '  const gpu = new LiveServerless({ name: "gpu-worker" });',
          "  export const hello = remote(gpu, async (input: { name?: string }) => ({ hello: input.name ?? \"world\" }));",
        ].join("\n"),
      });
    }
    invoker.registerManifest(manifest);
    const routes = new RouteTable();
    routes.load(manifest);

    // A file that failed to load has no specs in the manifest: its endpoints
    // would look like orphans. Orphans are only judged on a clean load.
    const loadedCleanly = !manifest.issues.some((issue) => (issue.severity ?? "error") === "error");
    reportConfigConflicts(manifest, logger);
    if (options.autoProvision) {
      await provisionAll({
        provisioner: backend.provisioner,
        specs: uniqueSpecs(manifest),
        deleteOrphans: loadedCleanly,
        yes: options.yes,
        ...(options.confirm ? { confirm: options.confirm } : {}),
        print,
        logger,
      });
    } else if (loadedCleanly) {
      const orphans = await backend.provisioner.findOrphans(uniqueSpecs(manifest)).catch(() => []);
      if (orphans.length > 0) {
        print(
          `Note: ${orphans.length} endpoint(s) in .runpod/resources.json are no longer in the code: ${orphans.map((o) => o.name).join(", ")}.` +
            " Start with --auto-provision to delete them.",
        );
      }
    }

    const allowedHosts = parseAllowedHosts(env.FLASH_ALLOWED_HOSTS);
    if (!["localhost", "0.0.0.0", "::"].includes(options.host)) allowedHosts.push(options.host.toLowerCase());
    const publicHost = env.FLASH_PUBLIC_URL ? safeHostname(env.FLASH_PUBLIC_URL) : undefined;
    if (publicHost) allowedHosts.push(publicHost);
    const bodyMemoryBytes = megabytesFromEnv(env, "FLASH_BODY_MEMORY_MB", DEFAULT_BODY_MEMORY_BYTES);
    const app = createDevApp({ routes, invoker, logger, allowedHosts, allowedOrigins, bodyMemoryBytes, title: `Flash Dev Server (${basename(root)})` });
    const bindHost = options.host === "localhost" ? "127.0.0.1" : options.host;
    let port = options.port;
    if (port !== 0) {
      const free = await findFreePort(bindHost, port);
      if (free.moved) print(`Port ${free.requested} is in use, using ${free.port} instead.`);
      port = free.port;
    }
    server = await startHttpServer(app, { host: bindHost, port });
    const srv = server;
    cleanups.push(() => srv.close());
    const url = options.host === "localhost" ? srv.url.replace("127.0.0.1", "localhost") : srv.url;

    const reloader = createReloader({
      // Requests a change may affect wait for the run applying it; the rest are served meanwhile.
      // A .env change re-imports every module (below), so it may affect every route.
      onPending: (paths) => routes.beginReload(paths.includes(".env") ? "all" : disc.affectedRoutes(paths)),
      onRun: () => routes.startReload(),
      run: async (paths) => {
        const t0 = Date.now();
        try {
          if (paths.includes(".env")) {
            const loaded = await loadEnvFile(root, env);
            const applied = applyEnvFile(env, loaded.values, envFile, loaded.path);
            envFile = applied.state;
            registerSecret(env.RUNPOD_API_KEY);
            if (applied.changed.length > 0) {
              const backendChanged = applied.changed.some((key) => BACKEND_SETTINGS.has(key));
              print(
                `.env changed (${applied.changed.join(", ")}): ` +
                  (backendChanged ? "restarting the backend and reloading with the new values" : "reloading with the new values"),
              );
              if (backendChanged) {
                if (backend.kind === "local" && env.RUNPOD_API_KEY?.trim()) {
                  print("  RUNPOD_API_KEY is set now; this session stays on the local emulator (restart flash dev to use Runpod).");
                }
                const old = backend;
                backend = await newBackend();
                retire(old);
              }
            }
          }
          const before = new Set(routes.routes().map((r) => `${r.method} ${r.path}`));
          // Module top-level code may read process.env (configs often do): after a
          // .env change every module is imported again, in a fresh thread.
          if (paths.includes(".env")) disc.invalidate();
          const next = await disc.discover(paths.includes(".env") ? undefined : paths);
          invoker.registerManifest(next);
          routes.endReload({ ok: true, manifest: next });
          // Files that looked half-saved keep their last version; look at them again once they could have settled.
          reloader.recheckLater(next.unsettled?.files ?? [], next.unsettled?.recheckInMs ?? 0);
          manifest = next;
          watcher?.setHotFiles([...next.watchedInputs, ...next.candidates]);
          const after = routes.routes().map((r) => `${r.method} ${r.path}`);
          const added = after.filter((r) => !before.has(r));
          const removed = [...before].filter((r) => !after.includes(r));
          print(`Reloaded ${after.length} route(s) in ${Date.now() - t0} ms (${describeChange(paths)})`);
          for (const r of added) print(`  + ${r}`);
          for (const r of removed) print(`  - ${r}`);
          for (const issue of next.issues) logger.error(`✖ ${formatIssue(issue)}`);
          reportConfigConflicts(next, logger);
        } catch (error) {
          routes.endReload({ ok: false, error: error instanceof AppError ? error : new AppError("INTERNAL", String(error), { cause: error }) });
          logger.error(`✖ reload failed after ${Date.now() - t0} ms: ${(error as Error).message}; still serving the last good version`);
        }
      },
    });
    cleanups.push(() => reloader.close());

    let watchLine = "Reload is off (--no-reload).";
    if (options.reload) {
      watcher = createWatcher({ root, isIgnored: (rel, isDir) => disc.isIgnored(rel, isDir), logger: logger.child("watch") });
      const w = watcher;
      cleanups.push(() => w.close());
      await w.ready;
      w.setHotFiles([...manifest.watchedInputs, ...manifest.candidates]);
      w.onChange((batch) => {
        const relevant = batch.paths.filter(isRelevantChange);
        if (relevant.length > 0) reloader.schedule(relevant);
      });
      watchLine = describeWatcher(w.stats());
      // A .env above the project (docs/internals.md, "The .env file") is outside what w watches.
      if (envFile.path && dirname(envFile.path) !== root) {
        const outer = await watchOuterEnvFile(envFile.path, () => reloader.schedule([".env"]), logger.child("watch"));
        cleanups.push(() => outer.close());
      }
    }

    print(
      [
        "",
        // In the dev container the server listens on 0.0.0.0:8888 inside; the
        // host CLI says where it is published.
        formatRouteTable(routes.routes(), env.FLASH_PUBLIC_URL?.trim() || url),
        `  Backend: ${backend.description} — ${options.backendReason}`,
        `  Env file: ${describeEnvFile(envFile.path, env)}`,
        `  ${watchLine}`,
        `  Started in ${formatDuration(Date.now() - started)}. Press Ctrl+C to stop.`,
        "",
      ].join("\n"),
    );

    let closing: Promise<void> | undefined;
    return {
      url,
      port: srv.port,
      idle: () => reloader.idle(),
      async reload(paths) {
        reloader.schedule(paths && paths.length > 0 ? paths : disc.scannedFiles());
        await reloader.idle();
      },
      close: () =>
        (closing ??= (async () => {
          // First: calls in flight are abandoned and their jobs cancelled (Ctrl-C must not leave them billing).
          await invoker.close();
          await watcher?.close();
          await reloader.close();
          await srv.close();
          await finishEndpoints(backend, options, print, logger);
          // Backends still draining after a .env change: the session is over, close them now.
          await Promise.allSettled([...retired].map((b) => b.close()));
          retired.clear();
          await closeAll();
        })()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** On exit: delete this project's endpoints (--cleanup) or name the ones that keep billing. */
async function finishEndpoints(backend: Backend, options: DevSessionOptions, print: (t: string) => void, logger: Logger): Promise<void> {
  try {
    const cached = await backend.provisioner.cachedEndpoints();
    if (options.cleanup && cached.length > 0) {
      const { deleted, failed } = await backend.provisioner.deleteEndpoints(cached);
      for (const name of deleted) print(`  deleted ${name}`);
      for (const f of failed) logger.warn(`  could not delete ${f.name}: ${f.error.message}`);
      return;
    }
    if (backend.kind === "runpod") {
      const warm = cached.filter((e) => e.workersMin > 0);
      if (warm.length > 0) {
        logger.warn(
          `Kept endpoints with warm workers (they bill while idle): ${warm.map((e) => `${e.name} (workersMin ${e.workersMin})`).join(", ")}. ` +
            "Use --cleanup to delete this project's endpoints on exit, or flash undeploy <name> to delete one.",
        );
      }
    }
  } catch (error) {
    logger.warn(`could not review endpoints on exit: ${(error as Error).message}`);
  }
}
