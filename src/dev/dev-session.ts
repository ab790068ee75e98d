/**
 * The composition root of `flash dev` (docs/internals.md, "The dev session"):
 * the function runtime (backend, provisioning, invoker, discovery) with an
 * HTTP server, a watcher and the reload controller around it, reporting
 * typed events that the console renders, /docs hears and tests wait on.
 *
 *   const session = await startDevSession(options);          // real parts
 *   const session = await startDevSession(options, { startBackend: fake, clock });
 *   await session.events.once("reloadFinished");
 *   await session.close();
 */
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { claimProjectSession } from "../provision/index.js";
import type { ProjectSession } from "../provision/index.js";
import { parseAllowedOrigins, RouteTable } from "../server/index.js";
import type { FunctionInvoker, RouteInfo } from "../server/index.js";
import { describeWatcher } from "../watch/index.js";
import type { Watcher } from "../watch/index.js";
import { backendInfo } from "./backend-holder.js";
import type { ResolvedDevOptions } from "./dev-options.js";
import { startDevHttp } from "./dev-http.js";
import type { DevHttp } from "./dev-http.js";
import { describeEnvFile, watchOuterEnvFile } from "./env-file.js";
import type { EnvFileState } from "./env-file.js";
import { startFunctionRuntime } from "./function-runtime.js";
import type { FunctionRuntime } from "./function-runtime.js";
import { createReloadController } from "./reload-controller.js";
import type { ReloadController } from "./reload-controller.js";
import type { BackendInfo, DevSessionEventSource } from "./session-events.js";
import { resolveDevSessionParts } from "./session-parts.js";
import { createSessionSchemas } from "./session-schemas.js";
import type { SessionSchemas } from "./session-schemas.js";
import type { DevSessionParts } from "./session-parts.js";

export interface DevSessionOptions extends ResolvedDevOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** What `.env` contributed to `env` before the session started. */
  envFile?: EnvFileState;
}

export interface DevSession {
  /** e.g. `http://localhost:8888` */
  url: string;
  port: number;
  /** What the session reports (see session-events.ts). */
  events: DevSessionEventSource;
  /** The backend new calls go to. */
  backend(): BackendInfo;
  /** The routes served now. */
  routes(): readonly RouteInfo[];
  /** Resolves when every reload triggered so far has finished. */
  idle(): Promise<void>;
  /** Triggers a reload as if `paths` had changed (all files when empty). */
  reload(paths?: string[]): Promise<void>;
  /** Stops everything: watcher, server, workers, emulator. Idempotent. */
  close(): Promise<void>;
}

const NO_FUNCTIONS_HINT = [
  "Export a function wrapped in remote() from a .ts or .js file, for example:",
  "",
  '  import { remote, LiveServerless } from "flash-ts";',
  '  const gpu = new LiveServerless({ name: "gpu-worker" });',
  "  export const hello = remote(gpu, async (input: { name?: string }) => ({ hello: input.name ?? \"world\" }));",
].join("\n");

