/**
 * Calls between remote functions inside a worker (pipelines). When user code
 * calls another remote function, the SDK hands the call to the registry's
 * dispatcher; in a worker that is this one. It sends the *same* module (the
 * bundle contains the callee too) to the endpoint of the callee's resource
 * config, whose id came with the current request (`FunctionRequest.endpoints`,
 * keyed by config name), through the one function-call client (src/calls).
 * The call is abandoned (its job cancelled) when the calling job is cancelled
 * or times out, and it waits no longer than the calling job's deadline.
 */
import { AppError } from "../common/errors.js";
import type { Dispatcher, RemoteCall } from "../sdk/registry.js";
import type { FunctionClient } from "../calls/function-client.js";
import { currentCall } from "./call-context.js";
import { UNBOUNDED_WAIT_MS, underInspector } from "./inspector-state.js";
import type { LoadedModule } from "./module-cache.js";

export interface NestedDispatcherOptions {
  /** Sends the calls. Absent: nested calls fail with a clear error. */
  calls: FunctionClient | undefined;
  /** The loaded module a bundle URL belongs to. */
  moduleByUrl(url: string): LoadedModule | undefined;
  /** The original code of a loaded module. */
  readCode(mod: LoadedModule): Promise<string>;
}

function describe(call: RemoteCall): string {
  return `${call.identity.file}#${call.identity.export}${call.method ? "." + call.method : ""}`;
}

/** Creates the dispatcher the worker installs with setDispatcher(). */
export function createNestedDispatcher(options: NestedDispatcherOptions): Dispatcher {
  return {
    async call(call) {
      const ctx = currentCall();
      if (!ctx) {
        throw new AppError("SERVICE_UNAVAILABLE", `cannot call ${describe(call)}: remote functions can only be called while a function runs in this worker`);
      }
      const configName = call.meta.config.name;
      const endpoint = ctx.request.endpoints?.[configName];
      if (!endpoint) {
        throw new AppError("INVALID_CONFIG", `cannot call ${describe(call)}: no endpoint id for resource config "${configName}" came with this request`, {
          hint: "The caller sends the endpoints of every config the module can reach; provision that endpoint (or restart flash dev) and try again.",
        });
      }
      if (!options.calls) {
        throw new AppError("SERVICE_UNAVAILABLE", `cannot call endpoint ${endpoint.name}: this worker runtime has no client for calls between endpoints`);
      }
      const mod = options.moduleByUrl(call.identity.bundleUrl) ?? options.moduleByUrl(ctx.moduleUrl);
      if (!mod) throw new AppError("INTERNAL", `cannot call ${describe(call)}: its module is not loaded in this worker`);

      // Under a debugger the callee may be held paused too (inspector-state.ts): no limit, no deadline.
      const debugging = underInspector();
      const result = await options.calls.call({
        to: { endpoint },
        module: { hash: mod.hash, code: () => options.readCode(mod) },
        target: { file: call.identity.file, export: call.identity.export, ...(call.method ? { method: call.method } : {}) },
        args: call.args,
        ...(call.instance ? { instance: call.instance } : {}),
        dependencies: mod.dependencies.specs,
        ...(ctx.request.endpoints ? { endpoints: ctx.request.endpoints } : {}),
        executionTimeoutMs: debugging ? 0 : call.meta.config.executionTimeoutMs,
        ...(ctx.deadline !== undefined ? { waitMs: Math.max(1, Math.round(ctx.deadline - performance.now())) } : debugging ? { waitMs: UNBOUNDED_WAIT_MS } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        // The callee's console output joins the caller's (live, when the callee streams it), labelled with the callee.
        observer: { logs: (logs) => ctx.logs.addAll(logs, endpoint.name) },
      });
      return result.value;
    },
  };
}
