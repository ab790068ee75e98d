/**
 * The job API of queue endpoints: `/v2/{endpointId}/run | runsync | status |
 * status-sync | stream | cancel | retry | purge-queue | health`. Success is
 * always exactly HTTP 200 (runpod-sdk treats any other 2xx as a failure);
 * errors are `{"error": "<message>", "status": <code>}`.
 */
import type { Context } from "koa";
import type { HealthResponse, JobPolicy, JobStatus } from "../runpod/wire-types.js";
import type { EmulatorContext } from "./emulator-context.js";
import { isRecord } from "../common/is-record.js";
import { BODY_LIMITS, jsonMemberRange, readJsonBody, releaseBody } from "./http-body.js";
import { HttpError } from "./http-error.js";
import { isTerminal, MAX_TIMEOUT_MS, toJobState, type JobRecord } from "./job-record.js";
import { checkWebhookUrl } from "./webhook-sender.js";
import { clampedQuery, holdForClient, requireKey, requireMethod } from "./koa-helpers.js";

/** runsync / status-sync `wait`: default 90 s, clamped to Runpod's documented 1–300 s. */
const WAIT = { fallback: 90_000, min: 1000, max: 300_000 };

/**
 * Lower bounds of the job policy (Runpod's documented ranges; the upper bound
 * of both is MAX_TIMEOUT_MS). A shorter timeout for tests or a function goes
 * on the endpoint (`timeout`), which has no documented minimum.
 */
const POLICY_MIN = { executionTimeout: { min: 5_000, label: "5 s" }, ttl: { min: 10_000, label: "10 s" } } as const;

/** The `{operation}` segments served by handleJobRoute. */
export const JOB_OPERATIONS = new Set(["run", "runsync", "status", "status-sync", "stream", "cancel", "retry", "purge-queue", "health"]);

/** Serves `/v2/{endpointId}/{op}[/{jobId}]` of the job API. */
export async function handleJobRoute(ctx: Context, app: EmulatorContext, endpointId: string, op: string, jobId: string | undefined): Promise<void> {
  requireKey(ctx, app.clientKeys);
  const record = app.endpoints.get(endpointId);
  if (!record) throw new HttpError(404, `endpoint ${endpointId} not found`);
  if (record.endpoint.type === "LOAD_BALANCER" && op !== "health") {
    throw new HttpError(400, `not allowed for LB API: endpoint ${endpointId} is load-balanced; send requests to ${app.baseUrl()}/lb/${endpointId}/<path>`);
  }
  const needsJob = op === "status" || op === "status-sync" || op === "stream" || op === "cancel" || op === "retry";
  if (needsJob !== (jobId !== undefined)) throw new HttpError(404, `route not found: ${ctx.method} ${ctx.path}`);

  switch (op) {
    case "run":
    case "runsync":
      requireMethod(ctx, "POST");
      return submit(ctx, app, endpointId, op === "runsync");
    case "status":
      requireMethod(ctx, "GET", "POST");
      ctx.body = toJobState(findJob(app, endpointId, jobId!), Date.now());
      return;
    case "status-sync":
      requireMethod(ctx, "GET", "POST");
      return respondWhenDone(ctx, app, findJob(app, endpointId, jobId!));
    case "stream":
      requireMethod(ctx, "GET", "POST");
      return stream(ctx, app, findJob(app, endpointId, jobId!));
    case "cancel": {
      requireMethod(ctx, "POST", "GET");
      const job = findJob(app, endpointId, jobId!);
      app.jobs.cancel(job);
      ctx.body = { id: job.id, status: job.status };
      return;
    }
    case "retry": {
      requireMethod(ctx, "POST");
      const job = findJob(app, endpointId, jobId!);
      if (!app.jobs.retry(job)) throw new HttpError(400, `job ${job.id} is ${job.status}; only FAILED or TIMED_OUT jobs can be retried`);
      // Like /run: the status at requeueing, even if a held job-take took it in the same tick.
      ctx.body = { id: job.id, status: "IN_QUEUE" };
      return;
    }
    case "purge-queue":
      requireMethod(ctx, "POST");
      ctx.body = { removed: app.jobs.purge(endpointId), status: "completed" };
      return;
    case "health": {
      requireMethod(ctx, "GET");
      const body: HealthResponse = { jobs: app.jobs.counters(endpointId), workers: app.pool.counts(endpointId) };
      ctx.body = body;
      return;
    }
    default:
      throw new HttpError(404, `route not found: ${ctx.method} ${ctx.path}`);
  }
}

function findJob(app: EmulatorContext, endpointId: string, jobId: string): JobRecord {
  const job = app.jobs.get(endpointId, jobId);
  if (!job) throw new HttpError(404, `job ${jobId} not found`);
  return job;
}

