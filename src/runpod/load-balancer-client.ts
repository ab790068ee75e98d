/**
 * Requests to load-balanced (LB) endpoints: plain HTTP to the worker's own
 * server, through `https://{endpointId}.api.runpod.ai/{path}` on Runpod and
 * `{emulator}/lb/{endpointId}/{path}` on a local emulator.
 */
import { isIP } from "node:net";
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { normalizeBaseUrl } from "./config.js";
import { errorFromResponse } from "./errors.js";
import { openClientHttp } from "./http.js";
import type { HttpClient, HttpMethod, HttpResponse } from "./http.js";

/** Options of {@link createLoadBalancerClient}. */
export interface LoadBalancerClientOptions {
  /** Sent as `Authorization: Bearer <key>`; the header is omitted when undefined. */
  apiKey: string | undefined;
  /** RUNPOD_ENDPOINT_BASE_URL (e.g. `https://api.runpod.ai/v2`); its host decides the LB URL form. */
  endpointBaseUrl: string;
  /** Share an HTTP client (and its connection pool); by default the client makes and owns one. */
  http?: HttpClient;
  /** Used only when the client creates its own HTTP client. */
  logger?: Logger;
}

/** One request to an LB endpoint. */
export interface LoadBalancerRequestOptions {
  method: HttpMethod;
  /** Path on the worker's server, e.g. `/execute` (a missing leading slash is added). */
  path: string;
  /** Sent as JSON with `content-type: application/json`. */
  json?: unknown;
  /** A raw body; ignored when `json` is given. */
  body?: string | Uint8Array;
  /** Extra headers (Authorization is set by the client). */
  headers?: Record<string, string>;
  /** Default 330 s: Runpod's 5.5 min LB processing limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Client of load-balanced endpoints. */
export interface LoadBalancerClient {
  /**
   * Sends one request (never retried: LB calls are usually not idempotent).
   * Non-2xx answers are returned for the caller to interpret, except 401/403.
   * @param endpointIdOrBaseUrl an endpoint id, or a full LB base URL (`http(s)://…`).
   * @throws RunpodError UNAUTHORIZED on 401/403, WORKER_UNREACHABLE when no answer arrived, UPSTREAM_TIMEOUT after `timeoutMs`.
   */
  request(endpointIdOrBaseUrl: string, options: LoadBalancerRequestOptions): Promise<HttpResponse>;
  /** The base URL requests for this endpoint go to. */
  baseUrlOf(endpointId: string): string;
  /** Closes the HTTP client if this client created it. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_LB_TIMEOUT_MS = 330_000;
const ENDPOINT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

function isLoopbackHost(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "[::1]") return true;
  // 127.0.0.0/8, also as an IPv4-mapped IPv6 address (which URL normalises to hex).
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname);
}

/**
 * The base URL of an LB endpoint. Against a loopback or `localhost` endpoint
 * base (the emulator), or one given as an IP address (which has no name to
 * put the id in front of: a container worker reaches the emulator at its
 * network's gateway address), it is the path form `{scheme}://{host:port}/lb/{id}`;
 * otherwise `https://{id}.{host}`, e.g. `https://abc123.api.runpod.ai`
 * (Runpod serves LB endpoints only over https, whatever the base's scheme).
 * @throws AppError INVALID_INPUT for an id that cannot be a host label.
 */
export function loadBalancerBaseUrl(endpointId: string, endpointBaseUrl: string): string {
  if (!ENDPOINT_ID.test(endpointId)) {
    throw new AppError("INVALID_INPUT", `Not a valid endpoint id: ${JSON.stringify(endpointId)}`);
  }
  const base = new URL(normalizeBaseUrl(endpointBaseUrl, "RUNPOD_ENDPOINT_BASE_URL"));
  if (isLoopbackHost(base.hostname) || isIP(base.hostname.replace(/^\[|\]$/g, "")) !== 0) return `${base.protocol}//${base.host}/lb/${endpointId}`;
  return `https://${endpointId}.${base.host}`;
}

/**
 * Creates an LB endpoint client (no I/O until the first call).
 * @throws AppError INVALID_CONFIG when `endpointBaseUrl` is not an http(s) URL.
 */
export function createLoadBalancerClient(options: LoadBalancerClientOptions): LoadBalancerClient {
  const endpointBaseUrl = normalizeBaseUrl(options.endpointBaseUrl, "RUNPOD_ENDPOINT_BASE_URL");
  const { http, headers: auth, close } = openClientHttp(options);

  function baseUrlOf(endpointId: string): string {
    return loadBalancerBaseUrl(endpointId, endpointBaseUrl);
  }

  return {
    baseUrlOf,

    async request(endpointIdOrBaseUrl, call) {
      const base = /^https?:\/\//i.test(endpointIdOrBaseUrl) ? endpointIdOrBaseUrl.replace(/\/+$/, "") : baseUrlOf(endpointIdOrBaseUrl);
      const url = base + (call.path.startsWith("/") ? call.path : `/${call.path}`);
      const headers = auth.authorization ? { ...call.headers, ...auth } : call.headers;
      const response = await http.request({
        method: call.method,
        url,
        headers,
        json: call.json,
        body: call.body,
        timeoutMs: call.timeoutMs ?? DEFAULT_LB_TIMEOUT_MS,
        signal: call.signal,
        errors: {
          unreachableCode: "WORKER_UNREACHABLE",
          hint: `Could not reach the load-balanced endpoint at ${base}. Check that it has a ready worker, or RUNPOD_ENDPOINT_BASE_URL if you set it.`,
        },
      });
      // Everything else (404 from the worker, 502 "no workers available", …) is the caller's to read.
      if (response.status === 401 || response.status === 403) {
        throw errorFromResponse({ method: call.method, url, status: response.status, body: response.body });
      }
      return response;
    },

    close,
  };
}
