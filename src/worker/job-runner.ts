/**
 * What the job loop runs for each job, independent of where jobs come from
 * (the platform's job-take, or the one-shot local mode): a JobRunner turns a
 * job into the body posted to job-done. Two runners exist: flash functions
 * (the job input is a FunctionRequest) and plain handlers (handler-mode.ts).
 */
import { isAppError } from "../shared/errors.js";
import { parseFunctionRequest } from "../shared/function-protocol.js";
import type { WorkerJob } from "./platform-client.js";
import type { Executor } from "./execute.js";

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
  /** Posts one stream chunk (`{"output":…}`). */
  stream(output: unknown): Promise<void>;
}

export interface JobRunner {
  /** Runs a job. Rejections are turned into an error result by the caller. */
  run(job: WorkerJob, ctx: JobContext): Promise<JobOutcome>;
  /** Declared concurrency (a handler module's `concurrency` export). */
  readonly concurrency?: number;
}

/** Runs jobs whose input is a FunctionRequest; the output is the FunctionResponse. */
export function createFunctionJobRunner(executor: Executor): JobRunner {
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
      const response = await executor.execute(request, { signal: ctx.signal });
      // A caller with another runtime: this worker retires, and says so (runpod-python's refresh_worker).
      const retiring = !response.ok && response.error.kind === "runtime-mismatch";
      return { body: { output: response, ...(retiring ? { stopPod: true } : {}) }, isStream: false, failed: !response.ok };
    },
  };
}
