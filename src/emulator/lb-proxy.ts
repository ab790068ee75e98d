/**
 * Load-balanced requests: any method on `{url}/lb/{endpointId}/<path>` (or on
 * any path with `Host: {endpointId}.<anything>`) is forwarded to a ready
 * worker of the endpoint and its answer streamed back with
 * `X-Runpod-Worker-Id`. The request body is buffered (30 MB limit) so a
 * request waiting for a worker to boot holds no socket to the worker.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { Context } from "koa";
import type { EmulatorContext } from "./emulator-context.js";
import { BODY_LIMITS, readBody } from "./http-body.js";
import { HttpError } from "./http-error.js";
import { requireKey } from "./koa-helpers.js";
import type { PoolWorker } from "./pool-worker.js";

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones we set ourselves. */
const DROP_REQUEST = new Set(["connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "authorization"]);
const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/** Keep-alive connections to workers, shared by all LB requests of one emulator. */
export function createWorkerAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 256 });
}

/** Forwards one request to a ready worker of a load-balanced endpoint (path = the worker-side path and query). */
export async function proxyLbRequest(ctx: Context, app: EmulatorContext, agent: Agent, endpointId: string, path: string): Promise<void> {
  requireKey(ctx, app.clientKeys);
  const record = app.endpoints.get(endpointId);
  if (!record) throw new HttpError(404, `endpoint ${endpointId} not found`);
  if (record.endpoint.type !== "LOAD_BALANCER") throw new HttpError(400, "not allowed for QB API");
  const body = await readBody(ctx.req, BODY_LIMITS.lb);
  // Affinity: `<id>`, `strict <id>` or `strict-resume <id>`; the emulator honours all as a preference.
  const affinity = ctx.get("x-runpod-worker-id").split(/\s+/).pop() || undefined;
  const worker = await app.pool.lb.acquire(endpointId, { ...(affinity ? { affinity } : {}), timeoutMs: app.timings.lbWorkerWaitMs });
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    app.pool.lb.release(worker);
  };
  let upstream: IncomingMessage;
  try {
    upstream = await forward(ctx, agent, worker, path, body, app.timings.lbRequestTimeoutMs);
  } catch (error) {
    release();
    const timedOut = (error as Error).message === "timeout";
    throw new HttpError(timedOut ? 504 : 502, timedOut ? `worker ${worker.id} did not answer within ${app.timings.lbRequestTimeoutMs} ms` : `worker ${worker.id} did not answer: ${(error as Error).message}`);
  }
  ctx.res.once("close", () => {
    release();
    if (!upstream.complete) upstream.destroy();
  });
  ctx.status = upstream.statusCode ?? 502;
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !DROP_RESPONSE.has(name)) ctx.set(name, value);
  }
  ctx.set("X-Runpod-Worker-Id", worker.id);
  if (ctx.status === 204 || ctx.status === 304) {
    upstream.resume();
    ctx.body = null;
    return;
  }
  // Koa does not pipe bodies of HEAD answers: drain it ourselves so the socket is reusable.
  if (ctx.method === "HEAD") upstream.resume();
  ctx.body = upstream;
}

function forward(ctx: Context, agent: Agent, worker: PoolWorker, path: string, body: Buffer, timeoutMs: number): Promise<IncomingMessage> {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(ctx.req.headers)) if (!DROP_REQUEST.has(name)) headers[name] = value;
  headers["content-length"] = String(body.length);
  headers["x-forwarded-host"] = ctx.host;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: worker.port, method: ctx.method, path, headers, agent, timeout: timeoutMs },
      resolve,
    );
    req.once("timeout", () => req.destroy(new Error("timeout")));
    req.once("error", reject);
    req.end(body);
  });
}
