/**
 * Nested calls (a remote function calling another) from a worker: the one
 * function client (src/calls) over Runpod's job API and load-balanced
 * endpoints, with RUNPOD_API_KEY and RUNPOD_ENDPOINT_BASE_URL from the
 * worker's environment, carrying the worker's own runtime to the endpoints
 * they reach (src/calls/runtime-delivery.ts). The HTTP clients are created on
 * the first nested call, so workers that never make one do not load them.
 */
import { createFunctionClient } from "../calls/function-client.js";
import type { FunctionClient, JobApi, LoadBalancerApi } from "../calls/function-client.js";
import type { RuntimeDelivery } from "../calls/runtime-delivery.js";
import type { Logger } from "../common/logger.js";

/** `makeDelivery` is asked for on the first nested call (reading a runtime bundle is not free). */
export function nestedCalls(env: NodeJS.ProcessEnv, logger: Logger, makeDelivery?: () => RuntimeDelivery | undefined): FunctionClient {
  let clients: Promise<{ jobs: Required<JobApi>; loadBalancer: LoadBalancerApi }> | undefined;
  const get = (): Promise<{ jobs: Required<JobApi>; loadBalancer: LoadBalancerApi }> =>
    (clients ??= (async () => {
      const runpod = await import("../runpod/index.js");
      const { apiKey, endpointBaseUrl } = runpod.resolveRunpodConfig(env);
      const http = runpod.createHttpClient({ logger });
      const jobs = runpod.createJobClient({ apiKey, endpointBaseUrl, http });
      const loadBalancer = runpod.createLoadBalancerClient({ apiKey, endpointBaseUrl, http });
      const delivery = makeDelivery?.();
      return delivery ? { jobs: delivery.jobs(jobs), loadBalancer: delivery.loadBalancer(loadBalancer) } : { jobs, loadBalancer };
    })());
  return createFunctionClient({
    jobs: {
      runToCompletion: async (...args) => (await get()).jobs.runToCompletion(...args),
      // The callee's console output, read live and added to the caller's (docs/internals.md, "Live logs").
      stream: async (...args) => (await get()).jobs.stream(...args),
    },
    loadBalancer: { request: async (...args) => (await get()).loadBalancer.request(...args) },
    // The caller's URL for an LB endpoint is how *it* reaches it; this worker may see the
    // platform at another address (a container worker behind the emulator's gateway), so
    // the URL comes from this worker's own RUNPOD_ENDPOINT_BASE_URL.
    loadBalancerTarget: (endpoint) => endpoint.id,
  });
}