export async function startDevSession(options: DevSessionOptions, given: Partial<DevSessionParts> = {}): Promise<DevSession> {
  const { projectRoot: root, logger, env } = options;
  // A typo in the allowed origins is reported before anything starts.
  const allowedOrigins = parseAllowedOrigins(env.FLASH_ALLOWED_ORIGINS);
  const parts = resolveDevSessionParts(given, logger);
  const { events, clock } = parts;
  const unrender = parts.render(events, { print: parts.print, logger, clock });
  const started = clock.now();

  let claim: ProjectSession | undefined;
  let runtime: FunctionRuntime | undefined;
  let http: DevHttp | undefined;
  let reload: ReloadController | undefined;
  let schemas: SessionSchemas | undefined;
  let watcher: Watcher | undefined;
  let outerEnv: { close(): Promise<void> } | undefined;
  const stopAll = async (endpoints: { cleanup: boolean; review: boolean }): Promise<void> => {
    // First: calls in flight are abandoned and their jobs cancelled (Ctrl-C must not leave them billing).
    await runtime?.abandonCalls();
    await reload?.close();
    await schemas?.close();
    await watcher?.close();
    await outerEnv?.close();
    await http?.close();
    await runtime?.close(endpoints);
    await claim?.release();
  };

  try {
    // One session per project, on the host or in the container (docs/internals.md, "Locks").
    const stateDir = join(root, ".runpod");
    await mkdir(stateDir, { recursive: true });
    claim = await claimProjectSession(stateDir, { logger, env });

    // The server listens first; requests wait for the first routes as they wait for a reload,
    // while the backend starts and discovery runs (the dev container's time to first answer).
    const routes = new RouteTable();
    routes.beginReload("all");
    const invoker: FunctionInvoker = {
      invoke: (entry, input, ctx) => {
        if (!runtime) throw new AppError("SERVICE_UNAVAILABLE", "flash dev is still starting");
        return runtime.invoker.invoke(entry, input, ctx);
      },
    };
    // Type schemas of each generation, computed after it is served (docs/type-schemas.md, "Wiring").
    schemas = createSessionSchemas({ root, env, routes, events, clock, logger: logger.child("schemas"), createService: parts.createSchemaService });
    const typed = schemas;
    http = await startDevHttp({ root, host: options.host, port: options.port, env, allowedOrigins, routes, invoker, schemas: typed, logger, events, clock, parts });
    const server = http;

    runtime = await startFunctionRuntime({
      projectRoot: root,
      backend: options.backend,
      env,
      logger,
      events,
      clock,
      startBackend: parts.startBackend,
      // --inspect: source maps a debugger attached to a worker can follow to the project's files.
      createDiscovery: options.inspect ? (o) => parts.createDiscovery({ ...o, absoluteSourceRoot: true }) : parts.createDiscovery,
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    const rt = runtime;
    const manifest = await rt.discover();
    rt.report(manifest, "start");
    if (manifest.functions.length === 0 && manifest.issues.length === 0) {
      throw new AppError("NO_FUNCTIONS", `no remote functions found in ${root}`, { hint: NO_FUNCTIONS_HINT });
    }
    await rt.provision({ autoProvision: options.autoProvision, yes: options.yes, ...(parts.confirm ? { confirm: parts.confirm } : {}) });
    // The first routes: requests held since the server started listening go ahead.
    routes.endReload({ ok: true, manifest });
    reload = createReloadController({ root, env, envFile: options.envFile ?? { applied: new Map() }, runtime: rt, routes, events, clock });
    const reloads = reload;

    let watch: string | undefined;
    if (options.reload) {
      watcher = parts.createWatcher({ root, isIgnored: (rel, isDir) => rt.discovery.isIgnored(rel, isDir), logger: logger.child("watch") });
      await watcher.ready;
      reloads.watch(watcher);
      watch = describeWatcher(watcher.stats());
      // A .env above the project (docs/internals.md, "The .env file") is outside what the watcher sees.
      const envPath = options.envFile?.path;
      if (envPath && dirname(envPath) !== root) {
        outerEnv = await watchOuterEnvFile(envPath, () => reloads.schedule([".env"]), logger.child("watch"), parts.createWatcher);
      }
    }

    events.emit("ready", {
      url: server.url,
      // In the dev container the server listens on 0.0.0.0:8888 inside; the host CLI says where it is published.
      publicUrl: env.FLASH_PUBLIC_URL?.trim() || server.url,
      routes: routes.routes(),
      backend: backendInfo(rt.backends.current),
      backendReason: options.backendReason,
      envFile: describeEnvFile(options.envFile?.path, env),
      watch,
      startupMs: clock.now() - started,
    });
    // Only now, with the first routes served, may the TypeScript compiler take the CPU.
    typed.start();

    let closing: Promise<void> | undefined;
    return {
      url: server.url,
      port: server.port,
      events,
      backend: () => backendInfo(rt.backends.current),
      routes: () => routes.routes(),
      idle: () => reloads.idle(),
      async reload(paths) {
        reloads.schedule(paths && paths.length > 0 ? paths : rt.discovery.scannedFiles());
        await reloads.idle();
      },
      close: () =>
        (closing ??= (async () => {
          await stopAll({ cleanup: options.cleanup, review: true });
          events.emit("closed", {});
          unrender();
        })()),
    };
  } catch (error) {
    // Endpoints are only reviewed on a normal stop, never on a failed start.
    await stopAll({ cleanup: false, review: false }).catch((e: unknown) => logger.debug(`stopping after a failed start: ${String(e)}`));
    unrender();
    throw error;
  }
}
