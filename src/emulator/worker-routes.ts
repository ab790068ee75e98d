/**
 * The worker protocol (worker → platform), as runpod-python speaks it:
 * `/v2/{endpointId}/job-take/{workerId}`, `job-take-batch/{workerId}`,
 * `job-done/{workerId}/{jobId}`, `job-stream/{workerId}/{jobId}`,
 * `ping/{workerId}` and `job-stop/{workerId}`. Bodies are JSON whatever the
 * Content-Type says; the key is the raw worker key (RUNPOD_AI_API_KEY).
 */
import { Readable } from "node:stream";
import type { Context } from "koa";
import type { JobDoneBody } from "../runpod/wire-types.js";
import type { EmulatorContext } from "./emulator-context.js";
import { isRecord } from "../common/is-record.js";
import { formatBytes } from "../common/byte-budget.js";
import { BODY_LIMITS, readJsonBody, type JsonBodyBytes } from "./http-body.js";
import { HttpError } from "./http-error.js";
import { workerJobParts, type JobRecord } from "./job-record.js";
import { clampedQuery, holdForClient, queryParam, requireKey, requireMethod } from "./koa-helpers.js";

/** Jobs up to this size are sent to a worker as one buffer, larger ones streamed. */
const SINGLE_BUFFER_MAX_BYTES = 256 * 1024;

/** The `{operation}` segments served by handleWorkerRoute. */
export const WORKER_OPERATIONS = new Set(["job-take", "job-take-batch", "job-done", "job-stream", "ping", "job-stop"]);

/** Serves `/v2/{endpointId}/{op}/{workerId}[/{jobId}]` of the worker protocol. */
export async function handleWorkerRoute(ctx: Context, app: EmulatorContext, endpointId: string, op: string, workerId: string | undefined, jobId: string | undefined): Promise<void> {
  requireKey(ctx, app.workerKeys);
  const record = app.endpoints.get(endpointId);
  if (!record) throw new HttpError(404, `endpoint ${endpointId} not found`);
  const withJob = op === "job-done" || op === "job-stream";
  if (!workerId || withJob !== (jobId !== undefined)) throw new HttpError(404, `route not found: ${ctx.method} ${ctx.path}`);
  // A ping reporting a failed start-up check (runpod-python's fitness checks, then exit 1) is no sign of readiness.
  const unhealthy = op === "ping" && queryParam(ctx, "status") === "unhealthy";
  const worker = app.pool.touch(endpointId, workerId, !unhealthy);

  switch (op) {
    case "job-take":
    case "job-take-batch": {
      requireMethod(ctx, "GET", "POST");
      const batch = op === "job-take-batch";
      if (worker.stopping || app.isClosing()) {
        ctx.status = 204;
        return;
      }
      const max = batch ? Math.floor(clampedQuery(ctx, "batch_size", 1, 1, 1000)) : 1;
      const take = app.jobs.take(endpointId, workerId, max, app.timings.longPollMs);
      const jobs = await holdForClient(ctx, take.jobs, take.cancel);
      if (jobs.length === 0) {
        ctx.status = 204;
        return;
      }
      // Made of each input's bytes as submitted: an input is never serialised again.
      const parts = batch ? [Buffer.from("["), ...jobs.flatMap((job, i) => (i > 0 ? [Buffer.from(","), ...workerJobParts(job)] : workerJobParts(job))), Buffer.from("]")] : workerJobParts(jobs[0]!);
      const length = parts.reduce((n, part) => n + part.length, 0);
      ctx.type = "application/json";
      ctx.length = length;
      // A small job is one buffer (a stream body costs every call a pipeline and its abort); a large one is
      // streamed piece by piece, so its input is not copied (docs/internals.md, Request bodies and memory).
      ctx.body = length <= SINGLE_BUFFER_MAX_BYTES ? Buffer.concat(parts, length) : Readable.from(parts);
      return;
    }
    case "job-done": {
      requireMethod(ctx, "POST");
      const job = app.jobs.get(endpointId, jobId!);
      const { value: body, parsedBytes } = await readResult(ctx, app, job, workerId);
      if (!isRecord(body)) throw new HttpError(400, "job-done body must be a JSON object");
      if (!job) throw new HttpError(404, `job ${jobId} not found`);
      const outcome = app.jobs.complete(job, workerId, body as JobDoneBody, queryParam(ctx, "isStream") === "true", parsedBytes);
      if (outcome === "full") throw new HttpError(429, "the emulator's job memory is full; retry the progress update later", undefined, { retryAfterSeconds: 1 });
      if (outcome === "done" && body.stopPod === true) app.pool.drainAfterJob(worker);
      ctx.body = {};
      return;
    }
    case "job-stream": {
      requireMethod(ctx, "POST");
      const { value: body, parsedBytes } = await readJsonBody(ctx.req, BODY_LIMITS.jobStream, {}, { inFlightBudget: false });
      const job = app.jobs.get(endpointId, jobId!);
      if (!job) throw new HttpError(404, `job ${jobId} not found`);
      const added = app.jobs.appendChunk(job, workerId, isRecord(body) && "output" in body ? body.output : body, parsedBytes);
      if (added === "full") throw new HttpError(429, "the emulator's job memory is full; retry the stream chunk later", undefined, { retryAfterSeconds: 1 });
      ctx.body = {};
      return;
    }
    case "ping": {
      requireMethod(ctx, "GET", "POST");
      if (unhealthy) {
        app.pool.markUnhealthy(worker);
        const check = queryParam(ctx, "check") ?? "?";
        app.logger.child(record.endpoint.name).warn(`worker ${workerId} reports unhealthy (${check}): ${queryParam(ctx, "reason") ?? ""}`);
      }
      ctx.body = {};
      return;
    }
    case "job-stop": {
      requireMethod(ctx, "GET", "POST");
      const poll = app.stops.poll(workerId, app.isClosing() ? 0 : app.timings.longPollMs);
      const jobsToStop = await holdForClient(ctx, poll.jobs, poll.cancel);
      if (jobsToStop.length === 0) {
        ctx.status = 204;
        return;
      }
      ctx.body = { jobsToStop };
      return;
    }
    default:
      throw new HttpError(404, `route not found: ${ctx.method} ${ctx.path}`);
  }
}

/**
 * Reads a job-done body. One that cannot be taken (over the result limit,
 * not JSON, nested too deep) fails its job at once with an error saying why,
 * instead of leaving it to run into its timeout; the worker gets the 4xx.
 */
async function readResult(ctx: Context, app: EmulatorContext, job: JobRecord | undefined, workerId: string): Promise<JsonBodyBytes> {
  try {
    return await readJsonBody(ctx.req, BODY_LIMITS.jobDone, {}, { inFlightBudget: false });
  } catch (error) {
    if (job && error instanceof HttpError) {
      const declared = Number(ctx.get("content-length"));
      const size = Number.isFinite(declared) && declared > 0 ? `${formatBytes(declared)}, ` : "";
      const why =
        error.status === 413
          ? `the job's result (${size}over the limit of ${formatBytes(BODY_LIMITS.jobDone)} for a job result) was refused: Runpod refuses results this large too; return large data by reference (upload it and return its URL)`
          : `the job's result was refused: ${error.message}`;
      app.jobs.fail(job, workerId, why);
    }
    throw error;
  }
}
