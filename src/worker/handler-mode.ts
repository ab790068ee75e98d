/**
 * Handler mode: `flash worker --handler ./handler.js` runs a plain Node.js
 * Runpod handler, the way runpod-python's `serverless.start` does (docs/worker-protocol.md,
 * Results). The module's default export (or a named `handler`) receives the job
 * `{ id, input, … }` and a context `{ signal, progress, jobId }`; it may be
 * sync or async; a generator (async or not) streams: each value it yields is
 * posted as a stream chunk and the final output is the list of them.
 */
import { hostname } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { AppError } from "../common/errors.js";
import { isRecord } from "../common/is-record.js";
import type { JobContext, JobOutcome, JobResultBody, JobRunner } from "./job-runner.js";
import { nativeImport } from "./module-cache.js";
import type { WorkerJob } from "./platform-client.js";

/** The second argument a handler receives. */
export interface HandlerContext {
  jobId: string;
  /** Aborted when the platform stops the job (cancel, timeout) or the worker is forced down. */
  signal: AbortSignal;
  /** Posts a progress update; the job's status shows it as output while it runs. */
  progress(output: unknown): Promise<void>;
}

export type Handler = (job: WorkerJob, ctx: HandlerContext) => unknown;

export interface HandlerModule {
  /** Absolute path of the module. */
  file: string;
  handler: Handler;
  /** The module's `concurrency` export, if any. */
  concurrency?: number;
}

/** Loads a handler module (.js, .mjs, .cjs, or .ts where Node can strip types). */
export async function loadHandler(file: string, cwd: string): Promise<HandlerModule> {
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  let namespace: Record<string, unknown>;
  try {
    namespace = await nativeImport(pathToFileURL(path).href);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const hint =
      err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes(path)
        ? "Check the path given to --handler."
        : err.code === "ERR_UNKNOWN_FILE_EXTENSION"
          ? "This Node.js cannot load that file type directly; compile it to .js first."
          : undefined;
    throw new AppError("FUNCTION_LOAD_FAILED", `could not load the handler ${file}: ${err.message}`, { cause: error, ...(hint ? { hint } : {}) });
  }
  const candidate = typeof namespace.default === "function" ? namespace.default : namespace.handler;
  if (typeof candidate !== "function") {
    throw new AppError("FUNCTION_LOAD_FAILED", `the handler module ${file} does not export a function`, {
      hint: "Export the handler as the default export: `export default async function handler(job) { … }`.",
    });
  }
  const concurrency = namespace.concurrency;
  if (concurrency !== undefined && (typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 1)) {
    throw new AppError("INVALID_CONFIG", `the handler module ${file} exports concurrency ${JSON.stringify(concurrency)}; it must be a whole number ≥ 1`);
  }
  return { file: path, handler: candidate as Handler, ...(typeof concurrency === "number" ? { concurrency } : {}) };
}


/** The job-done body for a handler's return value (docs/worker-protocol.md, Results): `error` and `refresh_worker` keys are lifted out. */
export function shapeHandlerResult(value: unknown): JobResultBody {
  if (!isRecord(value) || Object.getPrototypeOf(value) !== Object.prototype) return { output: value === undefined ? null : value };
  const { error, refresh_worker: refresh, ...rest } = value;
  const body: JobResultBody = {};
  if (Object.keys(rest).length > 0) body.output = rest;
  if (error) body.error = error;
  if (refresh) body.stopPod = true;
  return body;
}

export interface ErrorIdentity {
  workerId: string;
  version: string;
}

/** The job-done body for a handler that threw (docs/worker-protocol.md, Results): `error` is a JSON string describing it. */
export function handlerErrorBody(error: unknown, who: ErrorIdentity): JobResultBody {
  const err = error instanceof Error ? error : undefined;
  return {
    error: JSON.stringify({
      error_type: err ? (err.name !== "Error" ? err.name : (err.constructor?.name ?? "Error")) : typeof error,
      error_message: err ? err.message : String(error),
      error_traceback: err?.stack ?? "",
      hostname: process.env.RUNPOD_POD_HOSTNAME || hostname(),
      worker_id: who.workerId,
      runpod_version: who.version,
    }),
  };
}

function isGenerator(value: unknown): value is AsyncIterator<unknown> & AsyncIterable<unknown> {
  if (typeof value !== "object" || value === null) return false;
  const tag = Object.prototype.toString.call(value);
  return tag === "[object AsyncGenerator]" || tag === "[object Generator]";
}

async function streamOutputs(gen: AsyncIterable<unknown> | Iterable<unknown>, ctx: JobContext): Promise<JobOutcome> {
  const outputs: unknown[] = [];
  try {
    for await (const value of gen as AsyncIterable<unknown>) {
      if (ctx.signal.aborted) break;
      // A yielded {error} ends the stream and fails the job; it is not streamed itself (runpod-python).
      if (isRecord(value) && value.error) return { body: { error: String(value.error) }, isStream: true, failed: true };
      await ctx.stream(value);
      outputs.push(value);
    }
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    return { body: { error: `handler: ${err.message} \ntraceback: ${err.stack ?? ""}` }, isStream: true, failed: true };
  }
  return { body: { output: outputs }, isStream: true, failed: false };
}

/** Runs jobs with a plain handler function. */
export function createHandlerRunner(mod: HandlerModule, who: ErrorIdentity): JobRunner {
  const { handler } = mod;
  return {
    ...(mod.concurrency !== undefined ? { concurrency: mod.concurrency } : {}),
    async run(job, ctx) {
      const handlerCtx: HandlerContext = { jobId: job.id, signal: ctx.signal, progress: (output) => ctx.progress(output) };
      let value: unknown;
      try {
        value = await handler(job, handlerCtx);
      } catch (error) {
        return { body: handlerErrorBody(error, who), isStream: false, failed: true };
      }
      if (isGenerator(value)) return streamOutputs(value, ctx);
      const body = shapeHandlerResult(value);
      return { body, isStream: false, failed: Boolean(body.error) };
    },
  };
}
