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

/** Hop-by-hop headers (they describe one connection, so a proxy never forwards them) and the ones we set ourselves. */
const DROP_REQUEST = new Set(["connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "authorization"]);
const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/** Keep-alive connections to workers, shared by all LB requests of one emulator. */
export function createWorkerAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 256 });
}

/**
 * Forwards one request to a ready worker of a load-balanced endpoint (path = the worker-side path and query).
 *
 * The worker's slot (`inFlight`) is held from acquire() until our response
 * closes — finished or cut short. If the client goes away first (while
 * waiting for a worker or for the worker's answer), the wait is dropped, the
 * upstream request and response are destroyed and the slot is released, so
 * the worker does not look busy forever.
 */
export async function proxyLbRequest(ctx: Context, app: EmulatorContext, agent: Agent, endpointId: string, path: string): Promise<void> {
  requireKey(ctx, app.clientKeys);
  const record = app.endpoints.get(endpointId);
  if (!record) throw new HttpError(404, `endpoint ${endpointId} not found`);
  if (record.endpoint.type !== "LOAD_BALANCER") throw new HttpError(400, "not allowed for QB API");

  const res = ctx.res;
  const clientGone = new AbortController();
  // The worker whose slot this request holds, until it is released (once).
  let held: PoolWorker | undefined;
  let upstream: IncomingMessage | undefined;
  const release = (): void => {
    if (!held) return;
    app.pool.lb.release(held);
    held = undefined;
  };
  // `close` comes once our answer is done or the connection dropped; only the latter aborts.
  res.once("close", () => {
    if (!res.writableFinished) clientGone.abort();
    if (upstream && !upstream.complete) upstream.destroy();
    release();
  });
  // Gone already (e.g. during a fault's latency): `close` has fired and will not again.
  if (res.destroyed) clientGone.abort();

  const body = await readBody(ctx.req, BODY_LIMITS.lb);
  // Affinity: `<id>`, `strict <id>` or `strict-resume <id>`; the emulator honours all as a preference.
  const affinity = ctx.get("x-runpod-worker-id").split(/\s+/).pop() || undefined;
  const acquired = await app.pool.lb.acquire(endpointId, { ...(affinity ? { affinity } : {}), timeoutMs: app.timings.lbWorkerWaitMs, signal: clientGone.signal });
  held = acquired;
  // The client left in the tick between the claim and now: give the slot back, answer nothing.
  if (clientGone.signal.aborted) return release();

  try {
    upstream = await forward(ctx, agent, acquired, path, body, app.timings.lbRequestTimeoutMs, clientGone.signal);
  } catch (error) {
    release();
    if (clientGone.signal.aborted) return;
    const timedOut = (error as Error).message === "timeout";
    if (timedOut) throw new HttpError(504, `worker ${acquired.id} did not answer within ${app.timings.lbRequestTimeoutMs} ms`);
    // The whole request reached the worker and no answer came: it died mid-request. The 502 then
    // names that worker, which tells it apart from a worker that could not be reached at all.
    if (delivered.has(error as object)) ctx.set("X-Runpod-Worker-Id", acquired.id);
    throw new HttpError(502, `worker ${acquired.id} did not answer: ${(error as Error).message}`);
  }
  if (clientGone.signal.aborted) {
    upstream.destroy();
    return release();
  }
  ctx.status = upstream.statusCode ?? 502;
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !DROP_RESPONSE.has(name)) ctx.set(name, value);
  }
  ctx.set("X-Runpod-Worker-Id", acquired.id);
  if (ctx.status === 204 || ctx.status === 304) {
    upstream.resume();
    ctx.body = null;
    return;
  }
  // Koa does not pipe bodies of HEAD answers: drain it ourselves so the socket is reusable.
  if (ctx.method === "HEAD") upstream.resume();
  ctx.body = upstream;
}

/** Errors of forward() that came after the request had been sent in full. */
const delivered = new WeakSet<object>();

/** Sends the request to the worker; `signal` (the client went away) destroys it, and it rejects. */
function forward(ctx: Context, agent: Agent, worker: PoolWorker, path: string, body: Buffer, timeoutMs: number, signal: AbortSignal): Promise<IncomingMessage> {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(ctx.req.headers)) if (!DROP_REQUEST.has(name)) headers[name] = value;
  headers["content-length"] = String(body.length);
  headers["x-forwarded-host"] = ctx.host;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: worker.host ?? "127.0.0.1", port: worker.port, method: ctx.method, path, headers, agent, timeout: timeoutMs, signal },
      resolve,
    );
    let sent = false;
    req.once("finish", () => (sent = true));
    req.once("timeout", () => req.destroy(new Error("timeout")));
    req.once("error", (error) => {
      if (sent) delivered.add(error);
      reject(error);
    });
    req.end(body);
  });
}
