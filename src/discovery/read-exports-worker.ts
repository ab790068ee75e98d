/**
 * Runs inside a `node:worker_threads` Worker: imports bundles one at a time
 * and reports the remote functions each one's entry file exports, read from
 * the flash-ts registry. Importing evaluates module top levels (that is how
 * configs are validated) but never calls a remote function: the wrappers are
 * only inspected.
 *
 * This file is loaded by Node directly, from dist/ as JavaScript or from
 * src/ with Node's type stripping (tests), so it imports nothing of ours at
 * run time: only node: modules and, by URL, the SDK the bundles themselves
 * resolve `flash-ts` to. Types are erased.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Registry } from "../sdk/registry.js";
import type { ReadRequest, WorkerMessage, ReadExport, LoadError } from "./read-exports-protocol.js";

interface StartData {
  /** file: URL of the SDK entry a bundle's `import "flash-ts"` resolves to, if resolvable. */
  sdkUrl?: string;
}

const REGISTRY_KEY = Symbol.for("flash-ts.registry");

function registry(): Registry | undefined {
  return (globalThis as unknown as { [REGISTRY_KEY]?: Registry })[REGISTRY_KEY];
}

function post(message: WorkerMessage): void {
  parentPort?.postMessage(message);
}

function toLoadError(value: unknown): LoadError {
  if (value instanceof Error) {
    const extra = value as Error & { code?: unknown; hint?: unknown };
    const error: LoadError = { name: value.name, message: value.message };
    if (typeof value.stack === "string") error.stack = value.stack;
    if (typeof extra.code === "string") error.code = extra.code;
    if (typeof extra.hint === "string") error.hint = extra.hint;
    return error;
  }
  return { name: "Error", message: `a non-error value was thrown: ${String(value)}` };
}

async function read(request: ReadRequest): Promise<void> {
  const reg = registry();
  const before = reg?.untaggedCount() ?? 0;
  try {
    await import(request.url);
  } catch (error) {
    post({ type: "result", id: request.id, ok: false, error: toLoadError(error) });
    return;
  }
  const current = registry();
  if (!current) {
    post({ type: "result", id: request.id, ok: true, exports: [], bundleDependencies: [], untagged: 0 });
    return;
  }
  try {
    const tagged = current.exportsOf(request.url);
    const exports: ReadExport[] = [];
    const bundleDependencies = new Set<string>();
    for (const entry of tagged) {
      for (const dep of entry.meta.options.dependencies ?? []) bundleDependencies.add(dep);
      if (entry.file !== request.file) continue; // defined by another file: its own bundle reports it
      const options = entry.meta.options;
      const item: ReadExport = {
        export: entry.export,
        kind: entry.meta.kind,
        config: entry.meta.config.toSpec(),
        options: {
          ...(options.dependencies ? { dependencies: [...options.dependencies] } : {}),
          ...(options.method ? { method: options.method } : {}),
          ...(options.path ? { path: options.path } : {}),
          ...(options.local !== undefined ? { local: options.local } : {}),
        },
        seq: entry.meta.seq,
      };
      if (entry.meta.kind === "class") item.methods = [...entry.meta.methods];
      exports.push(item);
    }
    const untagged = Math.max(0, current.untaggedCount() - before);
    current.forgetBundle(request.url);
    post({ type: "result", id: request.id, ok: true, exports, bundleDependencies: [...bundleDependencies].sort(), untagged });
  } catch (error) {
    post({ type: "result", id: request.id, ok: false, error: toLoadError(error) });
  }
}

async function start(): Promise<void> {
  const data = (workerData ?? {}) as StartData;
  // Stack traces of load errors must name the user's files: bundles carry inline source maps.
  process.setSourceMapsEnabled(true);
  // A promise rejected at a module's top level and never awaited must not
  // kill the thread (and with it the results of the other bundles).
  process.on("unhandledRejection", (reason) => {
    post({ type: "warning", message: `unhandled rejection during import: ${toLoadError(reason).message}` });
  });
  if (data.sdkUrl) {
    try {
      await import(data.sdkUrl);
    } catch {
      // Reported per bundle: each bundle's own `import "flash-ts"` fails the same way.
    }
  }
  const reg = registry();
  if (reg) {
    // Top-level code that calls a remote function gets a clear refusal instead of "no runtime".
    reg.dispatcher = {
      call: (call) =>
        Promise.reject(
          new Error(
            `${call.identity.file}#${call.identity.export} was called while flash-ts was discovering remote functions; ` +
              "call remote functions from inside other functions, not at module top level",
          ),
        ),
    };
  }
  parentPort?.on("message", (request: ReadRequest) => {
    void read(request);
  });
  post({ type: "ready" });
}

void start();
