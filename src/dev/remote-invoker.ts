/**
 * Runs functions for the dev server: for a remote function it provisions the
 * endpoint of the function's config (and of every config reachable from its
 * bundle, so a pipeline can call them) and calls it through the one
 * function-call client (src/calls); a `local: true` function runs in this
 * process through the worker's executor. Console output is printed prefixed
 * with the endpoint name (`local` for local functions).
 *
 * It is also the SDK dispatcher of the dev server process, so a local function
 * that calls a remote one goes through here too, abandoned with its caller.
 */
import { AppError, toAppError } from "../common/errors.js";
import type { EndpointRef, FunctionLog, FunctionTarget } from "../common/function-protocol.js";
import type { Logger } from "../common/logger.js";
import type { Dispatcher, RemoteCall } from "../sdk/registry.js";
import type { ResourceSpec } from "../sdk/resources.js";
import type { FunctionEntry, Manifest, ModuleBundle } from "../discovery/manifest.js";
import type { ProvisionedEndpoint } from "../provision/provisioner.js";
import { DEFAULT_EXECUTION_TIMEOUT_MS } from "../provision/endpoint-request.js";
import { createFunctionClient, describeTarget } from "../calls/index.js";
import type { CallObserver, CallResult, FunctionCall, FunctionClient, JobApi, LoadBalancerApi } from "../calls/index.js";
import { notify } from "../calls/call-observer.js";
import { currentCall } from "../worker/call-context.js";
import { UNBOUNDED_WAIT_MS } from "../worker/inspector-state.js";
import type { LocalExecutor } from "./local-runner.js";
import type { FunctionInvoker, InvokeContext, InvokeResult } from "../server/invoker.js";

export interface RemoteInvokerOptions {
  ensureEndpoint(spec: ResourceSpec): Promise<ProvisionedEndpoint>;
  /** QB calls go through this job client. */
  queue: JobApi;
  /** LB calls go through this client. */
  loadBalancer: LoadBalancerApi;
  /** Base URL of an LB endpoint. */
  loadBalancerUrl(endpointId: string): string;
  localRunner: LocalExecutor;
  logger: Logger;
  /** Prints one line of a function's console output. Default: logger.info (stderr lines: warn) with the endpoint prefix. */
  printLog?: (endpointName: string, stream: "stdout" | "stderr", text: string) => void;
  /**
   * Watches each call from its start (before its endpoint is provisioned) to
   * its end: submitted, status, logs, finished. `finished` always comes, also
   * when provisioning fails before the request is sent.
   */
  observe?: (call: ObservedCall) => CallObserver | undefined;
  /**
   * No execution limits (`flash dev --inspect`): calls go without one, the
   * worker enforces none, and the wait for them is unbounded (7 days), so a
   * call a debugger holds paused is not ended by a timer that ran meanwhile.
   */
  noTimeouts?: boolean;
}

/** A call of a function in a registered generation's bundle (see RemoteInvoker.callModule). */
export interface ModuleCall {
  /** The bundle's URL (`ModuleBundle.url`). */
  moduleUrl: string;
  target: FunctionTarget;
  /** The function's config, as the caller built it. */
  spec: ResourceSpec;
  /** Run it in this process instead of on its endpoint. */
  local?: boolean;
  args: unknown[];
  instance?: { id: string; args: unknown[] };
  /** Aborting it abandons the call (its job is cancelled). */
  signal?: AbortSignal;
  /** How long to wait in all; default the function's limit plus a grace period. */
  waitMs?: number;
}

/** A call as `observe` sees it when it starts. */
export interface ObservedCall {
  /** `file#export` (`file#Class.method`). */
  function: string;
  /** The endpoint name, or `local`. */
  endpoint: string;
  local: boolean;
  /** The route and request a served call answers; absent for calls made by code in this process. */
  route?: { method: string; path: string };
  requestId?: string;
  /** True once the call was given up: its client went away, or the invoker closed. */
  abandoned(): boolean;
}

/** How long past the execution timeout the client keeps waiting for the platform's verdict. */
const CLIENT_GRACE_MS = 60_000;
/** Bundles kept per hash for local calls (old generations' bundles go first). */
const MAX_BUNDLES = 4096;

