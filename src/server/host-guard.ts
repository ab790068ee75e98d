/**
 * The dev server's two guards; the judging itself is shared with the
 * emulator (common/local-server-guard.ts).
 *
 * - hostGuard (every request): DNS rebinding. Only `localhost`,
 *   `*.localhost`, IP literals and names the user allows
 *   (`FLASH_ALLOWED_HOSTS`, e.g. a Codespaces domain) are answered.
 * - originGuard (function routes): a function call spends GPU time, so a
 *   browser may make one only from the dev server's own pages (`/docs`) or
 *   from an origin the user allows (`FLASH_ALLOWED_ORIGINS`); scripts (no
 *   Origin, no Fetch Metadata) always may. Allowed origins get CORS headers,
 *   and their preflights are answered, so a front end on another port can
 *   call the routes with `fetch`. Built-in routes (`/docs`, `/ping`, …) are
 *   not guarded: they only read, and a link to `/docs` should open.
 */
import type { Middleware } from "koa";
import { AppError } from "../common/errors.js";
import { isAllowedHost, judgeBrowserRequest } from "../common/local-server-guard.js";
import type { DevState } from "./dev-context.js";

export { isAllowedHost, parseAllowedHosts, parseAllowedOrigins } from "../common/local-server-guard.js";

export function hostGuard(allowed: readonly string[]): Middleware<DevState> {
  return async function hostGuardMiddleware(ctx, next) {
    if (!isAllowedHost(ctx.hostname, allowed)) {
      throw new AppError("FORBIDDEN", `requests for host "${ctx.hostname}" are refused`, {
        hint: `Address the dev server as localhost or by IP; to allow this name set FLASH_ALLOWED_HOSTS=${ctx.hostname}`,
      });
    }
    return next();
  };
}

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_S = 600;
const CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";

/** Refuses browser requests from other origins (403 FORBIDDEN) unless allowed; answers allowed origins' preflights. */
export function originGuard(allowedOrigins: readonly string[]): Middleware<DevState> {
  return async function originGuardMiddleware(ctx, next) {
    const verdict = judgeBrowserRequest(
      { origin: ctx.get("origin"), secFetchSite: ctx.get("sec-fetch-site"), referer: ctx.get("referer") },
      // Not ctx.origin: since Koa 3 that is the request's Origin header, not ours.
      { ownOrigin: `${ctx.protocol}://${ctx.host}`, allowedOrigins },
    );
    if (!verdict.allowed) {
      const origin = ctx.get("origin");
      throw new AppError("FORBIDDEN", `${ctx.method} ${ctx.path} refused: ${verdict.reason}`, {
        hint:
          "Call the dev server from curl, your own code or its /docs page. To let a page on another origin call it, " +
          `set FLASH_ALLOWED_ORIGINS${origin && origin !== "null" ? `=${origin}` : " to that page's origin"}.`,
      });
    }
    if (verdict.corsOrigin !== undefined) {
      ctx.vary("Origin");
      ctx.set("Access-Control-Allow-Origin", verdict.corsOrigin);
      const preflightMethod = ctx.get("access-control-request-method");
      if (ctx.method === "OPTIONS" && preflightMethod !== "") {
        ctx.set("Access-Control-Allow-Methods", CORS_METHODS);
        const headers = ctx.get("access-control-request-headers");
        if (headers !== "") ctx.set("Access-Control-Allow-Headers", headers);
        // Chromium's Private Network Access asks before a public page reaches localhost.
        if (ctx.get("access-control-request-private-network") === "true") ctx.set("Access-Control-Allow-Private-Network", "true");
        ctx.set("Access-Control-Max-Age", String(PREFLIGHT_MAX_AGE_S));
        ctx.status = 204;
        return;
      }
    }
    return next();
  };
}
