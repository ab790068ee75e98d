/**
 * Who may talk to the emulator at all. It starts processes from endpoint
 * `args` (shell commands), so a web page the developer happens to visit must
 * not be able to create an endpoint through it, even when no API key is set:
 *
 * - Browsers mark their requests: `Sec-Fetch-Site` (anything but `none`, a
 *   typed URL, or `same-origin`) and `Origin` (sent on cross-origin requests
 *   and on every POST). curl, the SDKs, workers and Node's fetch send neither,
 *   so any such request is refused — no-cors "simple" requests included,
 *   which CORS alone would let through.
 * - DNS rebinding (a page whose own name re-resolves to 127.0.0.1) passes as
 *   same-origin, but its Host header still carries the attacker's name. On a
 *   loopback bind (the default) only local names are accepted: `localhost`,
 *   `*.localhost` (LB routing by `Host: {endpointId}.localhost`),
 *   `127.x.x.x` and `[::1]`. Bound to another interface (0.0.0.0 in a
 *   container, say) clients legitimately use other names, so the Host check
 *   is skipped there and the API key is the protection.
 */
import type { Context, Next } from "koa";
import { HttpError } from "./http-error.js";

/** Settings of the request guard. */
export interface RequestGuardOptions {
  /** Refuse Host names that are not local (set when the emulator listens on loopback only). */
  checkHost: boolean;
}

/** Koa middleware refusing browser-originated and (on loopback) non-local-Host requests with 403. */
export function requestGuard(options: RequestGuardOptions) {
  return (ctx: Context, next: Next): Promise<void> => {
    const site = ctx.get("sec-fetch-site").toLowerCase();
    if (site !== "" && site !== "none" && site !== "same-origin") {
      throw new HttpError(403, `cross-site request refused (Sec-Fetch-Site: ${site}); the emulator does not answer web pages`);
    }
    if (ctx.get("origin") !== "") {
      throw new HttpError(403, "request with an Origin header refused; the emulator does not answer web pages, call it from a script or an SDK");
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

/** True for the names that always mean this machine: localhost, *.localhost, 127.x.x.x, ::1 (with or without brackets). */
export function isLocalHostname(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (name === "::1" || name === "[::1]") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The hostname part of a Host header: `[::1]:8080` → `[::1]`, `a.localhost:80` → `a.localhost`, `::1` stays. */
function hostnameOf(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(":");
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon < 0 || host.indexOf(":", colon + 1) >= 0) return host;
  return host.slice(0, colon);
}
