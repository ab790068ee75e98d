/**
 * Runs one FunctionRequest and produces its FunctionResponse: load the module
 * (module-cache), find the target through the registry, decode the arguments,
 * call the user's function with its console captured, enforce the timeout,
 * encode the result, and turn every failure into a protocol error with a
 * stack that points at the user's own files.
 */
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { FUNCTION_PROTOCOL_VERSION } from "../common/function-protocol.js";
import type { FunctionFailure, FunctionLog, FunctionRequest, FunctionResponse, RemoteErrorInfo } from "../common/function-protocol.js";
import { nullLogger } from "../common/logger.js";
import type { Logger } from "../common/logger.js";
import { decodeValue, encodeValue, ValueCodecError } from "../common/value-codec.js";
import type { JsonValue } from "../common/value-codec.js";
import { getRegistry, setDispatcher } from "../sdk/registry.js";
import type { TaggedExport } from "../sdk/registry.js";
import { callStorage, LogCollector } from "./call-context.js";
import type { CallContext } from "./call-context.js";
import { CallError, describeThrown } from "./call-error.js";
import { installConsoleCapture } from "./console-capture.js";
import { createDependencyInstaller } from "./dependency-installer.js";
import type { DependencyInstaller } from "./dependency-installer.js";
import { ModuleCache } from "./module-cache.js";
import type { LoadedModule } from "./module-cache.js";
import { underInspector } from "./inspector-state.js";
import { createNestedDispatcher } from "./nested-dispatch.js";
import type { FunctionClient } from "../calls/function-client.js";
import { cleanStack, enableSourceMaps } from "./stack-trace.js";

/** Where the worker keeps modules and dependencies unless FLASH_WORKER_CACHE says otherwise. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLASH_WORKER_CACHE || join(tmpdir(), "flash-ts-worker");
}

/**
 * Where the executor gets modules: the worker's cache (ModuleCache, the
 * default), or for local calls in the dev server the bundles already on disk.
 */
export interface ModuleSource {
  /** The folder module paths are shown relative to in stacks. */
  readonly root: string;
  prepare(): Promise<void>;
  /** The module a request names, loaded; rejects with CallError (module-missing, load, dependencies). */
  load(request: FunctionRequest): Promise<LoadedModule>;
  byUrl(url: string): LoadedModule | undefined;
  readCode(mod: LoadedModule): Promise<string>;
}

export interface ExecutorOptions {
  /** The cache folder. Default: FLASH_WORKER_CACHE or `<tmpdir>/flash-ts-worker`. */
  cacheDir?: string;
  /** Where modules come from instead of the cache folder (local calls). */
  modules?: ModuleSource;
  logger?: Logger;
  /** Sends nested remote calls to other endpoints. Default: they fail with a clear error. */
  calls?: FunctionClient;
  /** Installs dependencies (default: npm into the cache). */
  installer?: DependencyInstaller;
  /** Also write captured console lines to the worker's stderr. Default false. */
  echoLogs?: boolean;
  /** A module exporting the SDK for user modules to import as `flash-ts` (the delivered runtime bundle); default this package. */
  sdkEntry?: string;
  /** Class instances kept per process (oldest dropped first). Default 1000. */
  maxInstances?: number;
  /**
   * Install this executor's dispatcher for nested calls (default true). The
   * registry has one dispatcher per process; a second executor in the same
   * process (tests) passes false so it does not take the first one's place.
   */
  installDispatcher?: boolean;
  /** Time for the calls' timeouts (tests drive a fake one). */
  clock?: Clock;
}

export interface ExecuteOptions {
  /** Aborting it stops waiting for the call (the job was cancelled); nested calls are aborted too. */
  signal?: AbortSignal;
  /** Gets each console line of the call as it is written, with its position in the response's `logs` (where the lines also come back). */
  onLog?: (log: FunctionLog, seq: number) => void;
}

/** Runs FunctionRequests. One per process: it owns the console capture and the SDK dispatcher. */
export interface Executor {
  /** The cache folder in use. */
  readonly cacheDir: string;
  /** Prepares the cache and warms up the SDK; execute() waits for it anyway. */
  prepare(): Promise<void>;
  /** Runs a request; never rejects (every failure is a FunctionFailure). */
  execute(request: FunctionRequest, options?: ExecuteOptions): Promise<FunctionResponse>;
  /** Restores the console and the previous dispatcher. Idempotent. */
  close(): void;
}

const CANCELLED = Symbol("cancelled");

