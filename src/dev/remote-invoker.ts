/**
 * Executes remote functions for the dev server: provisions the endpoint of
 * the function's config (and of every config reachable from its bundle, so a
 * pipeline can call them), sends a FunctionRequest through the job API (QB)
 * or the load-balanced `/execute` route (LB), prints the function's console
 * output prefixed with the endpoint name, and turns the answer into a value
 * or a coded error. The same code serves the local emulator and Runpod: only
 * the clients' base URLs differ.
 *
 * It is also the SDK dispatcher of the dev server process, so a `local: true`
 * function that calls a remote one goes through here too.
 */
import { AppError, isAppError } from "../shared/errors.js";
import { FUNCTION_PROTOCOL_VERSION, parseFunctionResponse } from "../shared/function-protocol.js";
import type { EndpointRef, FunctionRequest, FunctionResponse, FunctionTarget } from "../shared/function-protocol.js";
import type { Logger } from "../shared/logger.js";
import { decodeValue, encodeValue } from "../shared/value-codec.js";
import type { JsonValue } from "../shared/value-codec.js";
import type { Dispatcher, RemoteCall } from "../sdk/registry.js";
import type { ResourceSpec } from "../sdk/resources.js";
import type { FunctionEntry, Manifest, ModuleBundle } from "../discovery/manifest.js";
import { executionPolicy } from "../runpod/wire-types.js";
import type { JobRequest, JobState } from "../runpod/wire-types.js";
import type { ProvisionedEndpoint } from "../provision/provisioner.js";
import { DEFAULT_EXECUTION_TIMEOUT_MS } from "../provision/endpoint-request.js";
import type { LocalRunner } from "./local-runner.js";
import type { FunctionInvoker, InvokeContext, InvokeResult } from "../server/invoker.js";

/** How QB requests reach an endpoint (the job client implements it). */
export interface QueueTransport {
  runToCompletion(endpointId: string, request: JobRequest, options: { timeoutMs: number; signal?: AbortSignal }): Promise<JobState>;
}

