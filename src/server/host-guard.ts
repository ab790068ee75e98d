/**
 * DNS-rebinding guard. A web page can make a name it controls resolve to
 * 127.0.0.1 and then talk to the dev server as a same-origin page, reading
 * answers and spending GPU time. Such requests carry the attacker's name in
 * `Host`, so only names that cannot be rebound are accepted: `localhost` and
 * `*.localhost`, IP literals (a LAN address when serving on 0.0.0.0), and
 * names the user allows (`FLASH_ALLOWED_HOSTS`, e.g. a Codespaces domain).
 */
import type { Middleware } from "koa";
import { isIP } from "node:net";
import { AppError } from "../shared/errors.js";
import type { DevState } from "./dev-context.js";

/**
 * Parses an allow-list: comma-separated host names; an entry starting with
 * `.` allows every name ending in it; `*` allows any host.
 */
export function parseAllowedHosts(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

/** True when `hostname` (no port) may address the dev server. */
export function isAllowedHost(hostname: string, allowed: readonly string[]): boolean {
  const name = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (name === "" || name === "localhost" || name.endsWith(".localhost") || isIP(name) !== 0) return true;
  return allowed.some((entry) => entry === "*" || entry === name || (entry.startsWith(".") && name.endsWith(entry)));
}

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
