/**
 * Nested calls (a remote function calling another) from a worker go through
 * Runpod's job API and load-balanced endpoints, with RUNPOD_API_KEY and
 * RUNPOD_ENDPOINT_BASE_URL from the worker's environment, and carry the
 * worker's own runtime to the endpoints they reach (runtime-delivery.ts).
 * The clients are created on the first nested call, so workers that never
 * make one do not load them.
 */
import type { Logger } from "../shared/logger.js";
import type { NestedCallTransport } from "./nested-dispatch.js";
import type { RuntimeDelivery } from "./runtime-delivery.js";

/** `delivery` is asked for on the first nested call (reading a runtime bundle is not free). */
export function runpodTransport(env: NodeJS.ProcessEnv, logger: Logger, makeDelivery?: () => RuntimeDelivery | undefined): NestedCallTransport {
  let transport: Promise<NestedCallTransport> | undefined;
  const get = (): Promise<NestedCallTransport> =>
    (transport ??= (async () => {
      const [runpod, { createNestedTransport }] = await Promise.all([import("../runpod/index.js"), import("./nested-transport.js")]);
      const { apiKey, endpointBaseUrl } = runpod.resolveRunpodConfig(env);
      const http = runpod.createHttpClient({ logger });
      const jobs = runpod.createJobClient({ apiKey, endpointBaseUrl, http });
      const loadBalancer = runpod.createLoadBalancerClient({ apiKey, endpointBaseUrl, http });
      const delivery = makeDelivery?.();
      return createNestedTransport({
        jobs: delivery ? delivery.jobs(jobs) : jobs,
        loadBalancer: delivery ? delivery.loadBalancer(loadBalancer) : loadBalancer,
      });
    })());
  return {
    callQueue: async (endpoint, request, options) => (await get()).callQueue(endpoint, request, options),
    // The caller's URL for an LB endpoint is how *it* reaches it; this worker may see the
    // platform at another address (a container worker behind the emulator's gateway), so
    // the URL comes from this worker's own RUNPOD_ENDPOINT_BASE_URL.
    callLoadBalancer: async (endpoint, request, options) => (await get()).callLoadBalancer({ id: endpoint.id, name: endpoint.name, kind: endpoint.kind }, request, options),
  };
}
