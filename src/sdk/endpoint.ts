/**
 * `Endpoint`: Python Flash's current API in TypeScript (docs/internals.md,
 * "Endpoint"). One class, three uses, as in Python:
 *
 * - queue-based: `export const f = new Endpoint({ name, gpu }).fn(async (input) => …)`,
 *   `Endpoint.fn({ name, gpu }, fn)`, or `@ep.fn` / `@Endpoint.fn({ … })` on a class;
 * - load-balanced: `const api = new Endpoint({ name, cpu })`, then
 *   `export const create = api.post("/items", fn)` (and get/put/patch/delete);
 * - client of an existing endpoint: `new Endpoint({ id })` (or
 *   `Endpoint.connect({ name })`): `run`, `runsync`, `job`, and
 *   get/post/put/patch/delete(path, body?) calls.
 *
 * Definitions become the same resource configs and remote functions remote()
 * makes, so discovery, routes, provisioning and reloads treat them alike. The
 * client loads the Runpod HTTP clients on its first call, so importing the SDK
 * stays light (workers import it too).
 */
import { AppError } from "../common/errors.js";
import { createEndpointClient } from "./endpoint-client.js";
import type { EndpointClient, QueryValue, RequestOptions, RunOptions, RunsyncOptions } from "./endpoint-client.js";
import type { EndpointJob } from "./endpoint-job.js";
import { misuse, parseConnectByName, parseEndpointOptions } from "./endpoint-options.js";
import type { EndpointConfigOptions, EndpointOptions, ParsedEndpoint } from "./endpoint-options.js";
import { checkRoutePath, configError, createRemoteClass, createRemoteFunction } from "./remote.js";
import type { RemoteFunction } from "./remote.js";
import type { HttpMethod, RemoteOptions } from "./registry.js";
import { CpuLiveLoadBalancer, CpuLiveServerless, LiveLoadBalancer, LiveServerless } from "./resources.js";
import type { CpuResourceOptions, GpuResourceOptions, ResourceConfig } from "./resources.js";

/** Marks the options of Endpoint.connect({ name }) (a symbol: no user option can collide with it). */
const CONNECT_BY_NAME = Symbol("flash-ts.connectByName");

type AnyFunction = (...args: never[]) => unknown;
type AnyClass = abstract new (...args: never[]) => unknown;

