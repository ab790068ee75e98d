/**
 * remote(): marks a function (or, as a decorator, a class) as running on a
 * Runpod Serverless endpoint. Calling the result dispatches the call to the
 * active dispatcher: the dev server, or inside a worker, the endpoint of the
 * callee (a pipeline). `{ local: true }` runs the function in the calling
 * process instead.
 */
import { AppError } from "../common/errors.js";
import { ResourceConfig } from "./resources.js";
import { getRegistry, REMOTE_META } from "./registry.js";
import type { HttpMethod, RemoteClassMeta, RemoteFunctionMeta, RemoteMeta, RemoteOptions } from "./registry.js";
import { randomUUID } from "node:crypto";

/** A function returned by remote(): same parameters, always async. */
export type RemoteFunction<F extends (...args: never[]) => unknown> = ((
  ...args: Parameters<F>
) => Promise<Awaited<ReturnType<F>>>) & { readonly [REMOTE_META]: RemoteFunctionMeta };

const METHODS: readonly HttpMethod[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const RESERVED_PATHS = new Set(["/ping", "/execute"]);
/** npm spec: name (optionally scoped) with an optional @version/range/tag. */
const NPM_SPEC = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*(@[^\s]+)?$/;

/** How remote()'s errors name the call: `remote(LiveServerless("name"))`. */
function remoteLabel(config: ResourceConfig | undefined): string {
  return config ? `remote(${config.constructor.name}("${config.name}"))` : "remote()";
}

/** An INVALID_CONFIG error that starts with `who` (how the user wrote the definition). */
export function configError(who: string, message: string, hint?: string): never {
  throw new AppError("INVALID_CONFIG", `${who}: ${message}`, hint ? { hint } : {});
}

/** Normalises `/items/{id}` to `/items/:id` and checks the path. */
export function normalizeRoutePath(path: string, config?: ResourceConfig): string {
  return checkRoutePath(path, remoteLabel(config));
}

/** {@link normalizeRoutePath}, with errors naming `who`. */
export function checkRoutePath(path: string, who: string): string {
  if (typeof path !== "string" || !path.startsWith("/")) configError(who, `path must start with "/" (got ${JSON.stringify(path)})`);
  const normalized = path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ":$1");
  if (!/^(\/([A-Za-z0-9._~-]+|:[A-Za-z_][A-Za-z0-9_]*))*\/?$/.test(normalized)) {
    configError(who, `path ${JSON.stringify(path)} has characters a route cannot use`, "Use letters, digits, '-', '_', '.', and parameters like :id or {id}.");
  }
  if (RESERVED_PATHS.has(normalized)) configError(who, `path ${normalized} is reserved by the worker runtime`);
  return normalized;
}

/** Checks npm package specs; returns them sorted and de-duplicated. */
export function checkDependencies(dependencies: unknown, who: string): string[] {
  if (!Array.isArray(dependencies)) configError(who, "dependencies must be an array of npm package specs");
  for (const dep of dependencies) {
    if (typeof dep !== "string" || !NPM_SPEC.test(dep)) {
      configError(who, `dependency ${JSON.stringify(dep)} is not an npm package spec`, 'Write it as "name", "name@1.2.3" or "@scope/name@^1".');
    }
  }
  return [...new Set(dependencies as string[])].sort();
}

function resolveOptions(config: ResourceConfig, options: RemoteOptions | undefined): RemoteOptions {
  const who = remoteLabel(config);
  const o = options ?? {};
  if (typeof o !== "object" || o === null || Array.isArray(o)) configError(who, "options must be an object");
  const known = new Set(["dependencies", "method", "path", "local"]);
  for (const key of Object.keys(o)) {
    if (!known.has(key)) configError(who, `unknown option ${JSON.stringify(key)}`, "Options are dependencies, method, path and local.");
  }
  const out: RemoteOptions = {};
  if (o.dependencies !== undefined) out.dependencies = checkDependencies(o.dependencies, who);
  if (o.local !== undefined) {
    if (typeof o.local !== "boolean") configError(who, "local must be true or false");
    out.local = o.local;
  }
  if (config.kind === "LB") {
    if (o.method === undefined || o.path === undefined) {
      configError(who, "load-balanced functions need both method and path", 'e.g. remote(api, { method: "POST", path: "/process" }, fn)');
    }
    const method = typeof o.method === "string" ? (o.method.toUpperCase() as HttpMethod) : undefined;
    if (!method || !METHODS.includes(method)) configError(who, `method must be one of ${METHODS.join(", ")} (got ${JSON.stringify(o.method)})`);
    out.method = method;
    out.path = checkRoutePath(o.path, who);
  } else if (o.method !== undefined || o.path !== undefined) {
    configError(who, "method and path are for load-balanced configs; queue-based functions are served at /<file>/run_sync", "Use LiveLoadBalancer or CpuLiveLoadBalancer for HTTP routes.");
  }
  return Object.freeze(out);
}

function dispatch(meta: RemoteMeta, self: object, args: unknown[], method?: string, instance?: { id: string; args: unknown[] }): Promise<unknown> {
  const registry = getRegistry();
  const identity = registry.identify(self);
  const name = identity ? `${identity.file}#${identity.export}${method ? "." + method : ""}` : "a remote function";
  if (!identity) {
    return Promise.reject(
      new AppError("SERVICE_UNAVAILABLE", `cannot call ${name}: it is not exported from a module flash-ts has loaded`, {
        hint: "Export the remote function from its file, and call it from code `flash dev` serves or `flash run` runs.",
      }),
    );
  }
  const dispatcher = registry.dispatcher;
  if (!dispatcher) {
    return Promise.reject(
      new AppError("SERVICE_UNAVAILABLE", `cannot call ${name}: no flash runtime is active in this process`, {
        hint: "Run the project with `flash dev`, or the script with `flash run`; or pass { local: true } to run the function in-process.",
      }),
    );
  }
  return dispatcher.call({ identity, meta, args, ...(method ? { method } : {}), ...(instance ? { instance } : {}) });
}

