/**
 * The first middleware: gives every request an id, and turns everything
 * thrown below it into the one JSON error shape. This and the CLI are the
 * only places errors are presented.
 *
 * Koa's `expose` rule, adapted: AppErrors are shown as they are (they are
 * written for the developer, including system ones like PROVISION_FAILED,
 * whose message is what they need to act), except INTERNAL; anything that
 * is not an AppError is a bug and becomes a generic 500 INTERNAL whose
 * details only go to the console. Only system errors reach
 * `app.emit("error")`, so the console is not flooded with 404s.
 */
import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";
import { AppError, isAppError, toErrorBody } from "../common/errors.js";
import { sendJson } from "./dev-context.js";
import type { DevContext, DevState } from "./dev-context.js";

const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The request id: the client's `X-Request-Id` when it is a sane token, else a fresh UUID. */
export function resolveRequestId(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SAFE_REQUEST_ID.test(value) ? value : randomUUID();
}

function headersFor(ctx: DevContext, error: AppError): void {
  if (error.code === "METHOD_NOT_ALLOWED") {
    const allow = error.details?.allow;
    if (Array.isArray(allow)) ctx.set("Allow", allow.map(String).join(", "));
  }
  if (error.code === "RELOAD_TIMEOUT" || error.code === "SERVICE_UNAVAILABLE") {
    const seconds = error.details?.retryAfterSeconds;
    ctx.set("Retry-After", typeof seconds === "number" ? String(seconds) : "1");
  }
  // The rest of an oversized (or refused) body is unread. With Connection:
  // close, Node destroys the socket once the answer is written instead of
  // reading (and discarding) an upload of any size to keep the connection alive.
  if (error.code === "BODY_TOO_LARGE" || error.details?.bodyUnread === true) ctx.set("Connection", "close");
}

/** Creates the error boundary. It must be the first middleware. */
export function errorBoundary(): Middleware<DevState> {
  return async (ctx, next) => {
    ctx.state.requestId = resolveRequestId(ctx.get("X-Request-Id") || undefined);
    ctx.state.startedAt = performance.now();
    ctx.set("X-Request-Id", ctx.state.requestId);
    const controller = new AbortController();
    ctx.state.signal = controller.signal;
    // Registered before any other 'close' listener, so clientGone is set
    // before anything reacts to the abort.
    ctx.res.once("close", () => {
      if (ctx.res.writableFinished) return;
      ctx.state.clientGone = true;
      controller.abort(new AppError("SERVICE_UNAVAILABLE", "The client closed the connection"));
    });
    try {
      await next();
    } catch (thrown) {
      if (ctx.state.clientGone) {
        // Nobody is listening; the request log records it as closed.
        return;
      }
      const exposed = isAppError(thrown) && thrown.code !== "INTERNAL";
      const rendered = exposed
        ? thrown
        : new AppError("INTERNAL", `Internal error in the dev server (request ${ctx.state.requestId})`, {
            hint: "The dev server console has the details. This is probably a bug in flash-ts.",
          });
      if (!isAppError(thrown) || !thrown.isUserError) ctx.app.emit("error", thrown, ctx);
      ctx.state.errorCode = rendered.code;
      if (ctx.headerSent || !ctx.writable) return;
      headersFor(ctx, rendered);
      try {
        sendJson(ctx, rendered.status, toErrorBody(rendered));
      } catch (serialiseError) {
        // details that JSON cannot carry (a cycle): keep the code and message.
        ctx.app.emit("error", serialiseError, ctx);
        sendJson(ctx, rendered.status, { error: { code: rendered.code, message: rendered.message } });
      }
    }
  };
}
