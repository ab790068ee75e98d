/**
 * The Runpod clients (`flash-ts/runpod`): REST v2 control plane, queue job
 * API, load-balanced requests, their configuration, errors and wire types.
 */
export { resolveRunpodConfig, normalizeBaseUrl, DEFAULT_API_BASE_URL, DEFAULT_ENDPOINT_BASE_URL } from "./config.js";
export type { RunpodConfig } from "./config.js";
export { RunpodError, isRunpodError, errorFromResponse, codeForStatus, messageFromBody, API_KEY_HINT } from "./errors.js";
export type { RunpodErrorOptions, ResponseErrorContext } from "./errors.js";
export { createHttpClient, retryAfterMs } from "./http.js";
export type {
  HttpClient,
  HttpClientOptions,
  HttpHeaders,
  HttpMethod,
  HttpRequestOptions,
  HttpResponse,
  RetryPolicy,
  TransportErrorContext,
} from "./http.js";
export { createControlPlaneClient } from "./control-plane.js";
export type { ControlPlaneClient, ControlPlaneClientOptions } from "./control-plane.js";
export { createJobClient, clampWaitMs } from "./job-client.js";
export type { JobClient, JobClientOptions, RunToCompletionOptions, StreamAllOptions, WaitOptions } from "./job-client.js";
export { createLoadBalancerClient, loadBalancerBaseUrl } from "./load-balancer-client.js";
export type { LoadBalancerClient, LoadBalancerClientOptions, LoadBalancerRequestOptions } from "./load-balancer-client.js";
export { isJobStatus } from "./response-shapes.js";
export * from "./wire-types.js";
