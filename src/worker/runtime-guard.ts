/**
 * What a worker checks before it runs a call, around the executor:
 *
 * - The caller's runtime (`request.runtime`) must be the one this worker
 *   runs. A worker started by the bootstrap runs exactly the bundle its first
 *   caller sent; a later caller with another build (flash-ts upgraded, or
 *   rebuilt while developing it) gets `runtime-mismatch` naming both, and the
 *   worker retires so that the platform starts a fresh one, which will take
 *   the caller's runtime (docs/internals.md, "The worker runtime"). A worker
 *   started from the package (`flash worker`) knows only its version.
 * - The endpoint's systemDependencies are installed before the first call;
 *   the install's output is that call's first log lines.
 */
import { FUNCTION_PROTOCOL_VERSION } from "../common/function-protocol.js";
import type { FunctionFailure, FunctionLog, FunctionRequest, FunctionResponse } from "../common/function-protocol.js";
import type { Executor } from "./execute.js";
import type { SystemDependencies } from "./system-dependencies.js";

/** Which runtime this worker runs. */
export interface RuntimeIdentity {
  version: string;
  /** sha256 of the runtime bundle, when the worker runs the delivered bundle. */
  hash?: string;
}

export interface RuntimeGuardOptions {
  identity: RuntimeIdentity;
  systemDependencies?: SystemDependencies;
  /** Called once, when a caller with another runtime shows up. */
  onRuntimeMismatch?: () => void;
}

function describe(version: string, hash: string | undefined): string {
  return hash ? `${version} (runtime ${hash.slice(0, 12)})` : version;
}

/** The mismatch message, or undefined when the request may run here. */
export function runtimeMismatch(identity: RuntimeIdentity, request: FunctionRequest): string | undefined {
  const wanted = request.runtime;
  if (!wanted) return undefined;
  const same = identity.hash ? wanted.hash === identity.hash : wanted.version === identity.version;
  if (same) return undefined;
  return `this worker runs flash-ts ${describe(identity.version, identity.hash)}, the caller runs flash-ts ${describe(wanted.version, wanted.hash)}`;
}

function failure(kind: FunctionFailure["error"]["kind"], name: string, message: string, logs: FunctionLog[]): FunctionFailure {
  return { flash: FUNCTION_PROTOCOL_VERSION, ok: false, error: { kind, name, message }, logs, durationMs: 0 };
}

/** An executor that checks the caller's runtime and installs system dependencies first. */
export function guardExecutor(inner: Executor, options: RuntimeGuardOptions): Executor {
  let retiring = false;
  return {
    get cacheDir() {
      return inner.cacheDir;
    },
    prepare: () => inner.prepare(),
    close: () => inner.close(),
    async execute(request, execOptions): Promise<FunctionResponse> {
      const mismatch = runtimeMismatch(options.identity, request);
      if (mismatch) {
        if (!retiring) {
          retiring = true;
          options.onRuntimeMismatch?.();
        }
        return failure("runtime-mismatch", "RuntimeMismatch", mismatch, []);
      }
      const installLogs: FunctionLog[] = [];
      if (options.systemDependencies) {
        try {
          await options.systemDependencies.ensure((text) => installLogs.push({ stream: "stdout", text }));
        } catch (error) {
          return failure("dependencies", (error as Error).name, (error as Error).message, installLogs);
        }
      }
      const response = await inner.execute(request, execOptions);
      return installLogs.length === 0 ? response : { ...response, logs: [...installLogs, ...response.logs] };
    },
  };
}
