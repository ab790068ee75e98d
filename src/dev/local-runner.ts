/**
 * Runs `local: true` functions in the dev server process, through the same
 * executor as a worker (src/worker/execute.ts): the same argument and result
 * encoding, the same execution timeout, instance and log caps, the same
 * reading of thrown values, so a function behaves alike wherever it runs. Only
 * where modules come from differs: the generation's bundle already on disk is
 * imported here (it resolves `flash-ts` to this process's SDK, so remote calls
 * made from a local function reach the dev server's dispatcher).
 */
import { dirname } from "node:path";
import type { FunctionRequest } from "../common/function-protocol.js";
import type { Logger } from "../common/logger.js";
import type { ModuleBundle } from "../discovery/manifest.js";
import type { LocalRunner } from "../calls/function-client.js";
import { createExecutor } from "../worker/execute.js";
import type { ModuleSource } from "../worker/execute.js";
import { CallError } from "../worker/call-error.js";
import { nativeImport } from "../worker/module-cache.js";
import type { LoadedModule } from "../worker/module-cache.js";
import { enableSourceMaps, registerModuleSources } from "../worker/stack-trace.js";

export interface LocalExecutor extends LocalRunner {
  /** Restores the console. Idempotent. */
  close(): void;
}

export interface LocalRunnerOptions {
  /** The bundle with this hash, from a generation being served. */
  bundleByHash(hash: string): ModuleBundle | undefined;
  logger: Logger;
}

/** Imported bundles remembered (Node keeps the modules themselves; this only saves a lookup). */
const MAX_REMEMBERED = 1000;

/** Bundles already on disk as the executor's modules: imported once, never written or installed. */
function bundleSource(options: LocalRunnerOptions): ModuleSource {
  const loaded = new Map<string, Promise<LoadedModule>>();
  const byUrl = new Map<string, LoadedModule>();
  let root = process.cwd();
  const remember = <T>(map: Map<string, T>, key: string, value: T): void => {
    if (map.size >= MAX_REMEMBERED) map.delete(map.keys().next().value as string);
    map.set(key, value);
  };
  return {
    get root() {
      return root;
    },
    prepare: async () => {},
    load(request: FunctionRequest) {
      const bundle = options.bundleByHash(request.module.hash);
      if (!bundle) {
        return Promise.reject(new CallError("load", `module ${request.module.hash.slice(0, 12)} is not part of a served generation`, { name: "TargetNotFound" }));
      }
      // Stacks show bundle frames relative to the bundles' folder: the project-relative sources.
      root = dirname(bundle.path);
      let pending = loaded.get(bundle.url);
      if (!pending) {
        pending = (async () => {
          // Frames are named by the map's sources, wherever its source root makes them point (--inspect: the project).
          registerModuleSources(bundle.url, bundle.code);
          try {
            await nativeImport(bundle.url);
          } catch (error) {
            const err = error instanceof Error ? error : new Error(String(error));
            throw new CallError("load", `${bundle.file} failed to load: ${err.message}`, { name: err.name, cause: err });
          }
          const mod: LoadedModule = { hash: bundle.hash, url: bundle.url, path: bundle.path, dependencies: { key: "local", specs: bundle.dependencies } };
          remember(byUrl, mod.url, mod);
          return mod;
        })();
        remember(loaded, bundle.url, pending);
        pending.catch(() => loaded.delete(bundle.url));
      }
      return pending;
    },
    byUrl: (url) => byUrl.get(url),
    readCode: async (mod) => options.bundleByHash(mod.hash)?.code ?? "",
  };
}

export function createLocalRunner(options: LocalRunnerOptions): LocalExecutor {
  // Bundles live under the project's node_modules/.cache, which Node leaves out of source maps by default.
  enableSourceMaps({ nodeModules: true });
  const executor = createExecutor({
    modules: bundleSource(options),
    logger: options.logger,
    // The dev server's own dispatcher (remote-invoker) sends calls made by local functions.
    installDispatcher: false,
  });
  return {
    name: "local",
    execute: (request, executeOptions) => executor.execute(request, executeOptions),
    close: () => executor.close(),
  };
}
