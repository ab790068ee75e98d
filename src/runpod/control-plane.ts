/**
 * Client of Runpod's REST v2 control plane (`/v2/serverless`): create, list,
 * read, update and delete serverless endpoints.
 */
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { normalizeBaseUrl } from "./config.js";
import { errorFromResponse } from "./errors.js";
import { openClientHttp } from "./http.js";
import type { HttpClient, HttpMethod, HttpResponse, RetryPolicy } from "./http.js";
import { parseEndpoint, parseEndpointList } from "./response-shapes.js";
import type { CreateEndpointRequest, Endpoint, UpdateEndpointRequest } from "./wire-types.js";

/** Options of {@link createControlPlaneClient}. */
export interface ControlPlaneClientOptions {
  /** Sent as `Authorization: Bearer <key>`; the header is omitted when undefined. */
  apiKey: string | undefined;
  /** E.g. `https://api.runpod.io` (see resolveRunpodConfig); `/v2/serverless` is appended. */
  apiBaseUrl: string;
  /** Share an HTTP client (and its connection pool); by default the client makes and owns one. */
  http?: HttpClient;
  /** Per-call timeout (default 30 s). */
  timeoutMs?: number;
  /** Retries of GET and DELETE (default 3 attempts from 250 ms). */
  retry?: RetryPolicy;
  /** Used only when the client creates its own HTTP client. */
  logger?: Logger;
}

/** Runpod's REST v2 serverless endpoints API. */
export interface ControlPlaneClient {
  /** POST /v2/serverless (201). Not retried: a retry could create a second endpoint. */
  createEndpoint(body: CreateEndpointRequest): Promise<Endpoint>;
  /** GET /v2/serverless, unwrapped from `{endpoints}`. */
  listEndpoints(): Promise<Endpoint[]>;
  /** GET /v2/serverless/{id}; NOT_FOUND when it does not exist. */
  getEndpoint(id: string): Promise<Endpoint>;
  /** PATCH /v2/serverless/{id}; only the given fields change. */
  updateEndpoint(id: string, patch: UpdateEndpointRequest): Promise<Endpoint>;
  /** DELETE /v2/serverless/{id} (204). An endpoint that is already gone counts as deleted. */
  deleteEndpoint(id: string): Promise<void>;
  /** Closes the HTTP client if this client created it. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250 };

/**
 * Creates a REST v2 control-plane client (no I/O until the first call).
 * @throws AppError INVALID_CONFIG when `apiBaseUrl` is not an http(s) URL.
 */
export function createControlPlaneClient(options: ControlPlaneClientOptions): ControlPlaneClient {
  const apiBaseUrl = normalizeBaseUrl(options.apiBaseUrl, "RUNPOD_API_BASE_URL");
  const serverlessUrl = `${apiBaseUrl}/v2/serverless`;
  const { http, headers, close } = openClientHttp(options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retry = options.retry ?? DEFAULT_RETRY;
  const errors = {
    hint: `Could not get an answer from the Runpod API at ${apiBaseUrl}. Check your network, or RUNPOD_API_BASE_URL if you set it.`,
  };

  async function call(method: HttpMethod, url: string, json?: unknown): Promise<HttpResponse> {
    const idempotent = method === "GET" || method === "DELETE";
    return http.request({ method, url, headers, json, timeoutMs, retry: idempotent ? retry : undefined, errors });
  }

  function endpointUrl(id: string): string {
    if (typeof id !== "string" || id === "") throw new AppError("INVALID_INPUT", "An endpoint id is required");
    return `${serverlessUrl}/${encodeURIComponent(id)}`;
  }

  function fail(method: string, url: string, response: HttpResponse): never {
    throw errorFromResponse({ method, url, status: response.status, body: response.body });
  }

  return {
    async createEndpoint(body) {
      const response = await call("POST", serverlessUrl, body);
      if (response.status !== 201 && response.status !== 200) fail("POST", serverlessUrl, response);
      return parseEndpoint(response.body, { method: "POST", url: serverlessUrl, status: response.status });
    },

    async listEndpoints() {
      const response = await call("GET", serverlessUrl);
      if (response.status !== 200) fail("GET", serverlessUrl, response);
      return parseEndpointList(response.body, { method: "GET", url: serverlessUrl, status: response.status });
    },

    async getEndpoint(id) {
      const url = endpointUrl(id);
      const response = await call("GET", url);
      if (response.status !== 200) fail("GET", url, response);
      return parseEndpoint(response.body, { method: "GET", url, status: response.status });
    },

    async updateEndpoint(id, patch) {
      const url = endpointUrl(id);
      const response = await call("PATCH", url, patch);
      if (response.status !== 200) fail("PATCH", url, response);
      return parseEndpoint(response.body, { method: "PATCH", url, status: response.status });
    },

    async deleteEndpoint(id) {
      const url = endpointUrl(id);
      const response = await call("DELETE", url);
      // 404: already gone (deleted elsewhere, or by an earlier attempt whose answer was lost).
      if (response.status === 204 || response.status === 200 || response.status === 404) return;
      fail("DELETE", url, response);
    },

    close,
  };
}
