/**
 * Who may talk to a server on the developer's machine (the dev server, the
 * emulator). Both spend money or run commands, and a web page the developer
 * happens to visit can send requests to localhost. Two things are judged,
 * for both servers, here (docs/internals.md, "Requests from browsers"):
 *
 * - Where a browser request comes from. Browsers label their requests:
 *   `Sec-Fetch-Site` (`none` for a URL the user typed, else `same-origin`,
 *   `same-site`, `cross-site`) and `Origin` (sent on cross-origin requests and
 *   on every POST; `null` for sandboxed frames and file: pages). curl, the
 *   SDKs, workers and Node's fetch send neither, so a request without both is
 *   a script and passes. A request carrying either passes only when it comes
 *   from the server's own origin (if the server accepts its own pages) or
 *   from an origin the user allowed. Older browsers send `Origin` without
 *   Fetch Metadata, so `Origin` is judged on its own; a request with
 *   Fetch Metadata but no `Origin` (a link, an `<img>`) is judged by the
 *   origin of its `Referer`, and refused without one. A request with no
 *   label at all but a `Referer` from another origin is a browser without
 *   Fetch Metadata loading an `<img>` or following a link: refused too.
 * - Which name it addresses (DNS rebinding): a page whose own name
 *   re-resolves to 127.0.0.1 is same-origin to itself, but its `Host` header
 *   still carries that name, so only names that cannot be rebound pass.
 */
import { isIP } from "node:net";
import { AppError } from "./errors.js";

/** What a request says about its origin (header values as received; absent = undefined or ""). */
export interface BrowserSignals {
  origin?: string | undefined;
  secFetchSite?: string | undefined;
  referer?: string | undefined;
}

/** Which browser requests a server accepts. */
export interface BrowserPolicy {
  /**
   * The server's own origin as the request addressed it (`http://localhost:8888`);
   * absent when the server has no pages of its own (the emulator), so no
   * request counts as same-origin.
   */
  ownOrigin?: string;
  /** Normalised origins whose pages may call the server ({@link parseAllowedOrigins}). */
  allowedOrigins: readonly string[];
}

/** The verdict on one request. `origin` is the allowed page's origin when CORS headers are due. */
export type BrowserVerdict = { allowed: true; corsOrigin?: string } | { allowed: false; reason: string };

/** `scheme://host[:port]` of a URL or origin string, lower-cased; undefined for `null` and anything unparsable. */
export function normalizeOrigin(value: string | undefined): string | undefined {
  if (!value || value.trim().toLowerCase() === "null") return undefined;
  try {
    const origin = new URL(value.trim()).origin;
    return origin === "null" ? undefined : origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Parses `FLASH_ALLOWED_ORIGINS`: comma-separated origins
 * (`http://localhost:3000`). An entry that is not a plain http(s) origin
 * (a path, `null`, `*`) is refused rather than ignored: a typo must not look
 * like a working setting.
 */
export function parseAllowedOrigins(value: string | undefined, setting = "FLASH_ALLOWED_ORIGINS"): string[] {
  const out: string[] = [];
  for (const raw of (value ?? "").split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const origin = normalizeOrigin(entry);
    if (origin === undefined || !/^https?:\/\//.test(origin) || !isBareOrigin(entry)) {
      throw new AppError("INVALID_INPUT", `${setting}: "${entry}" is not an origin`, {
        hint: `List origins as scheme://host[:port] separated by commas, e.g. ${setting}=http://localhost:3000,https://app.example.com`,
      });
    }
    if (!out.includes(origin)) out.push(origin);
  }
  return out;
}

/** True when `value` is a URL with nothing after its host and port (no path, query, fragment or credentials). */
function isBareOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return url.pathname === "/" && url.search === "" && url.hash === "" && url.username === "" && url.password === "" && !value.endsWith("?") && !value.endsWith("#");
  } catch {
    return false;
  }
}

/** Judges a request against a policy. Requests without browser signals (scripts) always pass. */
export function judgeBrowserRequest(signals: BrowserSignals, policy: BrowserPolicy): BrowserVerdict {
  const site = (signals.secFetchSite ?? "").trim().toLowerCase();
  const originHeader = (signals.origin ?? "").trim();
  const own = normalizeOrigin(policy.ownOrigin);
  if (originHeader === "" && (site === "" || site === "none")) {
    // A script (no browser labels), or a URL the user typed or bookmarked. But a browser
    // without Fetch Metadata (an old one, or any over plain http to a LAN address) still
    // names the page behind an <img> or a link in Referer; scripts send none.
    const from = site === "" ? normalizeOrigin(signals.referer) : undefined;
    if (from === undefined || from === own || policy.allowedOrigins.includes(from)) return { allowed: true };
    return { allowed: false, reason: `browser request from a page on ${from}` };
  }

  if (own !== undefined) {
    // The browser vouches for same-origin (its labels cannot be set by a page);
    // without Fetch Metadata, the Origin header is compared instead.
    if (site === "same-origin") return { allowed: true };
    if ((site === "" || site === "none") && normalizeOrigin(originHeader) === own) return { allowed: true };
  }

  const origin = originHeader !== "" ? normalizeOrigin(originHeader) : normalizeOrigin(signals.referer);
  if (origin !== undefined && policy.allowedOrigins.includes(origin)) {
    return originHeader !== "" ? { allowed: true, corsOrigin: origin } : { allowed: true };
  }
  const from = originHeader !== "" ? `Origin ${originHeader}` : origin !== undefined ? `a page on ${origin}` : "a page that sent no Origin";
  return { allowed: false, reason: `${site !== "" ? `${site} ` : ""}browser request from ${from}` };
}

/** Parses `FLASH_ALLOWED_HOSTS`: comma-separated host names; `.suffix` allows every name ending in it; `*` any. */
export function parseAllowedHosts(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

function bareName(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
}

/** True for the names that always mean this machine: localhost, *.localhost, 127.x.x.x, ::1 (with or without brackets). */
export function isLocalHostname(hostname: string): boolean {
  const name = bareName(hostname);
  if (name === "localhost" || name.endsWith(".localhost") || name === "::1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * True when `hostname` (no port) cannot be rebound or is allowed: local
 * names, any IP literal (a LAN address when serving on 0.0.0.0), and the
 * allow-list (exact names, `.suffix` entries, `*`).
 */
export function isAllowedHost(hostname: string, allowed: readonly string[]): boolean {
  const name = bareName(hostname);
  if (name === "" || isLocalHostname(name) || isIP(name) !== 0) return true;
  return allowed.some((entry) => entry === "*" || entry === name || (entry.startsWith(".") && name.endsWith(entry)));
}

/** The hostname part of a Host header: `[::1]:8080` → `[::1]`, `a.localhost:80` → `a.localhost`, `::1` stays. */
export function hostnameOf(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(":");
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon < 0 || host.indexOf(":", colon + 1) >= 0) return host;
  return host.slice(0, colon);
}
