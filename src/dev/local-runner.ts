/**
 * Runs `local: true` functions in the dev server process: the generation's
 * bundle is imported here (once per bundle) and the user's function called
 * directly. Bundles resolve `flash-ts` to this process's SDK, so remote calls
 * made from a local function reach the dev server's dispatcher.
 */
import { dirname } from "node:path";
import { AppError, isAppError } from "../shared/errors.js";
import { toProjectStack } from "../discovery/index.js";
import type { FunctionTarget } from "../shared/function-protocol.js";
import { getRegistry } from "../sdk/registry.js";
import type { ModuleBundle } from "../discovery/manifest.js";

export interface LocalRunner {
  run(module: ModuleBundle, target: FunctionTarget, args: unknown[], instance?: { id: string; args: unknown[] }): Promise<unknown>;
}

export function createLocalRunner(): LocalRunner {
  const imported = new Map<string, Promise<unknown>>();
  const instances = new Map<string, Record<string, unknown>>();
  const call = async (module: ModuleBundle, target: FunctionTarget, args: unknown[], instance?: { id: string; args: unknown[] }): Promise<unknown> => {
    let loading = imported.get(module.url);
    if (!loading) {
      loading = import(module.url);
      imported.set(module.url, loading);
      loading.catch(() => imported.delete(module.url));
    }
    await loading;
    const entry = getRegistry().lookup(module.url, target.file, target.export);
    if (!entry) throw new AppError("FUNCTION_LOAD_FAILED", `${target.file} has no remote export ${target.export}`);
    const { meta } = entry;
    if (meta.kind === "function") {
      return (meta.fn as unknown as (...a: unknown[]) => unknown)(...args);
    }
    if (!target.method || !meta.methods.includes(target.method)) {
      throw new AppError("FUNCTION_LOAD_FAILED", `${target.export} has no public async method ${String(target.method)}`);
    }
    const key = `${module.url}#${instance?.id ?? target.export}`;
    let obj = instances.get(key);
    if (!obj) {
      obj = new (meta.cls as unknown as new (...a: unknown[]) => Record<string, unknown>)(...(instance?.args ?? []));
      instances.set(key, obj);
    }
    return (obj[target.method] as (...a: unknown[]) => unknown).apply(obj, args);
  };
  return {
    async run(module, target, args, instance) {
      try {
        return await call(module, target, args, instance);
      } catch (error) {
        // Coded errors (e.g. from a remote call the local function made) pass through as they are.
        if (isAppError(error)) throw error;
        const err = error instanceof Error ? error : new Error(String(error));
        const where = `${target.file}#${target.export}${target.method ? "." + target.method : ""}`;
        throw new AppError("FUNCTION_ERROR", err.message, {
          cause: error,
          details: {
            function: where,
            local: true,
            name: err.name,
            ...(err.stack ? { stack: toProjectStack(err.stack, dirname(module.path)) } : {}),
          },
        });
      }
    },
  };
}