/** Wraps `fn` as a remote function of `config` (options already checked). */
export function createRemoteFunction<F extends (...args: never[]) => unknown>(config: ResourceConfig, options: RemoteOptions, fn: F): RemoteFunction<F> {
  const registry = getRegistry();
  const meta: RemoteFunctionMeta = { kind: "function", config, options, fn, seq: registry.nextSeq() };
  const wrapper = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    if (options.local) return (fn as unknown as (...a: unknown[]) => unknown).apply(this, args);
    return dispatch(meta, wrapper, args);
  };
  Object.defineProperty(wrapper, "name", { value: fn.name || "remote" });
  Object.defineProperty(wrapper, REMOTE_META, { value: meta });
  registry.noteCreated(wrapper);
  return wrapper as unknown as RemoteFunction<F>;
}

/** Public async methods of a class (own prototype chain, not Object's). */
function publicAsyncMethods(cls: abstract new (...args: never[]) => unknown): string[] {
  const names = new Set<string>();
  for (let proto = cls.prototype as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === "constructor" || key.startsWith("_")) continue;
      const desc = Object.getOwnPropertyDescriptor(proto, key);
      const value = desc?.value;
      if (typeof value !== "function") continue;
      const ctorName = (value as { constructor?: { name?: string } }).constructor?.name;
      if (ctorName === "AsyncFunction") names.add(key);
    }
  }
  return [...names].sort();
}

/** The remote stand-in of `cls` (options already checked); `who` names the definition in errors. */
export function createRemoteClass<C extends abstract new (...args: never[]) => unknown>(config: ResourceConfig, options: RemoteOptions, cls: C, who = remoteLabel(config)): C {
  const registry = getRegistry();
  const methods = publicAsyncMethods(cls);
  if (methods.length === 0) {
    configError(who, `class ${cls.name} has no public async methods to expose`, "Declare methods as `async name(...) {}`; names starting with _ stay private.");
  }
  const meta: RemoteClassMeta = { kind: "class", config, options, cls, methods, seq: registry.nextSeq() };

  // The stand-in class: constructing it is local and cheap (it only records
  // the constructor arguments); each public async method dispatches.
  const stand = class {
    readonly #instanceId = `${cls.name}_${randomUUID()}`;
    readonly #args: unknown[];
    constructor(...args: unknown[]) {
      this.#args = args;
    }
    /** @internal used by dispatch */
    get __flashInstance(): { id: string; args: unknown[] } {
      return { id: this.#instanceId, args: this.#args };
    }
  };
  for (const method of methods) {
    Object.defineProperty(stand.prototype, method, {
      configurable: true,
      writable: true,
      value: async function (this: { __flashInstance: { id: string; args: unknown[] } }, ...args: unknown[]) {
        if (options.local) {
          const instance = new (cls as unknown as new (...a: unknown[]) => Record<string, (...a: unknown[]) => unknown>)(...this.__flashInstance.args);
          return instance[method]!(...args);
        }
        return dispatch(meta, stand, args, method, this.__flashInstance);
      },
    });
  }
  Object.defineProperty(stand, "name", { value: cls.name });
  Object.defineProperty(stand, REMOTE_META, { value: meta });
  registry.noteCreated(stand);
  return stand as unknown as C;
}

/** Decorator form: `@remote(config)` on a class exposes its public async methods. */
export function remote(config: ResourceConfig, options?: RemoteOptions): <C extends abstract new (...args: never[]) => unknown>(target: C, context: ClassDecoratorContext<C>) => C;
/** Function form without options. */
export function remote<F extends (...args: never[]) => unknown>(config: ResourceConfig, fn: F): RemoteFunction<F>;
/** Function form with options: `dependencies`, `method` + `path` (load-balanced), `local`. */
export function remote<F extends (...args: never[]) => unknown>(config: ResourceConfig, options: RemoteOptions, fn: F): RemoteFunction<F>;
export function remote(config: ResourceConfig, optionsOrFn?: RemoteOptions | ((...args: never[]) => unknown), maybeFn?: (...args: never[]) => unknown): unknown {
  if (!(config instanceof ResourceConfig)) {
    configError(remoteLabel(undefined), "the first argument must be a resource config (LiveServerless, CpuLiveServerless, LiveLoadBalancer or CpuLiveLoadBalancer)");
  }
  if (typeof optionsOrFn === "function") return createRemoteFunction(config, resolveOptions(config, undefined), optionsOrFn);
  if (typeof maybeFn === "function") return createRemoteFunction(config, resolveOptions(config, optionsOrFn), maybeFn);
  if (maybeFn !== undefined) configError(remoteLabel(config), "the last argument must be the function to run remotely");
  if (config.kind === "LB") configError(remoteLabel(config), "@remote classes are queue-based; use a QB config (LiveServerless or CpuLiveServerless)");
  const options = resolveOptions(config, optionsOrFn);
  return <C extends abstract new (...args: never[]) => unknown>(target: C, context: ClassDecoratorContext<C>): C => {
    if (context?.kind !== "class") configError(remoteLabel(config), "@remote(config) decorates classes; for functions write remote(config, fn)");
    return createRemoteClass(config, options, target);
  };
}