async function submit(ctx: Context, app: EmulatorContext, endpointId: string, sync: boolean): Promise<void> {
  // In a function of its own so that nothing of the parsed body stays reachable while runsync waits.
  const job = await createJob(ctx, app, endpointId, sync);
  if (!sync) {
    // The status at submission; a held job-take may already have taken it.
    ctx.body = { id: job.id, status: "IN_QUEUE" };
    return;
  }
  return respondWhenDone(ctx, app, job);
}

/**
 * Validates the body and queues the job. The input is kept as the bytes it
 * came in (a view of the body, never decoded again or re-serialised), and
 * from here on they count against the job memory instead of the bodies in flight.
 */
async function createJob(ctx: Context, app: EmulatorContext, endpointId: string, sync: boolean): Promise<JobRecord> {
  const { value: body, raw } = await readJsonBody(ctx.req, sync ? BODY_LIMITS.runsync : BODY_LIMITS.run);
  if (!isRecord(body)) throw new HttpError(400, 'request body must be a JSON object like {"input": {...}}');
  if (body.input === undefined) throw new HttpError(400, 'missing "input" in the request body');
  if (body.webhook !== undefined && typeof body.webhook !== "string") throw new HttpError(400, "webhook must be a URL string");
  if (typeof body.webhook === "string" && body.webhook !== "") checkWebhookUrl(body.webhook);
  const policy = parsePolicy(body.policy);
  const job = app.jobs.submit(
    endpointId,
    {
      // Counted as the whole body: the input is a view of its buffer and keeps it alive.
      input: { json: raw.subarray(...jsonMemberRange(raw, "input")!), bytes: raw.length },
      ...(typeof body.webhook === "string" && body.webhook !== "" ? { webhook: body.webhook } : {}),
      ...(policy ? { policy } : {}),
      ...(body.s3Config !== undefined ? { s3Config: body.s3Config } : {}),
    },
    sync,
  );
  releaseBody(ctx.req);
  return job;
}

function parsePolicy(value: unknown): JobPolicy | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new HttpError(400, "policy must be an object");
  const policy: JobPolicy = {};
  for (const key of ["executionTimeout", "ttl"] as const) {
    const v = value[key];
    if (v === undefined) continue;
    const { min, label } = POLICY_MIN[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > MAX_TIMEOUT_MS) {
      throw new HttpError(400, `policy.${key} must be a number of milliseconds from ${min} (${label}) to ${MAX_TIMEOUT_MS} (7 days)`);
    }
    policy[key] = v;
  }
  if (value.lowPriority !== undefined) {
    if (typeof value.lowPriority !== "boolean") throw new HttpError(400, "policy.lowPriority must be a boolean");
    policy.lowPriority = value.lowPriority;
  }
  return policy;
}

/**
 * Holds the request until the job ends or `wait` passes, then answers with
 * the job as it is (a non-terminal status when it did not finish in time).
 */
async function respondWhenDone(ctx: Context, app: EmulatorContext, job: JobRecord): Promise<void> {
  const wait = clampedQuery(ctx, "wait", WAIT.fallback, WAIT.min, WAIT.max);
  const pending = app.jobs.waitFor(job, wait, isTerminal);
  await holdForClient(ctx, pending.done, pending.cancel);
  // Deleted while we waited: by its TTL (404, as a later /status would say) or with its
  // endpoint (then it ended FAILED first, and the waiting client is told so).
  if (job.deleted && !isTerminal(job)) throw new HttpError(404, `job ${job.id} not found (expired)`);
  ctx.body = toJobState(job, Date.now());
}

/**
 * Only chunks not yet delivered, always with a `stream` array. With nothing
 * new the request is held briefly until a chunk, a change of the job's status
 * (a queued job starting) or the end arrives, so a client polling in a tight
 * loop (runpod-sdk) does not spin, and one showing live state learns of the
 * start at once.
 */
async function stream(ctx: Context, app: EmulatorContext, job: JobRecord): Promise<void> {
  const hold = clampedQuery(ctx, "wait", app.timings.streamHoldMs, 0, 30_000);
  const status = job.status;
  const pending = app.jobs.waitFor(job, hold, (j) => j.chunks.length > 0 || isTerminal(j) || j.status !== status);
  await holdForClient(ctx, pending.done, pending.cancel);
  if (job.deleted && !isTerminal(job)) throw new HttpError(404, `job ${job.id} not found (expired)`);
  const terminal = isTerminal(job);
  const body: { id: string; status: JobStatus; stream: { output: unknown }[]; error?: string } = {
    id: job.id,
    status: job.status,
    stream: app.jobs.takeStreamChunks(job, terminal),
  };
  if (terminal && job.error !== undefined) body.error = job.error;
  ctx.body = body;
}