function isClass(value: unknown): value is AnyClass {
  return typeof value === "function" && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

function makeConfig(options: EndpointConfigOptions, compute: "GPU" | "CPU", kind: "QB" | "LB"): ResourceConfig {
  if (compute === "GPU") {
    const gpu = options as GpuResourceOptions;
    return kind === "QB" ? new LiveServerless(gpu) : new LiveLoadBalancer(gpu);
  }
  const cpu = options as CpuResourceOptions;
  return kind === "QB" ? new CpuLiveServerless(cpu) : new CpuLiveLoadBalancer(cpu);
}

/** A Runpod Serverless endpoint: defined here (functions, routes), or an existing one called as a client. */
export class Endpoint {
  readonly #parsed: ParsedEndpoint;
  #qbConfig: ResourceConfig | undefined;
  #lbConfig: ResourceConfig | undefined;
  #pattern: "functions" | "routes" | undefined;
  readonly #routes = new Set<string>();
  #client: EndpointClient | undefined;

  /**
   * `new Endpoint({ name, gpu | cpu, workers, … })` defines an endpoint;
   * `new Endpoint({ id })` is a client of an existing one.
   * @throws AppError INVALID_CONFIG naming the field at fault.
   */
  constructor(options: EndpointOptions) {
    const byName = (options as { [CONNECT_BY_NAME]?: unknown } | undefined)?.[CONNECT_BY_NAME];
    this.#parsed = byName !== undefined ? parseConnectByName(byName) : parseEndpointOptions(options);
    // A definition is checked whole now (ranges, GPU/CPU types, env), not at first use.
    if (this.#parsed.mode === "definer") this.#qbConfig = makeConfig(this.#parsed.config, this.#parsed.compute, "QB");
    // As a decorator (`@ep.fn`), fn is called without `this`.
    this.fn = this.fn.bind(this) as typeof this.fn;
  }

  /**
   * A client of an existing endpoint, by id or by name (resolved through
   * the control plane at the first call: exactly that name, else `live-<name>`,
   * the name flash dev gives it).
   */
  static connect(target: { id: string; name?: string } | { name: string }): Endpoint {
    if (typeof target === "object" && target !== null && "id" in target) return new Endpoint(target);
    return new Endpoint({ [CONNECT_BY_NAME]: (target as { name?: unknown } | null)?.name ?? "" } as EndpointOptions);
  }

  /** Queue-based function in one expression: `Endpoint.fn({ name, gpu }, fn)`; the name defaults to `fn.name`. */
  static fn<F extends AnyFunction>(options: EndpointOptions, fn: F): RemoteFunction<F>;
  /** Class decorator: `@Endpoint.fn({ gpu })`; the name defaults to the class name. */
  static fn(options: EndpointOptions): <C extends AnyClass>(target: C, context: ClassDecoratorContext<C>) => C;
  static fn(options: EndpointOptions, fn?: AnyFunction): unknown {
    const named = (target: { name: string }): EndpointOptions =>
      options?.name === undefined && options?.id === undefined && target.name ? { ...options, name: target.name } : options;
    if (fn !== undefined) return new Endpoint(named(fn)).fn(fn);
    return <C extends AnyClass>(target: C, context: ClassDecoratorContext<C>): C => new Endpoint(named(target)).fn(target, context);
  }

  /** True for a client of an existing endpoint (`id`, or `Endpoint.connect`). */
  get isClient(): boolean {
    return this.#parsed.mode === "client";
  }

  /** True once routes were defined (a load-balanced endpoint). */
  get isLoadBalanced(): boolean {
    return this.#pattern === "routes";
  }

  /** The endpoint's name (a definition), or the label given to a client. */
  get name(): string | undefined {
    return this.#parsed.name;
  }

  /** A client's endpoint id (undefined for a definition, and for `connect({ name })` before its first call). */
  get id(): string | undefined {
    if (this.#parsed.mode !== "client") return undefined;
    const { target } = this.#parsed;
    return "id" in target ? target.id : this.#client?.resolvedId();
  }

  /** @internal The options the resource config is built from (what provisioning sees). */
  configOptions(): Readonly<EndpointConfigOptions> | undefined {
    return this.#parsed.mode === "definer" ? this.#parsed.config : undefined;
  }

  #definer(what: "functions" | "routes"): Extract<ParsedEndpoint, { mode: "definer" }> {
    const parsed = this.#parsed;
    if (parsed.mode === "client") {
      const which = "id" in parsed.target ? parsed.target.id : `named ${parsed.target.name}`;
      throw misuse(parsed.who, `this is a client of the existing endpoint ${which}; it cannot define ${what}`, "Define functions on an Endpoint with a name and hardware, e.g. new Endpoint({ name, gpu }); call this one with run(), runsync() or get/post/….");
    }
    if (this.#pattern !== undefined && this.#pattern !== what) {
      const done = this.#pattern === "routes" ? "routes (load-balanced)" : "a queue-based function";
      configError(parsed.who, `already has ${done}; use one pattern or the other`, "An endpoint is queue-based (ep.fn) or load-balanced (ep.get/post/…); make a second Endpoint for the other.");
    }
    this.#pattern = what;
    return parsed;
  }

  /** Wraps a function as a queue-based remote function (or, as a decorator, a class's public async methods). */
  fn<F extends AnyFunction>(fn: F): RemoteFunction<F>;
  fn<C extends AnyClass>(target: C, context: ClassDecoratorContext<C>): C;
  fn(target: AnyFunction | AnyClass, context?: ClassDecoratorContext): unknown {
    const parsed = this.#definer("functions");
    if (typeof target !== "function") configError(parsed.who, `fn takes the function to run (got ${typeof target})`);
    const options: RemoteOptions = parsed.dependencies ? { dependencies: parsed.dependencies } : {};
    const config = this.#qbConfig!;
    if (context?.kind === "class" || (context === undefined && isClass(target))) {
      return createRemoteClass(config, Object.freeze(options), target as AnyClass, parsed.who);
    }
    if (context !== undefined) configError(parsed.who, `@fn decorates classes; wrap functions as ep.fn(fn) (got a ${context.kind} decorator)`);
    return createRemoteFunction(config, Object.freeze(options), target as AnyFunction);
  }

  #route(method: HttpMethod, path: string, fn: AnyFunction): RemoteFunction<AnyFunction> {
    const parsed = this.#definer("routes");
    const normalized = checkRoutePath(path, parsed.who);
    const key = `${method} ${normalized.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, ":")}`;
    if (this.#routes.has(key)) configError(parsed.who, `${method} ${normalized} is already defined on this endpoint`);
    this.#routes.add(key);
    this.#lbConfig ??= makeConfig(parsed.config, parsed.compute, "LB");
    const options: RemoteOptions = { method, path: normalized, ...(parsed.dependencies ? { dependencies: parsed.dependencies } : {}) };
    return createRemoteFunction(this.#lbConfig, Object.freeze(options), fn);
  }

  #clientOrReject(call: string): EndpointClient | AppError {
    const parsed = this.#parsed;
    if (parsed.mode === "definer") {
      return misuse(parsed.who, `${parsed.name} defines functions; it is not a client, so ${call} cannot call it`, "To call an existing endpoint use new Endpoint({ id }) (or Endpoint.connect({ name })).");
    }
    this.#client ??= createEndpointClient(parsed.target, parsed.who);
    return this.#client;
  }

  #request<T>(method: HttpMethod, path: string, bodyOrFn: unknown, options: RequestOptions | undefined, query: boolean): RemoteFunction<AnyFunction> | Promise<T> {
    const verb = method.toLowerCase();
    if (typeof bodyOrFn === "function") return this.#route(method, path, bodyOrFn as AnyFunction);
    const parsed = this.#parsed;
    if (parsed.mode === "definer") {
      return Promise.reject(misuse(parsed.who, `${parsed.name}.${verb}(path, fn) defines a route and needs the function to serve`, `Write ${parsed.name}.${verb}(${JSON.stringify(path)}, async (input) => …). To call an existing endpoint use new Endpoint({ id }).`));
    }
    const client = this.#clientOrReject(verb) as EndpointClient;
    return query ? client.request<T>(method, path, { query: bodyOrFn as Record<string, QueryValue> | undefined, ...options }) : client.request<T>(method, path, { body: bodyOrFn, ...options });
  }

  /** Definition: a GET route. Client: `GET path` with an optional query string. */
  get<F extends AnyFunction>(path: string, fn: F): RemoteFunction<F>;
  get<T = unknown>(path: string, query?: Record<string, QueryValue>, options?: RequestOptions): Promise<T>;
  get(path: string, fnOrQuery?: unknown, options?: RequestOptions): unknown {
    return this.#request("GET", path, fnOrQuery, options, true);
  }

  /** Definition: a POST route. Client: `POST path` with a JSON body. */
  post<F extends AnyFunction>(path: string, fn: F): RemoteFunction<F>;
  post<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  post(path: string, fnOrBody?: unknown, options?: RequestOptions): unknown {
    return this.#request("POST", path, fnOrBody, options, false);
  }

  /** Definition: a PUT route. Client: `PUT path` with a JSON body. */
  put<F extends AnyFunction>(path: string, fn: F): RemoteFunction<F>;
  put<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  put(path: string, fnOrBody?: unknown, options?: RequestOptions): unknown {
    return this.#request("PUT", path, fnOrBody, options, false);
  }

  /** Definition: a PATCH route. Client: `PATCH path` with a JSON body. */
  patch<F extends AnyFunction>(path: string, fn: F): RemoteFunction<F>;
  patch<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  patch(path: string, fnOrBody?: unknown, options?: RequestOptions): unknown {
    return this.#request("PATCH", path, fnOrBody, options, false);
  }

  /** Definition: a DELETE route. Client: `DELETE path`, with a JSON body if given. */
  delete<F extends AnyFunction>(path: string, fn: F): RemoteFunction<F>;
  delete<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  delete(path: string, fnOrBody?: unknown, options?: RequestOptions): unknown {
    return this.#request("DELETE", path, fnOrBody, options, false);
  }

  /** Client: queues a job (`/run`) and returns it at once, with its id. */
  run<T = unknown>(input: unknown, options?: RunOptions): Promise<EndpointJob<T>> {
    const client = this.#clientOrReject("run()");
    return client instanceof AppError ? Promise.reject(client) : client.run<T>(input, options);
  }

  /** Client: runs a job and waits for it; resolves with the finished job (`job.output`). */
  runsync<T = unknown>(input: unknown, options?: RunsyncOptions): Promise<EndpointJob<T>> {
    const client = this.#clientOrReject("runsync()");
    return client instanceof AppError ? Promise.reject(client) : client.runsync<T>(input, options);
  }

  /** Client: a handle on a job submitted earlier (no request until you use it). */
  job<T = unknown>(jobId: string): EndpointJob<T> {
    const client = this.#clientOrReject("job()");
    if (client instanceof AppError) throw client;
    return client.job<T>(jobId);
  }

  /** Client: cancels a job by id; resolves with the job. */
  cancel<T = unknown>(jobId: string): Promise<EndpointJob<T>> {
    try {
      return this.job<T>(jobId).cancel();
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
