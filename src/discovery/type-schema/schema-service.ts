/**
 * The schema service: runs the extractor in a worker thread, off the
 * reload's critical path. The first extraction of a project parses the
 * standard library and its `.d.ts` files (about a second); later ones reuse
 * that work and take tens of milliseconds. Neither blocks the dev server's
 * event loop. See docs/type-schemas.md ("Where the work runs").
 *
 * Requests are serialised. At most one waits behind the one running: a newer
 * request replaces it (its caller gets `superseded`), so a burst of saves
 * costs one extraction, not one per save.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { AppError } from "../../common/errors.js";
import type { ExtractOptions, SchemaSet, SchemaTarget } from "./extractor.js";
import type { ExtractMessage, ResultMessage, SchemaThreadData } from "./schema-protocol.js";

/** The outcome of one request. */
export type ExtractOutcome =
  | { status: "done"; set: SchemaSet }
  /** A newer request replaced this one before it started. */
  | { status: "superseded" }
  /** The thread failed (crashed, ran out of memory or time, or the service was closed): serve without schemas. */
  | { status: "failed"; error: AppError };

export interface TypeSchemaService {
  /** Describes `targets` in the schema thread (started on first use). Never rejects. */
  extract(targets: readonly SchemaTarget[], options?: ExtractOptions): Promise<ExtractOutcome>;
  /** Stops the thread; waiting and later requests resolve `failed` (DISPOSED). Idempotent. */
  close(): Promise<void>;
}

export interface TypeSchemaServiceOptions {
  /** Project root. */
  root: string;
  /** Definition names not to use (the OpenAPI document's own component names). */
  reservedNames?: readonly string[];
  /** How long one extraction may take before the thread is stopped. Default 120 000 ms (a first run on a large project). */
  timeoutMs?: number;
  /** Heap limit of the thread. Default 2048 MB. */
  maxHeapMb?: number;
}

function threadEntry(): URL {
  // From dist/ the compiled .js sits next to this file; from src/ (tests) Node strips the .ts types itself.
  const js = new URL("./schema-thread.js", import.meta.url);
  return existsSync(fileURLToPath(js)) ? js : new URL("./schema-thread.ts", import.meta.url);
}

interface Request {
  targets: SchemaTarget[];
  options: ExtractOptions;
  resolve(outcome: ExtractOutcome): void;
}

/** Creates the service for one project. No thread starts before the first extract(). */
export function createTypeSchemaService(options: TypeSchemaServiceOptions): TypeSchemaService {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const threadData: SchemaThreadData = { root: options.root, reservedNames: [...(options.reservedNames ?? [])] };
  let worker: Worker | undefined;
  let running: (Request & { seq: number; timer: NodeJS.Timeout }) | undefined;
  let waiting: Request | undefined;
  let seq = 0;
  let closed = false;

  const finish = (outcome: ExtractOutcome): void => {
    const current = running;
    if (!current) return;
    running = undefined;
    clearTimeout(current.timer);
    worker?.unref();
    current.resolve(outcome);
    startNext();
  };

  const dropWorker = (reason: AppError): void => {
    const w = worker;
    worker = undefined;
    if (w) void w.terminate();
    finish({ status: "failed", error: reason });
  };

  const spawn = (): Worker => {
    const w = new Worker(threadEntry(), {
      workerData: threadData,
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 2048 },
    });
    w.on("message", (message: ResultMessage) => {
      if (!running || message.seq !== running.seq) return;
      if (message.ok) finish({ status: "done", set: message.set });
      else {
        finish({
          status: "failed",
          error: new AppError("INTERNAL", `Type schemas could not be computed: ${message.error.message}`, {
            hint: "The functions are served without request validation; the docs show them untyped.",
            details: message.error.stack ? { stack: message.error.stack } : {},
          }),
        });
      }
    });
    const gone = (error?: Error): void => {
      if (worker !== w) return;
      const outOfMemory = (error as { code?: string } | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY";
      dropWorker(
        new AppError("INTERNAL", outOfMemory ? "The type schema thread ran out of memory" : `The type schema thread stopped${error ? `: ${error.message}` : ""}`, {
          hint: outOfMemory ? "The project's types are too large to describe; functions are served without request validation." : "It is restarted on the next reload.",
          ...(error ? { cause: error } : {}),
        }),
      );
    };
    w.on("error", gone);
    w.on("exit", () => gone());
    return w;
  };

  const startNext = (): void => {
    if (running || !waiting || closed) return;
    const request = waiting;
    waiting = undefined;
    worker ??= spawn();
    worker.ref(); // a request in flight keeps the process alive; an idle thread does not
    const timer = setTimeout(
      () => dropWorker(new AppError("INTERNAL", `Type schemas took longer than ${timeoutMs} ms`, { hint: "The functions are served without request validation; the next reload tries again." })),
      timeoutMs,
    );
    timer.unref();
    running = { ...request, seq: ++seq, timer };
    const message: ExtractMessage = { type: "extract", seq: running.seq, targets: request.targets, options: request.options };
    worker.postMessage(message);
  };

  return {
    extract(targets, extractOptions = {}) {
      if (closed) return Promise.resolve({ status: "failed", error: new AppError("DISPOSED", "The type schema service is closed") });
      return new Promise<ExtractOutcome>((resolve) => {
        // The replaced request's changes still happened: the new one must know them too
        // (a file created then, but not named now, would otherwise be missed).
        const replaced = waiting;
        replaced?.resolve({ status: "superseded" });
        const known = replaced ? replaced.options.changedPaths : [];
        const changedPaths = known && extractOptions.changedPaths ? [...new Set([...known, ...extractOptions.changedPaths])] : undefined;
        waiting = { targets: [...targets], options: changedPaths ? { changedPaths } : {}, resolve };
        startNext();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      const disposed = new AppError("DISPOSED", "The type schema service is closed");
      waiting?.resolve({ status: "failed", error: disposed });
      waiting = undefined;
      const w = worker;
      worker = undefined;
      finish({ status: "failed", error: disposed });
      if (w) await w.terminate();
    },
  };
}