/** How LB requests reach an endpoint (the load-balancer client implements it). */
export interface LoadBalancerTransport {
  request(
    endpointIdOrBaseUrl: string,
    options: { method: string; path: string; json?: unknown; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<{ status: number; body: unknown }>;
}

export interface RemoteInvokerOptions {
  ensureEndpoint(spec: ResourceSpec): Promise<ProvisionedEndpoint>;
  queue: QueueTransport;
  loadBalancer: LoadBalancerTransport;
  /** Base URL of an LB endpoint. */
  loadBalancerUrl(endpointId: string): string;
  localRunner: LocalRunner;
  logger: Logger;
  /** Prints one line of a function's console output. Default: logger.info with the endpoint prefix. */
  printLog?: (endpointName: string, stream: "stdout" | "stderr", text: string) => void;
}


/** How long past the execution timeout the client keeps waiting for the platform's verdict. */
const CLIENT_GRACE_MS = 60_000;

export class RemoteInvoker implements Dispatcher, FunctionInvoker {
  readonly #options: RemoteInvokerOptions;
  /** Bundles by URL, for calls dispatched from code running in this process. */
  readonly #bundles = new Map<string, { module: ModuleBundle; manifest: Manifest }>();
  /** Module hashes each endpoint has already received (so code is not re-sent). */
  readonly #sent = new Map<string, Set<string>>();

  constructor(options: RemoteInvokerOptions) {
    this.#options = options;
  }

  /** Makes a generation's functions and bundles known. Call before serving it. */
  registerManifest(manifest: Manifest): void {
    for (const module of Object.values(manifest.modules)) this.#bundles.set(module.url, { module, manifest });
    // Keep bundles of recent generations only; old ones are unreachable once their requests finish.
    const keep = new Set(Object.values(manifest.modules).map((m) => m.url));
    if (this.#bundles.size > keep.size * 4 + 16) {
      for (const url of this.#bundles.keys()) {
        if (this.#bundles.size <= keep.size * 2 + 8) break;
        if (!keep.has(url)) this.#bundles.delete(url);
      }
    }
  }

  /** Runs a served function with the route's input. */
  async invoke(entry: FunctionEntry, input: unknown, ctx: InvokeContext): Promise<InvokeResult> {
    const { manifest } = ctx;
    const module = manifest.modules[entry.file];
    if (!module) {
      throw new AppError("INTERNAL", `no bundle for ${entry.file} in the served generation`);
    }
    const target: FunctionTarget = { file: entry.file, export: entry.export, ...(entry.method ? { method: entry.method } : {}) };
    // Routes of a class share one instance per version of its module, so a save
    // elsewhere does not re-run its constructor (a model load) on the worker.
    const instance = entry.method ? { id: `${entry.export}@${module.hash.slice(0, 16)}`, args: [] } : undefined;
    if (entry.local) {
      const output = await this.#options.localRunner.run(module, target, [input], instance);
      return { output };
    }
    return this.#callRemote(manifest, module, target, entry.config, [input], instance, ctx.signal);
  }

  /** SDK dispatcher: a remote function called by code running in this process (a local function). */
  async call(call: RemoteCall): Promise<unknown> {
    const known = this.#bundles.get(call.identity.bundleUrl);
    if (!known) {
      throw new AppError("SERVICE_UNAVAILABLE", `cannot call ${call.identity.file}#${call.identity.export}: its bundle is not part of a served generation`);
    }
    const target: FunctionTarget = { file: call.identity.file, export: call.identity.export, ...(call.method ? { method: call.method } : {}) };
    const spec = call.meta.config.toSpec();
    if (call.meta.options.local) return this.#options.localRunner.run(known.module, target, call.args, call.instance);
    const result = await this.#callRemote(known.manifest, known.module, target, spec, call.args, call.instance);
    return result.output;
  }

  async #callRemote(
    manifest: Manifest,
    module: ModuleBundle,
    target: FunctionTarget,
    spec: ResourceSpec,
    args: unknown[],
    instance: { id: string; args: unknown[] } | undefined,
    signal?: AbortSignal,
  ): Promise<InvokeResult> {
    const endpoints = await this.#reachableEndpoints(manifest, module, spec);
    // The function's own config is always among the reachable ones.
    const endpoint = endpoints[spec.name]!;
    let encodedArgs: JsonValue[];
    let encodedInstance: FunctionRequest["instance"];
    try {
      encodedArgs = args.map((a) => encodeValue(a));
      encodedInstance = instance ? { id: instance.id, args: instance.args.map((a) => encodeValue(a)) } : undefined;
    } catch (error) {
      throw new AppError("INVALID_INPUT", `cannot send the arguments: ${(error as Error).message}`, { cause: error });
    }
    const timeoutMs = spec.executionTimeoutMs > 0 ? spec.executionTimeoutMs : 0;
    const build = (withCode: boolean): FunctionRequest => ({
      flash: FUNCTION_PROTOCOL_VERSION,
      module: withCode ? { hash: module.hash, code: module.code } : { hash: module.hash },
      target,
      args: encodedArgs,
      ...(encodedInstance ? { instance: encodedInstance } : {}),
      dependencies: module.dependencies,
      endpoints,
      ...(timeoutMs > 0 ? { timeoutMs } : {}),
    });
    const sent = this.#sent.get(endpoint.id) ?? new Set<string>();
    this.#sent.set(endpoint.id, sent);

    let attempt = await this.#send(endpoint, spec, build(!sent.has(module.hash)), signal);
    if (!attempt.response.ok && attempt.response.error.kind === "module-missing") {
      // A worker we have not talked to yet (a new or restarted one): send the code.
      attempt = await this.#send(endpoint, spec, build(true), signal);
    }
    const { response, jobId } = attempt;
    for (const log of response.logs) this.#printLog(spec.endpointName, log.stream, log.text);
    if (response.ok) {
      sent.add(module.hash);
      return { output: decodeValue(response.result), ...(jobId ? { jobId } : {}) };
    }
    if (response.error.kind !== "module-missing") sent.add(module.hash);
    throw this.#functionError(spec, target, response, jobId);
  }

  /** Ensures the endpoints of every config reachable from the bundle, keyed by config name. */
  async #reachableEndpoints(manifest: Manifest, module: ModuleBundle, own: ResourceSpec): Promise<Record<string, EndpointRef>> {
    const files = new Set(module.inputs);
    const specs = new Map<string, ResourceSpec>([[own.name, own]]);
    for (const fn of manifest.functions) {
      if (files.has(fn.file) && !fn.local && !specs.has(fn.config.name)) specs.set(fn.config.name, fn.config);
    }
    const entries = await Promise.all(
      [...specs.values()].map(async (spec) => {
        const endpoint = await this.#options.ensureEndpoint(spec);
        const ref: EndpointRef = {
          id: endpoint.id,
          name: endpoint.name,
          kind: endpoint.kind,
          ...(endpoint.kind === "LB" ? { url: this.#options.loadBalancerUrl(endpoint.id) } : {}),
        };
        return [spec.name, ref] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  async #send(
    endpoint: ProvisionedEndpoint,
    spec: ResourceSpec,
    request: FunctionRequest,
    signal?: AbortSignal,
  ): Promise<{ response: FunctionResponse; jobId?: string }> {
    const executionMs = spec.executionTimeoutMs > 0 ? spec.executionTimeoutMs : DEFAULT_EXECUTION_TIMEOUT_MS;
    const timeoutMs = executionMs + CLIENT_GRACE_MS;
    if (endpoint.kind === "LB") {
      let answer: { status: number; body: unknown };
      try {
        answer = await this.#options.loadBalancer.request(this.#options.loadBalancerUrl(endpoint.id), {
          method: "POST",
          path: "/execute",
          json: request,
          timeoutMs,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        throw this.#transportError(spec, error);
      }
      if (answer.status !== 200) {
        const detail = typeof answer.body === "object" && answer.body !== null ? JSON.stringify(answer.body) : String(answer.body);
        const code = answer.status === 503 || answer.status === 502 ? "WORKER_UNREACHABLE" : answer.status === 504 ? "FUNCTION_TIMEOUT" : "UPSTREAM_ERROR";
        throw new AppError(code, `${spec.endpointName} answered ${answer.status}: ${detail.slice(0, 500)}`, {
          details: { endpoint: spec.endpointName },
        });
      }
      return { response: parseFunctionResponse(answer.body) };
    }
    let job: JobState;
    try {
      job = await this.#options.queue.runToCompletion(
        endpoint.id,
        { input: request, ...executionPolicy(spec.executionTimeoutMs) },
        { timeoutMs, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      throw this.#transportError(spec, error);
    }
    const details = { endpoint: spec.endpointName, jobId: job.id };
    switch (job.status) {
      case "COMPLETED":
        return { response: parseFunctionResponse(job.output), jobId: job.id };
      case "TIMED_OUT":
        throw new AppError("FUNCTION_TIMEOUT", `${spec.endpointName}: the function ran longer than its execution timeout (${executionMs} ms)`, {
          hint: "Raise executionTimeoutMs in the resource config if the work really takes this long.",
          details,
        });
      case "CANCELLED":
        throw new AppError("FUNCTION_CANCELLED", `${spec.endpointName}: job ${job.id} was cancelled`, { details });
      case "FAILED": {
        const message = job.error ?? "the job failed without an error message";
        // Runpod's job API carries a failure as free text only; a worker that
        // died is told apart by the platform's wording (the emulator's too).
        const crashed = /exited|crash|killed|signal/i.test(message);
        throw new AppError(crashed ? "WORKER_CRASHED" : "FUNCTION_ERROR", `${spec.endpointName}: ${message}`, { details });
      }
      default:
        throw new AppError("FUNCTION_TIMEOUT", `${spec.endpointName}: job ${job.id} did not finish (status ${job.status})`, { details });
    }
  }

  #transportError(spec: ResourceSpec, error: unknown): AppError {
    if (isAppError(error)) {
      if (error.code === "UPSTREAM_TIMEOUT") {
        return new AppError("FUNCTION_TIMEOUT", `${spec.endpointName}: no answer in time (${error.message})`, { cause: error, details: { endpoint: spec.endpointName, ...error.details } });
      }
      if (error.code === "PROVISION_FAILED" || error.code === "WORKER_UNREACHABLE" || error.code === "UNAUTHORIZED") return error;
      return new AppError("WORKER_UNREACHABLE", `${spec.endpointName}: ${error.message}`, { cause: error, details: { endpoint: spec.endpointName } });
    }
    return new AppError("WORKER_UNREACHABLE", `${spec.endpointName}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }

  #functionError(spec: ResourceSpec, target: FunctionTarget, response: FunctionResponse & { ok: false }, jobId?: string): AppError {
    const { error } = response;
    const where = `${target.file}#${target.export}${target.method ? "." + target.method : ""}`;
    const details: Record<string, unknown> = {
      endpoint: spec.endpointName,
      function: where,
      name: error.name,
      ...(error.stack ? { stack: error.stack } : {}),
      ...(jobId ? { jobId } : {}),
      ...(response.logs.length ? { logs: response.logs.map((l) => l.text) } : {}),
    };
    switch (error.kind) {
      case "timeout":
        return new AppError("FUNCTION_TIMEOUT", `${where} ran longer than its execution timeout: ${error.message}`, { details });
      case "dependencies":
        return new AppError("DEPENDENCY_INSTALL_FAILED", `${where}: ${error.message}`, { details, hint: "Check the package specs in the function's dependencies option." });
      case "load":
        return new AppError("FUNCTION_LOAD_FAILED", `${where}: ${error.message}`, { details });
      case "runtime":
      case "module-missing":
        return new AppError("UPSTREAM_ERROR", `${spec.endpointName}: ${error.message}`, { details });
      default:
        return new AppError("FUNCTION_ERROR", error.message, { details });
    }
  }

  #printLog(endpointName: string, stream: "stdout" | "stderr", text: string): void {
    if (this.#options.printLog) return this.#options.printLog(endpointName, stream, text);
    const line = text.endsWith("\n") ? text.slice(0, -1) : text;
    if (stream === "stderr") this.#options.logger.warn(`[${endpointName}] ${line}`);
    else this.#options.logger.info(`[${endpointName}] ${line}`);
  }
}

