/**
 * Reads the remote exports of bundles without running a remote function:
 * each bundle is imported in a `node:worker_threads` Worker, which reads the
 * flash-ts registry and posts plain data back. A fresh thread serves each
 * discovery run (so the registry and module cache never carry state between
 * generations) and is terminated after it; a module whose top level hangs is
 * cut after a timeout and the remaining bundles go to a new thread.
 *
 * Starting a thread and loading the SDK in it costs 60–150 ms on a small
 * machine, which would be most of an incremental reload, so the thread for
 * the next run is started (and the SDK loaded in it) as soon as the previous
 * run ends: it waits, idle, until it is used.
 */
import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import type { Logger } from "../common/logger.js";
import type { LoadError, ReadExport, ReadRequest, WorkerMessage } from "./read-exports-protocol.js";

/** The outcome of importing one bundle. */
export type ReadResult =
  | { ok: true; exports: ReadExport[]; bundleDependencies: string[]; untagged: number }
  | { ok: false; error: LoadError; timedOut?: boolean };

/** A bundle to read. */
export interface ReadTarget {
  url: string;
  /** Entry file, project-relative. */
  file: string;
}

export interface ExportReader {
  /** Starts the next run's thread now if there is none waiting (it loads while the caller bundles). */
  warm(): void;
  /** Imports the bundles one after the other (in a fresh thread) and returns a result per URL. */
  read(targets: readonly ReadTarget[]): Promise<Map<string, ReadResult>>;
  /**
   * Drops the prewarmed thread: a thread copies process.env when it starts,
   * so after the environment changed the next read must use a new one.
   */
  discardSpare(): void;
  /** Terminates any thread. Idempotent. */
  close(): Promise<void>;
}

export interface ExportReaderOptions {
  /** file: URL of the SDK the bundles resolve `flash-ts` to (preloaded in the thread), if known. */
  sdkUrl?: string;
  /** How long one bundle's import may take. */
  importTimeoutMs: number;
  logger: Logger;
  /** Start the next run's thread ahead of time. Default true. */
  prewarm?: boolean;
}

function workerEntry(): URL {
  // From dist/ the compiled .js sits next to this file; from src/ (tests) Node strips the .ts types itself.
  const js = new URL("./read-exports-worker.js", import.meta.url);
  return existsSync(fileURLToPath(js)) ? js : new URL("./read-exports-worker.ts", import.meta.url);
}

const THREAD_START_TIMEOUT_MS = 30_000;

interface Pending {
  resolve(result: ReadResult): void;
}

/** One worker thread and its in-flight request. */
class ReaderThread {
  readonly ready: Promise<boolean>;
  #worker: Worker;
  #pending: Pending | undefined;
  #exited = false;
  #label = "";

  constructor(sdkUrl: string | undefined, logger: Logger) {
    this.#worker = new Worker(workerEntry(), { workerData: { sdkUrl }, stdout: true, stderr: true });
    this.#worker.unref();
    const forward = (stream: NodeJS.ReadableStream): void => {
      let buffered = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) logger.info(this.#label ? `[${this.#label}] ${line}` : line);
      });
    };
    forward(this.#worker.stdout);
    forward(this.#worker.stderr);
    this.ready = new Promise<boolean>((resolve) => {
      this.#worker.on("message", (message: WorkerMessage) => {
        if (message.type === "ready") resolve(true);
        else if (message.type === "warning") logger.warn(this.#label ? `${this.#label}: ${message.message}` : message.message);
        else if (this.#pending) {
          const pending = this.#pending;
          this.#pending = undefined;
          pending.resolve(message.ok ? { ok: true, exports: message.exports, bundleDependencies: message.bundleDependencies, untagged: message.untagged } : { ok: false, error: message.error });
        }
      });
      const onGone = (error?: Error): void => {
        this.#exited = true;
        resolve(false);
        const pending = this.#pending;
        this.#pending = undefined;
        pending?.resolve({
          ok: false,
          error: error
            ? { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) }
            : { name: "Error", message: "the module ended the thread importing it (process.exit() at top level?)" },
        });
      };
      this.#worker.on("error", onGone);
      this.#worker.on("exit", () => onGone());
    });
  }

  /** Keeps the process alive while the thread works (a spare must not). */
  ref(): void {
    this.#worker.ref();
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Imports one bundle; resolves `undefined` when it did not finish in time (the thread is then useless). */
  request(request: ReadRequest, timeoutMs: number): Promise<ReadResult | undefined> {
    this.#label = request.file;
    return new Promise<ReadResult | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.#pending = {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      };
      this.#worker.postMessage(request);
    });
  }

  async terminate(): Promise<void> {
    this.#exited = true;
    await this.#worker.terminate().catch(() => undefined);
  }
}

/** `promise`, or `fallback` after `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates an export reader. No thread until warm() or read(). */
export function createExportReader(options: ExportReaderOptions): ExportReader {
  const { importTimeoutMs, logger } = options;
  const prewarm = options.prewarm ?? true;
  let spare: ReaderThread | undefined;
  let closed = false;
  let nextId = 1;

  const startThread = (): ReaderThread => new ReaderThread(options.sdkUrl, logger);
  const takeThread = (): ReaderThread => {
    const thread = spare && !spare.exited ? spare : startThread();
    spare = undefined;
    return thread;
  };

  return {
    warm() {
      if (prewarm && !closed && !spare) spare = startThread();
    },
    async read(targets) {
      const results = new Map<string, ReadResult>();
      if (closed || targets.length === 0) return results;
      let thread: ReaderThread | undefined;
      try {
        for (const target of targets) {
          if (!thread) {
            thread = takeThread();
            thread.ref();
          }
          let result: ReadResult | undefined;
          // Starting is our code, not the user's: a slow start on a busy machine is not a hang.
          if (await withTimeout(thread.ready, Math.max(importTimeoutMs, THREAD_START_TIMEOUT_MS), false)) {
            result = await thread.request({ id: nextId++, url: target.url, file: target.file }, importTimeoutMs);
          } else {
            result = { ok: false, timedOut: true, error: { name: "Error", message: `the thread to import ${target.file} in did not start` } };
          }
          if (result === undefined) {
            result = {
              ok: false,
              timedOut: true,
              error: {
                name: "Error",
                message: `importing ${target.file} did not finish within ${importTimeoutMs} ms: its top-level code hangs (an endless loop, or an await that never settles)`,
              },
            };
          }
          results.set(target.url, result);
          if (!result.ok && (result.timedOut || thread.exited)) {
            // The thread is stuck or gone: the next bundle needs a new one.
            await thread.terminate();
            thread = undefined;
          }
        }
      } finally {
        await thread?.terminate();
        if (prewarm && !closed) spare = startThread();
      }
      return results;
    },
    discardSpare() {
      const thread = spare;
      spare = undefined;
      void thread?.terminate();
    },
    async close() {
      closed = true;
      const thread = spare;
      spare = undefined;
      await thread?.terminate();
    },
  };
}
