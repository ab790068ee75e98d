/**
 * Hot reload: changed paths (from the watcher, or `session.reload()`) → a
 * serialised reload (reloader.ts) → `.env` applied (and the backend
 * restarted when it configures it) → discovery → the route table swapped →
 * events. A failed reload keeps the last good routes serving.
 */
import type { RouteTable } from "../server/route-table.js";
import type { Clock } from "../common/clock.js";
import { toAppError } from "../common/errors.js";
import { registerSecret } from "../common/redact.js";
import type { Watcher } from "../watch/types.js";
import { applyEnvFile, loadEnvFile } from "./env-file.js";
import type { EnvFileState } from "./env-file.js";
import { BACKEND_SETTINGS } from "./function-runtime.js";
import type { FunctionRuntime } from "./function-runtime.js";
import { createReloader } from "./reloader.js";
import { diffRoutes, routeKeys } from "./session-events.js";
import type { DevSessionEmitter } from "./session-events.js";

/** Files whose change can alter what is served. */
const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs|tsx|jsx|json)$/;
const CONFIG_FILES = new Set([".env", ".flashignore", ".gitignore", "package.json"]);

export function isRelevantChange(path: string): boolean {
  return CONFIG_FILES.has(path) || (SOURCE_FILE.test(path) && !path.endsWith(".d.ts"));
}

export interface ReloadControllerOptions {
  root: string;
  /** Mutated when `.env` changes (the shell's values win). */
  env: NodeJS.ProcessEnv;
  /** What `.env` contributed to `env` so far. */
  envFile: EnvFileState;
  runtime: FunctionRuntime;
  routes: RouteTable;
  events: DevSessionEmitter;
  clock: Clock;
}

export interface ReloadController {
  /** Queues a reload of `paths` (all files after the one running, never two at once). */
  schedule(paths: readonly string[]): void;
  /** Reloads on the watcher's relevant changes and keeps its hot files up to date. */
  watch(watcher: Watcher): void;
  /** Resolves when no reload is pending or running. */
  idle(): Promise<void>;
  /** Stops watching and reloading; resolves when the running reload is done. */
  close(): Promise<void>;
}

export function createReloadController(options: ReloadControllerOptions): ReloadController {
  const { root, env, runtime, routes, events, clock } = options;
  let envFile = options.envFile;
  let watcher: Watcher | undefined;
  let unsubscribe: (() => void) | undefined;

  /** Applies a changed `.env`, and restarts the backend when it configures it. */
  const applyEnv = async (): Promise<void> => {
    const loaded = await loadEnvFile(root, env);
    const applied = applyEnvFile(env, loaded.values, envFile, loaded.path);
    envFile = applied.state;
    registerSecret(env.RUNPOD_API_KEY);
    if (applied.changed.length === 0) return;
    const restartsBackend = applied.changed.some((key) => BACKEND_SETTINGS.has(key));
    // The backend kind is chosen once, at start; a key that appears later does not move a local session to Runpod.
    const keyIgnored = restartsBackend && runtime.backends.current.kind === "local" && Boolean(env.RUNPOD_API_KEY?.trim());
    events.emit("envChanged", { keys: applied.changed, restartsBackend, keyIgnored });
    if (restartsBackend) await runtime.restartBackend();
  };

  const reloader = createReloader({
    // Requests a change may affect wait for the run applying it; the rest are served meanwhile.
    // A .env change re-imports every module, so it may affect every route.
    onPending: (paths) => routes.beginReload(paths.includes(".env") ? "all" : runtime.discovery.affectedRoutes(paths)),
    onRun: () => routes.startReload(),
    run: async (paths) => {
      const started = clock.now();
      events.emit("reloadStarted", { paths });
      try {
        const envChanged = paths.includes(".env");
        if (envChanged) await applyEnv();
        const before = routeKeys(routes.routes());
        const next = await runtime.discover(envChanged ? undefined : paths, { fresh: envChanged });
        routes.endReload({ ok: true, manifest: next });
        // Files that looked half-saved keep their last version; look at them again once they could have settled.
        reloader.recheckLater(next.unsettled?.files ?? [], next.unsettled?.recheckInMs ?? 0);
        watcher?.setHotFiles([...next.watchedInputs, ...next.candidates]);
        const after = routeKeys(routes.routes());
        const { added, removed } = diffRoutes(before, after);
        const generation = routes.current?.id ?? next.generation;
        if (added.length > 0 || removed.length > 0) events.emit("routesChanged", { generation, added, removed, routes: after.length });
        events.emit("reloadFinished", { ok: true, paths, durationMs: clock.now() - started, generation, routes: after.length, added, removed });
        runtime.report(next, "reload");
      } catch (thrown) {
        const error = toAppError(thrown);
        routes.endReload({ ok: false, error });
        events.emit("reloadFinished", { ok: false, paths, durationMs: clock.now() - started, error });
      }
    },
  });

  return {
    schedule: (paths) => reloader.schedule(paths),
    watch(w) {
      watcher = w;
      const manifest = runtime.manifest;
      if (manifest) w.setHotFiles([...manifest.watchedInputs, ...manifest.candidates]);
      unsubscribe = w.onChange((batch) => {
        const relevant = batch.paths.filter(isRelevantChange);
        if (relevant.length > 0) reloader.schedule(relevant);
      });
    },
    idle: () => reloader.idle(),
    async close() {
      unsubscribe?.();
      await watcher?.close();
      await reloader.close();
    },
  };
}
