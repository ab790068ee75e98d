/**
 * What the job loop runs for each job, independent of where jobs come from
 * (the platform's job-take, or the one-shot local mode): a JobRunner turns a
 * job into the body posted to job-done. Two runners exist: flash functions
 * (the job input is a FunctionRequest) and plain handlers (handler-mode.ts).
 */
import { isAppError } from "../common/errors.js";
import { parseFunctionRequest } from "../common/function-protocol.js";
import type { WorkerJob } from "./platform-client.js";
import type { Executor } from "./execute.js";
import { createLiveLogSender } from "./live-logs.js";
import type { LiveLogSenderOptions } from "./live-logs.js";

/** The body posted to job-done (`output` and/or `error`, `stopPod`), as runpod-python shapes it. */
export interface JobResultBody {
  output?: unknown;
  error?: unknown;
  stopPod?: boolean;
}

export interface JobOutcome {
  body: JobResultBody;
  /** Posted with `isStream=true` (the handler streamed). */
  isStream: boolean;
  /** The job failed (for the one-shot mode's exit code). */
  failed: boolean;
}

/** What a running job can do besides returning. */
export interface JobContext {
  /** Aborted when the platform stops the job (cancel, timeout) or the worker is forced down. */
  signal: AbortSignal;
  /** Posts a progress update (`{"status":"IN_PROGRESS","output":…}`); the job stays in progress. */
  progress(output: unknown): Promise<void>;
  /** Posts one stream chunk (`{"output":…}`); false when it could not be delivered (no stream channel, refused). */
  stream(output: unknown): Promise<boolean | void>;
}

export interface JobRunner {
  /** Runs a job. Rejections are turned into an error result by the caller. */
  run(job: WorkerJob, ctx: JobContext): Promise<JobOutcome>;
  /** Declared concurrency (a handler module's `concurrency` export). */
  readonly concurrency?: number;
}

export interface FunctionJobRunnerOptions {
  /**
   * Stream the function's console output while it runs, as job stream chunks
   * (docs/internals.md, "Live logs"): `true`, or the sender's settings. Off by
   * default (the one-shot mode has nobody reading a stream).
   */
  liveLogs?: boolean | Omit<LiveLogSenderOptions, "send">;
}

/** Runs jobs whose input is a FunctionRequest; the output is the FunctionResponse (with every line, streamed or not). */
export function createFunctionJobRunner(executor: Executor, options: FunctionJobRunnerOptions = {}): JobRunner {
  const liveSettings = options.liveLogs === true ? {} : options.liveLogs || undefined;
  return {
    async run(job, ctx) {
      let request;
      try {
        request = parseFunctionRequest(job.input);
      } catch (error) {
        // Not a function call at all: fail the job the Runpod way rather than pretend it ran.
        const message = isAppError(error) || error instanceof Error ? error.message : String(error);
        return { body: { error: message }, isStream: false, failed: true };
      }
      const live = liveSettings ? createLiveLogSender({ ...liveSettings, send: async (chunk) => (await ctx.stream(chunk)) !== false }) : undefined;
      let response;
      try {
        response = await executor.execute(request, { signal: ctx.signal, ...(live ? { onLog: (log, seq) => live.add(log, seq) } : {}) });
      } finally {
        // A chunk posted after the result would be refused (the job is over): wait for the one in flight.
        await live?.close();
      }
      // A caller with another runtime: this worker retires, and says so (runpod-python's refresh_worker).
      const retiring = !response.ok && response.error.kind === "runtime-mismatch";
      return { body: { output: response, ...(retiring ? { stopPod: true } : {}) }, isStream: false, failed: !response.ok };
    },
  };
}
