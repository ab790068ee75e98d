/**
 * Calls between remote functions inside a worker (pipelines). When user code
 * calls another remote function, the SDK hands the call to the registry's
 * dispatcher; in a worker that is this one. It sends a FunctionRequest for
 * the *same* module (the bundle contains the callee too) to the endpoint of
 * the callee's resource config, whose id came with the current request
 * (`FunctionRequest.endpoints`, keyed by config name).
 *
 * How the request travels (Runpod's job API, an LB endpoint) is behind
 * NestedCallTransport, so the runtime does not depend on the HTTP clients.
 */
import { AppError } from "../shared/errors.js";
import { FUNCTION_PROTOCOL_VERSION } from "../shared/function-protocol.js";
import type { EndpointRef, FunctionRequest, FunctionResponse, FunctionErrorKind } from "../shared/function-protocol.js";
import { decodeValue, encodeValue } from "../shared/value-codec.js";
import type { Dispatcher, RemoteCall } from "../sdk/registry.js";
import { currentCall } from "./call-context.js";
import type { LoadedModule } from "./module-cache.js";

/** Options of one nested call. */
export interface NestedCallOptions {
  /** How long the caller waits, in ms (what is left of the current call's deadline); absent: no limit. */
  timeoutMs?: number;
  /** Aborted when the calling job is cancelled or timed out. */
  signal?: AbortSignal;
}

/** Sends a FunctionRequest to an endpoint and returns the worker's FunctionResponse. */
export interface NestedCallTransport {
  /** Queue-based endpoint: a job whose input is the request and whose output is the response. */
  callQueue(endpoint: EndpointRef, request: FunctionRequest, options: NestedCallOptions): Promise<FunctionResponse>;
  /** Load-balanced endpoint: `POST <endpoint>/execute`. */
  callLoadBalancer(endpoint: EndpointRef, request: FunctionRequest, options: NestedCallOptions): Promise<FunctionResponse>;
}

/** The error a nested call rethrows when the remote function failed: the remote name, message and stack. */
export class RemoteCallError extends Error {
  readonly kind: FunctionErrorKind;
  /** The endpoint that answered. */
  readonly endpoint: string;

  constructor(info: { kind: FunctionErrorKind; name: string; message: string; stack?: string }, endpoint: string) {
    super(info.message);
    this.name = info.name;
    this.kind = info.kind;
    this.endpoint = endpoint;
    this.stack = info.stack ?? `${info.name}: ${info.message}\n    at <remote> (${endpoint})`;
  }
}

/** A transport for runtimes that were not given one: nested calls fail with a clear message. */
export const unavailableTransport: NestedCallTransport = {
  callQueue: (endpoint) => Promise.reject(noTransport(endpoint)),
  callLoadBalancer: (endpoint) => Promise.reject(noTransport(endpoint)),
};

function noTransport(endpoint: EndpointRef): AppError {
  return new AppError("SERVICE_UNAVAILABLE", `cannot call endpoint ${endpoint.name}: this worker runtime has no transport for calls between endpoints`);
}

export interface NestedDispatcherOptions {
  transport: NestedCallTransport;
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
  const { transport } = options;
  // Per endpoint id: module hashes that endpoint has already received (so code is not re-sent).
  const delivered = new Map<string, Set<string>>();

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
      const mod = options.moduleByUrl(call.identity.bundleUrl) ?? options.moduleByUrl(ctx.moduleUrl);
      if (!mod) throw new AppError("INTERNAL", `cannot call ${describe(call)}: its module is not loaded in this worker`);

      const timeoutMs = call.meta.config.executionTimeoutMs;
      const request: FunctionRequest = {
        flash: FUNCTION_PROTOCOL_VERSION,
        module: { hash: mod.hash },
        target: { file: call.identity.file, export: call.identity.export, ...(call.method ? { method: call.method } : {}) },
        args: call.args.map((arg) => encodeValue(arg)),
        ...(call.instance ? { instance: { id: call.instance.id, args: call.instance.args.map((arg) => encodeValue(arg)) } } : {}),
        ...(mod.dependencies.specs.length > 0 ? { dependencies: [...mod.dependencies.specs] } : {}),
        ...(ctx.request.endpoints ? { endpoints: ctx.request.endpoints } : {}),
        ...(timeoutMs && timeoutMs > 0 ? { timeoutMs } : {}),
      };
      const callOptions: NestedCallOptions = {
        ...(ctx.deadline !== undefined ? { timeoutMs: Math.max(1, Math.round(ctx.deadline - performance.now())) } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      };
      const send = (req: FunctionRequest): Promise<FunctionResponse> =>
        endpoint.kind === "LB" ? transport.callLoadBalancer(endpoint, req, callOptions) : transport.callQueue(endpoint, req, callOptions);

      let seen = delivered.get(endpoint.id);
      if (!seen) delivered.set(endpoint.id, (seen = new Set()));
      const withCode = async (): Promise<FunctionRequest> => ({ ...request, module: { hash: mod.hash, code: await options.readCode(mod) } });

      let response = await send(seen.has(mod.hash) ? request : await withCode());
      if (!response.ok && response.error.kind === "module-missing") {
        // The endpoint lost it (a new worker, a cleared cache): once more, with the code.
        response = await send(await withCode());
      }
      if (!response.ok && response.error.kind === "module-missing") seen.delete(mod.hash);
      else seen.add(mod.hash);
      ctx.logs.addAll(response.logs);
      if (response.ok) return decodeValue(response.result);
      throw new RemoteCallError(response.error, endpoint.name);
    },
  };
}