export class RemoteInvoker implements Dispatcher, FunctionInvoker {
  readonly #options: RemoteInvokerOptions;
  readonly #calls: FunctionClient;
  /** Bundles by URL, for calls dispatched from code running in this process. */
  readonly #bundles = new Map<string, { module: ModuleBundle; manifest: Manifest }>();
  /** Bundles by hash, for the local executor. */
  readonly #byHash = new Map<string, ModuleBundle>();
  /** Set by close(): calls are refused with it (the client refuses them the same way). */
  #closedWith: AppError | undefined;

  constructor(options: RemoteInvokerOptions) {
    this.#options = options;
    this.#calls = createFunctionClient({ jobs: options.queue, loadBalancer: options.loadBalancer, defaultWaitMs: DEFAULT_EXECUTION_TIMEOUT_MS + CLIENT_GRACE_MS });
  }

  /** The bundle with this hash among the registered generations (the local executor's module source). */
  bundleByHash(hash: string): ModuleBundle | undefined {
    return this.#byHash.get(hash);
  }

  /** Makes a generation's functions and bundles known. Call before serving it. */
  registerManifest(manifest: Manifest): void {
    for (const module of Object.values(manifest.modules)) {
      this.#bundles.set(module.url, { module, manifest });
      this.#byHash.delete(module.hash);
      this.#byHash.set(module.hash, module);
      if (this.#byHash.size > MAX_BUNDLES) this.#byHash.delete(this.#byHash.keys().next().value as string);
    }
    // Keep bundles of recent generations only; old ones are unreachable once their requests finish.
    const keep = new Set(Object.values(manifest.modules).map((m) => m.url));
    if (this.#bundles.size > keep.size * 4 + 16) {
      for (const url of this.#bundles.keys()) {
        if (this.#bundles.size <= keep.size * 2 + 8) break;
        if (!keep.has(url)) this.#bundles.delete(url);
      }
    }
  }

  /** Runs a served function with the route's input; abandoned (its job cancelled) when the client goes away. */
  async invoke(entry: FunctionEntry, input: unknown, ctx: InvokeContext): Promise<InvokeResult> {
    const module = ctx.manifest.modules[entry.file];
    if (!module) {
      throw new AppError("INTERNAL", `no bundle for ${entry.file} in the served generation`);
    }
    const target: FunctionTarget = { file: entry.file, export: entry.export, ...(entry.method ? { method: entry.method } : {}) };
    // Routes of a class share one instance per version of its module, so a save
    // elsewhere does not re-run its constructor (a model load) on the worker.
    const instance = entry.method ? { id: `${entry.export}@${module.hash.slice(0, 16)}`, args: [] } : undefined;
    const origin = { route: { method: entry.route.method, path: entry.route.path }, requestId: ctx.requestId };
    const result = await this.#run(ctx.manifest, module, target, entry.config, entry.local, [input], instance, ctx.signal, origin);
    return { output: result.value, ...(result.jobId ? { jobId: result.jobId } : {}) };
  }

  /** SDK dispatcher: a remote function called by code running in this process (a local function). */
  async call(call: RemoteCall): Promise<unknown> {
    // The local call this one is made from: abandoned with it, and bounded by its deadline.
    const parent = currentCall();
    const waitMs = parent?.deadline !== undefined ? Math.max(1, Math.round(parent.deadline - performance.now())) : undefined;
    return this.callModule({
      moduleUrl: call.identity.bundleUrl,
      target: { file: call.identity.file, export: call.identity.export, ...(call.method ? { method: call.method } : {}) },
      spec: call.meta.config.toSpec(),
      local: call.meta.options.local === true,
      args: call.args,
      ...(call.instance ? { instance: call.instance } : {}),
      ...(parent?.signal ? { signal: parent.signal } : {}),
      ...(waitMs !== undefined ? { waitMs } : {}),
    });
  }

  /**
   * Runs a function of a bundle of a registered generation: for this process's
   * dispatcher, and for code in another process (`flash run`'s script), whose
   * calls name the generation's bundle of the function's file.
   */
  async callModule(request: ModuleCall): Promise<unknown> {
    const known = this.#bundles.get(request.moduleUrl);
    if (!known) {
      throw new AppError("SERVICE_UNAVAILABLE", `cannot call ${describeTarget(request.target)}: its bundle is not part of a served generation`);
    }
    const result = await this.#run(known.manifest, known.module, request.target, request.spec, request.local === true, request.args, request.instance, request.signal, {}, request.waitMs);
    return result.value;
  }

  /** Abandons every call in flight (their jobs are cancelled) and waits for that, a few seconds at most. */
  async close(): Promise<void> {
    this.#closedWith ??= new AppError("SERVICE_UNAVAILABLE", "flash dev is stopping: the call was cancelled");
    await this.#calls.close({ reason: this.#closedWith });
    this.#options.localRunner.close();
  }

  async #run(
    manifest: Manifest,
    module: ModuleBundle,
    target: FunctionTarget,
    spec: ResourceSpec,
    local: boolean,
    args: unknown[],
    instance: { id: string; args: unknown[] } | undefined,
    signal: AbortSignal | undefined,
    origin: Pick<ObservedCall, "route" | "requestId">,
    waitMs?: number,
  ): Promise<CallResult> {
    const noTimeouts = this.#options.noTimeouts === true;
    const limitMs = noTimeouts ? 0 : spec.executionTimeoutMs > 0 ? spec.executionTimeoutMs : DEFAULT_EXECUTION_TIMEOUT_MS;
    const common: Omit<FunctionCall, "to" | "observer"> = {
      module: { hash: module.hash, code: () => module.code },
      target,
      args,
      ...(instance ? { instance } : {}),
      dependencies: module.dependencies,
      ...(signal ? { signal } : {}),
    };
    // Refused before it starts, so a watcher never sees a call begin that cannot end.
    if (this.#closedWith) throw this.#closedWith;
    const endpointName = local ? "local" : spec.endpointName;
    const watcher = this.#options.observe?.({
      function: describeTarget(target),
      endpoint: endpointName,
      local,
      ...origin,
      abandoned: () => this.#closedWith !== undefined || signal?.aborted === true,
    });
    const observer = this.#observer(endpointName, watcher);
    if (local) {
      // A local function gets the limit a worker would enforce (the endpoint's default included).
      return this.#calls.call({ ...common, to: { local: this.#options.localRunner }, executionTimeoutMs: limitMs, ...(waitMs !== undefined ? { waitMs } : {}), observer });
    }
    const started = performance.now();
    let endpoints: Record<string, EndpointRef>;
    try {
      endpoints = await this.#reachableEndpoints(manifest, module, spec);
    } catch (error) {
      // The client never saw this call: end it for the watcher here.
      notify(watcher, "finished", { ok: false, error: toAppError(error), durationMs: performance.now() - started });
      throw error;
    }
    return this.#calls.call({
      ...common,
      // The function's own config is always among the reachable ones.
      to: { endpoint: endpoints[spec.name]! },
      endpoints,
      executionTimeoutMs: noTimeouts ? 0 : spec.executionTimeoutMs,
      waitMs: waitMs ?? (noTimeouts ? UNBOUNDED_WAIT_MS : limitMs + CLIENT_GRACE_MS),
      observer,
    });
  }

  /** Prints the call's console output, and hands its events to the watcher when there is one. */
  #observer(endpoint: string, watcher: CallObserver | undefined): CallObserver {
    return {
      ...watcher,
      logs: (logs: readonly FunctionLog[]) => {
        for (const log of logs) this.#printLog(endpoint, log.stream, log.text);
        watcher?.logs?.(logs);
      },
    };
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

  #printLog(endpointName: string, stream: "stdout" | "stderr", text: string): void {
    if (this.#options.printLog) return this.#options.printLog(endpointName, stream, text);
    const line = text.endsWith("\n") ? text.slice(0, -1) : text;
    if (stream === "stderr") this.#options.logger.warn(`[${endpointName}] ${line}`);
    else this.#options.logger.info(`[${endpointName}] ${line}`);
  }
}