/** How this module appears in stack frames (path and URL forms). */
const SELF = [fileURLToPath(import.meta.url), import.meta.url];

/**
 * The frames of the user's code only: the first frame in this module is the
 * executor calling the function, and everything below it is the runtime (or,
 * for local calls, the dev server) that asked for the call.
 */
function userFrames(stack: string): string {
  const lines = stack.split("\n");
  const at = lines.findIndex((line, i) => i > 0 && line.trimStart().startsWith("at ") && SELF.some((self) => line.includes(self)));
  return at > 0 ? lines.slice(0, at).join("\n") : stack;
}

export function createExecutor(options: ExecutorOptions = {}): Executor {
  const logger = options.logger ?? nullLogger;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const modules: ModuleSource =
    options.modules ??
    new ModuleCache({
      cacheDir,
      installer: options.installer ?? createDependencyInstaller({ cacheDir, logger: logger.child("deps") }),
      logger,
      ...(options.sdkEntry ? { sdkEntry: options.sdkEntry } : {}),
    });
  const maxInstances = options.maxInstances ?? 1000;
  const clock = options.clock ?? systemClock;
  const instances = new Map<string, Record<string, unknown>>();
  const echo = options.echoLogs
    ? (log: FunctionLog) => void process.stderr.write(log.text + "\n")
    : undefined;

  enableSourceMaps({ nodeModules: `${sep}${modules.root}${sep}`.includes(`${sep}node_modules${sep}`) });
  const uninstallConsole = installConsoleCapture();
  const restoreDispatcher =
    options.installDispatcher === false
      ? () => {}
      : setDispatcher(
          createNestedDispatcher({
            calls: options.calls,
            moduleByUrl: (url) => modules.byUrl(url),
            readCode: (mod) => modules.readCode(mod),
          }),
        );
  let closed = false;
  let prepared: Promise<void> | undefined;

  const prepare = (): Promise<void> =>
    (prepared ??= (async () => {
      await modules.prepare();
      // Load the SDK now so the first call does not pay for it (bundles import it).
      await import("../sdk/index.js");
    })());

  function findTarget(mod: LoadedModule, request: FunctionRequest): TaggedExport {
    const { file, export: exportName, method } = request.target;
    const entry = getRegistry().lookup(mod.url, file, exportName);
    const where = `${file}#${exportName}`;
    if (!entry) throw new CallError("load", `${where} is not a remote function in module ${mod.hash.slice(0, 12)}`, { name: "TargetNotFound" });
    if (entry.meta.kind === "class") {
      if (!method) throw new CallError("load", `${where} is a class; the request must name a method`, { name: "TargetNotFound" });
      if (!entry.meta.methods.includes(method)) {
        throw new CallError("load", `${where} has no remote method ${JSON.stringify(method)} (it has ${entry.meta.methods.join(", ")})`, { name: "TargetNotFound" });
      }
    } else if (method) {
      throw new CallError("load", `${where} is a function, not a class; it has no method ${JSON.stringify(method)}`, { name: "TargetNotFound" });
    }
    return entry;
  }

  function decodeArgs(values: readonly JsonValue[], what: string): unknown[] {
    try {
      return values.map((value) => decodeValue(value));
    } catch (error) {
      throw new CallError("runtime", `could not decode the ${what}: ${(error as Error).message}`, { name: "ValueCodecError" });
    }
  }

  /** Calls the user's code (never the remote wrapper, which would dispatch again). */
  function invoke(mod: LoadedModule, entry: TaggedExport, request: FunctionRequest, args: unknown[]): unknown {
    const meta = entry.meta;
    if (meta.kind === "function") return (meta.fn as (...a: unknown[]) => unknown)(...args);
    const method = request.target.method as string;
    if (!request.instance) throw new CallError("runtime", `calls to ${entry.file}#${entry.export}.${method} need an instance`, { name: "InvalidRequest" });
    const key = `${mod.url}\0${entry.file}\0${entry.export}\0${request.instance.id}`;
    let instance = instances.get(key);
    if (!instance) {
      const ctorArgs = decodeArgs(request.instance.args, "constructor arguments");
      instance = new (meta.cls as unknown as new (...a: unknown[]) => Record<string, unknown>)(...ctorArgs);
      if (instances.size >= maxInstances) instances.delete(instances.keys().next().value as string);
      instances.set(key, instance);
    }
    return (instance[method] as (...a: unknown[]) => unknown).call(instance, ...args);
  }

  /** Waits for `work`, but not past the deadline nor past an abort. */
  function bounded(work: Promise<unknown>, timeoutMs: number | undefined, signal: AbortSignal | undefined, timeout: AbortController | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = new AbortController();
      const onAbort = (): void => {
        cleanup();
        resolve(CANCELLED);
      };
      const cleanup = (): void => {
        timer.abort();
        signal?.removeEventListener("abort", onAbort);
      };
      if (timeoutMs) {
        clock.sleep(timeoutMs, timer.signal).then(
          () => {
            cleanup();
            timeout?.abort(new CallError("timeout", `timed out after ${timeoutMs} ms`));
            reject(new CallError("timeout", `the function did not finish within ${timeoutMs} ms`, { name: "TimeoutError" }));
          },
          () => undefined, // cancelled: the call ended first
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      work.then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
  }

  function toErrorInfo(error: unknown, userCode: boolean): RemoteErrorInfo {
    const root = modules.root;
    if (error instanceof CallError) {
      return { kind: error.kind, name: error.name, message: error.message, ...(error.stack && error.kind === "load" ? { stack: cleanStack(error.stack, root) } : {}) };
    }
    const { stack, ...info } = describeThrown(error);
    return { kind: userCode ? "function" : "runtime", ...info, ...(stack ? { stack: cleanStack(userFrames(stack), root) } : {}) };
  }

  async function execute(request: FunctionRequest, execOptions: ExecuteOptions = {}): Promise<FunctionResponse> {
    const started = performance.now();
    const onLog = execOptions.onLog;
    const logs = new LogCollector(
      onLog && echo
        ? (log, seq) => {
            echo(log);
            onLog(log, seq);
          }
        : (onLog ?? echo),
    );
    const signal = execOptions.signal;
    const fail = (error: unknown, userCode: boolean): FunctionFailure => ({
      flash: FUNCTION_PROTOCOL_VERSION,
      ok: false,
      error: toErrorInfo(error, userCode),
      logs: logs.entries,
      durationMs: performance.now() - started,
    });
    if (closed) return fail(new CallError("runtime", "the worker runtime is shutting down", { name: "Disposed" }), false);

    let mod: LoadedModule;
    let entry: TaggedExport;
    let args: unknown[];
    try {
      // Memoised: this also waits for a preparation already under way (e.g. the worker's warm-up).
      await prepare();
      mod = await modules.load(request);
      entry = findTarget(mod, request);
      args = decodeArgs(request.args, "arguments");
    } catch (error) {
      return fail(error, false);
    }

    // Cancelled while the module loaded: do not start it at all.
    if (signal?.aborted) return fail(new CallError("runtime", "the call was cancelled", { name: "AbortError" }), false);
    // A debugger may hold the call paused (inspector-state.ts): no limit then.
    const timeoutMs = request.timeoutMs && request.timeoutMs > 0 && !underInspector() ? request.timeoutMs : undefined;
    // Nested calls see the job's signal, or a timeout's when there is one (then both abort them).
    const timeout = timeoutMs ? new AbortController() : undefined;
    const callSignal = timeout ? (signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal) : signal;
    const ctx: CallContext = {
      request,
      moduleUrl: mod.url,
      logs,
      signal: callSignal,
      // The limit runs from the call itself: a first call's dependency install does not count.
      deadline: timeoutMs ? performance.now() + timeoutMs : undefined,
    };
    let value: unknown;
    try {
      const work = callStorage.run(ctx, async () => invoke(mod, entry, request, args));
      value = timeoutMs || signal ? await bounded(work, timeoutMs, signal, timeout) : await work;
    } catch (error) {
      return fail(error, !(error instanceof CallError));
    }
    if (value === CANCELLED) return fail(new CallError("runtime", "the call was cancelled", { name: "AbortError" }), false);
    let result: JsonValue;
    try {
      result = encodeValue(value, "result");
    } catch (error) {
      const message = error instanceof ValueCodecError ? `the function returned a value that cannot be sent: ${error.message}` : String(error);
      return fail(new CallError("function", message, { name: "ValueCodecError" }), true);
    }
    return { flash: FUNCTION_PROTOCOL_VERSION, ok: true, result, logs: logs.entries, durationMs: performance.now() - started };
  }

  return {
    get cacheDir() {
      return modules.root;
    },
    prepare,
    execute,
    close() {
      if (closed) return;
      closed = true;
      uninstallConsole();
      restoreDispatcher();
    },
  };
}
