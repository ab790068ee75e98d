/**
 * Who may talk to the emulator at all. It starts processes from endpoint
 * `args` (shell commands), so a web page the developer happens to visit must
 * not be able to create an endpoint through it, even when no API key is set.
 * The judging is shared with the dev server (common/local-server-guard.ts);
 * the emulator's policy is the strictest one:
 *
 * - Every browser request is refused: the emulator serves no pages, so
 *   nothing is same-origin to it and no origin is allowed. Only a URL the
 *   user typed (`Sec-Fetch-Site: none`, no `Origin`) passes, like curl, the
 *   SDKs, workers and Node's fetch, which send neither label. no-cors
 *   "simple" requests, which CORS alone would let through, are refused too.
 * - DNS rebinding: on a loopback bind (the default) only local names are
 *   accepted in `Host`: `localhost`, `*.localhost` (LB routing by
 *   `Host: {endpointId}.localhost`), `127.x.x.x` and `[::1]`. Bound to another
 *   interface (0.0.0.0 in a container, say) clients legitimately use other
 *   names, so the Host check is skipped there and the API key (required
 *   there) is the protection.
 */
import type { Context, Next } from "koa";
import { hostnameOf, isLocalHostname, judgeBrowserRequest } from "../common/local-server-guard.js";
import { HttpError } from "./http-error.js";

export { isLocalHostname } from "../common/local-server-guard.js";

/** Settings of the request guard. */
export interface RequestGuardOptions {
  /** Refuse Host names that are not local (set when the emulator listens on loopback only). */
  checkHost: boolean;
}

const NO_BROWSERS = { allowedOrigins: [] } as const;

/** Koa middleware refusing browser-originated and (on loopback) non-local-Host requests with 403. */
export function requestGuard(options: RequestGuardOptions) {
  return (ctx: Context, next: Next): Promise<void> => {
    const verdict = judgeBrowserRequest({ origin: ctx.get("origin"), secFetchSite: ctx.get("sec-fetch-site"), referer: ctx.get("referer") }, NO_BROWSERS);
    if (!verdict.allowed) {
      throw new HttpError(403, `${verdict.reason} refused: the emulator does not answer web pages; call it from a script or an SDK`);
    }
    if (options.checkHost) {
      const host = ctx.get("host");
      if (!isLocalHostname(hostnameOf(host))) {
        throw new HttpError(403, `Host "${host}" refused: an emulator bound to loopback only answers to localhost, *.localhost, 127.x.x.x or [::1]`);
      }
    }
    return next();
  };
}
