/**
 * REST v2 serverless endpoints: `GET|POST /v2/serverless`,
 * `GET|PATCH|DELETE /v2/serverless/{id}`, `GET /v2/serverless/{id}/workers`.
 * Create answers 201, delete 204, errors are problem JSON. `requestUrls`
 * point at this emulator: queue URLs under `{url}/v2/{id}/…`, load-balanced
 * ones under `{url}/lb/{id}`.
 */
import type { Context } from "koa";
import type { Endpoint, LoadBalancerRequestUrls, QueueRequestUrls } from "../runpod/wire-types.js";
import type { EmulatorContext } from "./emulator-context.js";
import type { EndpointRecord } from "./endpoint-store.js";
import { validateCreateEndpoint, validateUpdateEndpoint } from "./endpoint-validation.js";
import { BODY_LIMITS, readJson } from "./http-body.js";
import { HttpError } from "./http-error.js";
import { requireKey, requireMethod } from "./koa-helpers.js";

/** Serves `/v2/serverless…`; `rest` are the path segments after `serverless`. */
export async function handleRestRoute(ctx: Context, app: EmulatorContext, rest: string[]): Promise<void> {
  requireKey(ctx, app.clientKeys);
  const [id, sub, ...extra] = rest;
  if (id === undefined || id === "") {
    requireMethod(ctx, "GET", "POST");
    if (ctx.method === "GET") {
      ctx.body = { endpoints: app.endpoints.list().map((r) => renderEndpoint(r, app.baseUrl())) };
      return;
    }
    const request = validateCreateEndpoint(await readJson(ctx.req, BODY_LIMITS.rest));
    const record = app.endpoints.create(request);
    app.logger.debug(`Created endpoint ${record.endpoint.name} (${record.endpoint.id})`);
    app.pool.evaluate(record.endpoint.id);
    ctx.status = 201;
    ctx.body = renderEndpoint(record, app.baseUrl());
    return;
  }
  const record = app.endpoints.get(id);
  if (sub === "workers" && extra.length === 0) {
    requireMethod(ctx, "GET");
    if (!record) throw new HttpError(404, `endpoint ${id} not found`);
    ctx.body = { workers: app.pool.snapshot(id) };
    return;
  }
  if (sub !== undefined) throw new HttpError(404, `route not found: ${ctx.method} ${ctx.path}`);
  requireMethod(ctx, "GET", "PATCH", "DELETE");
  if (!record) throw new HttpError(404, `endpoint ${id} not found`);

  if (ctx.method === "GET") {
    ctx.body = renderEndpoint(record, app.baseUrl());
  } else if (ctx.method === "PATCH") {
    const e = record.endpoint;
    const patch = validateUpdateEndpoint(await readJson(ctx.req, BODY_LIMITS.rest), {
      type: e.type,
      scaling: e.scaling,
      workers: e.workers,
      hasGpu: e.gpu !== null && e.gpu !== undefined,
    });
    const change = app.endpoints.update(id, patch);
    if (!change) throw new HttpError(404, `endpoint ${id} not found`);
    if (change.containerChanged) app.logger.debug(`Endpoint ${e.name} (${id}) changed; its workers are replaced as they become idle`);
    app.pool.evaluate(id);
    ctx.body = renderEndpoint(change.record, app.baseUrl());
  } else {
    app.endpoints.delete(id);
    app.jobs.dropEndpoint(id, `endpoint ${id} was deleted`);
    // Workers get SIGTERM now; the answer does not wait for them to exit (close() does).
    void app.pool.deleteEndpoint(id);
    app.logger.debug(`Deleted endpoint ${record.endpoint.name} (${id})`);
    ctx.status = 204;
  }
}

/** The REST v2 endpoint object, with requestUrls for this emulator. */
export function renderEndpoint(record: EndpointRecord, baseUrl: string): Endpoint {
  const { id, name, type, ...rest } = record.endpoint;
  return { id, name, type, requestUrls: requestUrls(id, type, baseUrl), ...rest };
}

function requestUrls(id: string, type: string, baseUrl: string): QueueRequestUrls | LoadBalancerRequestUrls {
  if (type === "LOAD_BALANCER") return { base: `${baseUrl}/lb/${id}`, health: `${baseUrl}/lb/${id}/ping` };
  const v2 = `${baseUrl}/v2/${id}`;
  return {
    run: `${v2}/run`,
    runSync: `${v2}/runsync`,
    status: `${v2}/status/{job_id}`,
    stream: `${v2}/stream/{job_id}`,
    cancel: `${v2}/cancel/{job_id}`,
    retry: `${v2}/retry/{job_id}`,
    purgeQueue: `${v2}/purge-queue`,
    health: `${v2}/health`,
  };
}
