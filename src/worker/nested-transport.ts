/**
 * The NestedCallTransport over Runpod's job API (QB) and load-balanced
 * endpoints (LB). The clients are given by the caller (the CLI wires the
 * ones in src/runpod); this file only knows their shape, so the runtime does
 * not depend on the HTTP clients (docs/internals.md, who may import whom).
 */
import { executionPolicy } from "../runpod/wire-types.js";
import { AppError } from "../shared/errors.js";
import { parseFunctionResponse } from "../shared/function-protocol.js";
import type { EndpointRef, FunctionRequest, FunctionResponse } from "../shared/function-protocol.js";
import type { NestedCallOptions, NestedCallTransport } from "./nested-dispatch.js";

/** The part of the job client a nested call needs (src/runpod JobClient fits). */
export interface JobApiLike {
  runToCompletion(
    endpointId: string,
    request: { input: unknown; policy?: { executionTimeout?: number } },
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ id: string; status: string; output?: unknown; error?: string }>;
}

/** The part of the load-balancer client a nested call needs (src/runpod LoadBalancerClient fits). */
export interface LoadBalancerLike {
  request(
    endpointIdOrBaseUrl: string,
    options: { method: "POST"; path: string; json?: unknown; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<{ status: number; body: unknown }>;
}

export interface NestedTransportOptions {
  jobs: JobApiLike;
  loadBalancer: LoadBalancerLike;
  /** How long to wait when neither the caller nor the request sets a limit. Default 6 minutes (Runpod's 5 min default + grace). */
  defaultTimeoutMs?: number;
}

/** Past the callee's own execution timeout, the platform still needs a moment to report it. */
const GRACE_MS = 60_000;

function waitFor(request: FunctionRequest, options: NestedCallOptions, fallback: number): number {
  if (options.timeoutMs !== undefined) return options.timeoutMs;
  return request.timeoutMs ? request.timeoutMs + GRACE_MS : fallback;
}

/** A transport that sends nested calls through the given job API and LB clients. */
export function createNestedTransport(options: NestedTransportOptions): NestedCallTransport {
  const fallback = options.defaultTimeoutMs ?? 360_000;
  return {
    async callQueue(endpoint: EndpointRef, request: FunctionRequest, call: NestedCallOptions): Promise<FunctionResponse> {
      const job = await options.jobs.runToCompletion(
        endpoint.id,
        { input: request, ...executionPolicy(request.timeoutMs) },
        { timeoutMs: waitFor(request, call, fallback), ...(call.signal ? { signal: call.signal } : {}) },
      );
      const details = { endpoint: endpoint.name, jobId: job.id };
      switch (job.status) {
        case "COMPLETED":
          return parseFunctionResponse(job.output);
        case "TIMED_OUT":
          throw new AppError("FUNCTION_TIMEOUT", `${endpoint.name}: job ${job.id} timed out`, { details });
        case "CANCELLED":
          throw new AppError("FUNCTION_CANCELLED", `${endpoint.name}: job ${job.id} was cancelled`, { details });
        default:
          throw new AppError("FUNCTION_ERROR", `${endpoint.name}: ${job.error ?? `job ${job.id} ended ${job.status}`}`, { details });
      }
    },

    async callLoadBalancer(endpoint: EndpointRef, request: FunctionRequest, call: NestedCallOptions): Promise<FunctionResponse> {
      const answer = await options.loadBalancer.request(endpoint.url ?? endpoint.id, {
        method: "POST",
        path: "/execute",
        json: request,
        timeoutMs: waitFor(request, call, fallback),
        ...(call.signal ? { signal: call.signal } : {}),
      });
      if (answer.status !== 200) {
        const detail = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? null);
        throw new AppError(answer.status === 502 || answer.status === 503 ? "WORKER_UNREACHABLE" : "UPSTREAM_ERROR", `${endpoint.name} answered ${answer.status}: ${detail.slice(0, 500)}`, {
          details: { endpoint: endpoint.name },
        });
      }
      return parseFunctionResponse(answer.body);
    },
  };
}
